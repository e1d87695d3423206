//! Unit tests of both linear-memory backends (run under Miri by `ci/miri.sh`): sizes,
//! growth and its limits, static buffers handed over and back, the run loop's view, and
//! the heap use of each backend, counted by a global allocator.

extern crate std;

use alloc::boxed::Box;
use alloc::string::ToString;
use alloc::vec;

use super::*;

/// Whether every byte of `bytes` is `value`. Compares whole slices (one `memcmp`)
/// rather than byte by byte, which Miri runs far faster.
fn all(bytes: &[u8], value: u8) -> bool {
    bytes == &vec![value; bytes.len()][..]
}

/// A leaked, `fill`ed buffer of `bytes`: the `'static mut` handed to the memory,
/// and the raw pointer `reclaim` frees it through once the memory is gone.
fn leaked(bytes: usize, fill: u8) -> (&'static mut [u8], *mut [u8]) {
    let raw = Box::into_raw(vec![fill; bytes].into_boxed_slice());
    // SAFETY: `raw` comes from `Box::into_raw`, so it is valid and unaliased; the
    // reference is the only one used until `reclaim`, after the memory is dropped.
    (unsafe { &mut *raw }, raw)
}

/// Frees a buffer from `leaked` (keeps Miri's leak check quiet).
///
/// # Safety
/// The memory given the buffer must be gone, and `raw` must not be used again.
unsafe fn reclaim(raw: *mut [u8]) -> Box<[u8]> {
    // SAFETY: the caller guarantees nothing else refers to the buffer any more;
    // `raw` came from `Box::into_raw`.
    unsafe { Box::from_raw(raw) }
}

#[test]
fn heap_new_is_zeroed() {
    let mem = LinearMemory::new_heap(MemoryType::new(1, None)).unwrap();
    assert_eq!(mem.kind(), MemoryKind::Heap);
    assert_eq!(mem.size_pages(), 1);
    assert_eq!(mem.data().len(), PAGE_SIZE);
    assert!(all(mem.data(), 0));
    assert_eq!(mem.maximum_pages(), None);
    let stats = mem.stats();
    assert_eq!((stats.kind, stats.pages, stats.size_bytes), (MemoryKind::Heap, 1, 65536));
    assert!(stats.capacity_bytes >= 65536);
}

#[test]
fn heap_empty_memory() {
    let mut mem = LinearMemory::new_heap(MemoryType::new(0, Some(1))).unwrap();
    assert_eq!(mem.size_pages(), 0);
    assert!(mem.data().is_empty());
    assert!(mem.data_mut().is_empty());
    assert_eq!(mem.stats().capacity_bytes, 0);
    assert_eq!(mem.grow(0), Some(0));
    assert_eq!(mem.grow(1), Some(0));
    assert_eq!(mem.data().len(), PAGE_SIZE);
}

#[test]
fn heap_grow_keeps_data_and_zeroes_new_pages() {
    let mut mem = LinearMemory::new_heap(MemoryType::new(1, Some(3))).unwrap();
    mem.data_mut()[0] = 1;
    mem.data_mut()[PAGE_SIZE - 1] = 2;
    assert_eq!(mem.grow(1), Some(1));
    assert_eq!(mem.size_pages(), 2);
    assert_eq!(mem.data().len(), 2 * PAGE_SIZE);
    assert_eq!((mem.data()[0], mem.data()[PAGE_SIZE - 1]), (1, 2));
    assert!(all(&mem.data()[PAGE_SIZE..], 0));
    assert_eq!(mem.stats().size_bytes, 2 * PAGE_SIZE as u64);
}

#[test]
fn heap_grow_past_maximum_fails_unchanged() {
    let mut mem = LinearMemory::new_heap(MemoryType::new(1, Some(2))).unwrap();
    mem.data_mut()[7] = 7;
    assert_eq!(mem.grow(2), None);
    assert_eq!(mem.grow(u32::MAX), None);
    assert_eq!(mem.size_pages(), 1);
    assert_eq!(mem.grow(1), Some(1));
    assert_eq!(mem.grow(1), None);
    assert_eq!((mem.size_pages(), mem.data()[7]), (2, 7));
    assert_eq!(mem.maximum_pages(), Some(2));
}

