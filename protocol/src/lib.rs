//! The messages the Tandem host and firmware exchange, as postcard-rpc endpoints.
//!
//! Every request and response is owned data (`String`/`Vec` from `alloc`) so the
//! same types serve the host, the simulator and the device. Sizes and counters are
//! fixed-width integers, never `usize`, so a 64-bit host and a 32-bit board encode
//! them alike. A module is uploaded in chunks of at most [`MAX_CHUNK`] bytes so
//! every frame stays small whatever the module's size.
#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use postcard_rpc::{TopicDirection, endpoints, topics};
use postcard_schema::Schema;
use serde::{Deserialize, Serialize};

/// Version of this message set; bump on any incompatible change.
pub const PROTOCOL_VERSION: u32 = 3;

/// Largest payload of one [`ModuleChunk`], so a frame fits a small buffer.
pub const MAX_CHUNK: usize = 512;

/// A module uploaded (decoded, validated, translated) on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub struct ModuleId(pub u32);

/// An instance in the target's current store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub struct InstanceId(pub u32);

/// The WebAssembly spec version a fresh store validates against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum WasmVersion {
    V1,
    V2,
}

/// A value on the wire. Floats travel as bits so NaN payloads survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum WireVal {
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

/// Which trap happened, independent of wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum TrapKind {
    Unreachable,
    MemoryOutOfBounds,
    TableOutOfBounds,
    UndefinedElement,
    UninitializedElement,
    IndirectCallTypeMismatch,
    IntegerDivideByZero,
    IntegerOverflow,
    InvalidConversionToInteger,
    StackExhausted,
    OutOfFuel,
    Host,
}

/// A trap: a legitimate result of running wasm code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub struct Trap {
    pub kind: TrapKind,
    pub message: String,
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trap \"{}\"", self.message)
    }
}

/// Why the target refused a request (as opposed to a trap).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Schema)]
pub enum WireError {
    /// The module's bytes do not decode.
    Malformed(String),
    /// The module decodes but does not validate.
    Invalid(String),
    /// A deliberately missing feature or an implementation limit.
    Unsupported(String),
    /// An import is missing or has the wrong type.
    Link(String),
    /// Unknown handle, missing export, wrong argument count or type, bad upload order.
    Request(String),
    /// The board's budget was exceeded (module size, memory, static buffer).
    Resource(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Malformed(m) => write!(f, "malformed module: {m}"),
            WireError::Invalid(m) => write!(f, "invalid module: {m}"),
            WireError::Unsupported(m) => write!(f, "unsupported: {m}"),
            WireError::Link(m) => write!(f, "link error: {m}"),
            WireError::Request(m) => write!(f, "bad request: {m}"),
            WireError::Resource(m) => write!(f, "out of resources: {m}"),
        }
    }
}

/// Either a refusal, a trap, or the value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum Outcome<T> {
    Ok(T),
    Trap(Trap),
    Error(WireError),
}

/// The limits a board applies; identical limits give identical exhaustion everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct BoardLimits {
    /// Value-stack size in 64-bit slots.
    pub value_stack_slots: u32,
    pub max_call_depth: u32,
    /// Fuel per invocation; `None` means unmetered.
    pub fuel: Option<u64>,
    /// Largest module upload accepted.
    pub max_module_bytes: u32,
    /// Size of the static buffer for memory 0, if the board has one.
    pub static_memory_bytes: Option<u32>,
    /// Heap-backed linear memory allowed, all instances together; `None` is unlimited.
    pub heap_memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct InfoResponse {
    pub firmware_version: String,
    pub protocol_version: u32,
    pub board: String,
    pub limits: BoardLimits,
    /// Whether the core validates modules on the target.
    pub validates: bool,
    /// [`schema_fingerprint`] of the protocol the firmware was built from.
    pub schema_fingerprint: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct ResetRequest {
    pub version: WasmVersion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct ModuleBegin {
    pub len: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct ModuleChunk {
    pub offset: u32,
    /// At most [`MAX_CHUNK`] bytes.
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct InstantiateRequest {
    pub module: ModuleId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct RegisterRequest {
    pub instance: InstanceId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct InvokeRequest {
    pub instance: InstanceId,
    pub export: String,
    pub args: Vec<WireVal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct GetGlobalRequest {
    pub instance: InstanceId,
    pub export: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct MemoryDigestRequest {
    pub instance: InstanceId,
    /// Exported memory name; `None` is the first memory the instance exports.
    pub export: Option<String>,
    pub offset: u32,
    pub len: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct MemoryDigest {
    /// FNV-1a 64 of the bytes (see [`fnv1a64`]).
    pub fnv1a64: u64,
    pub len: u32,
}

/// Where a linear memory lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub enum MemoryKind {
    Heap,
    Static,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct MemoryStat {
    pub kind: MemoryKind,
    pub pages: u32,
    pub size_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Schema)]
pub struct StatsResponse {
    /// Memories of every live instance, in instance order (imported ones once per importer).
    pub memories: Vec<MemoryStat>,
    pub peak_stack_slots: u32,
    pub peak_call_depth: u32,
    pub fuel_consumed: u64,
    /// `memory.grow` calls the board refused (heap budget, static buffer or allocation
    /// failure) although the memory's own maximum allowed them. The spec permits such a
    /// failure; it makes later results differ from the reference interpreter's.
    pub grow_refusals: u32,
    /// Target-dependent figures, filled in by the caller that can measure them.
    pub target: TargetStats,
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
    /// Link frames received intact and dropped (corrupt or too long) since boot.
    pub frames_ok: Option<u32>,
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
pub type UnitResult = Result<(), WireError>;
/// Response of [`ModuleEndEndpoint`].
pub type ModuleResult = Result<ModuleId, WireError>;
/// Response of [`InstantiateEndpoint`].
pub type InstantiateOutcome = Outcome<InstanceId>;
/// Response of [`InvokeEndpoint`].
pub type InvokeOutcome = Outcome<Vec<WireVal>>;
/// Response of [`GetGlobalEndpoint`].
pub type GlobalResult = Result<WireVal, WireError>;
/// Response of [`MemoryDigestEndpoint`].
pub type DigestResult = Result<MemoryDigest, WireError>;

endpoints! {
    list = ENDPOINT_LIST;
    | EndpointTy           | RequestTy           | ResponseTy         | Path                   |
    | ----------           | ---------           | ----------         | ----                   |
    | InfoEndpoint         | ()                  | InfoResponse       | "tandem/info"          |
    | ResetEndpoint        | ResetRequest        | UnitResult         | "tandem/reset"         |
    | ModuleBeginEndpoint  | ModuleBegin         | UnitResult         | "tandem/module/begin"  |
    | ModuleChunkEndpoint  | ModuleChunk         | UnitResult         | "tandem/module/chunk"  |
    | ModuleEndEndpoint    | ()                  | ModuleResult       | "tandem/module/end"    |
    | InstantiateEndpoint  | InstantiateRequest  | InstantiateOutcome | "tandem/instantiate"   |
    | RegisterEndpoint     | RegisterRequest     | UnitResult         | "tandem/register"      |
    | InvokeEndpoint       | InvokeRequest       | InvokeOutcome      | "tandem/invoke"        |
    | GetGlobalEndpoint    | GetGlobalRequest    | GlobalResult       | "tandem/global"        |
    | MemoryDigestEndpoint | MemoryDigestRequest | DigestResult       | "tandem/memory/digest" |
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
    | TopicTy | MessageTy | Path |
    | ------- | --------- | ---- |
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
            args: vec![WireVal::F32(0x7fc0_0001), WireVal::ExternRef(None)],
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
