//! The one request handler the simulator and the firmware both run.
//!
//! [`RequestHandler`] owns a `tandem-interp` store, its linker with the
//! `spectest` host module, the uploaded modules and the instances. Each method
//! answers one `tandem-protocol` endpoint: pure logic, no I/O, no async, so a
//! postcard-rpc server on a board and the in-process simulator share every
//! decision, including where resource limits bite ([`BoardProfile`]).
//!
//! Static memory rule: a board may hand over one `&'static mut [u8]` at
//! construction. After each reset it backs memory 0 of the first instantiated
//! module that defines its memory 0 (modules importing or lacking one get heap
//! memory and do not use it up). Once used it stays with that store until the
//! next reset, which ends the store and takes the buffer back from it
//! (`Store::into_static_buffers`).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use tandem_interp::{
    Config, Error, Extern, FuncType, GlobalType, Instance, InstanceOptions, Linker,
    MemoryKind as CoreMemoryKind, MemoryType, Module, Store, TableType, Trap as CoreTrap,
    TrapKind as CoreTrapKind, ValType, Value,
};
use tandem_protocol::{
    BoardLimits, DigestResult, GetGlobalRequest, GlobalResult, InfoResponse, InstanceId,
    InstantiateOutcome, InstantiateRequest, InvokeOutcome, InvokeRequest, MAX_CHUNK, MemoryDigest,
    MemoryDigestRequest, MemoryKind, MemoryStat, ModuleBegin, ModuleChunk, ModuleId, ModuleResult,
    Outcome, PROTOCOL_VERSION, RegisterRequest, ResetRequest, StatsResponse, TargetStats, Trap,
    TrapKind, UnitResult, WasmVersion, WireError, WireVal, fnv1a64,
};

/// A board's name and the limits every target applies the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardProfile {
    pub name: String,
    /// Value-stack size in 64-bit slots.
    pub value_stack_slots: u32,
    pub max_call_depth: u32,
    /// Fuel granted to each invocation and instantiation; `None` is unmetered.
    pub fuel: Option<u64>,
    /// Largest module upload accepted (the upload buffer's budget).
    pub max_module_bytes: u32,
    /// Heap-backed linear memory allowed, all instances together; `None` is unlimited.
    pub heap_memory_bytes: Option<u64>,
}

impl BoardProfile {
    /// The desktop defaults: the core's default stack and depth, no fuel, 16 MiB modules.
    pub fn desktop() -> Self {
        BoardProfile {
            name: "desktop".into(),
            value_stack_slots: Config::DEFAULT_VALUE_STACK,
            max_call_depth: Config::DEFAULT_CALL_DEPTH,
            fuel: None,
            max_module_bytes: 16 << 20,
            heap_memory_bytes: None,
        }
    }

    fn config(&self, version: WasmVersion) -> Config {
        let version = match version {
            WasmVersion::V1 => tandem_interp::WasmVersion::V1,
            WasmVersion::V2 => tandem_interp::WasmVersion::V2,
        };
        Config::new()
            .with_version(version)
            .with_limits(self.value_stack_slots, self.max_call_depth)
            .with_fuel(self.fuel.is_some())
            .with_heap_memory_budget(self.heap_memory_bytes)
    }
}

/// A store's worth of state: everything between two resets.
struct Session {
    config: Config,
    store: Store,
    linker: Linker,
    modules: Vec<Module>,
    instances: Vec<Instance>,
}

/// Answers the `tandem-protocol` endpoints against a `tandem-interp` store.
pub struct RequestHandler {
    profile: BoardProfile,
    firmware_version: String,
    session: Option<Session>,
    /// The module being uploaded: its announced length and the bytes so far.
    upload: Option<(u32, Vec<u8>)>,
    /// The board's static buffer for memory 0 while no store holds it. A store that takes
    /// it gives it back when the next reset ends that store.
    static_memory: Option<&'static mut [u8]>,
    /// Its size, which `tandem/info` reports whoever holds it.
    static_memory_bytes: Option<u32>,
}

