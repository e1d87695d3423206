//! Calls and returns. A wasm call pushes a `CallFrame` on the store's frame stack and
//! enters the callee in the same run loop (no native recursion); a tail call moves its
//! arguments to the running frame's start and enters the callee there, pushing nothing, so
//! tail recursion runs in constant space; a call into another instance switches the
//! running context; a host call passes its arguments and results through buffers sized
//! when the host function was defined.

use crate::error::{Trap, TrapKind};
use core::mem::size_of;

use crate::ir::{Instr, Reg};
use crate::store::{CallFrame, Caller, FuncKind, InstanceEntity};
use crate::task::Suspension;
use crate::value::Value;

use super::{Executor, instance_globals, memory0};

/// Where a return goes on.
pub(super) enum Returned {
    /// In a caller of the running instance, whose code and memory are still in use.
    Caller,
    /// In a caller of another instance, now the running one.
    OtherInstance,
    /// Nowhere: the outermost call returned.
    Outermost,
}

impl<'s> Executor<'s> {
    /// Switches the running context to instance `instance`.
    pub(super) fn switch_instance(&mut self, instance: u32) {
        if instance != self.instance {
            let inst: &'s InstanceEntity = &self.instances[instance as usize];
            self.instance = instance;
            self.inst = inst;
            self.code = &inst.module.inner.code;
            self.headers = &inst.module.inner.headers;
            self.consts = &inst.module.inner.consts;
            self.imported_funcs = inst.module.inner.num_imported_funcs;
            self.mem = memory0(inst);
            self.renew_view();
            self.globals_view = instance_globals(&self.globals, inst);
        }
    }

    /// Enters wasm function `addr` with its frame at absolute slot `base`.
    pub(super) fn enter(&mut self, addr: u32, base: usize) -> Result<(), Trap> {
        let FuncKind::Wasm { instance, index } = self.funcs[addr as usize].kind else {
            return Err(TrapKind::Unreachable.into());
        };
        self.switch_instance(instance);
        self.enter_local(index, base)
    }

    /// Enters function `index` of the running instance (a defined one) with its frame at
    /// absolute slot `base`.
    #[inline(always)]
    fn enter_local(&mut self, index: u32, base: usize) -> Result<(), Trap> {
        let header = self.headers[(index - self.imported_funcs) as usize];
        // The frame's slots are set by the function's code (`Instr::InitLocals`, then the
        // instructions that write before they read): its call only checks they exist.
        self.check_frame(base + header.frame_size as usize)?;
        self.base = base;
        self.pc = header.entry as usize * size_of::<Instr>();
        Ok(())
    }

    /// Checks that a frame ending at slot `top` fits the stack, and counts it in the peak.
    /// Builds with threaded dispatch (either dispatch there) compare once, against the
    /// highest end already checked; the others, the boards', compare with the stack and
    /// the peak, as the one compare inlined in the board's loop took a register from its
    /// frame pointer (spilled: 3-13% more instructions).
    #[inline(always)]
    fn check_frame(&mut self, top: usize) -> Result<(), Trap> {
        #[cfg(tandem_threaded)]
        if top > self.checked_top {
            if top > self.stack.len() {
                return Err(TrapKind::StackExhausted.into());
            }
            self.checked_top = top;
            self.peak_stack_slots = self.peak_stack_slots.max(top);
        }
        #[cfg(not(tandem_threaded))]
        {
            if top > self.stack.len() {
                return Err(TrapKind::StackExhausted.into());
            }
            if top > self.peak_stack_slots {
                self.peak_stack_slots = top;
            }
        }
        Ok(())
    }

    /// Writes the run's peaks to the stats.
    pub(super) fn record_peaks(&mut self) {
        let stats = &mut *self.stats;
        stats.peak_stack_slots = stats.peak_stack_slots.max(self.peak_stack_slots as u32);
        stats.peak_call_depth = stats.peak_call_depth.max(self.peak_call_depth as u32);
    }

    /// Suspends the running function before a call, to go on at byte offset `ret`.
    #[inline(always)]
    fn push_frame(&mut self, ret: usize) -> Result<(), Trap> {
        let Some(frame) = self.frames.get_mut(self.depth) else {
            return Err(TrapKind::StackExhausted.into());
        };
        *frame = CallFrame {
            instance: self.instance,
            // Within `u32`: no module has more code than `MAX_CODE`.
            return_offset: ret as u32,
            base: self.base as u32,
        };
        self.depth += 1;
        // The callers' frames and the callee's.
        if self.depth + 1 > self.peak_call_depth {
            self.peak_call_depth = self.depth + 1;
        }
        Ok(())
    }

    /// Returns from the running function.
    #[inline(always)]
    pub(super) fn ret(&mut self) -> Returned {
        // At depth 0 the index wraps past every frame: one compare for both ends.
        let depth = self.depth.wrapping_sub(1);
        let Some(&frame) = self.frames.get(depth) else {
            return Returned::Outermost;
        };
        self.depth = depth;
        self.base = frame.base as usize;
        self.pc = frame.return_offset as usize;
        if frame.instance == self.instance {
            return Returned::Caller;
        }
        self.switch_instance(frame.instance);
        Returned::OtherInstance
    }

