//! Translation of one function body from wasm operators into the internal code.
//!
//! The translator keeps a compile-time model of the operand stack. Each entry is
//! either materialised in its own slot or still pending in another slot, read
//! straight from there by its consumer: a `local.get` in the local's slot, a
//! constant in its constant slot. Pending locals are materialised when the local is
//! overwritten; pending entries of both kinds at control-flow boundaries and where an
//! instruction needs its operands in consecutive slots (calls, bulk ops).
//!
//! A frame is laid out `[locals | constants | operand stack]`. The constants are those
//! the function uses in loops or often, given slots as they earn them ([`ConstUses`]) and
//! copied into the frame on entry, so a loop's `i32.const 1; i32.add` costs one
//! instruction, not two. Until the body's end tells how many there are, the temps are
//! numbered above room for the most, and the frame's set-up is a placeholder: both are
//! settled by [`Translator::finish`].
//!
//! It never trusts the module: with on-device validation off, every index, every
//! stack height and every branch depth is checked here, and a violation is an
//! `Error::Translate`, so the executor can rely on its invariants without checks
//! of its own (slots within the frame, branch targets within the code).
//!
//! One [`Translator`] per function body, its methods split by job:
//!
//! - this file: the translator's state, its entry point and code emission;
//! - [`stack`]: the operand-stack model (pending and materialised entries);
//! - [`control`]: blocks, labels and branches;
//! - [`read`]: the reading of the body, each operator validated (where the module is
//!   validated here) and then translated;
//! - [`visit`]: the operator switch, one arm per wasm operator;
//! - [`fuse`]: taking back the last instruction when its consumer absorbs it
//!   (compare-and-branch, add-into-address, result into a local), fused pairs, and the
//!   writes that change nothing (a zero into a local that still holds its set-up's zero);
//! - [`consts`]: which constants earn slots, and constant operands;
//! - [`acc`]: results passed to the next instruction in the accumulator;
//! - [`check`]: what the translator checks rather than trusts, in the operators'
//!   indices and in the finished code.

use alloc::vec::Vec;
use core::ops::Range;

use wasmparser::FunctionBody;

use crate::config::Config;
use crate::error::Error;
use crate::heap::{HeapAccount, HeapUse, board_bytes, board_sizes};
use crate::ir::{Instr, MAX_CODE, Reg, frame_set_up, target_at};
use crate::module::{BodyValidator, FuncHeader, ModuleInner, malformed};
use crate::value::Slot;

use consts::{ConstUses, MAX_CONST_SLOTS};
use control::{Ctrl, CtrlKind};
use stack::Operand;

mod acc;
mod check;
mod consts;
mod control;
mod fuse;
mod read;
mod stack;
mod visit;

#[cfg(test)]
mod tests;

/// A module's translated code as it grows body by body: the instructions, the constant
/// pool, the code section's byte range, by which the instructions' growth is sized, and
/// the translator's scratch.
#[derive(Default)]
pub(crate) struct ModuleCode {
    pub(crate) instrs: Vec<Instr>,
    pub(crate) consts: Vec<Slot>,
    pub(crate) section: Range<usize>,
    pub(crate) scratch: Scratch,
}

/// The translator's working buffers (operand model, control frames, the accumulator pass's
/// branch targets, the constants' uses), kept from one body to the next: a module's
/// translation allocates them a few times, not per body. Charged as they grow, until
/// [`Scratch::release`].
#[derive(Default)]
pub(crate) struct Scratch {
    stack: Vec<Operand>,
    ctrls: Vec<Ctrl>,
    targets: Vec<u64>,
    uses: ConstUses,
}

impl Scratch {
    /// Frees the buffers once the module's last body is translated, their charge given back.
    pub(crate) fn release(&mut self, heap: &mut HeapAccount) {
        let Scratch { stack, ctrls, targets, mut uses } = core::mem::take(self);
        uses.release(heap);
        heap.release(
            board_bytes::<Operand>(stack.capacity())
                + board_bytes::<Ctrl>(ctrls.capacity())
                + board_bytes::<u64>(targets.capacity()),
        );
    }
}

