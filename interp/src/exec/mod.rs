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
//!
//! - this file: a call's entry ([`invoke`]) and the [`Executor`], the store's parts
//!   borrowed apart for the duration of one call;
//! - [`run`]: the run loop, and its unchecked fetch and slot accessors;
//! - [`call`]: calls and returns between wasm functions, across instances, and into
//!   host functions;
//! - [`memory`]: memory 0's loads and stores through its view, `memory.grow` and the
//!   bulk memory operations;
//! - [`table`]: the bulk table operations and `table.grow`.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::config::Dispatch;
use crate::error::{Error, Trap, TrapKind};
use crate::heap::HeapAccount;
use crate::ir::{Instr, Reg};
use crate::module::FuncHeader;
use crate::raw::code::CodePtr;
use crate::raw::frame::{Frame, ValueStack};
use crate::raw::globals::{GlobalsView, StoreGlobals};
use crate::raw::memory::{LinearMemory, MemoryView};
use crate::store::{
    CallFrame, Caller, DataEntity, ElemEntity, ExecStats, FUEL_SLICE, FuncEntity, FuncKind,
    HostData, InstanceEntity, Store, TableEntity,
};
use crate::task::{Progress, SuspendedCall, Suspension};
use crate::value::{FuncType, Slot, Value};

mod call;
mod memory;
mod run;
mod table;

/// Calls the function at store address `func` on the store's stacks: checks the arguments
/// against its signature, runs it to completion and decodes the results.
pub(crate) fn invoke(
    store: &mut Store,
    func: u32,
    args: &[Value],
    results: &mut [Value],
) -> Result<(), Error> {
    let Some(ty) = prepare(store, None, func, args, results)? else {
        return Ok(());
    };
    let mut ex = Executor::new(store, None);
    ex.enter(func, 0)?;
    ex.run()?;
    read_results(&store.types[ty as usize], &store.stacks.values, results);
    Ok(())
}

/// [`invoke`] on task `task`'s stacks, stopping where a resumable call may stop.
pub(crate) fn start(
    store: &mut Store,
    task: u32,
    func: u32,
    args: &[Value],
    results: &mut [Value],
) -> Result<Progress, Error> {
    match store.tasks.get(task as usize) {
        None => return Err(Error::ForeignHandle { what: "task" }),
        Some(t) if t.suspended.is_some() => return Err(Error::TaskState { task, suspended: true }),
        Some(_) => {}
    }
    let Some(ty) = prepare(store, Some(task), func, args, results)? else {
        return Ok(Progress::Finished);
    };
    let mut ex = Executor::new(store, Some(task));
    let ran = ex.enter(func, 0).and_then(|()| ex.run());
    let ran = ex.stop_point(ran, ty);
    settle(store, task, ty, ran, results)
}

/// Goes on with task `task`'s stopped call where it stopped.
pub(crate) fn resume(
    store: &mut Store,
    task: u32,
    results: &mut [Value],
) -> Result<Progress, Error> {
    let Some(entity) = store.tasks.get(task as usize) else {
        return Err(Error::ForeignHandle { what: "task" });
    };
    let Some(at) = entity.suspended else {
        return Err(Error::TaskState { task, suspended: false });
    };
    let expected = store.types[at.ty as usize].results().len();
    if results.len() != expected {
        return Err(Error::ArgumentCount { expected, got: results.len() });
    }
    let mut ex = Executor::new(store, Some(task));
    ex.go_to(at);
    let ran = ex.run();
    let ran = ex.stop_point(ran, at.ty);
    settle(store, task, at.ty, ran, results)
}

