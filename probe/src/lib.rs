//! The host side of boards behind a debug probe: their link is SEGGER RTT, ring buffers in
//! the firmware's RAM that the host reads and writes through the debugger.
//!
//! - [`memory`]: the small [`TargetMemory`] trait (read/write bytes at an address) that
//!   everything else is generic over.
//! - [`rtt`]: finding the control block and moving bytes through its rings.
//! - [`stream`]: RTT as a tokio byte stream, so the host link runs over it unchanged.
//! - [`gdb`]: target memory through QEMU's gdbstub, which lets CI drive the RTT link of the
//!   real firmware under QEMU with no hardware attached.
//! - [`elf`]: the control block's address from the firmware's `_SEGGER_RTT` symbol.
//! - `hardware` (feature `hardware`): probe-rs: listing probes, attaching, flashing, and
//!   target memory through a probe.
//! - `chips` (feature `hardware`): what probe-rs's chip database says of a chip with no
//!   board layer, for the generic firmware's profile.

#[cfg(feature = "hardware")]
pub mod chips;
pub mod elf;
pub mod gdb;
#[cfg(feature = "hardware")]
pub mod hardware;
pub mod memory;
pub mod rtt;
pub mod stream;

pub use memory::{AccessError, TargetMemory};
pub use rtt::{RttChannels, RttError};