/// Translates the body of `func_index` (a defined function), appending its code; where
/// the module is validated here, `validator` checks each operator first, on the same
/// reading.
pub(crate) fn translate_function(
    module: &ModuleInner,
    config: &Config,
    func_index: u32,
    body: &FunctionBody<'_>,
    validator: Option<&mut BodyValidator>,
    out: &mut ModuleCode,
    heap: &mut HeapAccount,
) -> Result<FuncHeader, Error> {
    let start = once(move || Translator::new(module, config, func_index, body, out, heap));
    match validator {
        #[cfg(feature = "validate")]
        Some(validator) => read::validated(body, validator, start),
        #[cfg(not(feature = "validate"))]
        Some(never) => match *never {},
        None => read::trusted(body, start),
    }
}

/// `start`, made a closure called once where it is written (inferred there, it would be
/// one called often, which cannot hand out what it borrows).
fn once<'a, F: FnOnce() -> Result<Translator<'a>, Error>>(start: F) -> F {
    start
}

/// What an operator the translator does not know is reported as: one of a proposal the
/// core does not implement, which only a build without validation meets (the validator
/// names the proposal).
pub(crate) const LATER_OPERATOR: &str = "a later proposal's operator";

/// The largest frame a function may have: slot indices are `u16`.
const MAX_FRAME: u32 = u16::MAX as u32;

board_sizes! {
    Operand = 4;
    Ctrl = 36;
}

/// The state of one function body's translation: the operand-stack model, the open
/// control frames, and the code and constants emitted so far.
struct Translator<'a> {
    module: &'a ModuleInner,
    fuel: bool,
    /// Whether `return_call` and `return_call_indirect` are accepted (the tail-call
    /// proposal; checked here too, for a build that does not validate).
    tail_calls: bool,
    /// Whether memory indexes other than 0 are accepted (multi-memory).
    multi_memory: bool,
    func_index: u32,
    offset: usize,
    code: &'a mut Vec<Instr>,
    /// The module's constant pool; this function's constants are `consts[consts_start..]`.
    consts: &'a mut Vec<Slot>,
    consts_start: usize,
    /// The code section's byte range, to size the code's growth.
    section: Range<usize>,
    /// The module's heap account: the code and constants it keeps, and the translator's
    /// scratch (operand model, control frames, branch targets, the constants' uses) until
    /// the module is decoded.
    /// A body that fails leaves its scratch charged: the module is refused whole, and its
    /// account with it.
    heap: &'a mut HeapAccount,
    entry: usize,
    params: u32,
    results: u32,
    locals: u32,
    /// The most constant slots this body may give: as many slots lie between the locals
    /// and the temps until [`Translator::finish`] closes the gap the unused ones leave.
    const_room: u32,
    /// The slot of operand-stack height 0: past the locals and room for the constants.
    stack_base: u32,
    /// Where the frame's set-up stands, if it has declared locals to zero (a placeholder
    /// until the constants are known).
    set_up_at: Option<usize>,
    /// Loops open around the current operator: a constant used in one earns a slot.
    loops: u32,
    /// The module's scratch, whose buffers `stack` and `ctrls` are, taken out while this
    /// body is translated and given back by [`Translator::finish`].
    scratch: &'a mut Scratch,
    stack: Vec<Operand>,
    max_height: u32,
    ctrls: Vec<Ctrl>,
    reachable: bool,
    done: bool,
    /// The last instruction, if it wrote the top-of-stack temp and nothing has
    /// been emitted or labelled since: `local.set` may redirect its result.
    retarget: Option<usize>,
    /// The last position marked as a branch target (the function's entry to begin with):
    /// an instruction emitted there must not be fused into the one before it.
    labelled: usize,
    /// The declared locals (bit `i`: local `params + i`, the first 64) that still hold the
    /// zero the frame's set-up wrote: none written since entry, and no label bound yet, so
    /// no other path reaches the code here. Setting one to zero is then a no-op.
    untouched: u64,
}

