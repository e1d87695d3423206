//! The messages the Tandem host and firmware exchange, as postcard-rpc endpoints.
//!
//! Every request and response is owned data (`String`/`Vec` from `alloc`) so the
//! same types serve the host, the simulator and the device. Sizes and counters are
//! fixed-width integers, never `usize`, so a 64-bit host and a 32-bit board encode
//! them alike. A module is uploaded in chunks of at most [`MAX_CHUNK`] bytes so
//! every frame stays small whatever the module's size.
//!
//! These are the rig's one vocabulary: the host's runner and every target speak them, the
//! request handler converts them to and from the core's types in one module, and nothing
//! else re-declares them.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use postcard_rpc::{TopicDirection, endpoints, topics};
use postcard_schema::Schema;
use serde::{Deserialize, Serialize};

/// Version of this message set; bump on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 10;

/// The most bytes a call may print, on every target; the rest is counted in
/// [`Printed::dropped`]. Behind a link it leaves in [`OutputChunk`]s while the call runs, so
/// a board holds at most a few KiB of it at once; the in-process simulator gathers it.
pub const MAX_OUTPUT_PER_CALL: u32 = 64 << 10;

/// The most [`OutputChunk`]s a call sends (the host's queue for them); a target drops the
/// output beyond, counting it in [`Printed::dropped`].
pub const MAX_OUTPUT_CHUNKS: u32 = 256;

/// Largest payload of one [`ModuleChunk`], so a frame fits a small buffer.
pub const MAX_CHUNK: usize = 512;

/// Most bytes a [`WasiSetup`] may hold (arguments, environment and stdin together), so
/// the request fits the smallest board's receive buffer.
pub const MAX_WASI_SETUP: usize = 2048;

/// A module uploaded (decoded, validated, translated) on the target; valid until the next
/// reset.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Schema,
)]
pub struct ModuleId(pub u32);

/// An instance in the target's current store; valid until the next reset.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Schema,
)]
pub struct InstanceId(pub u32);

/// A task in the target's current store: stacks of its own on which a call stops and
/// resumes; valid until the next reset.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Schema,
)]
pub struct TaskId(pub u32);

/// The WebAssembly proposals a fresh store accepts: the bits of the core's `Features`
/// (`tandem_interp::Features`), which names them. A bit the target does not know is refused
/// at reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub struct Features(pub u32);

/// A WebAssembly value. Floats travel as bits so NaN payloads survive; references as
/// opaque target-side numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
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

/// Which trap happened, independent of wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum TrapKind {
    /// `unreachable` was executed.
    Unreachable,
    /// A load, store or bulk memory operation outside the memory.
    MemoryOutOfBounds,
    /// A table access outside the table.
    TableOutOfBounds,
    /// `call_indirect` past the table's end.
    UndefinedElement,
    /// `call_indirect` through a null entry.
    UninitializedElement,
    /// `call_indirect` to a function of another signature.
    IndirectCallTypeMismatch,
    /// Integer division or remainder by zero.
    IntegerDivideByZero,
    /// Signed division overflow, or a float-to-int conversion out of range.
    IntegerOverflow,
    /// A float-to-int conversion of a NaN.
    InvalidConversionToInteger,
    /// The call depth or the value stack hit the board's limit.
    StackExhausted,
    /// The invocation used up its fuel.
    OutOfFuel,
    /// A host function failed.
    Host,
    /// The target stopped the call: its deadline passed (or a watchdog fired).
    Interrupted,
}

/// A trap: a legitimate result of running wasm code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub struct Trap {
    /// Which trap.
    pub kind: TrapKind,
    /// The core's wording: the spec's message, or a host function's own.
    pub message: String,
}

impl Trap {
    /// The trap of a call stopped at its deadline, worded alike on every target.
    pub fn timed_out(after: core::time::Duration) -> Trap {
        Trap { kind: TrapKind::Interrupted, message: alloc::format!("timed out after {after:?}") }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trap \"{}\"", self.message)
    }
}

