//! QEMU `mps2-an500`: Arm's MPS2 FPGA board with the AN500 Cortex-M7 image: the
//! AN386's memory map and UART0 but for the PSRAM's address (QEMU 7.2, `info mtree`).
//! Memory map in `memory.x` (4 MiB code RAM at 0x0, 4 MiB data RAM at 0x2000_0000); the heap
//! in the 16 MiB PSRAM at 0x6000_0000. The rest is every MPS2 layer's (`../mps2.rs`).

#[path = "../mps2.rs"]
mod mps2;

pub use mps2::{CYCLE_COUNTER, HostUart, eprint, exit, heap_source, init};

/// CMSDK UART0.
const UART0_BASE: usize = 0x4000_4000;
/// The board's PSRAM, which `memory.x` leaves out of every linker region.
const PSRAM_BASE: usize = 0x6000_0000;

/// Core clock: the MPS2 images' 25 MHz. Under `-icount shift=0` QEMU runs one instruction per nanosecond
/// and SysTick ticks at this rate, so one tick is a fixed number of guest instructions
/// (1e9 / this): a deterministic cost measure.
pub const CORE_CLOCK_HZ: u32 = 25_000_000;
