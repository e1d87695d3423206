//! The interface between the `.wast` runner and whatever executes WebAssembly.
//!
//! A [`Target`] is either the in-process simulator ([`crate::sim::SimTarget`]) or,
//! later, a Cortex-M4 board reached over a serial link. Everything crossing this
//! interface is therefore owned, plain data that serde can put on a wire: module
//! bytes go in as a slice, entities come back as small integer handles
//! ([`ModuleId`], [`InstanceId`]), values as [`Val`], traps as [`TrapInfo`].
//! Text-format handling (WAT to binary, `module quote`) stays on the host: a target
//! only ever sees binary modules.
//!
//! Two kinds of "failure" are kept apart:
//! - a **trap** is a legitimate result of running wasm code (an invocation or a
//!   start function), so it comes back as the inner `Err` of
//!   `Result<Result<_, TrapInfo>, TargetError>`;
//! - a [`TargetError`] is a refusal: the module is malformed or invalid, an import
//!   is missing, an export does not exist, or the link to the target broke
//!   ([`TargetError::Transport`], after which the runner gives up on the file).

use std::fmt;

use serde::{Deserialize, Serialize};
pub use tandem_protocol::StatsResponse;
use tandem_protocol::{Trap, TrapKind, WireError, WireVal};

/// A module loaded (decoded, validated, translated) on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ModuleId(pub u32);

/// An instance living in the target's current store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InstanceId(pub u32);

/// The WebAssembly spec version modules are validated and run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WasmVersion {
    /// WebAssembly 1.0 (the MVP plus importable/exportable mutable globals).
    V1,
    /// WebAssembly 2.0 without SIMD.
    V2,
}

impl fmt::Display for WasmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmVersion::V1 => "wasm-v1",
            WasmVersion::V2 => "wasm-v2",
        })
    }
}

/// A WebAssembly value as it crosses the target interface. Floats travel as bits
/// so NaN payloads survive; references as opaque target-side numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Val {
    I32(i32),
    I64(i64),
    /// `f32` bits.
    F32(u32),
    /// `f64` bits.
    F64(u64),
    /// `None` is `ref.null func`; `Some` is an opaque function address on the target.
    FuncRef(Option<u32>),
    /// `None` is `ref.null extern`; `Some(n)` is the host value `ref.extern n`.
    ExternRef(Option<u32>),
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Val::I32(v) => write!(f, "i32:{v}"),
            Val::I64(v) => write!(f, "i64:{v}"),
            Val::F32(bits) => write!(f, "f32:{} (0x{bits:08x})", f32::from_bits(bits)),
            Val::F64(bits) => write!(f, "f64:{} (0x{bits:016x})", f64::from_bits(bits)),
            Val::FuncRef(None) => f.write_str("ref.null func"),
            Val::FuncRef(Some(addr)) => write!(f, "ref.func #{addr}"),
            Val::ExternRef(None) => f.write_str("ref.null extern"),
            Val::ExternRef(Some(n)) => write!(f, "ref.extern {n}"),
        }
    }
}

/// Which trap happened, independent of how a target words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrapCode {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    UndefinedElement,
    UninitializedElement,
    IndirectCallTypeMismatch,
    IntegerDivideByZero,
    IntegerOverflow,
    InvalidConversionToInteger,
    /// The call depth or the value stack hit the target's limit.
    StackExhausted,
    OutOfFuel,
    /// A host function failed.
    Host,
    /// Anything the target cannot classify; the message says what.
    Other,
}

impl TrapCode {
    /// The spec's wording for this trap (what `assert_trap` directives expect).
    pub fn spec_message(self) -> &'static str {
        match self {
            TrapCode::Unreachable => "unreachable",
            TrapCode::MemoryOutOfBounds => "out of bounds memory access",
            TrapCode::TableOutOfBounds => "out of bounds table access",
            TrapCode::UndefinedElement => "undefined element",
            TrapCode::UninitializedElement => "uninitialized element",
            TrapCode::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapCode::IntegerDivideByZero => "integer divide by zero",
            TrapCode::IntegerOverflow => "integer overflow",
            TrapCode::InvalidConversionToInteger => "invalid conversion to integer",
            TrapCode::StackExhausted => "call stack exhausted",
            TrapCode::OutOfFuel => "all fuel consumed",
            TrapCode::Host => "host function error",
            TrapCode::Other => "trap",
        }
    }
}

/// A trap as reported by a target: its classification and its message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TrapInfo {
    pub code: TrapCode,
    pub message: String,
}

impl TrapInfo {
    /// A trap worded the spec's way.
    pub fn new(code: TrapCode) -> Self {
        TrapInfo { code, message: code.spec_message().to_owned() }
    }
}

