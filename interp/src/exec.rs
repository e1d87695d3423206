//! The interpreter loop: executes translated code over the store's value stack.
//!
//! Wasm calls never recurse on the native stack: a call pushes a `CallFrame` on
//! the store's frame stack (allocated with the store) and continues in the same
//! loop, so native stack use is the same at wasm call depth 1 and 10,000. Nothing
//! here allocates, except `table.grow` and `memory.grow` on heap-backed entities.
//!
//! Dispatch is one dense `match` over `Instr` (a jump table). The numeric arms are
//! generated from `for_each_numeric!`; every other arm is a one-liner calling an
//! `#[inline(always)]` method, so the semantics read as ordinary code.

use crate::error::{Error, Trap, TrapKind};
use crate::ir::{Instr, Reg};
use crate::memory::{LinearMemory, MemoryKind, PAGE_SIZE};
use crate::module::FuncHeader;
use crate::raw::code::CodePtr;
use crate::raw::frame::{Frame, ValueStack};
use crate::raw::memory::MemoryView;
use crate::store::{
    CallFrame, Caller, DataEntity, ElemEntity, ExecStats, FuncEntity, FuncKind, GlobalEntity,
    InstanceEntity, Store, TableEntity,
};
use crate::value::{FuncType, Slot, Value};

/// Calls the function at store address `func`: checks the arguments against its
/// signature, runs it to completion and decodes the results.
pub(crate) fn invoke(
    store: &mut Store,
    func: u32,
    args: &[Value],
    results: &mut [Value],
) -> Result<(), Error> {
    let Some(entity) = store.funcs.get_mut(func as usize) else {
        return Err(Error::ForeignHandle { what: "function handle" });
    };
    let ty = &store.types[entity.ty as usize];
    check_values(ty.params(), args)?;
    if results.len() != ty.results().len() {
        return Err(Error::ArgumentCount { expected: ty.results().len(), got: results.len() });
    }
    for (r, t) in results.iter_mut().zip(ty.results()) {
        *r = Value::default_for(*t);
    }
    let ty_id = entity.ty as usize;
    if let FuncKind::Host(f) = &mut entity.kind {
        return f(&mut Caller { memory: None }, args, results).map_err(Error::Trap);
    }
    if store.stack.len() < args.len() {
        return Err(TrapKind::StackExhausted.into());
    }
    for (slot, arg) in store.stack.iter_mut().zip(args) {
        *slot = arg.to_slot();
    }
    store.frames.clear();
    store.stats.peak_call_depth = store.stats.peak_call_depth.max(1);
    let mut ex = Executor::new(store);
    ex.enter(func, 0)?;
    ex.run()?;
    for ((r, t), slot) in
        results.iter_mut().zip(store.types[ty_id].results()).zip(store.stack.iter())
    {
        *r = Value::from_slot(*t, *slot);
    }
    Ok(())
}

fn check_values(expected: &[crate::value::ValType], got: &[Value]) -> Result<(), Error> {
    if expected.len() != got.len() {
        return Err(Error::ArgumentCount { expected: expected.len(), got: got.len() });
    }
    for (index, (e, v)) in expected.iter().zip(got).enumerate() {
        if *e != v.ty() {
            return Err(Error::ArgumentType { index, expected: *e, got: v.ty() });
        }
    }
    Ok(())
}

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

/// The executor's view of a store during one call: the store's parts borrowed
/// apart, plus the running function's context.
struct Executor<'s> {
    types: &'s [FuncType],
    funcs: &'s mut [FuncEntity],
    tables: &'s mut [TableEntity],
    memories: &'s mut [LinearMemory],
    globals: &'s mut [GlobalEntity],
    elems: &'s mut [ElemEntity],
    datas: &'s mut [DataEntity],
    instances: &'s [InstanceEntity],
    stack: ValueStack<'s>,
    frames: &'s mut alloc::vec::Vec<CallFrame>,
    fuel: &'s mut u64,
    stats: &'s mut ExecStats,
    heap_memory_bytes: &'s mut u64,
    max_heap_memory: Option<u64>,
    host_args: &'s mut alloc::vec::Vec<Value>,
    host_results: &'s mut alloc::vec::Vec<Value>,
    max_depth: usize,

    /// The running function's instance, its index and its module's code.
    instance: u32,
    inst: &'s InstanceEntity,
    code: &'s [Instr],
    headers: &'s [FuncHeader],
    consts: &'s [Slot],
    imported_funcs: u32,
    /// The store index of the running instance's memory 0 (`usize::MAX` if it has none,
    /// which validation makes unreachable): one lookup per instance switch, not per access.
    mem0: usize,
    /// Where memory 0's bytes are: renewed after every step that may move them
    /// (`memory.grow`, a host call, an instance switch), so loads and stores need not
    /// find the memory first.
    mem0_view: MemoryView,
    /// The running frame's first slot.
    base: usize,
    pc: usize,
}

