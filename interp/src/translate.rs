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
//! the function uses in loops or often, chosen by a pre-pass over the body ([`choose_constants`])
//! and copied into the frame on entry, so a loop's `i32.const 1; i32.add` costs one
//! instruction, not two.
//!
//! It never trusts the module: with on-device validation off, every index, every
//! stack height and every branch depth is checked here, and a violation is an
//! `Error::Translate`, so the executor can rely on its invariants without checks
//! of its own (slots within the frame, branch targets within the code).

use alloc::vec::Vec;

use wasmparser::{BlockType, FunctionBody, MemArg, Operator};

use crate::config::Config;
use crate::error::Error;
use crate::ir::{Instr, Reg};
use crate::module::{FuncHeader, ModuleInner};
use crate::value::Slot;

/// Translates the body of `func_index` (a defined function), appending its code.
pub(crate) fn translate_function(
    module: &ModuleInner,
    config: &Config,
    func_index: u32,
    body: &FunctionBody<'_>,
    code: &mut Vec<Instr>,
    consts: &mut Vec<Slot>,
) -> Result<FuncHeader, Error> {
    let mut t = Translator::new(module, config, func_index, body, code, consts)?;
    let mut reader = body.get_operators_reader().map_err(malformed)?;
    while !t.done {
        if reader.eof() {
            return Err(t.err("function body ends before its final `end`"));
        }
        t.offset = reader.original_position() as usize;
        let op = reader.read().map_err(malformed)?;
        t.op(op)?;
    }
    if !reader.eof() {
        return Err(t.err("operators after the function's final `end`"));
    }
    t.finish()
}

fn malformed(e: wasmparser::BinaryReaderError) -> Error {
    Error::Malformed { message: e.message().into(), offset: e.offset() as usize }
}

/// Builds a load or store whose address is an `i32.add` fused in: from
/// `(dst, base, index, offset)` for a load, `(base, index, value, offset)` for a store.
type FusedAccess = fn(Reg, Reg, Reg, u32) -> Instr;

/// The largest frame a function may have: slot indices are `u16`.
const MAX_FRAME: u32 = u16::MAX as u32;

/// Where an operand-stack entry's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operand {
    /// In the entry's own slot, `stack_base + height`.
    Temp,
    /// Still in another slot: a local's (a pending `local.get`) or a constant's
    /// (never written while the function runs).
    Pending(Reg),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CtrlKind {
    Func,
    Block,
    Loop,
    If,
    Else,
}

/// A control frame: a label and the stack height its values land at.
struct Ctrl {
    kind: CtrlKind,
    /// Operand height at entry, below the block's parameters.
    height: u32,
    params: u32,
    results: u32,
    /// A `Loop`'s first instruction (branch target).
    start: u32,
    /// An `If`'s `BrIfEqz`, to point at the `else` (or the end if there is none).
    else_patch: Option<usize>,
    /// Forward branches to patch with the end's position.
    patches: Vec<usize>,
    entry_reachable: bool,
}

impl Ctrl {
    /// Values a branch to this label carries.
    fn branch_arity(&self) -> u32 {
        if self.kind == CtrlKind::Loop { self.params } else { self.results }
    }
}

struct Translator<'a> {
    module: &'a ModuleInner,
    fuel: bool,
    func_index: u32,
    offset: usize,
    code: &'a mut Vec<Instr>,
    /// The module's constant pool; this function's constants are `consts[consts_start..]`.
    consts: &'a mut Vec<Slot>,
    consts_start: usize,
    entry: usize,
    params: u32,
    results: u32,
    locals: u32,
    /// The slot of operand-stack height 0: past the locals and the constants.
    stack_base: u32,
    stack: Vec<Operand>,
    max_height: u32,
    ctrls: Vec<Ctrl>,
    reachable: bool,
    done: bool,
    /// The last instruction, if it wrote the top-of-stack temp and nothing has
    /// been emitted or labelled since: `local.set` may redirect its result.
    retarget: Option<usize>,
}

