//! The heap of a wasm build: Talc over a fixed arena in the module's one page, serving both
//! Rust's allocations and wasi-libc's `malloc` family, so dlmalloc is not linked at all.

use core::alloc::{GlobalAlloc, Layout};

/// Bytes of heap; with an 8 KiB shadow stack and the program's data this fills one page.
const ARENA_BYTES: usize = 40 * 1024;

#[global_allocator]
static TALC: talc::wasm::WasmArenaTalc = {
    static mut ARENA: [u8; ARENA_BYTES] = [0; ARENA_BYTES];
    // SAFETY: nothing but the allocator ever names ARENA.
    unsafe { talc::wasm::new_wasm_arena_allocator(&raw mut ARENA) }
};

/// Room before each C allocation for its size, which `free` and `realloc` need.
const HEADER: usize = 8;

fn c_layout(size: usize) -> Option<Layout> {
    Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
}

/// wasi-libc's `malloc` (it allocates the environment on first `getenv`).
#[unsafe(no_mangle)]
extern "C" fn malloc(size: usize) -> *mut u8 {
    let Some(layout) = c_layout(size) else { return core::ptr::null_mut() };
    // SAFETY: the layout's size is non-zero (it includes the header).
    let base = unsafe { TALC.alloc(layout) };
    if base.is_null() {
        return base;
    }
    // SAFETY: `base` is valid for `HEADER + size` bytes and aligned for a usize.
    unsafe {
        base.cast::<usize>().write(size);
        base.add(HEADER)
    }
}

/// wasi-libc's `calloc`.
#[unsafe(no_mangle)]
extern "C" fn calloc(count: usize, size: usize) -> *mut u8 {
    let Some(total) = count.checked_mul(size) else { return core::ptr::null_mut() };
    let p = malloc(total);
    if !p.is_null() {
        // SAFETY: `p` is valid for `total` bytes.
        unsafe { p.write_bytes(0, total) };
    }
    p
}

/// wasi-libc's `free`.
#[unsafe(no_mangle)]
unsafe extern "C" fn free(p: *mut u8) {
    if p.is_null() {
        return;
    }
    // SAFETY: `p` came from `malloc`, which put the size `HEADER` bytes before it.
    unsafe {
        let base = p.sub(HEADER);
        let size = base.cast::<usize>().read();
        TALC.dealloc(base, Layout::from_size_align_unchecked(size + HEADER, HEADER));
    }
}

/// wasi-libc's `realloc`.
#[unsafe(no_mangle)]
unsafe extern "C" fn realloc(p: *mut u8, size: usize) -> *mut u8 {
    if p.is_null() {
        return malloc(size);
    }
    let q = malloc(size);
    if !q.is_null() {
        // SAFETY: `p` came from `malloc` (its size is in the header); `q` holds `size` bytes.
        unsafe {
            let old = p.sub(HEADER).cast::<usize>().read();
            core::ptr::copy_nonoverlapping(p, q, old.min(size));
            free(p);
        }
    }
    q
}
