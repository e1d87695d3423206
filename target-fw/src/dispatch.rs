//! The request table: which endpoint runs which handler. The one place that changes when the
//! shared handler arrives.
//!
//! To serve the shared `tandem-protocol` endpoints instead of (or beside) [`crate::icd`]:
//! 1. point `endpoints: { list: ... }` at the protocol crate's `ENDPOINT_LIST` (and its topic
//!    lists), and add one table row per endpoint naming a handler function;
//! 2. give [`Context`] the handler crate's state (e.g. its `Handler` value, built in
//!    `main` with the board's limits) and write each row's function as a one-line call into
//!    it: `fn load(ctx: &mut Context, _: VarHeader, req: LoadReq) -> LoadResp { ctx.handler.load(req) }`.
//!
//! Nothing else moves: `main`'s loop, the wire and the board stay as they are.

use postcard_rpc::define_dispatch;
use postcard_rpc::header::VarHeader;
use tandem_link::device::DeviceWire;
// `spawn_fn` (tandem_link::device::dispatch_impl) is only resolved by `spawn` rows; none yet.
use tandem_link::device::dispatch_impl::{WireSpawnImpl, WireTxImpl};

use crate::board::{self, Uart};
use crate::icd::{
    BoardInfo, ENDPOINT_LIST, FaultKind, FwExit, FwFault, FwHeap, FwInfo, FwPing, HeapProbe,
    TOPICS_IN_LIST, TOPICS_OUT_LIST,
};
use crate::{clock, heap, stack};

/// Largest reply, serialised (header + body + CRC).
pub const TX_BUF: usize = 4096;
/// Largest request frame, encoded.
pub const RX_BUF: usize = 4096;

/// The link as the firmware instantiates it.
pub type Wire = DeviceWire<Uart, TX_BUF>;

/// State the handlers share.
pub struct Context {
    /// The link, for its frame counters.
    pub wire: &'static Wire,
    /// Set by the exit endpoint; `main` exits after the reply has gone out.
    pub exit: Option<bool>,
}

define_dispatch! {
    app: FwApp;
    spawn_fn: spawn_fn;
    tx_impl: WireTxImpl<'static, Uart, TX_BUF>;
    spawn_impl: WireSpawnImpl;
    context: Context;

    endpoints: {
        list: ENDPOINT_LIST;

        | EndpointTy | kind     | handler |
        | ---------- | ----     | ------- |
        | FwPing     | blocking | ping    |
        | FwInfo     | blocking | info    |
        | FwExit     | blocking | exit    |
        | FwHeap     | blocking | heap    |
        | FwFault    | blocking | fault   |
    };
    topics_in: {
        list: TOPICS_IN_LIST;

        | TopicTy | kind | handler |
        | ------- | ---- | ------- |
    };
    topics_out: {
        list: TOPICS_OUT_LIST;
    };
}

/// Echo: the host checks the value and times the round trip.
fn ping(_ctx: &mut Context, _hdr: VarHeader, value: u32) -> u32 {
    value
}

fn info(ctx: &mut Context, _hdr: VarHeader, _req: ()) -> BoardInfo {
    let h = heap::counters();
    let (frames_ok, frames_dropped) = ctx.wire.rx_counts();
    BoardInfo {
        heap_used: h.allocated_bytes as u32,
        heap_allocs_total: h.total_allocation_count as u32,
        heap_size: board::HEAP_SIZE as u32,
        stack_high_water: stack::high_water() as u32,
        stack_size: stack::size() as u32,
        systick: clock::ticks(),
        core_clock_hz: board::CORE_CLOCK_HZ,
        frames_ok,
        frames_dropped,
    }
}

/// Records the request; `main` flushes the reply, then exits QEMU with that status.
fn exit(ctx: &mut Context, _hdr: VarHeader, success: bool) {
    ctx.exit = Some(success);
}

/// Allocates `bytes` on the heap, reports the counters with it live and after freeing it.
/// A request the heap cannot hold allocates nothing (`used_during == used_after`).
fn heap(_ctx: &mut Context, _hdr: VarHeader, bytes: u32) -> HeapProbe {
    let mut buf: alloc::vec::Vec<u8> = alloc::vec::Vec::new();
    if buf.try_reserve_exact(bytes as usize).is_ok() {
        buf.resize(bytes as usize, 0xA5);
    }
    let used_during = heap::counters().allocated_bytes as u32;
    drop(core::hint::black_box(buf));
    HeapProbe { used_during, used_after: heap::counters().allocated_bytes as u32 }
}

/// Faults on purpose: the host checks the report and QEMU's failure exit code.
fn fault(_ctx: &mut Context, _hdr: VarHeader, kind: FaultKind) {
    match kind {
        FaultKind::Panic => panic!("deliberate panic requested by the host"),
        FaultKind::HardFault => cortex_m::asm::udf(),
    }
}