#[test]
fn heap_grow_past_wasm_limit_fails() {
    // No maximum declared: 65536 pages is wasm's own limit (this fails before
    // anything is allocated, so it is cheap even under Miri).
    let mut mem = LinearMemory::new_heap(MemoryType::new(0, None)).unwrap();
    assert_eq!(mem.grow(65537), None);
    assert_eq!(mem.grow(u32::MAX), None);
    assert_eq!(mem.size_pages(), 0);
    assert_eq!(mem.stats().capacity_bytes, 0);
}

#[test]
fn sizes_are_checked_for_the_pointer_width() {
    let (big, tiny) = (MemoryType::new(0, None), MemoryType::new(0, None).with_page_size_log2(0));
    assert_eq!(pages_to_bytes(&big, 1), Some(PAGE_SIZE));
    assert_eq!(pages_to_bytes(&tiny, 1), Some(1));
    assert_eq!(big.bytes(65536), 1 << 32);
    assert_eq!(big.bytes(u32::MAX), u64::from(u32::MAX) << 16);
    assert_eq!((big.max_pages(), tiny.max_pages()), (65536, u32::MAX));
    #[cfg(target_pointer_width = "32")]
    {
        // 65536 pages = 4 GiB does not fit in a 32-bit usize.
        assert_eq!(pages_to_bytes(&big, 65535), Some(65535 * PAGE_SIZE));
        assert_eq!(pages_to_bytes(&big, 65536), None);
        // Over isize::MAX: the allocator is never asked, so this is cheap.
        assert_eq!(
            LinearMemory::new_heap(MemoryType::new(40000, None)).unwrap_err(),
            Error::OutOfMemory { bytes: 40000 * PAGE_SIZE as u64 }
        );
        assert_eq!(
            LinearMemory::new_heap(MemoryType::new(65536, None)).unwrap_err(),
            Error::OutOfMemory { bytes: 1 << 32 }
        );
        let mut mem = LinearMemory::new_heap(MemoryType::new(0, None)).unwrap();
        assert_eq!(mem.grow(65536), None);
        assert_eq!(mem.grow(40000), None);
        assert_eq!(mem.stats().capacity_bytes, 0);
    }
    #[cfg(target_pointer_width = "64")]
    assert_eq!(pages_to_bytes(&big, 65536), Some(1 << 32));
}

#[test]
fn grow_zero_returns_current_size() {
    let mut heap = LinearMemory::new_heap(MemoryType::new(1, Some(1))).unwrap();
    assert_eq!(heap.grow(0), Some(1));
    let (buf, raw) = leaked(PAGE_SIZE, 0xAA);
    let mut stat = LinearMemory::new_static(buf, MemoryType::new(1, None), 0).unwrap();
    assert_eq!(stat.grow(0), Some(1));
    drop(stat);
    // SAFETY: the memory is dropped; `raw` is not used again.
    drop(unsafe { reclaim(raw) });
}

#[test]
fn initial_over_limits_is_an_error() {
    assert!(matches!(
        LinearMemory::new_heap(MemoryType::new(3, Some(2))),
        Err(Error::Limit { value: 3, limit: 2, .. })
    ));
    assert!(matches!(
        LinearMemory::new_heap(MemoryType::new(65537, None)),
        Err(Error::Limit { value: 65537, limit: 65536, .. })
    ));
    let (buf, raw) = leaked(PAGE_SIZE, 0);
    assert!(matches!(
        LinearMemory::new_static(buf, MemoryType::new(2, Some(1)), 0),
        Err(Error::Limit { value: 2, limit: 1, .. })
    ));
    // SAFETY: the failed call dropped its reference; `raw` is not used again.
    drop(unsafe { reclaim(raw) });
}

#[test]
fn static_initial_pages_are_zeroed_even_if_dirty() {
    let (buf, raw) = leaked(2 * PAGE_SIZE, 0xAA);
    let mem = LinearMemory::new_static(buf, MemoryType::new(1, None), 0).unwrap();
    assert_eq!(mem.kind(), MemoryKind::Static);
    assert_eq!(mem.size_pages(), 1);
    assert!(all(mem.data(), 0));
    let stats = mem.stats();
    assert_eq!(
        stats,
        MemStats {
            kind: MemoryKind::Static,
            pages: 1,
            page_size: 65536,
            size_bytes: PAGE_SIZE as u64,
            capacity_bytes: 2 * PAGE_SIZE as u64,
        }
    );
    drop(mem);
    // SAFETY: the memory is dropped; `raw` is not used again.
    let buf = unsafe { reclaim(raw) };
    // Only the initial pages were zeroed.
    assert!(all(&buf[..PAGE_SIZE], 0));
    assert!(all(&buf[PAGE_SIZE..], 0xAA));
}