impl RequestHandler {
    /// A handler with no session yet: the first request must be a reset.
    pub fn new(profile: BoardProfile, firmware_version: &str) -> Self {
        RequestHandler {
            profile,
            firmware_version: firmware_version.into(),
            session: None,
            upload: None,
            static_memory: None,
            static_memory_bytes: None,
        }
    }

    /// A handler whose first module-defined memory 0 after each reset lives in
    /// `buffer` (see the crate docs for the rule).
    pub fn with_static_memory(
        profile: BoardProfile,
        firmware_version: &str,
        buffer: &'static mut [u8],
    ) -> Self {
        let mut h = RequestHandler::new(profile, firmware_version);
        h.static_memory_bytes = Some(index_u32(buffer.len()));
        h.static_memory = Some(buffer);
        h
    }

    pub fn profile(&self) -> &BoardProfile {
        &self.profile
    }

    /// `tandem/info`.
    pub fn info(&self) -> InfoResponse {
        InfoResponse {
            firmware_version: self.firmware_version.clone(),
            protocol_version: PROTOCOL_VERSION,
            board: self.profile.name.clone(),
            limits: BoardLimits {
                value_stack_slots: self.profile.value_stack_slots,
                max_call_depth: self.profile.max_call_depth,
                fuel: self.profile.fuel,
                max_module_bytes: self.profile.max_module_bytes,
                static_memory_bytes: self.static_memory_bytes,
                heap_memory_bytes: self.profile.heap_memory_bytes,
            },
            validates: cfg!(feature = "validate"),
            schema_fingerprint: tandem_protocol::schema_fingerprint(),
        }
    }

    /// `tandem/reset`: drops everything and starts a fresh store with `spectest`.
    pub fn reset(&mut self, req: ResetRequest) -> UnitResult {
        // End the old store first so its memory is free for the new one, and take the
        // static buffer back from it.
        if let Some(old) = self.session.take() {
            let returned = old.store.into_static_buffers().next();
            self.static_memory = self.static_memory.take().or(returned);
        }
        self.upload = None;
        let config = self.profile.config(req.version);
        let mut store = Store::new(config.clone());
        let mut linker = Linker::new();
        define_spectest(&mut store, &mut linker).map_err(wire_error)?;
        self.session =
            Some(Session { config, store, linker, modules: Vec::new(), instances: Vec::new() });
        Ok(())
    }

    /// `tandem/module/begin`: announces an upload, checked against the budget now.
    pub fn module_begin(&mut self, req: ModuleBegin) -> UnitResult {
        self.session()?;
        if req.len > self.profile.max_module_bytes {
            return Err(WireError::Resource(format!(
                "module of {} bytes exceeds the board's budget of {} bytes",
                req.len, self.profile.max_module_bytes
            )));
        }
        let mut bytes = Vec::new();
        bytes.try_reserve_exact(req.len as usize).map_err(|_| {
            WireError::Resource(format!("no heap for a module of {} bytes", req.len))
        })?;
        self.upload = Some((req.len, bytes));
        Ok(())
    }

    /// `tandem/module/chunk`: chunks must arrive in order, without gaps.
    pub fn module_chunk(&mut self, req: ModuleChunk) -> UnitResult {
        let (len, bytes) = self
            .upload
            .as_mut()
            .ok_or_else(|| WireError::Request("chunk without module/begin".into()))?;
        if req.bytes.len() > MAX_CHUNK {
            return Err(WireError::Request(format!(
                "chunk of {} bytes exceeds {MAX_CHUNK}",
                req.bytes.len()
            )));
        }
        if req.offset as usize != bytes.len() {
            return Err(WireError::Request(format!(
                "chunk at offset {} but {} bytes received so far",
                req.offset,
                bytes.len()
            )));
        }
        if bytes.len() + req.bytes.len() > *len as usize {
            return Err(WireError::Request(format!("chunks exceed the announced {len} bytes")));
        }
        bytes.extend_from_slice(&req.bytes);
        Ok(())
    }

