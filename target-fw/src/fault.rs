//! Fatal paths: panics and hard faults. Both report what happened (message or faulting pc)
//! through the board's `eprint` (semihosting stderr under QEMU, which the host captures with
//! the run) and as a postcard-rpc log frame on the link if the link is free, then exit with
//! failure so the host sees a non-zero QEMU exit code (or a parked board) instead of a
//! silent hang.

use core::fmt::Arguments;
use core::panic::PanicInfo;

use cortex_m_rt::{ExceptionFrame, exception};
use postcard_rpc::header::VarKeyKind;
use postcard_rpc::server::WireTx;
use tandem_link::device::block_on;

use crate::{LINK, board};

/// Reports `args` everywhere it can go, then ends the run with failure.
pub fn fatal(args: Arguments<'_>) -> ! {
    cortex_m::interrupt::disable();
    board::eprint(format_args!("tandem-fw: {args}"));
    // Over the link too: send_log_fmt fails (and is skipped) if the fault hit mid-frame.
    let (tx, _) = LINK.wire().split();
    let _ = block_on(tx.send_log_fmt(VarKeyKind::Key8, format_args!("tandem-fw: {args}")));
    LINK.wire().flush();
    board::exit(false)
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    fatal(format_args!("panic: {info}"))
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    fatal(format_args!(
        "HardFault at pc={:#010x} lr={:#010x} xpsr={:#010x}",
        frame.pc(),
        frame.lr(),
        frame.xpsr()
    ))
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    fatal(format_args!("unexpected exception or interrupt {irqn}"))
}
