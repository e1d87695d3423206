//! The one request handler the simulator and the firmware both run.
//!
//! [`RequestHandler`] owns a `tandem-interp` store, its linker with the `spectest` host
//! module, the uploaded modules and the instances. Each method answers one
//! `tandem-protocol` endpoint in the protocol's own types: pure logic, no I/O, no async, so
//! a postcard-rpc server on a board and the in-process simulator share every decision,
//! including where the board's limits bite (a [`BoardProfile`]). The methods take borrowed
//! arguments, so the in-process simulator calls them without building a request; the
//! server's endpoints pass a decoded request's fields. Values, traps and errors cross
//! between the core's types and the protocol's in [`convert`], and nowhere else.
//!
//! Static memory rule: a board may hand over a `&'static mut [u8]` for each memory index up
//! to [`MAX_STATIC_MEMORIES`] ([`RequestHandler::with_static_memory_at`]). After each reset
//! buffer `i` backs memory `i` of the first instantiated module that defines its memory `i`
//! (modules importing or lacking one get heap memory and do not use it up). Once used it
//! stays with that store until the next reset, which ends the store and takes the buffers
//! back from it (`Store::into_static_buffers`), each to its index.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod convert;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::AtomicBool;

use tandem_hostmods::{HostModule, Printed, Spectest, TandemTest, Wasi, WasiContext};
#[cfg(feature = "wasm")]
use tandem_interp::PartialModule;
use tandem_interp::{
    Config, Error, Extern, Features, Func, Instance, InstanceOptions, Linker, Module, Progress,
    Store, Task, Value,
};
use tandem_protocol::Features as WireFeatures;
use tandem_protocol::{
    BoardLimits, HeapStats, InfoResponse, InstanceId, InvokeRequest, MAX_CHUNK, MAX_OUTPUT_CHUNKS,
    MAX_OUTPUT_PER_CALL, MemoryDigest, ModuleFormat, ModuleId, Outcome, OutputChunk,
    PROTOCOL_VERSION, Progress as WireProgress, Ran, Refusal, StatsResponse, TargetStats, TaskId,
    TaskOutcome, Val, WasiSetup, fnv1a64,
};

pub use tandem_boards::{BoardProfile, Limits, MAX_STATIC_MEMORIES};
pub use tandem_hostmods::{OutputSink, Stream};

/// The simulator's profile without a board: the core's default limits, no fuel, modules up
/// to 16 MiB, tables up to 10 M elements (80 MB), the host's memory.
pub fn desktop_profile() -> BoardProfile {
    BoardProfile::desktop(Limits {
        value_stack_slots: Config::DEFAULT_VALUE_STACK,
        max_call_depth: Config::DEFAULT_CALL_DEPTH,
        fuel: None,
        max_module_bytes: 16 << 20,
        max_table_elements: Some(10_000_000),
        max_modules: None,
        max_instances: None,
    })
}

/// A store's worth of state: everything between two resets.
struct Session {
    store: Store,
    linker: Linker,
    modules: Vec<Module>,
    instances: Vec<Instance>,
    /// The tasks made, by `TaskId`.
    tasks: Vec<Task>,
    /// The host modules linked, by name, for messages about imports nothing provides.
    hosts: Vec<&'static str>,
}

/// A session as a reset asks for it: the features and the host modules (bits of the
/// handler's host-module list). Holds no heap.
#[derive(Debug, Clone, Copy)]
pub struct SessionPlan {
    features: Features,
    hosts: u32,
}

/// Answers the `tandem-protocol` endpoints against a `tandem-interp` store.
pub struct RequestHandler {
    profile: BoardProfile,
    firmware_version: String,
    session: Option<Session>,
    /// The module being uploaded (its charges are in the session's store).
    upload: Option<Upload>,
    /// The board's static buffers, one per memory index, while no store holds them.
    static_buffers: StaticBuffers,
    /// Raised by the platform to stop a running call (a deadline, a watchdog).
    interrupt: Option<&'static AtomicBool>,
    /// The host modules a reset may link, by name.
    host_modules: &'static [&'static dyn HostModule],
    /// Where calls' output goes while they run, if anywhere (the link).
    output_sink: Option<OutputSink>,
}