    /// `tandem/module/end`: decodes, validates and translates the upload.
    pub fn module_end(&mut self) -> ModuleResult {
        let (len, bytes) = self
            .upload
            .take()
            .ok_or_else(|| WireError::Request("module/end without module/begin".into()))?;
        if bytes.len() != len as usize {
            return Err(WireError::Request(format!(
                "upload ended after {} of {len} bytes",
                bytes.len()
            )));
        }
        self.load(&bytes)
    }

    /// Loads a whole module at once: what [`Self::module_end`] does with the upload.
    /// The simulator may call it directly; the budget still applies.
    pub fn load(&mut self, wasm: &[u8]) -> ModuleResult {
        if wasm.len() > self.profile.max_module_bytes as usize {
            return Err(WireError::Resource(format!(
                "module of {} bytes exceeds the board's budget of {} bytes",
                wasm.len(),
                self.profile.max_module_bytes
            )));
        }
        let session = self.session()?;
        let module = Module::new(&session.config, wasm).map_err(wire_error)?;
        session.modules.push(module);
        Ok(ModuleId(index_u32(session.modules.len() - 1)))
    }

    /// `tandem/instantiate`: links against `spectest` and registered instances.
    pub fn instantiate(&mut self, req: InstantiateRequest) -> InstantiateOutcome {
        let fuel = self.profile.fuel;
        let Some(session) = self.session.as_mut() else {
            return Outcome::Error(WireError::Request("no session: reset first".into()));
        };
        let Some(module) = session.modules.get(req.module.0 as usize) else {
            return Outcome::Error(WireError::Request(format!("no module #{}", req.module.0)));
        };
        if let Some(fuel) = fuel {
            session.store.set_fuel(fuel);
        }
        // The static buffer goes to the first module that defines its memory 0, and stays
        // with that store, whatever the instantiation's outcome, until the next reset.
        let options = match self.static_memory.take_if(|_| module.defined_memory(0).is_some()) {
            Some(buffer) => InstanceOptions::new().with_static_memory(0, buffer),
            None => InstanceOptions::new(),
        };
        match session.linker.instantiate_with(&mut session.store, module, options) {
            Ok(instance) => {
                session.instances.push(instance);
                Outcome::Ok(InstanceId(index_u32(session.instances.len() - 1)))
            }
            Err(Error::Trap(trap)) => Outcome::Trap(wire_trap(&trap)),
            Err(e) => Outcome::Error(wire_error(e)),
        }
    }

    /// `tandem/register`: makes an instance's exports importable as `name`.
    pub fn register(&mut self, req: RegisterRequest) -> UnitResult {
        let session = self.session()?;
        let instance = session.instance(req.instance)?;
        session.linker.define_instance(&session.store, &req.name, instance);
        Ok(())
    }

    /// `tandem/invoke`: calls an exported function.
    pub fn invoke(&mut self, req: InvokeRequest) -> InvokeOutcome {
        match self.try_invoke(&req) {
            Ok(outcome) => outcome,
            Err(e) => Outcome::Error(e),
        }
    }

    fn try_invoke(&mut self, req: &InvokeRequest) -> Result<InvokeOutcome, WireError> {
        let fuel = self.profile.fuel;
        let session = self.session()?;
        let instance = session.instance(req.instance)?;
        let func = instance.func(&session.store, &req.export).map_err(wire_error)?;
        let args = req.args.iter().map(|&a| to_core(a)).collect::<Result<Vec<_>, _>>()?;
        let mut results: Vec<Value> = session
            .store
            .func_type(func)
            .results()
            .iter()
            .map(|&t| Value::default_for(t))
            .collect();
        if let Some(fuel) = fuel {
            session.store.set_fuel(fuel);
        }
        Ok(match session.store.call(func, &args, &mut results) {
            Ok(()) => Outcome::Ok(results.into_iter().map(from_core).collect()),
            Err(Error::Trap(trap)) => Outcome::Trap(wire_trap(&trap)),
            Err(e) => Outcome::Error(wire_error(e)),
        })
    }

