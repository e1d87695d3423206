//! Constant expressions as the decoder reads them from wasm, with their type: Wasm 2.0's
//! one instruction kept as it is, an extended one folded or kept as postfix steps
//! ([`ConstExpr`]).

use alloc::format;

use wasmparser::Operator;

use crate::config::Features;
use crate::error::Error;
use crate::heap::HeapUse;
use crate::value::{Slot, ValType};

use super::const_expr::{ConstExpr, ConstOp, MAX_CONST_DEPTH, eval_ops};
use super::decode::Decoder;
use super::types::heap_type;
use super::{invalid, len_u32, malformed, unsupported};

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
                (ConstExpr::Global(global_index), self.const_global(global_index, offset)?)
            }
            op if is_extended_const(&op) => {
                if self.config.features.contains(Features::EXTENDED_CONST) {
                    return self.extended_const(expr);
                }
                return Err(unsupported("extended-const", offset));
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
        if self.config.features.contains(Features::EXTENDED_CONST) {
            return self.extended_const(expr);
        }
        // More than one instruction: an extended constant expression if it does
        // arithmetic, otherwise simply not constant.
        loop {
            let at = ops.original_position() as usize;
            match ops.read() {
                Ok(op) if is_extended_const(&op) => {
                    return Err(unsupported("extended-const", at));
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

    /// The type of global `index`, read by a constant expression: an imported, immutable
    /// one. Reading a defined one is the GC proposal's extension (as wasmparser validates
    /// it), which the core does not implement: invalid under 2.0, unsupported past it.
    fn const_global(&self, index: u32, offset: usize) -> Result<ValType, Error> {
        let global = self
            .d
            .inner
            .globals
            .get(index as usize)
            .ok_or_else(|| invalid(format!("unknown global {index}"), offset))?;
        if index >= self.d.inner.num_imported_globals {
            if !Features::WASM2.contains(self.config.features) {
                return Err(unsupported("gc", offset));
            }
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
        Ok(global.content)
    }

    /// Decodes an extended constant expression into postfix steps, checking its types as
    /// the validator would (the decoder relies on them without it), and folds it when it
    /// reads no global.
    fn extended_const(
        &mut self,
        expr: &wasmparser::ConstExpr<'_>,
    ) -> Result<(ConstExpr, ValType), Error> {
        let mut ops = expr.get_operators_reader();
        let start = self.d.inner.const_ops.len();
        let mut types = [ValType::I32; MAX_CONST_DEPTH];
        let mut depth = 0;
        let mut reads_global = false;
        let end = loop {
            let at = ops.original_position() as usize;
            let (step, operands, ty) = match ops.read().map_err(malformed)? {
                Operator::End => break at,
                Operator::I32Const { value } => {
                    (ConstOp::Value(value as u32 as Slot), None, ValType::I32)
                }
                Operator::I64Const { value } => (ConstOp::Value(value as u64), None, ValType::I64),
                Operator::F32Const { value } => {
                    (ConstOp::Value(value.bits() as Slot), None, ValType::F32)
                }
                Operator::F64Const { value } => (ConstOp::Value(value.bits()), None, ValType::F64),
                Operator::GlobalGet { global_index } => {
                    reads_global = true;
                    (ConstOp::Global(global_index), None, self.const_global(global_index, at)?)
                }
                Operator::I32Add => (ConstOp::I32Add, Some(ValType::I32), ValType::I32),
                Operator::I32Sub => (ConstOp::I32Sub, Some(ValType::I32), ValType::I32),
                Operator::I32Mul => (ConstOp::I32Mul, Some(ValType::I32), ValType::I32),
                Operator::I64Add => (ConstOp::I64Add, Some(ValType::I64), ValType::I64),
                Operator::I64Sub => (ConstOp::I64Sub, Some(ValType::I64), ValType::I64),
                Operator::I64Mul => (ConstOp::I64Mul, Some(ValType::I64), ValType::I64),
                _ => return Err(invalid("constant expression required", at)),
            };
            if let Some(operand) = operands {
                if depth < 2 || types[depth - 2] != operand || types[depth - 1] != operand {
                    return Err(invalid(
                        format!("type mismatch: {ty} arithmetic on other operands"),
                        at,
                    ));
                }
                depth -= 2;
            }
            let slot = types.get_mut(depth).ok_or(Error::Limit {
                what: "constant expression depth",
                value: MAX_CONST_DEPTH as u64 + 1,
                limit: MAX_CONST_DEPTH as u64,
            })?;
            *slot = ty;
            depth += 1;
            self.heap.push(&mut self.d.inner.const_ops, step, HeapUse::Module)?;
        };
        if !ops.eof() {
            return Err(Error::Malformed {
                message: "unexpected data at the end of a constant expression".into(),
                offset: end,
            });
        }
        if depth != 1 {
            return Err(invalid("type mismatch: a constant expression leaves one value", end));
        }
        let ty = types[0];
        let pool = &mut self.d.inner.const_ops;
        if reads_global {
            let len = len_u32(pool.len() - start, "constant expression steps")?;
            let start = len_u32(start, "constant expression steps")?;
            return Ok((ConstExpr::Extended { start, len }, ty));
        }
        // Numbers only: fold now, and give the steps back.
        let value = eval_ops(&pool[start..], &[]).ok_or_else(|| invalid("type mismatch", end))?;
        pool.truncate(start);
        Ok((ConstExpr::Value(value), ty))
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