/// Why the target refused a request (as opposed to a trap).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum Refusal {
    /// The module's bytes do not decode.
    Malformed(String),
    /// The module decodes but does not validate.
    Invalid(String),
    /// A proposal the target does not implement or the session leaves out ("unsupported
    /// feature: NAME ..."), or an implementation limit ("implementation limit: ..."): the
    /// message says which.
    Unsupported(String),
    /// An import is missing or has the wrong type.
    Link(String),
    /// Unknown handle, missing export, wrong argument count or type, bad upload order.
    Request(String),
    /// The board's budget was exceeded (module size, memory, static buffer).
    Resource(String),
}

impl Refusal {
    /// Whether this refusal rejects a module's bytes (decode or validation).
    pub fn is_rejection(&self) -> bool {
        matches!(self, Refusal::Malformed(_) | Refusal::Invalid(_))
    }

    /// The category alone, without the (target-specific) message: `malformed`, `link`, ...
    pub fn category(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::Invalid(_) => "invalid",
            Refusal::Unsupported(_) => "unsupported",
            Refusal::Link(_) => "link",
            Refusal::Request(_) => "request",
            Refusal::Resource(_) => "resource",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed(m) => write!(f, "malformed module: {m}"),
            Refusal::Invalid(m) => write!(f, "invalid module: {m}"),
            Refusal::Unsupported(m) => f.write_str(m),
            Refusal::Link(m) => write!(f, "link error: {m}"),
            Refusal::Request(m) => write!(f, "bad request: {m}"),
            Refusal::Resource(m) => write!(f, "out of resources: {m}"),
        }
    }
}

/// What running wasm code gave: the value, a trap, or a refusal to run it at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum Outcome<T> {
    /// It ran and returned.
    Ok(T),
    /// It ran and trapped.
    Trap(Trap),
    /// The target refused the request.
    Refused(Refusal),
}

impl<T> Outcome<T> {
    /// The outcome as nested results, the refusal outside and the trap inside, so a
    /// caller can `?` the refusal and keep the trap as a result.
    pub fn into_result(self) -> Result<Result<T, Trap>, Refusal> {
        match self {
            Outcome::Ok(value) => Ok(Ok(value)),
            Outcome::Trap(trap) => Ok(Err(trap)),
            Outcome::Refused(refusal) => Err(refusal),
        }
    }
}

impl<T> From<Refusal> for Outcome<T> {
    fn from(refusal: Refusal) -> Self {
        Outcome::Refused(refusal)
    }
}

/// What a call printed through its host modules (the `tandem` test module, WASI's stdout
/// and stderr): bounded on the target, with a count of what did not fit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub struct Printed {
    /// Standard output's bytes.
    pub stdout: Vec<u8>,
    /// Standard error's bytes.
    pub stderr: Vec<u8>,
    /// Bytes the target dropped because its buffer was full.
    pub dropped: u64,
}

impl Printed {
    /// Whether nothing was printed (or dropped).
    pub fn is_empty(&self) -> bool {
        self.stdout.is_empty() && self.stderr.is_empty() && self.dropped == 0
    }
}

/// Which output a chunk of printed bytes belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum OutputStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// `tandem/output` (topic, target to host): a piece of what the running call printed, sent
/// while it runs. Chunks are numbered from 0 in each call; the call's reply says how many
/// there were ([`Ran::chunks`]), and [`OutputChunkEndpoint`] sends a lost one again while
/// the target still holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct OutputChunk {
    /// Its number in the call.
    pub index: u32,
    /// Where the program wrote it.
    pub stream: OutputStream,
    /// What it wrote.
    pub bytes: Vec<u8>,
}

/// A call's outcome and what it printed on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct Ran<T> {
    /// The value, the trap or the refusal.
    pub outcome: Outcome<T>,
    /// What the call printed and was not sent ahead as [`OutputChunk`]s (all of it on a
    /// target without a link), and the bytes cut at the call's limit.
    pub printed: Printed,
    /// The [`OutputChunk`]s sent during the call, ahead of `printed`.
    pub chunks: u32,
    /// The code the program passed to WASI's `proc_exit`, which ended the call (its outcome
    /// is then the trap that stopped it).
    pub exit: Option<u32>,
}

