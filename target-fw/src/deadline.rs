//! A call's deadline on the board: armed by the shared server around each instantiation and
//! invocation, checked on every SysTick wrap interrupt ([`crate::clock`]), which then
//! raises the interrupt flag the core polls where it charges fuel. A runaway call stops
//! with a trap and the session goes on, without the host having to reset the board.
//!
//! Granularity is one SysTick period (2^24 core cycles: 0.09 s at 180 MHz, 0.26 s at
//! 64 MHz, 0.67 s of QEMU's virtual time), which a deadline of seconds can afford; a
//! shorter period would make the wrap counter, and so the tick count, wrap in weeks.

use core::cell::Cell;
use core::sync::atomic::{AtomicBool, Ordering};

use cortex_m::interrupt::{self, Mutex};

use crate::clock;

/// The handler's interrupt flag: raised once the armed deadline has passed.
pub static PASSED: AtomicBool = AtomicBool::new(false);

/// The tick count at which [`PASSED`] is raised, while a call runs.
static AT: Mutex<Cell<Option<u64>>> = Mutex::new(Cell::new(None));

/// Lowers the flag and raises it once `ticks` more ticks have passed.
pub fn arm(ticks: u64) {
    PASSED.store(false, Ordering::Relaxed);
    let at = clock::ticks().saturating_add(ticks);
    interrupt::free(|cs| AT.borrow(cs).set(Some(at)));
}

/// The call ended: nothing is to be raised.
pub fn disarm() {
    interrupt::free(|cs| AT.borrow(cs).set(None));
}

/// From the SysTick interrupt: raises the flag if the armed deadline has passed by `now`.
pub fn check(now: u64) {
    interrupt::free(|cs| {
        let at = AT.borrow(cs);
        if at.get().is_some_and(|at| now >= at) {
            at.set(None);
            PASSED.store(true, Ordering::Relaxed);
        }
    });
}
