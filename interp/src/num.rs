//! The Wasm spec's numeric semantics that are more than one Rust operator: NaN-aware
//! `min`/`max`, `copysign`, trapping division and float-to-int truncation, and float
//! rounding. Shared by the simulator and the Cortex-M4 build, which must agree bit for bit.

use crate::error::TrapKind;

const F32_QUIET: u32 = 0x0040_0000;
const F64_QUIET: u64 = 0x0008_0000_0000_0000;
const F32_SIGN: u32 = 0x8000_0000;
const F64_SIGN: u64 = 0x8000_0000_0000_0000;
// NaN results do not depend on the FPU: an operation on a NaN returns that NaN (the
// first one, of two) with its quiet bit set, and `sqrt` of a negative number returns
// the positive canonical NaN. Both are arithmetic NaNs, as the spec requires.
const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

/// `x` (a NaN) with its quiet bit set; sign and payload are kept.
#[inline]
fn quiet_f32(x: f32) -> f32 {
    f32::from_bits(x.to_bits() | F32_QUIET)
}

#[inline]
fn quiet_f64(x: f64) -> f64 {
    f64::from_bits(x.to_bits() | F64_QUIET)
}

// ---------------------------------------------------------------------------
// min, max, copysign
// ---------------------------------------------------------------------------

macro_rules! min_max {
    ($min:ident, $max:ident, $t:ty, $quiet:ident) => {
        /// Wasm `min`: a NaN operand gives a (quieted) NaN, and `-0` is below `+0`.
        #[inline]
        pub fn $min(a: $t, b: $t) -> $t {
            if a.is_nan() {
                $quiet(a)
            } else if b.is_nan() {
                $quiet(b)
            } else if a < b {
                a
            } else if b < a {
                b
            } else {
                // Equal: the same bits, or zeros of opposite signs, where the
                // negative one wins. Or-ing the bits covers both cases.
                <$t>::from_bits(a.to_bits() | b.to_bits())
            }
        }

        /// Wasm `max`: a NaN operand gives a (quieted) NaN, and `+0` is above `-0`.
        #[inline]
        pub fn $max(a: $t, b: $t) -> $t {
            if a.is_nan() {
                $quiet(a)
            } else if b.is_nan() {
                $quiet(b)
            } else if a > b {
                a
            } else if b > a {
                b
            } else {
                // Equal: the same bits, or zeros of opposite signs, where the
                // positive one wins. And-ing the bits covers both cases.
                <$t>::from_bits(a.to_bits() & b.to_bits())
            }
        }
    };
}

min_max!(f32_min, f32_max, f32, quiet_f32);
min_max!(f64_min, f64_max, f64, quiet_f64);

/// Wasm `f32.copysign` on bits: `a`'s magnitude (NaN payload included), `b`'s sign.
#[inline]
/// `f64.promote_f32`. A NaN must come out quiet (an arithmetic NaN, canonical if the input
/// was): hardware conversions do that, but Cortex-M4's soft-float `f64` conversion keeps a
/// signalling NaN signalling, so the quiet bit is set here on every target.
pub fn f64_promote_f32(a: f32) -> f64 {
    let wide = a as f64;
    if wide.is_nan() { f64::from_bits(wide.to_bits() | 0x0008_0000_0000_0000) } else { wide }
}

/// `f32.demote_f64`, quieting NaNs for the same reason as [`f64_promote_f32`].
pub fn f32_demote_f64(a: f64) -> f32 {
    let narrow = a as f32;
    if narrow.is_nan() { f32::from_bits(narrow.to_bits() | 0x0040_0000) } else { narrow }
}

pub fn f32_copysign(a: u32, b: u32) -> u32 {
    (a & !F32_SIGN) | (b & F32_SIGN)
}

/// Wasm `f64.copysign` on bits: `a`'s magnitude (NaN payload included), `b`'s sign.
#[inline]
pub fn f64_copysign(a: u64, b: u64) -> u64 {
    (a & !F64_SIGN) | (b & F64_SIGN)
}

// ---------------------------------------------------------------------------
// Integer division
// ---------------------------------------------------------------------------

