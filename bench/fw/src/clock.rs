//! SysTick as a guest-instruction counter: under `-icount shift=0` one instruction takes one
//! virtual nanosecond and SysTick ticks at the machine's clock (every 40 instructions at the
//! MPS2 images' 25 MHz, every 50 at the AN505's 20). The 24-bit counter wraps every 2^24
//! ticks; its interrupt counts the wraps.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

const RELOAD: u32 = 0x00FF_FFFF;
/// Guest instructions per SysTick tick under `-icount shift=0`.
const INSTRUCTIONS_PER_TICK: u64 = 1_000_000_000 / crate::machine::CORE_CLOCK_HZ as u64;

static WRAPS: AtomicU32 = AtomicU32::new(0);

pub fn init(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Guest instructions since [`init`], to [`INSTRUCTIONS_PER_TICK`].
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
