//! [`TargetMemory`] over a GDB remote-protocol stub: QEMU's `-gdb tcp::PORT`.
//!
//! QEMU serves memory reads (`m`) and writes (`M`) only while the VM is stopped, so every
//! batch of accesses halts it (`0x03`, answered by a stop reply) and ends with continue
//! (`c`), as a debug probe halting the core would. Acknowledgements are switched off at
//! connect where the stub allows it (`QStartNoAckMode`; TCP already delivers intact), and
//! sent where it does not. A connection that closes, or a `W`/`X` reply, means the VM exited
//! (the firmware's semihosting exit does that).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::memory::{AccessError, TargetMemory};

/// Bytes per `m`/`M` packet; QEMU's packets hold 4 KiB, and hex doubles the payload.
const CHUNK: usize = 1024;

/// A connection to a GDB stub.
pub struct GdbStub {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    running: bool,
    /// Whether received packets are acknowledged (`+`).
    acks: bool,
}

impl GdbStub {
    /// Takes over a connected stream (the VM stops when GDB attaches), switches
    /// acknowledgements off and reads the stop reason. Every reply is awaited at most
    /// `timeout`.
    pub fn new(stream: TcpStream, timeout: Duration) -> Result<Self, AccessError> {
        let io = |e: std::io::Error| AccessError::Failed(format!("gdbstub connection: {e}"));
        stream.set_nodelay(true).map_err(io)?;
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        let writer = stream.try_clone().map_err(io)?;
        let mut stub = Self { reader: BufReader::new(stream), writer, running: false, acks: true };
        stub.send(b"qSupported:swbreak+")?;
        let features = stub.reply()?;
        if features.split(|&b| b == b';').any(|f| f == b"QStartNoAckMode+") {
            stub.send(b"QStartNoAckMode")?;
            // The OK itself is still acknowledged (by `reply`), then acks stop.
            let reply = stub.reply()?;
            if reply != b"OK" {
                return Err(unexpected("OK to QStartNoAckMode", &reply));
            }
            stub.acks = false;
        }
        stub.send(b"?")?;
        let stop = stub.reply()?;
        stub.check_stop(&stop)?;
        Ok(stub)
    }

    /// Lets the VM run (it starts stopped when GDB attaches).
    pub fn resume(&mut self) -> Result<(), AccessError> {
        self.end()
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), AccessError> {
        let sum = payload.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        let mut packet = Vec::with_capacity(payload.len() + 4);
        packet.push(b'$');
        packet.extend_from_slice(payload);
        packet.extend_from_slice(format!("#{sum:02x}").as_bytes());
        self.writer.write_all(&packet).map_err(gone)
    }

    /// The next packet's payload (acknowledged if acks are on; the stub's acks and noise
    /// between packets skipped; run-length encoding expanded).
    fn reply(&mut self) -> Result<Vec<u8>, AccessError> {
        let mut skipped = Vec::new();
        self.reader.read_until(b'$', &mut skipped).map_err(gone)?;
        if skipped.last() != Some(&b'$') {
            return Err(AccessError::Gone("the gdbstub closed the connection".into()));
        }
        let mut raw = Vec::new();
        self.reader.read_until(b'#', &mut raw).map_err(gone)?;
        if raw.pop() != Some(b'#') {
            return Err(AccessError::Gone("the gdbstub closed the connection mid-packet".into()));
        }
        let mut sum = [0u8; 2];
        std::io::Read::read_exact(&mut self.reader, &mut sum).map_err(gone)?;
        let want = raw.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        if std::str::from_utf8(&sum).ok().and_then(|s| u8::from_str_radix(s, 16).ok()) != Some(want)
        {
            return Err(AccessError::Failed("gdbstub packet with a bad checksum".into()));
        }
        if self.acks {
            self.writer.write_all(b"+").map_err(gone)?;
        }
        Ok(expand_run_lengths(&raw))
    }

    /// Accepts a stop reply (`S`/`T`); `W`/`X` mean the VM has exited.
    fn check_stop(&self, reply: &[u8]) -> Result<(), AccessError> {
        match reply.first() {
            Some(b'S' | b'T') => Ok(()),
            Some(b'W' | b'X') => Err(AccessError::Gone(format!(
                "the VM exited ({})",
                String::from_utf8_lossy(reply)
            ))),
            _ => Err(unexpected("a stop reply", reply)),
        }
    }
}

impl TargetMemory for GdbStub {
    fn read(&mut self, addr: u32, buf: &mut [u8]) -> Result<(), AccessError> {
        let mut at = addr;
        for chunk in buf.chunks_mut(CHUNK) {
            self.send(format!("m{at:x},{:x}", chunk.len()).as_bytes())?;
            let reply = self.reply()?;
            if reply.len() != chunk.len() * 2 {
                return Err(refused(
                    &format!("read of {} bytes at {at:#010x}", chunk.len()),
                    &reply,
                ));
            }
            for (byte, hex) in chunk.iter_mut().zip(reply.chunks(2)) {
                *byte = std::str::from_utf8(hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| unexpected("hex bytes", &reply))?;
            }
            at = at.wrapping_add(chunk.len() as u32);
        }
        Ok(())
    }

    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), AccessError> {
        let mut at = addr;
        for chunk in data.chunks(CHUNK) {
            let mut packet = format!("M{at:x},{:x}:", chunk.len()).into_bytes();
            for b in chunk {
                packet.extend_from_slice(format!("{b:02x}").as_bytes());
            }
            self.send(&packet)?;
            let reply = self.reply()?;
            if reply != b"OK" {
                return Err(refused(
                    &format!("write of {} bytes at {at:#010x}", chunk.len()),
                    &reply,
                ));
            }
            at = at.wrapping_add(chunk.len() as u32);
        }
        Ok(())
    }

    fn begin(&mut self) -> Result<(), AccessError> {
        if self.running {
            self.writer.write_all(&[0x03]).map_err(gone)?;
            let stop = self.reply()?;
            self.check_stop(&stop)?;
            self.running = false;
        }
        Ok(())
    }

    fn end(&mut self) -> Result<(), AccessError> {
        if !self.running {
            self.send(b"c")?;
            self.running = true;
        }
        Ok(())
    }
}

/// A closed or timed-out connection: the VM is gone or wedged.
fn gone(e: std::io::Error) -> AccessError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            AccessError::Gone("the gdbstub stopped answering".into())
        }
        _ => AccessError::Gone(format!("gdbstub connection: {e}")),
    }
}

fn unexpected(wanted: &str, reply: &[u8]) -> AccessError {
    AccessError::Failed(format!(
        "gdbstub: expected {wanted}, got {:?}",
        String::from_utf8_lossy(&reply[..reply.len().min(64)])
    ))
}

/// An `Exx` reply (or anything else) to a memory access.
fn refused(what: &str, reply: &[u8]) -> AccessError {
    AccessError::Failed(format!(
        "gdbstub refused the {what}: {:?}",
        String::from_utf8_lossy(&reply[..reply.len().min(64)])
    ))
}

/// Undoes the protocol's run-length encoding: `c*n` is `c` repeated `n - 29` more times.
fn expand_run_lengths(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'*'
            && let (Some(&prev), Some(&count)) = (out.last(), raw.get(i + 1))
        {
            out.extend(std::iter::repeat_n(prev, usize::from(count.saturating_sub(29))));
            i += 2;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_lengths_expand() {
        // "0* " is '0' plus (32 - 29) = 3 more.
        assert_eq!(expand_run_lengths(b"a0* b"), b"a0000b");
        assert_eq!(expand_run_lengths(b"OK"), b"OK");
    }
}