    /// `tandem/global`: reads an exported global.
    pub fn get_global(&mut self, req: GetGlobalRequest) -> GlobalResult {
        let session = self.session()?;
        let instance = session.instance(req.instance)?;
        let global = instance.global(&session.store, &req.export).map_err(wire_error)?;
        Ok(from_core(session.store.global_get(global)))
    }

    /// `tandem/memory/digest`: FNV-1a 64 of a memory range, so contents can be
    /// compared across targets without shipping them.
    pub fn memory_digest(&mut self, req: MemoryDigestRequest) -> DigestResult {
        let session = self.session()?;
        let instance = session.instance(req.instance)?;
        let memory = match &req.export {
            Some(name) => instance.memory(&session.store, name).map_err(wire_error)?,
            None => instance
                .exports(&session.store)
                .find_map(|(_, ext)| match ext {
                    Extern::Memory(m) => Some(m),
                    _ => None,
                })
                .ok_or_else(|| WireError::Request("instance exports no memory".into()))?,
        };
        let data = session.store.memory_data(memory);
        let start = req.offset as usize;
        let end =
            start.checked_add(req.len as usize).filter(|&e| e <= data.len()).ok_or_else(|| {
                WireError::Request(format!(
                    "range {}+{} outside a memory of {} bytes",
                    req.offset,
                    req.len,
                    data.len()
                ))
            })?;
        Ok(MemoryDigest { fnv1a64: fnv1a64(&data[start..end]), len: req.len })
    }

    /// `tandem/stats`: pointer-width-independent figures; the target-dependent
    /// ones are left `None` for the caller to fill in.
    pub fn stats(&self) -> StatsResponse {
        let mut resp = StatsResponse {
            memories: Vec::new(),
            peak_stack_slots: 0,
            peak_call_depth: 0,
            fuel_consumed: 0,
            grow_refusals: 0,
            target: TargetStats::default(),
        };
        if let Some(session) = &self.session {
            let stats = session.store.stats();
            resp.peak_stack_slots = stats.peak_stack_slots;
            resp.peak_call_depth = stats.peak_call_depth;
            resp.fuel_consumed = stats.fuel_consumed;
            resp.grow_refusals = stats.grow_refusals;
            for instance in &session.instances {
                for m in instance.memory_stats(&session.store) {
                    resp.memories.push(MemoryStat {
                        kind: match m.kind {
                            CoreMemoryKind::Heap => MemoryKind::Heap,
                            CoreMemoryKind::Static => MemoryKind::Static,
                        },
                        pages: m.pages,
                        size_bytes: m.size_bytes,
                    });
                }
            }
        }
        resp
    }

    fn session(&mut self) -> Result<&mut Session, WireError> {
        self.session.as_mut().ok_or_else(|| WireError::Request("no session: reset first".into()))
    }
}

impl Session {
    fn instance(&self, id: InstanceId) -> Result<Instance, WireError> {
        self.instances
            .get(id.0 as usize)
            .copied()
            .ok_or_else(|| WireError::Request(format!("no instance #{}", id.0)))
    }
}

/// Handles are list indices; lists never outgrow `u32` on any target we run.
fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn wire_trap(trap: &CoreTrap) -> Trap {
    let kind = match trap.kind() {
        CoreTrapKind::Unreachable => TrapKind::Unreachable,
        CoreTrapKind::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
        CoreTrapKind::TableOutOfBounds => TrapKind::TableOutOfBounds,
        CoreTrapKind::UndefinedElement => TrapKind::UndefinedElement,
        CoreTrapKind::UninitializedElement => TrapKind::UninitializedElement,
        CoreTrapKind::IndirectCallTypeMismatch => TrapKind::IndirectCallTypeMismatch,
        CoreTrapKind::IntegerDivideByZero => TrapKind::IntegerDivideByZero,
        CoreTrapKind::IntegerOverflow => TrapKind::IntegerOverflow,
        CoreTrapKind::InvalidConversionToInteger => TrapKind::InvalidConversionToInteger,
        CoreTrapKind::StackExhausted => TrapKind::StackExhausted,
        CoreTrapKind::OutOfFuel => TrapKind::OutOfFuel,
        CoreTrapKind::Host => TrapKind::Host,
    };
    Trap { kind, message: trap.message().to_string() }
}

