//! CRC-checked COBS framing.
//!
//! A frame on the wire is `COBS(payload ++ crc32(payload).to_le_bytes()) ++ [0x00]`.
//! COBS makes `0x00` a pure delimiter, so a receiver resynchronises at the next zero after
//! any damage; the CRC-32 (ISO-HDLC, the zlib/Ethernet polynomial) catches flipped or lost
//! bytes inside a frame, which COBS alone would often decode into a different, valid-looking
//! payload. Decoding is in place, so the device needs one buffer per direction, no more.
//! A frame with an empty payload is a NACK ([`NACK`]): "a frame of yours arrived
//! damaged".

use crc::{CRC_32_ISO_HDLC, Crc};

/// Bytes of CRC appended to each payload before COBS encoding.
pub const CRC_LEN: usize = 4;

/// The frame check: CRC-32/ISO-HDLC. Table-driven (1 KiB of flash) because the board checks
/// every byte it receives and the bitwise variant costs ~8x the cycles.
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The frame did not fit the receive buffer; its bytes were skipped up to the delimiter.
    TooLong,
    /// The bytes between two delimiters are not valid COBS (e.g. a code byte was lost).
    Cobs,
    /// The decoded frame is shorter than its CRC: a truncated frame or line noise.
    TooShort,
    /// The CRC does not match the payload: a flipped, lost or inserted byte.
    Crc {
        /// CRC carried by the frame.
        received: u32,
        /// CRC computed over the received payload.
        computed: u32,
    },
}

impl core::fmt::Display for FrameError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLong => f.write_str("frame longer than the receive buffer"),
            Self::Cobs => f.write_str("frame is not valid COBS"),
            Self::TooShort => f.write_str("frame shorter than its CRC"),
            Self::Crc { received, computed } => {
                write!(f, "frame CRC mismatch: carried {received:#010x}, computed {computed:#010x}")
            }
        }
    }
}

impl core::error::Error for FrameError {}

/// CRC-32 of `payload`, as carried after it in a frame.
pub fn crc32(payload: &[u8]) -> u32 {
    CRC32.checksum(payload)
}

/// Worst-case length of the frame for a payload of `payload_len` bytes, delimiter included:
/// COBS adds one byte per 254 and one more, plus the CRC and the trailing zero.
pub const fn max_frame_len(payload_len: usize) -> usize {
    let n = payload_len + CRC_LEN;
    n + n / 254 + 2
}

/// Encodes one frame for `payload`, handing each wire byte to `sink` (delimiter included).
///
/// Streams: the COBS blocks are computed over `payload` and its CRC in place, so the device
/// can write a reply straight from its serialisation buffer to the UART without a second,
/// encoded copy of it.
pub fn encode_to(payload: &[u8], mut sink: impl FnMut(u8)) {
    let crc = crc32(payload).to_le_bytes();
    let n = payload.len() + CRC_LEN;
    let byte = |i: usize| if i < payload.len() { payload[i] } else { crc[i - payload.len()] };
    let mut start = 0;
    loop {
        let mut end = start;
        while end < n && end - start < 254 && byte(end) != 0 {
            end += 1;
        }
        let run = end - start;
        // `run` is at most 254, so the code byte fits.
        sink((run + 1) as u8);
        for i in start..end {
            sink(byte(i));
        }
        if end == n {
            break;
        }
        // A 254-byte block ends without an implied zero; any other block ends at a zero,
        // which the code byte stands for.
        start = if run == 254 { end } else { end + 1 };
    }
    sink(0);
}

/// The NACK's payload: empty (the frame is just its CRC). A receiver sends it after
/// dropping a damaged frame, so the host resends what is unanswered at once instead of
/// after its timeout. No postcard-rpc frame is empty, so it cannot be mistaken for one.
pub const NACK: &[u8] = &[];

