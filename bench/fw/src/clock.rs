//! SysTick as a guest-instruction counter: under `-icount shift=0` one instruction takes one
//! virtual nanosecond and the 25 MHz SysTick ticks every 40 instructions. The 24-bit counter
//! wraps every 2^24 ticks; its interrupt counts the wraps.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

const RELOAD: u32 = 0x00FF_FFFF;
/// Guest instructions per SysTick tick at 25 MHz under `-icount shift=0`.
const INSTRUCTIONS_PER_TICK: u64 = 40;

static WRAPS: AtomicU32 = AtomicU32::new(0);

pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Guest instructions since [`init`], to 40 instructions.
pub fn instructions() -> u64 {
    loop {
        let before = WRAPS.load(Ordering::Acquire);
        let current = SYST::get_current();
        if WRAPS.load(Ordering::Acquire) == before {
            let ticks = u64::from(before) * u64::from(RELOAD + 1) + u64::from(RELOAD - current);
            return ticks * INSTRUCTIONS_PER_TICK;
        }
    }
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::AcqRel);
}
