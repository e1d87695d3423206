//! What every board driven through a debug probe shares: the host link is RTT (no UART or
//! pins to configure), the heap arena is a static in `.bss` (so the linker checks that heap,
//! static linear memory and stack fit the board's RAM), and there is no semihosting: a
//! `BKPT` with no debugger attached would itself fault, so fatal messages go over the link
//! only and the end of a run parks the core for the probe.

use talc::source::Claim;

use crate::profile::HEAP_BYTES;
pub use crate::rtt::Rtt as HostUart;

/// The heap arena, sized by the board profile.
static mut ARENA: [u8; HEAP_BYTES] = [0; HEAP_BYTES];

/// The heap arena for the global allocator.
pub const fn heap_source() -> Claim {
    // SAFETY: `ARENA` is private to this module and only its address is taken, once, for the
    // allocator's static initialiser: from then on talc owns those bytes and nothing else
    // names them.
    unsafe { Claim::new((&raw mut ARENA).cast::<u8>(), HEAP_BYTES) }
}

/// Nothing to bring up: RTT needs no peripheral, and the core runs on its reset clock.
pub fn init() {}

/// Fatal messages reach the host over the link only (see the module comment).
pub fn eprint(_args: core::fmt::Arguments<'_>) {}

/// Ends the run: parks the core (the host resets or reflashes it for the next run).
pub fn exit(_success: bool) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
