//! ST NUCLEO-F429ZI (STM32F429ZI): Cortex-M4F, 2 MiB flash at 0x0800_0000, 192 KiB SRAM at
//! 0x2000_0000 (SRAM1-3, contiguous: data, heap, static buffer), the stack in the 64 KiB CCM
//! RAM at 0x1000_0000 (`memory.x`). Reached
//! through the on-board ST-LINK; the link is RTT. No clock set-up: the core runs on the
//! 16 MHz HSI out of reset.

#[path = "../debug_probe.rs"]
mod debug_probe;

pub use debug_probe::{HostUart, eprint, exit, heap_source, init};

/// Core clock out of reset (HSI).
pub const CORE_CLOCK_HZ: u32 = 16_000_000;

/// DWT's cycle counter is real on this core: ticks are core cycles.
pub const CYCLE_COUNTER: bool = true;
