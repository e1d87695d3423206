//! The simulator target: the firmware's request handler running in-process.
//!
//! [`SimTarget`] forwards every [`Target`] call to a
//! [`tandem_handler::RequestHandler`], the same code a board runs behind its
//! postcard-rpc server, converting between the runner's [`Val`]/[`TrapInfo`] and
//! the wire types of `tandem-protocol`. Only transport is skipped: whole modules
//! go to [`RequestHandler::load`] rather than in chunks, under the same budget.

use tandem_handler::{BoardProfile, RequestHandler};
use tandem_interp::Config;
use tandem_protocol::{
    GetGlobalRequest, InstantiateRequest, InvokeRequest, Outcome, RegisterRequest, ResetRequest,
    StatsResponse, Trap, TrapKind, WireError, WireVal,
};

use crate::target::{
    InstanceId, ModuleId, Target, TargetError, TrapCode, TrapInfo, Val, WasmVersion,
};

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
        SimTarget { handler: RequestHandler::new(profile, env!("CARGO_PKG_VERSION")) }
    }

    /// The current session's statistics, as the `tandem/stats` endpoint reports them.
    pub fn stats(&self) -> StatsResponse {
        self.handler.stats()
    }
}

fn trap_info(trap: Trap) -> TrapInfo {
    let code = match trap.kind {
        TrapKind::Unreachable => TrapCode::Unreachable,
        TrapKind::MemoryOutOfBounds => TrapCode::MemoryOutOfBounds,
        TrapKind::TableOutOfBounds => TrapCode::TableOutOfBounds,
        TrapKind::UndefinedElement => TrapCode::UndefinedElement,
        TrapKind::UninitializedElement => TrapCode::UninitializedElement,
        TrapKind::IndirectCallTypeMismatch => TrapCode::IndirectCallTypeMismatch,
        TrapKind::IntegerDivideByZero => TrapCode::IntegerDivideByZero,
        TrapKind::IntegerOverflow => TrapCode::IntegerOverflow,
        TrapKind::InvalidConversionToInteger => TrapCode::InvalidConversionToInteger,
        TrapKind::StackExhausted => TrapCode::StackExhausted,
        TrapKind::OutOfFuel => TrapCode::OutOfFuel,
        TrapKind::Host => TrapCode::Host,
    };
    TrapInfo { code, message: trap.message }
}

fn target_error(error: WireError) -> TargetError {
    match error {
        WireError::Malformed(m) => TargetError::Malformed(m),
        WireError::Invalid(m) => TargetError::Invalid(m),
        WireError::Unsupported(m) => TargetError::Unsupported(m),
        WireError::Link(m) => TargetError::Link(m),
        WireError::Request(m) => TargetError::Request(m),
        WireError::Resource(m) => TargetError::Resource(m),
    }
}

fn to_wire(val: Val) -> WireVal {
    match val {
        Val::I32(v) => WireVal::I32(v),
        Val::I64(v) => WireVal::I64(v),
        Val::F32(bits) => WireVal::F32(bits),
        Val::F64(bits) => WireVal::F64(bits),
        Val::FuncRef(r) => WireVal::FuncRef(r),
        Val::ExternRef(r) => WireVal::ExternRef(r),
    }
}

fn from_wire(val: WireVal) -> Val {
    match val {
        WireVal::I32(v) => Val::I32(v),
        WireVal::I64(v) => Val::I64(v),
        WireVal::F32(bits) => Val::F32(bits),
        WireVal::F64(bits) => Val::F64(bits),
        WireVal::FuncRef(r) => Val::FuncRef(r),
        WireVal::ExternRef(r) => Val::ExternRef(r),
    }
}

fn outcome<T, U>(
    outcome: Outcome<T>,
    map: impl FnOnce(T) -> U,
) -> Result<Result<U, TrapInfo>, TargetError> {
    match outcome {
        Outcome::Ok(v) => Ok(Ok(map(v))),
        Outcome::Trap(trap) => Ok(Err(trap_info(trap))),
        Outcome::Error(e) => Err(target_error(e)),
    }
}

impl Target for SimTarget {
    fn name(&self) -> &str {
        "sim"
    }

    fn reset(&mut self, version: WasmVersion) -> Result<(), TargetError> {
        let version = match version {
            WasmVersion::V1 => tandem_protocol::WasmVersion::V1,
            WasmVersion::V2 => tandem_protocol::WasmVersion::V2,
        };
        self.handler.reset(ResetRequest { version }).map_err(target_error)
    }

    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError> {
        self.handler.load(wasm).map(|id| ModuleId(id.0)).map_err(target_error)
    }

    fn instantiate(
        &mut self,
        module: ModuleId,
    ) -> Result<Result<InstanceId, TrapInfo>, TargetError> {
        let req = InstantiateRequest { module: tandem_protocol::ModuleId(module.0) };
        outcome(self.handler.instantiate(req), |id| InstanceId(id.0))
    }

    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError> {
        let req = RegisterRequest {
            instance: tandem_protocol::InstanceId(instance.0),
            name: as_name.to_owned(),
        };
        self.handler.register(req).map_err(target_error)
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, TrapInfo>, TargetError> {
        let req = InvokeRequest {
            instance: tandem_protocol::InstanceId(instance.0),
            export: export.to_owned(),
            args: args.iter().map(|&a| to_wire(a)).collect(),
        };
        outcome(self.handler.invoke(req), |vals| vals.into_iter().map(from_wire).collect())
    }

    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError> {
        let req = GetGlobalRequest {
            instance: tandem_protocol::InstanceId(instance.0),
            export: export.to_owned(),
        };
        self.handler.get_global(req).map(from_wire).map_err(target_error)
    }
}
