//! The operator switch: one arm per wasm operator, each a call into the operand-stack
//! model, the control flow, the fusions or the checks. Numeric operators come from the
//! `for_each_numeric!` table; loads and stores from one-line macros naming their plain
//! and fused instructions.

use wasmparser::Operator;

use crate::error::Error;
use crate::ir::{Instr, Reg};

use super::Translator;
use super::consts::slot_bits;
use super::control::CtrlKind;
use super::stack::Operand;

/// `load!(self, memarg, Plain)` or `load!(self, memarg, Plain, Fused[, Scaled])`:
/// translates a load into `Instr::Plain { dst, addr, offset }`, into `Instr::Fused { dst,
/// base, index, offset }` when its address is an `i32.add` just computed, or into
/// `Instr::Scaled`, of the same fields, when that add's index is an `i32.shl` by 2
/// computed just before it (4-byte elements: the only scaled form, `Load32AddScaled`).
macro_rules! load {
    ($t:ident, $m:ident, $plain:ident) => {
        $t.load(&$m, |dst, addr, offset| Instr::$plain { dst, addr, offset }, None, None)?
    };
    ($t:ident, $m:ident, $plain:ident, $fused:ident) => {
        $t.load(
            &$m,
            |dst, addr, offset| Instr::$plain { dst, addr, offset },
            Some(|dst, base, index, offset| Instr::$fused { dst, base, index, offset }),
            None,
        )?
    };
    ($t:ident, $m:ident, $plain:ident, $fused:ident, $scaled:ident) => {
        $t.load(
            &$m,
            |dst, addr, offset| Instr::$plain { dst, addr, offset },
            Some(|dst, base, index, offset| Instr::$fused { dst, base, index, offset }),
            Some(|dst, base, index, offset| Instr::$scaled { dst, base, index, offset }),
        )?
    };
}

/// `store!(self, memarg, Plain, Fused)`: as `load!`, for a store.
macro_rules! store {
    ($t:ident, $m:ident, $plain:ident, $fused:ident) => {
        $t.store(
            &$m,
            |addr, value, offset| Instr::$plain { addr, value, offset },
            |base, index, value, offset| Instr::$fused { base, index, value, offset },
        )?
    };
}

/// Reads the operator rows of `for_each_numeric!` into [`Translator::numeric`].
macro_rules! translate_numeric {
    (
        binary { $($bin:ident: $ba:ty, $bb:ty => $br:ty, $bf:expr;)* }
        binary_trap { $($bint:ident: $bta:ty, $btb:ty => $btr:ty, $btf:expr;)* }
        unary { $($un:ident: $ua:ty => $ur:ty, $uf:expr;)* }
        unary_trap { $($unt:ident: $uta:ty => $utr:ty, $utf:expr;)* }
        compare_branch { $($cb:ident: $cbc:ident, $cbn:ident, $cba:ident, $cbm:ident, $cbt:ty, $cbf:expr;)* }
        accumulated { $($acc:ident: $acc_to:ident, $acc_from:ident, $acc_both:ident, $acc_commutes:literal, $acc_width:ident, $acc_offers:literal;)* }
    ) => {
        impl Translator<'_> {
            /// Translates a numeric operator; `Ok(false)` if `op` is not one.
            fn numeric(&mut self, op: &Operator<'_>) -> Result<bool, Error> {
                match op {
                    $( Operator::$bin => self.binary(|dst, lhs, rhs| Instr::$bin { dst, lhs, rhs })?, )*
                    $( Operator::$bint => self.binary(|dst, lhs, rhs| Instr::$bint { dst, lhs, rhs })?, )*
                    $( Operator::$un => self.unary(|dst, src| Instr::$un { dst, src })?, )*
                    $( Operator::$unt => self.unary(|dst, src| Instr::$unt { dst, src })?, )*
                    _ => return Ok(false),
                }
                Ok(true)
            }
        }
    };
}
crate::ir::for_each_numeric!(translate_numeric);

