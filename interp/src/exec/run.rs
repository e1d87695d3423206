//! The run loop: every instruction's body, written once (`define_run!`'s `@arms`) and
//! expanded twice: as the arms of one dense `match` in a loop (`Dispatch::Loop`, the
//! boards'), and as the bodies of threaded handlers, one per kind (`Dispatch::Threaded`, the hosts',
//! where `build.rs` allows it), the running state in locals or argument registers either
//! way; and the one-line accessors through which both fetch and read and write operand
//! slots without a bounds check each (with `load` and `store` in `memory`, the globals'
//! accessors, a handler's `assume_kind` call and its memory view rebuilt from registers,
//! the only `unsafe` outside `raw`).

#[cfg(tandem_threaded)]
use crate::config::Dispatch;
use crate::error::{Trap, TrapKind};
use crate::ir::{Instr, Reg};
use crate::raw::code::CodePtr;
use crate::raw::frame::Frame;
#[cfg(tandem_threaded)]
use crate::raw::memory::MemoryView;
use crate::value::Slot;

use super::Executor;
use super::call::Returned;
use super::table::table_grow;

/// Converts between a raw slot and the operand types of numeric operations.
///
/// A 32-bit value (`i32`, `f32`, a comparison's `i32` result) lives in the slot's low
/// half; its readers ignore the high half, so its writers leave that half alone.
/// 64-bit values and references fill the slot.
trait SlotValue {
    fn from_slot(slot: Slot) -> Self;
    fn into_slot(self) -> Slot;
    /// Writes the value as a result to slot `r` of the running frame.
    fn write(self, frame: Frame, r: Reg);
}

macro_rules! slot_value {
    ($($t:ty: $from:expr, $into:expr, $width:ident;)*) => {$(
        impl SlotValue for $t {
            #[inline(always)]
            fn from_slot(slot: Slot) -> Self {
                ($from)(slot)
            }
            #[inline(always)]
            fn into_slot(self) -> Slot {
                ($into)(self)
            }
            #[inline(always)]
            fn write(self, frame: Frame, r: Reg) {
                slot_value!(@write $width, frame, r, self.into_slot())
            }
        }
    )*};
    (@write low, $frame:ident, $r:ident, $v:expr) => { set_low($frame, $r, $v as u32) };
    (@write full, $frame:ident, $r:ident, $v:expr) => { set($frame, $r, $v) };
}

slot_value! {
    i32: |s: Slot| s as u32 as i32, |v: i32| v as u32 as Slot, low;
    u32: |s: Slot| s as u32, |v: u32| v as Slot, low;
    i64: |s: Slot| s as i64, |v: i64| v as Slot, full;
    u64: |s: Slot| s, |v: u64| v, full;
    f32: |s: Slot| f32::from_bits(s as u32), |v: f32| v.to_bits() as Slot, low;
    f64: f64::from_bits, f64::to_bits, full;
    bool: |s: Slot| s as u32 != 0, |v: bool| v as Slot, low;
}

/// The run loop's control transfers, in the two forms the instruction bodies are expanded
/// in: `loop`, the arms of [`Executor::run_loop`]'s `match` (assigning its locals), and
/// `step`, the body of one threaded handler (returning what to do next as a [`Step`]).
macro_rules! go {
    // A return to the running instance goes on in the same code and memory. Threaded
    // handlers take that, keeping the memory's view they ran with (`back`); the loop reloads
    // all of its state anyway (`resume`): with
    // the code and the memory's view kept through the return arms, the board's loop held
    // more values in registers and the tight loops ran 1-3% more instructions.
    (loop $cx:tt returned $back:expr) => {
        match $back {
            Returned::Caller | Returned::OtherInstance => go!(loop $cx resume),
            Returned::Outermost => go!(loop $cx done),
        }
    };
    (step $cx:tt returned $back:expr) => {
        match $back {
            Returned::Caller => go!(step $cx back),
            Returned::OtherInstance => go!(step $cx resume),
            Returned::Outermost => go!(step $cx done),
        }
    };
    (loop ($s:ident, $ip:ident, $code:ident, $frame:ident, $mem:ident) jump $to:expr) => {{
        $ip = $to;
        continue;
    }};
    (loop ($s:ident, $ip:ident, $code:ident, $frame:ident, $mem:ident) enter) => {{
        ($ip, $frame) = ($code.skip_bytes($s.pc), $s.stack.frame($s.base));
        continue;
    }};
    (loop ($s:ident, $ip:ident, $code:ident, $frame:ident, $mem:ident) resume) => {{
        ($ip, $code, $frame, $mem) = $s.resume_point();
        continue;
    }};
    (loop $cx:tt done) => {
        return Ok(())
    };
    (loop ($s:ident, $ip:ident, $code:ident, $frame:ident, $mem:ident) new_memory) => {
        $mem = $s.mem_view
    };
    (step $cx:tt jump $to:expr) => {
        return Ok(Step::Jump($to))
    };
    (step ($s:ident, $ip:ident, $code:ident, $frame:ident, $mem:ident) enter) => {
        return Ok(Step::Enter($code.skip_bytes($s.pc), $s.stack.frame($s.base)))
    };
    (step ($s:ident, $ip:ident, $code:ident, $frame:ident, $mem:ident) back) => {
        return Ok(Step::Back($code.skip_bytes($s.pc), $s.stack.frame($s.base)))
    };
    (step $cx:tt resume) => {
        return Ok(Step::Resume)
    };
    (step $cx:tt done) => {
        return Ok(Step::Done)
    };
    (step $cx:tt new_memory) => {
        return Ok(Step::NewMemory)
    };
}

