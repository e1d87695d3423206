//! A free-running 64-bit tick counter: core cycles from DWT's cycle counter on real boards,
//! SysTick under QEMU.
//!
//! QEMU does not model DWT's cycle counter (it reads 0) but does model SysTick; under
//! `-icount shift=0` its ticks are a deterministic instruction count (40 instructions per
//! tick at 25 MHz), so identical runs report identical numbers on every machine. On hardware
//! the cycle counter counts every core cycle. Both are narrower than 64 bits (SysTick 24,
//! CYCCNT 32): SysTick's wrap interrupt counts SysTick wraps, and, every 2^24 cycles, looks
//! at the cycle counter often enough that none of its wraps (every 2^32 cycles) is missed.
//! The same interrupt checks a running call's deadline ([`crate::deadline`]). ARMv6-M and
//! ARMv8-M Baseline cores (Cortex-M0/M0+/M23) have no cycle counter: there the build script
//! leaves `cycle_counter` unset and SysTick counts on every board.

use core::sync::atomic::Ordering;

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{DCB, DWT, SYST};
use cortex_m_rt::exception;
use portable_atomic::AtomicU32;

/// The board's cycle counter counts core cycles and this core has one.
const CYCLE_COUNTER: bool = crate::board::CYCLE_COUNTER && cfg!(cycle_counter);

const RELOAD: u32 = 0x00FF_FFFF;

/// Completed SysTick periods (each `RELOAD + 1` ticks).
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// Starts SysTick from the core clock with its wrap interrupt on, and, on boards that have
/// it, the cycle counter.
pub fn init(mut syst: SYST, mut dcb: DCB, mut dwt: DWT) {
    if CYCLE_COUNTER {
        cycle_counter::start(&mut dcb, &mut dwt);
    }
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

/// Ticks since [`init`]: core cycles, or SysTick ticks where there is no cycle counter.
pub fn ticks() -> u64 {
    if CYCLE_COUNTER { cycle_counter::read() } else { systick_ticks() }
}

fn systick_ticks() -> u64 {
    loop {
        let before = WRAPS.load(Ordering::Acquire);
        let current = SYST::get_current();
        // A wrap between the two reads would pair an old count with a new value: retry.
        if WRAPS.load(Ordering::Acquire) == before {
            return u64::from(before) * u64::from(RELOAD + 1) + u64::from(RELOAD - current);
        }
    }
}

/// DWT's cycle counter, on the cores that have one.
#[cfg(cycle_counter)]
mod cycle_counter {
    use core::sync::atomic::Ordering;

    use cortex_m::peripheral::{DCB, DWT};
    use portable_atomic::AtomicU32;

    /// The counter's last value seen, and how often it had wrapped by then.
    static LAST: AtomicU32 = AtomicU32::new(0);
    static WRAPS: AtomicU32 = AtomicU32::new(0);

    pub fn start(dcb: &mut DCB, dwt: &mut DWT) {
        dcb.enable_trace();
        dwt.set_cycle_count(0);
        dwt.enable_cycle_counter();
    }

    /// The counter widened to 64 bits: a value below the last one seen means it wrapped.
    pub fn read() -> u64 {
        cortex_m::interrupt::free(|_| {
            let now = DWT::cycle_count();
            let mut wraps = WRAPS.load(Ordering::Relaxed);
            if now < LAST.load(Ordering::Relaxed) {
                wraps = wraps.wrapping_add(1);
                WRAPS.store(wraps, Ordering::Relaxed);
            }
            LAST.store(now, Ordering::Relaxed);
            (u64::from(wraps) << 32) | u64::from(now)
        })
    }
}

/// Cores without a cycle counter: `CYCLE_COUNTER` is false there, so neither is called.
#[cfg(not(cycle_counter))]
mod cycle_counter {
    use cortex_m::peripheral::{DCB, DWT};

    pub fn start(_: &mut DCB, _: &mut DWT) {}

    pub fn read() -> u64 {
        super::systick_ticks()
    }
}

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::AcqRel);
    // On boards with a cycle counter, reading it here also keeps its wraps counted.
    crate::deadline::check(ticks());
}