/// `wasm` validated and translated into an image ([`ModuleFormat::Image`]) for sessions
/// accepting `features` that meter fuel or not: what the host does for a target that reads
/// images. A module the core would not load is refused as its upload would be; a session
/// of other features or fuel refuses the image, naming which.
#[cfg(feature = "wasm")]
pub fn compile_image(features: WireFeatures, fuel: bool, wasm: &[u8]) -> Result<Vec<u8>, Refusal> {
    let config = Config::new().with_features(convert::features_in(features)?).with_fuel(fuel);
    let module = Module::new(&config, wasm).map_err(convert::refusal)?;
    module.to_image(&config).map_err(convert::refusal)
}

/// A module on its way in.
// One at a time, held in the handler: boxing the decoder's state would cost an allocation
// per upload for nothing.
#[allow(clippy::large_enum_variant)]
enum Upload {
    /// A WebAssembly binary, decoded as its chunks arrive.
    #[cfg(feature = "wasm")]
    Wasm(PartialModule),
    /// An image, held whole (charged to the store) until it is read.
    Image { bytes: Vec<u8>, len: usize },
}

impl Upload {
    fn received(&self) -> usize {
        match self {
            #[cfg(feature = "wasm")]
            Upload::Wasm(module) => module.received(),
            Upload::Image { bytes, .. } => bytes.len(),
        }
    }

    fn len(&self) -> usize {
        match self {
            #[cfg(feature = "wasm")]
            Upload::Wasm(module) => module.len(),
            Upload::Image { len, .. } => *len,
        }
    }

    /// Gives back what the upload holds to `store`'s heap account.
    fn discard(self, store: &mut Store) {
        match self {
            #[cfg(feature = "wasm")]
            Upload::Wasm(module) => store.discard_module(module),
            Upload::Image { len, .. } => store.release_heap(len as u64),
        }
    }
}

/// What an image upload's buffer is charged as.
const IMAGE_UPLOAD: &str = "holding an image as it arrives";

/// The host modules this build links where a reset asks for them: the built-in ones, then
/// each user module whose cargo feature is on. A user's module is added here, behind a
/// feature that the host (`tandem`) and the firmware (`target-fw`) forward under the same
/// name, so the simulator and the board link the same code (docs/ARCHITECTURE.md, "Host
/// modules").
pub const HOST_MODULES: &[&dyn HostModule] = &[
    &Spectest,
    &TandemTest,
    &Wasi,
    #[cfg(feature = "example-gpio-timer")]
    &tandem_example_gpio_timer::Gpio,
    #[cfg(feature = "example-gpio-timer")]
    &tandem_example_gpio_timer::Timer,
];

impl RequestHandler {
    /// A handler applying `profile`, with no session yet: the first request must be a
    /// reset. `firmware_version` is what `tandem/info` reports.
    pub fn new(profile: BoardProfile, firmware_version: &str) -> Self {
        RequestHandler {
            profile,
            firmware_version: firmware_version.into(),
            session: None,
            upload: None,
            static_buffers: StaticBuffers::default(),
            interrupt: None,
            host_modules: HOST_MODULES,
            output_sink: None,
        }
    }

