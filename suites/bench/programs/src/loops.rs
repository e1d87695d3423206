//! The tight-loop kernels of `../wat/`, computed natively: the reference checksums.
//!
//! Those kernels are written in WAT, not Rust, so that each loop keeps the exact shape it
//! measures (a counter in a local, a parameter or a global; one call per iteration; a
//! `br_table` dispatch), which a Rust compiler would fold or rewrite. Each function here
//! follows its module's steps in the same order with the same wrapping arithmetic.

/// The per-`n` trip count of the counting kernels.
const TRIPS: i32 = 10_000;

/// `wat/count_local.wat`.
pub fn count_local(n: i32) -> i32 {
    let end = n.wrapping_mul(TRIPS) as u32;
    let mut i = 0u32;
    loop {
        i = i.wrapping_add(1);
        if i >= end {
            return i as i32;
        }
    }
}

/// `wat/count_param.wat`.
pub fn count_param(n: i32) -> i32 {
    let mut n = n.wrapping_mul(TRIPS);
    let mut sum = 0i32;
    if n > 0 {
        while n != 0 {
            sum = sum.wrapping_add(n);
            n -= 1;
        }
    }
    sum
}

/// `wat/count_global.wat` (the global's steps are a local's here).
pub fn count_global(n: i32) -> i32 {
    count_local(n)
}

/// `wat/fib_iter.wat`.
pub fn fib_iter(n: i32) -> i32 {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n.wrapping_mul(TRIPS).max(0) {
        (a, b) = (b, a.wrapping_add(b));
    }
    crate::fold64(a)
}

/// `wat/calls.wat`.
pub fn calls(n: i32) -> i32 {
    let end = n.wrapping_mul(TRIPS) as u32;
    let mut acc = 0i32;
    for i in 0..end {
        acc = acc.wrapping_mul(31).wrapping_add(i as i32);
    }
    acc
}

/// `wat/mem_sum.wat`: its 16 KiB of words, byte address `p` holding `p * 0x9e3779b1`.
pub fn mem_sum(n: i32) -> i32 {
    let words: [u32; 4096] = core::array::from_fn(|k| (4 * k as u32).wrapping_mul(0x9e37_79b1));
    let mut sum = 0u32;
    for _ in 0..n.max(0) {
        for w in words {
            sum = sum.wrapping_add(w);
        }
        sum = sum.rotate_left(1);
    }
    sum as i32
}

/// `wat/mem_bytes.wat`: its memory's first 16 KiB.
pub fn mem_bytes(n: i32) -> i32 {
    let mut memory = [0u8; 16_384];
    for (i, byte) in memory[..8192].iter_mut().enumerate() {
        *byte = (i as u32).wrapping_mul(7) as u8;
    }
    let mut sum = 0u32;
    for round in 0..n.max(0) as u32 {
        for i in 0..8192 {
            memory[8192 + i] = memory[8191 - i] ^ round as u8;
        }
        let at = 8192 + (round.wrapping_mul(4) & 8188) as usize;
        let word = u32::from_le_bytes(memory[at..at + 4].try_into().expect("four bytes"));
        sum = sum.rotate_left(5).wrapping_add(word);
    }
    sum as i32
}

/// `wat/switch.wat`.
pub fn switch(n: i32) -> i32 {
    let (mut x, mut state, mut acc) = (12_345u32, 0u32, 0u32);
    for _ in 0..n.wrapping_mul(TRIPS).max(0) {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let c = (x >> 16) & 7;
        match state {
            0 => {
                acc = acc.wrapping_add(c);
                state = c & 3;
            }
            1 => {
                acc ^= c << 3;
                state = (c + 1) & 3;
            }
            2 => {
                acc = acc.wrapping_mul(3).wrapping_add(c);
                state = c >> 1;
            }
            _ => {
                acc = acc.wrapping_sub(c);
                state = (c ^ 1) & 3;
            }
        }
    }
    acc as i32
}

/// `wat/i64_mix.wat`.
pub fn i64_mix(n: i32) -> i32 {
    let (mut x, mut acc) = (0x9e37_79b9_7f4a_7c15u64, 0u64);
    for _ in 0..n.wrapping_mul(TRIPS).max(0) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        acc = acc.wrapping_add(x.wrapping_mul(0x2545_f491_4f6c_dd1d));
    }
    crate::fold64(acc)
}

/// `wat/mandel.wat`: the same operations in the same order, so the same roundings.
pub fn mandel(n: i32) -> i32 {
    let mut total = 0u32;
    for _ in 0..n.max(0) {
        for py in 0..32 {
            for px in 0..32 {
                let cr = -2.0 + f64::from(px) * 0.078125;
                let ci = -1.25 + f64::from(py) * 0.078125;
                let (mut zr, mut zi, mut it) = (0.0f64, 0.0f64, 0u32);
                loop {
                    if zr * zr + zi * zi > 4.0 {
                        break;
                    }
                    let t = zr * zr - zi * zi + cr;
                    zi = 2.0 * zr * zi + ci;
                    zr = t;
                    it += 1;
                    if it >= 50 {
                        break;
                    }
                }
                total = total.wrapping_add(it);
            }
        }
    }
    total as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_count() {
        assert_eq!(count_local(3), 30_000);
        assert_eq!(count_local(0), 1, "the loop runs once before its test");
        assert_eq!(count_global(2), 20_000);
        assert_eq!(count_param(1), (1..=10_000).sum::<i32>());
        assert_eq!(count_param(0), 0);
    }

    #[test]
    fn fib_iter_is_fibonacci() {
        // F(10000) mod 2^64 folded; F(20000) differs.
        assert_ne!(fib_iter(1), fib_iter(2));
        assert_eq!(fib_iter(0), 0);
    }

    #[test]
    fn calls_fold_the_counter() {
        assert_eq!(calls(0), 0);
        let mut acc = 0i32;
        for i in 0..10_000 {
            acc = acc.wrapping_mul(31).wrapping_add(i);
        }
        assert_eq!(calls(1), acc);
    }

    #[test]
    fn mandel_counts_escape_steps() {
        // Every point takes between 1 and 50 steps.
        let one = mandel(1);
        assert!((1024..=1024 * 50).contains(&one), "{one}");
        assert_eq!(mandel(2), 2 * one);
    }
}
