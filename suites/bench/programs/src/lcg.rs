//! The pseudo-random source every kernel fills its data from: a 32-bit LCG
//! (Numerical Recipes constants), so wasm and native builds see identical inputs.

/// A linear congruential generator; its state is its last output.
pub struct Lcg(u32);

impl Lcg {
    /// A generator starting from `seed`.
    pub const fn new(seed: u32) -> Self {
        Lcg(seed)
    }

    /// The next 32-bit output.
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        self.0
    }

    /// A value in `0..bound` from the high bits (the low bits of an LCG are weak).
    pub fn below(&mut self, bound: u32) -> u32 {
        ((self.next_u32() as u64 * bound as u64) >> 32) as u32
    }
}
