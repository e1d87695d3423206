//! Bulk memory: fills and overlapping copies through `core::ptr::write_bytes` and
//! `core::ptr::copy`, which the wasm build (bulk-memory enabled) turns into
//! `memory.fill` and `memory.copy`.

/// The buffer the operations work in: 64 KiB, one wasm page.
pub const LEN: usize = 64 * 1024;

/// Operations per round are at most this long.
const MAX_SPAN: usize = 16 * 1024;

/// A sample byte every this many bytes enters the checksum.
const SAMPLE_STRIDE: usize = 251;

/// The kernel's working arrays (the 64 KiB buffer), owned by the caller: boxed natively, a
/// `.bss` static in the wasm build.
pub struct Workspace {
    buf: [u8; LEN],
}

impl Workspace {
    /// Zeroed arrays; `const`, so the wasm build can place them in a static.
    pub const fn new() -> Self {
        Workspace { buf: [0; LEN] }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// `n` rounds of four fills and four (often overlapping) copies at LCG-chosen offsets and
/// lengths; each round folds a strided sample of the buffer into the checksum.
pub fn run(ws: &mut Workspace, n: i32) -> i32 {
    let mut rng = crate::lcg::Lcg::new(0xb01c);
    fill(&mut ws.buf, 0, LEN, 0);
    let mut checksum = 0u32;
    for _ in 0..n.max(0) {
        for _ in 0..4 {
            let len = rng.below(MAX_SPAN as u32) as usize;
            let at = rng.below((LEN - len) as u32) as usize;
            fill(&mut ws.buf, at, len, rng.next_u32() as u8);
            let len = rng.below(MAX_SPAN as u32) as usize;
            let from = rng.below((LEN - len) as u32) as usize;
            let to = rng.below((LEN - len) as u32) as usize;
            copy(&mut ws.buf, from, to, len);
        }
        for (i, &byte) in ws.buf.iter().step_by(SAMPLE_STRIDE).enumerate() {
            checksum = checksum.rotate_left(3) ^ (byte as u32).wrapping_add(i as u32);
        }
    }
    checksum as i32
}

/// Sets `buf[at..at + len]` to `value`.
fn fill(buf: &mut [u8], at: usize, len: usize, value: u8) {
    assert!(at <= buf.len() && len <= buf.len() - at);
    // SAFETY: the range was checked to lie inside `buf`.
    unsafe { core::ptr::write_bytes(buf.as_mut_ptr().add(at), value, len) }
}

/// Copies `buf[from..from + len]` to `buf[to..]`; the ranges may overlap.
fn copy(buf: &mut [u8], from: usize, to: usize, len: usize) {
    assert!(from <= buf.len() && len <= buf.len() - from);
    assert!(to <= buf.len() && len <= buf.len() - to);
    let base = buf.as_mut_ptr();
    // SAFETY: both ranges were checked to lie inside `buf`; `copy` allows overlap.
    unsafe { core::ptr::copy(base.add(from), base.add(to), len) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn overlapping_copy_is_a_memmove() {
        let mut buf: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
        super::copy(&mut buf, 0, 2, 5);
        assert_eq!(buf, [1, 2, 1, 2, 3, 4, 5, 8]);
        super::copy(&mut buf, 3, 1, 4);
        assert_eq!(buf, [1, 2, 3, 4, 5, 4, 5, 8]);
        super::fill(&mut buf, 6, 2, 9);
        assert_eq!(buf, [1, 2, 3, 4, 5, 4, 9, 9]);
    }
}
