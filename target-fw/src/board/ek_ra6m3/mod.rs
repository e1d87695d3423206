//! Renesas EK-RA6M3 (R7FA6M3AH): Cortex-M4F, 2 MiB code flash at 0x0, 640 KiB of SRAM that
//! starts *below* 0x2000_0000: SRAMHS at 0x1FFE_0000 (128 KiB) runs on into SRAM0/SRAM1 up
//! to 0x2008_0000 (`memory.x`). The flash holds the option-setting memory at 0x400..0x500,
//! which `memory.x` keeps code out of. Reached through the on-board J-Link; the link is RTT,
//! whose control block lands in SRAMHS, outside the usual RTT scan range: the host attaches at
//! the `_SEGGER_RTT` address from the ELF. No clock set-up: the core runs on MOCO out of reset.

#[path = "../debug_probe.rs"]
mod debug_probe;

pub use debug_probe::{HostUart, eprint, exit, heap_source, init};

/// Core clock out of reset: the 8 MHz middle-speed on-chip oscillator (MOCO), undivided.
pub const CORE_CLOCK_HZ: u32 = 8_000_000;

/// DWT's cycle counter is real on this core: ticks are core cycles.
pub const CYCLE_COUNTER: bool = true;
