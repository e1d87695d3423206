//! Blocks, labels and branches: the control frames of the body being translated, the
//! copies that carry values to a label, and the patching of forward branches once
//! their target is known.

use alloc::vec::Vec;

use wasmparser::BlockType;

use crate::error::Error;
use crate::heap::board_bytes;
use crate::ir::{Instr, Reg};

use super::Translator;
use super::stack::Operand;
use crate::module::malformed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CtrlKind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

/// A control frame: a label and the stack height its values land at.
pub(super) struct Ctrl {
    pub(super) kind: CtrlKind,
    /// Operand height at entry, below the block's parameters.
    pub(super) height: u32,
    pub(super) params: u32,
    pub(super) results: u32,
    /// A `Loop`'s first instruction (branch target).
    pub(super) start: u32,
    /// An `If`'s `BrIfEqz`, to point at the `else` (or the end if there is none).
    pub(super) else_patch: Option<usize>,
    /// The last forward branch to patch with the end's position. Each such branch's target
    /// field holds the one before it, plus one (0: none), until then: a chain through the
    /// code that needs no list (and no allocation per block).
    pub(super) last_patch: Option<u32>,
    pub(super) entry_reachable: bool,
}

impl Ctrl {
    /// Values a branch to this label carries.
    fn branch_arity(&self) -> u32 {
        if self.kind == CtrlKind::Loop { self.params } else { self.results }
    }
}

