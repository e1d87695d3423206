//! The firmware's own endpoints: a minimal interface to prove the link (ping, board info,
//! exit) until the shared `tandem-protocol` endpoints are wired in.
//!
//! Also compiled into the host's QEMU link test (`link/tests/qemu.rs` includes this file), so
//! both ends hash the same paths and schemas into the same postcard-rpc keys.

use postcard_rpc::{TopicDirection, endpoints, topics};
use postcard_schema::Schema;
use serde::{Deserialize, Serialize};

/// What the board reports about itself: the numbers a host compares across runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct BoardInfo {
    /// Heap bytes allocated now (talc counters).
    pub heap_used: u32,
    /// Heap allocations made since boot.
    pub heap_allocs_total: u32,
    /// Heap arena size.
    pub heap_size: u32,
    /// Deepest stack use since reset, in bytes (from the painted stack).
    pub stack_high_water: u32,
    /// Size of the stack region.
    pub stack_size: u32,
    /// SysTick ticks since boot; under QEMU `-icount shift=0`, one tick = 40 instructions.
    pub systick: u64,
    /// Core clock in Hz (the SysTick rate).
    pub core_clock_hz: u32,
    /// Frames received intact.
    pub frames_ok: u32,
    /// Frames dropped as corrupt or too long.
    pub frames_dropped: u32,
}

/// Heap figures around one allocation, to check the allocator and its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct HeapProbe {
    /// Heap bytes allocated while the probe's buffer was live.
    pub used_during: u32,
    /// Heap bytes allocated after it was freed.
    pub used_after: u32,
}

/// A deliberate fault, to check that the fatal paths report and exit with failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum FaultKind {
    /// `panic!` with a known message.
    Panic,
    /// An undefined instruction (escalates to HardFault).
    HardFault,
}

endpoints! {
    list = ENDPOINT_LIST;
    | EndpointTy | RequestTy | ResponseTy | Path              |
    | ---------- | --------- | ---------- | ----              |
    | FwPing     | u32       | u32        | "tandem/fw/ping"  |
    | FwInfo     | ()        | BoardInfo  | "tandem/fw/info"  |
    | FwExit     | bool      | ()         | "tandem/fw/exit"  |
    | FwHeap     | u32       | HeapProbe  | "tandem/fw/heap"  |
    | FwFault    | FaultKind | ()         | "tandem/fw/fault" |
}

topics! {
    list = TOPICS_IN_LIST;
    direction = TopicDirection::ToServer;
    | TopicTy | MessageTy | Path |
    | ------- | --------- | ---- |
}

topics! {
    list = TOPICS_OUT_LIST;
    direction = TopicDirection::ToClient;
    | TopicTy | MessageTy | Path |
    | ------- | --------- | ---- |
}
