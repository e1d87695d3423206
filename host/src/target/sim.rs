//! The simulator target: the firmware's request handler running in-process.
//!
//! [`SimTarget`] forwards every [`Target`] call to a [`RequestHandler`], the same code a
//! board runs behind its postcard-rpc server, with the same `tandem-protocol` values: nothing
//! is converted on the way, and the handler converts to the core's types once, as on the
//! board. Only transport is skipped: whole modules go to [`RequestHandler::load`] rather
//! than in chunks, under the same budget.

use tandem_boards::BoardProfile;
use tandem_handler::{Limits, RequestHandler, desktop_profile};
use tandem_protocol::{InstanceId, ModuleId, StatsResponse, Trap, Val, WasmVersion};

use crate::target::{Target, TargetError, outcome};

/// `tandem-interp` in-process, behind the firmware's request handler.
pub struct SimTarget {
    handler: RequestHandler,
}

impl Default for SimTarget {
    fn default() -> Self {
        SimTarget::new()
    }
}

impl SimTarget {
    /// A simulator with the desktop profile (the core's default limits).
    pub fn new() -> Self {
        SimTarget::with_profile(desktop_profile(), None)
    }

    /// A desktop simulator with other `limits` (fuel included), e.g. a shallow call stack.
    pub fn with_limits(limits: Limits) -> Self {
        SimTarget::with_profile(BoardProfile { limits, ..desktop_profile() }, None)
    }

    /// A simulator with `board`'s limits and a static buffer of the board's size, so memory
    /// kinds, grow refusals and exhaustion match the firmware built for that board.
    ///
    /// The buffer is leaked, as the firmware's lives in `.bss` for the whole run: one per
    /// simulator, which a process creates a handful of.
    pub fn for_board(board: &BoardProfile) -> Self {
        let bytes = usize::try_from(board.static_memory_bytes()).unwrap_or(usize::MAX);
        let buffer = (bytes > 0).then(|| Box::leak(vec![0u8; bytes].into_boxed_slice()));
        SimTarget::with_profile(board.clone(), buffer)
    }

    fn with_profile(profile: BoardProfile, buffer: Option<&'static mut [u8]>) -> Self {
        let handler = RequestHandler::new(profile, env!("CARGO_PKG_VERSION"));
        let handler = match buffer {
            Some(buffer) => handler.with_static_memory(buffer),
            None => handler,
        };
        SimTarget { handler }
    }

    /// The handler a board's firmware would run, for serving it elsewhere (the linked
    /// simulator's thread).
    pub fn into_handler(self) -> RequestHandler {
        self.handler
    }
}

impl Target for SimTarget {
    fn name(&self) -> &str {
        "sim"
    }

    fn board(&self) -> Option<&str> {
        Some(&self.handler.profile().name)
    }

    fn reset(&mut self, version: WasmVersion) -> Result<(), TargetError> {
        Ok(self.handler.reset(version)?)
    }

    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError> {
        Ok(self.handler.load(wasm)?)
    }

    fn instantiate(&mut self, module: ModuleId) -> Result<Result<InstanceId, Trap>, TargetError> {
        outcome(self.handler.instantiate(module))
    }

    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError> {
        Ok(self.handler.register(instance, as_name)?)
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, Trap>, TargetError> {
        outcome(self.handler.invoke(instance, export, args))
    }

    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError> {
        Ok(self.handler.get_global(instance, export)?)
    }

    fn stats(&mut self) -> Result<StatsResponse, TargetError> {
        Ok(self.handler.stats())
    }
}
