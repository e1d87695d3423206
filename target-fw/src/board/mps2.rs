//! Arm's MPS2 FPGA boards under QEMU (AN385 Cortex-M3, AN386 Cortex-M4F, AN500 Cortex-M7,
//! AN505 Cortex-M33): what their layers share. The host link is CMSDK UART0, which QEMU
//! connects to a TCP socket; with the `rtt` feature it is RTT instead, which the host reaches
//! through QEMU's gdbstub the way it reaches a real board through a probe. The exit path is
//! semihosting, which QEMU turns into its own exit code. The heap lives in the board's
//! 16 MiB PSRAM. Where UART0 and the PSRAM are, and the system clock, differ between the
//! images: each layer says, as `UART0_BASE`, `PSRAM_BASE` and `CORE_CLOCK_HZ`.

// With `rtt` the UART is only initialised, not used as the link.
#[cfg_attr(feature = "rtt", allow(dead_code))]
#[path = "mps2_uart.rs"]
mod uart;

use talc::source::Claim;

use crate::profile::HEAP_BYTES;
#[cfg(feature = "rtt")]
pub use crate::rtt::Rtt as HostUart;
#[cfg(not(feature = "rtt"))]
pub use uart::Uart as HostUart;

/// QEMU does not model DWT's cycle counter (it reads 0): ticks come from SysTick.
pub const CYCLE_COUNTER: bool = false;

/// The size of every MPS2 image's PSRAM.
const PSRAM_BYTES: usize = 16 << 20;

const _: () = assert!(HEAP_BYTES <= PSRAM_BYTES, "the profile's heap does not fit the PSRAM");

/// The heap arena: the first `HEAP_BYTES` of the layer's PSRAM, so the 4 MiB data RAM is
/// left to `.data`, `.bss` (the static linear-memory buffer) and the stack.
pub const fn heap_source() -> Claim {
    // SAFETY: `PSRAM_BASE` is the board's PSRAM, mapped RAM on these machines, and the
    // layer's `memory.x` leaves it out of every linker region, so no object of the program
    // lives there: the allocator owns it.
    unsafe { Claim::new(super::PSRAM_BASE as *mut u8, HEAP_BYTES) }
}

/// Brings up what the link needs: UART0 with TX and RX on (unused by the RTT link, harmless).
pub fn init() {
    uart::init();
}

/// Prints on semihosting stderr, which QEMU passes to the host with the run's output.
pub fn eprint(args: core::fmt::Arguments<'_>) {
    cortex_m_semihosting::heprintln!("{}", args);
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
