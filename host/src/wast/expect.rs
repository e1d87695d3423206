//! Converting `.wast` arguments and expected results into target terms, and
//! judging results and trap messages the way the spec's harnesses do.
//!
//! - Floats compare by bits, except for the patterns `nan:canonical` (sign free,
//!   exponent all ones, only the quiet bit of the payload set) and
//!   `nan:arithmetic` (exponent all ones, quiet bit set, any other payload).
//! - `ref.null` without a type matches either null; with a type, that type's null.
//!   `ref.func` matches any non-null funcref (function identity is not observable
//!   across the target interface); `ref.extern N` matches the host value `N`.
//! - `(either a b ...)` matches when any alternative does.
//!
//! Anything the targets cannot express (`v128`, GC references, component values)
//! is refused with a reason, which the runner reports as a skip.

use std::fmt;

use ::wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
use ::wast::{WastArg, WastRet};

use tandem_protocol::Val;

/// Why a value cannot be run: reported as the skip reason.
pub(crate) const SIMD_REASON: &str = "SIMD v128 values are out of scope";
const GC_REASON: &str = "GC/host reference values are out of scope";
const COMPONENT_REASON: &str = "component-model values are out of scope";

/// Which null reference a `ref.null` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    Func,
    Extern,
}

/// A float expectation: exact bits or one of the spec's NaN classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FloatPat<T> {
    Bits(T),
    CanonicalNan,
    ArithmeticNan,
}

/// One expected result of an `assert_return`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    I32(i32),
    I64(i64),
    F32(FloatPat<u32>),
    F64(FloatPat<u64>),
    /// `None`: any null reference.
    RefNull(Option<RefKind>),
    /// `None`: any non-null externref.
    RefExtern(Option<u32>),
    /// Any non-null funcref.
    RefFunc,
    Either(Vec<Expect>),
}

const F32_EXP: u32 = 0x7f80_0000;
const F32_QUIET: u32 = 0x0040_0000;
const F64_EXP: u64 = 0x7ff0_0000_0000_0000;
const F64_QUIET: u64 = 0x0008_0000_0000_0000;

/// `nan:canonical` for f32: any sign, payload exactly the quiet bit.
pub fn is_canonical_nan_f32(bits: u32) -> bool {
    bits & !0x8000_0000 == F32_EXP | F32_QUIET
}

/// `nan:arithmetic` for f32: any sign, quiet bit set, any other payload.
pub fn is_arithmetic_nan_f32(bits: u32) -> bool {
    bits & (F32_EXP | F32_QUIET) == F32_EXP | F32_QUIET
}

/// `nan:canonical` for f64.
pub fn is_canonical_nan_f64(bits: u64) -> bool {
    bits & !(1 << 63) == F64_EXP | F64_QUIET
}

/// `nan:arithmetic` for f64.
pub fn is_arithmetic_nan_f64(bits: u64) -> bool {
    bits & (F64_EXP | F64_QUIET) == F64_EXP | F64_QUIET
}

/// Whether a trap's message satisfies an `assert_trap`/`assert_exhaustion` text.
///
/// The reference interpreter requires the expected text to be a prefix of its own
/// message; other engines word the same trap with or without trailing detail
/// (the suite expects `"uninitialized element 7"` where engines say
/// `"uninitialized element"`, and `"uninitialized"` elsewhere). So the message
/// passes when it contains the expected text, or when the expected text starts
/// with the (non-empty) message.
pub fn trap_message_matches(expected: &str, actual: &str) -> bool {
    let actual = actual.trim();
    actual.contains(expected) || (!actual.is_empty() && expected.starts_with(actual))
}

fn ref_kind(heap: &HeapType<'_>) -> Result<RefKind, &'static str> {
    match heap {
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Func | AbstractHeapType::NoFunc,
        } => Ok(RefKind::Func),
        HeapType::Abstract {
            shared: false,
            ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
        } => Ok(RefKind::Extern),
        _ => Err(GC_REASON),
    }
}

