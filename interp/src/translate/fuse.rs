//! Fusions: the last instruction taken back, or redirected, when its consumer can
//! absorb it. A 32-bit comparison (or `i32.eqz`) just computed becomes a compare-and-branch
//! or a compare-and-select (`i32.eqz` swaps the select's choices instead), an
//! `i32.add` just computed becomes the address of a load or store, and a result about
//! to be copied into a local is written there directly. Each applies only to the
//! instruction emitted last, with nothing emitted or labelled since (the
//! translator's `retarget`), so no other reader can see the difference. An `i32.load`'s
//! add reaches back one more: an `i32.shl` by 2 just before it, of a temp, with no label
//! between, scales its index (`take_scaled_index`).
//!
//! Pairs: an instruction about to be emitted joins the one before it when the two have a
//! fused form and no branch targets the position between them (`fuse_pair`): two copies,
//! a loop counter's add (or count-down sub) and the branch that tests it, an add and the
//! branch after it, an add and a second add of its result, a global read into an add or sub
//! and its result stored back (LLVM's stack pointer), an add stored into a global. The fused
//! instruction does what the two did, in the same order, every write included: one dispatch
//! fewer. A global read back into the slot it was just written from is dropped: the slot
//! holds the value already; so is a `local.set` of zero into a declared local (one of the
//! first 64) that nothing has written and no label reached yet: it holds the zero its frame's
//! set-up wrote ([`Translator::untouched`]).

use wasmparser::MemArg;

use crate::error::Error;
use crate::ir::{Instr, Reg};

use super::Translator;
use super::stack::Operand;

/// Builds a load or store whose address is an `i32.add` fused in: from
/// `(dst, base, index, offset)` for a load, `(base, index, value, offset)` for a store.
type FusedAccess = fn(Reg, Reg, Reg, u32) -> Instr;

/// Builds a select from `(dst, lhs, rhs, a, b)`: a compare-and-select, or the plain one.
type SelectForm = fn(Reg, Reg, Reg, Reg, Reg) -> Instr;

/// Reads the `compare_branch` rows of `for_each_numeric!` into
/// [`Translator::pop_condition`].
macro_rules! fuse_condition {
    (
        binary { $($bin:ident: $ba:ty, $bb:ty => $br:ty, $bf:expr;)* }
        binary_trap { $($bint:ident: $bta:ty, $btb:ty => $btr:ty, $btf:expr;)* }
        unary { $($un:ident: $ua:ty => $ur:ty, $uf:expr;)* }
        unary_trap { $($unt:ident: $uta:ty => $utr:ty, $utf:expr;)* }
        compare_branch { $($cb:ident: $cbc:ident, $cbn:ident, $cba:ident, $cbm:ident, $cbt:ty, $cbf:expr;)* }
        accumulated { $($acc:ident: $acc_to:ident, $acc_from:ident, $acc_both:ident, $acc_commutes:literal, $acc_width:ident, $acc_offers:literal;)* }
    ) => {
        impl Translator<'_> {
            /// Pops a branch condition, as the pair (branch if it holds, branch if it
            /// does not), targets still 0. A comparison or `i32.eqz` that just computed
            /// the condition is taken back and fused into the branch.
            pub(super) fn pop_condition(&mut self) -> Result<(Instr, Instr), Error> {
                let fused = match self.computed_just_now(0)? {
                    $( Some(Instr::$cbc { lhs, rhs, .. }) => Some((
                        Instr::$cb { lhs, rhs, target: 0 },
                        Instr::$cbn { lhs, rhs, target: 0 },
                    )), )*
                    Some(Instr::I32Eqz { src, .. }) => Some((
                        Instr::BrIfEqz { cond: src, target: 0 },
                        Instr::BrIfNez { cond: src, target: 0 },
                    )),
                    _ => None,
                };
                if let Some(pair) = fused {
                    // The comparison's result was only this condition: its slot is dead.
                    self.take_back();
                    self.stack.pop();
                    return Ok(pair);
                }
                let cond = self.pop()?;
                Ok((Instr::BrIfNez { cond, target: 0 }, Instr::BrIfEqz { cond, target: 0 }))
            }
        }
    };
}
crate::ir::for_each_numeric!(fuse_condition);