impl<T> From<Outcome<T>> for Ran<T> {
    /// An outcome that printed nothing and did not exit.
    fn from(outcome: Outcome<T>) -> Self {
        Ran { outcome, printed: Printed::default(), chunks: 0, exit: None }
    }
}

/// The limits a board applies, as it reports them; identical limits give identical
/// exhaustion everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct BoardLimits {
    /// Value-stack size in 64-bit slots.
    pub value_stack_slots: u32,
    /// Deepest wasm call nesting.
    pub max_call_depth: u32,
    /// Fuel per invocation; `None` means unmetered.
    pub fuel: Option<u64>,
    /// Largest module upload accepted.
    pub max_module_bytes: u32,
    /// Size of the static buffer for memory 0, if the board has one.
    pub static_memory_bytes: Option<u32>,
    /// Heap-backed linear memory allowed, all instances together; `None` is unlimited.
    pub heap_memory_bytes: Option<u64>,
    /// Elements any one table may have; `None` is unlimited.
    pub max_table_elements: Option<u32>,
    /// Modules a session may hold; `None` is unlimited.
    pub max_modules: Option<u32>,
    /// Instances a session may hold; `None` is unlimited.
    pub max_instances: Option<u32>,
}

/// What a target says about itself at connect (`tandem/info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct InfoResponse {
    /// The firmware crate's version.
    pub firmware_version: String,
    /// [`PROTOCOL_VERSION`] of the protocol the firmware was built from.
    pub protocol_version: u32,
    /// The board profile the firmware was built for.
    pub board: String,
    /// The limits it applies.
    pub limits: BoardLimits,
    /// Whether the core validates modules on the target.
    pub validates: bool,
    /// Whether the target reads WebAssembly binaries itself; a target that does not
    /// (an images-only firmware) takes [`ModuleFormat::Image`] uploads only.
    pub reads_wasm: bool,
    /// Whether the target's sessions meter fuel (images must be compiled to match).
    pub meters_fuel: bool,
    /// [`schema_fingerprint`] of the protocol the firmware was built from.
    pub schema_fingerprint: u64,
}

/// `tandem/reset`: drop every module and instance and start a fresh store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct ResetRequest {
    /// The proposals the new store accepts.
    pub features: Features,
    /// The host modules the session's modules may import, by name (e.g. `spectest`).
    pub hosts: Vec<String>,
    /// The longest an instantiation or invocation may run, in milliseconds of the target's
    /// own clock (virtual time under QEMU's `-icount`), before it is stopped with
    /// [`Trap::timed_out`]; `None` for no deadline.
    pub deadline_ms: Option<u32>,
}

/// `tandem/wasi`: the world the session's WASI programs see, set after a reset and before
/// they are instantiated (without it: no arguments but the name `main`, no environment,
/// empty stdin). At most [`MAX_WASI_SETUP`] bytes in all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct WasiSetup {
    /// `argv`, the program's name first.
    pub args: Vec<String>,
    /// The environment, as `NAME=value` strings.
    pub env: Vec<String>,
    /// What the program reads from descriptor 0, then end of file.
    pub stdin: Vec<u8>,
}

impl WasiSetup {
    /// Its size as [`MAX_WASI_SETUP`] counts it: the bytes of every string and of stdin.
    pub fn len(&self) -> usize {
        let strings = self.args.iter().chain(&self.env).map(String::len).sum::<usize>();
        strings + self.stdin.len()
    }

    /// Whether it holds nothing at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.args.is_empty() && self.env.is_empty()
    }

    /// Refused when over [`MAX_WASI_SETUP`]: the host checks before sending, the target
    /// again on receipt.
    pub fn check(&self) -> Result<(), Refusal> {
        if self.len() > MAX_WASI_SETUP {
            return Err(Refusal::Request(alloc::format!(
                "the WASI arguments, environment and stdin ({} bytes) are over the \
                 {MAX_WASI_SETUP} bytes a target accepts",
                self.len()
            )));
        }
        Ok(())
    }
}

/// `tandem/module/begin`: a module upload of `len` bytes follows in chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct ModuleBegin {
    /// The upload's size, checked against the board's budget before any byte arrives.
    pub len: u32,
    /// What the bytes are.
    pub format: ModuleFormat,
}