/// Sorts a core error into the wire's categories (traps are handled by callers).
fn wire_error(error: Error) -> WireError {
    let message = error.to_string();
    match error {
        Error::Malformed { .. } => WireError::Malformed(message),
        Error::Invalid { .. } | Error::Translate { .. } => WireError::Invalid(message),
        Error::Unsupported { .. } | Error::Limit { .. } => WireError::Unsupported(message),
        Error::UnknownImport { .. } | Error::IncompatibleImport { .. } => WireError::Link(message),
        Error::StaticBufferTooSmall { .. }
        | Error::NoSuchMemory { .. }
        | Error::OutOfMemory { .. }
        | Error::MemoryBudget { .. } => WireError::Resource(message),
        Error::Trap(_) => WireError::Request(format!("unexpected {message}")),
        _ => WireError::Request(message),
    }
}

fn to_core(val: WireVal) -> Result<Value, WireError> {
    Ok(match val {
        WireVal::I32(v) => Value::I32(v),
        WireVal::I64(v) => Value::I64(v),
        WireVal::F32(bits) => Value::F32(bits),
        WireVal::F64(bits) => Value::F64(bits),
        WireVal::FuncRef(None) => Value::FuncRef(None),
        WireVal::FuncRef(Some(_)) => {
            return Err(WireError::Request("non-null funcref arguments are not supported".into()));
        }
        WireVal::ExternRef(r) => Value::ExternRef(r),
    })
}

fn from_core(value: Value) -> WireVal {
    match value {
        Value::I32(v) => WireVal::I32(v),
        Value::I64(v) => WireVal::I64(v),
        Value::F32(bits) => WireVal::F32(bits),
        Value::F64(bits) => WireVal::F64(bits),
        Value::FuncRef(r) => WireVal::FuncRef(r.map(|f| f.addr())),
        Value::ExternRef(r) => WireVal::ExternRef(r),
    }
}

