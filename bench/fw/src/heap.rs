//! The global allocator: talc over the machine's 16 MiB PSRAM, with talc's own counters
//! (bytes in use, allocations ever made), read between measurements.

use talc::TalcLock;
use talc::source::Claim;

use crate::machine::PSRAM_BASE;

/// The size of every MPS2 image's PSRAM (at `PSRAM_BASE`, outside every linker region of
/// target-fw's `memory.x`).
const PSRAM_BYTES: usize = 16 << 20;

#[global_allocator]
static HEAP: TalcLock<spinning_top::RawSpinlock, Claim> =
    // SAFETY: the PSRAM is mapped RAM on this board and no linker region covers it, so no
    // object of the program lives there: the allocator owns those bytes.
    TalcLock::new(unsafe { Claim::new(PSRAM_BASE as *mut u8, PSRAM_BYTES) });

/// The allocator's counters now.
pub fn counters() -> talc::base::Counters {
    *HEAP.lock().counters()
}