macro_rules! int_div {
    ($div_s:ident, $rem_s:ident, $div_u:ident, $rem_u:ident, $s:ty, $u:ty) => {
        /// Signed division, truncating toward zero. Traps on a zero divisor and on
        /// `MIN / -1`, whose quotient does not fit.
        #[inline]
        pub fn $div_s(a: $s, b: $s) -> Result<$s, TrapKind> {
            if b == 0 {
                Err(TrapKind::IntegerDivideByZero)
            } else if a == <$s>::MIN && b == -1 {
                Err(TrapKind::IntegerOverflow)
            } else {
                Ok(a / b)
            }
        }

        /// Signed remainder, with the sign of the dividend. Traps on a zero divisor;
        /// `MIN % -1` is 0.
        #[inline]
        pub fn $rem_s(a: $s, b: $s) -> Result<$s, TrapKind> {
            if b == 0 { Err(TrapKind::IntegerDivideByZero) } else { Ok(a.wrapping_rem(b)) }
        }

        /// Unsigned division. Traps on a zero divisor.
        #[inline]
        pub fn $div_u(a: $u, b: $u) -> Result<$u, TrapKind> {
            match a.checked_div(b) {
                Some(q) => Ok(q),
                None => Err(TrapKind::IntegerDivideByZero),
            }
        }

        /// Unsigned remainder. Traps on a zero divisor.
        #[inline]
        pub fn $rem_u(a: $u, b: $u) -> Result<$u, TrapKind> {
            match a.checked_rem(b) {
                Some(r) => Ok(r),
                None => Err(TrapKind::IntegerDivideByZero),
            }
        }
    };
}

int_div!(i32_div_s, i32_rem_s, i32_div_u, i32_rem_u, i32, u32);
int_div!(i64_div_s, i64_rem_s, i64_div_u, i64_rem_u, i64, u64);

// ---------------------------------------------------------------------------
// Float rounding and square root
// ---------------------------------------------------------------------------

macro_rules! rounding {
    ($t:ty, $quiet:ident, $sign:expr, $nan:expr,
     $ceil:ident = $lceil:path, $floor:ident = $lfloor:path, $trunc:ident = $ltrunc:path,
     $nearest:ident = $lrint:path, $sqrt:ident = $lsqrt:path) => {
        // libm hands a NaN back unchanged, even a signalling one; the spec wants an
        // arithmetic (quiet) NaN, so NaNs are handled here before calling it.

        /// Wasm `ceil`: rounds toward +inf; `ceil(-0.5)` is `-0`.
        #[inline]
        pub fn $ceil(x: $t) -> $t {
            if x.is_nan() { $quiet(x) } else { $lceil(x) }
        }

        /// Wasm `floor`: rounds toward -inf; `floor(0.5)` is `+0`.
        #[inline]
        pub fn $floor(x: $t) -> $t {
            if x.is_nan() { $quiet(x) } else { $lfloor(x) }
        }

        /// Wasm `trunc`: rounds toward zero, keeping the sign of a zero result.
        #[inline]
        pub fn $trunc(x: $t) -> $t {
            if x.is_nan() { $quiet(x) } else { $ltrunc(x) }
        }

        /// Wasm `nearest`: rounds to the nearest integer, ties to even, keeping the
        /// sign of a zero result (`nearest(-0.5)` is `-0`).
        #[inline]
        pub fn $nearest(x: $t) -> $t {
            // libm's rint rounds in the current rounding mode, which Rust code
            // always runs in as round-to-nearest-even.
            if x.is_nan() { $quiet(x) } else { $lrint(x) }
        }

        /// Wasm `sqrt`, correctly rounded; `sqrt(-0)` is `-0`, and a negative
        /// operand gives the positive canonical NaN.
        #[inline]
        pub fn $sqrt(x: $t) -> $t {
            if x.is_nan() {
                $quiet(x)
            } else if x.to_bits() > $sign {
                // Negative and not -0. Hardware would give its "default NaN", whose
                // sign differs between x86 and Arm, so fix one. The test is on the
                // bits on purpose: after `x < 0.0`, LLVM may drop this branch in
                // favour of a square root it knows yields *some* NaN there.
                <$t>::from_bits($nan)
            } else {
                $lsqrt(x)
            }
        }
    };
}

rounding!(
    f32,
    quiet_f32,
    F32_SIGN,
    F32_CANONICAL_NAN,
    f32_ceil = libm::ceilf,
    f32_floor = libm::floorf,
    f32_trunc = libm::truncf,
    f32_nearest = libm::rintf,
    f32_sqrt = libm::sqrtf
);
rounding!(
    f64,
    quiet_f64,
    F64_SIGN,
    F64_CANONICAL_NAN,
    f64_ceil = libm::ceil,
    f64_floor = libm::floor,
    f64_trunc = libm::trunc,
    f64_nearest = libm::rint,
    f64_sqrt = libm::sqrt
);

// ---------------------------------------------------------------------------
// Trapping float-to-integer truncation
// ---------------------------------------------------------------------------

