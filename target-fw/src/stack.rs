//! Stack high-water mark: cortex-m-rt's `paint-stack` fills the stack region with
//! `0xCCCC_CCCC` at reset; the deepest word that no longer holds the paint is the deepest
//! the stack has reached. [`repaint`] starts a new measurement (per host session).
//! (Overflow is not trapped under QEMU: below RAM writes vanish.)

const PAINT: u32 = 0xCCCC_CCCC;

/// Words left unpainted just below the stack pointer: `repaint`'s own frame lives there.
const REPAINT_MARGIN_WORDS: usize = 64;

unsafe extern "C" {
    /// Top of the stack (initial SP), from cortex-m-rt's linker script.
    static _stack_start: u32;
    /// Bottom of the stack region (end of `.bss`/`.uninit`), from the same script.
    static _stack_end: u32;
}

fn bounds() -> (*mut u32, *mut u32) {
    // Only the symbols' addresses are taken; nothing is read through them here.
    ((&raw const _stack_end).cast_mut(), (&raw const _stack_start).cast_mut())
}

/// Bytes of the stack region.
pub fn size() -> usize {
    let (bottom, top) = bounds();
    top as usize - bottom as usize
}

/// Deepest stack use since reset (or the last [`repaint`]), in bytes.
pub fn high_water() -> usize {
    let (bottom, top) = bounds();
    let mut p = bottom.cast_const();
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

/// Paints the unused stack again, so [`high_water`] measures from now on.
#[inline(never)]
pub fn repaint() {
    let (bottom, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize as *mut u32;
    let end = sp.wrapping_sub(REPAINT_MARGIN_WORDS);
    let mut p = bottom;
    while p < end {
        // SAFETY: [bottom, sp) is the stack region below the live stack: no frame or object
        // lives there (this function's frame is above `end`, which keeps a margin below the
        // stack pointer), so overwriting those words with paint disturbs nothing.
        unsafe { p.write_volatile(PAINT) };
        p = p.wrapping_add(1);
    }
}
