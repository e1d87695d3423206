//! QEMU `mps2-an505`: Arm's MPS2+ FPGA board with the AN505 Cortex-M33 image (ARMv8-M with
//! TrustZone). The core boots in the secure state and the firmware stays there: it is linked
//! at the secure aliases (code SSRAM1 at 0x1000_0000, data SSRAM2 and 3 at 0x3800_0000, UART0
//! at 0x5020_0000), which the TrustZone memory and peripheral protection controllers leave
//! open to secure accesses out of reset, so nothing needs setting up (QEMU 7.2, `info mtree`).
//! The heap is the 16 MiB PSRAM at 0x8000_0000. The rest is every MPS2 layer's (`../mps2.rs`).

#[path = "../mps2.rs"]
mod mps2;

pub use mps2::{CYCLE_COUNTER, HostUart, eprint, exit, heap_source, init};

/// CMSDK UART0, secure alias.
const UART0_BASE: usize = 0x5020_0000;
/// The board's PSRAM, which `memory.x` leaves out of every linker region.
const PSRAM_BASE: usize = 0x8000_0000;

/// Core clock: the MPS2+ AN505's 20 MHz (the AN385/386/500 run at 25). Under `-icount shift=0` QEMU runs one instruction per nanosecond
/// and SysTick ticks at this rate, so one tick is a fixed number of guest instructions
/// (1e9 / this): a deterministic cost measure.
pub const CORE_CLOCK_HZ: u32 = 20_000_000;