/// Defines `name(x: $src) -> Result<$dst, _>`, valid iff `lo < x < hi`.
///
/// `hi` is the power of two just past the integer range; `lo` is the largest value
/// of the source type whose truncation is below the range (`-1` for unsigned; for
/// signed, the source type's neighbour just below `MIN`, or `MIN - 1` where that is
/// representable). Both are exact in the source type, so the comparisons are exact,
/// and inside the range the saturating `as` cast is the exact truncation.
macro_rules! trunc {
    ($name:ident, $src:ty => $dst:ty, $lo:literal < x < $hi:literal) => {
        #[doc = concat!(
                    "Wasm `", stringify!($name), "`: truncates toward zero. Valid iff `",
                    stringify!($lo), " < x < ", stringify!($hi), "`; NaN traps with ",
                    "`InvalidConversionToInteger`, out of range (±inf too) with `IntegerOverflow`."
                )]
        #[inline]
        pub fn $name(x: $src) -> Result<$dst, TrapKind> {
            const LO: $src = $lo;
            const HI: $src = $hi;
            if x.is_nan() {
                Err(TrapKind::InvalidConversionToInteger)
            } else if LO < x && x < HI {
                Ok(x as $dst)
            } else {
                Err(TrapKind::IntegerOverflow)
            }
        }
    };
}

// -2^31 - 2^8: the f32 just below -2^31.
trunc!(i32_trunc_f32_s, f32 => i32, -2147483904.0 < x < 2147483648.0);
trunc!(i32_trunc_f32_u, f32 => u32, -1.0 < x < 4294967296.0);
// -2^31 - 1 is exact in f64.
trunc!(i32_trunc_f64_s, f64 => i32, -2147483649.0 < x < 2147483648.0);
trunc!(i32_trunc_f64_u, f64 => u32, -1.0 < x < 4294967296.0);
// -2^63 - 2^40: the f32 just below -2^63.
trunc!(i64_trunc_f32_s, f32 => i64, -9223373136366403584.0 < x < 9223372036854775808.0);
trunc!(i64_trunc_f32_u, f32 => u64, -1.0 < x < 18446744073709551616.0);
// -2^63 - 2^11: the f64 just below -2^63.
trunc!(i64_trunc_f64_s, f64 => i64, -9223372036854777856.0 < x < 9223372036854775808.0);
trunc!(i64_trunc_f64_u, f64 => u64, -1.0 < x < 18446744073709551616.0);

#[cfg(test)]
mod tests {
    #[test]
    fn conversions_quiet_signalling_nans() {
        use core::hint::black_box;
        // Signalling NaNs of either sign come out as arithmetic (quiet) NaNs.
        for bits in [0x7fa0_0000u32, 0xffa0_0000, 0x7f80_0001] {
            let wide = super::f64_promote_f32(black_box(f32::from_bits(bits))).to_bits();
            assert!(f64::from_bits(wide).is_nan() && wide & 0x0008_0000_0000_0000 != 0, "{wide:x}");
        }
        for bits in [0x7ff4_0000_0000_0000u64, 0xfff0_0000_0000_0001] {
            let narrow = super::f32_demote_f64(black_box(f64::from_bits(bits))).to_bits();
            assert!(f32::from_bits(narrow).is_nan() && narrow & 0x0040_0000 != 0, "{narrow:x}");
        }
        // Canonical stays canonical.
        let canonical = super::f64_promote_f32(black_box(f32::from_bits(0x7fc0_0000))).to_bits();
        assert_eq!(canonical, 0x7ff8_0000_0000_0000);
        assert_eq!(super::f64_promote_f32(1.5), 1.5);
        assert_eq!(super::f32_demote_f64(-2.25), -2.25);
    }

    extern crate std;

    use super::*;
    use std::vec::Vec;

    const OVF: TrapKind = TrapKind::IntegerOverflow;
    const INV: TrapKind = TrapKind::InvalidConversionToInteger;
    const DIV0: TrapKind = TrapKind::IntegerDivideByZero;

    // NaNs: signalling ones with a payload and with either sign, and quiet ones.
    const F32_SNAN: u32 = 0x7fa0_0001;
    const F32_NEG_SNAN: u32 = 0xff80_0123;
    const F32_QNAN: u32 = 0x7fc0_0042;
    const F64_SNAN: u64 = 0x7ff4_0000_0000_0001;
    const F64_NEG_SNAN: u64 = 0xfff0_0000_0000_0123;
    const F64_QNAN: u64 = 0x7ff8_0000_0000_0042;

    fn f32s() -> Vec<f32> {
        [F32_SNAN, F32_NEG_SNAN, F32_QNAN].iter().map(|&b| f32::from_bits(b)).collect()
    }

    fn f64s() -> Vec<f64> {
        [F64_SNAN, F64_NEG_SNAN, F64_QNAN].iter().map(|&b| f64::from_bits(b)).collect()
    }