#[test]
fn static_grow_within_buffer_zeroes_new_page() {
    let (buf, raw) = leaked(2 * PAGE_SIZE, 0xAA);
    let mut mem = LinearMemory::new_static(buf, MemoryType::new(1, None), 0).unwrap();
    mem.data_mut()[5] = 5;
    assert_eq!(mem.grow(1), Some(1));
    assert_eq!(mem.size_pages(), 2);
    assert_eq!(mem.data().len(), 2 * PAGE_SIZE);
    assert_eq!(mem.data()[5], 5);
    assert!(all(&mem.data()[PAGE_SIZE..], 0));
    drop(mem);
    // SAFETY: the memory is dropped; `raw` is not used again.
    drop(unsafe { reclaim(raw) });
}

#[test]
fn static_grow_past_buffer_fails_unchanged() {
    let (buf, raw) = leaked(PAGE_SIZE, 0xAA);
    let mut mem = LinearMemory::new_static(buf, MemoryType::new(1, Some(10)), 0).unwrap();
    mem.data_mut()[9] = 9;
    assert_eq!(mem.grow(1), None);
    assert_eq!(mem.grow(u32::MAX), None);
    assert_eq!(mem.size_pages(), 1);
    assert_eq!(mem.data()[9], 9);
    assert_eq!(mem.stats().capacity_bytes, PAGE_SIZE as u64);
    drop(mem);
    // SAFETY: the memory is dropped; `raw` is not used again.
    drop(unsafe { reclaim(raw) });
}

#[test]
fn static_grow_past_maximum_fails_within_buffer() {
    let (buf, raw) = leaked(2 * PAGE_SIZE, 0);
    let mut mem = LinearMemory::new_static(buf, MemoryType::new(1, Some(1)), 0).unwrap();
    assert_eq!(mem.grow(1), None);
    assert_eq!(mem.size_pages(), 1);
    drop(mem);
    // SAFETY: the memory is dropped; `raw` is not used again.
    drop(unsafe { reclaim(raw) });
}

#[test]
fn static_buffer_not_a_page_multiple() {
    // One whole page plus 100 bytes: the tail is never part of the memory.
    let (buf, raw) = leaked(PAGE_SIZE + 100, 0xAA);
    let mut mem = LinearMemory::new_static(buf, MemoryType::new(0, None), 0).unwrap();
    assert_eq!(mem.size_pages(), 0);
    assert!(mem.data().is_empty());
    assert_eq!(mem.grow(1), Some(0));
    assert_eq!(mem.data().len(), PAGE_SIZE);
    assert!(all(mem.data(), 0));
    assert_eq!(mem.grow(1), None);
    assert_eq!(mem.stats().capacity_bytes, PAGE_SIZE as u64 + 100);
    drop(mem);
    // SAFETY: the memory is dropped; `raw` is not used again.
    let buf = unsafe { reclaim(raw) };
    assert!(all(&buf[PAGE_SIZE..], 0xAA));
}

#[test]
fn static_buffer_too_small() {
    let (buf, raw) = leaked(PAGE_SIZE + 1, 0);
    let err = LinearMemory::new_static(buf, MemoryType::new(2, None), 3).unwrap_err();
    assert_eq!(
        err,
        Error::StaticBufferTooSmall {
            memory: 3,
            buffer_bytes: PAGE_SIZE as u64 + 1,
            required_bytes: 2 * PAGE_SIZE as u64,
        }
    );
    let text = err.to_string();
    assert!(text.contains("65537") && text.contains("131072"), "{text}");
    // SAFETY: the failed call dropped its reference; `raw` is not used again.
    drop(unsafe { reclaim(raw) });
}

#[test]
fn static_empty_buffer() {
    let buf: &'static mut [u8] = &mut [];
    let mut mem = LinearMemory::new_static(buf, MemoryType::new(0, None), 0).unwrap();
    assert!(mem.data().is_empty());
    assert_eq!(mem.grow(0), Some(0));
    assert_eq!(mem.grow(1), None);
    assert!(LinearMemory::new_static(&mut [], MemoryType::new(1, None), 0).is_err());
}

