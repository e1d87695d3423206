//! The one place where the core's types and the wire's meet: every request's values go in
//! through here and every answer comes out through here, so a new value kind, trap or error
//! touches this file and the two vocabularies, nothing else.
//!
//! These are functions rather than `From` impls because both sides are other crates' types
//! (Rust's orphan rule); the wire crate does not know the core and the core does not know
//! the wire.

use alloc::format;
use alloc::string::ToString;
use alloc::vec::Vec;

use tandem_hostmods::Stream;
use tandem_interp::{
    Error, Features as CoreFeatures, MemStats, MemoryKind as CoreMemoryKind,
    Suspension as CoreSuspension, Trap as CoreTrap, TrapKind as CoreTrapKind, Value,
};
use tandem_protocol::{
    Features, HeapStats, MemoryKind, MemoryStat, OutputChunk, OutputStream, Printed, Refusal,
    Suspension, Trap, TrapKind, Val,
};

/// The core's feature set for the wire's (the host sends the core's bits); a bit the core
/// does not know is refused (a host newer than the firmware).
pub fn features_in(features: Features) -> Result<CoreFeatures, Refusal> {
    CoreFeatures::from_bits(features.0).ok_or_else(|| {
        let unknown = features.0 & !CoreFeatures::all().bits();
        Refusal::Unsupported(format!(
            "unsupported feature bits {unknown:#x}: unknown to this target"
        ))
    })
}

/// A wire argument as a core value. A function reference cannot come from outside: the
/// executor calls through references unchecked, so only the core hands them out.
pub fn value_in(val: Val) -> Result<Value, Refusal> {
    Ok(match val {
        Val::I32(v) => Value::I32(v),
        Val::I64(v) => Value::I64(v),
        Val::F32(bits) => Value::F32(bits),
        Val::F64(bits) => Value::F64(bits),
        Val::FuncRef(None) => Value::FuncRef(None),
        Val::FuncRef(Some(_)) => {
            return Err(Refusal::Request("non-null funcref arguments are not supported".into()));
        }
        Val::ExternRef(r) => Value::ExternRef(r),
    })
}

/// A core value for the wire.
pub fn value_out(value: Value) -> Val {
    match value {
        Value::I32(v) => Val::I32(v),
        Value::I64(v) => Val::I64(v),
        Value::F32(bits) => Val::F32(bits),
        Value::F64(bits) => Val::F64(bits),
        Value::FuncRef(r) => Val::FuncRef(r.map(|f| f.addr())),
        Value::ExternRef(r) => Val::ExternRef(r),
    }
}

/// A core trap for the wire, worded by the core (the spec's message, or a host function's).
pub fn trap(trap: &CoreTrap) -> Trap {
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
        CoreTrapKind::Interrupted => TrapKind::Interrupted,
    };
    Trap { kind, message: trap.message().to_string() }
}

/// Sorts a core error into the wire's refusal categories. Traps are results, which callers
/// that can meet one handle before this; one that arrives here is unexpected.
pub fn refusal(error: Error) -> Refusal {
    // The refusal's category is its prefix ("invalid module: ..."), so the message leaves
    // out the one the core's own wording starts with.
    let at = |message: &str, offset: usize| format!("{message} (at byte {offset})");
    let message = error.to_string();
    match error {
        Error::Malformed { message, offset } => Refusal::Malformed(at(&message, offset)),
        Error::Invalid { message, offset } => Refusal::Invalid(at(&message, offset)),
        Error::Translate { reason, func, offset } => {
            Refusal::Invalid(at(&format!("function {func}: {reason}"), offset))
        }
        Error::Unsupported { .. } | Error::Limit { .. } | Error::ImageMismatch { .. } => {
            Refusal::Unsupported(message)
        }
        Error::BadImage { .. } => Refusal::Malformed(message),
        Error::UnknownImport { .. } | Error::IncompatibleImport { .. } => Refusal::Link(message),
        Error::StaticBufferTooSmall { .. }
        | Error::NoSuchMemory { .. }
        | Error::OutOfMemory { .. }
        | Error::HeapExhausted { .. }
        | Error::MemoryBudget { .. }
        | Error::TableLimit { .. }
        | Error::InstanceLimit { .. } => Refusal::Resource(message),
        Error::Trap(_) => Refusal::Request(format!("unexpected {message}")),
        _ => Refusal::Request(message),
    }
}

/// Why a task stopped, for the wire.
pub fn suspension(why: CoreSuspension) -> Suspension {
    match why {
        CoreSuspension::OutOfFuel => Suspension::OutOfFuel,
        CoreSuspension::Interrupted => Suspension::Interrupted,
        CoreSuspension::Yielded => Suspension::Yielded,
    }
}

/// A core memory's figures for the wire.
pub fn memory_stat(stats: MemStats) -> MemoryStat {
    MemoryStat {
        kind: match stats.kind {
            CoreMemoryKind::Heap => MemoryKind::Heap,
            CoreMemoryKind::Static => MemoryKind::Static,
        },
        pages: stats.pages,
        size_bytes: stats.size_bytes,
    }
}

/// The store's heap account for the wire.
pub fn heap_stats(stats: tandem_interp::HeapStats) -> HeapStats {
    HeapStats { in_use: stats.in_use, peak: stats.peak, limit: stats.limit }
}

/// A handle-list index as a wire id; the lists never outgrow `u32` on any target.
pub fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// What a call printed and did not send ahead in chunks, for the wire.
pub fn printed(printed: tandem_hostmods::Printed) -> Printed {
    Printed { stdout: printed.stdout, stderr: printed.stderr, dropped: printed.dropped }
}

/// A chunk of a running call's output, for the wire; `None` if the heap cannot hold the
/// copy (the host then reports the chunk lost).
pub fn output_chunk(index: u32, stream: Stream, bytes: &[u8]) -> Option<OutputChunk> {
    let stream = match stream {
        Stream::Stdout => OutputStream::Stdout,
        Stream::Stderr => OutputStream::Stderr,
    };
    let mut copy = Vec::new();
    copy.try_reserve_exact(bytes.len()).ok()?;
    copy.extend_from_slice(bytes);
    Some(OutputChunk { index, stream, bytes: copy })
}