    #[track_caller]
    fn eq32(got: f32, want: f32) {
        assert_eq!(got.to_bits(), want.to_bits(), "got {got:?}, want {want:?}");
    }

    #[track_caller]
    fn eq64(got: f64, want: f64) {
        assert_eq!(got.to_bits(), want.to_bits(), "got {got:?}, want {want:?}");
    }

    // ----- min / max -----

    #[test]
    fn min_max_nan_f32() {
        for nan in f32s() {
            let q = nan.to_bits() | F32_QUIET;
            for other in [0.0, -0.0, 1.0, f32::INFINITY, f32::NEG_INFINITY] {
                for f in [f32_min, f32_max] {
                    assert_eq!(f(nan, other).to_bits(), q);
                    assert_eq!(f(other, nan).to_bits(), q);
                }
            }
            // Two NaNs: the first one, quieted.
            let other = f32::from_bits(F32_QNAN | F32_SIGN);
            assert_eq!(f32_min(nan, other).to_bits(), q);
            assert_eq!(f32_max(nan, other).to_bits(), q);
        }
    }

    #[test]
    fn min_max_nan_f64() {
        for nan in f64s() {
            let q = nan.to_bits() | F64_QUIET;
            for other in [0.0, -0.0, 1.0, f64::INFINITY, f64::NEG_INFINITY] {
                for f in [f64_min, f64_max] {
                    assert_eq!(f(nan, other).to_bits(), q);
                    assert_eq!(f(other, nan).to_bits(), q);
                }
            }
            let other = f64::from_bits(F64_QNAN | F64_SIGN);
            assert_eq!(f64_min(nan, other).to_bits(), q);
            assert_eq!(f64_max(nan, other).to_bits(), q);
        }
    }

    #[test]
    fn min_max_signed_zero_and_order() {
        eq32(f32_min(-0.0, 0.0), -0.0);
        eq32(f32_min(0.0, -0.0), -0.0);
        eq32(f32_max(-0.0, 0.0), 0.0);
        eq32(f32_max(0.0, -0.0), 0.0);
        eq32(f32_min(0.0, 0.0), 0.0);
        eq32(f32_max(-0.0, -0.0), -0.0);
        eq64(f64_min(-0.0, 0.0), -0.0);
        eq64(f64_min(0.0, -0.0), -0.0);
        eq64(f64_max(-0.0, 0.0), 0.0);
        eq64(f64_max(0.0, -0.0), 0.0);
        eq64(f64_min(-0.0, -0.0), -0.0);
        eq64(f64_max(0.0, 0.0), 0.0);

        eq32(f32_min(1.0, 2.0), 1.0);
        eq32(f32_min(2.0, 1.0), 1.0);
        eq32(f32_max(1.0, 2.0), 2.0);
        eq32(f32_max(-1.0, -2.0), -1.0);
        eq32(f32_min(f32::NEG_INFINITY, f32::MIN), f32::NEG_INFINITY);
        eq32(f32_max(f32::INFINITY, f32::MAX), f32::INFINITY);
        eq32(f32_min(3.5, 3.5), 3.5);
        eq64(f64_min(1.0, 2.0), 1.0);
        eq64(f64_max(2.0, 1.0), 2.0);
        eq64(f64_min(-1.0, -2.0), -2.0);
        eq64(f64_max(f64::NEG_INFINITY, -0.0), -0.0);
        eq64(f64_min(f64::INFINITY, 0.0), 0.0);
    }

    // ----- copysign -----

    #[test]
    fn copysign() {
        assert_eq!(f32_copysign(1.5f32.to_bits(), (-0.0f32).to_bits()), (-1.5f32).to_bits());
        assert_eq!(f32_copysign((-1.5f32).to_bits(), 0), 1.5f32.to_bits());
        assert_eq!(f32_copysign(F32_SNAN, F32_SIGN), F32_SNAN | F32_SIGN);
        assert_eq!(f32_copysign(F32_NEG_SNAN, 0), F32_NEG_SNAN & !F32_SIGN);
        // The sign comes from a NaN's sign bit too.
        assert_eq!(f32_copysign(2.0f32.to_bits(), F32_NEG_SNAN), (-2.0f32).to_bits());
        assert_eq!(f32_copysign(2.0f32.to_bits(), F32_QNAN), 2.0f32.to_bits());

        assert_eq!(f64_copysign(1.5f64.to_bits(), (-0.0f64).to_bits()), (-1.5f64).to_bits());
        assert_eq!(f64_copysign((-1.5f64).to_bits(), 0), 1.5f64.to_bits());
        assert_eq!(f64_copysign(F64_SNAN, F64_SIGN), F64_SNAN | F64_SIGN);
        assert_eq!(f64_copysign(F64_NEG_SNAN, 0), F64_NEG_SNAN & !F64_SIGN);
        assert_eq!(f64_copysign(2.0f64.to_bits(), F64_NEG_SNAN), (-2.0f64).to_bits());
        assert_eq!(f64_copysign(f64::INFINITY.to_bits(), F64_SIGN), f64::NEG_INFINITY.to_bits());
    }