/// Checks a call's arguments and result slots, puts the arguments on the stacks the call
/// runs on (the task's, or the store's; the executor starts with no caller frames on its
/// frame stack). A host function runs
/// here and then: `None`. Otherwise the function's type, for its results.
fn prepare(
    store: &mut Store,
    task: Option<u32>,
    func: u32,
    args: &[Value],
    results: &mut [Value],
) -> Result<Option<u32>, Error> {
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
    if let FuncKind::Host(f) = &mut entity.kind {
        let mut caller =
            Caller { memory: None, data: &mut store.host_data, yield_requested: false };
        return f(&mut caller, args, results).map(|()| None).map_err(Error::Trap);
    }
    let ty = entity.ty;
    let stacks = match task {
        Some(task) => &mut store.tasks[task as usize].stacks,
        None => &mut store.stacks,
    };
    if stacks.values.len() < args.len() {
        return Err(TrapKind::StackExhausted.into());
    }
    for (slot, arg) in stacks.values.iter_mut().zip(args) {
        *slot = arg.to_slot();
    }
    store.stats.peak_call_depth = store.stats.peak_call_depth.max(1);
    Ok(Some(ty))
}

/// A task's call after the run loop returned: finished (results read), stopped (where,
/// kept in the task), or trapped (nothing kept).
fn settle(
    store: &mut Store,
    task: u32,
    ty: u32,
    ran: Result<Option<(Suspension, SuspendedCall)>, Trap>,
    results: &mut [Value],
) -> Result<Progress, Error> {
    let entity = &mut store.tasks[task as usize];
    entity.suspended = None;
    match ran {
        Ok(None) => {
            read_results(&store.types[ty as usize], &entity.stacks.values, results);
            Ok(Progress::Finished)
        }
        Ok(Some((why, at))) => {
            entity.suspended = Some(at);
            Ok(Progress::Suspended(why))
        }
        Err(trap) => Err(Error::Trap(trap)),
    }
}

/// Decodes the results of a function of type `ty` from the stack's first slots.
fn read_results(ty: &FuncType, stack: &[Slot], results: &mut [Value]) {
    for ((r, t), slot) in results.iter_mut().zip(ty.results()).zip(stack) {
        *r = Value::from_slot(*t, *slot);
    }
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

/// The executor's view of a store during one call: the store's parts borrowed
/// apart, plus the running function's context.
struct Executor<'s> {
    types: &'s [FuncType],
    funcs: &'s mut [FuncEntity],
    tables: &'s mut [TableEntity],
    memories: &'s mut [LinearMemory],
    globals: StoreGlobals<'s>,
    elems: &'s mut [ElemEntity],
    datas: &'s mut [DataEntity],
    instances: &'s [InstanceEntity],
    stack: ValueStack<'s>,
    /// The callers' frames: `frames[..depth]`; its length is the most there may be, one
    /// fewer than the stacks' `max_depth` calls (the running function's is the last).
    frames: &'s mut [CallFrame],
    depth: usize,
    /// The most slots and calls in use so far (the stats' figures when the run started):
    /// fields of the executor's own, written to the stats when the run ends, so that a call
    /// only compares against them.
    peak_stack_slots: usize,
    peak_call_depth: usize,
    /// The highest frame end known to fit the stack and already counted in
    /// `peak_stack_slots`: a call whose frame ends within it compares once, not twice.
    #[cfg(tandem_threaded)]
    checked_top: usize,
    fuel: &'s mut u64,
    fuel_reserve: &'s mut u64,
    interrupt: Option<&'static AtomicBool>,
    stats: &'s mut ExecStats,
    heap_memory_bytes: &'s mut u64,
    max_heap_memory: Option<u64>,
    heap: &'s mut HeapAccount,
    host_args: &'s mut alloc::vec::Vec<Value>,
    host_results: &'s mut alloc::vec::Vec<Value>,
    host_data: &'s mut HostData,
    /// Whether the call runs on a task, so that it may stop instead of trapping for fuel or
    /// the interrupt flag, and stop after a host function that asks to yield.
    resumable: bool,
    /// Why the call stopped, once it has (the position is `instance`, `base` and `pc`);
    /// the run loop unwinds with a trap that the task's entry then drops.
    suspension: Option<Suspension>,

    /// The running function's instance, its index and its module's code.
    instance: u32,
    inst: &'s InstanceEntity,
    code: &'s [Instr],
    headers: &'s [FuncHeader],
    consts: &'s [Slot],
    imported_funcs: u32,
    /// The store index of the memory loads and stores use (`usize::MAX` if there is none,
    /// which validation makes unreachable): the running instance's memory 0, but between
    /// an `Instr::UseMemory` and the one that restores it; one lookup per instance
    /// switch, not per access.
    mem: usize,
    /// Where that memory's bytes are: renewed after every step that may move them
    /// (`memory.grow`, a host call, an instance or memory switch), so loads and stores
    /// need not find the memory first.
    mem_view: MemoryView,
    /// The store's dispatch ([`Config::dispatch`](crate::Config::dispatch)).
    #[cfg_attr(not(tandem_threaded), allow(dead_code))]
    dispatch: Dispatch,
    /// The trap a threaded handler stopped with (its return value stays a register).
    #[cfg(tandem_threaded)]
    trap: Option<Trap>,
    /// The running instance's globals, renewed on every instance switch.
    globals_view: GlobalsView,
    /// The loop's accumulator of 64-bit values (the `wide` rows of the numeric table's
    /// `accumulated` section): a field, so that the loop's own accumulator, a local, holds
    /// 32-bit values only and stays one register on a 32-bit core (held there as a 64-bit
    /// local, it cost the board up to 9% more instructions on 32-bit programs).
    wide_acc: Slot,
    /// The running frame's first slot.
    base: usize,
    /// Where the running function goes on: its instruction's byte offset in the running
    /// code (`CodePtr::offset_from`), brought up to date before the steps that need it.
    pc: usize,
}