macro_rules! define_run {
    (
        binary { $($bin:ident: $ba:ty, $bb:ty => $br:ty, $bf:expr;)* }
        binary_trap { $($bint:ident: $bta:ty, $btb:ty => $btr:ty, $btf:expr;)* }
        unary { $($un:ident: $ua:ty => $ur:ty, $uf:expr;)* }
        unary_trap { $($unt:ident: $uta:ty => $utr:ty, $utf:expr;)* }
        compare_branch { $($cb:ident: $cbc:ident, $cbn:ident, $cbt:ty, $cbf:expr;)* }
    ) => {
        impl Executor<'_> {
            /// Runs until the outermost frame returns.
            ///
            /// The instruction pointer, the running code and the frame live in locals, so
            /// they stay in registers across the stores every instruction makes; they are
            /// reloaded from the fields ([`Executor::resume_point`]) only after calls and
            /// returns, the only steps that change them (`self.pc` is brought up to date
            /// before a call; `self.base` is never stale: only those steps move it).
            fn run(&mut self) -> Result<(), Trap> {
                let (mut ip, mut code, mut frame) = self.resume_point();
                loop {
                    match *fetch(ip) {
                        Instr::Unreachable => return Err(TrapKind::Unreachable.into()),
                        Instr::ConsumeFuel { amount } => self.consume_fuel(amount)?,
                        Instr::Br { target } => {
                            ip = CodePtr::at(code, target as usize);
                            continue;
                        }
                        Instr::BrIfNez { cond, target } => {
                            if reg(frame, cond) as u32 != 0 {
                                ip = CodePtr::at(code, target as usize);
                                continue;
                            }
                        }
                        Instr::BrIfEqz { cond, target } => {
                            if reg(frame, cond) as u32 == 0 {
                                ip = CodePtr::at(code, target as usize);
                                continue;
                            }
                        }
                        Instr::BrTable { index, len } => {
                            ip = ip.skip(1 + (reg(frame, index) as u32).min(len) as usize);
                            continue;
                        }
                        Instr::Return0 => {
                            if self.ret() {
                                return Ok(());
                            }
                            (ip, code, frame) = self.resume_point();
                            continue;
                        }
                        Instr::Return1 { src } => {
                            set(frame, 0, reg(frame, src));
                            if self.ret() {
                                return Ok(());
                            }
                            (ip, code, frame) = self.resume_point();
                            continue;
                        }
                        Instr::ReturnN { src, count } => {
                            let (base, src) = (self.base, self.base + src as usize);
                            self.stack.all().copy_within(src..src + count as usize, base);
                            if self.ret() {
                                return Ok(());
                            }
                            (ip, code, frame) = self.resume_point();
                            continue;
                        }
                        Instr::Call { func, base } => {
                            self.pc = ip.index_in(code);
                            self.call(func, base)?;
                            (ip, code, frame) = self.resume_point();
                            continue;
                        }
                        Instr::CallIndirect { ty, base, index, table } => {
                            self.pc = ip.index_in(code);
                            self.call_indirect(ty, base, index, table)?;
                            (ip, code, frame) = self.resume_point();
                            continue;
                        }
                        Instr::Copy { dst, src } => set(frame, dst, reg(frame, src)),
                        Instr::CopyN { dst, src, count } => {
                            let src = self.base + src as usize;
                            let dst = self.base + dst as usize;
                            self.stack.all().copy_within(src..src + count as usize, dst);
                        }
                        Instr::Const32 { dst, value } => set(frame, dst, value as Slot),
                        Instr::Const64 { dst, lo, hi } => set(frame, dst, (hi as Slot) << 32 | lo as Slot),
                        Instr::Select { dst, cond, a, b } => {
                            let v = if reg(frame, cond) as u32 != 0 { reg(frame, a) } else { reg(frame, b) };
                            set(frame, dst, v);
                        }
                        Instr::GlobalGet { dst, global } => {
                            let g = self.inst.globals[global as usize] as usize;
                            set(frame, dst, self.globals[g].value);
                        }
                        Instr::GlobalSet { src, global } => {
                            let g = self.inst.globals[global as usize] as usize;
                            self.globals[g].value = reg(frame, src);
                        }
                        Instr::Load8U { dst, addr, offset } => {
                            let v = self.load::<1>(reg(frame, addr), offset)?;
                            set(frame, dst, v[0] as Slot);
                        }
                        Instr::Load16U { dst, addr, offset } => {
                            let v = self.load(reg(frame, addr), offset)?;
                            set(frame, dst, u16::from_le_bytes(v) as Slot);
                        }
                        Instr::Load32 { dst, addr, offset } => {
                            let v = self.load(reg(frame, addr), offset)?;
                            set(frame, dst, u32::from_le_bytes(v) as Slot);
                        }
                        Instr::Load64 { dst, addr, offset } => {
                            let v = self.load(reg(frame, addr), offset)?;
                            set(frame, dst, u64::from_le_bytes(v));
                        }
                        Instr::I32Load8S { dst, addr, offset } => {
                            let v = self.load::<1>(reg(frame, addr), offset)?;
                            set(frame, dst, (v[0] as i8 as i32).into_slot());
                        }
                        Instr::I32Load16S { dst, addr, offset } => {
                            let v = self.load(reg(frame, addr), offset)?;
                            set(frame, dst, (i16::from_le_bytes(v) as i32).into_slot());
                        }
                        Instr::I64Load8S { dst, addr, offset } => {
                            let v = self.load::<1>(reg(frame, addr), offset)?;
                            set(frame, dst, v[0] as i8 as i64 as Slot);
                        }
                        Instr::I64Load16S { dst, addr, offset } => {
                            let v = self.load(reg(frame, addr), offset)?;
                            set(frame, dst, i16::from_le_bytes(v) as i64 as Slot);
                        }
                        Instr::I64Load32S { dst, addr, offset } => {
                            let v = self.load(reg(frame, addr), offset)?;
                            set(frame, dst, i32::from_le_bytes(v) as i64 as Slot);
                        }
                        Instr::Store8 { addr, value, offset } => {
                            self.store(reg(frame, addr), offset, [reg(frame, value) as u8])?
                        }
                        Instr::Store16 { addr, value, offset } => {
                            self.store(reg(frame, addr), offset, (reg(frame, value) as u16).to_le_bytes())?
                        }
                        Instr::Store32 { addr, value, offset } => {
                            self.store(reg(frame, addr), offset, (reg(frame, value) as u32).to_le_bytes())?
                        }
                        Instr::Store64 { addr, value, offset } => {
                            self.store(reg(frame, addr), offset, reg(frame, value).to_le_bytes())?
                        }
                        Instr::Load8UAdd { dst, base, index, offset } => {
                            let v = self.load::<1>(sum(frame, base, index), offset)?;
                            set(frame, dst, v[0] as Slot);
                        }
                        Instr::Load16UAdd { dst, base, index, offset } => {
                            let v = self.load(sum(frame, base, index), offset)?;
                            set(frame, dst, u16::from_le_bytes(v) as Slot);
                        }
                        Instr::Load32Add { dst, base, index, offset } => {
                            let v = self.load(sum(frame, base, index), offset)?;
                            set(frame, dst, u32::from_le_bytes(v) as Slot);
                        }
                        Instr::Load64Add { dst, base, index, offset } => {
                            let v = self.load(sum(frame, base, index), offset)?;
                            set(frame, dst, u64::from_le_bytes(v));
                        }
                        Instr::I32Load8SAdd { dst, base, index, offset } => {
                            let v = self.load::<1>(sum(frame, base, index), offset)?;
                            (v[0] as i8 as i32).write(frame, dst);
                        }
                        Instr::I32Load16SAdd { dst, base, index, offset } => {
                            let v = self.load(sum(frame, base, index), offset)?;
                            (i16::from_le_bytes(v) as i32).write(frame, dst);
                        }
                        Instr::Store8Add { base, index, value, offset } => {
                            self.store(sum(frame, base, index), offset, [reg(frame, value) as u8])?
                        }
                        Instr::Store16Add { base, index, value, offset } => {
                            self.store(sum(frame, base, index), offset, (reg(frame, value) as u16).to_le_bytes())?
                        }
                        Instr::Store32Add { base, index, value, offset } => {
                            self.store(sum(frame, base, index), offset, (reg(frame, value) as u32).to_le_bytes())?
                        }
                        Instr::Store64Add { base, index, value, offset } => {
                            self.store(sum(frame, base, index), offset, reg(frame, value).to_le_bytes())?
                        }
                        Instr::MemorySize { dst } => {
                            let size = self.memory().size_pages();
                            set(frame, dst, size as Slot);
                        }
                        Instr::MemoryGrow { dst, delta } => {
                            let old = self.memory_grow(reg(frame, delta) as u32);
                            set(frame, dst, old as Slot);
                        }
                        Instr::MemoryFill { base } => self.memory_fill(base)?,
                        Instr::MemoryCopy { base } => self.memory_copy(base)?,
                        Instr::MemoryInit { base, data } => self.memory_init(base, data)?,
                        Instr::DataDrop { data } => {
                            let d = self.inst.datas[data as usize] as usize;
                            self.datas[d].bytes = None;
                        }
                        Instr::TableGet { dst, index, table } => {
                            let t = &self.tables[self.inst.tables[table as usize] as usize];
                            let i = reg(frame, index) as u32 as usize;
                            let v = *t.elems.get(i).ok_or(TrapKind::TableOutOfBounds)?;
                            set(frame, dst, v);
                        }
                        Instr::TableSet { index, value, table } => {
                            let (i, v) = (reg(frame, index) as u32 as usize, reg(frame, value));
                            let t = &mut self.tables[self.inst.tables[table as usize] as usize];
                            *t.elems.get_mut(i).ok_or(TrapKind::TableOutOfBounds)? = v;
                        }
                        Instr::TableSize { dst, table } => {
                            let t = &self.tables[self.inst.tables[table as usize] as usize];
                            set(frame, dst, t.elems.len() as Slot);
                        }
                        Instr::TableGrow { dst, init, delta, table } => {
                            let (init, delta) = (reg(frame, init), reg(frame, delta) as u32);
                            let t = &mut self.tables[self.inst.tables[table as usize] as usize];
                            let old = table_grow(t, delta, init).unwrap_or(u32::MAX);
                            set(frame, dst, old as Slot);
                        }
                        Instr::TableFill { base, table } => self.table_fill(base, table)?,
                        Instr::TableCopy { base, dst_table, src_table } => {
                            self.table_copy(base, dst_table, src_table)?
                        }
                        Instr::TableInit { base, elem, table } => self.table_init(base, elem, table)?,
                        Instr::ElemDrop { elem } => {
                            let e = self.inst.elems[elem as usize] as usize;
                            self.elems[e].items = Default::default();
                        }
                        Instr::RefFunc { dst, func } => {
                            let addr = self.inst.funcs[func as usize];
                            set(frame, dst, addr as Slot + 1);
                        }
                        $( Instr::$bin { dst, lhs, rhs } => {
                            let a = <$ba>::from_slot(reg(frame, lhs));
                            let b = <$bb>::from_slot(reg(frame, rhs));
                            let r: $br = ($bf)(a, b);
                            r.write(frame, dst);
                        } )*
                        $( Instr::$bint { dst, lhs, rhs } => {
                            let a = <$bta>::from_slot(reg(frame, lhs));
                            let b = <$btb>::from_slot(reg(frame, rhs));
                            let r: $btr = ($btf)(a, b)?;
                            r.write(frame, dst);
                        } )*
                        $( Instr::$un { dst, src } => {
                            let a = <$ua>::from_slot(reg(frame, src));
                            let r: $ur = ($uf)(a);
                            r.write(frame, dst);
                        } )*
                        $( Instr::$cb { lhs, rhs, target } => {
                            let a = <$cbt>::from_slot(reg(frame, lhs));
                            let b = <$cbt>::from_slot(reg(frame, rhs));
                            if ($cbf)(a, b) {
                                ip = CodePtr::at(code, target as usize);
                                continue;
                            }
                        } )*
                        $( Instr::$unt { dst, src } => {
                            let a = <$uta>::from_slot(reg(frame, src));
                            let r: $utr = ($utf)(a)?;
                            r.write(frame, dst);
                        } )*
                    }
                    ip = ip.next();
                }
            }
        }
    };
}
crate::for_each_numeric!(define_run);