    // ----- integer division -----

    #[test]
    fn div_rem_i32() {
        assert_eq!(i32_div_s(7, 0), Err(DIV0));
        assert_eq!(i32_div_s(i32::MIN, 0), Err(DIV0));
        assert_eq!(i32_div_s(i32::MIN, -1), Err(OVF));
        assert_eq!(i32_div_s(i32::MIN, 1), Ok(i32::MIN));
        assert_eq!(i32_div_s(-7, 2), Ok(-3));
        assert_eq!(i32_div_s(7, -2), Ok(-3));
        assert_eq!(i32_rem_s(7, 0), Err(DIV0));
        assert_eq!(i32_rem_s(i32::MIN, -1), Ok(0));
        assert_eq!(i32_rem_s(-7, 2), Ok(-1));
        assert_eq!(i32_rem_s(7, -2), Ok(1));
        assert_eq!(i32_div_u(7, 0), Err(DIV0));
        assert_eq!(i32_div_u(u32::MAX, 2), Ok(0x7fff_ffff));
        assert_eq!(i32_div_u(0x8000_0000, u32::MAX), Ok(0));
        assert_eq!(i32_rem_u(7, 0), Err(DIV0));
        assert_eq!(i32_rem_u(0x8000_0000, u32::MAX), Ok(0x8000_0000));
        assert_eq!(i32_rem_u(u32::MAX, 10), Ok(5));
    }

    #[test]
    fn div_rem_i64() {
        assert_eq!(i64_div_s(7, 0), Err(DIV0));
        assert_eq!(i64_div_s(i64::MIN, 0), Err(DIV0));
        assert_eq!(i64_div_s(i64::MIN, -1), Err(OVF));
        assert_eq!(i64_div_s(i64::MIN, 2), Ok(i64::MIN / 2));
        assert_eq!(i64_div_s(-7, 2), Ok(-3));
        assert_eq!(i64_rem_s(7, 0), Err(DIV0));
        assert_eq!(i64_rem_s(i64::MIN, -1), Ok(0));
        assert_eq!(i64_rem_s(-7, 2), Ok(-1));
        assert_eq!(i64_rem_s(7, -2), Ok(1));
        assert_eq!(i64_div_u(7, 0), Err(DIV0));
        assert_eq!(i64_div_u(u64::MAX, 2), Ok(u64::MAX >> 1));
        assert_eq!(i64_rem_u(7, 0), Err(DIV0));
        assert_eq!(i64_rem_u(1 << 63, u64::MAX), Ok(1 << 63));
    }

    // ----- rounding -----

    #[test]
    fn rounding_nan_is_quieted() {
        let ops32: [fn(f32) -> f32; 5] = [f32_ceil, f32_floor, f32_trunc, f32_nearest, f32_sqrt];
        for nan in f32s() {
            for op in ops32 {
                assert_eq!(op(nan).to_bits(), nan.to_bits() | F32_QUIET);
            }
        }
        let ops64: [fn(f64) -> f64; 5] = [f64_ceil, f64_floor, f64_trunc, f64_nearest, f64_sqrt];
        for nan in f64s() {
            for op in ops64 {
                assert_eq!(op(nan).to_bits(), nan.to_bits() | F64_QUIET);
            }
        }
    }

    #[test]
    fn ceil_floor_trunc() {
        for (x, c, f, t) in [
            (-0.5, -0.0, -1.0, -0.0),
            (0.5, 1.0, 0.0, 0.0),
            (-0.0, -0.0, -0.0, -0.0),
            (0.0, 0.0, 0.0, 0.0),
            (-1.5, -1.0, -2.0, -1.0),
            (1.5, 2.0, 1.0, 1.0),
            (-1.0, -1.0, -1.0, -1.0),
            (f64::INFINITY, f64::INFINITY, f64::INFINITY, f64::INFINITY),
            (f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY),
            (1e-45, 1.0, 0.0, 0.0),
            (-1e-45, -0.0, -1.0, -0.0),
            (8388607.5, 8388608.0, 8388607.0, 8388607.0),
            (-8388607.5, -8388607.0, -8388608.0, -8388607.0),
        ] {
            eq32(f32_ceil(x as f32), c as f32);
            eq32(f32_floor(x as f32), f as f32);
            eq32(f32_trunc(x as f32), t as f32);
            eq64(f64_ceil(x), c);
            eq64(f64_floor(x), f);
            eq64(f64_trunc(x), t);
        }
        // Subnormals and f64-only fractions.
        eq64(f64_ceil(5e-324), 1.0);
        eq64(f64_floor(-5e-324), -1.0);
        eq64(f64_trunc(-5e-324), -0.0);
        eq64(f64_ceil(4503599627370495.5), 4503599627370496.0);
        eq64(f64_floor(-4503599627370495.5), -4503599627370496.0);
    }