/// Converts an `invoke` argument.
pub(crate) fn arg(arg: &WastArg<'_>) -> Result<Val, &'static str> {
    let WastArg::Core(core) = arg else {
        return Err(COMPONENT_REASON);
    };
    Ok(match core {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(f) => Val::F32(f.bits),
        WastArgCore::F64(f) => Val::F64(f.bits),
        WastArgCore::V128(_) => return Err(SIMD_REASON),
        WastArgCore::RefNull(heap) => match ref_kind(heap)? {
            RefKind::Func => Val::FuncRef(None),
            RefKind::Extern => Val::ExternRef(None),
        },
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(*n)),
        WastArgCore::RefHost(_) => return Err(GC_REASON),
    })
}

fn float_pat<F, T>(pat: &NanPattern<F>, bits: impl Fn(&F) -> T) -> FloatPat<T> {
    match pat {
        NanPattern::CanonicalNan => FloatPat::CanonicalNan,
        NanPattern::ArithmeticNan => FloatPat::ArithmeticNan,
        NanPattern::Value(v) => FloatPat::Bits(bits(v)),
    }
}

fn expect_core(ret: &WastRetCore<'_>) -> Result<Expect, &'static str> {
    Ok(match ret {
        WastRetCore::I32(v) => Expect::I32(*v),
        WastRetCore::I64(v) => Expect::I64(*v),
        WastRetCore::F32(p) => Expect::F32(float_pat(p, |f| f.bits)),
        WastRetCore::F64(p) => Expect::F64(float_pat(p, |f| f.bits)),
        WastRetCore::V128(_) => return Err(SIMD_REASON),
        WastRetCore::RefNull(None) => Expect::RefNull(None),
        WastRetCore::RefNull(Some(heap)) => Expect::RefNull(Some(ref_kind(heap)?)),
        WastRetCore::RefExtern(n) => Expect::RefExtern(*n),
        WastRetCore::RefFunc(_) => Expect::RefFunc,
        WastRetCore::RefHost(_)
        | WastRetCore::RefAny
        | WastRetCore::RefEq
        | WastRetCore::RefArray
        | WastRetCore::RefStruct
        | WastRetCore::RefI31
        | WastRetCore::RefI31Shared => return Err(GC_REASON),
        WastRetCore::Either(alts) => {
            Expect::Either(alts.iter().map(expect_core).collect::<Result<_, _>>()?)
        }
    })
}

/// Converts an `assert_return` expected result.
pub(crate) fn expect(ret: &WastRet<'_>) -> Result<Expect, &'static str> {
    match ret {
        WastRet::Core(core) => expect_core(core),
        #[allow(unreachable_patterns)]
        _ => Err(COMPONENT_REASON),
    }
}

impl Expect {
    /// Whether `got` satisfies this expectation.
    pub(crate) fn matches(&self, got: &Val) -> bool {
        match (self, got) {
            (Expect::I32(e), Val::I32(g)) => e == g,
            (Expect::I64(e), Val::I64(g)) => e == g,
            (Expect::F32(FloatPat::Bits(e)), Val::F32(g)) => e == g,
            (Expect::F32(FloatPat::CanonicalNan), Val::F32(g)) => is_canonical_nan_f32(*g),
            (Expect::F32(FloatPat::ArithmeticNan), Val::F32(g)) => is_arithmetic_nan_f32(*g),
            (Expect::F64(FloatPat::Bits(e)), Val::F64(g)) => e == g,
            (Expect::F64(FloatPat::CanonicalNan), Val::F64(g)) => is_canonical_nan_f64(*g),
            (Expect::F64(FloatPat::ArithmeticNan), Val::F64(g)) => is_arithmetic_nan_f64(*g),
            (Expect::RefNull(None), Val::FuncRef(None) | Val::ExternRef(None)) => true,
            (Expect::RefNull(Some(RefKind::Func)), Val::FuncRef(None)) => true,
            (Expect::RefNull(Some(RefKind::Extern)), Val::ExternRef(None)) => true,
            (Expect::RefExtern(None), Val::ExternRef(Some(_))) => true,
            (Expect::RefExtern(Some(e)), Val::ExternRef(Some(g))) => e == g,
            (Expect::RefFunc, Val::FuncRef(Some(_))) => true,
            (Expect::Either(alts), g) => alts.iter().any(|a| a.matches(g)),
            _ => false,
        }
    }
}

/// Whether a result list satisfies an expectation list (same length, each matches).
pub(crate) fn results_match(expected: &[Expect], got: &[Val]) -> bool {
    expected.len() == got.len() && expected.iter().zip(got).all(|(e, g)| e.matches(g))
}

impl<T: fmt::LowerHex> FloatPat<T> {
    fn fmt_with(
        &self,
        f: &mut fmt::Formatter<'_>,
        ty: &str,
        show: impl Fn(&T) -> String,
    ) -> fmt::Result {
        match self {
            FloatPat::Bits(b) => write!(f, "{ty}:{} (0x{b:x})", show(b)),
            FloatPat::CanonicalNan => write!(f, "{ty}:nan:canonical"),
            FloatPat::ArithmeticNan => write!(f, "{ty}:nan:arithmetic"),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::I32(v) => write!(f, "i32:{v}"),
            Expect::I64(v) => write!(f, "i64:{v}"),
            Expect::F32(p) => p.fmt_with(f, "f32", |b| f32::from_bits(*b).to_string()),
            Expect::F64(p) => p.fmt_with(f, "f64", |b| f64::from_bits(*b).to_string()),
            Expect::RefNull(None) => f.write_str("ref.null"),
            Expect::RefNull(Some(RefKind::Func)) => f.write_str("ref.null func"),
            Expect::RefNull(Some(RefKind::Extern)) => f.write_str("ref.null extern"),
            Expect::RefExtern(None) => f.write_str("ref.extern (any)"),
            Expect::RefExtern(Some(n)) => write!(f, "ref.extern {n}"),
            Expect::RefFunc => f.write_str("ref.func (any non-null)"),
            Expect::Either(alts) => {
                f.write_str("either(")?;
                for (i, a) in alts.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" | ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Formats a list of values or expectations as `[a, b]`.
pub(crate) fn list<T: fmt::Display>(items: &[T]) -> String {
    let mut s = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&item.to_string());
    }
    s.push(']');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_classes() {
        assert!(is_canonical_nan_f32(0x7fc0_0000));
        assert!(is_canonical_nan_f32(0xffc0_0000));
        assert!(!is_canonical_nan_f32(0x7fc0_0001));
        assert!(is_arithmetic_nan_f32(0x7fc0_0001));
        assert!(!is_arithmetic_nan_f32(0x7fa0_0000));
        assert!(!is_arithmetic_nan_f32(0x7f80_0000));
        assert!(is_canonical_nan_f64(0x7ff8_0000_0000_0000));
        assert!(is_canonical_nan_f64(0xfff8_0000_0000_0000));
        assert!(!is_canonical_nan_f64(0x7ff8_0000_0000_0001));
        assert!(is_arithmetic_nan_f64(0xfff8_0000_0000_0001));
        assert!(!is_arithmetic_nan_f64(0x7ff4_0000_0000_0000));
    }

    #[test]
    fn trap_messages() {
        assert!(trap_message_matches("integer divide by zero", "integer divide by zero"));
        assert!(trap_message_matches("uninitialized element 7", "uninitialized element"));
        assert!(trap_message_matches("uninitialized", "uninitialized element"));
        assert!(trap_message_matches("unreachable", "wasm trap: unreachable executed"));
        assert!(!trap_message_matches("integer overflow", "integer divide by zero"));
        assert!(!trap_message_matches("unreachable", ""));
    }

    #[test]
    fn references() {
        assert!(Expect::RefNull(None).matches(&Val::ExternRef(None)));
        assert!(Expect::RefNull(None).matches(&Val::FuncRef(None)));
        assert!(!Expect::RefNull(Some(RefKind::Func)).matches(&Val::ExternRef(None)));
        assert!(Expect::RefFunc.matches(&Val::FuncRef(Some(0))));
        assert!(!Expect::RefFunc.matches(&Val::FuncRef(None)));
        assert!(Expect::RefExtern(Some(3)).matches(&Val::ExternRef(Some(3))));
        assert!(!Expect::RefExtern(Some(3)).matches(&Val::ExternRef(Some(4))));
        let either = Expect::Either(vec![Expect::I32(1), Expect::I32(2)]);
        assert!(either.matches(&Val::I32(2)));
        assert!(!either.matches(&Val::I32(3)));
    }
}
