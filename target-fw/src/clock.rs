//! SysTick as a free-running 64-bit tick counter.
//!
//! DWT's cycle counter is not modelled by QEMU (it reads 0), SysTick is; under
//! `-icount shift=0` its ticks are a deterministic instruction count (40 instructions per
//! tick at 25 MHz), so identical runs report identical numbers on every machine. SysTick is
//! 24 bits wide: the exception counts wraps, `ticks` stitches them together.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

const RELOAD: u32 = 0x00FF_FFFF;

/// Completed SysTick periods (each `RELOAD + 1` ticks).
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick from the core clock with its wrap interrupt on.
pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`init`].
pub fn ticks() -> u64 {
    loop {
        let before = WRAPS.load(Ordering::Acquire);
        let current = SYST::get_current();
        // A wrap between the two reads would pair an old count with a new value: retry.
        if WRAPS.load(Ordering::Acquire) == before {
            return u64::from(before) * u64::from(RELOAD + 1) + u64::from(RELOAD - current);
        }
    }
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::AcqRel);
}