    #[test]
    fn nearest() {
        for (x, want) in [
            (0.5, 0.0),
            (-0.5, -0.0),
            (1.5, 2.0),
            (-1.5, -2.0),
            (2.5, 2.0),
            (-2.5, -2.0),
            (3.5, 4.0),
            (0.49999997, 0.0),
            (-0.49999997, -0.0),
            (0.0, 0.0),
            (-0.0, -0.0),
            (1e-45, 0.0),
            (-1e-45, -0.0),
            (f64::INFINITY, f64::INFINITY),
            (f64::NEG_INFINITY, f64::NEG_INFINITY),
            // Just below 2^23, where f32 has halves: ties to even.
            (8388607.5, 8388608.0),
            (-8388606.5, -8388606.0),
        ] {
            eq32(f32_nearest(x as f32), want as f32);
            eq64(f64_nearest(x), want);
        }
        // Above 2^23 (f32) / 2^52 (f64) every value is an integer: unchanged.
        for x in [8388609.0f32, -8388609.0, 16777217.0 - 1.0, 3.0e38, -f32::MAX] {
            eq32(f32_nearest(x), x);
        }
        for x in [4503599627370497.0f64, -4503599627370497.0, 1e300, -f64::MAX] {
            eq64(f64_nearest(x), x);
        }
        eq64(f64_nearest(4503599627370495.5), 4503599627370496.0);
        eq64(f64_nearest(-4503599627370494.5), -4503599627370494.0);
        eq64(f64_nearest(0.5000000000000001), 1.0);
    }

    #[test]
    fn sqrt() {
        eq32(f32_sqrt(4.0), 2.0);
        eq32(f32_sqrt(2.0), core::f32::consts::SQRT_2);
        eq32(f32_sqrt(-0.0), -0.0);
        eq32(f32_sqrt(0.0), 0.0);
        eq32(f32_sqrt(f32::INFINITY), f32::INFINITY);
        assert_eq!(f32_sqrt(-1.0).to_bits(), F32_CANONICAL_NAN);
        assert_eq!(f32_sqrt(-1e-45).to_bits(), F32_CANONICAL_NAN);
        assert_eq!(f32_sqrt(f32::NEG_INFINITY).to_bits(), F32_CANONICAL_NAN);
        eq64(f64_sqrt(4.0), 2.0);
        eq64(f64_sqrt(2.0), core::f64::consts::SQRT_2);
        eq64(f64_sqrt(-0.0), -0.0);
        eq64(f64_sqrt(f64::INFINITY), f64::INFINITY);
        assert_eq!(f64_sqrt(-1.0).to_bits(), F64_CANONICAL_NAN);
        assert_eq!(f64_sqrt(f64::NEG_INFINITY).to_bits(), F64_CANONICAL_NAN);
    }

    /// Bit patterns spread over the whole range (including NaNs and infinities).
    fn sweep32() -> impl Iterator<Item = f32> {
        (0..=u32::MAX / 40_009).map(|i| f32::from_bits(i.wrapping_mul(40_009)))
    }

    fn sweep64() -> impl Iterator<Item = f64> {
        (0..200_000u64).map(|i| f64::from_bits(i.wrapping_mul(0x0000_5555_5555_5557) ^ (i << 63)))
    }

    #[test]
    fn rounding_matches_std() {
        for x in sweep32().filter(|x| !x.is_nan()) {
            eq32(f32_ceil(x), x.ceil());
            eq32(f32_floor(x), x.floor());
            eq32(f32_trunc(x), x.trunc());
            eq32(f32_nearest(x), x.round_ties_even());
            // Not one `if` choosing the expected value: LLVM may fold
            // `if x < 0.0 { NAN } else { x.sqrt() }` into the bare square root.
            if x < 0.0 {
                assert_eq!(f32_sqrt(x).to_bits(), F32_CANONICAL_NAN);
            } else {
                eq32(f32_sqrt(x), x.sqrt());
            }
        }
        for x in sweep64().filter(|x| !x.is_nan()) {
            eq64(f64_ceil(x), x.ceil());
            eq64(f64_floor(x), x.floor());
            eq64(f64_trunc(x), x.trunc());
            eq64(f64_nearest(x), x.round_ties_even());
            if x < 0.0 {
                assert_eq!(f64_sqrt(x).to_bits(), F64_CANONICAL_NAN);
            } else {
                eq64(f64_sqrt(x), x.sqrt());
            }
        }
    }