impl<'s> Executor<'s> {
    /// The executor over `store`, running on the stacks of task `task`, or the store's.
    fn new(store: &'s mut Store, task: Option<u32>) -> Self {
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
            stacks,
            tasks,
            fuel,
            fuel_reserve,
            interrupt,
            stats,
            heap_memory_bytes,
            heap,
            host_args,
            host_results,
            idle_static_buffers: _,
            host_data,
        } = store;
        let instances: &'s [InstanceEntity] = instances;
        let first = &instances[0];
        let globals = StoreGlobals::new(globals);
        let globals_view = instance_globals(&globals, first);
        let stacks = match task {
            Some(task) => &mut tasks[task as usize].stacks,
            None => stacks,
        };
        let mut ex = Executor {
            types,
            funcs,
            tables,
            memories,
            globals,
            elems,
            datas,
            instances,
            stack: ValueStack::new(&mut stacks.values),
            frames: {
                let callers = (stacks.max_depth as usize).saturating_sub(1);
                let len = stacks.frames.len();
                &mut stacks.frames[..callers.min(len)]
            },
            depth: 0,
            peak_stack_slots: stats.peak_stack_slots as usize,
            peak_call_depth: stats.peak_call_depth as usize,
            #[cfg(tandem_threaded)]
            checked_top: 0,
            fuel,
            fuel_reserve,
            interrupt: *interrupt,
            stats,
            heap_memory_bytes,
            max_heap_memory: config.max_heap_memory,
            heap,
            host_args,
            host_results,
            host_data,
            resumable: task.is_some(),
            suspension: None,
            instance: 0,
            inst: first,
            code: &first.module.inner.code,
            headers: &first.module.inner.headers,
            consts: &first.module.inner.consts,
            imported_funcs: first.module.inner.num_imported_funcs,
            mem: memory0(first),
            mem_view: MemoryView::EMPTY,
            dispatch: config.dispatch,
            #[cfg(tandem_threaded)]
            trap: None,
            globals_view,
            wide_acc: 0,
            base: 0,
            pc: 0,
        };
        ex.renew_view();
        ex
    }

    /// Makes the running point the one where a task's call stopped. Its frame was checked
    /// against the task's stack when its function was entered, and that stack never changes
    /// size; its code is its instance's, which lives as long as the store.
    fn go_to(&mut self, at: SuspendedCall) {
        self.switch_instance(at.instance);
        self.base = at.base as usize;
        self.pc = at.pc as usize;
        self.depth = at.depth as usize;
    }

    /// Records that a task's call stops here, at `self.pc` in the running function, and
    /// gives the trap that unwinds the run loop to the task's entry (which never shows it).
    #[cold]
    fn suspend(&mut self, why: Suspension, unwind: Trap) -> Trap {
        self.suspension = Some(why);
        unwind
    }

    /// What the run loop's end means for a task's call of a function of type `ty`: finished,
    /// stopped (why, and where), or trapped.
    fn stop_point(
        self,
        ran: Result<(), Trap>,
        ty: u32,
    ) -> Result<Option<(Suspension, SuspendedCall)>, Trap> {
        match (ran, self.suspension) {
            (Ok(()), _) => Ok(None),
            (Err(_), Some(why)) => {
                let (instance, base, pc) = (self.instance, self.base as u32, self.pc as u32);
                let depth = self.depth as u32;
                Ok(Some((why, SuspendedCall { ty, instance, base, pc, depth })))
            }
            (Err(trap), None) => Err(trap),
        }
    }

    /// Slot `r` of the running frame, checked: for the operands of rare instructions.
    #[inline(always)]
    fn reg(&self, r: Reg) -> Slot {
        self.stack.view()[self.base + r as usize]
    }

    /// Where the run loop continues: the instruction at `self.pc` of the running code,
    /// and the running function's frame for its unchecked operand access.
    #[inline(always)]
    fn resume_point(&self) -> (CodePtr<'s>, CodePtr<'s>, Frame, MemoryView) {
        let code = CodePtr::at(self.code, 0);
        (code.skip_bytes(self.pc), code, self.stack.frame(self.base), self.mem_view)
    }

    #[inline(always)]
    fn consume_fuel(&mut self, amount: u32) -> Result<(), Trap> {
        let amount = amount as u64;
        if *self.fuel < amount {
            return self.next_fuel_slice(amount);
        }
        *self.fuel -= amount;
        self.stats.fuel_consumed += amount;
        Ok(())
    }

    /// The slice ran out: stop if the embedder raised the interrupt flag, else charge
    /// `amount` from the reserve and hand the run loop the next slice (or trap when the
    /// fuel left is less than `amount`, charging nothing).
    #[cold]
    #[inline(never)]
    fn next_fuel_slice(&mut self, amount: u64) -> Result<(), Trap> {
        if self.interrupt.is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(self.stop(TrapKind::Interrupted, Suspension::Interrupted));
        }
        let left = *self.fuel + *self.fuel_reserve;
        if left < amount {
            return Err(self.stop(TrapKind::OutOfFuel, Suspension::OutOfFuel));
        }
        let slice = amount.max(FUEL_SLICE).min(left);
        *self.fuel_reserve = left - slice;
        *self.fuel = slice - amount;
        self.stats.fuel_consumed += amount;
        Ok(())
    }

    /// The trap `kind`, or on a task the stop it becomes.
    #[cold]
    fn stop(&mut self, kind: TrapKind, why: Suspension) -> Trap {
        if self.resumable { self.suspend(why, kind.into()) } else { kind.into() }
    }

    /// The three i32 operands of a bulk operation at `base`.
    fn operands3(&self, base: Reg) -> (u64, u64, u64) {
        let r = |i: Reg| self.reg(base + i) as u32 as u64;
        (r(0), r(1), r(2))
    }
}

/// The instance's memory 0 as a store index, or `usize::MAX` without one.
fn memory0(inst: &InstanceEntity) -> usize {
    inst.memories.first().map_or(usize::MAX, |&m| m as usize)
}

/// The instance's globals, by module index.
#[allow(unsafe_code)]
fn instance_globals<'s>(globals: &StoreGlobals<'s>, inst: &'s InstanceEntity) -> GlobalsView {
    // SAFETY: every entry of an instance's map is a store global: instantiation resolves
    // imports through a checked lookup and numbers defined globals from the store's
    // count, and the store never drops a global (`Linker::instantiate`).
    unsafe { globals.view(&inst.globals) }
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
