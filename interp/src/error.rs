//! Errors of every stage: decode, validate, translate, link, instantiate, call, and traps.
//!
//! Each names its cause in `Display`; the CLI adds context at its edge only.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use crate::heap::HeapUse;
use crate::value::{FuncType, ValType};

/// Why execution stopped abnormally. [`TrapKind::message`] (and a [`Trap`]'s `Display`)
/// is the spec's wording, which the `.wast` runner compares against `assert_trap` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrapKind {
    /// The `unreachable` instruction ran.
    Unreachable,
    /// A load, store or bulk memory operation, or an active data segment, reached past
    /// the memory's end.
    MemoryOutOfBounds,
    /// A table access, bulk table operation or active element segment reached past the
    /// table's end.
    TableOutOfBounds,
    /// `call_indirect` index past the table's end.
    UndefinedElement,
    /// `call_indirect` through a null entry.
    UninitializedElement,
    /// `call_indirect` found a function of another signature than the one it expects.
    IndirectCallTypeMismatch,
    /// An integer division or remainder by zero.
    IntegerDivideByZero,
    /// A signed division of the minimum value by -1, or a float-to-int truncation out of
    /// the integer's range.
    IntegerOverflow,
    /// A float-to-int truncation of a NaN.
    InvalidConversionToInteger,
    /// The value stack or the call depth hit its configured limit.
    StackExhausted,
    /// The store's fuel ran out (only when the config meters fuel).
    OutOfFuel,
    /// A host function returned an error.
    Host,
    /// The embedder raised the store's interrupt flag (a deadline or a watchdog), which the
    /// run loop looks at where it charges fuel; see `Store::set_interrupt_flag`.
    Interrupted,
}

impl TrapKind {
    /// The spec's message for this trap.
    pub fn message(self) -> &'static str {
        match self {
            TrapKind::Unreachable => "unreachable",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::UndefinedElement => "undefined element",
            TrapKind::UninitializedElement => "uninitialized element",
            TrapKind::IndirectCallTypeMismatch => "indirect call type mismatch",
            TrapKind::IntegerDivideByZero => "integer divide by zero",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::InvalidConversionToInteger => "invalid conversion to integer",
            TrapKind::StackExhausted => "call stack exhausted",
            TrapKind::OutOfFuel => "all fuel consumed",
            TrapKind::Host => "host function error",
            TrapKind::Interrupted => "interrupted",
        }
    }
}

/// A trap: its kind, and for host traps the host's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trap {
    kind: TrapKind,
    host_message: Option<String>,
}

impl Trap {
    /// A trap of `kind`, with the spec's message.
    pub fn new(kind: TrapKind) -> Self {
        Trap { kind, host_message: None }
    }

    /// A trap raised by a host function, carrying its message.
    pub fn host(message: impl Into<String>) -> Self {
        Trap { kind: TrapKind::Host, host_message: Some(message.into()) }
    }

    /// Why execution stopped.
    pub fn kind(&self) -> TrapKind {
        self.kind
    }

    /// The trap's message: the spec's wording, or the host's.
    pub fn message(&self) -> &str {
        self.host_message.as_deref().unwrap_or(self.kind.message())
    }
}

impl From<TrapKind> for Trap {
    fn from(kind: TrapKind) -> Self {
        Trap::new(kind)
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Which kind of entity an import or export names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A linear memory.
    Memory,
    /// A global.
    Global,
}

impl fmt::Display for ExternKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExternKind::Func => "function",
            ExternKind::Table => "table",
            ExternKind::Memory => "memory",
            ExternKind::Global => "global",
        })
    }
}

