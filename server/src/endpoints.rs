//! The endpoint functions [`server!`](crate::server) wires up: each forwards to the shared
//! [`RequestHandler`] and adds the [`Platform`]'s figures where the protocol asks for them.

use core::time::Duration;

use postcard_rpc::header::VarHeader;
use tandem_handler::RequestHandler;
use tandem_protocol::{
    DigestResult, FaultKind, GetGlobalRequest, GlobalResult, InfoResponse, InstantiateOutcome,
    InstantiateRequest, InvokeOutcome, InvokeRequest, MemoryDigestRequest, ModuleBegin,
    ModuleChunk, ModuleResult, Outcome, OutputChunkResult, Ran, RegisterRequest, ResetRequest,
    StatsResponse, TaskNew, TaskOutcome, TaskResult, TaskResume, TaskStart, Trap, TrapKind,
    UnitResult, WasiSetup,
};

use crate::Platform;

/// State the endpoint functions share.
pub struct Context<P> {
    /// The shared request handler, with this board's profile and static buffer.
    pub handler: RequestHandler,
    /// The board glue.
    pub platform: P,
    /// Ticks spent in the handler's decode/instantiate/invoke work since the last reset.
    pub exec_ticks: u64,
    /// Set by the exit endpoint; the serve loop ends after the reply has gone out.
    pub exit: Option<bool>,
    /// The session's call deadline, as the reset asked for it, and in ticks.
    deadline: Option<(Duration, u64)>,
}

impl<P: Platform> Context<P> {
    /// A context serving `handler` on `platform`.
    pub fn new(handler: RequestHandler, platform: P) -> Self {
        Context { handler, platform, exec_ticks: 0, exit: None, deadline: None }
    }

    /// Runs `f` on the handler, adding its ticks to [`Context::exec_ticks`].
    fn timed<R>(&mut self, f: impl FnOnce(&mut RequestHandler) -> R) -> R {
        let start = self.platform.ticks();
        let result = f(&mut self.handler);
        self.exec_ticks += self.platform.ticks().wrapping_sub(start);
        result
    }

    /// Runs a call (an instantiation or an invocation) under the session's deadline, if it
    /// has one: a call it stops traps with [`Trap::timed_out`].
    fn call<T>(&mut self, f: impl FnOnce(&mut RequestHandler) -> Ran<T>) -> Ran<T> {
        let Some((after, ticks)) = self.deadline else {
            return self.timed(f);
        };
        self.platform.arm_deadline(ticks);
        let mut ran = self.timed(f);
        self.platform.disarm_deadline();
        if let Outcome::Trap(trap) = &mut ran.outcome
            && trap.kind == TrapKind::Interrupted
        {
            *trap = Trap::timed_out(after);
        }
        ran
    }
}

/// `tandem/info`: the protocol version, the board and its limits.
pub fn info<P: Platform>(ctx: &mut Context<P>, _: VarHeader, _: ()) -> InfoResponse {
    ctx.handler.info()
}

/// A fresh store; the platform's per-session figures and the tick count restart with it,
/// and the deadline it asks for holds for its calls.
pub fn reset<P: Platform>(ctx: &mut Context<P>, _: VarHeader, req: ResetRequest) -> UnitResult {
    // The request's host names are freed before the new session allocates: the arena
    // then holds only what the firmware allocated at boot (RequestHandler::start_session).
    let plan = ctx.handler.plan_session(req.features, &req.hosts);
    drop(req.hosts);
    let result = plan.and_then(|plan| ctx.handler.start_session(plan));
    ctx.platform.restart_measurements();
    ctx.exec_ticks = 0;
    ctx.deadline = req.deadline_ms.map(|ms| {
        let ticks = u64::from(ms) * u64::from(ctx.platform.tick_hz()) / 1000;
        (Duration::from_millis(u64::from(ms)), ticks)
    });
    result
}

/// `tandem/wasi`.
pub fn set_wasi<P: Platform>(ctx: &mut Context<P>, _: VarHeader, req: WasiSetup) -> UnitResult {
    ctx.handler.set_wasi(req)
}

/// `tandem/module/begin`.
pub fn module_begin<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    req: ModuleBegin,
) -> UnitResult {
    ctx.handler.module_begin(req.len, req.format)
}

/// `tandem/module/chunk`.
pub fn module_chunk<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    req: ModuleChunk,
) -> UnitResult {
    ctx.handler.module_chunk(req.offset, &req.bytes)
}

/// `tandem/module/end`: decoding, validation and translation, timed.
pub fn module_end<P: Platform>(ctx: &mut Context<P>, _: VarHeader, _: ()) -> ModuleResult {
    ctx.timed(|h| h.module_end())
}

/// `tandem/instantiate`, timed and under the deadline.
pub fn instantiate<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    req: InstantiateRequest,
) -> InstantiateOutcome {
    ctx.call(|h| h.instantiate(req.module))
}

/// `tandem/register`.
pub fn register<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    req: RegisterRequest,
) -> UnitResult {
    ctx.handler.register(req.instance, &req.name)
}

/// `tandem/invoke`, timed and under the deadline.
pub fn invoke<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    req: InvokeRequest,
) -> InvokeOutcome {
    ctx.call(|h| h.invoke(req.instance, &req.export, &req.args))
}

/// `tandem/task/new`.
pub fn task_new<P: Platform>(ctx: &mut Context<P>, _: VarHeader, req: TaskNew) -> TaskResult {
    ctx.handler.task_new(req.slots, req.depth)
}

/// `tandem/task/start`, timed and under the deadline (which stops the task: `Interrupted`).
pub fn task_start<P: Platform>(ctx: &mut Context<P>, _: VarHeader, req: TaskStart) -> TaskOutcome {
    ctx.call(|h| h.task_start(req.task, &req.call, req.fuel))
}

/// `tandem/task/resume`, timed and under the deadline.
pub fn task_resume<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    req: TaskResume,
) -> TaskOutcome {
    ctx.call(|h| h.task_resume(req.task, req.fuel))
}

/// `tandem/global`.
pub fn get_global<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    req: GetGlobalRequest,
) -> GlobalResult {
    ctx.handler.get_global(req.instance, &req.export)
}

/// `tandem/memory/digest`.
pub fn memory_digest<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    req: MemoryDigestRequest,
) -> DigestResult {
    ctx.handler.memory_digest(req.instance, req.export.as_deref(), req.offset, req.len)
}

/// `tandem/output/chunk`.
pub fn output_chunk<P: Platform>(
    ctx: &mut Context<P>,
    _: VarHeader,
    index: u32,
) -> OutputChunkResult {
    ctx.handler.output_chunk(index)
}

/// The handler's figures plus the board's own.
pub fn stats<P: Platform>(ctx: &mut Context<P>, _: VarHeader, _: ()) -> StatsResponse {
    let mut stats = ctx.handler.stats();
    stats.target.exec_ticks = Some(ctx.exec_ticks);
    stats.target.tick_hz = Some(ctx.platform.tick_hz());
    ctx.platform.measure(&mut stats.target);
    stats
}

/// Echo: the host checks the value and times the round trip.
pub fn ping<P: Platform>(_: &mut Context<P>, _: VarHeader, value: u32) -> u32 {
    value
}

/// Records the request; the serve loop flushes the reply, then ends with that status.
pub fn exit<P: Platform>(ctx: &mut Context<P>, _: VarHeader, success: bool) {
    ctx.exit = Some(success);
}

/// Faults on purpose: the host checks the report (a board never replies).
pub fn fault<P: Platform>(ctx: &mut Context<P>, _: VarHeader, kind: FaultKind) {
    ctx.platform.fault(kind);
}