/// Decodes one frame in place (`frame` excludes the `0x00` delimiter) and checks its CRC.
/// On success the payload is `frame[..len]` for the returned `len`.
pub fn decode_in_place(frame: &mut [u8]) -> Result<usize, FrameError> {
    let n = cobs::decode_in_place(frame).map_err(|_| FrameError::Cobs)?;
    let Some(len) = n.checked_sub(CRC_LEN) else {
        return Err(FrameError::TooShort);
    };
    let mut carried = [0u8; CRC_LEN];
    carried.copy_from_slice(&frame[len..n]);
    let received = u32::from_le_bytes(carried);
    let computed = crc32(&frame[..len]);
    if received != computed {
        return Err(FrameError::Crc { received, computed });
    }
    Ok(len)
}

/// Reassembles frames from a byte stream, one byte at a time, into a caller-owned buffer.
///
/// Generic over the buffer so the device can lend the postcard-rpc server's receive buffer
/// (`&mut [u8]`) and the host can own a boxed one. Counters let both sides report how many
/// frames were dropped, so a noisy link shows up in the numbers instead of as a hang.
pub struct Deframer<B: AsMut<[u8]>> {
    buf: B,
    len: usize,
    overflow: bool,
    /// Frames handed on intact.
    pub frames_ok: u32,
    /// Frames dropped (any [`FrameError`]).
    pub frames_dropped: u32,
}

impl<B: AsMut<[u8]>> Deframer<B> {
    /// A deframer that accumulates encoded bytes in `buf`; frames longer than `buf` are
    /// dropped as [`FrameError::TooLong`].
    pub fn new(buf: B) -> Self {
        Self { buf, len: 0, overflow: false, frames_ok: 0, frames_dropped: 0 }
    }

    /// Feeds one byte. At a delimiter that ends a non-empty frame, returns the frame's
    /// payload length (the payload is at the start of [`Self::buffer`]) or why it was
    /// dropped; otherwise `None`. Empty frames (`0x00 0x00`) are ignored, so a sender may
    /// prefix frames with a zero to flush line noise.
    pub fn push(&mut self, byte: u8) -> Option<Result<usize, FrameError>> {
        if byte != 0 {
            let buf = self.buf.as_mut();
            if self.overflow || self.len == buf.len() {
                self.overflow = true;
            } else {
                buf[self.len] = byte;
                self.len += 1;
            }
            return None;
        }
        let len = core::mem::take(&mut self.len);
        let result = if core::mem::take(&mut self.overflow) {
            Err(FrameError::TooLong)
        } else if len == 0 {
            return None;
        } else {
            decode_in_place(&mut self.buf.as_mut()[..len])
        };
        match result {
            Ok(_) => self.frames_ok = self.frames_ok.wrapping_add(1),
            Err(_) => self.frames_dropped = self.frames_dropped.wrapping_add(1),
        }
        Some(result)
    }

    /// The buffer; after `push` returned `Some(Ok(len))`, the payload is `buffer()[..len]`
    /// until the next `push`.
    pub fn buffer(&mut self) -> &mut [u8] {
        self.buf.as_mut()
    }

