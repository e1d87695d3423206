//! The host end of SEGGER RTT over any [`TargetMemory`]: find the firmware's control block
//! and move bytes through its channel-0 rings.
//!
//! The control block (`_SEGGER_RTT`, 32-bit target) is a 24-byte header, the ID
//! `"SEGGER RTT\0"` in 16 bytes then the up and down channel counts, followed by the up
//! channel descriptors and then the down ones, 24 bytes each: name pointer, buffer pointer,
//! size, write offset, read offset, flags. Each ring is a single-producer single-consumer
//! queue: the producer owns the write offset, the consumer the read offset, and one byte
//! stays free so that full and empty differ. On the up ring the target produces and the host
//! consumes; on the down ring the other way round. The host writes the data before the offset
//! that publishes it, and reads the data after the offset that announced it.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::memory::{AccessError, TargetMemory};

/// The control block's ID, as the firmware writes it once the block is ready.
pub const CONTROL_BLOCK_ID: &[u8; 11] = b"SEGGER RTT\0";
/// The ELF symbol of the control block.
pub const CONTROL_BLOCK_SYMBOL: &str = "_SEGGER_RTT";

const HEADER_BYTES: u32 = 24;
const DESCRIPTOR_BYTES: u32 = 24;
/// Offsets inside a channel descriptor.
const BUFFER: usize = 4;
const SIZE: usize = 8;
const WRITE: usize = 12;
const READ: usize = 16;
/// More channels than any firmware declares: a larger count means the ID matched garbage.
const MAX_CHANNELS: u32 = 32;

/// One ring, as its descriptor placed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ring {
    /// Address of the descriptor.
    descriptor: u32,
    /// Address and size of the buffer.
    buffer: u32,
    size: u32,
}

impl Ring {
    fn write_offset(self) -> u32 {
        self.descriptor + WRITE as u32
    }

    fn read_offset(self) -> u32 {
        self.descriptor + READ as u32
    }

    /// A ring's offsets as the target holds them, checked against its size.
    fn offsets(self, descriptor: &[u8]) -> Result<(u32, u32), RttError> {
        let (write, read) = (word(descriptor, WRITE), word(descriptor, READ));
        if write >= self.size || read >= self.size {
            return Err(RttError::Corrupt(format!(
                "ring at {:#010x} has offsets write {write}, read {read} outside its {} bytes",
                self.buffer, self.size
            )));
        }
        Ok((write, read))
    }
}

fn word(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Why RTT could not be attached or used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RttError {
    /// No initialised control block at the address within the time given.
    NotFound {
        /// Where it was looked for.
        addr: u32,
        /// How long the host waited for the firmware to set it up.
        waited: Duration,
        /// What was there instead.
        seen: String,
    },
    /// The control block or a ring holds values no firmware writes.
    Corrupt(String),
    /// Reading or writing target memory failed.
    Access(AccessError),
}

impl fmt::Display for RttError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { addr, waited, seen } => write!(
                f,
                "no RTT control block at {addr:#010x} (`{CONTROL_BLOCK_SYMBOL}`) after {waited:?}: \
                 {seen}; is the firmware running, and was it built with the RTT link?"
            ),
            Self::Corrupt(why) => write!(f, "corrupt RTT control block: {why}"),
            Self::Access(e) => write!(f, "RTT: {e}"),
        }
    }
}

impl std::error::Error for RttError {}

impl From<AccessError> for RttError {
    fn from(e: AccessError) -> Self {
        Self::Access(e)
    }
}

/// Channel 0 of a firmware's control block: the link's up and down rings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RttChannels {
    up: Ring,
    down: Ring,
}

/// What the control block looks like now: ready, or why not yet.
enum Probe {
    Ready(RttChannels),
    NotYet(String),
}