impl Translator<'_> {
    /// Translates one operator at `self.offset`.
    pub(super) fn op(&mut self, op: &Operator<'_>) -> Result<(), Error> {
        use Operator as O;
        if !self.reachable {
            return self.op_unreachable(op);
        }
        match *op {
            O::Unreachable => {
                self.emit(Instr::Unreachable)?;
                self.set_unreachable()?;
            }
            O::Nop => {}
            O::Block { blockty } => self.enter(CtrlKind::Block, blockty)?,
            O::Loop { blockty } => {
                self.enter(CtrlKind::Loop, blockty)?;
                let start = self.label()?;
                self.innermost()?.start = start;
                if self.fuel {
                    self.emit(Instr::ConsumeFuel { amount: 1 })?;
                }
            }
            O::If { blockty } => {
                let (_, if_false) = self.pop_condition()?;
                self.enter(CtrlKind::If, blockty)?;
                let at = self.emit(if_false)?;
                self.innermost()?.else_patch = Some(at);
            }
            O::Else => self.else_()?,
            O::End => self.end()?,
            O::Br { relative_depth } => {
                self.branch(relative_depth)?;
                self.set_unreachable()?;
            }
            O::BrIf { relative_depth } => self.br_if(relative_depth)?,
            O::BrTable { ref targets } => self.br_table(targets)?,
            O::Return => {
                let depth = self.ctrls.len() as u32 - 1;
                self.branch(depth)?;
                self.set_unreachable()?;
            }
            O::Call { function_index } => self.call(function_index)?,
            O::CallIndirect { type_index, table_index } => {
                self.call_indirect(type_index, table_index)?
            }
            O::ReturnCall { function_index } => self.return_call(function_index)?,
            O::ReturnCallIndirect { type_index, table_index } => {
                self.return_call_indirect(type_index, table_index)?
            }
            O::Drop => {
                self.pop()?;
            }
            O::Select | O::TypedSelect { .. } => self.select()?,
            O::LocalGet { local_index } => {
                let l = self.local(local_index)?;
                self.push(Operand::Pending(l))?;
            }
            O::LocalSet { local_index } => self.set_local(local_index, false)?,
            O::LocalTee { local_index } => self.set_local(local_index, true)?,
            O::GlobalGet { global_index } => {
                if global_index as usize >= self.module.globals.len() {
                    return Err(self.err("unknown global"));
                }
                let dst = self.push_temp()?;
                self.emit_result(Instr::GlobalGet { dst, global: global_index })?;
            }
            O::GlobalSet { global_index } => {
                if global_index as usize >= self.module.globals.len() {
                    return Err(self.err("unknown global"));
                }
                let src = self.pop()?;
                self.emit(Instr::GlobalSet { src, global: global_index })?;
            }

            O::I32Load { memarg } | O::F32Load { memarg } | O::I64Load32U { memarg } => {
                load!(self, memarg, Load32, Load32Add, Load32AddScaled)
            }
            O::I64Load { memarg } | O::F64Load { memarg } => load!(self, memarg, Load64, Load64Add),
            O::I32Load8U { memarg } | O::I64Load8U { memarg } => {
                load!(self, memarg, Load8U, Load8UAdd)
            }
            O::I32Load16U { memarg } | O::I64Load16U { memarg } => {
                load!(self, memarg, Load16U, Load16UAdd)
            }
            O::I32Load8S { memarg } => load!(self, memarg, I32Load8S, I32Load8SAdd),
            O::I32Load16S { memarg } => load!(self, memarg, I32Load16S, I32Load16SAdd),
            O::I64Load8S { memarg } => load!(self, memarg, I64Load8S),
            O::I64Load16S { memarg } => load!(self, memarg, I64Load16S),
            O::I64Load32S { memarg } => load!(self, memarg, I64Load32S),
            O::I32Store8 { memarg } | O::I64Store8 { memarg } => {
                store!(self, memarg, Store8, Store8Add)
            }
            O::I32Store16 { memarg } | O::I64Store16 { memarg } => {
                store!(self, memarg, Store16, Store16Add)
            }
            O::I32Store { memarg } | O::F32Store { memarg } | O::I64Store32 { memarg } => {
                store!(self, memarg, Store32, Store32Add)
            }
            O::I64Store { memarg } | O::F64Store { memarg } => {
                store!(self, memarg, Store64, Store64Add)
            }
            O::MemorySize { mem } => {
                self.check_memory(mem)?;
                let dst = self.push_temp()?;
                self.emit_on_memory(mem, Instr::MemorySize { dst }, true)?;
            }
            O::MemoryGrow { mem } => {
                self.check_memory(mem)?;
                let delta = self.pop()?;
                let dst = self.push_temp()?;
                self.emit_on_memory(mem, Instr::MemoryGrow { dst, delta }, true)?;
            }
            O::MemoryFill { mem } => {
                self.check_memory(mem)?;
                let base = self.pop_consecutive(3)?;
                self.emit_on_memory(mem, Instr::MemoryFill { base }, false)?;
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                let (dst_mem, src_mem) = (self.memory16(dst_mem)?, self.memory16(src_mem)?);
                let base = self.pop_consecutive(3)?;
                if (dst_mem, src_mem) == (0, 0) {
                    self.emit(Instr::MemoryCopy { base })?;
                } else {
                    self.emit(Instr::MemoryCopyAcross { base, dst_mem, src_mem })?;
                }
            }
            O::MemoryInit { data_index, mem } => {
                self.check_memory(mem)?;
                let data = self.data(data_index)?;
                let base = self.pop_consecutive(3)?;
                self.emit_on_memory(mem, Instr::MemoryInit { base, data }, false)?;
            }
            O::DataDrop { data_index } => {
                let data = self.data(data_index)?;
                self.emit(Instr::DataDrop { data })?;
            }

            O::I32Const { value } => self.constant(slot_bits::i32(value))?,
            O::I64Const { value } => self.constant(slot_bits::i64(value))?,
            O::F32Const { value } => self.constant(slot_bits::f32(value))?,
            O::F64Const { value } => self.constant(slot_bits::f64(value))?,
            O::RefNull { .. } => self.constant(slot_bits::NULL)?,
            O::RefIsNull => self.unary(|dst, src| Instr::I64Eqz { dst, src })?,
            O::RefFunc { function_index } => self.ref_func(function_index)?,

            O::TableGet { table } => {
                let table = self.table(table)?;
                let index = self.pop()?;
                let dst = self.push_temp()?;
                self.emit_result(Instr::TableGet { dst, index, table })?;
            }
            O::TableSet { table } => {
                let table = self.table(table)?;
                let value = self.pop()?;
                let index = self.pop()?;
                self.emit(Instr::TableSet { index, value, table })?;
            }
            O::TableSize { table } => {
                let table = self.table(table)?;
                let dst = self.push_temp()?;
                self.emit_result(Instr::TableSize { dst, table })?;
            }
            O::TableGrow { table } => {
                let table = self.table(table)?;
                let delta = self.pop()?;
                let init = self.pop()?;
                let dst = self.push_temp()?;
                self.emit_result(Instr::TableGrow { dst, init, delta, table })?;
            }
            O::TableFill { table } => {
                let table = self.table(table)?;
                let base = self.pop_consecutive(3)?;
                self.emit(Instr::TableFill { base, table })?;
            }
            O::TableCopy { dst_table, src_table } => {
                let (dst_table, src_table) = (self.table16(dst_table)?, self.table16(src_table)?);
                let base = self.pop_consecutive(3)?;
                self.emit(Instr::TableCopy { base, dst_table, src_table })?;
            }
            O::TableInit { elem_index, table } => {
                let table = self.table16(table)?;
                let elem = self.elem(elem_index)?;
                let base = self.pop_consecutive(3)?;
                self.emit(Instr::TableInit { base, elem, table })?;
            }
            O::ElemDrop { elem_index } => {
                let elem = self.elem(elem_index)?;
                self.emit(Instr::ElemDrop { elem })?;
            }

            // Same bits in the slot: nothing to do.
            O::I32ReinterpretF32
            | O::I64ReinterpretF64
            | O::F32ReinterpretI32
            | O::F64ReinterpretI64 => self.reinterpret()?,

            _ => {
                if !self.numeric(op)? {
                    return Err(Error::Unsupported {
                        feature: super::LATER_OPERATOR,
                        offset: self.offset,
                    });
                }
            }
        }
        Ok(())
    }

    /// In unreachable code only the block structure matters.
    fn op_unreachable(&mut self, op: &Operator<'_>) -> Result<(), Error> {
        match *op {
            Operator::Block { blockty } => self.enter(CtrlKind::Block, blockty),
            Operator::Loop { blockty } => self.enter(CtrlKind::Loop, blockty),
            Operator::If { blockty } => self.enter(CtrlKind::If, blockty),
            Operator::Else => self.else_(),
            Operator::End => self.end(),
            _ => Ok(()),
        }
    }

    /// `make` is a function pointer, not a generic closure: one copy of this body
    /// instead of one per operator (kilobytes of flash on the board).
    fn binary(&mut self, make: fn(Reg, Reg, Reg) -> Instr) -> Result<(), Error> {
        let rhs = self.pop()?;
        let lhs = self.pop()?;
        let dst = self.push_temp()?;
        self.emit_result(make(dst, lhs, rhs))
    }

    fn unary(&mut self, make: fn(Reg, Reg) -> Instr) -> Result<(), Error> {
        let src = self.pop()?;
        let dst = self.push_temp()?;
        self.emit_result(make(dst, src))
    }

    /// An operator that changes the type but not the bits of its operand.
    fn reinterpret(&mut self) -> Result<(), Error> {
        self.need(1)
    }

    fn call(&mut self, func: u32) -> Result<(), Error> {
        let ty = self
            .module
            .funcs
            .get(func as usize)
            .and_then(|&t| self.module.types.get(t as usize))
            .ok_or_else(|| self.err("unknown function"))?;
        let (params, results) = (ty.params().len() as u32, ty.results().len() as u32);
        let base = self.pop_consecutive(params)?;
        if func < self.module.num_imported_funcs {
            self.emit(Instr::CallImported { func, base })?;
        } else {
            self.emit(Instr::Call { func, base })?;
        }
        self.push_results(results)
    }

    fn call_indirect(&mut self, ty: u32, table: u32) -> Result<(), Error> {
        let table = self.table16(table)?;
        let sig = self.module.types.get(ty as usize).ok_or_else(|| self.err("unknown type"))?;
        let (params, results) = (sig.params().len() as u32, sig.results().len() as u32);
        let index = self.pop()?;
        let base = self.pop_consecutive(params)?;
        self.emit(Instr::CallIndirect { ty, base, index, table })?;
        self.push_results(results)
    }

    /// `return_call`: the callee's results become this function's, so they must agree;
    /// the rest of the block is unreachable, as after `return`.
    fn return_call(&mut self, func: u32) -> Result<(), Error> {
        let ty =
            self.module.funcs.get(func as usize).ok_or_else(|| self.err("unknown function"))?;
        let params = self.tail_call_type(*ty)?;
        let base = self.pop_consecutive(params)?;
        self.emit(Instr::ReturnCall { func, base })?;
        self.set_unreachable()
    }

    fn return_call_indirect(&mut self, ty: u32, table: u32) -> Result<(), Error> {
        let table = self.table16(table)?;
        let params = self.tail_call_type(ty)?;
        let index = self.pop()?;
        let base = self.pop_consecutive(params)?;
        self.emit(Instr::ReturnCallIndirect { ty, base, index, table })?;
        self.set_unreachable()
    }

    /// Checks a tail call to a function of module type `ty`: the feature is on and the
    /// callee returns what this function does. Its parameter count.
    fn tail_call_type(&self, ty: u32) -> Result<u32, Error> {
        if !self.tail_calls {
            return Err(Error::Unsupported { feature: "tail-call", offset: self.offset });
        }
        let types = &self.module.types;
        let callee = types.get(ty as usize).ok_or_else(|| self.err("unknown type"))?;
        let own =
            self.module.funcs.get(self.func_index as usize).and_then(|&t| types.get(t as usize));
        if own.is_none_or(|own| own.results() != callee.results()) {
            return Err(self.err("a tail call's results differ from its function's"));
        }
        Ok(callee.params().len() as u32)
    }

    fn ref_func(&mut self, func: u32) -> Result<(), Error> {
        if func as usize >= self.module.funcs.len() {
            return Err(self.err("unknown function"));
        }
        let dst = self.push_temp()?;
        self.emit_result(Instr::RefFunc { dst, func })
    }
}
