//! Constant expressions: the initialisers of globals, element items and segment offsets
//! (read from wasm in `const_decode`, from images in `image`). Wasm 2.0's one instruction is kept as it is; an extended
//! constant expression (`i32/i64.add/sub/mul`, the extended-const proposal) is folded when
//! it reads no global, and otherwise kept as postfix steps in the module's pool, evaluated
//! at instantiation on a fixed stack of [`MAX_CONST_DEPTH`] values (no allocation).

use crate::value::Slot;

/// The deepest an extended constant expression's operand stack may grow: compilers emit
/// two (`global.get $base`, `i32.const N`, `i32.add`); deeper is refused as a limit.
pub(crate) const MAX_CONST_DEPTH: usize = 16;

/// A constant expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstExpr {
    /// A number or `ref.null`, already encoded as a slot.
    Value(Slot),
    /// `global.get` of an (imported) global.
    Global(u32),
    /// `ref.func` of a module function index.
    RefFunc(u32),
    /// An extended constant expression that reads a global: `len` steps from `start` in
    /// the module's `const_ops`.
    Extended { start: u32, len: u32 },
}

/// One step of an extended constant expression, in postfix order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstOp {
    /// Pushes a number.
    Value(Slot),
    /// Pushes an (imported, immutable) global's value.
    Global(u32),
    /// Pops two operands and pushes the result.
    I32Add,
    I32Sub,
    I32Mul,
    I64Add,
    I64Sub,
    I64Mul,
}

/// Runs `ops` given the values of the globals so far; `None` if they read past `globals` or
/// do not leave exactly one value on a stack of at most [`MAX_CONST_DEPTH`] (which the
/// decoder rules out).
pub(crate) fn eval_ops(ops: &[ConstOp], globals: &[Slot]) -> Option<Slot> {
    let mut stack = [0 as Slot; MAX_CONST_DEPTH];
    let mut depth = 0usize;
    for op in ops {
        let value = match *op {
            ConstOp::Value(v) => v,
            ConstOp::Global(g) => *globals.get(g as usize)?,
            arith => {
                depth = depth.checked_sub(2)?;
                let (a, b) = (stack[depth], *stack.get(depth + 1)?);
                let (a32, b32) = (a as u32, b as u32);
                match arith {
                    ConstOp::I32Add => Slot::from(a32.wrapping_add(b32)),
                    ConstOp::I32Sub => Slot::from(a32.wrapping_sub(b32)),
                    ConstOp::I32Mul => Slot::from(a32.wrapping_mul(b32)),
                    ConstOp::I64Add => a.wrapping_add(b),
                    ConstOp::I64Sub => a.wrapping_sub(b),
                    _ => a.wrapping_mul(b),
                }
            }
        };
        *stack.get_mut(depth)? = value;
        depth += 1;
    }
    (depth == 1).then_some(stack[0])
}
