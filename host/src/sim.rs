//! The simulator target: the firmware's request handler running in-process.
//!
//! [`SimTarget`] forwards every [`Target`] call to a
//! [`tandem_handler::RequestHandler`], the same code a board runs behind its
//! postcard-rpc server, converting between the runner's [`Val`]/[`TrapInfo`] and
//! the wire types of `tandem-protocol`. Only transport is skipped: whole modules
//! go to [`RequestHandler::load`] rather than in chunks, under the same budget.

use tandem_boards::Board;
use tandem_handler::{BoardProfile, RequestHandler};
use tandem_interp::Config;
use tandem_protocol::{ResetRequest, StatsResponse};

use crate::target::{
    InstanceId, ModuleId, Target, TargetError, TrapInfo, Val, WasmVersion, from_outcome, request,
    values,
};

/// `tandem-interp` in-process, behind the firmware's request handler.
pub struct SimTarget {
    handler: RequestHandler,
    /// The profile's name, for suites written for one board's limits.
    board: String,
}

impl Default for SimTarget {
    fn default() -> Self {
        SimTarget::new()
    }
}

impl SimTarget {
    /// A simulator with the desktop profile (the core's default limits).
    pub fn new() -> Self {
        SimTarget::with_profile(BoardProfile::desktop())
    }

    /// A simulator whose sessions use `config`'s stack and depth limits (fuel
    /// metering is a board-profile choice; see [`SimTarget::with_profile`]).
    pub fn with_config(config: Config) -> Self {
        let profile = BoardProfile {
            value_stack_slots: config.max_value_stack,
            max_call_depth: config.max_call_depth,
            ..BoardProfile::desktop()
        };
        SimTarget::with_profile(profile)
    }

    /// A simulator applying a board's limits, so it exhausts where the board does.
    pub fn with_profile(profile: BoardProfile) -> Self {
        let board = profile.name.clone();
        SimTarget { handler: RequestHandler::new(profile, env!("CARGO_PKG_VERSION")), board }
    }

    /// A simulator with `board`'s limits and a static buffer of the board's size, so memory
    /// kinds, grow refusals and exhaustion match the firmware built for that board.
    ///
    /// The buffer is leaked, as the firmware's lives in `.bss` for the whole run: one per
    /// simulator, which a process creates a handful of.
    pub fn for_board(board: &Board) -> Self {
        SimTarget { handler: handler_for(board), board: board.name.clone() }
    }

    /// The current session's statistics, as the `tandem/stats` endpoint reports them.
    pub fn stats(&self) -> StatsResponse {
        self.handler.stats()
    }
}

/// A request handler with `board`'s limits and, if the board has one, a static buffer of
/// its size (leaked, as the firmware's lives in `.bss` for the whole run: one per simulator,
/// which a process creates a handful of).
pub fn handler_for(board: &Board) -> RequestHandler {
    let profile = profile(board);
    match usize::try_from(board.static_memory_bytes()) {
        Ok(bytes) if bytes > 0 => {
            let buffer: &'static mut [u8] = Box::leak(vec![0u8; bytes].into_boxed_slice());
            RequestHandler::with_static_memory(profile, env!("CARGO_PKG_VERSION"), buffer)
        }
        _ => RequestHandler::new(profile, env!("CARGO_PKG_VERSION")),
    }
}

/// The request handler's view of a board profile.
pub fn profile(board: &Board) -> BoardProfile {
    BoardProfile {
        name: board.name.clone(),
        value_stack_slots: board.limits.value_stack_slots,
        max_call_depth: board.limits.max_call_depth,
        fuel: board.limits.fuel,
        max_module_bytes: board.limits.max_module_bytes,
        heap_memory_bytes: Some(board.heap_memory_bytes()),
    }
}

impl Target for SimTarget {
    fn name(&self) -> &str {
        "sim"
    }

    fn board(&self) -> Option<&str> {
        Some(&self.board)
    }

    fn reset(&mut self, version: WasmVersion) -> Result<(), TargetError> {
        Ok(self.handler.reset(ResetRequest { version: version.into() })?)
    }

    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError> {
        Ok(self.handler.load(wasm).map(|id| ModuleId(id.0))?)
    }

    fn instantiate(
        &mut self,
        module: ModuleId,
    ) -> Result<Result<InstanceId, TrapInfo>, TargetError> {
        let req = request::instantiate(module);
        from_outcome(self.handler.instantiate(req), |id| InstanceId(id.0))
    }

    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError> {
        let req = request::register(instance, as_name);
        Ok(self.handler.register(req)?)
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, TrapInfo>, TargetError> {
        let req = request::invoke(instance, export, args);
        from_outcome(self.handler.invoke(req), values)
    }

    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError> {
        let req = request::get_global(instance, export);
        Ok(self.handler.get_global(req).map(Val::from)?)
    }

    fn stats(&mut self) -> Result<StatsResponse, TargetError> {
        Ok(self.handler.stats())
    }
}