#[test]
fn static_drop_leaves_buffer_alone() {
    let (buf, raw) = leaked(PAGE_SIZE, 0xAA);
    let mut mem = LinearMemory::new_static(buf, MemoryType::new(1, None), 0).unwrap();
    mem.data_mut()[..4].copy_from_slice(b"wasm");
    drop(mem);
    // Had drop freed the buffer, Miri would report this use (and the free below).
    // SAFETY: the memory is dropped; `raw` is not used again.
    let buf = unsafe { reclaim(raw) };
    assert_eq!(&buf[..4], b"wasm");
    assert!(all(&buf[4..], 0));
}

#[test]
fn static_into_buffer_returns_it() {
    let (buf, raw) = leaked(PAGE_SIZE + 3, 0xAA);
    let mut mem = LinearMemory::new_static(buf, MemoryType::new(1, None), 0).unwrap();
    mem.data_mut()[1] = 1;
    let back = mem.into_static_buffer().unwrap();
    assert_eq!(back.len(), PAGE_SIZE + 3);
    assert_eq!((back[0], back[1], back[PAGE_SIZE]), (0, 1, 0xAA));
    // Reuse it for another memory.
    let mem = LinearMemory::new_static(back, MemoryType::new(1, None), 0).unwrap();
    assert_eq!(mem.data()[1], 0);
    drop(mem);
    // SAFETY: the memory is dropped; `raw` is not used again.
    drop(unsafe { reclaim(raw) });
    assert!(
        LinearMemory::new_heap(MemoryType::new(1, None)).unwrap().into_static_buffer().is_none()
    );
}

#[test]
fn views_load_and_store_within_bounds_and_follow_a_grow() {
    let mut mem = LinearMemory::new_heap(MemoryType::new(1, None)).unwrap();
    mem.data_mut()[10] = 0xab;
    let view = mem.view();
    // SAFETY: the memory is alive and not grown while `view` is used, and no
    // reference to its bytes is alive during each access.
    unsafe {
        assert_eq!(view.load::<2>(9), Some([0, 0xab]));
        assert_eq!(view.store(PAGE_SIZE - 4, 7u32.to_le_bytes()), Some(()));
        assert_eq!(view.store(PAGE_SIZE - 3, [1u8; 4]), None);
        assert_eq!(view.load::<1>(PAGE_SIZE), None);
        assert_eq!(view.load::<8>(usize::MAX), None);
    }
    assert_eq!(&mem.data()[PAGE_SIZE - 4..], &7u32.to_le_bytes());
    // A grow may move the bytes: a fresh view sees the old ones and the new page.
    assert_eq!(mem.grow(1), Some(1));
    let view = mem.view();
    // SAFETY: as above, for the new view.
    unsafe {
        assert_eq!(view.load::<1>(10), Some([0xab]));
        assert_eq!(view.store(2 * PAGE_SIZE - 1, [5]), Some(()));
        assert_eq!(view.load::<1>(2 * PAGE_SIZE), None);
        assert_eq!(MemoryView::EMPTY.load::<1>(0), None);
    }
    assert_eq!(mem.data()[2 * PAGE_SIZE - 1], 5);
}

#[test]
fn send_and_debug() {
    fn assert_send<T: Send>() {}
    assert_send::<LinearMemory>();
    let mem = LinearMemory::new_heap(MemoryType::new(0, Some(4))).unwrap();
    let text = std::format!("{mem:?}");
    assert!(text.contains("Heap") && text.contains("maximum_pages: Some(4)"), "{text}");
}

/// The two backends' use of the heap, counted by a global allocator: a static memory
/// never touches it, not even when `memory.grow` fails; a heap memory allocates when
/// it grows. (Once `tests/memory_backends.rs`; here since `LinearMemory` is
/// crate-private, and so under Miri too.)
mod heap_use {
    use core::cell::Cell;
    use std::alloc::{GlobalAlloc, Layout, System};

    use alloc::vec::Vec;

    use super::*;

    /// Counts this thread's allocations and frees (tests run on several threads).
    struct CountingAlloc;

    std::thread_local! {
        // Const-initialised, no destructor: reading it never allocates, so the
        // allocator can use it.
        static ALLOCS: Cell<u64> = const { Cell::new(0) };
        static FREES: Cell<u64> = const { Cell::new(0) };
    }

    fn bump(counter: &'static std::thread::LocalKey<Cell<u64>>) {
        let _ = counter.try_with(|c| c.set(c.get() + 1));
    }