impl Translator<'_> {
    /// The innermost control frame (there is always one until the final `end`).
    pub(super) fn ctrl(&self) -> Result<&Ctrl, Error> {
        self.ctrls.last().ok_or_else(|| self.err("no enclosing block"))
    }

    pub(super) fn innermost(&mut self) -> Result<&mut Ctrl, Error> {
        let (func, offset) = (self.func_index, self.offset);
        // Built only when missing: an `Error` made and dropped on every call costs.
        match self.ctrls.last_mut() {
            Some(ctrl) => Ok(ctrl),
            None => Err(Error::Translate { reason: "no enclosing block", func, offset }),
        }
    }

    fn block_arity(&self, ty: BlockType) -> Result<(u32, u32), Error> {
        match ty {
            BlockType::Empty => Ok((0, 0)),
            BlockType::Type(_) => Ok((0, 1)),
            BlockType::FuncType(i) => {
                let ty = self
                    .module
                    .types
                    .get(i as usize)
                    .ok_or_else(|| self.err("unknown block type"))?;
                Ok((ty.params().len() as u32, ty.results().len() as u32))
            }
        }
    }

    /// Enters a block whose parameters are the top `params` entries.
    pub(super) fn enter(&mut self, kind: CtrlKind, ty: BlockType) -> Result<(), Error> {
        let (params, results) = self.block_arity(ty)?;
        let entry_reachable = self.reachable;
        let height = if entry_reachable {
            self.need(params)?;
            // Paths into and out of the block must agree on where values are.
            self.materialize_from(0)?;
            self.height() - params
        } else {
            self.height()
        };
        let ctrl = Ctrl {
            kind,
            height,
            params,
            results,
            start: 0,
            else_patch: None,
            last_patch: None,
            entry_reachable,
        };
        let what = self.heap_use();
        self.heap.push(&mut self.ctrls, ctrl, what)?;
        self.loops += u32::from(kind == CtrlKind::Loop);
        if !entry_reachable {
            // Unreachable blocks have no parameters on the (empty) model stack.
            self.push_results(params)?;
        }
        Ok(())
    }

    /// The control frame `depth` labels out from the innermost one.
    fn label_frame(&self, depth: u32) -> Result<usize, Error> {
        let n = self.ctrls.len();
        if depth as usize >= n {
            return Err(self.err("unknown label"));
        }
        Ok(n - 1 - depth as usize)
    }

    /// True if carrying the top `n` values to heights `to..` needs copies.
    fn needs_copies(&self, to: u32, n: u32) -> Result<bool, Error> {
        let from = self.height() - n;
        for i in 0..n {
            if self.operand_slot(from + i)? != self.slot(to + i)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Emits copies carrying the top `n` values to heights `to..`, without
    /// changing the model stack (the fall-through path did not execute them).
    /// Lowest first is safe: targets lie at or below their sources.
    fn emit_copies(&mut self, to: u32, n: u32) -> Result<(), Error> {
        let from = self.height() - n;
        let all_temp = self.stack[from as usize..].iter().all(|o| *o == Operand::Temp);
        if all_temp && n > 1 {
            let (dst, src) = (self.slot(to)?, self.slot(from)?);
            if dst != src {
                let count = n as u16;
                self.emit(Instr::CopyN { dst, src, count })?;
            }
            return Ok(());
        }
        for i in 0..n {
            let (dst, src) = (self.slot(to + i)?, self.operand_slot(from + i)?);
            if dst != src {
                self.emit(Instr::Copy { dst, src })?;
            }
        }
        Ok(())
    }

    /// The instruction returning the top `results` values, after any copies it needs.
    fn return_instr(&mut self) -> Result<Instr, Error> {
        let n = self.results;
        self.need(n)?;
        Ok(match n {
            0 => Instr::Return0,
            1 => Instr::Return1 { src: self.operand_slot(self.height() - 1)? },
            _ => {
                let first = self.height() - n;
                self.emit_copies(first, n)?;
                Instr::ReturnN { src: self.slot(first)?, count: n as u16 }
            }
        })
    }

    /// Emits an unconditional branch to the label `depth` out (copies included).
    pub(super) fn branch(&mut self, depth: u32) -> Result<(), Error> {
        let target = self.label_frame(depth)?;
        if self.ctrls[target].kind == CtrlKind::Func {
            let ret = self.return_instr()?;
            self.emit(ret)?;
            return Ok(());
        }
        let (to, n) = (self.ctrls[target].height, self.ctrls[target].branch_arity());
        self.need(n)?;
        self.emit_copies(to, n)?;
        self.jump(target, |target| Instr::Br { target })
    }

    /// Emits a jump to control frame `target`'s label, patched later if forward.
    fn jump(&mut self, target: usize, make: impl FnOnce(u32) -> Instr) -> Result<(), Error> {
        let ctrl = &self.ctrls[target];
        if ctrl.kind == CtrlKind::Loop {
            let start = ctrl.start;
            self.emit(make(start))?;
        } else {
            let at = self.emit(make(0))?;
            self.add_patch(target, at)?;
        }
        Ok(())
    }

    /// Records that the branch at `at` jumps to control frame `target`'s end: links it
    /// into the frame's chain ([`Ctrl::last_patch`]).
    fn add_patch(&mut self, target: usize, at: usize) -> Result<(), Error> {
        let (func, offset) = (self.func_index, self.offset);
        let Some(ctrl) = self.ctrls.get_mut(target) else {
            return Err(Error::Translate { reason: "no enclosing block", func, offset });
        };
        // `at` was emitted, so it is below `MAX_CODE`, within `u32`.
        let link = ctrl.last_patch.map_or(0, |before| before + 1);
        ctrl.last_patch = Some(at as u32);
        *self.pending_target(at)? = link;
        Ok(())
    }

    /// Points the chain of branches ending at `last` (see [`Ctrl::last_patch`]) at `here`.
    fn patch_chain(&mut self, last: Option<u32>, here: u32) -> Result<(), Error> {
        let mut next = last;
        while let Some(at) = next {
            let target = self.pending_target(at as usize)?;
            // Each link is an earlier branch's index plus one: the walk ends.
            next = core::mem::replace(target, here).checked_sub(1);
        }
        Ok(())
    }

    /// The target field of the pending branch at `at` (a chain member, an `if`'s skip, its
    /// jump over the `else`): one without a field would be left on its link or placeholder,
    /// an earlier position that verification could take for a loop, so it is an error,
    /// never skipped.
    fn pending_target(&mut self, at: usize) -> Result<&mut u32, Error> {
        let (func, offset) = (self.func_index, self.offset);
        self.code.get_mut(at).and_then(Instr::branch_target_mut).ok_or(Error::Translate {
            reason: "a pending branch without a target",
            func,
            offset,
        })
    }

    fn pop_ctrl(&mut self) -> Result<Ctrl, Error> {
        self.ctrls.pop().ok_or_else(|| self.err("no enclosing block"))
    }

    /// Leaves the rest of the block unreachable.
    pub(super) fn set_unreachable(&mut self) -> Result<(), Error> {
        let height = self.ctrl()?.height;
        self.stack.truncate(height as usize);
        self.reachable = false;
        Ok(())
    }

    pub(super) fn br_if(&mut self, depth: u32) -> Result<(), Error> {
        let (if_true, if_false) = self.pop_condition()?;
        let target = self.label_frame(depth)?;
        let is_return = self.ctrls[target].kind == CtrlKind::Func;
        let (to, n) = (self.ctrls[target].height, self.ctrls[target].branch_arity());
        self.need(n)?;
        if !is_return && !self.needs_copies(to, n)? {
            return self.jump(target, |target| with_target(if_true, target));
        }
        let skip = self.emit(if_false)?;
        self.branch(depth)?;
        let here = self.label()?;
        *self.pending_target(skip)? = here;
        Ok(())
    }

    pub(super) fn br_table(&mut self, table: &wasmparser::BrTable<'_>) -> Result<(), Error> {
        let index = self.pop()?;
        let mut depths = Vec::new();
        let what = self.heap_use();
        self.heap.reserve_exact(&mut depths, table.len() as usize + 1, what)?;
        for d in table.targets() {
            depths.push(d.map_err(malformed)?);
        }
        depths.push(table.default());
        let result = self.br_table_entries(index, table.len(), &depths);
        self.heap.release(board_bytes::<u32>(depths.capacity()));
        result
    }

    /// `br_table`'s code for the targets `depths` (the default last).
    fn br_table_entries(&mut self, index: Reg, len: u32, depths: &[u32]) -> Result<(), Error> {
        self.emit(Instr::BrTable { index, len })?;
        let first_entry = self.code.len();
        // Entries first (placeholders), then stubs for the targets that need copies.
        for _ in 0..depths.len() {
            self.emit(Instr::Unreachable)?;
        }
        let mut stubs: Vec<(u32, u32)> = Vec::new();
        for (i, &depth) in depths.iter().enumerate() {
            let at = first_entry + i;
            let target = self.label_frame(depth)?;
            let (to, n) = (self.ctrls[target].height, self.ctrls[target].branch_arity());
            self.need(n)?;
            let is_return = self.ctrls[target].kind == CtrlKind::Func;
            let direct = !self.needs_copies(to, n)?;
            if direct && is_return {
                self.code[at] = self.return_instr()?;
            } else if direct {
                let ctrl = &self.ctrls[target];
                if ctrl.kind == CtrlKind::Loop {
                    self.code[at] = Instr::Br { target: ctrl.start };
                } else {
                    self.code[at] = Instr::Br { target: 0 };
                    self.add_patch(target, at)?;
                }
            } else {
                let stub = match stubs.iter().find(|(d, _)| *d == depth) {
                    Some(&(_, pc)) => pc,
                    None => {
                        let pc = self.label()?;
                        self.branch(depth)?;
                        stubs.push((depth, pc));
                        pc
                    }
                };
                self.code[at] = Instr::Br { target: stub };
            }
        }
        self.set_unreachable()
    }

    pub(super) fn else_(&mut self) -> Result<(), Error> {
        let ctrl = self.ctrl()?;
        if ctrl.kind != CtrlKind::If {
            return Err(self.err("`else` outside of `if`"));
        }
        if self.reachable {
            self.leave_values()?;
            let at = self.emit(Instr::Br { target: 0 })?;
            let innermost = self.ctrls.len().wrapping_sub(1);
            self.add_patch(innermost, at)?;
        }
        let here = self.label()?;
        let ctrl = self.innermost()?;
        ctrl.kind = CtrlKind::Else;
        let (height, params, entry_reachable) = (ctrl.height, ctrl.params, ctrl.entry_reachable);
        if let Some(at) = ctrl.else_patch.take() {
            *self.pending_target(at)? = here;
        }
        self.stack.truncate(height as usize);
        self.push_results(params)?;
        self.reachable = entry_reachable;
        Ok(())
    }

    /// Checks the block's results are exactly the values above its base and
    /// materialises them in their own slots (where a branch would put them).
    fn leave_values(&mut self) -> Result<(), Error> {
        let ctrl = self.ctrl()?;
        let (height, results) = (ctrl.height, ctrl.results);
        if self.height() != height + results {
            return Err(self.err("values remaining on the stack at the end of a block"));
        }
        self.materialize_from(height)
    }

    pub(super) fn end(&mut self) -> Result<(), Error> {
        if self.ctrls.len() == 1 {
            if self.reachable {
                if self.height() != self.results {
                    return Err(
                        self.err("values remaining on the stack at the end of the function")
                    );
                }
                let ret = self.return_instr()?;
                self.emit(ret)?;
            }
            self.pop_ctrl()?;
            self.done = true;
            return Ok(());
        }
        if self.reachable {
            self.leave_values()?;
        }
        let ctrl = self.pop_ctrl()?;
        self.loops -= u32::from(ctrl.kind == CtrlKind::Loop);
        let here = self.label()?;
        if let Some(at) = ctrl.else_patch {
            if ctrl.params != ctrl.results {
                return Err(self.err("`if` without `else` must leave its parameters"));
            }
            *self.pending_target(at)? = here;
        }
        self.patch_chain(ctrl.last_patch, here)?;
        self.reachable = match ctrl.kind {
            CtrlKind::Loop => self.reachable,
            _ => self.reachable || ctrl.last_patch.is_some() || ctrl.else_patch.is_some(),
        };
        self.stack.truncate(ctrl.height as usize);
        self.push_results(ctrl.results)?;
        Ok(())
    }
}

/// `branch` (a branch instruction) aimed at `target`.
fn with_target(mut branch: Instr, target: u32) -> Instr {
    if let Some(t) = branch.branch_target_mut() {
        *t = target;
    }
    branch
}
