//! The simulator target: `tandem-interp` running in-process on the host.
//!
//! Each [`Target::reset`] builds a fresh [`Store`] and [`Linker`] for the
//! requested Wasm version and defines the `spectest` module the spec tests import:
//! no-op `print*` functions, the globals `global_i32`/`global_i64` = 666 and
//! `global_f32`/`global_f64` = 666.6, a funcref `table` of 10..20 elements and a
//! `memory` of 1..2 pages. Handles handed to the runner are indices into this
//! session's module and instance lists.

use tandem_interp::{
    Config, Error, Extern, FuncType, GlobalType, Instance, Linker, MemoryType, Module, Store,
    TableType, Trap, TrapKind, ValType, Value,
};

use crate::target::{
    InstanceId, ModuleId, Target, TargetError, TrapCode, TrapInfo, Val, WasmVersion,
};

/// One store's worth of state: everything between two resets.
struct Session {
    config: Config,
    store: Store,
    linker: Linker,
    modules: Vec<Module>,
    instances: Vec<Instance>,
}

/// `tandem-interp` in-process.
pub struct SimTarget {
    /// Limits every session starts from (the version is set per reset).
    base: Config,
    session: Option<Session>,
}

impl Default for SimTarget {
    fn default() -> Self {
        SimTarget::new()
    }
}

impl SimTarget {
    /// A simulator with the core's default limits.
    pub fn new() -> Self {
        SimTarget::with_config(Config::new())
    }

    /// A simulator whose sessions use `config`'s limits (its version is replaced
    /// by the one each reset asks for).
    pub fn with_config(config: Config) -> Self {
        SimTarget { base: config, session: None }
    }

    /// The current session's store, e.g. to read its statistics.
    pub fn store(&self) -> Option<&Store> {
        self.session.as_ref().map(|s| &s.store)
    }

    fn session(&mut self) -> Result<&mut Session, TargetError> {
        self.session
            .as_mut()
            .ok_or_else(|| TargetError::Request("no session: call reset first".into()))
    }
}

fn trap_code(kind: TrapKind) -> TrapCode {
    match kind {
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
    }
}

fn trap_info(trap: &Trap) -> TrapInfo {
    TrapInfo { code: trap_code(trap.kind()), message: trap.message().to_owned() }
}

/// Sorts a core error into the target interface's categories. Traps are
/// handled by the callers (they are results, not errors).
fn target_error(error: Error) -> TargetError {
    let message = error.to_string();
    match error {
        Error::Malformed { .. } => TargetError::Malformed(message),
        Error::Invalid { .. } | Error::Translate { .. } => TargetError::Invalid(message),
        Error::Unsupported { .. } | Error::Limit { .. } => TargetError::Unsupported(message),
        Error::UnknownImport { .. } | Error::IncompatibleImport { .. } => {
            TargetError::Link(message)
        }
        Error::ExportNotFound { .. }
        | Error::ExportKind { .. }
        | Error::ArgumentCount { .. }
        | Error::ArgumentType { .. }
        | Error::GlobalNotMutable
        | Error::GlobalType { .. }
        | Error::ForeignHandle { .. }
        | Error::ConfigMismatch { .. } => TargetError::Request(message),
        Error::StaticBufferTooSmall { .. }
        | Error::NoSuchMemory { .. }
        | Error::OutOfMemory { .. } => TargetError::Resource(message),
        // Only reached where a trap is not a possible result.
        Error::Trap(_) => TargetError::Request(format!("unexpected {message}")),
    }
}

fn to_core(val: Val) -> Result<Value, TargetError> {
    Ok(match val {
        Val::I32(v) => Value::I32(v),
        Val::I64(v) => Value::I64(v),
        Val::F32(bits) => Value::F32(bits),
        Val::F64(bits) => Value::F64(bits),
        Val::FuncRef(None) => Value::FuncRef(None),
        Val::FuncRef(Some(_)) => {
            return Err(TargetError::Request(
                "non-null funcref arguments cannot be passed to the simulator".into(),
            ));
        }
        Val::ExternRef(r) => Value::ExternRef(r),
    })
}

fn from_core(value: Value) -> Val {
    match value {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(bits) => Val::F32(bits),
        Value::F64(bits) => Val::F64(bits),
        Value::FuncRef(r) => Val::FuncRef(r.map(|f| f.addr())),
        Value::ExternRef(r) => Val::ExternRef(r),
    }
}

