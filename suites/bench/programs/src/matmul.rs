//! f32 matrix multiply: float multiply-adds and 2-D indexing.

/// Matrix order: three 32x32 f32 matrices, 12 KiB.
pub const N: usize = 32;

/// The kernel's working arrays (the three matrices, 12 KiB), owned by the caller: boxed natively, a
/// `.bss` static in the wasm build.
pub struct Workspace {
    a: [f32; N * N],
    b: [f32; N * N],
    c: [f32; N * N],
}

impl Workspace {
    /// Zeroed arrays; `const`, so the wasm build can place them in a static.
    pub const fn new() -> Self {
        Workspace { a: [0.0; N * N], b: [0.0; N * N], c: [0.0; N * N] }
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// `n` products `C = A * B`, nudging one element of `A` after each so rounds differ;
/// the checksum is the bits of the running sum of all of `C`.
pub fn run(ws: &mut Workspace, n: i32) -> i32 {
    let mut rng = crate::lcg::Lcg::new(0x05ee_df32);
    for x in ws.a.iter_mut().chain(ws.b.iter_mut()) {
        // In [-1, 1): magnitudes stay small, no overflow or subnormals.
        *x = (rng.next_u32() >> 8) as f32 / (1u32 << 23) as f32 - 1.0;
    }
    let mut total = 0.0f32;
    for round in 0..n.max(0) as usize {
        multiply(&ws.a, &ws.b, &mut ws.c);
        total += ws.c.iter().sum::<f32>();
        ws.a[round % (N * N)] += 0.25;
    }
    total.to_bits() as i32
}

/// `c = a * b`, row by row (i-k-j order: the inner loop walks rows of `b` and `c`).
fn multiply(a: &[f32; N * N], b: &[f32; N * N], c: &mut [f32; N * N]) {
    for i in 0..N {
        let row = &mut c[i * N..(i + 1) * N];
        row.fill(0.0);
        for k in 0..N {
            let aik = a[i * N + k];
            let b_row = &b[k * N..(k + 1) * N];
            for (cij, &bkj) in row.iter_mut().zip(b_row) {
                *cij += aik * bkj;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn identity_times_b_is_b() {
        let mut a = [0.0f32; super::N * super::N];
        for i in 0..super::N {
            a[i * super::N + i] = 1.0;
        }
        let b: [f32; super::N * super::N] = core::array::from_fn(|i| i as f32);
        let mut c = [0.0f32; super::N * super::N];
        super::multiply(&a, &b, &mut c);
        assert_eq!(c, b);
    }
}