    /// Gives the buffer back (the device uses this to return a frame borrowed for the
    /// buffer's own lifetime).
    pub fn into_inner(self) -> B {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn encode(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_to(payload, |b| out.push(b));
        out
    }

    /// Feeds `wire` to a fresh deframer and collects what comes out.
    fn feed(wire: &[u8], cap: usize) -> Vec<Result<Vec<u8>, FrameError>> {
        let mut de = Deframer::new(std::vec![0u8; cap]);
        let mut out = Vec::new();
        for &b in wire {
            if let Some(r) = de.push(b) {
                out.push(r.map(|n| de.buffer()[..n].to_vec()));
            }
        }
        out
    }

    /// Deterministic pseudo-random bytes with plenty of zeros, for coverage of COBS blocks.
    fn payload(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if x.is_multiple_of(7) { 0 } else { x as u8 }
            })
            .collect()
    }

    #[test]
    fn streaming_encoder_matches_the_cobs_crate() {
        for len in [0, 1, 2, 3, 250, 251, 252, 253, 254, 255, 508, 509, 1000, 4096] {
            for seed in 0..4 {
                let p = payload(len, seed);
                let mut with_crc = p.clone();
                with_crc.extend_from_slice(&crc32(&p).to_le_bytes());
                let mut expected = std::vec![0u8; cobs::max_encoding_length(with_crc.len())];
                let n = cobs::encode(&with_crc, &mut expected);
                expected.truncate(n);
                expected.push(0);
                let wire = encode(&p);
                assert_eq!(wire, expected, "len {len} seed {seed}");
                assert!(wire.len() <= max_frame_len(len));
            }
        }
        // Runs of non-zero bytes at the 254 boundary, where COBS has its special case.
        for len in [253, 254, 255, 508, 509, 510] {
            let p = std::vec![0x55u8; len];
            let mut with_crc = p.clone();
            with_crc.extend_from_slice(&crc32(&p).to_le_bytes());
            let decoded = feed(&encode(&p), 2048);
            assert_eq!(decoded, std::vec![Ok(p)], "len {len}");
        }
    }

    #[test]
    fn round_trip_back_to_back_frames() {
        let frames: Vec<Vec<u8>> = (0..50).map(|i| payload(i * 37 % 700, i as u32)).collect();
        let mut wire = std::vec![0u8]; // a leading delimiter is harmless
        for f in &frames {
            wire.extend(encode(f));
        }
        let got = feed(&wire, 1024);
        assert_eq!(got, frames.into_iter().map(Ok).collect::<Vec<_>>());
    }

    #[test]
    fn every_single_byte_flip_is_dropped_and_the_next_frame_survives() {
        let p = payload(300, 9);
        let good = encode(&b"next"[..]);
        let wire = encode(&p);
        for i in 0..wire.len() - 1 {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut bad = wire.clone();
                bad[i] ^= mask;
                bad.extend_from_slice(&good);
                let got = feed(&bad, 1024);
                // The flip may split the frame at a new zero: every piece must be dropped,
                // and the following good frame must come through intact.
                let (last, rest) = got.split_last().expect("at least the good frame");
                assert_eq!(last, &Ok(b"next".to_vec()), "flip at {i} mask {mask:#x}");
                assert!(rest.iter().all(Result::is_err), "flip at {i}: {rest:?}");
            }
        }
    }

    #[test]
    fn truncated_frames_are_dropped() {
        let p = payload(600, 3);
        let wire = encode(&p);
        for cut in 0..wire.len() - 1 {
            let mut bad = wire[..cut].to_vec();
            bad.push(0);
            let got = feed(&bad, 1024);
            assert!(got.iter().all(Result::is_err), "cut at {cut}: {got:?}");
        }
        // Too short to hold a CRC.
        assert_eq!(feed(&[0x03, 1, 2, 0], 64), std::vec![Err(FrameError::TooShort)]);
    }

    #[test]
    fn lost_and_inserted_bytes_are_dropped() {
        let p = payload(200, 5);
        let wire = encode(&p);
        for i in 0..wire.len() - 1 {
            let mut lost = wire.clone();
            lost.remove(i);
            assert!(feed(&lost, 1024).iter().all(Result::is_err), "lost byte {i}");
            let mut extra = wire.clone();
            extra.insert(i, 0x5a);
            assert!(feed(&extra, 1024).iter().all(Result::is_err), "extra byte {i}");
        }
    }

    #[test]
    fn overlong_frame_is_skipped_to_its_delimiter() {
        let mut wire = encode(&payload(500, 1));
        wire.extend(encode(b"ok"));
        let mut de = Deframer::new([0u8; 64]);
        let mut got = Vec::new();
        for b in wire {
            if let Some(r) = de.push(b) {
                got.push(r.map(|n| de.buffer()[..n].to_vec()));
            }
        }
        assert_eq!(got, std::vec![Err(FrameError::TooLong), Ok(b"ok".to_vec())]);
        assert_eq!((de.frames_ok, de.frames_dropped), (1, 1));
    }
}