    /// The handler linking `modules` (by default [`HOST_MODULES`]) where a reset asks for
    /// them.
    pub fn with_host_modules(mut self, modules: &'static [&'static dyn HostModule]) -> Self {
        self.host_modules = modules;
        self
    }

    /// The handler with `buffer` as the board's static buffer for memory 0: after each
    /// reset it holds the first module-defined memory 0 (see the crate docs for the rule).
    pub fn with_static_memory(self, buffer: &'static mut [u8]) -> Self {
        self.with_static_memory_at(0, buffer)
    }

    /// The handler with `buffer` as the board's static buffer for memory `index` (below
    /// [`MAX_STATIC_MEMORIES`]; another index is ignored): after each reset it holds the
    /// first module-defined memory `index`.
    pub fn with_static_memory_at(mut self, index: usize, buffer: &'static mut [u8]) -> Self {
        self.static_buffers.give(index, buffer);
        self
    }

    /// Makes the calls of every session from the next reset on stoppable: raising `flag`
    /// stops a running call with a `TrapKind::Interrupted` trap. Calls are then metered
    /// (with the profile's fuel, or without a practical limit where it has none), since
    /// the core looks at the flag where it charges fuel.
    pub fn set_interrupt_flag(&mut self, flag: &'static AtomicBool) {
        self.interrupt = Some(flag);
    }

    /// Makes the calls of every session from the next reset on send their output to `sink`
    /// in numbered chunks while they run (a board's link), instead of gathering it all for
    /// the reply.
    pub fn with_output_sink(mut self, sink: OutputSink) -> Self {
        self.output_sink = Some(sink);
        self
    }

    /// The profile whose limits this handler applies.
    pub fn profile(&self) -> &BoardProfile {
        &self.profile
    }

    /// `tandem/info`.
    pub fn info(&self) -> InfoResponse {
        let limits = &self.profile.limits;
        InfoResponse {
            firmware_version: self.firmware_version.clone(),
            protocol_version: PROTOCOL_VERSION,
            board: String::from(&*self.profile.name),
            limits: BoardLimits {
                value_stack_slots: limits.value_stack_slots,
                max_call_depth: limits.max_call_depth,
                fuel: limits.fuel,
                max_module_bytes: limits.max_module_bytes,
                static_memory_bytes: self.static_buffers.bytes[0],
                heap_memory_bytes: self.profile.heap_memory_bytes(),
                max_table_elements: limits.max_table_elements,
                max_modules: limits.max_modules,
                max_instances: limits.max_instances,
            },
            validates: cfg!(feature = "validate"),
            reads_wasm: cfg!(feature = "wasm"),
            meters_fuel: self.meters_fuel(),
            schema_fingerprint: tandem_protocol::schema_fingerprint(),
        }
    }

    /// The config of a session accepting `features`: the board's limits, and fuel where the
    /// profile meters it.
    fn config(&self, features: Features) -> Config {
        let limits = &self.profile.limits;
        Config::new()
            .with_features(features)
            .with_limits(limits.value_stack_slots, limits.max_call_depth)
            .with_fuel(self.meters_fuel())
            .with_heap_memory_budget(self.profile.heap_memory_bytes())
            .with_heap_limit(self.profile.store_heap_bytes())
            .with_table_elements_limit(limits.max_table_elements)
            .with_instances_limit(limits.max_instances)
    }

    /// `tandem/reset`: drops everything and starts a fresh store accepting `features`, with
    /// the host modules named in `hosts` defined (a name this handler has no module for is
    /// refused, naming the ones it has, and leaves no session; so is an unknown feature).
    pub fn reset<S: AsRef<str>>(
        &mut self,
        features: WireFeatures,
        hosts: &[S],
    ) -> Result<(), Refusal> {
        let plan = self.plan_session(features, hosts);
        self.start_session(plan?)
    }

    /// The session a reset asks for, resolved without allocating, so the request that
    /// named it can be freed before the new session allocates (see
    /// [`RequestHandler::start_session`]). An unknown host module ends the session now.
    pub fn plan_session<S: AsRef<str>>(
        &mut self,
        features: WireFeatures,
        hosts: &[S],
    ) -> Result<SessionPlan, Refusal> {
        let features = convert::features_in(features).inspect_err(|_| self.end_session())?;
        let mut plan = SessionPlan { features, hosts: 0 };
        for name in hosts {
            let name = name.as_ref();
            match tandem_hostmods::position(self.host_modules, name) {
                Some(i) if i < 32 => plan.hosts |= 1 << i,
                _ => {
                    self.end_session();
                    let known: Vec<&str> = self.host_modules.iter().map(|m| m.name()).collect();
                    return Err(Refusal::Link(format!(
                        "no host module `{name}` on this target (it has: {})",
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(plan)
    }

    /// Ends the session, if any: its store, modules and instances are freed, and the static
    /// buffer comes back.
    fn end_session(&mut self) {
        if let Some(old) = self.session.take() {
            for buffer in old.store.into_static_buffers() {
                self.static_buffers.put_back(buffer);
            }
        }
        self.upload = None;
    }

    /// Ends the session and starts the one `plan` describes. The old session is freed
    /// before the new one allocates anything, so on a board whose arena then holds only
    /// what the firmware allocated at boot, every session starts from the same heap, and
    /// where a large block fits does not depend on the sessions before.
    pub fn start_session(&mut self, plan: SessionPlan) -> Result<(), Refusal> {
        self.end_session();
        let mut store = Store::try_new(self.config(plan.features)).map_err(convert::refusal)?;
        if let Some(flag) = self.interrupt {
            store.set_interrupt_flag(flag);
        }
        let mut printed = Printed::with_limit(MAX_OUTPUT_PER_CALL as usize);
        if let Some(sink) = self.output_sink {
            printed = printed.streaming_to(sink, MAX_OUTPUT_CHUNKS);
        }
        store.set_host_data(printed).map_err(convert::refusal)?;
        let mut linker = Linker::new();
        let mut linked = Vec::new();
        for (i, module) in self.host_modules.iter().enumerate() {
            if plan.hosts & (1 << i) != 0 {
                module.define(&mut store, &mut linker).map_err(convert::refusal)?;
                linked.push(module.name());
            }
        }
        self.session = Some(Session {
            store,
            linker,
            modules: Vec::new(),
            instances: Vec::new(),
            tasks: Vec::new(),
            hosts: linked,
        });
        Ok(())
    }

    /// `tandem/module/begin`: announces an upload of `len` bytes in `format`, checked
    /// against the budget now. A WebAssembly module is decoded as its chunks arrive, so the
    /// board never holds the whole binary, only the one section or function body not yet
    /// complete; an image is held whole, its buffer charged to the store now, and read at
    /// the end.
    pub fn module_begin(&mut self, len: u32, format: ModuleFormat) -> Result<(), Refusal> {
        self.check_room_for_module()?;
        self.check_module_size(u64::from(len))?;
        let session = self.session.as_mut().ok_or_else(no_session)?;
        // An upload begun again replaces the unfinished one.
        if let Some(old) = self.upload.take() {
            old.discard(&mut session.store);
        }
        self.upload = Some(match format {
            #[cfg(feature = "wasm")]
            ModuleFormat::Wasm => Upload::Wasm(session.store.begin_module(len as usize)),
            #[cfg(not(feature = "wasm"))]
            ModuleFormat::Wasm => {
                return Err(Refusal::Request(
                    "this target reads images only, not WebAssembly binaries \
                     (the host compiles modules to images for it)"
                        .into(),
                ));
            }
            ModuleFormat::Image => {
                session
                    .store
                    .charge_heap(u64::from(len), IMAGE_UPLOAD)
                    .map_err(convert::refusal)?;
                let mut bytes = Vec::new();
                if bytes.try_reserve_exact(len as usize).is_err() {
                    session.store.release_heap(u64::from(len));
                    return Err(Refusal::Resource(format!("no heap for an image of {len} bytes")));
                }
                Upload::Image { bytes, len: len as usize }
            }
        });
        Ok(())
    }

    /// `tandem/module/chunk`: the upload's bytes from `offset`; chunks must arrive in
    /// order, without gaps. A chunk that completes a malformed, invalid or too large part
    /// of the module ends the upload with the refusal.
    pub fn module_chunk(&mut self, offset: u32, chunk: &[u8]) -> Result<(), Refusal> {
        let upload = self
            .upload
            .as_mut()
            .ok_or_else(|| Refusal::Request("chunk without module/begin".into()))?;
        if chunk.len() > MAX_CHUNK {
            return Err(Refusal::Request(format!(
                "chunk of {} bytes exceeds {MAX_CHUNK}",
                chunk.len()
            )));
        }
        if offset as usize != upload.received() {
            return Err(Refusal::Request(format!(
                "chunk at offset {offset} but {} bytes received so far",
                upload.received()
            )));
        }
        if upload.received() + chunk.len() > upload.len() {
            return Err(Refusal::Request(format!(
                "chunks exceed the announced {} bytes",
                upload.len()
            )));
        }
        match upload {
            #[cfg(feature = "wasm")]
            Upload::Wasm(module) => {
                let session = self.session.as_mut().ok_or_else(no_session)?;
                if let Err(e) = session.store.feed_module(module, chunk) {
                    self.upload = None;
                    return Err(convert::refusal(e));
                }
            }
            // Room for the whole image was reserved at the upload's start.
            Upload::Image { bytes, .. } => bytes.extend_from_slice(chunk),
        }
        Ok(())
    }

    /// `tandem/module/end`: decodes what is left of the upload and keeps the module.
    pub fn module_end(&mut self) -> Result<ModuleId, Refusal> {
        let upload = self
            .upload
            .take()
            .ok_or_else(|| Refusal::Request("module/end without module/begin".into()))?;
        if upload.received() != upload.len() {
            let refusal = Refusal::Request(format!(
                "upload ended after {} of {} bytes",
                upload.received(),
                upload.len()
            ));
            upload.discard(&mut self.session()?.store);
            return Err(refusal);
        }
        let session = self.session()?;
        let module = match upload {
            #[cfg(feature = "wasm")]
            Upload::Wasm(module) => session.store.end_module(module),
            Upload::Image { bytes, len } => {
                let module = session.store.load_image(&bytes);
                drop(bytes);
                session.store.release_heap(len as u64);
                module
            }
        }
        .map_err(convert::refusal)?;
        session.modules.try_reserve(1).map_err(|_| {
            Refusal::Resource(format!("no heap to keep module #{}", session.modules.len()))
        })?;
        session.modules.push(module);
        Ok(ModuleId(convert::index(session.modules.len() - 1)))
    }

    /// Loads a whole module at once, as a board does an upload: in chunks of
    /// [`MAX_CHUNK`], so the simulator's heap account holds what the board's does. The
    /// simulator calls it directly; the budget still applies.
    pub fn load(&mut self, bytes: &[u8], format: ModuleFormat) -> Result<ModuleId, Refusal> {
        let len = u32::try_from(bytes.len()).map_err(|_| {
            Refusal::Resource(format!("a module of {} bytes is over 4 GiB", bytes.len()))
        })?;
        self.module_begin(len, format)?;
        for (i, chunk) in bytes.chunks(MAX_CHUNK).enumerate() {
            self.module_chunk((i * MAX_CHUNK) as u32, chunk)?;
        }
        self.module_end()
    }

    /// `tandem/instantiate`: links a loaded module against `spectest` and the registered
    /// instances and runs its start function.
    pub fn instantiate(&mut self, module: ModuleId) -> Ran<InstanceId> {
        let fuel = self.fuel();
        let Some(session) = self.session.as_mut() else {
            return Outcome::Refused(no_session()).into();
        };
        let Some(module) = session.modules.get(module.0 as usize) else {
            return Outcome::Refused(Refusal::Request(format!("no module #{}", module.0))).into();
        };
        begin_call(&mut session.store, fuel);
        // Static buffer `i` goes to the first module that defines its memory `i`, and stays
        // with that store until the next reset if a memory was made in it (an instance that
        // failed may still be reachable through a table it wrote to); a buffer left unused
        // (the module was refused before its memory was made) is offered to the next module.
        let mut options = InstanceOptions::new();
        for (index, held) in self.static_buffers.held.iter_mut().enumerate() {
            if let Some(buffer) = held.take_if(|_| module.defined_memory(index as u32).is_some()) {
                options = options.with_static_memory(index as u32, buffer);
            }
        }
        let outcome = match session.linker.instantiate_with(&mut session.store, module, options) {
            Ok(instance) => {
                session.instances.push(instance);
                Outcome::Ok(InstanceId(convert::index(session.instances.len() - 1)))
            }
            Err(Error::Trap(trap)) => Outcome::Trap(convert::trap(&trap)),
            Err(e @ Error::UnknownImport { .. }) => {
                let hosts = session.hosts.join(", ");
                Outcome::Refused(Refusal::Link(format!("{e} (host modules in use: {hosts})")))
            }
            Err(e) => Outcome::Refused(convert::refusal(e)),
        };
        while let Some(buffer) = session.store.take_idle_static_buffer() {
            self.static_buffers.put_back(buffer);
        }
        session.reply(outcome)
    }

    /// `tandem/wasi`: the arguments, environment and stdin the session's WASI programs see.
    pub fn set_wasi(&mut self, setup: WasiSetup) -> Result<(), Refusal> {
        let session = self.session()?;
        setup.check()?;
        let WasiSetup { args, env, stdin } = setup;
        let context = WasiContext { args, env, stdin, ..WasiContext::default() };
        session.store.set_host_data(context).map_err(convert::refusal)?;
        Ok(())
    }

    /// `tandem/register`: makes an instance's exports importable as `name`.
    pub fn register(&mut self, instance: InstanceId, name: &str) -> Result<(), Refusal> {
        let session = self.session()?;
        let instance = session.instance(instance)?;
        session.linker.define_instance(&session.store, name, instance);
        Ok(())
    }

    /// `tandem/invoke`: calls the exported function `export` with `args`.
    pub fn invoke(&mut self, instance: InstanceId, export: &str, args: &[Val]) -> Ran<Vec<Val>> {
        let fuel = self.fuel();
        let session = match self.session() {
            Ok(session) => session,
            Err(refusal) => return Outcome::from(refusal).into(),
        };
        let (func, args, mut results) = match session.call(instance, export, args) {
            Ok(call) => call,
            Err(refusal) => return Outcome::from(refusal).into(),
        };
        begin_call(&mut session.store, fuel);
        let outcome = match session.store.call(func, &args, &mut results) {
            Ok(()) => Outcome::Ok(results.into_iter().map(convert::value_out).collect()),
            Err(e) => failed(e),
        };
        session.reply(outcome)
    }

    /// `tandem/task/new`: a task with stacks of its own, within the board's limits (`None`:
    /// as large as they allow) and heap.
    pub fn task_new(&mut self, slots: Option<u32>, depth: Option<u32>) -> Result<TaskId, Refusal> {
        let limits = &self.profile.limits;
        let slots = slots.unwrap_or(limits.value_stack_slots);
        let depth = depth.unwrap_or(limits.max_call_depth);
        let session = self.session()?;
        let task = session.store.new_task(slots, depth).map_err(convert::refusal)?;
        session
            .tasks
            .try_reserve(1)
            .map_err(|_| Refusal::Resource(String::from("no heap left to hold one more task")))?;
        session.tasks.push(task);
        Ok(TaskId(convert::index(session.tasks.len() - 1)))
    }

    /// `tandem/task/start`: calls `call`'s function on `task` with `fuel` (at most the
    /// board's per call) for its first slice.
    pub fn task_start(&mut self, task: TaskId, call: &InvokeRequest, fuel: u64) -> TaskOutcome {
        let fuel = self.slice(fuel);
        let session = match self.session() {
            Ok(session) => session,
            Err(refusal) => return Outcome::from(refusal).into(),
        };
        let prepared = session.task(task).and_then(|task| {
            let (func, args, results) = session.call(call.instance, &call.export, &call.args)?;
            Ok((task, func, args, results))
        });
        let (task, func, args, mut results) = match prepared {
            Ok(prepared) => prepared,
            Err(refusal) => return Outcome::from(refusal).into(),
        };
        begin_call(&mut session.store, fuel);
        let progress = session.store.start(task, func, &args, &mut results);
        session.progress(progress, results)
    }

    /// `tandem/task/resume`: goes on with `task`'s stopped call for a slice of `fuel` (at
    /// most the board's per call).
    pub fn task_resume(&mut self, task: TaskId, fuel: u64) -> TaskOutcome {
        let fuel = self.slice(fuel);
        let session = match self.session() {
            Ok(session) => session,
            Err(refusal) => return Outcome::from(refusal).into(),
        };
        let task = match session.task(task) {
            Ok(task) => task,
            Err(refusal) => return Outcome::from(refusal).into(),
        };
        let mut results = Vec::new();
        if let Some(ty) = session.store.suspended_type(task) {
            results = ty.results().iter().map(|&t| Value::default_for(t)).collect();
        }
        begin_call(&mut session.store, fuel);
        let progress = session.store.resume(task, &mut results);
        session.progress(progress, results)
    }

    /// `tandem/output/chunk`: a chunk of the last call's output again, while it is retained.
    pub fn output_chunk(&mut self, index: u32) -> Result<OutputChunk, Refusal> {
        let session = self.session()?;
        let chunk = session.store.host_data_mut::<Printed>().and_then(|p| p.retained(index));
        let (stream, bytes) = chunk.ok_or_else(|| {
            Refusal::Request(format!("output chunk {index} of the last call is no longer held"))
        })?;
        convert::output_chunk(index, stream, bytes)
            .ok_or_else(|| Refusal::Resource(format!("no heap left to copy output chunk {index}")))
    }

    /// `tandem/global`: reads the exported global `export`.
    pub fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, Refusal> {
        let session = self.session()?;
        let instance = session.instance(instance)?;
        let global = instance.global(&session.store, export).map_err(convert::refusal)?;
        Ok(convert::value_out(session.store.global_get(global)))
    }

    /// `tandem/memory/digest`: FNV-1a 64 of `len` bytes at `offset` of the exported memory
    /// `export` (the first exported one if `None`), so contents can be compared across
    /// targets without shipping them.
    pub fn memory_digest(
        &mut self,
        instance: InstanceId,
        export: Option<&str>,
        offset: u32,
        len: u32,
    ) -> Result<MemoryDigest, Refusal> {
        let session = self.session()?;
        let instance = session.instance(instance)?;
        let memory = match export {
            Some(name) => instance.memory(&session.store, name).map_err(convert::refusal)?,
            None => instance
                .exports(&session.store)
                .find_map(|(_, ext)| match ext {
                    Extern::Memory(m) => Some(m),
                    _ => None,
                })
                .ok_or_else(|| Refusal::Request("instance exports no memory".into()))?,
        };
        let data = session.store.memory_data(memory);
        let start = offset as usize;
        let end =
            start.checked_add(len as usize).filter(|&e| e <= data.len()).ok_or_else(|| {
                Refusal::Request(format!(
                    "range {offset}+{len} outside a memory of {} bytes",
                    data.len()
                ))
            })?;
        Ok(MemoryDigest { fnv1a64: fnv1a64(&data[start..end]), len })
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
            heap: HeapStats::default(),
            target: TargetStats::default(),
        };
        if let Some(session) = &self.session {
            let stats = session.store.stats();
            resp.peak_stack_slots = stats.peak_stack_slots;
            resp.peak_call_depth = stats.peak_call_depth;
            resp.fuel_consumed = stats.fuel_consumed;
            resp.grow_refusals = stats.grow_refusals;
            resp.heap = convert::heap_stats(session.store.heap_stats());
            for instance in &session.instances {
                let memories = instance.memory_stats(&session.store);
                resp.memories.extend(memories.into_iter().map(convert::memory_stat));
            }
        }
        resp
    }

    /// The fuel each call gets, if calls are metered: the profile's, or no practical limit
    /// when only the interrupt flag needs metering.
    /// Whether sessions meter fuel (the profile's fuel, or an interrupt flag, which is looked
    /// at where fuel is charged): what images for this handler are compiled for.
    pub fn meters_fuel(&self) -> bool {
        self.fuel().is_some()
    }

    fn fuel(&self) -> Option<u64> {
        self.profile.limits.fuel.or(self.interrupt.map(|_| u64::MAX))
    }

    /// A task's slice of `fuel`, at most the board's fuel per call.
    fn slice(&self, fuel: u64) -> Option<u64> {
        Some(self.profile.limits.fuel.map_or(fuel, |limit| limit.min(fuel)))
    }

    /// Refuses one module more than the board's `max_modules` per session.
    fn check_room_for_module(&self) -> Result<(), Refusal> {
        let held = self.session.as_ref().ok_or_else(no_session)?.modules.len();
        match self.profile.limits.max_modules {
            Some(limit) if held >= limit as usize => Err(Refusal::Resource(format!(
                "the session already holds {held} modules, the board's limit (max_modules)"
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses a module over the board's upload budget.
    fn check_module_size(&self, len: u64) -> Result<(), Refusal> {
        let budget = self.profile.limits.max_module_bytes;
        if len > u64::from(budget) {
            return Err(Refusal::Resource(format!(
                "module of {len} bytes exceeds the board's budget of {budget} bytes"
            )));
        }
        Ok(())
    }

    fn session(&mut self) -> Result<&mut Session, Refusal> {
        self.session.as_mut().ok_or_else(no_session)
    }
}

/// The board's static buffers, by memory index, while no store holds them; one a store gives
/// back returns to its index, known by its address.
#[derive(Default)]
struct StaticBuffers {
    held: [Option<&'static mut [u8]>; MAX_STATIC_MEMORIES],
    /// Each buffer's address, to know it again.
    addresses: [Option<usize>; MAX_STATIC_MEMORIES],
    /// Each buffer's size, which `tandem/info` reports whoever holds it.
    bytes: [Option<u32>; MAX_STATIC_MEMORIES],
}

impl StaticBuffers {
    fn give(&mut self, index: usize, buffer: &'static mut [u8]) {
        if index < MAX_STATIC_MEMORIES && !buffer.is_empty() {
            self.addresses[index] = Some(buffer.as_ptr().addr());
            self.bytes[index] = Some(convert::index(buffer.len()));
            self.held[index] = Some(buffer);
        }
    }

    fn put_back(&mut self, buffer: &'static mut [u8]) {
        let address = Some(buffer.as_ptr().addr());
        if let Some(index) = self.addresses.iter().position(|&a| a == address) {
            self.held[index] = Some(buffer);
        }
    }
}

/// A call's error: a trap is its result, anything else a refusal.
fn failed<T>(error: Error) -> Outcome<T> {
    match error {
        Error::Trap(trap) => Outcome::Trap(convert::trap(&trap)),
        e => Outcome::Refused(convert::refusal(e)),
    }
}

fn no_session() -> Refusal {
    Refusal::Request("no session: reset first".into())
}

/// A call (an instantiation or an invocation) begins: its fuel, and no chunk of the last
/// call's output is asked for again.
fn begin_call(store: &mut Store, fuel: Option<u64>) {
    if let Some(fuel) = fuel {
        store.set_fuel(fuel);
    }
    if let Some(printed) = store.host_data_mut::<Printed>() {
        printed.begin_call();
    }
}

impl Session {
    /// A call's reply: its outcome, what the session's modules printed during it (what was
    /// not sent ahead in chunks), and the exit code WASI's `proc_exit` recorded, if it was
    /// called (both taken, for the next).
    fn reply<T>(&mut self, outcome: Outcome<T>) -> Ran<T> {
        let (printed, chunks) = match self.store.host_data_mut::<Printed>() {
            Some(printed) => {
                let printed = printed.take();
                let chunks = printed.chunks;
                (convert::printed(printed), chunks)
            }
            None => (tandem_protocol::Printed::default(), 0),
        };
        let exit = self.store.host_data_mut::<WasiContext>().and_then(|wasi| wasi.exit.take());
        Ran { outcome, printed, chunks, exit }
    }

    /// The function `export` of `instance`, the arguments in the core's values and result
    /// slots of its type: what a call needs.
    fn call(
        &self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<(Func, Vec<Value>, Vec<Value>), Refusal> {
        let instance = self.instance(instance)?;
        let func = instance.func(&self.store, export).map_err(convert::refusal)?;
        let args = args.iter().map(|&a| convert::value_in(a)).collect::<Result<Vec<_>, _>>()?;
        let results = self.store.func_type(func).results();
        Ok((func, args, results.iter().map(|&t| Value::default_for(t)).collect()))
    }

    /// A task slice's reply.
    fn progress(&mut self, progress: Result<Progress, Error>, results: Vec<Value>) -> TaskOutcome {
        let outcome = match progress {
            Ok(Progress::Finished) => Outcome::Ok(WireProgress::Finished(
                results.into_iter().map(convert::value_out).collect(),
            )),
            Ok(Progress::Suspended(why)) => {
                Outcome::Ok(WireProgress::Suspended(convert::suspension(why)))
            }
            Err(e) => failed(e),
        };
        self.reply(outcome)
    }

    fn task(&self, id: TaskId) -> Result<Task, Refusal> {
        self.tasks
            .get(id.0 as usize)
            .copied()
            .ok_or_else(|| Refusal::Request(format!("no task #{}", id.0)))
    }

    fn instance(&self, id: InstanceId) -> Result<Instance, Refusal> {
        self.instances
            .get(id.0 as usize)
            .copied()
            .ok_or_else(|| Refusal::Request(format!("no instance #{}", id.0)))
    }
}

#[cfg(test)]
mod tests;
