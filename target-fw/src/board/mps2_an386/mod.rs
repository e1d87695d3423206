//! QEMU `mps2-an386`: Arm's MPS2 FPGA board with the AN386 Cortex-M4F image, the CI
//! stand-in for a real Cortex-M4 board. Memory map in `memory.x` (4 MiB code RAM at 0x0,
//! 4 MiB data RAM at 0x2000_0000). The host link is CMSDK UART0, which QEMU connects to a
//! TCP socket; the exit path is semihosting, which QEMU turns into its own exit code.

mod uart;

pub use uart::Uart;

/// Core clock. Under `-icount shift=0` QEMU runs one instruction per nanosecond and SysTick
/// ticks at this rate, so one tick is 40 guest instructions: a deterministic cost measure.
pub const CORE_CLOCK_HZ: u32 = 25_000_000;

/// Heap for the interpreter (module code, instances, linear memories unless static): 1 MiB
/// of the 4 MiB data RAM; the stack gets what `.data`/`.bss` leave above it.
pub const HEAP_SIZE: usize = 1 << 20;

/// Brings up what the link needs: UART0 with TX and RX on.
pub fn init() {
    uart::init();
}

/// Ends the run: QEMU exits with code 0 (`success`) or 1, via semihosting.
pub fn exit(success: bool) -> ! {
    use cortex_m_semihosting::debug;
    debug::exit(if success { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    // Only reached without a semihosting host (a real board without a debugger): park.
    loop {
        cortex_m::asm::wfi();
    }
}