macro_rules! define_run {
    // Every instruction's body, once: the `match` both dispatches expand. `$cx` names the
    // running state (the executor, the instruction pointer, the code's start, the frame,
    // the memory's view) for `go!`, and again bound one by one for the bodies, with `$a`,
    // the accumulator (a place: a local of the loop's, a handler's through a reference),
    // and `$w`, the one of 64-bit values (the executor's field on the loop, the same place as
    // `$a` in a handler).
    (
        @arms $mode:ident $cx:tt ($self:ident, $ip:ident, $code:ident, $frame:ident, $mem:ident, $a:expr, $w:expr)
        binary { $($bin:ident: $ba:ty, $bb:ty => $br:ty, $bf:expr;)* }
        binary_trap { $($bint:ident: $bta:ty, $btb:ty => $btr:ty, $btf:expr;)* }
        unary { $($un:ident: $ua:ty => $ur:ty, $uf:expr;)* }
        unary_trap { $($unt:ident: $uta:ty => $utr:ty, $utf:expr;)* }
        compare_branch { $($cb:ident: $cbc:ident, $cbn:ident, $cba:ident, $cbm:ident, $cbt:ty, $cbf:expr;)* }
        accumulated { $($acc:ident: $acc_to:ident, $acc_from:ident, $acc_both:ident, $acc_commutes:literal, $acc_width:ident, $acc_offers:literal;)* }
    ) => {
        match *fetch($ip) {
            Instr::Unreachable => return Err(TrapKind::Unreachable.into()),
            Instr::ConsumeFuel { amount } => {
                if let Err(trap) = $self.consume_fuel(amount) {
                    // Where a task's call, stopped here, resumes.
                    $self.pc = $ip.offset_from($code);
                    return Err(trap);
                }
            }
            Instr::Br { target } => {
                go!($mode $cx jump $code.skip_bytes(target as usize));
            }
            Instr::BrIfNez { cond, target } => {
                if reg($frame, cond) as u32 != 0 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::BrIfEqz { cond, target } => {
                if reg($frame, cond) as u32 == 0 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::AddBrIfI32Ne { slot, step, end, target } => {
                if add_in_place($frame, slot, step) != reg($frame, end) as u32 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::AddBrIfI32LtU { slot, step, end, target } => {
                if add_in_place($frame, slot, step) < reg($frame, end) as u32 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::AddBrIfI32LtS { slot, step, end, target } => {
                if (add_in_place($frame, slot, step) as i32) < reg($frame, end) as u32 as i32 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::AddBrIfNez { slot, step, target } => {
                if add_in_place($frame, slot, step) != 0 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::SubBrIfNez { slot, step, target } => {
                let v = (reg($frame, slot) as u32).wrapping_sub(reg($frame, step) as u32);
                set_low($frame, slot, v);
                if v != 0 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::I32AddBr { dst, lhs, rhs, target } => {
                set_low($frame, dst, sum($frame, lhs, rhs) as u32);
                go!($mode $cx jump $code.skip_bytes(target as usize));
            }
            Instr::BrTable { index, len } => {
                go!($mode $cx jump $ip.skip(1 + (reg($frame, index) as u32).min(len) as usize));
            }
            Instr::Return0 => go!($mode $cx returned $self.ret()),
            Instr::Return1 { src } => {
                set($frame, 0, reg($frame, src));
                go!($mode $cx returned $self.ret());
            }
            Instr::ReturnN { src, count } => {
                let (base, src) = ($self.base, $self.base + src as usize);
                $self.stack.all().copy_within(src..src + count as usize, base);
                go!($mode $cx returned $self.ret());
            }
            Instr::InitLocals { first, zeros, count, consts } => {
                let consts = consts as usize..consts as usize + usize::from(count);
                let consts = $self.consts.get(consts).unwrap_or_default();
                set_up($frame, first, zeros, consts);
            }
            Instr::ZeroLocals { first, count } => set_up($frame, first, count, &[]),
            Instr::Call { func, base } => {
                $self.call(func, base, $ip.next().offset_from($code))?;
                go!($mode $cx enter);
            }
            Instr::CallImported { func, base } => {
                $self.pc = $ip.offset_from($code);
                $self.call_imported(func, base)?;
                go!($mode $cx resume);
            }
            Instr::CallIndirect { ty, base, index, table } => {
                $self.pc = $ip.offset_from($code);
                $self.call_indirect(ty, base, index, table)?;
                go!($mode $cx resume);
            }
            // The later proposals' instructions share one arm, out of line: the
            // loop keeps the size (and the Cortex-M4 code) it had without them.
            instr @ (Instr::ReturnCall { .. }
            | Instr::ReturnCallIndirect { .. }
            | Instr::UseMemory { .. }
            | Instr::MemoryCopyAcross { .. }) => match $self.rare(instr)? {
                // `UseMemory` switched the memory in use.
                Rare::Next => go!($mode $cx new_memory),
                Rare::Resume => {
                    go!($mode $cx resume);
                }
                Rare::Done => go!($mode $cx done),
            },
            // A copy also leaves its value in the accumulator (`Instr::offers_acc`).
            Instr::Copy { dst, src } => {
                let v = reg($frame, src);
                set($frame, dst, v);
                $a = v;
            }
            Instr::I32AddAdd { dst, lhs, rhs, dst2, rhs2 } => {
                let first = sum($frame, lhs, rhs) as u32;
                set_low($frame, dst, first);
                // `rhs2` read after the first write: it may be `dst`.
                set_low($frame, dst2, first.wrapping_add(reg($frame, rhs2) as u32));
            }
            Instr::Copy2 { dst, src, dst2, src2 } => {
                set($frame, dst, reg($frame, src));
                set($frame, dst2, reg($frame, src2));
            }
            Instr::CopyN { dst, src, count } => {
                let src = $self.base + src as usize;
                let dst = $self.base + dst as usize;
                $self.stack.all().copy_within(src..src + count as usize, dst);
            }
            Instr::Const32 { dst, value } => set($frame, dst, value as Slot),
            Instr::Const64 { dst, lo, hi } => set($frame, dst, (hi as Slot) << 32 | lo as Slot),
            Instr::Select { dst, cond, a, b } => {
                let v = if reg($frame, cond) as u32 != 0 { reg($frame, a) } else { reg($frame, b) };
                set($frame, dst, v);
            }
            Instr::SelectI32LtU { dst, lhs, rhs, a, b } => {
                let less = (reg($frame, lhs) as u32) < (reg($frame, rhs) as u32);
                set($frame, dst, reg($frame, if less { a } else { b }));
            }
            Instr::SelectI32LtS { dst, lhs, rhs, a, b } => {
                let less = (reg($frame, lhs) as i32) < (reg($frame, rhs) as i32);
                set($frame, dst, reg($frame, if less { a } else { b }));
            }
            Instr::SelectI32Eq { dst, lhs, rhs, a, b } => {
                let equal = reg($frame, lhs) as u32 == reg($frame, rhs) as u32;
                set($frame, dst, reg($frame, if equal { a } else { b }));
            }
            Instr::GlobalGet { dst, global } => {
                set($frame, dst, $self.global(global));
            }
            Instr::GlobalSet { src, global } => $self.set_global(global, reg($frame, src)),
            Instr::I32AddGlobal { dst, rhs, global } => {
                set_low($frame, dst, ($self.global(global) as u32).wrapping_add(reg($frame, rhs) as u32));
            }
            Instr::I32SubGlobal { dst, rhs, global } => {
                set_low($frame, dst, ($self.global(global) as u32).wrapping_sub(reg($frame, rhs) as u32));
            }
            Instr::GlobalI32Add { dst, rhs, global } => {
                let v = ($self.global(global) as u32).wrapping_add(reg($frame, rhs) as u32);
                set_low($frame, dst, v);
                $self.set_global(global, v as Slot);
            }
            Instr::GlobalI32Sub { dst, rhs, global } => {
                let v = ($self.global(global) as u32).wrapping_sub(reg($frame, rhs) as u32);
                set_low($frame, dst, v);
                $self.set_global(global, v as Slot);
            }
            Instr::I32AddGlobalSet { dst, lhs, rhs, global } => {
                let v = sum($frame, lhs, rhs);
                set_low($frame, dst, v as u32);
                $self.set_global(global, v);
            }
            Instr::Load8U { dst, addr, offset } => {
                let v = $self.load::<1>($mem, reg($frame, addr), offset)?;
                set($frame, dst, v[0] as Slot);
                $a = v[0] as Slot;
            }
            Instr::Load16U { dst, addr, offset } => {
                let v = $self.load($mem, reg($frame, addr), offset)?;
                set($frame, dst, u16::from_le_bytes(v) as Slot);
            }
            Instr::Load32 { dst, addr, offset } => {
                let v = u32::from_le_bytes($self.load($mem, reg($frame, addr), offset)?) as Slot;
                set($frame, dst, v);
                $a = v;
            }
            Instr::Load64 { dst, addr, offset } => {
                let v = $self.load($mem, reg($frame, addr), offset)?;
                set($frame, dst, u64::from_le_bytes(v));
            }
            Instr::I32Load8S { dst, addr, offset } => {
                let v = $self.load::<1>($mem, reg($frame, addr), offset)?;
                set($frame, dst, (v[0] as i8 as i32).into_slot());
            }
            Instr::I32Load16S { dst, addr, offset } => {
                let v = $self.load($mem, reg($frame, addr), offset)?;
                set($frame, dst, (i16::from_le_bytes(v) as i32).into_slot());
            }
            Instr::I64Load8S { dst, addr, offset } => {
                let v = $self.load::<1>($mem, reg($frame, addr), offset)?;
                set($frame, dst, v[0] as i8 as i64 as Slot);
            }
            Instr::I64Load16S { dst, addr, offset } => {
                let v = $self.load($mem, reg($frame, addr), offset)?;
                set($frame, dst, i16::from_le_bytes(v) as i64 as Slot);
            }
            Instr::I64Load32S { dst, addr, offset } => {
                let v = $self.load($mem, reg($frame, addr), offset)?;
                set($frame, dst, i32::from_le_bytes(v) as i64 as Slot);
            }
            Instr::Store8 { addr, value, offset } => {
                $self.store($mem, reg($frame, addr), offset, [reg($frame, value) as u8])?
            }
            Instr::Store16 { addr, value, offset } => {
                $self.store($mem, reg($frame, addr), offset, (reg($frame, value) as u16).to_le_bytes())?
            }
            Instr::Store32 { addr, value, offset } => {
                $self.store($mem, reg($frame, addr), offset, (reg($frame, value) as u32).to_le_bytes())?
            }
            Instr::Store64 { addr, value, offset } => {
                $self.store($mem, reg($frame, addr), offset, reg($frame, value).to_le_bytes())?
            }
            Instr::Load8UAdd { dst, base, index, offset } => {
                let v = $self.load::<1>($mem, sum($frame, base, index), offset)?;
                set($frame, dst, v[0] as Slot);
                $a = v[0] as Slot;
            }
            Instr::Load16UAdd { dst, base, index, offset } => {
                let v = $self.load($mem, sum($frame, base, index), offset)?;
                set($frame, dst, u16::from_le_bytes(v) as Slot);
            }
            Instr::Load32Add { dst, base, index, offset } => {
                let v = u32::from_le_bytes($self.load($mem, sum($frame, base, index), offset)?);
                set($frame, dst, v as Slot);
                $a = v as Slot;
            }
            Instr::Load32AddScaled { dst, base, index, offset } => {
                let addr = (reg($frame, base) as u32).wrapping_add((reg($frame, index) as u32) << 2);
                let v = u32::from_le_bytes($self.load($mem, addr as Slot, offset)?);
                set($frame, dst, v as Slot);
                $a = v as Slot;
            }
            Instr::Load64Add { dst, base, index, offset } => {
                let v = $self.load($mem, sum($frame, base, index), offset)?;
                set($frame, dst, u64::from_le_bytes(v));
            }
            Instr::I32Load8SAdd { dst, base, index, offset } => {
                let v = $self.load::<1>($mem, sum($frame, base, index), offset)?;
                (v[0] as i8 as i32).write($frame, dst);
            }
            Instr::I32Load16SAdd { dst, base, index, offset } => {
                let v = $self.load($mem, sum($frame, base, index), offset)?;
                (i16::from_le_bytes(v) as i32).write($frame, dst);
            }
            Instr::Store8Add { base, index, value, offset } => {
                $self.store($mem, sum($frame, base, index), offset, [reg($frame, value) as u8])?
            }
            Instr::Store16Add { base, index, value, offset } => {
                $self.store($mem, sum($frame, base, index), offset, (reg($frame, value) as u16).to_le_bytes())?
            }
            Instr::Store32Add { base, index, value, offset } => {
                $self.store($mem, sum($frame, base, index), offset, (reg($frame, value) as u32).to_le_bytes())?
            }
            Instr::Store64Add { base, index, value, offset } => {
                $self.store($mem, sum($frame, base, index), offset, reg($frame, value).to_le_bytes())?
            }
            Instr::MemorySize { dst } => {
                let size = $self.memory().size_pages();
                set($frame, dst, size as Slot);
            }
            Instr::MemoryGrow { dst, delta } => {
                let old = $self.memory_grow(reg($frame, delta) as u32);
                set($frame, dst, old as Slot);
                go!($mode $cx new_memory);
            }
            Instr::MemoryFill { base } => $self.memory_fill(base)?,
            Instr::MemoryCopy { base } => $self.memory_copy(base)?,
            Instr::MemoryInit { base, data } => $self.memory_init(base, data)?,
            Instr::DataDrop { data } => {
                let d = $self.inst.datas[data as usize] as usize;
                $self.datas[d].bytes = None;
            }
            Instr::TableGet { dst, index, table } => {
                let t = &$self.tables[$self.inst.tables[table as usize] as usize];
                let i = reg($frame, index) as u32 as usize;
                let v = *t.elems.get(i).ok_or(TrapKind::TableOutOfBounds)?;
                set($frame, dst, v);
            }
            Instr::TableSet { index, value, table } => {
                let (i, v) = (reg($frame, index) as u32 as usize, reg($frame, value));
                let t = &mut $self.tables[$self.inst.tables[table as usize] as usize];
                *t.elems.get_mut(i).ok_or(TrapKind::TableOutOfBounds)? = v;
            }
            Instr::TableSize { dst, table } => {
                let t = &$self.tables[$self.inst.tables[table as usize] as usize];
                set($frame, dst, t.elems.len() as Slot);
            }
            Instr::TableGrow { dst, init, delta, table } => {
                let (init, delta) = (reg($frame, init), reg($frame, delta) as u32);
                let t = &mut $self.tables[$self.inst.tables[table as usize] as usize];
                let old = table_grow(t, delta, init, $self.heap).unwrap_or(u32::MAX);
                set($frame, dst, old as Slot);
            }
            Instr::TableFill { base, table } => $self.table_fill(base, table)?,
            Instr::TableCopy { base, dst_table, src_table } => {
                $self.table_copy(base, dst_table, src_table)?
            }
            Instr::TableInit { base, elem, table } => $self.table_init(base, elem, table)?,
            Instr::ElemDrop { elem } => {
                let e = $self.inst.elems[elem as usize] as usize;
                $self.elems[e].items = Default::default();
            }
            Instr::RefFunc { dst, func } => {
                let addr = $self.inst.funcs[func as usize];
                set($frame, dst, addr as Slot + 1);
            }
            // The `accumulated` rows' slot forms that offer also leave their result in the
            // accumulator of its width (`Instr::offers_acc`); their `binary` arms below are
            // not reached.
            $( Instr::$acc { dst, lhs, rhs } => {
                let r = binary::$acc(reg($frame, lhs), reg($frame, rhs));
                r.write($frame, dst);
                if $acc_offers {
                    crate::ir::by_width!($acc_width, $a, $w) = r.into_slot();
                }
            } )*
            $(
                #[allow(unreachable_patterns)]
                Instr::$bin { dst, lhs, rhs } => {
                    binary::$bin(reg($frame, lhs), reg($frame, rhs)).write($frame, dst);
                }
            )*
            $( Instr::$acc_to { lhs, rhs } => {
                crate::ir::by_width!($acc_width, $a, $w) = binary::$acc(reg($frame, lhs), reg($frame, rhs)).into_slot();
            } )*
            $( Instr::$acc_from { dst, rhs } => {
                let r = binary::$acc(crate::ir::by_width!($acc_width, $a, $w), reg($frame, rhs));
                r.write($frame, dst);
                if $acc_offers {
                    crate::ir::by_width!($acc_width, $a, $w) = r.into_slot();
                }
            } )*
            $( Instr::$acc_both { rhs } => {
                let a = &mut crate::ir::by_width!($acc_width, $a, $w);
                *a = binary::$acc(*a, reg($frame, rhs)).into_slot();
            } )*
            Instr::Load8UToAcc { addr, offset } => {
                $a = $self.load::<1>($mem, reg($frame, addr), offset)?[0] as Slot;
            }
            Instr::Load8UAcc { dst, offset } => {
                let v = $self.load::<1>($mem, $a, offset)?;
                set($frame, dst, v[0] as Slot);
                $a = v[0] as Slot;
            }
            Instr::Load8UAccToAcc { offset } => {
                $a = $self.load::<1>($mem, $a, offset)?[0] as Slot;
            }
            Instr::Load32ToAcc { addr, offset } => {
                $a = u32::from_le_bytes($self.load($mem, reg($frame, addr), offset)?) as Slot;
            }
            Instr::Load32Acc { dst, offset } => {
                let v = u32::from_le_bytes($self.load($mem, $a, offset)?) as Slot;
                set($frame, dst, v);
                $a = v;
            }
            Instr::Load32AccToAcc { offset } => {
                $a = u32::from_le_bytes($self.load($mem, $a, offset)?) as Slot;
            }
            Instr::Load8UAddToAcc { base, index, offset } => {
                $a = $self.load::<1>($mem, sum($frame, base, index), offset)?[0] as Slot;
            }
            Instr::Load32AddToAcc { base, index, offset } => {
                $a = u32::from_le_bytes($self.load($mem, sum($frame, base, index), offset)?) as Slot;
            }
            Instr::Store8Acc { addr, offset } => {
                $self.store($mem, reg($frame, addr), offset, [$a as u8])?
            }
            Instr::Store32Acc { addr, offset } => {
                $self.store($mem, reg($frame, addr), offset, ($a as u32).to_le_bytes())?
            }
            Instr::Copy2Acc { dst, src, dst2 } => {
                set($frame, dst, reg($frame, src));
                set($frame, dst2, $w);
            }
            $( Instr::$bint { dst, lhs, rhs } => {
                let a = <$bta>::from_slot(reg($frame, lhs));
                let b = <$btb>::from_slot(reg($frame, rhs));
                let r: $btr = ($btf)(a, b)?;
                r.write($frame, dst);
            } )*
            $( Instr::$un { dst, src } => {
                let a = <$ua>::from_slot(reg($frame, src));
                let r: $ur = ($uf)(a);
                r.write($frame, dst);
            } )*
            $( Instr::$cb { lhs, rhs, target } => {
                let a = <$cbt>::from_slot(reg($frame, lhs));
                let b = <$cbt>::from_slot(reg($frame, rhs));
                if ($cbf)(a, b) {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            } )*
            $( Instr::$cba { rhs, target } => {
                let a = <$cbt>::from_slot($a);
                let b = <$cbt>::from_slot(reg($frame, rhs));
                if ($cbf)(a, b) {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            } )*
            Instr::BrIfNezAcc { target } => {
                if $a as u32 != 0 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::BrIfEqzAcc { target } => {
                if $a as u32 == 0 {
                    go!($mode $cx jump $code.skip_bytes(target as usize));
                }
            }
            Instr::BrTableAcc { len } => {
                go!($mode $cx jump $ip.skip(1 + ($a as u32).min(len) as usize));
            }
            $( Instr::$unt { dst, src } => {
                let a = <$uta>::from_slot(reg($frame, src));
                let r: $utr = ($utf)(a)?;
                r.write($frame, dst);
            } )*
        }
    };
    // The numeric table from `for_each_numeric!`, handed to `@arms` as it came.
    ($($table:tt)*) => {
        impl Executor<'_> {
            /// Runs until the outermost frame returns: one `match` in a loop, the portable
            /// dispatch (what the boards run).
            ///
            /// The instruction pointer, the start of the running code, the frame and the view
            /// of the memory in use live in locals, so they stay in registers across the stores
            /// every instruction makes; they are reloaded from the fields
            /// ([`Executor::resume_point`]) only after returns and calls out of the instance,
            /// the only steps besides a call within it that change the first three (that call
            /// sets the pointer and the frame from its callee's entry and `self.base`, which
            /// is never stale: only calls and returns move it), and the view also after the
            /// steps that may move or switch the memory (`memory.grow`, `UseMemory`).
            fn run_loop(&mut self) -> Result<(), Trap> {
                let (mut ip, mut code, mut frame, mut mem) = self.resume_point();
                let mut acc: Slot = 0;
                loop {
                    // Only 32-bit values pass here (64-bit ones in `wide_acc`): said at the
                    // head, the value's upper half is no register on a 32-bit core.
                    acc = acc as u32 as Slot;
                    define_run!(
                        @arms loop (self, ip, code, frame, mem) (self, ip, code, frame, mem, acc, self.wide_acc)
                        $($table)*
                    );
                    ip = ip.next();
                }
            }

            /// Executes the instruction at `ip`: one threaded handler's body (inlined in each,
            /// where the kind is known, it keeps that kind's arm only).
            #[cfg(tandem_threaded)]
            #[inline(always)]
            fn step<'c>(
                &mut self,
                ip: CodePtr<'c>,
                code: CodePtr<'c>,
                frame: Frame,
                mem: MemoryView,
                acc: &mut Slot,
            ) -> Result<Step<'c>, Trap> {
                define_run!(
                    @arms step (self, ip, code, frame, mem) (self, ip, code, frame, mem, (*acc), (*acc))
                    $($table)*
                );
                Ok(Step::Next)
            }
        }
    };
}
crate::ir::for_each_numeric!(define_run);

/// Defines [`binary`] from the `binary` rows of `for_each_numeric!`.
macro_rules! define_binary {
    (
        binary { $($bin:ident: $ba:ty, $bb:ty => $br:ty, $bf:expr;)* }
        $($rest:tt)*
    ) => {
        /// Each `binary` operation on raw slots, for the slot and accumulator forms alike.
        #[allow(non_snake_case)]
        mod binary {
            use super::SlotValue;
            use crate::value::Slot;
            $(
                #[inline(always)]
                pub(super) fn $bin(a: Slot, b: Slot) -> $br {
                    ($bf)(<$ba>::from_slot(a), <$bb>::from_slot(b))
                }
            )*
        }
    };
}
crate::ir::for_each_numeric!(define_binary);

impl Executor<'_> {
    /// Runs until the outermost frame returns, with the store's dispatch.
    pub(super) fn run(&mut self) -> Result<(), Trap> {
        #[cfg(tandem_threaded)]
        let ran =
            if self.dispatch == Dispatch::Threaded { self.run_threaded() } else { self.run_loop() };
        #[cfg(not(tandem_threaded))]
        let ran = self.run_loop();
        self.record_peaks();
        ran
    }
}

/// What the run goes on with after one threaded handler's instruction.
#[cfg(tandem_threaded)]
enum Step<'c> {
    /// The next instruction.
    Next,
    /// The instruction here (a taken branch).
    Jump(CodePtr<'c>),
    /// This instruction in this frame, of the same code and memory, whose view the run
    /// takes again (a call entered a function of the running instance).
    Enter(CodePtr<'c>, Frame),
    /// This instruction in this frame, of the same code and memory, whose view the run
    /// keeps (a return to a caller of the running instance).
    Back(CodePtr<'c>, Frame),
    /// Where the executor's fields say (a call entered a function or returned).
    Resume,
    /// The next instruction, with a new view of the memory in use (it grew or switched).
    NewMemory,
    /// Nothing: the outermost call returned.
    Done,
}

/// Threaded dispatch: a handler per instruction kind, each ending in a jump to the next
/// instruction's handler, found through [`HANDLERS`] by its kind. Every jump site predicts
/// on its own (the `match` loop shares one indirect jump among all kinds), and each handler
/// is laid out alone, so adding an instruction does not move the others' code.
///
/// A handler's call of the next one is in tail position with register arguments only, which
/// LLVM turns into a jump at opt-level 2 or 3 for the targets `build.rs` allows; in a build
/// where it did not, the native stack would grow with every instruction, so this code
/// exists only there (`tandem_threaded`), and `bench`'s
/// `threaded_dispatch_runs_long_on_a_small_stack` runs every benchmark program for millions
/// of instructions, and a loop of tail calls and memory switches, on a small thread stack
/// to check it.
#[cfg(tandem_threaded)]
mod threaded {
    use super::{CodePtr, Executor, Frame, Instr, Slot, Step, Trap, TrapKind, fetch};
    use crate::raw::dispatch::{assume_kind, keep_branch};
    use crate::raw::memory::MemoryBase;

    /// How a threaded run ended: register-sized, so that every handler returns it in a
    /// register and its call of the next handler can be a jump.
    #[derive(Clone, Copy)]
    pub(super) enum Exit {
        Done,
        /// The trap is in `Executor::trap`.
        Trapped,
    }

    /// The running state, in argument registers: the executor, the instruction pointer,
    /// the frame, the start of the memory in use, the start of the running code, and `held`:
    /// the accumulator after an instruction that left a value there (a `ToAcc` form, or a
    /// slot writer that also offers its result, `Instr::offers_acc`), read only by the
    /// very next instruction (`verify_function`), and meaningless otherwise. The memory's
    /// length, which only loads and stores need, is read from the executor's view.
    type Handler = for<'a, 'b, 'c> fn(
        &'a mut Executor<'b>,
        CodePtr<'c>,
        Frame,
        MemoryBase,
        CodePtr<'c>,
        Slot,
    ) -> Exit;

    impl Executor<'_> {
        pub(super) fn run_threaded(&mut self) -> Result<(), Trap> {
            let (ip, code, frame, mem) = self.resume_point();
            match dispatch(self, ip, frame, mem.base(), code, 0) {
                Exit::Done => Ok(()),
                // `trapped` parked the trap; were it missing, still a trap, never a panic.
                Exit::Trapped => {
                    Err(self.trap.take().unwrap_or_else(|| TrapKind::Unreachable.into()))
                }
            }
        }
    }

    /// Runs the instruction at `ip` and, through its handler, the rest.
    #[inline(always)]
    fn dispatch<'c>(
        ex: &mut Executor<'_>,
        ip: CodePtr<'c>,
        frame: Frame,
        mem: MemoryBase,
        code: CodePtr<'c>,
        held: Slot,
    ) -> Exit {
        let kind = crate::raw::code::discriminant(fetch(ip));
        HANDLERS[usize::from(kind)](ex, ip, frame, mem, code, held)
    }

    /// The handler of the instructions of kind `K`.
    fn handler<'c, const K: u16>(
        ex: &mut Executor<'_>,
        ip: CodePtr<'c>,
        frame: Frame,
        base: MemoryBase,
        code: CodePtr<'c>,
        held: Slot,
    ) -> Exit {
        // `HANDLERS` sends an instruction only to its kind's handler; told so, LLVM keeps
        // one arm of `step`'s match.
        #[allow(unsafe_code)]
        // SAFETY: `HANDLERS[K]` is this handler, and `dispatch` calls the handler of the
        // instruction's kind.
        unsafe {
            assume_kind::<K>(crate::raw::code::discriminant(fetch(ip)))
        };
        // Constants per kind: each handler keeps its own way.
        let reads_acc = fetch(ip).reads_acc();
        let passes_acc = fetch(ip).leaves_acc();
        // The executor's view is the one `base` came from: every step that changes it is
        // followed by a fresh `base` from it (`Enter`, `Resume`, `NewMemory`).
        let len = ex.mem_view.len();
        #[allow(unsafe_code)]
        // SAFETY: `len` is that view's length, as above.
        let mem = unsafe { base.with_len(len) };
        let mut acc = if reads_acc { held } else { 0 };
        // A result left in the accumulator, or what `held` was (nobody reads it).
        let held = |acc: Slot| if passes_acc { acc } else { held };
        match ex.step(ip, code, frame, mem, &mut acc) {
            Ok(Step::Next) => dispatch(ex, ip.next(), frame, base, code, held(acc)),
            Ok(Step::Jump(to)) => {
                keep_branch();
                dispatch(ex, to, frame, base, code, held(acc))
            }
            // The memory's view taken again rather than kept: fewer values live through
            // the call's own work, which then needs no registers saved.
            Ok(Step::Enter(ip, frame)) => {
                let mem = ex.mem_view;
                dispatch(ex, ip, frame, mem.base(), code, 0)
            }
            Ok(Step::Back(ip, frame)) => dispatch(ex, ip, frame, base, code, 0),
            Ok(Step::Resume) => {
                let (ip, code, frame, mem) = ex.resume_point();
                dispatch(ex, ip, frame, mem.base(), code, 0)
            }
            Ok(Step::NewMemory) => {
                let mem = ex.mem_view;
                dispatch(ex, ip.next(), frame, mem.base(), code, 0)
            }
            Ok(Step::Done) => Exit::Done,
            Err(trap) => trapped(ex, trap),
        }
    }

    /// Parks `trap` for `run_threaded`: every `Exit::Trapped` comes from here.
    #[cold]
    #[inline(never)]
    fn trapped(ex: &mut Executor<'_>, trap: Trap) -> Exit {
        ex.trap = Some(trap);
        Exit::Trapped
    }

    /// How many entries the table has: whole rows of 16 ([`HANDLERS`]), at least one per kind.
    const ENTRIES: usize = 16 * 21;
    const _: () = assert!(Instr::KINDS <= ENTRIES, "add rows to `HANDLERS`");

    /// Kind `K`'s handler; past the last kind, which no `Instr` holds, the last kind's
    /// (never called: rounding the table up to whole rows needs an entry there).
    const fn entry<const K: u16>() -> Handler {
        if (K as usize) < Instr::KINDS { handler::<K> } else { handler::<{ LAST_KIND }> }
    }

    /// The last kind's discriminant.
    const LAST_KIND: u16 = Instr::KINDS as u16 - 1;

    /// One entry per kind, in discriminant order. `dispatch` indexes it by a discriminant
    /// read from an `Instr`, which is below `KINDS` (`raw::code::discriminant` tells the
    /// optimiser so), so the index needs no bounds check.
    static HANDLERS: [Handler; ENTRIES] = {
        /// The entries of kinds `16 * $row` to `16 * $row + 15`, in place in `$table`.
        macro_rules! row {
            ($table:ident, $($row:literal)*) => {$(
                let at = 16 * $row;
                $table[at] = entry::<{ 16 * $row }>();
                $table[at + 1] = entry::<{ 16 * $row + 1 }>();
                $table[at + 2] = entry::<{ 16 * $row + 2 }>();
                $table[at + 3] = entry::<{ 16 * $row + 3 }>();
                $table[at + 4] = entry::<{ 16 * $row + 4 }>();
                $table[at + 5] = entry::<{ 16 * $row + 5 }>();
                $table[at + 6] = entry::<{ 16 * $row + 6 }>();
                $table[at + 7] = entry::<{ 16 * $row + 7 }>();
                $table[at + 8] = entry::<{ 16 * $row + 8 }>();
                $table[at + 9] = entry::<{ 16 * $row + 9 }>();
                $table[at + 10] = entry::<{ 16 * $row + 10 }>();
                $table[at + 11] = entry::<{ 16 * $row + 11 }>();
                $table[at + 12] = entry::<{ 16 * $row + 12 }>();
                $table[at + 13] = entry::<{ 16 * $row + 13 }>();
                $table[at + 14] = entry::<{ 16 * $row + 14 }>();
                $table[at + 15] = entry::<{ 16 * $row + 15 }>();
            )*};
        }
        let mut table: [Handler; ENTRIES] = [handler::<0>; ENTRIES];
        row!(table, 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20);
        table
    };
}

/// Where the run loop goes on after a rare instruction.
enum Rare {
    /// With the next instruction.
    Next,
    /// Where the executor's fields say (a tail call entered a function or returned).
    Resume,
    /// Nowhere: the outermost call returned.
    Done,
}

impl Executor<'_> {
    /// Global `index` of the running instance: the run loop's `global.get`.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn global(&self, index: u32) -> Slot {
        // SAFETY: `index` is an operand of verified code, so below its module's globals,
        // the length of the running instance's map (`verify_function`, and
        // `Linker::instantiate` for the map); the view is that instance's, renewed on
        // every switch, and the store's globals live for the call.
        unsafe { self.globals_view.get(index) }
    }

    /// Writes global `index` of the running instance: the run loop's `global.set`.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn set_global(&mut self, index: u32, value: Slot) {
        // SAFETY: as in `global`.
        unsafe { self.globals_view.set(index, value) }
    }

    /// Executes one of the instructions that share the run loop's rare arm.
    #[inline(never)]
    fn rare(&mut self, instr: Instr) -> Result<Rare, Trap> {
        let done = |outermost: bool| if outermost { Rare::Done } else { Rare::Resume };
        Ok(match instr {
            Instr::ReturnCall { func, base } => done(self.return_call(func, base)?),
            Instr::ReturnCallIndirect { ty, base, index, table } => {
                done(self.return_call_indirect(ty, base, index, table)?)
            }
            Instr::UseMemory { mem } => {
                self.use_memory(mem);
                Rare::Next
            }
            Instr::MemoryCopyAcross { base, dst_mem, src_mem } => {
                self.memory_copy_across(base, dst_mem, src_mem)?;
                Rare::Next
            }
            // The run loop sends no other instruction here.
            _ => return Err(TrapKind::Unreachable.into()),
        })
    }
}

/// The instruction at `ip`: the run loop's fetch.
#[inline(always)]
#[allow(unsafe_code)]
fn fetch(ip: CodePtr<'_>) -> &Instr {
    // SAFETY: the run loop only moves `ip` within the running function's code, which
    // the module keeps alive: the translator proved the function ends in an instruction
    // that does not fall through and that its branch targets (each at an instruction, not
    // inside one) and branch-table entries lie within it; calls resume after the call,
    // which is not the function's last.
    unsafe { ip.get() }
}

/// Slot `r` of the running frame: the run loop's operand read.
#[inline(always)]
#[allow(unsafe_code)]
fn reg(frame: Frame, r: Reg) -> Slot {
    // SAFETY: `r` is an operand of translated code, so below its function's frame
    // size (`Translator::finish` checks every slot operand of every instruction), and
    // `enter_local` checked that the frame fits in the stack, which lives as long as the
    // executor.
    unsafe { frame.get(r) }
}

/// The `i32.add` of slots `base` and `index`: a fused load or store's address.
#[inline(always)]
fn sum(frame: Frame, base: Reg, index: Reg) -> Slot {
    (reg(frame, base) as u32).wrapping_add(reg(frame, index) as u32) as Slot
}

/// A loop closer's update, `slot = slot + step` as `i32.add` (the low half written): the new
/// value, which the branch then tests. Operands that alias `slot` read it as written, as
/// the two instructions it replaces would.
#[inline(always)]
fn add_in_place(frame: Frame, slot: Reg, step: Reg) -> u32 {
    let v = sum(frame, slot, step) as u32;
    set_low(frame, slot, v);
    v
}

/// Writes slot `r` of the running frame.
#[inline(always)]
#[allow(unsafe_code)]
fn set(frame: Frame, r: Reg, v: Slot) {
    // SAFETY: as in `reg`.
    unsafe { frame.set(r, v) }
}

/// Zeroes the `zeros` slots of the running frame from `first` (a function's declared
/// locals) and copies `consts` after them: the frame's set-up.
#[inline(always)]
#[allow(unsafe_code)]
fn set_up(frame: Frame, first: Reg, zeros: u16, consts: &[Slot]) {
    // SAFETY: the set-up's slots are operands of translated code, its first and last below
    // the frame's size (`Instr::for_each_slot`), so as in `reg`.
    unsafe { frame.set_up(first.into(), zeros.into(), consts) }
}

/// Writes the low half of slot `r` of the running frame (a 32-bit result).
#[inline(always)]
#[allow(unsafe_code)]
fn set_low(frame: Frame, r: Reg, v: u32) {
    // SAFETY: as in `reg`.
    unsafe { frame.set_low(r, v) }
}
