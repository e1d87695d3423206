//! Values as the embedder sees them, and their raw 64-bit slot encoding.
//!
//! Inside the interpreter every value is an untyped `u64` slot: 64-bit integers and
//! float bits fill it, 32-bit ones sit in its low half (zero-extended when they enter
//! from outside; the executor's 32-bit results write that half only, so readers ignore
//! the high one), references as `0` for null and `address + 1` otherwise.
//! The encoding does not depend on the pointer width, so statistics and digests
//! match between a 64-bit simulator and a 32-bit board.

use core::fmt;

/// A raw value-stack slot.
pub(crate) type Slot = u64;

/// The type of a WebAssembly value (Wasm 2.0 without SIMD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE 754 float.
    F32,
    /// 64-bit IEEE 754 float.
    F64,
    /// A nullable reference to a function.
    FuncRef,
    /// A nullable reference to a host value.
    ExternRef,
}

/// A function reference: the store address of a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncRef(pub(crate) u32);

impl FuncRef {
    /// The store address this reference points at.
    pub fn addr(self) -> u32 {
        self.0
    }
}

/// A host value as wasm code sees it: a number the embedder chose (an index into its
/// own table of objects, say), which wasm code can hold, store in tables and pass back,
/// but not look into. It is [`Value::ExternRef`]'s payload, and a typed host function's
/// or typed call's `externref` is `Option<ExternRef>` (`None` is `ref.null extern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternRef(pub u32);

/// A WebAssembly value. Floats are held as bits so NaN payloads survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// `f32` bits.
    F32(u32),
    /// `f64` bits.
    F64(u64),
    /// A function reference; `None` is `ref.null func`.
    FuncRef(Option<FuncRef>),
    /// A host value carried by reference; `None` is `ref.null extern`.
    ExternRef(Option<u32>),
}

impl Value {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::FuncRef(_) => ValType::FuncRef,
            Value::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// The zero value of a type (what locals and new table slots start as).
    pub fn default_for(ty: ValType) -> Value {
        match ty {
            ValType::I32 => Value::I32(0),
            ValType::I64 => Value::I64(0),
            ValType::F32 => Value::F32(0),
            ValType::F64 => Value::F64(0),
            ValType::FuncRef => Value::FuncRef(None),
            ValType::ExternRef => Value::ExternRef(None),
        }
    }

    /// Encodes the value as a raw slot.
    pub(crate) fn to_slot(self) -> Slot {
        match self {
            Value::I32(v) => v as u32 as u64,
            Value::I64(v) => v as u64,
            Value::F32(v) => v as u64,
            Value::F64(v) => v,
            Value::FuncRef(r) => r.map_or(0, |f| f.0 as u64 + 1),
            Value::ExternRef(r) => r.map_or(0, |x| x as u64 + 1),
        }
    }

    /// Decodes a raw slot known to hold a value of type `ty`.
    pub(crate) fn from_slot(ty: ValType, slot: Slot) -> Value {
        match ty {
            ValType::I32 => Value::I32(slot as u32 as i32),
            ValType::I64 => Value::I64(slot as i64),
            ValType::F32 => Value::F32(slot as u32),
            ValType::F64 => Value::F64(slot),
            ValType::FuncRef => Value::FuncRef(ref_from_slot(slot).map(FuncRef)),
            ValType::ExternRef => Value::ExternRef(ref_from_slot(slot)),
        }
    }
}

/// Decodes a reference slot: `0` is null, otherwise `address + 1`.
pub(crate) fn ref_from_slot(slot: Slot) -> Option<u32> {
    slot.checked_sub(1).map(|a| a as u32)
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "i32:{v}"),
            Value::I64(v) => write!(f, "i64:{v}"),
            Value::F32(v) => write!(f, "f32:{}", f32::from_bits(*v)),
            Value::F64(v) => write!(f, "f64:{}", f64::from_bits(*v)),
            Value::FuncRef(None) | Value::ExternRef(None) => f.write_str("null"),
            Value::FuncRef(Some(r)) => write!(f, "funcref:{}", r.0),
            Value::ExternRef(Some(x)) => write!(f, "externref:{x}"),
        }
    }
}

/// A function signature.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: alloc::boxed::Box<[ValType]>,
    results: alloc::boxed::Box<[ValType]>,
}

impl FuncType {
    /// The signature `params -> results`.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        FuncType { params: params.into_iter().collect(), results: results.into_iter().collect() }
    }

    /// The parameter types, in order.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// The result types, in order.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }
}

/// `(i32, i64) -> (f32)`; `() -> ()` for a function without parameters or results.
impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, types: &[ValType]| {
            f.write_str("(")?;
            for (i, ty) in types.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{ty}")?;
            }
            f.write_str(")")
        };
        list(f, &self.params)?;
        f.write_str(" -> ")?;
        list(f, &self.results)
    }
}
