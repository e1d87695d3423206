//! Tandem's byte link: how host and board exchange postcard-rpc frames over a plain
//! byte stream (a UART or RTT on the board, a socket or RTT pump on the host).
//!
//! - [`frame`]: COBS frames carrying `payload ++ CRC-32`; a corrupt or truncated frame is
//!   detected and dropped, never handed on.
//! - [`device`]: postcard-rpc 0.12.1's server `WireTx`/`WireRx` over any [`ByteUart`],
//!   a busy-poll `block_on`, and a one-frame-at-a-time serve step for firmware main loops.
//! - `host` (feature `std`): the postcard-rpc host wire over any byte stream, same framing,
//!   resending unanswered requests, with optional fault injection.
//!
//! Framing and wires only: what is at the other end of the bytes (QEMU, a probe, a thread)
//! is started by the host's tools, not here.
#![cfg_attr(not(feature = "std"), no_std)]

pub mod device;
pub mod frame;
#[cfg(feature = "std")]
pub mod host;

pub use device::ByteUart;
pub use frame::{Deframer, FrameError};

/// Re-exported so firmware and host name the exact postcard-rpc version the wire implements.
pub use postcard_rpc;
