//! The value stack behind one raw pointer, and a running function's frame on it.
//!
//! **Why.** Every instruction reads one to three operand slots and writes one.
//! Checked indexing costs a load of the stack's pointer and length and a compare and
//! branch per access: on the Cortex-M4 about a third of the instructions the run loop
//! executes. The translator already proves every slot index lies within its
//! function's frame, so the checks can go.
//!
//! **How to use it.** Wrap the store's slots in a [`ValueStack`] for the duration of
//! a call; take checked views with [`ValueStack::all`] for anything that is not an
//! operand access (argument copies, multi-value returns, host calls). For the run
//! loop, check once per function entry that the frame fits ([`ValueStack::len`]), then
//! make a [`Frame`] there and read and write through [`Frame::get`] and [`Frame::set`].
//!
//! **The caller's promise** (the `unsafe` part): a [`Frame`] at `base` is accessed
//! only at slots `r` with `base + r < len`, and only while its `ValueStack` lives. The
//! executor keeps it by checking `base + frame_size <= len` on entry (in threaded builds
//! against the highest such end already checked, itself at most `len`), and the
//! translator by checking every slot operand of every instruction against `frame_size`
//! before it accepts a function (`Translator::finish`). Debug builds
//! assert the bound on every access, so the fuzzers and tests catch a translator
//! that breaks it.
//!
//! **Aliasing.** All access goes through the one pointer taken from the `&mut [Slot]`
//! (views from [`ValueStack::all`] are reborrowed from it and end before the next
//! frame access), so no reference is invalidated behind a frame's back.

use core::marker::PhantomData;
use core::ptr::NonNull;
use core::slice;

use crate::ir::Reg;
use crate::raw::dispatch::keep_scalar;
use crate::value::Slot;

/// The store's value stack for the duration of one call: exclusive, like the
/// `&'s mut [Slot]` it was made from.
pub(crate) struct ValueStack<'s> {
    ptr: NonNull<Slot>,
    len: usize,
    _slots: PhantomData<&'s mut [Slot]>,
}

