//! Tasks: calls that stop and go on later, for cooperative scheduling without threads.
//!
//! A call stops where it is when its fuel runs out, when the embedder raises the interrupt
//! flag, or when a host function asks to yield ([`Caller::request_yield`]); its state is then
//! its value and frame stacks plus a few words, and [`Store::resume`] goes on from exactly
//! there. So that several calls can be stopped at once (an RTOS time-slicing two Wasm tasks
//! over one instance's memory), each [`Task`] has stacks of its own, allocated once by
//! [`Store::new_task`] at a size the embedder picks and charged to the heap account: starting,
//! stopping and resuming allocate nothing. Plain calls ([`Store::call`]) keep running on the
//! store's stacks, beside any suspended task.
//!
//! [`Caller::request_yield`]: crate::Caller::request_yield
//! [`Store::resume`]: crate::Store::resume
//! [`Store::new_task`]: crate::Store::new_task
//! [`Store::call`]: crate::Store::call

use alloc::vec::Vec;
use core::fmt;

use crate::error::Error;
use crate::heap::board_bytes;
use crate::store::{CallFrame, try_reserve};
use crate::value::Slot;

/// A task in a store: stacks on which one call at a time runs, stops and resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Task(pub(crate) u32);

/// How far a task's call got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// It returned; its results are written.
    Finished,
    /// It stopped, for this reason, and [`Store::resume`](crate::Store::resume) goes on.
    Suspended(Suspension),
}

/// Why a task's call stopped before it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suspension {
    /// Its fuel ran out: set more ([`Store::set_fuel`](crate::Store::set_fuel)) and resume.
    OutOfFuel,
    /// The embedder raised the interrupt flag: lower it and resume.
    Interrupted,
    /// A host function asked to yield, after writing its results.
    Yielded,
}

impl fmt::Display for Suspension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Suspension::OutOfFuel => "out of fuel",
            Suspension::Interrupted => "interrupted",
            Suspension::Yielded => "yielded",
        })
    }
}

/// A value stack and a frame stack, allocated once at their full size: the store has one
/// for plain calls, each task one of its own.
#[derive(Default)]
pub(crate) struct Stacks {
    pub values: Vec<Slot>,
    /// Room for `max_depth` frames, made at full length so that a call never makes it
    /// allocate and pushing a frame is a store (the executor counts them). The executor uses
    /// `max_depth - 1` of them: the running function's frame is not on it; the last one is
    /// kept so that the heap figures stay those the board profiles were measured with.
    pub frames: Vec<CallFrame>,
    pub max_depth: u32,
}

impl Stacks {
    /// Stacks of `slots` values and `depth` frames, allocated infallibly.
    pub fn new(slots: u32, depth: u32) -> Self {
        Stacks {
            values: alloc::vec![0; slots as usize],
            frames: alloc::vec![CallFrame::default(); depth as usize],
            max_depth: depth,
        }
    }

    /// Stacks of `slots` values and `depth` frames, or [`Error::OutOfMemory`].
    pub fn try_new(slots: u32, depth: u32) -> Result<Self, Error> {
        let mut stacks = Stacks::default();
        try_reserve(&mut stacks.values, slots as usize)?;
        stacks.values.resize(slots as usize, 0);
        try_reserve(&mut stacks.frames, depth as usize)?;
        stacks.frames.resize(depth as usize, CallFrame::default());
        stacks.max_depth = depth;
        Ok(stacks)
    }

    /// Their size in board bytes.
    pub fn bytes(slots: u32, depth: u32) -> u64 {
        board_bytes::<Slot>(slots as usize) + board_bytes::<CallFrame>(depth as usize)
    }
}

/// A task's stacks and, while its call is stopped, where it stopped.
pub(crate) struct TaskEntity {
    pub stacks: Stacks,
    pub suspended: Option<SuspendedCall>,
}

/// Where a stopped call goes on: the running function's instance, frame and the instruction
/// to run next (its callers are on the task's frame stack), and the outermost function's
/// type, to read the results by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SuspendedCall {
    pub ty: u32,
    pub instance: u32,
    pub base: u32,
    /// The byte offset in the instance's code of the instruction to run next: after the host
    /// call that yielded, or the `ConsumeFuel` that stopped, which charges again.
    pub pc: u32,
    /// Its callers' frames on the task's frame stack.
    pub depth: u32,
}