impl<'a> Translator<'a> {
    fn new(
        module: &'a ModuleInner,
        config: &Config,
        func_index: u32,
        body: &FunctionBody<'_>,
        out: &'a mut ModuleCode,
        heap: &'a mut HeapAccount,
    ) -> Result<Self, Error> {
        let ModuleCode { instrs: code, consts, section, scratch } = out;
        let offset = body.range().start as usize;
        let err = |reason| Error::Translate { reason, func: func_index, offset };
        let ty = module
            .funcs
            .get(func_index as usize)
            .and_then(|&t| module.types.get(t as usize))
            .ok_or_else(|| err("function has no valid type"))?;
        let params = ty.params().len() as u32;
        let results = ty.results().len() as u32;
        let mut locals = params as u64;
        let mut reader = body.get_locals_reader().map_err(malformed)?;
        for _ in 0..reader.get_count() {
            let (count, _ty) = reader.read().map_err(malformed)?;
            locals += count as u64;
            if locals > MAX_FRAME as u64 {
                break;
            }
        }
        if locals > MAX_FRAME as u64 {
            return Err(Error::Limit {
                what: "function locals",
                value: locals,
                limit: MAX_FRAME as u64,
            });
        }
        let entry = code.len();
        let consts_start = consts.len();
        // Slot indices are `u16`: a frame with nearly 2^16 locals gets fewer constant slots
        // (and a body whose temps come to need the room gets it, `close_const_room`).
        let const_room = (MAX_CONST_SLOTS as u32).min(MAX_FRAME - locals as u32);
        scratch.uses.clear();
        let stack_base = locals as u32 + const_room;
        let mut t = Translator {
            module,
            fuel: config.fuel,
            tail_calls: config.features.contains(crate::config::Features::TAIL_CALL),
            multi_memory: config.features.contains(crate::config::Features::MULTI_MEMORY),
            func_index,
            offset,
            code,
            consts,
            consts_start,
            section: section.clone(),
            heap,
            entry,
            params,
            results,
            locals: locals as u32,
            const_room,
            stack_base,
            set_up_at: None,
            loops: 0,
            stack: core::mem::take(&mut scratch.stack),
            max_height: 0,
            ctrls: core::mem::take(&mut scratch.ctrls),
            scratch,
            reachable: true,
            done: false,
            retarget: None,
            labelled: entry,
            untouched: 0,
        };
        // Every declared local holds the set-up's zero: the bits below the first past them
        // (all 64 when that one has none).
        t.untouched = t.untouched_bit(locals as u32).wrapping_sub(1);
        let func = Ctrl {
            kind: CtrlKind::Func,
            height: 0,
            params: 0,
            results,
            start: 0,
            else_patch: None,
            last_patch: None,
            entry_reachable: true,
        };
        t.heap.push(&mut t.ctrls, func, HeapUse::Function(func_index))?;
        if t.fuel {
            t.emit(Instr::ConsumeFuel { amount: 1 })?;
        }
        u32::try_from(consts_start).map_err(|_| Error::Limit {
            what: "module constants",
            value: consts_start as u64,
            limit: u32::MAX as u64,
        })?;
        // A frame with declared locals is set up: the set-up's place, settled by `finish`
        // (nothing fuses into it, and no label is bound at it). Without, the set-up is
        // inserted there if the body's constants come to need one.
        if locals > params as u64 {
            t.set_up_at = Some(t.emit(Instr::Unreachable)?);
        }
        Ok(t)
    }

    /// What this body's heap is charged as.
    fn heap_use(&self) -> HeapUse {
        HeapUse::Function(self.func_index)
    }

    /// Gives the operand model's and control frames' buffers back to the module's scratch,
    /// emptied, for the next body.
    fn return_scratch(&mut self) {
        self.stack.clear();
        self.ctrls.clear();
        self.scratch.stack = core::mem::take(&mut self.stack);
        self.scratch.ctrls = core::mem::take(&mut self.ctrls);
    }

    fn err(&self, reason: &'static str) -> Error {
        Error::Translate { reason, func: self.func_index, offset: self.offset }
    }

    // ---- code emission -------------------------------------------------------

    fn pc(&self) -> Result<u32, Error> {
        match self.code.len() {
            // Below `MAX_CODE`, so within `u32`.
            len if len < MAX_CODE => Ok(len as u32),
            len => Err(Error::Limit {
                what: "module code length",
                value: len as u64,
                limit: MAX_CODE as u64,
            }),
        }
    }

