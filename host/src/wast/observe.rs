//! Canonical, target-independent wording of what a target did, for
//! [`crate::report::Record::observed`].
//!
//! Two targets that behave alike must produce the same strings, whatever their
//! pointer width, float unit or error wording. So traps are named by the core's wording
//! (the spec's message, which every target's core uses), refusals by their category only,
//! floats by their bits, and quiet NaNs as just `nan`: x86 and a Cortex-M4 produce
//! different signs and payloads for the same NaN-producing operation while both follow
//! the spec (with two NaN operands x86 keeps the first one's payload, the Cortex-M4 FPU
//! the signalling one's, so even canonical vs arithmetic differs), and whether a NaN is
//! the one the spec asks for is `assert_return`'s job. Signalling NaNs, which no
//! arithmetic produces, keep their exact bits.

use tandem_protocol::{Refusal, Trap, Val};

use crate::Features;
use crate::target::{Reported, TargetError};
use crate::wast::expect::{is_arithmetic_nan_f32, is_arithmetic_nan_f64};

/// One value: `i32:3`, `f64:0x3ff0000000000000`, `f32:nan`, `ref.func`.
pub fn value(val: Val) -> String {
    match val {
        Val::I32(v) => format!("i32:{v}"),
        Val::I64(v) => format!("i64:{v}"),
        Val::F32(bits) if is_arithmetic_nan_f32(bits) => "f32:nan".into(),
        Val::F32(bits) => format!("f32:0x{bits:08x}"),
        Val::F64(bits) if is_arithmetic_nan_f64(bits) => "f64:nan".into(),
        Val::F64(bits) => format!("f64:0x{bits:016x}"),
        Val::FuncRef(None) => "ref.null func".into(),
        // Function addresses are the target's own numbering: not comparable.
        Val::FuncRef(Some(_)) => "ref.func".into(),
        Val::ExternRef(None) => "ref.null extern".into(),
        Val::ExternRef(Some(n)) => format!("ref.extern {n}"),
    }
}

/// `returned [i32:3, f64:0x3ff0000000000000]`.
pub fn returned(vals: &[Val]) -> String {
    let vals: Vec<String> = vals.iter().map(|&v| value(v)).collect();
    format!("returned [{}]", vals.join(", "))
}

/// `trap: integer divide by zero`: the spec's wording, which the core gives every trap but a
/// host function's (whose message is the host code's own, the same on every target).
pub fn trap(trap: &Trap) -> String {
    format!("trap: {}", trap.message)
}

/// The kind of a refusal, without its (target-specific) message.
pub fn error_category(error: &TargetError) -> &'static str {
    match error {
        TargetError::Refused(refusal) => refusal.category(),
        TargetError::Transport(_) => "transport",
    }
}

/// `error: resource`.
pub fn error(error: &TargetError) -> String {
    format!("error: {}", error_category(error))
}

/// A refused module load: `rejected: malformed` / `rejected: invalid`, else an error.
pub fn rejection(error: &TargetError) -> String {
    match error.refusal() {
        Some(refusal) if refusal.is_rejection() => format!("rejected: {}", refusal.category()),
        _ => self::error(error),
    }
}

/// A refused instantiation: `link error`, else an error.
pub fn instantiation_error(error: &TargetError) -> String {
    match error {
        TargetError::Refused(Refusal::Link(_)) => "link error".into(),
        other => self::error(other),
    }
}

/// Why a directive whose module or call `error` refused cannot be judged on this target, if
/// that is why: the module exceeds the board's resources, or it needs a proposal Tandem does
/// not implement (the spec leaves both to the implementation; neither is a wrong answer).
pub(crate) fn out_of_scope(error: &TargetError) -> Option<String> {
    match error {
        TargetError::Refused(Refusal::Resource(message)) => {
            Some(format!("the module exceeds the board profile ({message})"))
        }
        TargetError::Refused(Refusal::Unsupported(message)) => {
            let name = message.strip_prefix("unsupported feature: ")?;
            let name = name.split(" (").next().unwrap_or(name);
            Features::from_proposal(name)
                .is_none()
                .then(|| format!("needs {name}, which Tandem does not implement"))
        }
        _ => None,
    }
}

/// `observed` with what the directive reported beside its outcome appended, if anything.
pub fn with_reported(observed: String, reported: &Reported) -> String {
    match self::reported(reported) {
        Some(text) => format!("{observed}; {text}"),
        None => observed,
    }
}

/// What a directive reported beside its outcome, if anything: `printed "7\n"`, then
/// `stderr "..."`, `N bytes dropped` and `exit N` where there are any. Bytes that are not
/// UTF-8 are escaped.
pub fn reported(reported: &Reported) -> Option<String> {
    let printed = &reported.printed;
    if printed.is_empty() && reported.exit.is_none() {
        return None;
    }
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).escape_debug().to_string();
    let mut parts = Vec::new();
    if !printed.stdout.is_empty() {
        parts.push(format!("printed \"{}\"", text(&printed.stdout)));
    }
    if !printed.stderr.is_empty() {
        parts.push(format!("stderr \"{}\"", text(&printed.stderr)));
    }
    if printed.dropped > 0 {
        parts.push(format!("{} bytes dropped", printed.dropped));
    }
    if let Some(code) = reported.exit {
        parts.push(format!("exit {code}"));
    }
    Some(parts.join(", "))
}
