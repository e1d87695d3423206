//! Stack high-water mark: cortex-m-rt's `paint-stack` fills the stack region with
//! `0xCCCC_CCCC` at reset; the deepest word that no longer holds the paint is the deepest
//! the stack has reached. (Overflow is not trapped under QEMU: below RAM writes vanish.)

const PAINT: u32 = 0xCCCC_CCCC;

unsafe extern "C" {
    /// Top of the stack (initial SP), from cortex-m-rt's linker script.
    static _stack_start: u32;
    /// Bottom of the stack region (end of `.bss`/`.uninit`), from the same script.
    static _stack_end: u32;
}

fn bounds() -> (*const u32, *const u32) {
    // Only the symbols' addresses are taken; nothing is read through them here.
    (&raw const _stack_end, &raw const _stack_start)
}

/// Bytes of the stack region.
pub fn size() -> usize {
    let (bottom, top) = bounds();
    top as usize - bottom as usize
}

/// Deepest stack use since reset, in bytes.
pub fn high_water() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom;
    while p < top {
        // SAFETY: `p` is word-aligned (cortex-m-rt aligns `_stack_end` to 4) and within the
        // stack region [_stack_end, _stack_start), which is mapped RAM. The unused part is
        // not an object of this program; the used part may be live stack of callers, which
        // is only read, volatile, as plain words.
        if unsafe { p.read_volatile() } != PAINT {
            break;
        }
        p = p.wrapping_add(1);
    }
    top as usize - p as usize
}