impl fmt::Display for TrapInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trap \"{}\"", self.message)
    }
}

/// Why a target refused a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetError {
    /// The module's bytes do not decode.
    Malformed(String),
    /// The module decodes but does not validate.
    Invalid(String),
    /// The module uses a feature the target deliberately lacks, or exceeds one of
    /// its implementation limits.
    Unsupported(String),
    /// An import is missing or its definition has the wrong type.
    Link(String),
    /// The request itself is wrong: unknown handle, missing export, an export of
    /// another kind, arguments of the wrong number or type.
    Request(String),
    /// The target ran out of memory or another resource.
    Resource(String),
    /// The connection to the target failed; nothing more can run on it.
    Transport(String),
}

impl TargetError {
    /// Whether the target can no longer be used (the runner stops the file).
    pub fn is_fatal(&self) -> bool {
        matches!(self, TargetError::Transport(_))
    }

    /// Whether this error rejects a module's bytes (decode or validation).
    pub fn is_rejection(&self) -> bool {
        matches!(self, TargetError::Malformed(_) | TargetError::Invalid(_))
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetError::Malformed(m) => write!(f, "malformed module: {m}"),
            TargetError::Invalid(m) => write!(f, "invalid module: {m}"),
            TargetError::Unsupported(m) => write!(f, "unsupported: {m}"),
            TargetError::Link(m) => write!(f, "link error: {m}"),
            TargetError::Request(m) => write!(f, "bad request: {m}"),
            TargetError::Resource(m) => write!(f, "out of resources: {m}"),
            TargetError::Transport(m) => write!(f, "target connection failed: {m}"),
        }
    }
}

impl std::error::Error for TargetError {}

/// Something that loads, instantiates and runs binary WebAssembly modules.
///
/// A session starts with [`Target::reset`], which empties the store and defines
/// the `spectest` host module; the runner calls it once per `.wast` file. Every
/// handle is valid until the next reset.
pub trait Target {
    /// A short name for reports, e.g. `sim`.
    fn name(&self) -> &str;

    /// The board profile whose limits the target applies (`desktop` for the simulator's
    /// own defaults); `None` if the target cannot say.
    fn board(&self) -> Option<&str> {
        None
    }

    /// Whether the target decodes and validates modules itself. A target that does not
    /// gets no module the host knows to be invalid: the runner checks those on the host.
    fn validates(&self) -> bool {
        true
    }

    /// Drops every module and instance and starts a fresh store validating against
    /// `version`, with the `spectest` module (print functions, `global_i32` = 666,
    /// `global_i64` = 666, `global_f32` = 666.6, `global_f64` = 666.6, a funcref
    /// `table` of 10..20 and a `memory` of 1..2 pages) available for import.
    fn reset(&mut self, version: WasmVersion) -> Result<(), TargetError>;

    /// Decodes, validates and prepares a binary module without instantiating it.
    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError>;

    /// Instantiates a loaded module, resolving imports against `spectest` and every
    /// registered instance, and runs its start function. A trap while initialising
    /// or in the start function is `Ok(Err(trap))`.
    fn instantiate(
        &mut self,
        module: ModuleId,
    ) -> Result<Result<InstanceId, TrapInfo>, TargetError>;

    /// Makes all exports of `instance` importable under the module name `as_name`.
    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError>;

    /// Calls the exported function `export` of `instance`.
    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, TrapInfo>, TargetError>;

    /// Reads the exported global `export` of `instance`.
    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError>;

    /// The current session's statistics (memories, peaks, fuel; target figures if any).
    fn stats(&mut self) -> Result<StatsResponse, TargetError>;

    /// Brings a target that stopped answering back (a QEMU is restarted, a board reset)
    /// with an empty store; the runner resets it next. A target that cannot says why.
    fn recover(&mut self) -> Result<(), TargetError> {
        Err(TargetError::Transport(format!("the {} target cannot be restarted", self.name())))
    }

    /// The host's account of the link to the target (requests, resends, damaged frames),
    /// for targets behind one.
    fn link_summary(&self) -> Option<String> {
        None
    }

    /// Ends the target cleanly once the runner is done (a board is asked to exit and its
    /// exit status checked); nothing may be requested afterwards.
    fn finish(&mut self) -> Result<(), TargetError> {
        Ok(())
    }
}

