//! Constant expressions: Wasm 2.0's one-instruction initialisers of globals, element
//! items and segment offsets, decoded with their type. Extended constant expressions
//! (Wasm 3.0's arithmetic) are reported as unsupported, anything else as not constant.

use alloc::format;

use wasmparser::Operator;

use crate::error::Error;
use crate::value::{Slot, ValType};

use super::decode::Decoder;
use super::types::heap_type;
use super::{invalid, malformed, unsupported};

/// A constant expression (Wasm 2.0: one instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConstExpr {
    /// A number or `ref.null`, already encoded as a slot.
    Value(Slot),
    /// `global.get` of an (imported) global.
    Global(u32),
    /// `ref.func` of a module function index.
    RefFunc(u32),
}

impl Decoder<'_> {
    /// An element or data segment's offset: an `i32` constant expression.
    pub(super) fn offset_expr(
        &mut self,
        expr: &wasmparser::ConstExpr<'_>,
    ) -> Result<ConstExpr, Error> {
        let offset = expr.get_binary_reader().original_position() as usize;
        let (value, ty) = self.const_expr(expr)?;
        if ty != ValType::I32 {
            return Err(invalid(
                format!("type mismatch: segment offset of type {ty}, expected i32"),
                offset,
            ));
        }
        Ok(value)
    }

    /// Decodes a Wasm 2.0 constant expression (one instruction, then `end`) and
    /// returns it with its type. A `ref.func` in it declares its function.
    pub(super) fn const_expr(
        &mut self,
        expr: &wasmparser::ConstExpr<'_>,
    ) -> Result<(ConstExpr, ValType), Error> {
        let mut ops = expr.get_operators_reader();
        let offset = ops.original_position() as usize;
        let result = match ops.read().map_err(malformed)? {
            Operator::I32Const { value } => (ConstExpr::Value(value as u32 as Slot), ValType::I32),
            Operator::I64Const { value } => (ConstExpr::Value(value as u64), ValType::I64),
            Operator::F32Const { value } => (ConstExpr::Value(value.bits() as Slot), ValType::F32),
            Operator::F64Const { value } => (ConstExpr::Value(value.bits()), ValType::F64),
            Operator::RefNull { hty } => (ConstExpr::Value(0), heap_type(hty, offset)?),
            Operator::RefFunc { function_index } => {
                if function_index as usize >= self.d.inner.funcs.len() {
                    return Err(invalid(format!("unknown function {function_index}"), offset));
                }
                (ConstExpr::RefFunc(function_index), ValType::FuncRef)
            }
            Operator::GlobalGet { global_index } => {
                let global = self
                    .d
                    .inner
                    .globals
                    .get(global_index as usize)
                    .ok_or_else(|| invalid(format!("unknown global {global_index}"), offset))?;
                if global_index >= self.d.inner.num_imported_globals {
                    return Err(invalid(
                        "constant expression required: global.get of a non-imported global",
                        offset,
                    ));
                }
                if global.mutable {
                    return Err(invalid(
                        "constant expression required: global.get of a mutable global",
                        offset,
                    ));
                }
                (ConstExpr::Global(global_index), global.content)
            }
            op if is_extended_const(&op) => {
                return Err(unsupported("extended constant expressions", offset));
            }
            Operator::End => {
                return Err(invalid("type mismatch: empty constant expression", offset));
            }
            _ => return Err(invalid("constant expression required", offset)),
        };
        let end_offset = ops.original_position() as usize;
        if matches!(ops.read().map_err(malformed)?, Operator::End) && ops.eof() {
            return Ok(result);
        }
        // More than one instruction: an extended constant expression (Wasm 3.0)
        // if it does arithmetic, otherwise simply not constant.
        loop {
            let at = ops.original_position() as usize;
            match ops.read() {
                Ok(op) if is_extended_const(&op) => {
                    return Err(unsupported("extended constant expressions", at));
                }
                Ok(_) if !ops.eof() => {}
                _ => {
                    return Err(invalid(
                        "constant expression required: more than one instruction",
                        end_offset,
                    ));
                }
            }
        }
    }
}

/// Arithmetic the extended-constant-expressions proposal allows in them.
fn is_extended_const(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::I32Add
            | Operator::I32Sub
            | Operator::I32Mul
            | Operator::I64Add
            | Operator::I64Sub
            | Operator::I64Mul
    )
}