impl RttChannels {
    /// Attaches to the control block at `addr`, waiting up to `timeout` for the firmware to
    /// set it up (it writes the ID last, so a block with the ID is complete).
    pub fn attach(
        mem: &mut dyn TargetMemory,
        addr: u32,
        timeout: Duration,
    ) -> Result<Self, RttError> {
        let start = Instant::now();
        loop {
            mem.begin()?;
            let probe = Self::look(mem, addr);
            mem.end()?;
            let seen = match probe? {
                Probe::Ready(channels) => return Ok(channels),
                Probe::NotYet(seen) => seen,
            };
            if start.elapsed() >= timeout {
                return Err(RttError::NotFound { addr, waited: start.elapsed(), seen });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn look(mem: &mut dyn TargetMemory, addr: u32) -> Result<Probe, RttError> {
        let mut header = [0u8; HEADER_BYTES as usize];
        mem.read(addr, &mut header)?;
        if &header[..CONTROL_BLOCK_ID.len()] != CONTROL_BLOCK_ID {
            let id = String::from_utf8_lossy(&header[..16]).replace('\0', "\\0");
            return Ok(Probe::NotYet(format!("its ID reads {id:?}")));
        }
        let (ups, downs) = (word(&header, 16), word(&header, 20));
        if ups == 0 || downs == 0 || ups > MAX_CHANNELS || downs > MAX_CHANNELS {
            return Err(RttError::Corrupt(format!("{ups} up and {downs} down channels")));
        }
        let up = Self::ring(mem, addr + HEADER_BYTES)?;
        let down = Self::ring(mem, addr + HEADER_BYTES + ups * DESCRIPTOR_BYTES)?;
        match (up, down) {
            (Some(up), Some(down)) => Ok(Probe::Ready(Self { up, down })),
            _ => Ok(Probe::NotYet("channel 0 has no buffer yet".into())),
        }
    }

    fn ring(mem: &mut dyn TargetMemory, descriptor: u32) -> Result<Option<Ring>, RttError> {
        let mut d = [0u8; DESCRIPTOR_BYTES as usize];
        mem.read(descriptor, &mut d)?;
        let (buffer, size) = (word(&d, BUFFER), word(&d, SIZE));
        if buffer == 0 {
            return Ok(None);
        }
        if size < 2 || buffer.checked_add(size).is_none() {
            return Err(RttError::Corrupt(format!("ring at {buffer:#010x} of {size} bytes")));
        }
        Ok(Some(Ring { descriptor, buffer, size }))
    }

    /// Size of the up ring (target to host), in bytes.
    pub fn up_size(&self) -> u32 {
        self.up.size
    }

    /// Size of the down ring (host to target), in bytes.
    pub fn down_size(&self) -> u32 {
        self.down.size
    }

    /// One exchange, in one batch of accesses: appends what the target has written to `up`,
    /// and moves as much of `down` into the target's down ring as it has room for. Returns
    /// the bytes moved both ways.
    pub fn exchange(
        &self,
        mem: &mut dyn TargetMemory,
        down: &mut VecDeque<u8>,
        up: &mut Vec<u8>,
    ) -> Result<usize, RttError> {
        mem.begin()?;
        let moved = self.exchange_in_batch(mem, down, up);
        // Let the target run on even when the exchange failed half-way.
        let ended = mem.end();
        let moved = moved?;
        ended?;
        Ok(moved)
    }

    fn exchange_in_batch(
        &self,
        mem: &mut dyn TargetMemory,
        down: &mut VecDeque<u8>,
        up: &mut Vec<u8>,
    ) -> Result<usize, RttError> {
        let mut d = [0u8; DESCRIPTOR_BYTES as usize];
        // Up: read the data the write offset announces, then hand the space back.
        mem.read(self.up.descriptor, &mut d)?;
        let (write, read) = self.up.offsets(&d)?;
        let mut taken = 0;
        if write != read {
            // The readable part is [read, write) or [read, size) ++ [0, write).
            let end = if write > read { write } else { self.up.size };
            taken += self.take(mem, self.up.buffer + read, end - read, up)?;
            if write < read {
                taken += self.take(mem, self.up.buffer, write, up)?;
            }
            mem.write_u32(self.up.read_offset(), write)?;
        }

        // Down: write the data, then publish it with the write offset.
        let mut given = 0;
        if !down.is_empty() {
            mem.read(self.down.descriptor, &mut d)?;
            let (mut write, read) = self.down.offsets(&d)?;
            let size = self.down.size;
            let mut free = (read + size - write - 1) % size;
            while free > 0 && !down.is_empty() {
                let run = free.min(size - write).min(down.len() as u32);
                let chunk: Vec<u8> = down.drain(..run as usize).collect();
                mem.write(self.down.buffer + write, &chunk)?;
                write = (write + run) % size;
                free -= run;
                given += run as usize;
            }
            mem.write_u32(self.down.write_offset(), write)?;
        }
        Ok(taken + given)
    }

    fn take(
        &self,
        mem: &mut dyn TargetMemory,
        addr: u32,
        len: u32,
        up: &mut Vec<u8>,
    ) -> Result<usize, RttError> {
        let start = up.len();
        up.resize(start + len as usize, 0);
        mem.read(addr, &mut up[start..])?;
        Ok(len as usize)
    }
}

#[cfg(test)]
mod tests {
    //! The ring logic against a RAM double that plays the firmware's side of the protocol
    //! (rtt-target's producer and consumer rules), including wrap-around and full rings.

    use super::*;

    const BASE: u32 = 0x2000_0000;

    /// Target RAM: a byte array at `BASE`, with counters of batches and accesses.
    struct Ram {
        bytes: Vec<u8>,
        batches: usize,
        in_batch: bool,
    }

    impl Ram {
        fn range(&self, addr: u32, len: usize) -> Result<std::ops::Range<usize>, AccessError> {
            let start = addr.checked_sub(BASE).ok_or(AccessError::Failed("below RAM".into()))?;
            let start = start as usize;
            if start + len > self.bytes.len() {
                return Err(AccessError::Failed(format!("{addr:#x}+{len} beyond RAM")));
            }
            Ok(start..start + len)
        }
        fn word(&self, addr: u32) -> u32 {
            let r = self.range(addr, 4).unwrap();
            word(&self.bytes[r], 0)
        }
        fn set_word(&mut self, addr: u32, v: u32) {
            let r = self.range(addr, 4).unwrap();
            self.bytes[r].copy_from_slice(&v.to_le_bytes());
        }
    }

    impl TargetMemory for Ram {
        fn read(&mut self, addr: u32, buf: &mut [u8]) -> Result<(), AccessError> {
            assert!(self.in_batch, "access outside a batch");
            let r = self.range(addr, buf.len())?;
            buf.copy_from_slice(&self.bytes[r]);
            Ok(())
        }
        fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), AccessError> {
            assert!(self.in_batch, "access outside a batch");
            let r = self.range(addr, data.len())?;
            self.bytes[r].copy_from_slice(data);
            Ok(())
        }
        fn begin(&mut self) -> Result<(), AccessError> {
            assert!(!self.in_batch, "nested batch");
            self.in_batch = true;
            self.batches += 1;
            Ok(())
        }
        fn end(&mut self) -> Result<(), AccessError> {
            assert!(self.in_batch, "end without begin");
            self.in_batch = false;
            Ok(())
        }
    }

    /// The firmware side: control block at BASE, up ring at BASE+0x100, down at BASE+0x200.
    struct Firmware {
        up_size: u32,
        down_size: u32,
    }

    const CB: u32 = BASE;
    const UP_DESC: u32 = CB + HEADER_BYTES;
    const DOWN_DESC: u32 = UP_DESC + DESCRIPTOR_BYTES;
    const UP_BUF: u32 = BASE + 0x100;
    const DOWN_BUF: u32 = BASE + 0x200;

    impl Firmware {
        fn boot(ram: &mut Ram, up_size: u32, down_size: u32) -> Self {
            ram.set_word(UP_DESC + BUFFER as u32, UP_BUF);
            ram.set_word(UP_DESC + SIZE as u32, up_size);
            ram.set_word(DOWN_DESC + BUFFER as u32, DOWN_BUF);
            ram.set_word(DOWN_DESC + SIZE as u32, down_size);
            ram.set_word(CB + 16, 1);
            ram.set_word(CB + 20, 1);
            let r = ram.range(CB, CONTROL_BLOCK_ID.len()).unwrap();
            ram.bytes[r].copy_from_slice(CONTROL_BLOCK_ID);
            Self { up_size, down_size }
        }

        /// Producer on the up ring: writes what fits, returns how much.
        fn send(&self, ram: &mut Ram, data: &[u8]) -> usize {
            let (mut w, r) = (ram.word(UP_DESC + 12), ram.word(UP_DESC + 16));
            let mut n = 0;
            for &b in data {
                if (w + 1) % self.up_size == r {
                    break;
                }
                let at = ram.range(UP_BUF + w, 1).unwrap().start;
                ram.bytes[at] = b;
                w = (w + 1) % self.up_size;
                n += 1;
            }
            ram.set_word(UP_DESC + 12, w);
            n
        }

        /// Consumer on the down ring: takes everything there is.
        fn receive(&self, ram: &mut Ram) -> Vec<u8> {
            let (w, mut r) = (ram.word(DOWN_DESC + 12), ram.word(DOWN_DESC + 16));
            let mut out = Vec::new();
            while r != w {
                out.push(ram.bytes[ram.range(DOWN_BUF + r, 1).unwrap().start]);
                r = (r + 1) % self.down_size;
            }
            ram.set_word(DOWN_DESC + 16, r);
            out
        }
    }

    fn ram() -> Ram {
        Ram { bytes: vec![0; 0x400], batches: 0, in_batch: false }
    }

    #[test]
    fn attach_waits_for_the_id_and_reports_what_it_saw() {
        let mut ram = ram();
        let err = RttChannels::attach(&mut ram, CB, Duration::from_millis(30)).unwrap_err();
        match err {
            RttError::NotFound { addr, seen, .. } => {
                assert_eq!(addr, CB);
                assert!(seen.contains("ID reads"), "{seen}");
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        Firmware::boot(&mut ram, 64, 32);
        let ch = RttChannels::attach(&mut ram, CB, Duration::from_millis(30)).unwrap();
        assert_eq!((ch.up_size(), ch.down_size()), (64, 32));
    }

    #[test]
    fn garbage_channel_counts_are_corrupt_not_a_crash() {
        let mut ram = ram();
        Firmware::boot(&mut ram, 64, 32);
        ram.set_word(CB + 16, 0xFFFF_FFFF);
        let err = RttChannels::attach(&mut ram, CB, Duration::ZERO).unwrap_err();
        assert!(matches!(err, RttError::Corrupt(_)), "{err:?}");
    }

    #[test]
    fn offsets_outside_the_ring_are_corrupt() {
        let mut ram = ram();
        Firmware::boot(&mut ram, 64, 32);
        let ch = RttChannels::attach(&mut ram, CB, Duration::ZERO).unwrap();
        ram.set_word(UP_DESC + 12, 64);
        let err = ch.exchange(&mut ram, &mut VecDeque::new(), &mut Vec::new()).unwrap_err();
        assert!(matches!(err, RttError::Corrupt(_)), "{err:?}");
        assert!(!ram.in_batch, "a failed exchange still ends its batch");
    }

    #[test]
    fn bytes_cross_both_ways_through_wrapping_and_full_rings() {
        let mut ram = ram();
        // Small rings, so 3000 bytes wrap each many times and fill them often.
        let fw = Firmware::boot(&mut ram, 37, 23);
        let ch = RttChannels::attach(&mut ram, CB, Duration::ZERO).unwrap();
        let to_host: Vec<u8> = (0..3000u32).map(|i| (i * 7 + 3) as u8).collect();
        let to_target: Vec<u8> = (0..3000u32).map(|i| (i * 13 + 1) as u8).collect();
        let (mut sent, mut got_up, mut got_down) = (0, Vec::new(), Vec::new());
        let mut down: VecDeque<u8> = to_target.iter().copied().collect();
        let mut rounds = 0;
        while got_up.len() < to_host.len() || got_down.len() < to_target.len() {
            sent += fw.send(&mut ram, &to_host[sent..]);
            ch.exchange(&mut ram, &mut down, &mut got_up).unwrap();
            got_down.extend(fw.receive(&mut ram));
            rounds += 1;
            assert!(rounds < 1000, "no progress");
        }
        assert_eq!(got_up, to_host);
        assert_eq!(got_down, to_target);
        // A full ring holds size - 1 bytes: at least 3000 / 36 rounds were needed.
        assert!(rounds >= 3000 / 36, "{rounds} rounds");
        assert_eq!(ram.batches, rounds + 1, "one batch per exchange, one for attach");
    }

    #[test]
    fn a_full_down_ring_keeps_the_rest_for_later() {
        let mut ram = ram();
        let fw = Firmware::boot(&mut ram, 16, 8);
        let ch = RttChannels::attach(&mut ram, CB, Duration::ZERO).unwrap();
        let mut down: VecDeque<u8> = (1..=20).collect();
        let moved = ch.exchange(&mut ram, &mut down, &mut Vec::new()).unwrap();
        assert_eq!(moved, 7, "an 8-byte ring takes 7");
        assert_eq!(down.len(), 13);
        assert_eq!(fw.receive(&mut ram), (1..=7).collect::<Vec<u8>>());
    }
}