/// `load!(self, memarg, Plain)` or `load!(self, memarg, Plain, Fused)`: translates a load
/// into `Instr::Plain { dst, addr, offset }`, or into `Instr::Fused { dst, base, index,
/// offset }` when its address is an `i32.add` just computed.
macro_rules! load {
    ($t:ident, $m:ident, $plain:ident) => {
        $t.load(&$m, |dst, addr, offset| Instr::$plain { dst, addr, offset }, None)?
    };
    ($t:ident, $m:ident, $plain:ident, $fused:ident) => {
        $t.load(
            &$m,
            |dst, addr, offset| Instr::$plain { dst, addr, offset },
            Some(|dst, base, index, offset| Instr::$fused { dst, base, index, offset }),
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

/// Reads one operand type of `for_each_numeric!` into the translator's binary/unary helpers.
macro_rules! translate_numeric {
    (
        binary { $($bin:ident: $ba:ty, $bb:ty => $br:ty, $bf:expr;)* }
        binary_trap { $($bint:ident: $bta:ty, $btb:ty => $btr:ty, $btf:expr;)* }
        unary { $($un:ident: $ua:ty => $ur:ty, $uf:expr;)* }
        unary_trap { $($unt:ident: $uta:ty => $utr:ty, $utf:expr;)* }
        compare_branch { $($cb:ident: $cbc:ident, $cbn:ident, $cbt:ty, $cbf:expr;)* }
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

            /// Pops a branch condition, as the pair (branch if it holds, branch if it
            /// does not), targets still 0. A comparison or `i32.eqz` that just computed
            /// the condition is taken back and fused into the branch.
            fn pop_condition(&mut self) -> Result<(Instr, Instr), Error> {
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
crate::for_each_numeric!(translate_numeric);

impl<'a> Translator<'a> {
    fn new(
        module: &'a ModuleInner,
        config: &Config,
        func_index: u32,
        body: &FunctionBody<'_>,
        code: &'a mut Vec<Instr>,
        consts: &'a mut Vec<Slot>,
    ) -> Result<Self, Error> {
        let offset = body.range().start as usize;
        let err = |reason| Error::Translate { reason, func: func_index, offset };
        let ty = module
            .funcs
            .get(func_index as usize)
            .and_then(|&t| module.types.get(t as usize))
            .ok_or(err("function has no valid type"))?;
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
        let mut chosen = choose_constants(body);
        // Slot indices are `u16`: a frame with nearly 2^16 locals gets fewer constant slots.
        chosen.truncate((MAX_FRAME as u64 - locals) as usize);
        consts.extend(chosen);
        let stack_base = locals as u32 + (consts.len() - consts_start) as u32;
        let mut t = Translator {
            module,
            fuel: config.fuel,
            func_index,
            offset,
            code,
            consts,
            consts_start,
            entry,
            params,
            results,
            locals: locals as u32,
            stack_base,
            stack: Vec::new(),
            max_height: 0,
            ctrls: Vec::new(),
            reachable: true,
            done: false,
            retarget: None,
        };
        t.ctrls.push(Ctrl {
            kind: CtrlKind::Func,
            height: 0,
            params: 0,
            results,
            start: 0,
            else_patch: None,
            patches: Vec::new(),
            entry_reachable: true,
        });
        if t.fuel {
            t.emit(Instr::ConsumeFuel { amount: 1 })?;
        }
        Ok(t)
    }

    fn err(&self, reason: &'static str) -> Error {
        Error::Translate { reason, func: self.func_index, offset: self.offset }
    }

    // ---- code emission -------------------------------------------------------

    fn pc(&self) -> Result<u32, Error> {
        u32::try_from(self.code.len()).map_err(|_| Error::Limit {
            what: "module code length",
            value: self.code.len() as u64,
            limit: u32::MAX as u64,
        })
    }

    fn emit(&mut self, instr: Instr) -> Result<usize, Error> {
        self.pc()?;
        self.code.push(instr);
        self.retarget = None;
        Ok(self.code.len() - 1)
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
        self.pc()
    }

    fn patch(&mut self, at: usize, target: u32) {
        if let Some(t) = self.code[at].branch_target_mut() {
            *t = target;
        }
    }

    // ---- the operand stack ---------------------------------------------------

    /// The slot of stack height `h`.
    fn slot(&self, h: u32) -> Result<Reg, Error> {
        let s = self.stack_base as u64 + h as u64;
        if s >= MAX_FRAME as u64 {
            return Err(Error::Limit {
                what: "function frame slots",
                value: s + 1,
                limit: MAX_FRAME as u64,
            });
        }
        Ok(s as Reg)
    }

    fn height(&self) -> u32 {
        self.stack.len() as u32
    }

    /// The innermost control frame (there is always one until the final `end`).
    fn ctrl(&self) -> Result<&Ctrl, Error> {
        self.ctrls.last().ok_or(self.err("no enclosing block"))
    }

    fn innermost(&mut self) -> Result<&mut Ctrl, Error> {
        let err = self.err("no enclosing block");
        self.ctrls.last_mut().ok_or(err)
    }

    /// Where the entry at height `h` is read from.
    fn operand_slot(&self, h: u32) -> Result<Reg, Error> {
        match self.stack.get(h as usize) {
            Some(Operand::Pending(l)) => Ok(*l),
            Some(Operand::Temp) => self.slot(h),
            None => Err(self.err("operand stack underflow")),
        }
    }

    /// Checks that `n` values are on the stack above the innermost block's base.
    fn need(&self, n: u32) -> Result<(), Error> {
        let base = self.ctrl()?.height;
        if self.height() < base + n {
            return Err(self.err("operand stack underflow"));
        }
        Ok(())
    }

    fn pop(&mut self) -> Result<Reg, Error> {
        self.need(1)?;
        let s = self.operand_slot(self.height() - 1)?;
        self.stack.pop();
        Ok(s)
    }

    fn push(&mut self, operand: Operand) -> Result<Reg, Error> {
        let h = self.height();
        let s = self.slot(h)?;
        self.stack.push(operand);
        self.max_height = self.max_height.max(h + 1);
        Ok(s)
    }

    fn push_temp(&mut self) -> Result<Reg, Error> {
        self.push(Operand::Temp)
    }

    /// Copies every pending local at heights `from..` into its own slot.
    fn materialize_from(&mut self, from: u32) -> Result<(), Error> {
        self.materialize_where(from, |_| true)
    }

    /// Copies the pending reads of the locals `pick` selects, at heights `from..`,
    /// into their own slots.
    fn materialize_where(&mut self, from: u32, pick: impl Fn(Reg) -> bool) -> Result<(), Error> {
        for h in from..self.height() {
            if let Operand::Pending(l) = self.stack[h as usize]
                && pick(l)
            {
                let dst = self.slot(h)?;
                self.emit(Instr::Copy { dst, src: l })?;
                self.stack[h as usize] = Operand::Temp;
            }
        }
        Ok(())
    }

    /// Materialises the top `n` entries, so they sit in consecutive slots;
    /// returns the first slot.
    fn consecutive(&mut self, n: u32) -> Result<Reg, Error> {
        self.need(n)?;
        let first = self.height() - n;
        self.materialize_from(first)?;
        self.slot(first)
    }

    /// Pops `n` materialised entries, returning the first one's slot.
    fn pop_consecutive(&mut self, n: u32) -> Result<Reg, Error> {
        let base = self.consecutive(n)?;
        self.stack.truncate(self.stack.len() - n as usize);
        Ok(base)
    }

    // ---- operator helpers ----------------------------------------------------

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

    fn memarg(&self, m: &MemArg) -> Result<u32, Error> {
        if m.target != wasmparser::MemArgTarget::Memory(0) || self.module.memories.is_empty() {
            return Err(self.err("unknown memory"));
        }
        u32::try_from(m.offset).map_err(|_| self.err("memory offset exceeds 32 bits"))
    }

    fn check_memory(&self, index: u32) -> Result<(), Error> {
        if index != 0 || self.module.memories.is_empty() {
            return Err(self.err("unknown memory"));
        }
        Ok(())
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

    /// `make` builds the load from its address slot; `fused`, if the load has such a
    /// form, from an `i32.add`'s operands when the address is one just computed.
    fn load(
        &mut self,
        m: &MemArg,
        make: fn(Reg, Reg, u32) -> Instr,
        fused: Option<FusedAccess>,
    ) -> Result<(), Error> {
        let offset = self.memarg(m)?;
        let fused = match fused {
            Some(fused) => self.take_address_add(0)?.map(|sum| (fused, sum)),
            None => None,
        };
        let addr = self.pop()?;
        let dst = self.push_temp()?;
        match fused {
            Some((fused, (base, index))) => self.emit_result(fused(dst, base, index, offset)),
            None => self.emit_result(make(dst, addr, offset)),
        }
    }

    /// As [`Translator::load`], for a store (`addr, value` in `make`, `base, index,
    /// value` in `fused`).
    fn store(
        &mut self,
        m: &MemArg,
        make: fn(Reg, Reg, u32) -> Instr,
        fused: FusedAccess,
    ) -> Result<(), Error> {
        let offset = self.memarg(m)?;
        let sum = self.take_address_add(1)?;
        let value = self.pop()?;
        let addr = self.pop()?;
        match sum {
            Some((base, index)) => self.emit(fused(base, index, value, offset)).map(drop),
            None => self.emit(make(addr, value, offset)).map(drop),
        }
    }

    fn table(&self, index: u32) -> Result<u32, Error> {
        if index as usize >= self.module.tables.len() {
            return Err(self.err("unknown table"));
        }
        Ok(index)
    }

    fn table16(&self, index: u32) -> Result<u16, Error> {
        self.table(index)?;
        u16::try_from(index).map_err(|_| Error::Limit {
            what: "table index",
            value: index as u64,
            limit: u16::MAX as u64,
        })
    }

    fn block_arity(&self, ty: BlockType) -> Result<(u32, u32), Error> {
        match ty {
            BlockType::Empty => Ok((0, 0)),
            BlockType::Type(_) => Ok((0, 1)),
            BlockType::FuncType(i) => {
                let ty = self.module.types.get(i as usize).ok_or(self.err("unknown block type"))?;
                Ok((ty.params().len() as u32, ty.results().len() as u32))
            }
        }
    }

    // ---- control flow --------------------------------------------------------

    /// Enters a block whose parameters are the top `params` entries.
    fn enter(&mut self, kind: CtrlKind, ty: BlockType) -> Result<(), Error> {
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
        self.ctrls.push(Ctrl {
            kind,
            height,
            params,
            results,
            start: 0,
            else_patch: None,
            patches: Vec::new(),
            entry_reachable,
        });
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
    fn branch(&mut self, depth: u32) -> Result<(), Error> {
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
            self.ctrls[target].patches.push(at);
        }
        Ok(())
    }

    /// Leaves the rest of the block unreachable.
    fn set_unreachable(&mut self) -> Result<(), Error> {
        let height = self.ctrl()?.height;
        self.stack.truncate(height as usize);
        self.reachable = false;
        Ok(())
    }

    fn br_if(&mut self, depth: u32) -> Result<(), Error> {
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
        self.patch(skip, here);
        Ok(())
    }

    fn br_table(&mut self, table: &wasmparser::BrTable<'_>) -> Result<(), Error> {
        let index = self.pop()?;
        let mut depths = Vec::with_capacity(table.len() as usize + 1);
        for d in table.targets() {
            depths.push(d.map_err(malformed)?);
        }
        depths.push(table.default());
        let len = table.len();
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
                    self.ctrls[target].patches.push(at);
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

    fn else_(&mut self) -> Result<(), Error> {
        let ctrl = self.ctrl()?;
        if ctrl.kind != CtrlKind::If {
            return Err(self.err("`else` outside of `if`"));
        }
        if self.reachable {
            self.leave_values()?;
            let at = self.emit(Instr::Br { target: 0 })?;
            self.innermost()?.patches.push(at);
        }
        let here = self.label()?;
        let ctrl = self.innermost()?;
        ctrl.kind = CtrlKind::Else;
        let (height, params, entry_reachable) = (ctrl.height, ctrl.params, ctrl.entry_reachable);
        if let Some(at) = ctrl.else_patch.take() {
            self.patch(at, here);
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

    fn end(&mut self) -> Result<(), Error> {
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
            self.ctrls.pop();
            self.done = true;
            return Ok(());
        }
        if self.reachable {
            self.leave_values()?;
        }
        let ctrl = self.ctrls.pop().ok_or(self.err("no enclosing block"))?;
        let here = self.label()?;
        if let Some(at) = ctrl.else_patch {
            if ctrl.params != ctrl.results {
                return Err(self.err("`if` without `else` must leave its parameters"));
            }
            self.patch(at, here);
        }
        for &at in &ctrl.patches {
            self.patch(at, here);
        }
        self.reachable = match ctrl.kind {
            CtrlKind::Loop => self.reachable,
            _ => self.reachable || !ctrl.patches.is_empty() || ctrl.else_patch.is_some(),
        };
        self.stack.truncate(ctrl.height as usize);
        self.push_results(ctrl.results)?;
        Ok(())
    }

    fn call(&mut self, func: u32) -> Result<(), Error> {
        let ty = self
            .module
            .funcs
            .get(func as usize)
            .and_then(|&t| self.module.types.get(t as usize))
            .ok_or(self.err("unknown function"))?;
        let (params, results) = (ty.params().len() as u32, ty.results().len() as u32);
        let base = self.pop_consecutive(params)?;
        self.emit(Instr::Call { func, base })?;
        self.push_results(results)
    }

    fn call_indirect(&mut self, ty: u32, table: u32) -> Result<(), Error> {
        let table = self.table16(table)?;
        let sig = self.module.types.get(ty as usize).ok_or(self.err("unknown type"))?;
        let (params, results) = (sig.params().len() as u32, sig.results().len() as u32);
        let index = self.pop()?;
        let base = self.pop_consecutive(params)?;
        self.emit(Instr::CallIndirect { ty, base, index, table })?;
        self.push_results(results)
    }

    /// Pushes `n` materialised values (block parameters or results, call results).
    fn push_results(&mut self, n: u32) -> Result<(), Error> {
        for _ in 0..n {
            self.push_temp()?;
        }
        Ok(())
    }

    fn local(&self, index: u32) -> Result<Reg, Error> {
        if index >= self.locals {
            return Err(self.err("unknown local"));
        }
        Ok(index as Reg)
    }

    /// `local.set`/`local.tee`: writes the top value into a local.
    fn set_local(&mut self, index: u32, tee: bool) -> Result<(), Error> {
        let local = self.local(index)?;
        self.need(1)?;
        let top = self.height() - 1;
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

    fn ref_func(&mut self, func: u32) -> Result<(), Error> {
        if func as usize >= self.module.funcs.len() {
            return Err(self.err("unknown function"));
        }
        let dst = self.push_temp()?;
        self.emit_result(Instr::RefFunc { dst, func })
    }

    fn elem(&self, index: u32) -> Result<u32, Error> {
        if index as usize >= self.module.elems.len() {
            return Err(self.err("unknown element segment"));
        }
        Ok(index)
    }

    fn data(&self, index: u32) -> Result<u32, Error> {
        match self.module.data_count {
            Some(n) if index < n => Ok(index),
            _ => Err(self.err("unknown data segment")),
        }
    }

    // ---- the operator switch -------------------------------------------------

    fn op(&mut self, op: Operator<'_>) -> Result<(), Error> {
        use Operator as O;
        if !self.reachable {
            return self.op_unreachable(op);
        }
        match op {
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
            O::BrTable { targets } => self.br_table(&targets)?,
            O::Return => {
                let depth = self.ctrls.len() as u32 - 1;
                self.branch(depth)?;
                self.set_unreachable()?;
            }
            O::Call { function_index } => self.call(function_index)?,
            O::CallIndirect { type_index, table_index } => {
                self.call_indirect(type_index, table_index)?
            }
            O::Drop => {
                self.pop()?;
            }
            O::Select | O::TypedSelect { .. } => {
                let cond = self.pop()?;
                let b = self.pop()?;
                let a = self.pop()?;
                let dst = self.push_temp()?;
                self.emit_result(Instr::Select { dst, cond, a, b })?;
            }
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
                load!(self, memarg, Load32, Load32Add)
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
                self.emit_result(Instr::MemorySize { dst })?;
            }
            O::MemoryGrow { mem } => {
                self.check_memory(mem)?;
                let delta = self.pop()?;
                let dst = self.push_temp()?;
                self.emit_result(Instr::MemoryGrow { dst, delta })?;
            }
            O::MemoryFill { mem } => {
                self.check_memory(mem)?;
                let base = self.pop_consecutive(3)?;
                self.emit(Instr::MemoryFill { base })?;
            }
            O::MemoryCopy { dst_mem, src_mem } => {
                self.check_memory(dst_mem)?;
                self.check_memory(src_mem)?;
                let base = self.pop_consecutive(3)?;
                self.emit(Instr::MemoryCopy { base })?;
            }
            O::MemoryInit { data_index, mem } => {
                self.check_memory(mem)?;
                let data = self.data(data_index)?;
                let base = self.pop_consecutive(3)?;
                self.emit(Instr::MemoryInit { base, data })?;
            }
            O::DataDrop { data_index } => {
                let data = self.data(data_index)?;
                self.emit(Instr::DataDrop { data })?;
            }

            O::I32Const { .. }
            | O::I64Const { .. }
            | O::F32Const { .. }
            | O::F64Const { .. }
            | O::RefNull { .. } => {
                let bits = constant_bits(&op).ok_or(self.err("not a constant"))?;
                self.constant(bits)?;
            }
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

            op => {
                if !self.numeric(&op)? {
                    return Err(Error::Unsupported {
                        feature: unsupported_name(&op),
                        offset: self.offset,
                    });
                }
            }
        }
        Ok(())
    }

    /// Pushes a constant: pending in its constant slot if it has one, else loaded by
    /// an instruction into a temp.
    fn constant(&mut self, bits: Slot) -> Result<(), Error> {
        let own = &self.consts[self.consts_start..];
        if let Some(i) = own.iter().position(|&c| c == bits) {
            let slot = self.locals + i as u32;
            self.push(Operand::Pending(slot as Reg))?;
            return Ok(());
        }
        let dst = self.push_temp()?;
        match u32::try_from(bits) {
            Ok(value) => self.emit_result(Instr::Const32 { dst, value }),
            Err(_) => {
                self.emit_result(Instr::Const64 { dst, lo: bits as u32, hi: (bits >> 32) as u32 })
            }
        }
    }

    /// In unreachable code only the block structure matters.
    fn op_unreachable(&mut self, op: Operator<'_>) -> Result<(), Error> {
        match op {
            Operator::Block { blockty } => self.enter(CtrlKind::Block, blockty),
            Operator::Loop { blockty } => self.enter(CtrlKind::Loop, blockty),
            Operator::If { blockty } => self.enter(CtrlKind::If, blockty),
            Operator::Else => self.else_(),
            Operator::End => self.end(),
            _ => Ok(()),
        }
    }

    /// Checks every branch target of the new code lies within it, so the
    /// executor can index the code without checks failing.
    fn finish(self) -> Result<FuncHeader, Error> {
        let end = self.code.len();
        // The executor fetches without a bounds check: it must never run off the end.
        match self.code.get(self.entry..end).and_then(|c| c.last()) {
            None => return Err(self.err("empty function body")),
            Some(last) if last.falls_through() => {
                return Err(self.err("function code falls off its end"));
            }
            Some(_) => {}
        }
        let frame_size = self.stack_base + self.max_height;
        if frame_size > MAX_FRAME {
            return Err(Error::Limit {
                what: "function frame slots",
                value: frame_size as u64,
                limit: MAX_FRAME as u64,
            });
        }
        // One pass over the code for what the executor relies on without checking: branch
        // targets (and branch-table entries) in the function, and every slot operand in
        // the frame. True by construction; checked so that a slip in the bookkeeping above
        // is an error, never a jump or an access out of bounds.
        for i in self.entry..end {
            let target = match self.code[i] {
                Instr::BrTable { len, .. } => {
                    if i + 1 + len as usize >= end {
                        return Err(self.err("branch table runs past the code"));
                    }
                    None
                }
                mut other => other.branch_target_mut().copied(),
            };
            if let Some(t) = target
                && ((t as usize) < self.entry || t as usize >= end)
            {
                return Err(self.err("branch target outside the function"));
            }
            let mut outside = false;
            self.code[i].for_each_slot(|r| outside |= u32::from(r) >= frame_size);
            if outside {
                return Err(self.err("slot operand outside the frame"));
            }
        }
        Ok(FuncHeader {
            entry: self.entry as u32,
            params: self.params as u16,
            results: self.results as u16,
            locals: self.locals as u16,
            consts: self.consts_start as u32,
            num_consts: (self.stack_base - self.locals) as u16,
            frame_size: frame_size as u16,
        })
    }
}

/// `branch` (a branch instruction) aimed at `target`.
fn with_target(mut branch: Instr, target: u32) -> Instr {
    if let Some(t) = branch.branch_target_mut() {
        *t = target;
    }
    branch
}

/// The most constant slots a frame gets: each costs a copy on every call.
const MAX_CONST_SLOTS: usize = 48;

/// Distinct constants the pre-pass ranks at most (bounds its work on huge bodies).
const MAX_CONST_CANDIDATES: usize = 256;

/// A constant earns a slot with this weight: one use in a loop, or three outside.
const MIN_CONST_WEIGHT: u64 = 3;

/// The constants of `body` worth a slot: the most used, a use inside a loop counting 16
/// times one outside (and 256 times in a nested loop ...), at most [`MAX_CONST_SLOTS`],
/// in order of first use. A constant used once or twice outside loops is left to
/// `Const` instructions: it runs about once per call, which is what copying it into the
/// frame would cost, and its slot would deepen every frame of a recursion (the exact
/// value-stack limits of a board profile count on small frames). Used three times or
/// more, its slot costs less heap than the instructions. A body that does not decode
/// yields what was found before the fault; the translation proper reports it.
fn choose_constants(body: &FunctionBody<'_>) -> Vec<Slot> {
    // (bits, weight), in order of first use.
    let mut found: Vec<(Slot, u64)> = Vec::new();
    let mut blocks: Vec<bool> = Vec::new();
    let mut loop_depth = 0u32;
    let Ok(mut reader) = body.get_operators_reader() else { return Vec::new() };
    while !reader.eof() {
        let Ok(op) = reader.read() else { break };
        match op {
            Operator::Block { .. } | Operator::If { .. } => blocks.push(false),
            Operator::Loop { .. } => {
                blocks.push(true);
                loop_depth += 1;
            }
            Operator::End => loop_depth -= u32::from(blocks.pop() == Some(true)),
            _ => {}
        }
        let Some(bits) = constant_bits(&op) else { continue };
        // A use outside loops counts 1, in a loop 16, in a nested loop 256 ...
        let weight = 1u64 << (4 * loop_depth.min(12));
        if let Some(c) = found.iter_mut().find(|c| c.0 == bits) {
            c.1 = c.1.saturating_add(weight);
        } else if found.len() < MAX_CONST_CANDIDATES {
            found.push((bits, weight));
        }
    }
    // The heaviest, earliest first on ties; picked by repeated search rather than a
    // sort, which would add kilobytes of code for a few dozen entries.
    let mut chosen = Vec::with_capacity(MAX_CONST_SLOTS.min(found.len()));
    while chosen.len() < MAX_CONST_SLOTS {
        let best = (0..found.len())
            .filter(|&i| found[i].1 >= MIN_CONST_WEIGHT && !chosen.contains(&i))
            .max_by_key(|&i| (found[i].1, core::cmp::Reverse(i)));
        match best {
            Some(i) => chosen.push(i),
            None => break,
        }
    }
    (0..found.len()).filter(|i| chosen.contains(i)).map(|i| found[i].0).collect()
}

/// A constant operator's value as its slot holds it (`i32`/`f32` zero-extended,
/// a null reference as 0).
fn constant_bits(op: &Operator<'_>) -> Option<Slot> {
    Some(match op {
        Operator::I32Const { value } => *value as u32 as Slot,
        Operator::I64Const { value } => *value as Slot,
        Operator::F32Const { value } => value.bits() as Slot,
        Operator::F64Const { value } => value.bits(),
        Operator::RefNull { .. } => 0,
        _ => return None,
    })
}

/// A short name for an operator outside the supported feature set.
fn unsupported_name(op: &Operator<'_>) -> &'static str {
    match op {
        Operator::ReturnCall { .. } | Operator::ReturnCallIndirect { .. } => "tail calls",
        // SIMD is the largest family; every other leftover is a post-2.0 proposal.
        _ => "an operator outside WebAssembly 2.0 (e.g. SIMD)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Linker, Module, Store, Value};
    use alloc::format;
    use alloc::string::String;

    fn module(wat: &str) -> Module {
        Module::new(&Config::new(), &wat::parse_str(wat).expect("test text parses"))
            .expect("module is accepted")
    }

    /// Calls export `run` with one i32 and returns its i32 result.
    fn run(module: &Module, arg: i32) -> i32 {
        let mut store = Store::new(Config::new());
        let instance = Linker::new().instantiate(&mut store, module).unwrap();
        let func = instance.func(&store, "run").unwrap();
        let mut out = [Value::I32(0)];
        store.call(func, &[Value::I32(arg)], &mut out).unwrap();
        match out[0] {
            Value::I32(v) => v,
            other => panic!("not an i32: {other:?}"),
        }
    }

    fn count(module: &Module, pick: fn(&Instr) -> bool) -> usize {
        module.inner.code.iter().filter(|i| pick(i)).count()
    }

    fn is_const(i: &Instr) -> bool {
        matches!(i, Instr::Const32 { .. } | Instr::Const64 { .. })
    }

    #[test]
    fn loop_constants_are_read_from_their_slots() {
        // sum of 3 * i for i in 0..n, counting with constants 1 and 3.
        let m = module(
            r#"(module (func (export "run") (param $n i32) (result i32) (local $i i32) (local $s i32)
                 (block (loop
                   (br_if 1 (i32.ge_s (local.get $i) (local.get $n)))
                   (local.set $s (i32.add (local.get $s) (i32.mul (local.get $i) (i32.const 3))))
                   (local.set $i (i32.add (local.get $i) (i32.const 1)))
                   (br 0)))
                 (local.get $s)))"#,
        );
        assert_eq!(count(&m, is_const), 0, "{:?}", m.inner.code);
        let header = m.inner.headers[0];
        assert_eq!((header.locals, header.num_consts), (3, 2));
        assert_eq!(&m.inner.consts[..], &[3, 1]);
        assert_eq!(run(&m, 10), 135);
    }

    #[test]
    fn constants_past_the_slot_budget_are_loaded_by_instructions() {
        // Six more distinct constants than slots, i64 ones among them, summed into an i32.
        let total = MAX_CONST_SLOTS as i64 + 6;
        let mut body = String::from("(local.get 0)");
        for k in 1..=total {
            let c = if k % 2 == 0 {
                format!("(i32.wrap_i64 (i64.const {}))", k << 40 | k)
            } else {
                format!("(i32.const {k})")
            };
            body = format!("(i32.add {body} {c})");
        }
        // In a loop that runs once, so the constants are worth slots.
        let m = module(&format!(
            r#"(module (func (export "run") (param i32) (result i32)
                 (loop (result i32) {body})))"#
        ));
        let header = m.inner.headers[0];
        assert_eq!(header.num_consts as usize, MAX_CONST_SLOTS);
        assert_eq!(count(&m, is_const), 6);
        assert_eq!(run(&m, 1000), 1000 + (1..=total as i32).sum::<i32>());
    }

    #[test]
    fn constants_outside_loops_keep_frames_small() {
        // A recursion without a loop: its constants are loaded by instructions, so each
        // frame is its parameter and operands only (the exact value-stack limits of a
        // board profile depend on it).
        let m = module(
            r#"(module (func $down (export "run") (param i32) (result i32)
                 (if (result i32) (i32.eqz (local.get 0))
                   (then (i32.const 0))
                   (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#,
        );
        let header = m.inner.headers[0];
        // The parameter and three operands (`1`, `n`, `1` of `n - 1`).
        assert_eq!((header.num_consts, header.frame_size), (0, 4));
        assert_eq!(run(&m, 100), 100);
    }

    /// Calls export `run` with two i32s and returns its i32 result.
    fn run2(module: &Module, a: i32, b: i32) -> i32 {
        let mut store = Store::new(Config::new());
        let instance = Linker::new().instantiate(&mut store, module).unwrap();
        let func = instance.func(&store, "run").unwrap();
        let mut out = [Value::I32(0)];
        store.call(func, &[Value::I32(a), Value::I32(b)], &mut out).unwrap();
        match out[0] {
            Value::I32(v) => v,
            other => panic!("not an i32: {other:?}"),
        }
    }

    #[test]
    fn comparisons_fuse_into_branches_with_the_same_outcome() {
        type Holds = fn(i32, i32) -> bool;
        let cases: [(&str, Holds); 11] = [
            ("eq", |a, b| a == b),
            ("ne", |a, b| a != b),
            ("lt_s", |a, b| a < b),
            ("lt_u", |a, b| (a as u32) < b as u32),
            ("gt_s", |a, b| a > b),
            ("gt_u", |a, b| a as u32 > b as u32),
            ("le_s", |a, b| a <= b),
            ("le_u", |a, b| a as u32 <= b as u32),
            ("ge_s", |a, b| a >= b),
            ("ge_u", |a, b| a as u32 >= b as u32),
            ("eqz", |a, _| a == 0),
        ];
        let values = [i32::MIN, -7, -1, 0, 1, 7, i32::MAX];
        for (op, holds) in cases {
            let cond = if op == "eqz" {
                String::from("(i32.eqz (local.get 0))")
            } else {
                format!("(i32.{op} (local.get 0) (local.get 1))")
            };
            // `if` branches on the negation, `br_if` on the comparison itself.
            let with_if = module(&format!(
                r#"(module (func (export "run") (param i32 i32) (result i32)
                     (if (result i32) {cond} (then (i32.const 1)) (else (i32.const 0)))))"#
            ));
            let with_br_if = module(&format!(
                r#"(module (func (export "run") (param i32 i32) (result i32)
                     (block (br_if 0 {cond}) (return (i32.const 0))) (i32.const 1)))"#
            ));
            for m in [&with_if, &with_br_if] {
                let comparisons = count(m, |i| {
                    matches!(
                        i,
                        Instr::I32Eq { .. }
                            | Instr::I32Ne { .. }
                            | Instr::I32LtS { .. }
                            | Instr::I32LtU { .. }
                            | Instr::I32GtS { .. }
                            | Instr::I32GtU { .. }
                            | Instr::I32LeS { .. }
                            | Instr::I32LeU { .. }
                            | Instr::I32GeS { .. }
                            | Instr::I32GeU { .. }
                            | Instr::I32Eqz { .. }
                    )
                });
                assert_eq!(comparisons, 0, "{op}: {:?}", m.inner.code);
                for a in values {
                    for b in values {
                        assert_eq!(run2(m, a, b), holds(a, b) as i32, "{op} {a} {b}");
                    }
                }
            }
        }
    }

    #[test]
    fn address_additions_fuse_into_loads_and_stores() {
        // Store v at a + b, load it back from a + b: both additions fused, the sum
        // wrapping at 32 bits like i32.add. (In a loop, so the stored constant has a
        // slot and nothing comes between the add and the store.)
        let m = module(
            r#"(module (memory 1)
                 (func (export "run") (param $a i32) (param $b i32) (result i32)
                   (loop (result i32)
                     (i32.store16 offset=2 (i32.add (local.get $a) (local.get $b)) (i32.const 0x1234))
                     (i32.load16_s offset=2 (i32.add (local.get $a) (local.get $b))))))"#,
        );
        assert_eq!(count(&m, |i| matches!(i, Instr::I32Add { .. })), 0, "{:?}", m.inner.code);
        assert_eq!(run2(&m, 100, 20), 0x1234);
        assert_eq!(run2(&m, -16, 20), 0x1234); // 0xffff_fff0 + 20 wraps to 4
        // Past the memory: the add wraps, the offset does not.
        let mut store = Store::new(Config::new());
        let instance = Linker::new().instantiate(&mut store, &m).unwrap();
        let func = instance.func(&store, "run").unwrap();
        let args = [Value::I32(65534), Value::I32(0)];
        let err = store.call(func, &args, &mut [Value::I32(0)]).unwrap_err();
        assert_eq!(err, crate::Error::Trap(crate::TrapKind::MemoryOutOfBounds.into()));
    }

    #[test]
    fn a_slot_outside_the_frame_is_an_error() {
        // The translator's own bookkeeping never produces one; a slip must not reach the
        // executor's unchecked slot access. Translate a body, then slip in an operand.
        let wat = r#"(module (func (param i32) (result i32) (local.get 0)))"#;
        let bytes = wat::parse_str(wat).unwrap();
        let m = module(wat);
        let body = wasmparser::Parser::new(0)
            .parse_all(&bytes)
            .find_map(|p| match p.unwrap() {
                wasmparser::Payload::CodeSectionEntry(body) => Some(body),
                _ => None,
            })
            .unwrap();
        let (mut code, mut consts) = (alloc::vec::Vec::new(), alloc::vec::Vec::new());
        let config = Config::new();
        let frame = m.inner.headers[0].frame_size;
        let t = Translator::new(&m.inner, &config, 0, &body, &mut code, &mut consts).unwrap();
        t.code.push(Instr::I32Add { dst: frame, lhs: 0, rhs: 0 });
        t.code.push(Instr::Return1 { src: 0 });
        let err = t.finish().unwrap_err();
        assert!(format!("{err}").contains("slot operand outside the frame"), "{err}");
    }

    #[test]
    fn slot_operands_are_all_visited() {
        let mut seen = alloc::vec::Vec::new();
        Instr::Select { dst: 1, cond: 2, a: 3, b: 4 }.for_each_slot(|r| seen.push(r));
        Instr::Store32Add { base: 5, index: 6, value: 7, offset: 0 }
            .for_each_slot(|r| seen.push(r));
        Instr::CopyN { dst: 8, src: 20, count: 3 }.for_each_slot(|r| seen.push(r));
        Instr::MemoryFill { base: 30 }.for_each_slot(|r| seen.push(r));
        Instr::BrIfI32LtU { lhs: 40, rhs: 41, target: 0 }.for_each_slot(|r| seen.push(r));
        Instr::Call { func: 0, base: 50 }.for_each_slot(|r| seen.push(r));
        assert_eq!(seen, [1, 2, 3, 4, 7, 5, 6, 10, 22, 32, 40, 41]);
    }

    #[test]
    fn a_callee_frame_leaves_the_callers_constants_alone() {
        // Recursion from inside a loop (which runs once): every frame holds its own copy
        // of the constants above its locals, and the callee's frame starts above them.
        let m = module(
            r#"(module (func $f (export "run") (param i32) (result i32)
                 (loop (result i32)
                   (if (result i32) (i32.lt_s (local.get 0) (i32.const 2))
                     (then (local.get 0))
                     (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1)))
                                    (call $f (i32.sub (local.get 0) (i32.const 2)))))))))"#,
        );
        assert_eq!(count(&m, is_const), 0);
        assert_eq!(m.inner.headers[0].num_consts, 2);
        assert_eq!(run(&m, 20), 6765);
    }
}