/// The instruction at `ip`: the run loop's fetch.
#[inline(always)]
#[allow(unsafe_code)]
fn fetch(ip: CodePtr<'_>) -> &Instr {
    // SAFETY: the run loop only moves `ip` within the running function's code, which
    // the module keeps alive: the translator proved the function ends in an instruction
    // that does not fall through and that its branch targets and branch-table entries
    // lie within it; calls resume after the call, which is not the function's last.
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

/// Writes slot `r` of the running frame.
#[inline(always)]
#[allow(unsafe_code)]
fn set(frame: Frame, r: Reg, v: Slot) {
    // SAFETY: as in `reg`.
    unsafe { frame.set(r, v) }
}

/// Writes the low half of slot `r` of the running frame (a 32-bit result).
#[inline(always)]
#[allow(unsafe_code)]
fn set_low(frame: Frame, r: Reg, v: u32) {
    // SAFETY: as in `reg`.
    unsafe { frame.set_low(r, v) }
}

impl<'s> Executor<'s> {
    fn new(store: &'s mut Store) -> Self {
        let Store {
            config,
            types,
            funcs,
            tables,
            memories,
            globals,
            elems,
            datas,
            instances,
            stack,
            frames,
            fuel,
            stats,
            heap_memory_bytes,
            host_args,
            host_results,
            idle_static_buffers: _,
        } = store;
        let instances: &'s [InstanceEntity] = instances;
        let first = &instances[0];
        let mut ex = Executor {
            types,
            funcs,
            tables,
            memories,
            globals,
            elems,
            datas,
            instances,
            stack: ValueStack::new(stack),
            frames,
            fuel,
            stats,
            heap_memory_bytes,
            max_heap_memory: config.max_heap_memory,
            host_args,
            host_results,
            max_depth: config.max_call_depth as usize,
            instance: 0,
            inst: first,
            code: &first.module.inner.code,
            headers: &first.module.inner.headers,
            consts: &first.module.inner.consts,
            imported_funcs: first.module.inner.num_imported_funcs,
            mem0: memory0(first),
            mem0_view: MemoryView::EMPTY,
            base: 0,
            pc: 0,
        };
        ex.renew_view();
        ex
    }

    /// Slot `r` of the running frame, checked: for the operands of rare instructions.
    #[inline(always)]
    fn reg(&self, r: Reg) -> Slot {
        self.stack.view()[self.base + r as usize]
    }

    /// Where the run loop continues: the instruction at `self.pc` of the running code,
    /// and the running function's frame for its unchecked operand access.
    #[inline(always)]
    fn resume_point(&self) -> (CodePtr<'s>, &'s [Instr], Frame) {
        (CodePtr::at(self.code, self.pc), self.code, self.stack.frame(self.base))
    }

    #[inline(always)]
    fn consume_fuel(&mut self, amount: u32) -> Result<(), Trap> {
        let amount = amount as u64;
        if *self.fuel < amount {
            return Err(TrapKind::OutOfFuel.into());
        }
        *self.fuel -= amount;
        self.stats.fuel_consumed += amount;
        Ok(())
    }

    /// Switches the running context to instance `instance`.
    fn switch_instance(&mut self, instance: u32) {
        if instance != self.instance {
            let inst: &'s InstanceEntity = &self.instances[instance as usize];
            self.instance = instance;
            self.inst = inst;
            self.code = &inst.module.inner.code;
            self.headers = &inst.module.inner.headers;
            self.consts = &inst.module.inner.consts;
            self.imported_funcs = inst.module.inner.num_imported_funcs;
            self.mem0 = memory0(inst);
            self.renew_view();
        }
    }

    /// Enters wasm function `addr` with its frame at absolute slot `base`.
    fn enter(&mut self, addr: u32, base: usize) -> Result<(), Trap> {
        let FuncKind::Wasm { instance, index } = self.funcs[addr as usize].kind else {
            return Err(TrapKind::Unreachable.into());
        };
        self.switch_instance(instance);
        self.enter_local(index, base)
    }

    /// Enters function `index` of the running instance (a defined one).
    #[inline(always)]
    fn enter_local(&mut self, index: u32, base: usize) -> Result<(), Trap> {
        let header = self.headers[(index - self.imported_funcs) as usize];
        let top = base + header.frame_size as usize;
        let Some(frame) = self.stack.slots(base..top) else {
            return Err(TrapKind::StackExhausted.into());
        };
        let (params, locals) = (header.params as usize, header.locals as usize);
        let consts = header.consts as usize..header.consts as usize + header.num_consts as usize;
        // Plain loops: frames have a few locals and constants, fewer than a call to
        // `memset` or `memcpy` is worth on the board.
        for slot in frame.iter_mut().take(locals).skip(params) {
            *slot = 0;
        }
        let consts = self.consts.get(consts).unwrap_or_default();
        for (slot, value) in frame.iter_mut().skip(locals).zip(consts) {
            *slot = *value;
        }
        self.base = base;
        self.pc = header.entry as usize;
        self.stats.peak_stack_slots = self.stats.peak_stack_slots.max(top as u32);
        Ok(())
    }

    /// Suspends the running function before a call.
    #[inline(always)]
    fn push_frame(&mut self) -> Result<(), Trap> {
        let depth = self.frames.len() + 1;
        if depth >= self.max_depth {
            return Err(TrapKind::StackExhausted.into());
        }
        // Capacity was reserved for `max_depth` frames: this never allocates.
        self.frames.push(CallFrame {
            instance: self.instance,
            return_pc: self.pc as u32 + 1,
            base: self.base as u32,
        });
        self.stats.peak_call_depth = self.stats.peak_call_depth.max(depth as u32 + 1);
        Ok(())
    }

    /// Returns from the running function; `true` when it was the outermost.
    #[inline(always)]
    fn ret(&mut self) -> bool {
        match self.frames.pop() {
            None => true,
            Some(frame) => {
                self.switch_instance(frame.instance);
                self.base = frame.base as usize;
                self.pc = frame.return_pc as usize;
                false
            }
        }
    }

    /// `call func` with arguments at `base`.
    #[inline(always)]
    fn call(&mut self, func: u32, base: Reg) -> Result<(), Trap> {
        let new_base = self.base + base as usize;
        if func >= self.imported_funcs {
            self.push_frame()?;
            return self.enter_local(func, new_base);
        }
        let addr = self.inst.funcs[func as usize];
        self.call_addr(addr, new_base)
    }

    /// Calls the function at store address `addr` with its frame at `new_base`.
    fn call_addr(&mut self, addr: u32, new_base: usize) -> Result<(), Trap> {
        if let FuncKind::Host(_) = self.funcs[addr as usize].kind {
            self.call_host(addr, new_base)?;
            self.pc += 1;
            return Ok(());
        }
        self.push_frame()?;
        self.enter(addr, new_base)
    }

    fn call_indirect(&mut self, ty: u32, base: Reg, index: Reg, table: u16) -> Result<(), Trap> {
        let t = &self.tables[self.inst.tables[table as usize] as usize];
        let i = self.reg(index) as u32 as usize;
        let slot = *t.elems.get(i).ok_or(TrapKind::UndefinedElement)?;
        let addr = slot.checked_sub(1).ok_or(TrapKind::UninitializedElement)? as u32;
        // Without validation a table may hold a non-function reference: checked
        // like a signature mismatch, never trusted as an address.
        let callee = self.funcs.get(addr as usize).ok_or(TrapKind::IndirectCallTypeMismatch)?;
        if callee.ty != self.inst.types[ty as usize] {
            return Err(TrapKind::IndirectCallTypeMismatch.into());
        }
        self.call_addr(addr, self.base + base as usize)
    }

    /// Calls a host function: arguments and results pass through buffers sized
    /// when the function was defined, so this does not allocate.
    fn call_host(&mut self, addr: u32, base: usize) -> Result<(), Trap> {
        let func = &mut self.funcs[addr as usize];
        let ty = &self.types[func.ty as usize];
        let (params, results) = (ty.params(), ty.results());
        if base + params.len().max(results.len()) > self.stack.len() {
            return Err(TrapKind::StackExhausted.into());
        }
        self.host_args.clear();
        for (i, t) in params.iter().enumerate() {
            self.host_args.push(Value::from_slot(*t, self.stack.view()[base + i]));
        }
        self.host_results.clear();
        self.host_results.extend(results.iter().map(|t| Value::default_for(*t)));
        let memory = match self.inst.memories.first() {
            Some(&m) => self.memories.get_mut(m as usize),
            None => None,
        };
        let FuncKind::Host(f) = &mut func.kind else {
            return Err(TrapKind::Unreachable.into());
        };
        f(&mut Caller { memory }, &self.host_args[..], &mut self.host_results[..])?;
        // The host may have grown the memory.
        self.renew_view();
        for (i, v) in self.host_results.iter().enumerate() {
            self.stack.all()[base + i] = v.to_slot();
        }
        Ok(())
    }

    // ---- memory --------------------------------------------------------------

    #[inline(always)]
    fn memory(&self) -> &LinearMemory {
        &self.memories[self.mem0]
    }

    /// `memory.grow` on memory 0: the old size in pages, or `u32::MAX` (wasm's -1). A heap
    /// memory may not pass the store's heap-memory budget; refusals the memory's own
    /// maximum would have allowed are counted in `grow_refusals`. Out of line: it is
    /// rare, and keeps the interpreter loop small.
    #[cold]
    #[inline(never)]
    fn memory_grow(&mut self, delta: u32) -> u32 {
        let memory = &mut self.memories[self.mem0];
        let old = memory.size_pages();
        let is_heap = memory.kind() == MemoryKind::Heap;
        let added = u64::from(delta) * PAGE_SIZE as u64;
        let in_use = *self.heap_memory_bytes;
        let within_budget = !is_heap
            || self.max_heap_memory.is_none_or(|budget| in_use.saturating_add(added) <= budget);
        // Checked before growing: a refused grow must not allocate.
        let grown = if within_budget { memory.grow(delta) } else { None };
        let limit = memory.limit_pages();
        self.renew_view();
        match grown {
            Some(old) => {
                if is_heap {
                    *self.heap_memory_bytes = in_use.saturating_add(added);
                }
                old
            }
            None => {
                // Past the memory's own maximum is the module's limit, not the board's.
                if u64::from(old) + u64::from(delta) <= u64::from(limit) {
                    self.stats.grow_refusals = self.stats.grow_refusals.saturating_add(1);
                }
                u32::MAX
            }
        }
    }

    #[inline(always)]
    fn memory_mut(&mut self) -> &mut LinearMemory {
        &mut self.memories[self.mem0]
    }

    /// Memory 0's view as of now (empty if the instance has none).
    fn current_view(&self) -> MemoryView {
        self.memories.get(self.mem0).map_or(MemoryView::EMPTY, LinearMemory::view)
    }

    /// Takes a fresh view of memory 0.
    fn renew_view(&mut self) {
        self.mem0_view = self.current_view();
    }

    /// Debug builds: the view is the memory's current one.
    #[inline(always)]
    fn check_view(&self) {
        debug_assert_eq!(self.mem0_view, self.current_view(), "stale view of memory 0");
    }

    #[inline(always)]
    #[allow(unsafe_code)]
    fn load<const N: usize>(&self, addr: Slot, offset: u32) -> Result<[u8; N], Trap> {
        self.check_view();
        let ea = effective_address(addr, offset).ok_or(TrapKind::MemoryOutOfBounds)?;
        // SAFETY: the view is renewed after every step that may grow or move memory 0,
        // and no reference to its bytes is alive while the run loop executes a load.
        let bytes = unsafe { self.mem0_view.load(ea) };
        Ok(bytes.ok_or(TrapKind::MemoryOutOfBounds)?)
    }

    #[inline(always)]
    #[allow(unsafe_code)]
    fn store<const N: usize>(&self, addr: Slot, offset: u32, bytes: [u8; N]) -> Result<(), Trap> {
        self.check_view();
        let ea = effective_address(addr, offset).ok_or(TrapKind::MemoryOutOfBounds)?;
        // SAFETY: as in `load`.
        let stored = unsafe { self.mem0_view.store(ea, bytes) };
        Ok(stored.ok_or(TrapKind::MemoryOutOfBounds)?)
    }

    /// The three i32 operands of a bulk operation at `base`.
    fn operands3(&self, base: Reg) -> (u64, u64, u64) {
        let r = |i: Reg| self.reg(base + i) as u32 as u64;
        (r(0), r(1), r(2))
    }

    fn memory_fill(&mut self, base: Reg) -> Result<(), Trap> {
        let (dst, value, len) = self.operands3(base);
        let data = self.memory_mut().data_mut();
        range_mut(dst, len, data).ok_or(TrapKind::MemoryOutOfBounds)?.fill(value as u8);
        Ok(())
    }

    fn memory_copy(&mut self, base: Reg) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let data = self.memory_mut().data_mut();
        if range(dst, len, data).is_none() || range(src, len, data).is_none() {
            return Err(TrapKind::MemoryOutOfBounds.into());
        }
        // Both ranges are within `data`, so these fit in usize.
        data.copy_within(src as usize..(src + len) as usize, dst as usize);
        Ok(())
    }

    fn memory_init(&mut self, base: Reg, data: u32) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let d = self.inst.datas[data as usize] as usize;
        let segment: &[u8] = self.datas[d].bytes.as_deref().unwrap_or(&[]);
        let from = range(src, len, segment).ok_or(TrapKind::MemoryOutOfBounds)?;
        let mem = &mut self.memories[self.mem0];
        range_mut(dst, len, mem.data_mut())
            .ok_or(TrapKind::MemoryOutOfBounds)?
            .copy_from_slice(from);
        Ok(())
    }

    // ---- tables --------------------------------------------------------------

    fn table_fill(&mut self, base: Reg, table: u32) -> Result<(), Trap> {
        let (dst, len) = (self.reg(base) as u32 as u64, self.reg(base + 2) as u32 as u64);
        let value = self.reg(base + 1);
        let t = &mut self.tables[self.inst.tables[table as usize] as usize];
        range_mut(dst, len, &mut t.elems).ok_or(TrapKind::TableOutOfBounds)?.fill(value);
        Ok(())
    }

    fn table_copy(&mut self, base: Reg, dst_table: u16, src_table: u16) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let d = self.inst.tables[dst_table as usize] as usize;
        let s = self.inst.tables[src_table as usize] as usize;
        let oob = TrapKind::TableOutOfBounds;
        if d == s {
            let elems = &mut self.tables[d].elems;
            if range(dst, len, elems).is_none() || range(src, len, elems).is_none() {
                return Err(oob.into());
            }
            elems.copy_within(src as usize..(src + len) as usize, dst as usize);
            return Ok(());
        }
        let (dt, st) = if d < s {
            let (lo, hi) = self.tables.split_at_mut(s);
            (&mut lo[d], &hi[0])
        } else {
            let (lo, hi) = self.tables.split_at_mut(d);
            (&mut hi[0], &lo[s])
        };
        let from = range(src, len, &st.elems).ok_or(oob)?;
        range_mut(dst, len, &mut dt.elems).ok_or(oob)?.copy_from_slice(from);
        Ok(())
    }

    fn table_init(&mut self, base: Reg, elem: u32, table: u16) -> Result<(), Trap> {
        let (dst, src, len) = self.operands3(base);
        let e = self.inst.elems[elem as usize] as usize;
        let t = self.inst.tables[table as usize] as usize;
        let from = range(src, len, &self.elems[e].items).ok_or(TrapKind::TableOutOfBounds)?;
        range_mut(dst, len, &mut self.tables[t].elems)
            .ok_or(TrapKind::TableOutOfBounds)?
            .copy_from_slice(from);
        Ok(())
    }
}

