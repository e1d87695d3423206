//! The request table: which `tandem-protocol` endpoint runs which function. Every function is
//! a one-line call into the shared [`RequestHandler`] (the very code the host's simulator
//! runs), plus what only a board can add: heap, stack and clock figures in `stats`, the exit
//! and fault endpoints, and a fresh heap-peak and stack-paint measurement at each reset.

use postcard_rpc::define_dispatch;
use postcard_rpc::header::VarHeader;
use tandem_handler::RequestHandler;
use tandem_link::device::DeviceWire;
// `spawn_fn` (tandem_link::device::dispatch_impl) is only resolved by `spawn` rows; none.
use tandem_link::device::dispatch_impl::{WireSpawnImpl, WireTxImpl};
use tandem_protocol::{
    DigestResult, ENDPOINT_LIST, ExitEndpoint, FaultEndpoint, FaultKind, GetGlobalEndpoint,
    GetGlobalRequest, GlobalResult, InfoEndpoint, InfoResponse, InstantiateEndpoint,
    InstantiateOutcome, InstantiateRequest, InvokeEndpoint, InvokeOutcome, InvokeRequest,
    MemoryDigestEndpoint, MemoryDigestRequest, ModuleBegin, ModuleBeginEndpoint, ModuleChunk,
    ModuleChunkEndpoint, ModuleEndEndpoint, ModuleResult, PingEndpoint, RegisterEndpoint,
    RegisterRequest, ResetEndpoint, ResetRequest, StatsEndpoint, StatsResponse, TOPICS_IN_LIST,
    TOPICS_OUT_LIST, UnitResult,
};

use crate::board::{self, Uart};
use crate::{clock, heap, stack};

/// Largest reply, serialised (header + body + CRC).
pub const TX_BUF: usize = 4096;
/// Largest request frame, encoded: a 512-byte module chunk plus header fits easily.
pub const RX_BUF: usize = 4096;

/// The link as the firmware instantiates it.
pub type Wire = DeviceWire<Uart, TX_BUF>;

/// State the endpoint functions share.
pub struct Context {
    /// The link, for its frame counters.
    pub wire: &'static Wire,
    /// The shared request handler, with this board's profile and static buffer.
    pub handler: RequestHandler,
    /// Clock ticks spent in the handler's decode/instantiate/invoke work since the last reset.
    pub exec_ticks: u64,
    /// Set by the exit endpoint; `main` exits after the reply has gone out.
    pub exit: Option<bool>,
}

impl Context {
    /// Runs `f` on the handler, adding its clock ticks to [`Context::exec_ticks`].
    fn timed<R>(&mut self, f: impl FnOnce(&mut RequestHandler) -> R) -> R {
        let start = clock::ticks();
        let result = f(&mut self.handler);
        self.exec_ticks += clock::ticks() - start;
        result
    }
}

define_dispatch! {
    app: FwApp;
    spawn_fn: spawn_fn;
    tx_impl: WireTxImpl<'static, Uart, TX_BUF>;
    spawn_impl: WireSpawnImpl;
    context: Context;

    endpoints: {
        list: ENDPOINT_LIST;

        | EndpointTy           | kind     | handler       |
        | ----------           | ----     | -------       |
        | InfoEndpoint         | blocking | info          |
        | ResetEndpoint        | blocking | reset         |
        | ModuleBeginEndpoint  | blocking | module_begin  |
        | ModuleChunkEndpoint  | blocking | module_chunk  |
        | ModuleEndEndpoint    | blocking | module_end    |
        | InstantiateEndpoint  | blocking | instantiate   |
        | RegisterEndpoint     | blocking | register      |
        | InvokeEndpoint       | blocking | invoke        |
        | GetGlobalEndpoint    | blocking | get_global    |
        | MemoryDigestEndpoint | blocking | memory_digest |
        | StatsEndpoint        | blocking | stats         |
        | PingEndpoint         | blocking | ping          |
        | ExitEndpoint         | blocking | exit          |
        | FaultEndpoint        | blocking | fault         |
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

fn info(ctx: &mut Context, _: VarHeader, _: ()) -> InfoResponse {
    ctx.handler.info()
}

/// A fresh store; heap peak, stack paint and tick count restart with it.
fn reset(ctx: &mut Context, _: VarHeader, req: ResetRequest) -> UnitResult {
    let result = ctx.handler.reset(req);
    heap::reset_peak();
    stack::repaint();
    ctx.exec_ticks = 0;
    result
}

fn module_begin(ctx: &mut Context, _: VarHeader, req: ModuleBegin) -> UnitResult {
    ctx.handler.module_begin(req)
}

fn module_chunk(ctx: &mut Context, _: VarHeader, req: ModuleChunk) -> UnitResult {
    ctx.handler.module_chunk(req)
}

fn module_end(ctx: &mut Context, _: VarHeader, _: ()) -> ModuleResult {
    ctx.timed(|h| h.module_end())
}

fn instantiate(ctx: &mut Context, _: VarHeader, req: InstantiateRequest) -> InstantiateOutcome {
    ctx.timed(|h| h.instantiate(req))
}

fn register(ctx: &mut Context, _: VarHeader, req: RegisterRequest) -> UnitResult {
    ctx.handler.register(req)
}

fn invoke(ctx: &mut Context, _: VarHeader, req: InvokeRequest) -> InvokeOutcome {
    ctx.timed(|h| h.invoke(req))
}

fn get_global(ctx: &mut Context, _: VarHeader, req: GetGlobalRequest) -> GlobalResult {
    ctx.handler.get_global(req)
}

fn memory_digest(ctx: &mut Context, _: VarHeader, req: MemoryDigestRequest) -> DigestResult {
    ctx.handler.memory_digest(req)
}

/// The handler's figures plus the board's own: heap, stack, clock and link counters.
fn stats(ctx: &mut Context, _: VarHeader, _: ()) -> StatsResponse {
    let mut stats = ctx.handler.stats();
    let (frames_ok, frames_dropped) = ctx.wire.rx_counts();
    let t = &mut stats.target;
    t.heap_in_use = Some(heap::in_use() as u64);
    t.heap_peak = Some(heap::peak() as u64);
    t.heap_size = Some(heap::size() as u64);
    t.native_stack_high_water = Some(stack::high_water() as u64);
    t.native_stack_size = Some(stack::size() as u64);
    t.exec_ticks = Some(ctx.exec_ticks);
    t.tick_hz = Some(board::CORE_CLOCK_HZ);
    t.frames_ok = Some(frames_ok);
    t.frames_dropped = Some(frames_dropped);
    stats
}

/// Echo: the host checks the value and times the round trip.
fn ping(_: &mut Context, _: VarHeader, value: u32) -> u32 {
    value
}

/// Records the request; `main` flushes the reply, then exits QEMU with that status.
fn exit(ctx: &mut Context, _: VarHeader, success: bool) {
    ctx.exit = Some(success);
}

/// Faults on purpose: the host checks the report and QEMU's failure exit code.
fn fault(_: &mut Context, _: VarHeader, kind: FaultKind) {
    match kind {
        FaultKind::Panic => panic!("deliberate panic requested by the host"),
        FaultKind::HardFault => cortex_m::asm::udf(),
    }
}