/// What an upload holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum ModuleFormat {
    /// A WebAssembly binary, decoded (and validated, if the target validates) and
    /// translated as it arrives.
    Wasm,
    /// An image: a module the host validated and translated for the target's config
    /// (`tandem compile`), held until complete, then verified and read.
    Image,
}

/// `tandem/module/chunk`: the next piece of an upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct ModuleChunk {
    /// Where the chunk starts: the number of bytes sent before it.
    pub offset: u32,
    /// At most [`MAX_CHUNK`] bytes.
    pub bytes: Vec<u8>,
}

/// `tandem/instantiate`: instantiate a loaded module and run its start function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct InstantiateRequest {
    /// The module.
    pub module: ModuleId,
}

/// `tandem/register`: make an instance's exports importable under a module name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct RegisterRequest {
    /// The instance whose exports are registered.
    pub instance: InstanceId,
    /// The module name later imports use.
    pub name: String,
}

/// `tandem/invoke`: call an exported function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct InvokeRequest {
    /// The instance.
    pub instance: InstanceId,
    /// The exported function's name.
    pub export: String,
    /// The arguments, of the function's parameter types.
    pub args: Vec<Val>,
}

/// `tandem/task/new`: a task with a value stack of `slots` and a frame stack of `depth`
/// (at most the board's limits, which `None` asks for), charged to the session's heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct TaskNew {
    /// Value-stack slots.
    pub slots: Option<u32>,
    /// Call depth.
    pub depth: Option<u32>,
}

/// `tandem/task/start`: call an exported function on a task, with `fuel` for its first
/// slice: it runs until it returns, traps or stops ([`Progress`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct TaskStart {
    /// The task, holding no stopped call.
    pub task: TaskId,
    /// The call, as [`InvokeRequest`] names it.
    pub call: InvokeRequest,
    /// Fuel for this slice (at most the board's fuel per call).
    pub fuel: u64,
}

/// `tandem/task/resume`: go on with a task's stopped call, with `fuel` for this slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct TaskResume {
    /// The task, holding a stopped call.
    pub task: TaskId,
    /// Fuel for this slice (at most the board's fuel per call).
    pub fuel: u64,
}

/// How far a task's call got in one slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum Progress {
    /// It returned these results.
    Finished(Vec<Val>),
    /// It stopped; `tandem/task/resume` goes on.
    Suspended(Suspension),
}

/// Why a task's call stopped before it returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum Suspension {
    /// The slice's fuel ran out.
    OutOfFuel,
    /// The interrupt flag was raised (the session's deadline passed).
    Interrupted,
    /// A host function asked to yield (WASI's `sched_yield`, `tandem.yield`).
    Yielded,
}

/// `tandem/global`: read an exported global.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct GetGlobalRequest {
    /// The instance.
    pub instance: InstanceId,
    /// The exported global's name.
    pub export: String,
}

/// `tandem/memory/digest`: hash a range of an exported memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct MemoryDigestRequest {
    /// The instance.
    pub instance: InstanceId,
    /// Exported memory name; `None` is the first memory the instance exports.
    pub export: Option<String>,
    /// The first byte of the range.
    pub offset: u32,
    /// The range's length in bytes.
    pub len: u32,
}

/// A memory range's digest, so contents compare across targets without shipping them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct MemoryDigest {
    /// FNV-1a 64 of the bytes (see [`fnv1a64`]).
    pub fnv1a64: u64,
    /// The range's length in bytes.
    pub len: u32,
}

/// Where a linear memory lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum MemoryKind {
    /// On the heap: `memory.grow` allocates.
    Heap,
    /// In the board's static buffer: `memory.grow` never allocates.
    Static,
}

/// One linear memory's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct MemoryStat {
    /// Where it lives.
    pub kind: MemoryKind,
    /// Its size in wasm pages.
    pub pages: u32,
    /// Its size in bytes.
    pub size_bytes: u64,
}

