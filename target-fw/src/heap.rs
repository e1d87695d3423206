//! The global allocator: talc over the board's heap arena (`board::heap_source`, sized by the
//! board profile), wrapped to count bytes in use and the peak since the last reset, so the
//! host can compare heap use across runs and boards.

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::Ordering;

use portable_atomic::{AtomicBool, AtomicUsize};

use talc::TalcLock;
use talc::lock_api::{GuardNoSend, RawMutex};
use talc::source::Claim;

use crate::board;
use crate::profile::HEAP_BYTES;

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

/// Talc plus two counters: requested bytes in use, and their peak.
pub struct CountingHeap {
    talc: TalcLock<SingleCoreLock, Claim>,
    in_use: AtomicUsize,
    peak: AtomicUsize,
}

impl CountingHeap {
    fn grew(&self, bytes: usize) {
        let now = self.in_use.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded unchanged to talc, which upholds GlobalAlloc's contract;
// the wrapper only updates counters after successful calls.
unsafe impl GlobalAlloc for CountingHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.talc.alloc(layout) };
        if !p.is_null() {
            self.grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { self.talc.dealloc(ptr, layout) };
        self.in_use.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded with the caller's guarantees.
        let p = unsafe { self.talc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.in_use.fetch_sub(layout.size(), Ordering::Relaxed);
            self.grew(new_size);
        }
        p
    }
}

#[global_allocator]
static HEAP: CountingHeap = CountingHeap {
    talc: TalcLock::new(board::heap_source()),
    in_use: AtomicUsize::new(0),
    peak: AtomicUsize::new(0),
};

/// Heap bytes allocated now.
pub fn in_use() -> usize {
    HEAP.in_use.load(Ordering::Relaxed)
}

/// Most heap bytes allocated at once since boot or the last [`reset_peak`].
pub fn peak() -> usize {
    HEAP.peak.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from what is allocated now.
pub fn reset_peak() {
    HEAP.peak.store(in_use(), Ordering::Relaxed);
}

/// Size of the arena.
pub const fn size() -> usize {
    HEAP_BYTES
}
