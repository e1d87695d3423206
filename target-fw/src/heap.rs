//! The global allocator: talc over a static arena of `board::HEAP_SIZE` bytes, with talc's
//! counters so the host can compare heap use between the simulator and the board.

use core::sync::atomic::{AtomicBool, Ordering};

use talc::TalcLock;
use talc::base::Counters;
use talc::lock_api::{GuardNoSend, RawMutex};
use talc::source::Claim;

use crate::board::HEAP_SIZE;

/// A lock for one core where nothing allocates in interrupt handlers: taking it can only fail
/// if that rule is broken, which is reported as a panic rather than a silent deadlock.
pub struct SingleCoreLock(AtomicBool);

// SAFETY: `try_lock` hands the lock to one holder at a time (an atomic swap), `unlock` is
// only called by that holder (lock_api's contract), and `lock` never returns without it.
unsafe impl RawMutex for SingleCoreLock {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's required initialiser
    const INIT: Self = Self(AtomicBool::new(false));
    type GuardMarker = GuardNoSend;

    fn lock(&self) {
        if !self.try_lock() {
            panic!("heap lock re-entered: allocation from an interrupt handler?");
        }
    }

    fn try_lock(&self) -> bool {
        !self.0.swap(true, Ordering::Acquire)
    }

    unsafe fn unlock(&self) {
        self.0.store(false, Ordering::Release);
    }
}

static mut ARENA: [u8; HEAP_SIZE] = [0; HEAP_SIZE];

#[global_allocator]
static ALLOCATOR: TalcLock<SingleCoreLock, Claim> =
    // SAFETY: `ARENA` is used by nothing but this allocator (it is private to this module and
    // only its address is taken), so talc owns those bytes for the whole program.
    TalcLock::new(unsafe { Claim::array(&raw mut ARENA) });

/// Heap counters now.
pub fn counters() -> Counters {
    *ALLOCATOR.lock().counters()
}