/// Everything that can go wrong outside of a trap, and traps themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not a well-formed module (from the decoder).
    Malformed {
        /// The decoder's description.
        message: String,
        /// Byte offset in the module.
        offset: usize,
    },
    /// The module is well-formed but invalid (from the validator).
    Invalid {
        /// The validator's (or the structural check's) description.
        message: String,
        /// Byte offset in the module (0 for a check of the whole module).
        offset: usize,
    },
    /// A proposal the core does not implement (e.g. SIMD), or one the config leaves out.
    Unsupported {
        /// The proposal, named as the spec's proposal repositories name it, e.g. `"simd"`,
        /// `"gc"`, `"tail-call"`.
        feature: &'static str,
        /// Byte offset in the module.
        offset: usize,
    },
    /// An invariant the translator relies on does not hold. Only reachable with
    /// on-device validation off, for a module the validator would reject.
    Translate {
        /// The invariant that does not hold.
        reason: &'static str,
        /// The function's index (imports first).
        func: u32,
        /// Byte offset in the module of the operator (or of the body).
        offset: usize,
    },
    /// An implementation limit was exceeded (e.g. a function frame over 65,535 slots).
    Limit {
        /// What was counted.
        what: &'static str,
        /// How many there were.
        value: u64,
        /// How many the implementation allows.
        limit: u64,
    },
    /// No definition for an import.
    UnknownImport {
        /// The import's module name.
        module: String,
        /// The import's item name.
        name: String,
        /// The kind of entity the module asks for.
        kind: ExternKind,
    },
    /// A definition exists but does not match the import's type.
    IncompatibleImport {
        /// The import's module name.
        module: String,
        /// The import's item name.
        name: String,
        /// How the definition differs from the import.
        reason: &'static str,
    },
    /// The instance has no export of this name.
    ExportNotFound {
        /// The name asked for.
        name: String,
    },
    /// The export exists but is another kind of entity.
    ExportKind {
        /// The export's name.
        name: String,
        /// The kind asked for.
        expected: ExternKind,
        /// The kind the export is.
        found: ExternKind,
    },
    /// A static buffer is smaller than the memory's initial size.
    StaticBufferTooSmall {
        /// The memory's index in the module (imports first); 0 for a memory made by
        /// [`Store::new_static_memory`](crate::Store::new_static_memory).
        memory: u32,
        /// The buffer's length.
        buffer_bytes: u64,
        /// The memory's initial size.
        required_bytes: u64,
    },
    /// A static buffer was given for a memory index the module does not define.
    NoSuchMemory {
        /// The index the buffer was given for.
        memory: u32,
    },
    /// The heap could not provide a memory's or table's initial size.
    OutOfMemory {
        /// The size of the allocation that failed.
        bytes: u64,
    },
    /// What an operation needs does not fit the store's heap (`Config::max_heap`), counted
    /// in board bytes: refused before anything was allocated.
    HeapExhausted {
        /// What asked for it.
        what: HeapUse,
        /// Bytes it needs (including a growing vector's old buffer while it moves).
        needed: u64,
        /// Bytes of the heap not yet held.
        free: u64,
        /// The heap's size, `Config::max_heap`.
        limit: u64,
    },
    /// New heap-backed linear memory would pass `Config::max_heap_memory`.
    MemoryBudget {
        /// Bytes the new memory needs.
        needed: u64,
        /// Bytes of heap-backed linear memory the store already holds.
        in_use: u64,
        /// The config's budget.
        budget: u64,
    },
    /// A table's initial size passes `Config::max_table_elements`.
    TableLimit {
        /// The table's initial size.
        initial: u32,
        /// The config's limit.
        limit: u32,
    },
    /// The store already holds `Config::max_instances` instances.
    InstanceLimit {
        /// The config's limit.
        limit: u32,
    },
    /// A call passed the wrong number of arguments or results.
    ArgumentCount {
        /// How many the signature has.
        expected: usize,
        /// How many were passed.
        got: usize,
    },
    /// A call passed an argument of the wrong type.
    ArgumentType {
        /// The argument's position.
        index: usize,
        /// The type the signature has there.
        expected: ValType,
        /// The type of the value passed.
        got: ValType,
    },
    /// The embedder set an immutable global.
    GlobalNotMutable,
    /// The embedder gave a global a value of another type than its own.
    GlobalType {
        /// The global's type.
        expected: ValType,
        /// The value's type.
        got: ValType,
    },
    /// The module was translated under another configuration than the store's.
    ConfigMismatch {
        /// The setting they disagree on.
        what: &'static str,
    },
    /// A function's signature is not the one the Rust types of a typed call ask for
    /// ([`Store::typed_func`](crate::Store::typed_func)).
    SignatureMismatch {
        /// The signature the Rust types give.
        expected: Box<FuncType>,
        /// The function's signature.
        found: Box<FuncType>,
    },
    /// Bytes that are not a well-formed image, or whose parts do not fit each other
    /// ([`Module::from_image`](crate::Module::from_image)).
    BadImage {
        /// What is wrong.
        reason: &'static str,
        /// Byte offset in the image (0 for a check of the whole module).
        offset: usize,
    },
    /// An image made for another core, or under other settings than the config's.
    ImageMismatch {
        /// What differs: `core`, `features` or `fuel metering`.
        what: &'static str,
        /// The image's.
        image: String,
        /// This core's and config's.
        here: String,
    },
    /// A task was asked to start a call while it holds a suspended one, or to resume while
    /// it holds none.
    TaskState {
        /// The task's index in its store.
        task: u32,
        /// Whether it holds a suspended call.
        suspended: bool,
    },
    /// A handle or function reference that belongs to another store.
    ForeignHandle {
        /// What kind of handle or reference it is.
        what: &'static str,
    },
    /// Execution trapped.
    Trap(Trap),
}