impl<'s> ValueStack<'s> {
    pub(crate) fn new(slots: &'s mut [Slot]) -> Self {
        let len = slots.len();
        ValueStack { ptr: NonNull::from(slots).cast(), len, _slots: PhantomData }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// All the slots, for checked access.
    #[inline(always)]
    pub(crate) fn all(&mut self) -> &mut [Slot] {
        // SAFETY: `ptr` and `len` come from a `&'s mut [Slot]` this value stands in for,
        // and the returned borrow of `self` keeps any other access away while it lives.
        unsafe { slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// All the slots, for checked reads.
    #[inline(always)]
    pub(crate) fn view(&self) -> &[Slot] {
        // SAFETY: as in `all`, shared: the borrow of `self` keeps writes away.
        unsafe { slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    /// The frame starting at slot `base`. Creating it is safe; using it is bound by
    /// the module's contract (see [`Frame::get`]).
    #[inline(always)]
    pub(crate) fn frame(&self, base: usize) -> Frame {
        Frame {
            ptr: self.ptr.as_ptr().wrapping_add(base),
            #[cfg(debug_assertions)]
            room: self.len.saturating_sub(base),
        }
    }
}

/// A running function's slots: a raw pointer to its first, copied freely by the run
/// loop. Only valid while the [`ValueStack`] it came from lives.
#[derive(Clone, Copy)]
pub(crate) struct Frame {
    ptr: *mut Slot,
    /// Slots from the frame's start to the stack's end, for the debug-build check.
    #[cfg(debug_assertions)]
    room: usize,
}

impl Frame {
    /// Slot `r` of the frame.
    ///
    /// # Safety
    /// `base + r` is below the stack's length (`base` the slot the frame was made at),
    /// and the [`ValueStack`] it came from is alive and not borrowed by [`ValueStack::all`].
    #[inline(always)]
    pub(crate) unsafe fn get(self, r: Reg) -> Slot {
        #[cfg(debug_assertions)]
        assert!((r as usize) < self.room, "slot {r} outside the frame");
        // SAFETY: by the caller's promise the slot lies within the live stack, which
        // nothing else borrows now.
        unsafe { *self.ptr.add(r as usize) }
    }

    /// Writes slot `r` of the frame.
    ///
    /// # Safety
    /// As for [`Frame::get`].
    #[inline(always)]
    pub(crate) unsafe fn set(self, r: Reg, value: Slot) {
        #[cfg(debug_assertions)]
        assert!((r as usize) < self.room, "slot {r} outside the frame");
        // SAFETY: as in `get`.
        unsafe { *self.ptr.add(r as usize) = value }
    }

    /// Writes the low 32 bits of slot `r`, leaving the high ones as they were: an
    /// `i32` or `f32` result, whose readers look at those bits only. One store instead
    /// of two on a 32-bit target.
    ///
    /// # Safety
    /// As for [`Frame::get`].
    #[inline(always)]
    pub(crate) unsafe fn set_low(self, r: Reg, value: u32) {
        #[cfg(debug_assertions)]
        assert!((r as usize) < self.room, "slot {r} outside the frame");
        // The low half is the first word on a little-endian target, the second on a
        // big-endian one; either is a `u32` within the slot, aligned as a `u32`.
        let word = if cfg!(target_endian = "little") { 0 } else { 1 };
        // SAFETY: as in `get`: the slot is live and unborrowed, and so is its half.
        unsafe { *self.ptr.add(r as usize).cast::<u32>().add(word) = value }
    }

    /// A function's set-up: zeroes the `zeros` slots from `first`, then writes `values` to
    /// the slots after them, slot by slot (`keep_scalar`): the `memset` or `memcpy` call
    /// LLVM would make of it costs more than the few slots a frame sets. Builds with
    /// threaded dispatch walk a pointer (its handler: 3% fewer instructions for `fib`,
    /// which sets 4 slots a call, than indices, with fewer registers saved); the others,
    /// the boards', count indices, as the walk took the board's loop the register it
    /// keeps the code's start in.
    ///
    /// # Safety
    /// `base + first + zeros + values.len()` is at most the stack's length (`base` the
    /// slot the frame was made at), and the [`ValueStack`] it came from is alive and not
    /// borrowed by [`ValueStack::all`].
    #[inline(always)]
    pub(crate) unsafe fn set_up(self, first: usize, zeros: usize, values: &[Slot]) {
        #[cfg(debug_assertions)]
        assert!(first + zeros + values.len() <= self.room, "set-up outside the frame");
        // SAFETY: the caller's promise, passed on.
        unsafe {
            if cfg!(tandem_threaded) {
                self.set_up_walking(first, zeros, values)
            } else {
                self.set_up_counting(first, zeros, values)
            }
        }
    }

    /// [`Frame::set_up`] through a moving pointer.
    ///
    /// # Safety
    /// As for [`Frame::set_up`].
    #[inline(always)]
    unsafe fn set_up_walking(self, first: usize, zeros: usize, values: &[Slot]) {
        // SAFETY: by the caller's promise every slot written lies within the live stack,
        // which nothing else borrows now; `values` is not in it (a module's constants).
        unsafe {
            let mut slot = self.ptr.add(first);
            let zeroed = slot.add(zeros);
            while slot < zeroed {
                *slot = 0;
                slot = slot.add(1);
                keep_scalar();
            }
            for value in values {
                *slot = *value;
                slot = slot.add(1);
                keep_scalar();
            }
        }
    }

    /// [`Frame::set_up`] by slot indices.
    ///
    /// # Safety
    /// As for [`Frame::set_up`].
    #[inline(always)]
    unsafe fn set_up_counting(self, first: usize, zeros: usize, values: &[Slot]) {
        // SAFETY: as in `set_up_walking`.
        unsafe {
            let locals = self.ptr.add(first);
            for i in 0..zeros {
                *locals.add(i) = 0;
                keep_scalar();
            }
            let consts = locals.add(zeros);
            for (i, value) in values.iter().enumerate() {
                *consts.add(i) = *value;
                keep_scalar();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    #[test]
    fn frames_read_and_write_their_own_slots() {
        let mut slots = vec![0; 8];
        let mut stack = ValueStack::new(&mut slots);
        assert!(stack.all().get(3..8).is_some() && stack.all().get(4..9).is_none());
        let (caller, callee) = (stack.frame(0), stack.frame(3));
        // SAFETY: every slot used is below 8 and the stack is alive.
        unsafe {
            caller.set(2, 7);
            callee.set(0, 11);
            callee.set(4, 13);
            assert_eq!(caller.get(3), 11); // frames overlap where arguments pass
        }
        // A checked view in between, then the frames again: still the same pointer.
        stack.all()[1..4].copy_from_slice(&[1, 2, 3]);
        assert_eq!(stack.all().get(7..9), None);
        // SAFETY: as above.
        unsafe {
            assert_eq!((caller.get(2), callee.get(0), callee.get(4)), (2, 3, 13));
            callee.set(1, callee.get(0) + caller.get(1));
        }
        // A 32-bit write keeps the slot's high half.
        // SAFETY: as above.
        unsafe {
            callee.set(2, u64::MAX);
            callee.set_low(2, 0x1234_5678);
            assert_eq!(callee.get(2), 0xffff_ffff_1234_5678);
        }
        assert_eq!(slots, [0, 1, 2, 3, 4, 0xffff_ffff_1234_5678, 0, 13]);
    }

    /// Both ways of the set-up, whichever the build's dispatch uses, up to the stack's end.
    #[test]
    fn a_set_up_zeroes_then_copies_up_to_the_stack_end() {
        for walking in [true, false] {
            let mut slots = vec![9; 8];
            let stack = ValueStack::new(&mut slots);
            let set_up = |frame: Frame, first, zeros, values: &[Slot]| {
                // SAFETY: every call below stays within the 8 slots of the live stack.
                unsafe {
                    if walking {
                        frame.set_up_walking(first, zeros, values)
                    } else {
                        frame.set_up_counting(first, zeros, values)
                    }
                }
            };
            set_up(stack.frame(0), 2, 0, &[]);
            set_up(stack.frame(2), 2, 2, &[5, 6]);
            set_up(stack.frame(1), 0, 1, &[]);
            set_up(stack.frame(7), 0, 0, &[7]);
            // SAFETY: as above.
            unsafe { stack.frame(6).set_up(0, 0, &[8]) };
            assert_eq!(slots, [9, 0, 9, 9, 0, 0, 8, 7], "walking: {walking}");
        }
    }

    /// Every frame is checked against the stack, even after a wider one passed (threaded
    /// builds compare with the widest end checked so far): a wide frame first, then a
    /// recursion of narrow ones that outgrows the stack traps, on either dispatch, and
    /// the peak stays within the stack.
    #[test]
    fn frames_past_the_stack_trap_after_a_wider_one_fit() {
        use crate::{Config, Dispatch, Error, Linker, Module, Store, TrapKind, Value};
        let wasm = wat::parse_str(alloc::format!(
            r#"(module
                 (func $wide (local{}))
                 (func $deep (param i32) (result i32)
                   (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
                     (else (i32.add (i32.const 1)
                                    (call $deep (i32.sub (local.get 0) (i32.const 1)))))))
                 (func (export "run") (param i32) (result i32)
                   (call $wide)
                   (call $deep (local.get 0))))"#,
            " i64".repeat(100)
        ))
        .expect("wat");
        for dispatch in [Dispatch::Loop, Dispatch::Threaded] {
            let config = Config::new().with_dispatch(dispatch).with_limits(256, 1000);
            let module = Module::new(&config, &wasm).expect("module");
            let mut store = Store::new(config);
            let instance = Linker::new().instantiate(&mut store, &module).expect("instance");
            let run = instance.func(&store, "run").expect("export");
            let mut out = [Value::I32(0)];
            store.call(run, &[Value::I32(10)], &mut out).expect("a recursion that fits");
            assert_eq!(out, [Value::I32(10)]);
            let peak = store.stats().peak_stack_slots;
            assert!((100..256).contains(&peak), "{peak} slots, {dispatch:?}");
            match store.call(run, &[Value::I32(200)], &mut out) {
                Err(Error::Trap(trap)) => assert_eq!(trap.kind(), TrapKind::StackExhausted),
                other => panic!("{other:?} for a recursion past the stack, {dispatch:?}"),
            }
            let peak = store.stats().peak_stack_slots;
            assert!((100..=256).contains(&peak), "{peak} slots, {dispatch:?}");
            store.call(run, &[Value::I32(10)], &mut out).expect("a recursion that fits");
            assert_eq!(out, [Value::I32(10)]);
        }
    }

    /// The run loop's frames across a stop: a task resumes in a new executor, on frames
    /// its stack checked when their functions were entered, interleaved with another task
    /// and with plain calls on the store's stacks (Miri checks every access).
    #[test]
    fn resumed_tasks_run_on_the_frames_checked_at_entry() {
        use crate::{Config, Linker, Module, Progress, Store, Value};
        let wasm = wat::parse_str(
            r#"(module
                 (func $sum (param i32) (result i64)
                   (if (result i64) (i32.eqz (local.get 0)) (then (i64.const 0))
                     (else (i64.add (i64.extend_i32_u (local.get 0))
                                    (call $sum (i32.sub (local.get 0) (i32.const 1)))))))
                 (func (export "run") (param i32) (result i64) (local i64)
                   (loop $l
                     (local.set 1 (i64.add (local.get 1) (call $sum (local.get 0))))
                     (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
                   (local.get 1)))"#,
        )
        .expect("wat");
        let config = Config::new().with_fuel(true).with_limits(256, 16);
        let module = Module::new(&config, &wasm).expect("module");
        let mut store = Store::new(config);
        let instance = Linker::new().instantiate(&mut store, &module).expect("instance");
        let run = instance.func(&store, "run").expect("export");
        let tasks = [store.new_task(64, 8).expect("task"), store.new_task(64, 8).expect("task")];
        let mut outs = [[Value::I64(0)]; 2];
        let mut done = [false; 2];
        for (i, &task) in tasks.iter().enumerate() {
            store.set_fuel(3);
            let n = Value::I32(5 + i as i32);
            done[i] =
                store.start(task, run, &[n], &mut outs[i]).expect("start") == Progress::Finished;
        }
        while done.contains(&false) {
            for (i, &task) in tasks.iter().enumerate() {
                if done[i] {
                    continue;
                }
                let mut plain = [Value::I64(0)];
                store.set_fuel(1_000);
                store.call(run, &[Value::I32(3)], &mut plain).expect("plain call");
                assert_eq!(plain, [Value::I64(10)]);
                store.set_fuel(3);
                done[i] = store.resume(task, &mut outs[i]).expect("resume") == Progress::Finished;
            }
        }
        // The sum over n of n(n+1)/2: 35 for 5, 56 for 6.
        assert_eq!(outs, [[Value::I64(35)], [Value::I64(56)]]);
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "outside the frame")]
    fn debug_builds_catch_a_slot_past_the_stack() {
        let mut slots = vec![0; 4];
        let stack = ValueStack::new(&mut slots);
        // SAFETY: not upheld on purpose; the debug check stops it before the access.
        unsafe { stack.frame(2).get(2) };
    }
}
