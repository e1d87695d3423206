//! The two linear-memory backends through the public API, with a counting global
//! allocator: a static memory never touches the heap, not even when `memory.grow`
//! fails; a heap memory allocates when it grows.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use tandem_interp::memory::{LinearMemory, MemStats, MemoryKind, PAGE_SIZE};

/// Counts this thread's allocations and frees (tests run on several threads).
struct CountingAlloc;

thread_local! {
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

/// A dirty `bytes`-long buffer that lives for the rest of the test binary.
fn static_buffer(bytes: usize) -> &'static mut [u8] {
    Box::leak(vec![0xA5u8; bytes].into_boxed_slice())
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
    let buf = static_buffer(2 * PAGE_SIZE + 10);
    let (mem, (allocs, _)) = counting(|| LinearMemory::new_static(buf, 1, None, 0));
    let mut mem = mem.unwrap();
    assert_eq!(allocs, 0, "new_static allocated");

    let (old, (allocs, frees)) = counting(|| mem.grow(1));
    assert_eq!(old, Some(1));
    assert_eq!((allocs, frees), (0, 0), "grow within the static buffer touched the heap");

    let ((), (allocs, frees)) = counting(|| drop(mem));
    assert_eq!((allocs, frees), (0, 0), "dropping a static memory touched the heap");
}

#[test]
fn static_grow_past_buffer_is_minus_one_without_allocating() {
    let buf = static_buffer(2 * PAGE_SIZE);
    let mut mem = LinearMemory::new_static(buf, 2, Some(100), 0).unwrap();
    mem.data_mut()[2 * PAGE_SIZE - 1] = 0x42;
    let before = mem.data().to_vec();

    for delta in [1, 2, 98, 65536, u32::MAX] {
        let (old, (allocs, frees)) = counting(|| mem.grow(delta));
        assert_eq!(old, None, "grow({delta}) past the buffer");
        assert_eq!((allocs, frees), (0, 0), "failed grow({delta}) touched the heap");
    }
    assert_eq!(mem.size_pages(), 2);
    assert!(mem.data() == &before[..], "a failed grow changed bytes");
}

#[test]
fn heap_grow_allocates() {
    let mut mem = LinearMemory::new_heap(1, None).unwrap();
    assert_eq!(mem.kind(), MemoryKind::Heap);
    let (old, (allocs, _)) = counting(|| mem.grow(1));
    assert_eq!(old, Some(1));
    assert!(allocs >= 1, "heap grow did not allocate");
    assert_eq!(mem.stats().capacity_bytes, 2 * PAGE_SIZE as u64);
}

#[test]
fn heap_grow_past_maximum_allocates_nothing() {
    let mut mem = LinearMemory::new_heap(1, Some(1)).unwrap();
    let (old, (allocs, frees)) = counting(|| mem.grow(1));
    assert_eq!(old, None);
    assert_eq!((allocs, frees), (0, 0));
}

fn check_data_survives_grow(mut mem: LinearMemory) {
    let pattern: Vec<u8> = (0..PAGE_SIZE).map(|i| (i * 7 + 3) as u8).collect();
    mem.data_mut().copy_from_slice(&pattern);
    assert_eq!(mem.grow(2), Some(1));
    assert_eq!(mem.size_pages(), 3);
    assert_eq!(&mem.data()[..PAGE_SIZE], &pattern[..]);
    assert!(mem.data()[PAGE_SIZE..].iter().all(|&b| b == 0), "new pages are not zero");
    let stats: MemStats = mem.stats();
    assert_eq!((stats.pages, stats.size_bytes), (3, 3 * PAGE_SIZE as u64));
}

#[test]
fn data_survives_grow_on_heap() {
    check_data_survives_grow(LinearMemory::new_heap(1, Some(3)).unwrap());
}

#[test]
fn data_survives_grow_on_static() {
    let mem = LinearMemory::new_static(static_buffer(3 * PAGE_SIZE), 1, None, 0).unwrap();
    assert!(mem.data().iter().all(|&b| b == 0), "initial page not zeroed");
    check_data_survives_grow(mem);
}

#[test]
fn stats_of_both_backends() {
    let stat = LinearMemory::new_static(static_buffer(PAGE_SIZE + 5), 1, Some(1), 0).unwrap();
    assert_eq!(
        stat.stats(),
        MemStats {
            kind: MemoryKind::Static,
            pages: 1,
            size_bytes: PAGE_SIZE as u64,
            capacity_bytes: PAGE_SIZE as u64 + 5,
        }
    );
    assert_eq!(stat.maximum_pages(), Some(1));
    let heap = LinearMemory::new_heap(0, None).unwrap();
    assert_eq!(
        heap.stats(),
        MemStats { kind: MemoryKind::Heap, pages: 0, size_bytes: 0, capacity_bytes: 0 }
    );
    assert_eq!(heap.maximum_pages(), None);
}

#[test]
fn too_small_buffer_error_names_both_sizes() {
    let err = LinearMemory::new_static(static_buffer(1000), 1, None, 2).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("1000"), "buffer size missing: {text}");
    assert!(text.contains("65536"), "required size missing: {text}");
    assert!(text.contains("memory 2"), "memory index missing: {text}");
}