/// Defines the `spectest` module in `linker`.
fn define_spectest(store: &mut Store, linker: &mut Linker) -> Result<(), Error> {
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[ValType::I32]),
        ("print_i64", &[ValType::I64]),
        ("print_f32", &[ValType::F32]),
        ("print_f64", &[ValType::F64]),
        ("print_i32_f32", &[ValType::I32, ValType::F32]),
        ("print_f64_f64", &[ValType::F64, ValType::F64]),
    ];
    for (name, params) in prints {
        let func = store.host_func(FuncType::new(params.iter().copied(), []), |_, _, _| Ok(()));
        linker.define("spectest", name, Extern::Func(func));
    }
    let globals = [
        ("global_i32", Value::I32(666)),
        ("global_i64", Value::I64(666)),
        ("global_f32", Value::F32(666.6f32.to_bits())),
        ("global_f64", Value::F64(666.6f64.to_bits())),
    ];
    for (name, value) in globals {
        let global = store.new_global(GlobalType { content: value.ty(), mutable: false }, value)?;
        linker.define("spectest", name, Extern::Global(global));
    }
    let table = store.new_table(
        TableType { elem: ValType::FuncRef, initial: 10, maximum: Some(20) },
        Value::FuncRef(None),
    )?;
    linker.define("spectest", "table", Extern::Table(table));
    let memory = store.new_memory(MemoryType { initial: 1, maximum: Some(2) })?;
    linker.define("spectest", "memory", Extern::Memory(memory));
    Ok(())
}

impl Session {
    fn instance(&self, id: InstanceId) -> Result<Instance, TargetError> {
        self.instances
            .get(id.0 as usize)
            .copied()
            .ok_or_else(|| TargetError::Request(format!("no instance #{}", id.0)))
    }
}

impl Target for SimTarget {
    fn name(&self) -> &str {
        "sim"
    }

    fn reset(&mut self, version: WasmVersion) -> Result<(), TargetError> {
        let version = match version {
            WasmVersion::V1 => tandem_interp::WasmVersion::V1,
            WasmVersion::V2 => tandem_interp::WasmVersion::V2,
        };
        let config = self.base.clone().with_version(version);
        let mut store = Store::new(config.clone());
        let mut linker = Linker::new();
        define_spectest(&mut store, &mut linker).map_err(target_error)?;
        self.session =
            Some(Session { config, store, linker, modules: Vec::new(), instances: Vec::new() });
        Ok(())
    }

    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError> {
        let session = self.session()?;
        let module = Module::new(&session.config, wasm).map_err(target_error)?;
        session.modules.push(module);
        Ok(ModuleId(session.modules.len() as u32 - 1))
    }

    fn instantiate(
        &mut self,
        module: ModuleId,
    ) -> Result<Result<InstanceId, TrapInfo>, TargetError> {
        let session = self.session()?;
        let module = session
            .modules
            .get(module.0 as usize)
            .ok_or_else(|| TargetError::Request(format!("no module #{}", module.0)))?;
        match session.linker.instantiate(&mut session.store, module) {
            Ok(instance) => {
                session.instances.push(instance);
                Ok(Ok(InstanceId(session.instances.len() as u32 - 1)))
            }
            Err(Error::Trap(trap)) => Ok(Err(trap_info(&trap))),
            Err(e) => Err(target_error(e)),
        }
    }

    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError> {
        let session = self.session()?;
        let instance = session.instance(instance)?;
        session.linker.define_instance(&session.store, as_name, instance);
        Ok(())
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, TrapInfo>, TargetError> {
        let session = self.session()?;
        let instance = session.instance(instance)?;
        let func = instance.func(&session.store, export).map_err(target_error)?;
        let args = args.iter().map(|&a| to_core(a)).collect::<Result<Vec<_>, _>>()?;
        let mut results: Vec<Value> = session
            .store
            .func_type(func)
            .results()
            .iter()
            .map(|&t| Value::default_for(t))
            .collect();
        match session.store.call(func, &args, &mut results) {
            Ok(()) => Ok(Ok(results.into_iter().map(from_core).collect())),
            Err(Error::Trap(trap)) => Ok(Err(trap_info(&trap))),
            Err(e) => Err(target_error(e)),
        }
    }

    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError> {
        let session = self.session()?;
        let instance = session.instance(instance)?;
        let global = instance.global(&session.store, export).map_err(target_error)?;
        Ok(from_core(session.store.global_get(global)))
    }
}