    // SAFETY: every call is forwarded unchanged to `System`; the counters only add.
    unsafe impl GlobalAlloc for CountingAlloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            bump(&ALLOCS);
            // SAFETY: the caller's guarantees for `alloc` are passed on.
            unsafe { System.alloc(layout) }
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            bump(&ALLOCS);
            // SAFETY: the caller's guarantees for `alloc_zeroed` are passed on.
            unsafe { System.alloc_zeroed(layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            bump(&ALLOCS);
            // SAFETY: the caller's guarantees for `realloc` are passed on.
            unsafe { System.realloc(ptr, layout, new_size) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            bump(&FREES);
            // SAFETY: the caller's guarantees for `dealloc` are passed on.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static GLOBAL: CountingAlloc = CountingAlloc;

    /// (allocations, frees) on this thread so far.
    fn counts() -> (u64, u64) {
        (ALLOCS.with(Cell::get), FREES.with(Cell::get))
    }

    /// Runs `f` and returns its result with the (allocations, frees) it made.
    fn counting<R>(f: impl FnOnce() -> R) -> (R, (u64, u64)) {
        let before = counts();
        let result = f();
        let after = counts();
        (result, (after.0 - before.0, after.1 - before.1))
    }

    #[test]
    fn counter_sees_allocations() {
        let (v, (allocs, _)) = counting(|| vec![1u8; 100]);
        assert_eq!(allocs, 1);
        let ((), (_, frees)) = counting(|| drop(v));
        assert_eq!(frees, 1);
    }

    #[test]
    fn static_memory_allocates_nothing() {
        let (buf, raw) = leaked(2 * PAGE_SIZE + 10, 0xA5);
        let (mem, (allocs, _)) =
            counting(|| LinearMemory::new_static(buf, MemoryType::new(1, None), 0));
        let mut mem = mem.unwrap();
        assert_eq!(allocs, 0, "new_static allocated");

        let (old, (allocs, frees)) = counting(|| mem.grow(1));
        assert_eq!(old, Some(1));
        assert_eq!((allocs, frees), (0, 0), "grow within the static buffer touched the heap");

        let ((), (allocs, frees)) = counting(|| drop(mem));
        assert_eq!((allocs, frees), (0, 0), "dropping a static memory touched the heap");
        // SAFETY: the memory is dropped; `raw` is not used again.
        drop(unsafe { reclaim(raw) });
    }

    #[test]
    fn static_grow_past_buffer_is_minus_one_without_allocating() {
        let (buf, raw) = leaked(2 * PAGE_SIZE, 0xA5);
        let mut mem = LinearMemory::new_static(buf, MemoryType::new(2, Some(100)), 0).unwrap();
        mem.data_mut()[2 * PAGE_SIZE - 1] = 0x42;
        let before = mem.data().to_vec();

        for delta in [1, 2, 98, 65536, u32::MAX] {
            let (old, (allocs, frees)) = counting(|| mem.grow(delta));
            assert_eq!(old, None, "grow({delta}) past the buffer");
            assert_eq!((allocs, frees), (0, 0), "failed grow({delta}) touched the heap");
        }
        assert_eq!(mem.size_pages(), 2);
        assert!(mem.data() == &before[..], "a failed grow changed bytes");
        drop(mem);
        // SAFETY: the memory is dropped; `raw` is not used again.
        drop(unsafe { reclaim(raw) });
    }

    #[test]
    fn heap_grow_allocates() {
        let mut mem = LinearMemory::new_heap(MemoryType::new(1, None)).unwrap();
        assert_eq!(mem.kind(), MemoryKind::Heap);
        let (old, (allocs, _)) = counting(|| mem.grow(1));
        assert_eq!(old, Some(1));
        assert!(allocs >= 1, "heap grow did not allocate");
        assert_eq!(mem.stats().capacity_bytes, 2 * PAGE_SIZE as u64);
    }

    #[test]
    fn heap_grow_past_maximum_allocates_nothing() {
        let mut mem = LinearMemory::new_heap(MemoryType::new(1, Some(1))).unwrap();
        let (old, (allocs, frees)) = counting(|| mem.grow(1));
        assert_eq!(old, None);
        assert_eq!((allocs, frees), (0, 0));
    }

    fn check_data_survives_grow(mut mem: LinearMemory) {
        // Byte `i` is `i * 7 + 3` (mod 256), which repeats every 256 bytes: built by
        // copying one period, which Miri runs far faster than byte by byte.
        let period: Vec<u8> = (0..256).map(|i| (i * 7 + 3) as u8).collect();
        let pattern = period.repeat(PAGE_SIZE / 256);
        mem.data_mut().copy_from_slice(&pattern);
        assert_eq!(mem.grow(2), Some(1));
        assert_eq!(mem.size_pages(), 3);
        assert_eq!(&mem.data()[..PAGE_SIZE], &pattern[..]);
        assert!(all(&mem.data()[PAGE_SIZE..], 0), "new pages are not zero");
        let stats: MemStats = mem.stats();
        assert_eq!((stats.pages, stats.size_bytes), (3, 3 * PAGE_SIZE as u64));
    }

    #[test]
    fn data_survives_grow_on_heap() {
        check_data_survives_grow(LinearMemory::new_heap(MemoryType::new(1, Some(3))).unwrap());
    }

    #[test]
    fn data_survives_grow_on_static() {
        let (buf, raw) = leaked(3 * PAGE_SIZE, 0xA5);
        let mem = LinearMemory::new_static(buf, MemoryType::new(1, None), 0).unwrap();
        assert!(all(mem.data(), 0), "initial page not zeroed");
        check_data_survives_grow(mem);
        // SAFETY: the memory was dropped by the check; `raw` is not used again.
        drop(unsafe { reclaim(raw) });
    }

    #[test]
    fn stats_of_both_backends() {
        let (buf, raw) = leaked(PAGE_SIZE + 5, 0xA5);
        let stat = LinearMemory::new_static(buf, MemoryType::new(1, Some(1)), 0).unwrap();
        assert_eq!(
            stat.stats(),
            MemStats {
                kind: MemoryKind::Static,
                pages: 1,
                page_size: 65536,
                size_bytes: PAGE_SIZE as u64,
                capacity_bytes: PAGE_SIZE as u64 + 5,
            }
        );
        assert_eq!(stat.maximum_pages(), Some(1));
        drop(stat);
        // SAFETY: the memory is dropped; `raw` is not used again.
        drop(unsafe { reclaim(raw) });
        let heap = LinearMemory::new_heap(MemoryType::new(0, None)).unwrap();
        assert_eq!(
            heap.stats(),
            MemStats {
                kind: MemoryKind::Heap,
                pages: 0,
                page_size: 65536,
                size_bytes: 0,
                capacity_bytes: 0
            }
        );
        assert_eq!(heap.maximum_pages(), None);
    }

    #[test]
    fn too_small_buffer_error_names_both_sizes() {
        let (buf, raw) = leaked(1000, 0xA5);
        let err = LinearMemory::new_static(buf, MemoryType::new(1, None), 2).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("1000"), "buffer size missing: {text}");
        assert!(text.contains("65536"), "required size missing: {text}");
        assert!(text.contains("memory 2"), "memory index missing: {text}");
        // SAFETY: the failed call dropped its reference; `raw` is not used again.
        drop(unsafe { reclaim(raw) });
    }
}

#[test]
fn one_byte_pages_count_bytes() {
    let tiny = |initial, maximum| MemoryType::new(initial, maximum).with_page_size_log2(0);
    let mut heap = LinearMemory::new_heap(tiny(3, Some(5))).unwrap();
    assert_eq!((heap.size_pages(), heap.data().len()), (3, 3));
    assert_eq!(heap.grow(2), Some(3));
    assert_eq!(heap.grow(1), None, "past the maximum of 5 bytes");
    assert_eq!(heap.stats().page_size, 1);
    // A 100-byte buffer holds a memory of up to 100 one-byte pages.
    let (buf, raw) = leaked(100, 0xaa);
    let mut stat = LinearMemory::new_static(buf, tiny(10, None), 0).unwrap();
    assert!(all(stat.data(), 0));
    assert_eq!(stat.grow(90), Some(10));
    assert_eq!(stat.grow(1), None, "past the buffer");
    assert_eq!(stat.stats().size_bytes, 100);
    drop(stat);
    // SAFETY: the memory that held the buffer is gone.
    unsafe { reclaim(raw) };
    let too_small = LinearMemory::check_static(9, &tiny(10, None), 1).unwrap_err();
    assert_eq!(
        too_small,
        Error::StaticBufferTooSmall { memory: 1, buffer_bytes: 9, required_bytes: 10 }
    );
}