    fn emit(&mut self, instr: Instr) -> Result<usize, Error> {
        if let Some(at) = self.fuse_pair(instr) {
            self.retarget = None;
            return Ok(at);
        }
        self.room_for_one()?;
        self.code.push(instr);
        self.retarget = None;
        Ok(self.code.len() - 1)
    }

    /// Makes room in the code for one more instruction, its growth sized by the part of
    /// the code section read so far.
    fn room_for_one(&mut self) -> Result<(), Error> {
        self.pc()?;
        let what = self.heap_use();
        let done = self.offset.saturating_sub(self.section.start);
        self.heap.reserve_projected(self.code, done, self.section.len(), what)
    }

    /// Emits `instr` on memory `mem`: as it is for memory 0, between `UseMemory { mem }`
    /// and `UseMemory { mem: 0 }` for another (its result, if `result`, is then not
    /// redirected: multi-memory code pays for the switch, memory-0 code for nothing).
    fn emit_on_memory(&mut self, mem: u32, instr: Instr, result: bool) -> Result<(), Error> {
        if mem == 0 {
            return if result { self.emit_result(instr) } else { self.emit(instr).map(drop) };
        }
        self.emit(Instr::UseMemory { mem })?;
        self.emit(instr)?;
        self.emit(Instr::UseMemory { mem: 0 }).map(drop)
    }

    /// Emits an instruction whose single result is the new top-of-stack temp.
    fn emit_result(&mut self, instr: Instr) -> Result<(), Error> {
        let at = self.emit(instr)?;
        self.retarget = Some(at);
        Ok(())
    }

    /// Marks the current position as a branch target.
    fn label(&mut self) -> Result<u32, Error> {
        self.retarget = None;
        self.labelled = self.code.len();
        self.untouched = 0;
        Ok(target_at(self.pc()? as usize))
    }

    /// Gives the room for constants that no constant has earned to the temps: they move down
    /// over it, and no constant earns a slot after. At the body's end, or earlier where a
    /// temp would pass the frame's last slot.
    pub(super) fn close_const_room(&mut self) {
        let given = (self.consts.len() - self.consts_start) as u32;
        let unused = self.const_room - given;
        if unused == 0 {
            return;
        }
        // Temps are from `stack_base` up, within `u16`; the locals' and constants' slots are
        // below it, and the operand model refers to temps by height only.
        let (first_temp, by) = (self.stack_base as Reg, unused as Reg);
        for instr in &mut self.code[self.entry..] {
            instr.map_slots(|s| if s >= first_temp { s - by } else { s });
        }
        self.stack_base -= unused;
        self.const_room = given;
    }

    /// Settles the frame once the body's constants are known: the temps move down over
    /// the constant slots not given, and the set-up's placeholder becomes the set-up. A
    /// frame without declared locals but with constants has its set-up inserted at the
    /// entry (after the fuel charge), the code after it and every branch target there
    /// moving down one instruction: a loop at the entry must not run it again.
    fn settle_frame(&mut self) -> Result<(), Error> {
        self.close_const_room();
        let given = (self.consts.len() - self.consts_start) as u32;
        let consts = self.consts_start as u32; // checked to fit by `new`
        let (params, locals) = (self.params as u16, self.locals as u16);
        let Some(set_up) = frame_set_up(params, locals, consts, given as u16) else {
            return Ok(());
        };
        if let Some(at) = self.set_up_at {
            self.code[at] = set_up;
            return Ok(());
        }
        let at = self.entry + usize::from(self.fuel);
        self.room_for_one()?;
        self.code.insert(at, set_up);
        let from = target_at(at);
        for instr in &mut self.code[at + 1..] {
            if Instr::BRANCHES.contains(instr)
                && let Some(target) = instr.branch_target_mut()
                && *target >= from
            {
                *target += target_at(1);
            }
        }
        Ok(())
    }

    /// Runs [`acc::chain_through_acc`] over the finished body, its scratch charged.
    fn chain_through_acc(&mut self) -> Result<(), Error> {
        let code = &mut self.code[self.entry..];
        let targets = &mut self.scratch.targets;
        let words = acc::scratch_words(code);
        targets.clear();
        self.heap.reserve(targets, words, HeapUse::Function(self.func_index))?;
        targets.resize(words, 0);
        acc::chain_through_acc(code, self.entry, self.stack_base as u16, targets);
        Ok(())
    }
}