    // ----- trapping truncation -----

    /// Checks a truncation at its edges: `min` and `max` are the smallest and largest
    /// valid inputs of the source type, and the values just outside must trap.
    macro_rules! check_trunc {
        ($f:ident, $src:ty, $min:expr => $min_res:expr, $max:expr => $max_res:expr) => {{
            let (min, max): ($src, $src) = ($min, $max);
            assert_eq!($f(min), Ok($min_res), "{} at min {min}", stringify!($f));
            assert_eq!($f(max), Ok($max_res), "{} at max {max}", stringify!($f));
            assert_eq!($f(min.next_down()), Err(OVF), "{} below min", stringify!($f));
            assert_eq!($f(max.next_up()), Err(OVF), "{} above max", stringify!($f));
            assert_eq!($f(<$src>::INFINITY), Err(OVF));
            assert_eq!($f(<$src>::NEG_INFINITY), Err(OVF));
            assert_eq!($f(<$src>::MAX), Err(OVF));
            assert_eq!($f(<$src>::MIN), Err(OVF));
            assert_eq!($f(<$src>::NAN), Err(INV));
            assert_eq!($f(-<$src>::NAN), Err(INV));
            assert_eq!($f(0.0), Ok(0));
            assert_eq!($f(-0.0), Ok(0));
            assert_eq!($f(<$src>::from_bits(1)), Ok(0));
            assert_eq!($f(-<$src>::from_bits(1)), Ok(0));
            assert_eq!($f(0.9), Ok(0));
            assert_eq!($f(-0.9), Ok(0));
            assert_eq!($f(1.9), Ok(1));
            assert_eq!($f(42.5), Ok(42));
        }};
    }

    #[test]
    fn trunc_i32_f32_s() {
        check_trunc!(i32_trunc_f32_s, f32, -2147483648.0 => i32::MIN, 2147483520.0 => 2147483520);
        assert_eq!(i32_trunc_f32_s(2147483648.0), Err(OVF));
        assert_eq!(i32_trunc_f32_s(-2147483904.0), Err(OVF));
        assert_eq!(i32_trunc_f32_s(-1.9), Ok(-1));
        assert_eq!(i32_trunc_f32_s(f32::from_bits(F32_SNAN)), Err(INV));
    }

    #[test]
    fn trunc_i32_f32_u() {
        check_trunc!(i32_trunc_f32_u, f32, -0.99999994 => 0, 4294967040.0 => 4294967040);
        assert_eq!(i32_trunc_f32_u(-1.0), Err(OVF));
        assert_eq!(i32_trunc_f32_u(4294967296.0), Err(OVF));
        assert_eq!(i32_trunc_f32_u(2147483648.0), Ok(0x8000_0000));
        assert_eq!(i32_trunc_f32_u(f32::from_bits(F32_NEG_SNAN)), Err(INV));
    }

    #[test]
    fn trunc_i32_f64_s() {
        check_trunc!(
            i32_trunc_f64_s, f64,
            (-2147483649.0f64).next_up() => i32::MIN,
            2147483648.0f64.next_down() => i32::MAX
        );
        assert_eq!(i32_trunc_f64_s(-2147483648.9), Ok(i32::MIN));
        assert_eq!(i32_trunc_f64_s(2147483647.9), Ok(i32::MAX));
        assert_eq!(i32_trunc_f64_s(-2147483649.0), Err(OVF));
        assert_eq!(i32_trunc_f64_s(2147483648.0), Err(OVF));
        assert_eq!(i32_trunc_f64_s(-1.9), Ok(-1));
    }

    #[test]
    fn trunc_i32_f64_u() {
        check_trunc!(
            i32_trunc_f64_u, f64,
            (-1.0f64).next_up() => 0,
            4294967296.0f64.next_down() => u32::MAX
        );
        assert_eq!(i32_trunc_f64_u(-0.9), Ok(0));
        assert_eq!(i32_trunc_f64_u(4294967295.9), Ok(u32::MAX));
        assert_eq!(i32_trunc_f64_u(-1.0), Err(OVF));
        assert_eq!(i32_trunc_f64_u(4294967296.0), Err(OVF));
        assert_eq!(i32_trunc_f64_u(f64::from_bits(F64_SNAN)), Err(INV));
    }

    #[test]
    fn trunc_i64_f32_s() {
        check_trunc!(
            i64_trunc_f32_s, f32,
            -9223372036854775808.0 => i64::MIN,
            9223371487098961920.0 => 9223371487098961920
        );
        assert_eq!(i64_trunc_f32_s(9223372036854775808.0), Err(OVF));
        assert_eq!(i64_trunc_f32_s(-9223373136366403584.0), Err(OVF));
    }