impl From<Trap> for Error {
    fn from(trap: Trap) -> Self {
        Error::Trap(trap)
    }
}

impl From<TrapKind> for Error {
    fn from(kind: TrapKind) -> Self {
        Error::Trap(Trap::new(kind))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Malformed { message, offset } => {
                write!(f, "malformed module at byte {offset}: {message}")
            }
            Error::Invalid { message, offset } => {
                write!(f, "invalid module at byte {offset}: {message}")
            }
            Error::Unsupported { feature, offset } => {
                write!(f, "unsupported feature: {feature} (at byte {offset})")
            }
            Error::Translate { reason, func, offset } => {
                write!(f, "invalid module: function {func} at byte {offset}: {reason}")
            }
            Error::Limit { what, value, limit } => {
                write!(f, "implementation limit: {what} is {value}, at most {limit}")
            }
            Error::UnknownImport { module, name, kind } => {
                write!(f, "unknown import: {kind} \"{module}\" \"{name}\" is not defined")
            }
            Error::IncompatibleImport { module, name, reason } => {
                write!(f, "incompatible import type for \"{module}\" \"{name}\": {reason}")
            }
            Error::ExportNotFound { name } => write!(f, "unknown export \"{name}\""),
            Error::ExportKind { name, expected, found } => {
                write!(f, "export \"{name}\" is a {found}, not a {expected}")
            }
            Error::StaticBufferTooSmall { memory, buffer_bytes, required_bytes } => write!(
                f,
                "static buffer for memory {memory} has {buffer_bytes} bytes, \
                 the module needs {required_bytes} bytes initially"
            ),
            Error::NoSuchMemory { memory } => {
                write!(
                    f,
                    "a static buffer was given for memory {memory}, which the module does not define"
                )
            }
            Error::OutOfMemory { bytes } => write!(f, "out of memory allocating {bytes} bytes"),
            Error::HeapExhausted { what, needed, free, limit } => write!(
                f,
                "out of memory: {what} needs {needed} bytes, {free} of the {limit}-byte heap free"
            ),
            Error::MemoryBudget { needed, in_use, budget } => write!(
                f,
                "linear memory of {needed} bytes exceeds the heap-memory budget \
                 ({in_use} of {budget} bytes already held by the store's other memories)"
            ),
            Error::TableLimit { initial, limit } => write!(
                f,
                "a table of {initial} elements exceeds the limit of {limit} elements per table"
            ),
            Error::InstanceLimit { limit } => {
                write!(f, "the store already holds {limit} instances, its limit")
            }
            Error::ArgumentCount { expected, got } => {
                write!(f, "expected {expected} values, got {got}")
            }
            Error::ArgumentType { index, expected, got } => {
                write!(f, "argument {index} should be {expected}, got {got}")
            }
            Error::GlobalNotMutable => f.write_str("global is immutable"),
            Error::GlobalType { expected, got } => {
                write!(f, "global holds {expected}, got {got}")
            }
            Error::ConfigMismatch { what } => {
                write!(f, "the module and the store disagree on {what}: use one Config for both")
            }
            Error::SignatureMismatch { expected, found } => {
                write!(
                    f,
                    "signature mismatch: the Rust types give {expected}, the function is {found}"
                )
            }
            Error::BadImage { reason, offset } => {
                write!(f, "bad image: {reason} (at byte {offset})")
            }
            Error::ImageMismatch { what, image, here } => {
                write!(f, "image made for another {what}: {image}; here: {here}")
            }
            Error::TaskState { task, suspended: true } => {
                write!(f, "task {task} holds a suspended call: resume or cancel it first")
            }
            Error::TaskState { task, suspended: false } => {
                write!(f, "task {task} has no suspended call to resume")
            }
            Error::ForeignHandle { what } => write!(f, "{what} belongs to another store"),
            Error::Trap(trap) => write!(f, "trap: {trap}"),
        }
    }
}

impl core::error::Error for Error {}