impl<T: Target + ?Sized> Target for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn board(&self) -> Option<&str> {
        (**self).board()
    }
    fn validates(&self) -> bool {
        (**self).validates()
    }
    fn reset(&mut self, version: WasmVersion) -> Result<(), TargetError> {
        (**self).reset(version)
    }
    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError> {
        (**self).load(wasm)
    }
    fn instantiate(
        &mut self,
        module: ModuleId,
    ) -> Result<Result<InstanceId, TrapInfo>, TargetError> {
        (**self).instantiate(module)
    }
    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError> {
        (**self).register(instance, as_name)
    }
    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, TrapInfo>, TargetError> {
        (**self).invoke(instance, export, args)
    }
    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError> {
        (**self).get_global(instance, export)
    }
    fn stats(&mut self) -> Result<StatsResponse, TargetError> {
        (**self).stats()
    }
    fn recover(&mut self) -> Result<(), TargetError> {
        (**self).recover()
    }
    fn link_summary(&self) -> Option<String> {
        (**self).link_summary()
    }
    fn finish(&mut self) -> Result<(), TargetError> {
        (**self).finish()
    }
}

// Conversions from and to the wire types of `tandem-protocol`, which every target speaks.

impl From<Trap> for TrapInfo {
    fn from(trap: Trap) -> Self {
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
}

impl From<WireError> for TargetError {
    fn from(error: WireError) -> Self {
        match error {
            WireError::Malformed(m) => TargetError::Malformed(m),
            WireError::Invalid(m) => TargetError::Invalid(m),
            WireError::Unsupported(m) => TargetError::Unsupported(m),
            WireError::Link(m) => TargetError::Link(m),
            WireError::Request(m) => TargetError::Request(m),
            WireError::Resource(m) => TargetError::Resource(m),
        }
    }
}

impl From<Val> for WireVal {
    fn from(val: Val) -> Self {
        match val {
            Val::I32(v) => WireVal::I32(v),
            Val::I64(v) => WireVal::I64(v),
            Val::F32(bits) => WireVal::F32(bits),
            Val::F64(bits) => WireVal::F64(bits),
            Val::FuncRef(r) => WireVal::FuncRef(r),
            Val::ExternRef(r) => WireVal::ExternRef(r),
        }
    }
}

impl From<WireVal> for Val {
    fn from(val: WireVal) -> Self {
        match val {
            WireVal::I32(v) => Val::I32(v),
            WireVal::I64(v) => Val::I64(v),
            WireVal::F32(bits) => Val::F32(bits),
            WireVal::F64(bits) => Val::F64(bits),
            WireVal::FuncRef(r) => Val::FuncRef(r),
            WireVal::ExternRef(r) => Val::ExternRef(r),
        }
    }
}

impl From<WasmVersion> for tandem_protocol::WasmVersion {
    fn from(version: WasmVersion) -> Self {
        match version {
            WasmVersion::V1 => tandem_protocol::WasmVersion::V1,
            WasmVersion::V2 => tandem_protocol::WasmVersion::V2,
        }
    }
}

/// A protocol outcome as the runner's nested result: refusal outside, trap inside.
pub fn from_outcome<T, U>(
    outcome: tandem_protocol::Outcome<T>,
    map: impl FnOnce(T) -> U,
) -> Result<Result<U, TrapInfo>, TargetError> {
    match outcome {
        tandem_protocol::Outcome::Ok(v) => Ok(Ok(map(v))),
        tandem_protocol::Outcome::Trap(trap) => Ok(Err(trap.into())),
        tandem_protocol::Outcome::Error(e) => Err(e.into()),
    }
}

/// The protocol requests behind the runner's calls, built in one place for every target.
pub mod request {
    use tandem_protocol::{GetGlobalRequest, InstantiateRequest, InvokeRequest, RegisterRequest};

    use super::{InstanceId, ModuleId, Val};

    pub fn instantiate(module: ModuleId) -> InstantiateRequest {
        InstantiateRequest { module: tandem_protocol::ModuleId(module.0) }
    }

    pub fn register(instance: InstanceId, name: &str) -> RegisterRequest {
        RegisterRequest { instance: tandem_protocol::InstanceId(instance.0), name: name.to_owned() }
    }

    pub fn invoke(instance: InstanceId, export: &str, args: &[Val]) -> InvokeRequest {
        InvokeRequest {
            instance: tandem_protocol::InstanceId(instance.0),
            export: export.to_owned(),
            args: args.iter().map(|&a| a.into()).collect(),
        }
    }

    pub fn get_global(instance: InstanceId, export: &str) -> GetGlobalRequest {
        GetGlobalRequest {
            instance: tandem_protocol::InstanceId(instance.0),
            export: export.to_owned(),
        }
    }
}

/// Wire values as the runner's.
pub fn values(vals: Vec<WireVal>) -> Vec<Val> {
    vals.into_iter().map(Val::from).collect()
}