/// `tandem/stats`: the current session's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct StatsResponse {
    /// Memories of every live instance, in instance order (imported ones once per importer).
    pub memories: Vec<MemoryStat>,
    /// Most value-stack slots in use at once.
    pub peak_stack_slots: u32,
    /// Deepest wasm call nesting reached.
    pub peak_call_depth: u32,
    /// Fuel charged since the reset.
    pub fuel_consumed: u64,
    /// `memory.grow` calls the board refused (heap budget, static buffer or allocation
    /// failure) although the memory's own maximum allowed them. The spec permits such a
    /// failure; it makes later results differ from the reference interpreter's.
    pub grow_refusals: u32,
    /// The store's heap account: the same on every target.
    pub heap: HeapStats,
    /// Target-dependent figures, filled in by the caller that can measure them.
    pub target: TargetStats,
}

/// What the session's store holds on the heap, counted in the bytes a 32-bit board allocates
/// for it (stacks, modules, instances, tables, heap memories, the upload), so the simulator
/// and the board report the same figures and refuse at the same point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct HeapStats {
    /// Bytes held now.
    pub in_use: u64,
    /// Most bytes held at once since the reset.
    pub peak: u64,
    /// What the account may hold: the board's heap arena less its reserve; `None` on the
    /// desktop.
    pub limit: Option<u64>,
}

/// Figures that depend on the target's pointer width, allocator or clock; `None` where the
/// target cannot measure them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct TargetStats {
    /// Heap bytes allocated now (allocator counters).
    pub heap_in_use: Option<u64>,
    /// Most heap bytes allocated at once since the last reset.
    pub heap_peak: Option<u64>,
    /// Size of the heap arena.
    pub heap_size: Option<u64>,
    /// Deepest native stack use since the last reset, in bytes.
    pub native_stack_high_water: Option<u64>,
    /// Size of the native stack region.
    pub native_stack_size: Option<u64>,
    /// Clock ticks spent executing requests since the last reset (on QEMU with
    /// `-icount shift=0`, one tick is 40 guest instructions).
    pub exec_ticks: Option<u64>,
    /// The tick rate in Hz.
    pub tick_hz: Option<u32>,
    /// Link frames received intact since boot.
    pub frames_ok: Option<u32>,
    /// Link frames dropped (corrupt or too long) since boot.
    pub frames_dropped: Option<u32>,
    /// Requests received again after their reply was lost, answered from the reply cache
    /// without running them twice.
    pub frames_replayed: Option<u32>,
}

/// A deliberate fault, to check that crashes are reported and survived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum FaultKind {
    /// `panic!` with a known message.
    Panic,
    /// An undefined instruction (a HardFault on Cortex-M).
    HardFault,
}

/// FNV-1a 64 over `bytes`: tiny, core-only, the same on every target.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_extend(0xcbf2_9ce4_8422_2325, bytes)
}

/// Continues an FNV-1a 64 hash over more bytes.
fn fnv1a64_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// A fingerprint of the whole message set: every endpoint's and topic's path and the keys
/// postcard-rpc derives from their message schemas.
///
/// The host compares it with the firmware's at connect. It replaces checking postcard-rpc's
/// schema report, which takes dozens of frames: on a lossy link one of them is nearly always
/// lost, while this is one reply that the link resends like any other.
pub fn schema_fingerprint() -> u64 {
    let mut hash = fnv1a64(b"tandem-protocol");
    for (path, req, resp) in ENDPOINT_LIST.endpoints {
        hash = fnv1a64_extend(hash, path.as_bytes());
        hash = fnv1a64_extend(hash, &req.to_bytes());
        hash = fnv1a64_extend(hash, &resp.to_bytes());
    }
    for (path, key) in TOPICS_IN_LIST.topics.iter().chain(TOPICS_OUT_LIST.topics) {
        hash = fnv1a64_extend(hash, path.as_bytes());
        hash = fnv1a64_extend(hash, &key.to_bytes());
    }
    hash
}