    #[test]
    fn trunc_i64_f32_u() {
        check_trunc!(
            i64_trunc_f32_u, f32,
            -0.99999994 => 0,
            18446742974197923840.0 => 18446742974197923840
        );
        assert_eq!(i64_trunc_f32_u(-1.0), Err(OVF));
        assert_eq!(i64_trunc_f32_u(18446744073709551616.0), Err(OVF));
    }

    #[test]
    fn trunc_i64_f64_s() {
        check_trunc!(
            i64_trunc_f64_s, f64,
            -9223372036854775808.0 => i64::MIN,
            9223372036854774784.0 => 9223372036854774784
        );
        assert_eq!(i64_trunc_f64_s(9223372036854775808.0), Err(OVF));
        assert_eq!(i64_trunc_f64_s(-9223372036854777856.0), Err(OVF));
        assert_eq!(i64_trunc_f64_s(-1.9), Ok(-1));
        assert_eq!(i64_trunc_f64_s(f64::from_bits(F64_NEG_SNAN)), Err(INV));
    }

    #[test]
    fn trunc_i64_f64_u() {
        check_trunc!(
            i64_trunc_f64_u, f64,
            (-1.0f64).next_up() => 0,
            18446744073709549568.0 => 18446744073709549568
        );
        assert_eq!(i64_trunc_f64_u(-1.0), Err(OVF));
        assert_eq!(i64_trunc_f64_u(18446744073709551616.0), Err(OVF));
        assert_eq!(i64_trunc_f64_u(9223372036854775808.0), Ok(1 << 63));
    }

    /// An independent model of the truncations: truncate in f64 (exact for every
    /// integer-valued result here), widen to i128 and range-check there.
    fn reference(x: f64, min: i128, max: i128) -> Result<i128, TrapKind> {
        if x.is_nan() {
            return Err(INV);
        }
        let t = x.trunc() as i128; // saturates far outside every range checked
        if (min..=max).contains(&t) { Ok(t) } else { Err(OVF) }
    }

    /// The sweep plus a few hundred neighbours of every bound.
    fn probes32() -> Vec<f32> {
        let mut v: Vec<f32> = sweep32().collect();
        for c in
            [0.0f32, 1.0, 2147483648.0, 4294967296.0, 9223372036854775808.0, 18446744073709551616.0]
        {
            for c in [c, -c] {
                let (mut lo, mut hi) = (c, c);
                for _ in 0..300 {
                    v.extend([lo, hi]);
                    lo = lo.next_down();
                    hi = hi.next_up();
                }
            }
        }
        v
    }

    fn probes64() -> Vec<f64> {
        let mut v: Vec<f64> = sweep64().collect();
        for c in [
            0.0f64,
            1.0,
            2147483648.0,
            2147483649.0,
            4294967296.0,
            9223372036854775808.0,
            18446744073709551616.0,
        ] {
            for c in [c, -c] {
                let (mut lo, mut hi) = (c, c);
                for _ in 0..300 {
                    v.extend([lo, hi]);
                    lo = lo.next_down();
                    hi = hi.next_up();
                }
            }
        }
        v
    }

    #[test]
    fn trunc_matches_reference() {
        const I32: (i128, i128) = (i32::MIN as i128, i32::MAX as i128);
        const U32: (i128, i128) = (0, u32::MAX as i128);
        const I64: (i128, i128) = (i64::MIN as i128, i64::MAX as i128);
        const U64: (i128, i128) = (0, u64::MAX as i128);
        for x in probes32() {
            let r = |(lo, hi)| reference(x as f64, lo, hi);
            assert_eq!(i32_trunc_f32_s(x).map(i128::from), r(I32), "{x:e}");
            assert_eq!(i32_trunc_f32_u(x).map(i128::from), r(U32), "{x:e}");
            assert_eq!(i64_trunc_f32_s(x).map(i128::from), r(I64), "{x:e}");
            assert_eq!(i64_trunc_f32_u(x).map(i128::from), r(U64), "{x:e}");
        }
        for x in probes64() {
            let r = |(lo, hi)| reference(x, lo, hi);
            assert_eq!(i32_trunc_f64_s(x).map(i128::from), r(I32), "{x:e}");
            assert_eq!(i32_trunc_f64_u(x).map(i128::from), r(U32), "{x:e}");
            assert_eq!(i64_trunc_f64_s(x).map(i128::from), r(I64), "{x:e}");
            assert_eq!(i64_trunc_f64_u(x).map(i128::from), r(U64), "{x:e}");
        }
    }
}
