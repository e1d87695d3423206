//! Nordic nRF52840-DK (nRF52840_xxAA): Cortex-M4F, 1 MiB flash at 0x0, 256 KiB RAM at
//! 0x2000_0000 (`memory.x`). Reached through the on-board J-Link over SWD; the link is RTT.
//! No clock set-up: the core runs from the 64 MHz internal oscillator out of reset.

#[path = "../debug_probe.rs"]
mod debug_probe;

pub use debug_probe::{HostUart, eprint, exit, heap_source, init};

/// Core clock out of reset (HFINT).
pub const CORE_CLOCK_HZ: u32 = 64_000_000;

/// DWT's cycle counter is real on this core: ticks are core cycles.
pub const CYCLE_COUNTER: bool = true;