    /// `call func`, a function of the running instance's module, with arguments at `base`,
    /// to return to byte offset `ret`; the callee's entry is `self.pc`.
    #[inline(always)]
    pub(super) fn call(&mut self, func: u32, base: Reg, ret: usize) -> Result<(), Trap> {
        self.push_frame(ret)?;
        self.enter_local(func, self.base + base as usize)
    }

    /// `call func`, an imported function, with arguments at `base`, from `self.pc`.
    pub(super) fn call_imported(&mut self, func: u32, base: Reg) -> Result<(), Trap> {
        let addr = self.inst.funcs[func as usize];
        self.call_addr(addr, self.base + base as usize)
    }

    /// Calls the function at store address `addr` with its frame at `new_base`, from
    /// `self.pc`.
    fn call_addr(&mut self, addr: u32, new_base: usize) -> Result<(), Trap> {
        let ret = self.pc + size_of::<Instr>();
        if let FuncKind::Host(_) = self.funcs[addr as usize].kind {
            let yielded = self.call_host(addr, new_base)?;
            self.pc = ret;
            if yielded {
                return Err(self.suspend(Suspension::Yielded, TrapKind::Host.into()));
            }
            return Ok(());
        }
        self.push_frame(ret)?;
        self.enter(addr, new_base)
    }

    pub(super) fn call_indirect(
        &mut self,
        ty: u32,
        base: Reg,
        index: Reg,
        table: u16,
    ) -> Result<(), Trap> {
        let addr = self.indirect_callee(ty, index, table)?;
        self.call_addr(addr, self.base + base as usize)
    }

    /// `return_call_indirect`: [`Executor::call_indirect`]'s callee, entered as
    /// [`Executor::return_call`] enters its function.
    #[inline(never)]
    pub(super) fn return_call_indirect(
        &mut self,
        ty: u32,
        base: Reg,
        index: Reg,
        table: u16,
    ) -> Result<bool, Trap> {
        let addr = self.indirect_callee(ty, index, table)?;
        self.return_call_addr(addr, base)
    }

    /// The store address of `table`'s element `index`, checked against module type `ty`.
    #[inline(always)]
    fn indirect_callee(&self, ty: u32, index: Reg, table: u16) -> Result<u32, Trap> {
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
        Ok(addr)
    }

    /// `return_call func` with arguments at `base`; `Ok(true)` when a host callee's return
    /// ended the outermost call. Out of line, as the other tail-call paths: the run loop
    /// stays as small (and as fast on memory-0 code) as without them.
    #[inline(never)]
    pub(super) fn return_call(&mut self, func: u32, base: Reg) -> Result<bool, Trap> {
        if func >= self.imported_funcs {
            let params = self.headers[(func - self.imported_funcs) as usize].params;
            self.move_args(base, params as usize)?;
            return self.enter_local(func, self.base).map(|()| false);
        }
        self.return_call_addr(self.inst.funcs[func as usize], base)
    }

    /// Replaces the running function with the one at store address `addr`, its arguments
    /// at `base`; a host function runs at once and the running function returns its
    /// results. `Ok(true)` when that return ended the outermost call.
    #[inline(never)]
    fn return_call_addr(&mut self, addr: u32, base: Reg) -> Result<bool, Trap> {
        let func = &self.funcs[addr as usize];
        let params = self.types[func.ty as usize].params().len();
        let host = matches!(func.kind, FuncKind::Host(_));
        self.move_args(base, params)?;
        if host {
            let yielded = self.call_host(addr, self.base)?;
            let outermost = matches!(self.ret(), Returned::Outermost);
            if yielded && !outermost {
                return Err(self.suspend(Suspension::Yielded, TrapKind::Host.into()));
            }
            return Ok(outermost);
        }
        self.enter(addr, self.base).map(|()| false)
    }

    /// Moves `count` arguments from `base` to the running frame's first slots.
    #[inline(always)]
    fn move_args(&mut self, base: Reg, count: usize) -> Result<(), Trap> {
        let src = self.base + base as usize;
        let stack = self.stack.all();
        if src + count > stack.len() {
            return Err(TrapKind::StackExhausted.into());
        }
        stack.copy_within(src..src + count, self.base);
        Ok(())
    }

    /// Calls a host function: arguments and results pass through buffers sized
    /// when the function was defined, so this does not allocate. `Ok(true)` when it asked
    /// to yield and the call runs on a task, which then stops after it.
    fn call_host(&mut self, addr: u32, base: usize) -> Result<bool, Trap> {
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
        let mut caller = Caller { memory, data: self.host_data, yield_requested: false };
        f(&mut caller, &self.host_args[..], &mut self.host_results[..])?;
        let yielded = caller.yield_requested && self.resumable;
        // The host may have grown the memory.
        self.renew_view();
        for (i, v) in self.host_results.iter().enumerate() {
            self.stack.all()[base + i] = v.to_slot();
        }
        Ok(yielded)
    }
}