/// `table.grow`: the old size, or `None` (wasm's -1) past the maximum or when the
/// heap cannot provide the room.
pub(crate) fn table_grow(t: &mut TableEntity, delta: u32, init: Slot) -> Option<u32> {
    let old = t.elems.len() as u32;
    let new = old.checked_add(delta)?;
    if t.max.is_some_and(|max| new > max) {
        return None;
    }
    t.elems.try_reserve_exact(delta as usize).ok()?;
    t.elems.resize(new as usize, init);
    Some(old)
}

/// A load or store's address, `addr + offset`, in the native word: on a 32-bit target a sum
/// past `usize::MAX` is out of bounds anyway (no memory reaches it), so `None` means out of
/// bounds; on a 64-bit one it cannot overflow. Cheaper than 64-bit arithmetic on Cortex-M.
#[inline(always)]
fn effective_address(addr: Slot, offset: u32) -> Option<usize> {
    (addr as u32 as usize).checked_add(offset as usize)
}

/// The instance's memory 0 as a store index, or `usize::MAX` without one.
fn memory0(inst: &InstanceEntity) -> usize {
    inst.memories.first().map_or(usize::MAX, |&m| m as usize)
}

/// `data[start..start + len]`, or `None` if any of it is out of bounds.
#[inline(always)]
fn range<T>(start: u64, len: u64, data: &[T]) -> Option<&[T]> {
    let end = start.checked_add(len)?;
    data.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
}

#[inline(always)]
fn range_mut<T>(start: u64, len: u64, data: &mut [T]) -> Option<&mut [T]> {
    let end = start.checked_add(len)?;
    data.get_mut(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
}