/// Defines the `spectest` module the spec tests import.
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

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::vec;

    fn handler(profile: BoardProfile) -> RequestHandler {
        let mut h = RequestHandler::new(profile, "test");
        h.reset(ResetRequest { version: WasmVersion::V2 }).expect("reset");
        h
    }

    /// Uploads `wat` in chunks of `chunk` bytes, as a board receives it.
    fn upload(h: &mut RequestHandler, wat: &str, chunk: usize) -> ModuleResult {
        let wasm = wat::parse_str(wat).expect("wat");
        h.module_begin(ModuleBegin { len: wasm.len() as u32 })?;
        for (i, part) in wasm.chunks(chunk).enumerate() {
            h.module_chunk(ModuleChunk { offset: (i * chunk) as u32, bytes: part.to_vec() })?;
        }
        h.module_end()
    }

    const ADD: &str = r#"(module
        (import "spectest" "global_i32" (global i32))
        (memory (export "mem") 1)
        (data (i32.const 0) "hello")
        (global (export "g") i64 (i64.const 7))
        (func (export "add") (param i32 i32) (result i32)
            local.get 0 local.get 1 i32.add global.get 0 i32.add)
        (func (export "boom") unreachable)
        (func (export "loop") (loop br 0)))"#;

    fn instance(h: &mut RequestHandler, module: ModuleId) -> InstanceId {
        match h.instantiate(InstantiateRequest { module }) {
            Outcome::Ok(id) => id,
            other => panic!("instantiate: {other:?}"),
        }
    }

    #[test]
    fn chunked_upload_invoke_global_digest() {
        let mut h = handler(BoardProfile::desktop());
        let m = upload(&mut h, ADD, 7).expect("upload");
        let i = instance(&mut h, m);
        let out = h.invoke(InvokeRequest {
            instance: i,
            export: "add".into(),
            args: vec![WireVal::I32(1), WireVal::I32(2)],
        });
        assert_eq!(out, Outcome::Ok(vec![WireVal::I32(669)]));
        let out = h.invoke(InvokeRequest { instance: i, export: "boom".into(), args: vec![] });
        assert!(matches!(out, Outcome::Trap(Trap { kind: TrapKind::Unreachable, .. })));
        let g = h.get_global(GetGlobalRequest { instance: i, export: "g".into() });
        assert_eq!(g, Ok(WireVal::I64(7)));
        let d =
            h.memory_digest(MemoryDigestRequest { instance: i, export: None, offset: 0, len: 5 });
        assert_eq!(d, Ok(MemoryDigest { fnv1a64: fnv1a64(b"hello"), len: 5 }));
        let bad = h.memory_digest(MemoryDigestRequest {
            instance: i,
            export: Some("mem".into()),
            offset: 65535,
            len: 2,
        });
        assert!(matches!(bad, Err(WireError::Request(_))));
        let stats = h.stats();
        assert_eq!(stats.memories.len(), 1);
        assert_eq!(stats.memories[0].pages, 1);
        assert!(stats.peak_call_depth >= 1);
    }

    #[test]
    fn module_over_budget_names_both_sizes() {
        let profile = BoardProfile { max_module_bytes: 10, ..BoardProfile::desktop() };
        let mut h = handler(profile);
        let err = h.module_begin(ModuleBegin { len: 11 }).expect_err("too big");
        let WireError::Resource(msg) = err else { panic!("{err:?}") };
        assert!(msg.contains("11") && msg.contains("10"), "{msg}");
        assert!(matches!(h.load(&[0; 11]), Err(WireError::Resource(_))));
    }

    #[test]
    fn upload_order_is_checked() {
        let mut h = handler(BoardProfile::desktop());
        assert!(matches!(h.module_end(), Err(WireError::Request(_))));
        h.module_begin(ModuleBegin { len: 4 }).expect("begin");
        let gap = h.module_chunk(ModuleChunk { offset: 1, bytes: vec![0] });
        assert!(matches!(gap, Err(WireError::Request(_))));
        let over = h.module_chunk(ModuleChunk { offset: 0, bytes: vec![0; 5] });
        assert!(matches!(over, Err(WireError::Request(_))));
        let big = h.module_chunk(ModuleChunk { offset: 0, bytes: vec![0; MAX_CHUNK + 1] });
        assert!(matches!(big, Err(WireError::Request(_))));
        h.module_chunk(ModuleChunk { offset: 0, bytes: vec![0, 0x61, 0x73, 0x6d] }).expect("ok");
        assert!(matches!(h.module_end(), Err(WireError::Malformed(_))));
    }

    #[test]
    fn fuel_and_depth_limits_trap_alike() {
        let profile = BoardProfile { fuel: Some(1000), ..BoardProfile::desktop() };
        let mut h = handler(profile);
        let m = upload(&mut h, ADD, 512).expect("upload");
        let i = instance(&mut h, m);
        let out = h.invoke(InvokeRequest { instance: i, export: "loop".into(), args: vec![] });
        assert!(matches!(out, Outcome::Trap(Trap { kind: TrapKind::OutOfFuel, .. })));
        assert!(h.stats().fuel_consumed >= 1000);

        let profile = BoardProfile { max_call_depth: 50, ..BoardProfile::desktop() };
        let mut h = handler(profile);
        let m = upload(&mut h, "(module (func (export \"r\") call 0))", 512).expect("upload");
        let i = instance(&mut h, m);
        let out = h.invoke(InvokeRequest { instance: i, export: "r".into(), args: vec![] });
        assert!(matches!(out, Outcome::Trap(Trap { kind: TrapKind::StackExhausted, .. })));
    }

    #[test]
    fn requests_before_reset_and_bad_handles_are_refused() {
        let mut h = RequestHandler::new(BoardProfile::desktop(), "test");
        assert!(matches!(h.module_begin(ModuleBegin { len: 1 }), Err(WireError::Request(_))));
        h.reset(ResetRequest { version: WasmVersion::V1 }).expect("reset");
        let out = h.instantiate(InstantiateRequest { module: ModuleId(9) });
        assert!(matches!(out, Outcome::Error(WireError::Request(_))));
        let reg = h.register(RegisterRequest { instance: InstanceId(0), name: "x".into() });
        assert!(matches!(reg, Err(WireError::Request(_))));
        assert_eq!(h.info().protocol_version, PROTOCOL_VERSION);
    }

    #[test]
    fn static_buffer_backs_first_defined_memory_after_each_reset() {
        let buffer: &'static mut [u8] = alloc::boxed::Box::leak(vec![0u8; 2 * 65536].into());
        let mut h = RequestHandler::with_static_memory(BoardProfile::desktop(), "test", buffer);
        h.reset(ResetRequest { version: WasmVersion::V2 }).expect("reset");
        assert_eq!(h.info().limits.static_memory_bytes, Some(2 * 65536));
        let no_mem = upload(&mut h, "(module)", 512).expect("upload");
        instance(&mut h, no_mem);
        for round in 0..2 {
            let m = upload(&mut h, ADD, 512).expect("upload");
            let a = instance(&mut h, m);
            let b = instance(&mut h, m);
            let kinds: Vec<_> = h.stats().memories.iter().map(|s| s.kind).collect();
            assert_eq!(kinds, [MemoryKind::Static, MemoryKind::Heap], "round {round}");
            for i in [a, b] {
                let d = h.memory_digest(MemoryDigestRequest {
                    instance: i,
                    export: None,
                    offset: 0,
                    len: 5,
                });
                assert_eq!(d.map(|d| d.fnv1a64), Ok(fnv1a64(b"hello")));
            }
            h.reset(ResetRequest { version: WasmVersion::V2 }).expect("reset");
        }
    }

    #[test]
    fn heap_memory_budget_refuses_grow_and_instantiation_alike() {
        // 2 pages: spectest's memory holds one of them.
        let profile =
            BoardProfile { heap_memory_bytes: Some(2 * 65536), ..BoardProfile::desktop() };
        let mut h = handler(profile);
        let grower = r#"(module (memory 0)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
        let m = upload(&mut h, grower, 512).expect("upload");
        let i = instance(&mut h, m);
        let grow = |h: &mut RequestHandler, n: i32| {
            h.invoke(InvokeRequest {
                instance: i,
                export: "grow".into(),
                args: vec![WireVal::I32(n)],
            })
        };
        assert_eq!(grow(&mut h, 2), Outcome::Ok(vec![WireVal::I32(-1)]));
        assert_eq!(h.stats().grow_refusals, 1);
        assert_eq!(grow(&mut h, 1), Outcome::Ok(vec![WireVal::I32(0)]));
        assert_eq!(grow(&mut h, 1), Outcome::Ok(vec![WireVal::I32(-1)]));
        assert_eq!(h.stats().grow_refusals, 2);

        let big = upload(&mut h, "(module (memory 3))", 512).expect("upload");
        let out = h.instantiate(InstantiateRequest { module: big });
        let Outcome::Error(WireError::Resource(msg)) = out else { panic!("{out:?}") };
        assert!(msg.contains("196608") && msg.contains("131072"), "{msg}");
    }

    #[test]
    fn register_links_exports() {
        let mut h = handler(BoardProfile::desktop());
        let m = upload(&mut h, ADD, 64).expect("upload");
        let i = instance(&mut h, m);
        h.register(RegisterRequest { instance: i, name: "lib".into() }).expect("register");
        let user = r#"(module (import "lib" "add" (func $a (param i32 i32) (result i32)))
            (func (export "f") (result i32) i32.const 1 i32.const 1 call $a))"#;
        let m2 = upload(&mut h, user, 512).expect("upload");
        let j = instance(&mut h, m2);
        let out = h.invoke(InvokeRequest { instance: j, export: "f".into(), args: vec![] });
        assert_eq!(out, Outcome::Ok(vec![WireVal::I32(668)]));
        let missing = upload(&mut h, r#"(module (import "nope" "f" (func)))"#, 512).expect("up");
        let out = h.instantiate(InstantiateRequest { module: missing });
        assert!(matches!(out, Outcome::Error(WireError::Link(_))));
    }
}
