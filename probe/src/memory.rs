//! Target memory: the one thing the host needs from a debug connection to run the RTT link.
//!
//! A probe-rs core reads and writes memory while the core runs; QEMU's gdbstub only while the
//! VM is stopped. [`TargetMemory::begin`] and [`TargetMemory::end`] bracket a batch of
//! accesses so the gdbstub can halt once per batch; a probe leaves them empty.

use std::fmt;

/// Reads and writes a running target's memory.
pub trait TargetMemory: Send {
    /// Reads `buf.len()` bytes at `addr`.
    fn read(&mut self, addr: u32, buf: &mut [u8]) -> Result<(), AccessError>;
    /// Writes `data` at `addr`. A 4-byte write at an aligned address is one word write, so
    /// the target never sees half of an updated ring offset.
    fn write(&mut self, addr: u32, data: &[u8]) -> Result<(), AccessError>;
    /// Starts a batch of accesses (a gdbstub halts the VM here).
    fn begin(&mut self) -> Result<(), AccessError> {
        Ok(())
    }
    /// Ends a batch: the target runs on.
    fn end(&mut self) -> Result<(), AccessError> {
        Ok(())
    }
    /// Reads a little-endian 32-bit word.
    fn read_u32(&mut self, addr: u32) -> Result<u32, AccessError> {
        let mut word = [0; 4];
        self.read(addr, &mut word)?;
        Ok(u32::from_le_bytes(word))
    }
    /// Writes a little-endian 32-bit word.
    fn write_u32(&mut self, addr: u32, value: u32) -> Result<(), AccessError> {
        self.write(addr, &value.to_le_bytes())
    }
}

/// Why an access failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessError {
    /// The target is gone: it exited, was reset away, or the connection to it closed.
    Gone(String),
    /// The access itself was refused (unmapped address, probe error), or the debug
    /// connection spoke nonsense.
    Failed(String),
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gone(why) => write!(f, "the target is gone: {why}"),
            Self::Failed(why) => write!(f, "target memory access failed: {why}"),
        }
    }
}

impl std::error::Error for AccessError {}
