//! Tandem's byte link: how host and board exchange postcard-rpc frames over a plain
//! byte stream (a UART on the board, a TCP socket to QEMU's serial port on the host).
//!
//! - [`frame`]: COBS frames carrying `payload ++ CRC-32`; a corrupt or truncated frame is
//!   detected and dropped, never handed on.
//! - [`device`]: postcard-rpc 0.12.1's server `WireTx`/`WireRx` over any [`ByteUart`],
//!   a busy-poll `block_on`, and a one-frame-at-a-time serve step for firmware main loops.
//! - `host` (feature `std`): the postcard-rpc host wire over any byte stream, same framing,
//!   resending unanswered requests, with optional fault injection.
//! - `qemu` (feature `std`): launches `qemu-system-arm` for a firmware ELF on a fresh port
//!   and kills it by pid on drop.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

pub mod device;
pub mod frame;
#[cfg(feature = "std")]
pub mod host;
#[cfg(feature = "std")]
pub mod qemu;

pub use device::ByteUart;
pub use frame::{Deframer, FrameError};

/// Re-exported so firmware and host name the exact postcard-rpc version the wire implements.
pub use postcard_rpc;