/// Response of requests that only succeed or are refused.
pub type UnitResult = Result<(), Refusal>;
/// Response of [`ModuleEndEndpoint`].
pub type ModuleResult = Result<ModuleId, Refusal>;
/// Response of [`InstantiateEndpoint`].
pub type InstantiateOutcome = Ran<InstanceId>;
/// Response of [`InvokeEndpoint`].
pub type InvokeOutcome = Ran<Vec<Val>>;
/// Response of [`TaskNewEndpoint`].
pub type TaskResult = Result<TaskId, Refusal>;
/// Response of [`TaskStartEndpoint`] and [`TaskResumeEndpoint`].
pub type TaskOutcome = Ran<Progress>;
/// Response of [`GetGlobalEndpoint`].
pub type GlobalResult = Result<Val, Refusal>;
/// Response of [`MemoryDigestEndpoint`].
pub type DigestResult = Result<MemoryDigest, Refusal>;
/// Response of [`OutputChunkEndpoint`]: the chunk, or why the target no longer has it.
pub type OutputChunkResult = Result<OutputChunk, Refusal>;

endpoints! {
    list = ENDPOINT_LIST;
    | EndpointTy           | RequestTy           | ResponseTy         | Path                   |
    | ----------           | ---------           | ----------         | ----                   |
    | InfoEndpoint         | ()                  | InfoResponse       | "tandem/info"          |
    | ResetEndpoint        | ResetRequest        | UnitResult         | "tandem/reset"         |
    | WasiEndpoint         | WasiSetup           | UnitResult         | "tandem/wasi"          |
    | ModuleBeginEndpoint  | ModuleBegin         | UnitResult         | "tandem/module/begin"  |
    | ModuleChunkEndpoint  | ModuleChunk         | UnitResult         | "tandem/module/chunk"  |
    | ModuleEndEndpoint    | ()                  | ModuleResult       | "tandem/module/end"    |
    | InstantiateEndpoint  | InstantiateRequest  | InstantiateOutcome | "tandem/instantiate"   |
    | RegisterEndpoint     | RegisterRequest     | UnitResult         | "tandem/register"      |
    | InvokeEndpoint       | InvokeRequest       | InvokeOutcome      | "tandem/invoke"        |
    | TaskNewEndpoint      | TaskNew             | TaskResult         | "tandem/task/new"      |
    | TaskStartEndpoint    | TaskStart           | TaskOutcome        | "tandem/task/start"    |
    | TaskResumeEndpoint   | TaskResume          | TaskOutcome        | "tandem/task/resume"   |
    | GetGlobalEndpoint    | GetGlobalRequest    | GlobalResult       | "tandem/global"        |
    | MemoryDigestEndpoint | MemoryDigestRequest | DigestResult       | "tandem/memory/digest" |
    | OutputChunkEndpoint  | u32                 | OutputChunkResult  | "tandem/output/chunk"  |
    | StatsEndpoint        | ()                  | StatsResponse      | "tandem/stats"         |
    | PingEndpoint         | u32                 | u32                | "tandem/ping"          |
    | ExitEndpoint         | bool                | ()                 | "tandem/exit"          |
    | FaultEndpoint        | FaultKind           | ()                 | "tandem/fault"         |
}

topics! {
    list = TOPICS_IN_LIST;
    direction = TopicDirection::ToServer;
    | TopicTy | MessageTy | Path |
    | ------- | --------- | ---- |
}

topics! {
    list = TOPICS_OUT_LIST;
    direction = TopicDirection::ToClient;
    | TopicTy     | MessageTy   | Path            |
    | -------     | ---------   | ----            |
    | OutputTopic | OutputChunk | "tandem/output" |
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn fnv_known_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn invoke_round_trips() {
        let req = InvokeRequest {
            instance: InstanceId(3),
            export: "f".into(),
            args: vec![Val::F32(0x7fc0_0001), Val::ExternRef(None)],
        };
        let bytes = postcard::to_allocvec(&req).expect("encode");
        let back: InvokeRequest = postcard::from_bytes(&bytes).expect("decode");
        assert_eq!(back, req);
    }

    #[test]
    fn full_chunk_fits_small_frame() {
        let chunk = ModuleChunk { offset: u32::MAX, bytes: vec![0xff; MAX_CHUNK] };
        let bytes = postcard::to_allocvec(&chunk).expect("encode");
        assert!(bytes.len() <= MAX_CHUNK + 16, "{}", bytes.len());
    }
}