impl Translator<'_> {
    /// `select`. A 32-bit comparison that just computed the condition is taken back and
    /// fused in (its operands swapped, or the choices, for the three fused forms), and a
    /// condition `i32.eqz` just computed is taken back, the choices swapped.
    pub(super) fn select(&mut self) -> Result<(), Error> {
        let lt_u: SelectForm = |dst, lhs, rhs, a, b| Instr::SelectI32LtU { dst, lhs, rhs, a, b };
        let lt_s: SelectForm = |dst, lhs, rhs, a, b| Instr::SelectI32LtS { dst, lhs, rhs, a, b };
        let eq: SelectForm = |dst, lhs, rhs, a, b| Instr::SelectI32Eq { dst, lhs, rhs, a, b };
        // The plain select of condition `lhs`.
        let plain: SelectForm = |dst, cond, _, a, b| Instr::Select { dst, cond, a, b };
        // (form, its lhs, its rhs, whether the choices swap)
        let fused = match self.computed_just_now(0)? {
            Some(Instr::I32LtU { lhs, rhs, .. }) => Some((lt_u, lhs, rhs, false)),
            Some(Instr::I32GtU { lhs, rhs, .. }) => Some((lt_u, rhs, lhs, false)),
            Some(Instr::I32GeU { lhs, rhs, .. }) => Some((lt_u, lhs, rhs, true)),
            Some(Instr::I32LeU { lhs, rhs, .. }) => Some((lt_u, rhs, lhs, true)),
            Some(Instr::I32LtS { lhs, rhs, .. }) => Some((lt_s, lhs, rhs, false)),
            Some(Instr::I32GtS { lhs, rhs, .. }) => Some((lt_s, rhs, lhs, false)),
            Some(Instr::I32GeS { lhs, rhs, .. }) => Some((lt_s, lhs, rhs, true)),
            Some(Instr::I32LeS { lhs, rhs, .. }) => Some((lt_s, rhs, lhs, true)),
            Some(Instr::I32Eq { lhs, rhs, .. }) => Some((eq, lhs, rhs, false)),
            Some(Instr::I32Ne { lhs, rhs, .. }) => Some((eq, lhs, rhs, true)),
            Some(Instr::I32Eqz { src, .. }) => Some((plain, src, src, true)),
            _ => None,
        };
        let (form, lhs, rhs, swap) = match fused {
            Some(fused) => {
                // The comparison's result was only this condition: its slot is dead.
                self.take_back();
                self.stack.pop();
                fused
            }
            None => {
                let cond = self.pop()?;
                (plain, cond, cond, false)
            }
        };
        let b = self.pop()?;
        let a = self.pop()?;
        let (a, b) = if swap { (b, a) } else { (a, b) };
        let dst = self.push_temp()?;
        self.emit_result(form(dst, lhs, rhs, a, b))
    }

    /// The last instruction, if it computed the entry `depth` below the top (its temp)
    /// and nothing has been emitted or labelled since: its consumer may fuse it in.
    fn computed_just_now(&self, depth: u32) -> Result<Option<Instr>, Error> {
        self.need(depth + 1)?;
        let h = self.height() - 1 - depth;
        let (Some(at), Operand::Temp) = (self.retarget, self.stack[h as usize]) else {
            return Ok(None);
        };
        if at + 1 != self.code.len() {
            return Ok(None);
        }
        let slot = self.slot(h)?;
        let mut last = self.code[at];
        let wrote_it = last.result_slot_mut().is_some_and(|dst| *dst == slot);
        Ok(wrote_it.then_some(last))
    }

    /// Takes back the last instruction, which [`Translator::computed_just_now`]
    /// returned and its consumer fused in: its result is dead.
    fn take_back(&mut self) {
        self.code.pop();
        self.retarget = None;
    }

    /// If the entry `depth` below the top is an `i32.add` just computed, takes it back
    /// and returns its operands: the caller fuses it into a load or store's address.
    fn take_address_add(&mut self, depth: u32) -> Result<Option<(Reg, Reg)>, Error> {
        match self.computed_just_now(depth)? {
            Some(Instr::I32Add { lhs, rhs, .. }) => {
                self.take_back();
                Ok(Some((lhs, rhs)))
            }
            _ => Ok(None),
        }
    }

    /// If the instruction before an address's `i32.add`, just taken back, is an `i32.shl`
    /// by `shift` that produced one of its operands (a temp), takes it back too and
    /// returns the add's other operand and the unshifted index: an array element's
    /// address.
    fn take_scaled_index(&mut self, (lhs, rhs): (Reg, Reg), shift: u32) -> Option<(Reg, Reg)> {
        // The add's position, now empty, must be no branch target: the fused access
        // stands where the shift stood.
        let at = self.joinable_last()?;
        let Instr::I32Shl { dst, lhs: index, rhs: amount } = self.code[at] else {
            return None;
        };
        let base = match (lhs == dst, rhs == dst) {
            (true, false) => rhs,
            (false, true) => lhs,
            _ => return None,
        };
        if u32::from(dst) < self.stack_base || self.constant_in(amount)? as u32 & 31 != shift {
            return None;
        }
        self.code.pop();
        Some((base, index))
    }

    /// `make` builds the load from its address slot; `fused`, if the load has such a
    /// form, from an `i32.add`'s operands when the address is one just computed; `scaled`,
    /// if the load has that form too, when the add's index is an `i32.shl` by 2 just
    /// before it (4-byte elements).
    pub(super) fn load(
        &mut self,
        m: &MemArg,
        make: fn(Reg, Reg, u32) -> Instr,
        fused: Option<FusedAccess>,
        scaled: Option<FusedAccess>,
    ) -> Result<(), Error> {
        let (offset, mem) = self.memarg(m)?;
        let fused = match fused {
            Some(fused) => self.take_address_add(0)?.map(|sum| {
                let scaled =
                    scaled.and_then(|scaled| Some((scaled, self.take_scaled_index(sum, 2)?)));
                scaled.unwrap_or((fused, sum))
            }),
            None => None,
        };
        let addr = self.pop()?;
        let dst = self.push_temp()?;
        let load = match fused {
            Some((fused, (base, index))) => fused(dst, base, index, offset),
            None => make(dst, addr, offset),
        };
        self.emit_on_memory(mem, load, true)
    }

    /// As [`Translator::load`], for a store (`addr, value` in `make`, `base, index,
    /// value` in `fused`).
    pub(super) fn store(
        &mut self,
        m: &MemArg,
        make: fn(Reg, Reg, u32) -> Instr,
        fused: FusedAccess,
    ) -> Result<(), Error> {
        let (offset, mem) = self.memarg(m)?;
        let sum = self.take_address_add(1)?;
        let value = self.pop()?;
        let addr = self.pop()?;
        let store = match sum {
            Some((base, index)) => fused(base, index, value, offset),
            None => make(addr, value, offset),
        };
        self.emit_on_memory(mem, store, false)
    }

    /// `local.set`/`local.tee`: writes the top value into a local.
    pub(super) fn set_local(&mut self, index: u32, tee: bool) -> Result<(), Error> {
        let local = self.local(index)?;
        self.need(1)?;
        let top = self.height() - 1;
        if self.sets_zero_again(local)? {
            self.stack.pop();
            if tee {
                self.push(Operand::Pending(local))?;
            }
            return Ok(());
        }
        self.untouched &= !self.untouched_bit(local.into());
        let value = self.stack[top as usize];
        self.stack.pop();
        let pending = self.stack.contains(&Operand::Pending(local));
        // Redirect the instruction that just computed the value into the local.
        let retargeted = match (value, self.retarget, pending) {
            (Operand::Temp, Some(at), false) => {
                let slot = self.slot(top)?;
                match self.code[at].result_slot_mut() {
                    Some(dst) if *dst == slot => {
                        *dst = local;
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        };
        if !retargeted {
            let src = match value {
                Operand::Temp => self.slot(top)?,
                Operand::Pending(l) => l,
            };
            // Readers of the old value must get it before it is overwritten.
            self.materialize_where(0, |l| l == local)?;
            if src != local {
                self.emit(Instr::Copy { dst: local, src })?;
            }
        }
        self.retarget = None;
        if tee {
            self.push(Operand::Pending(local))?;
        }
        Ok(())
    }
}

impl Translator<'_> {
    /// The bit of [`Translator::untouched`] that stands for slot `local`: 0 for a parameter
    /// and for a declared local past the first 64.
    pub(super) fn untouched_bit(&self, local: u32) -> u64 {
        1u64.checked_shl(local.wrapping_sub(self.params)).unwrap_or(0)
    }

    /// Whether `local.set` of the top value into `local` would write the zero the local
    /// still holds from the frame's set-up (LLVM zeroes accumulators at a function's start):
    /// the zero a constant slot holds, or one the instruction just emitted loaded, which is
    /// then taken back. The caller emits nothing.
    fn sets_zero_again(&mut self, local: Reg) -> Result<bool, Error> {
        if self.untouched & self.untouched_bit(local.into()) == 0 {
            return Ok(false);
        }
        if let Some(&Operand::Pending(c)) = self.stack.last() {
            return Ok(self.constant_in(c) == Some(0));
        }
        // A zero of any type is loaded by `Const32` (`Translator::constant`).
        let zero = matches!(self.computed_just_now(0)?, Some(Instr::Const32 { value: 0, .. }));
        if zero {
            self.take_back();
        }
        Ok(zero)
    }
}

impl Translator<'_> {
    /// The index of the last instruction, if what comes next may join it: the position
    /// after it is no branch target, and it is this function's (its first instruction, or
    /// one a branch may land on, stands alone).
    fn joinable_last(&self) -> Option<usize> {
        let at = self.code.len().checked_sub(1)?;
        (self.labelled != self.code.len() && at >= self.entry).then_some(at)
    }

    /// Folds `next` into the last instruction if the pair has a fused form and nothing
    /// may jump between them: returns the fused instruction's index (where a branch's
    /// target is patched later), or `None` to emit `next` as it is.
    pub(super) fn fuse_pair(&mut self, next: Instr) -> Option<usize> {
        let at = self.joinable_last()?;
        let fused = match (self.code[at], next) {
            (Instr::Copy { dst, src }, Instr::Copy { dst: dst2, src: src2 }) => {
                Instr::Copy2 { dst, src, dst2, src2 }
            }
            (Instr::I32Add { dst, lhs, rhs }, Instr::Br { target }) => {
                Instr::I32AddBr { dst, lhs, rhs, target }
            }
            // A second add of the first's result (either side: addition commutes).
            (Instr::I32Add { dst, lhs, rhs }, Instr::I32Add { dst: dst2, lhs: l2, rhs: r2 })
                if l2 == dst || r2 == dst =>
            {
                let rhs2 = if l2 == dst { r2 } else { l2 };
                Instr::I32AddAdd { dst, lhs, rhs, dst2, rhs2 }
            }
            // A global read into an add or sub (the global the minuend) of the slot it was
            // read into, and such a result stored back into the same global.
            (Instr::GlobalGet { dst: t, global }, Instr::I32Add { dst, lhs, rhs })
                if dst == t && (lhs == t) != (rhs == t) =>
            {
                let rhs = if lhs == t { rhs } else { lhs };
                Instr::I32AddGlobal { dst, rhs, global }
            }
            (Instr::GlobalGet { dst: t, global }, Instr::I32Sub { dst, lhs, rhs })
                if dst == t && lhs == t && rhs != t =>
            {
                Instr::I32SubGlobal { dst, rhs, global }
            }
            (Instr::I32AddGlobal { dst, rhs, global }, Instr::GlobalSet { src, global: set })
                if src == dst && set == global =>
            {
                Instr::GlobalI32Add { dst, rhs, global }
            }
            (Instr::I32SubGlobal { dst, rhs, global }, Instr::GlobalSet { src, global: set })
                if src == dst && set == global =>
            {
                Instr::GlobalI32Sub { dst, rhs, global }
            }
            (Instr::I32Add { dst, lhs, rhs }, Instr::GlobalSet { src, global }) if src == dst => {
                Instr::I32AddGlobalSet { dst, lhs, rhs, global }
            }
            // Reading back a global just written from a slot into that slot: the slot
            // already holds the value (a counter kept in a global, tested after its update).
            (
                last @ (Instr::GlobalI32Add { dst, global, .. }
                | Instr::GlobalI32Sub { dst, global, .. }
                | Instr::I32AddGlobalSet { dst, global, .. }),
                Instr::GlobalGet { dst: read_into, global: read },
            ) if read_into == dst && read == global => last,
            (Instr::I32Sub { dst, lhs, rhs: step }, Instr::BrIfNez { cond, target })
                if dst == lhs && cond == dst =>
            {
                Instr::SubBrIfNez { slot: dst, step, target }
            }
            (Instr::I32Add { dst, lhs, rhs }, branch) => {
                // An in-place update of the slot the branch tests, `lhs` side of a comparison.
                let step = match (dst == lhs, dst == rhs) {
                    (true, _) => rhs,
                    (_, true) => lhs,
                    _ => return None,
                };
                match branch {
                    Instr::BrIfI32Ne { lhs, rhs: end, target } if lhs == dst => {
                        Instr::AddBrIfI32Ne { slot: dst, step, end, target }
                    }
                    Instr::BrIfI32LtU { lhs, rhs: end, target } if lhs == dst => {
                        Instr::AddBrIfI32LtU { slot: dst, step, end, target }
                    }
                    Instr::BrIfI32LtS { lhs, rhs: end, target } if lhs == dst => {
                        Instr::AddBrIfI32LtS { slot: dst, step, end, target }
                    }
                    Instr::BrIfNez { cond, target } if cond == dst => {
                        Instr::AddBrIfNez { slot: dst, step, target }
                    }
                    _ => return None,
                }
            }
            _ => return None,
        };
        self.code[at] = fused;
        Some(at)
    }
}
