//! How a directive is judged: what became of a module or an action on the target, and the
//! verdict with the canonical record of it. The session (`session.rs`) produces these;
//! `run_wast` turns them into the file's report.

use std::fmt;

use tandem_protocol::{InstanceId, Refusal, Trap, Val};

use super::expect;
use super::observe;
use crate::target::TargetError;

/// A target error that ends the file.
pub(super) struct Fatal(pub(super) TargetError);

/// Separates fatal target errors (propagated) from ordinary refusals (kept).
pub(super) fn split<T>(r: Result<T, TargetError>) -> Result<Result<T, TargetError>, Fatal> {
    match r {
        Err(e) if e.is_fatal() => Err(Fatal(e)),
        r => Ok(r),
    }
}

pub(super) enum Outcome {
    Pass,
    Fail { expected: String, got: String },
    Skip(&'static str),
}

pub(super) fn fail(expected: impl Into<String>, got: impl Into<String>) -> Outcome {
    Outcome::Fail { expected: expected.into(), got: got.into() }
}

/// A directive's judgement with what the target did.
pub(super) struct Judged {
    pub(super) outcome: Outcome,
    /// The canonical observation (see [`observe`]); unused for skips.
    pub(super) observed: String,
    /// Why the module or instance involved is out of this target's scope (a board limit,
    /// a proposal Tandem does not implement), if it is: a failure is then a skip.
    pub(super) out_of_scope: Option<String>,
}

impl Judged {
    pub(super) fn new(outcome: Outcome, observed: impl Into<String>) -> Self {
        Judged { outcome, observed: observed.into(), out_of_scope: None }
    }

    pub(super) fn skip(reason: &'static str) -> Self {
        Judged::new(Outcome::Skip(reason), String::new())
    }

    pub(super) fn out_of_scope(mut self, out_of_scope: Option<String>) -> Self {
        self.out_of_scope = out_of_scope;
        self
    }
}

/// Why a module or instance a directive refers to does not exist.
#[derive(Debug, Clone)]
pub(super) struct Unavailable {
    pub(super) why: String,
    /// Set when it does not exist because it is out of the target's scope (see
    /// [`observe::out_of_scope`]).
    pub(super) out_of_scope: Option<String>,
}

impl Unavailable {
    pub(super) fn new(why: impl Into<String>) -> Self {
        Unavailable { why: why.into(), out_of_scope: None }
    }
}

/// What became of a module on its way to an instance.
pub(super) enum ModuleRun {
    /// The host could not turn the text into binary.
    EncodeFailed(String),
    /// The target refused the bytes.
    Rejected(TargetError),
    /// Loaded, but instantiation was refused (link error and the like).
    NotInstantiated(TargetError),
    /// Instantiation trapped.
    Trapped(Trap),
    Instantiated(InstanceId),
    /// The module definition it names does not exist.
    Unavailable(Unavailable),
}

impl ModuleRun {
    /// What the target did, canonically.
    pub(super) fn observed(&self) -> String {
        match self {
            ModuleRun::EncodeFailed(_) => "text rejected on the host".into(),
            ModuleRun::Rejected(e) => observe::rejection(e),
            ModuleRun::NotInstantiated(e) => observe::instantiation_error(e),
            ModuleRun::Trapped(t) => observe::trap(t),
            ModuleRun::Instantiated(_) => "instantiated".into(),
            ModuleRun::Unavailable(_) => "error: no module".into(),
        }
    }

    /// Whether the target rejected the bytes as malformed or invalid.
    pub(super) fn is_rejection(&self) -> bool {
        matches!(self, ModuleRun::Rejected(e) if e.refusal().is_some_and(Refusal::is_rejection))
    }

    pub(super) fn out_of_scope(&self) -> Option<String> {
        match self {
            ModuleRun::Rejected(e) | ModuleRun::NotInstantiated(e) => observe::out_of_scope(e),
            ModuleRun::Unavailable(u) => u.out_of_scope.clone(),
            _ => None,
        }
    }
}

impl fmt::Display for ModuleRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleRun::EncodeFailed(e) => write!(f, "text does not encode: {e}"),
            ModuleRun::Rejected(e) => write!(f, "load failed: {e}"),
            ModuleRun::NotInstantiated(e) => write!(f, "instantiation failed: {e}"),
            ModuleRun::Trapped(t) => write!(f, "instantiation {t}"),
            ModuleRun::Instantiated(i) => write!(f, "instance #{}", i.0),
            ModuleRun::Unavailable(u) => f.write_str(&u.why),
        }
    }
}

/// What an action (`invoke`, `get`, or a module in `assert_return`/`assert_trap`) did.
pub(super) enum Exec {
    Returned(Vec<Val>),
    /// A module action instantiated (no results).
    Instantiated,
    Trapped(Trap),
    /// It could not run.
    Error(NotRun),
    Skip(&'static str),
}

/// Why an action could not run.
pub(super) struct NotRun {
    /// For the failure report.
    pub(super) text: String,
    /// Canonically, for the record.
    pub(super) observed: String,
    pub(super) out_of_scope: Option<String>,
}

impl NotRun {
    pub(super) fn unavailable(u: Unavailable, what: &str) -> Self {
        NotRun { text: u.why, observed: format!("error: no {what}"), out_of_scope: u.out_of_scope }
    }

    pub(super) fn refused(text: String, error: &TargetError) -> Self {
        NotRun { text, observed: observe::error(error), out_of_scope: observe::out_of_scope(error) }
    }
}

impl Exec {
    pub(super) fn observed(&self) -> String {
        match self {
            Exec::Returned(vals) => observe::returned(vals),
            Exec::Instantiated => "instantiated".into(),
            Exec::Trapped(t) => observe::trap(t),
            Exec::Error(e) => e.observed.clone(),
            Exec::Skip(reason) => format!("skipped: {reason}"),
        }
    }

    pub(super) fn out_of_scope(&self) -> Option<String> {
        match self {
            Exec::Error(e) => e.out_of_scope.clone(),
            _ => None,
        }
    }
}

/// The record of a module directive: instantiated or not, and what became of it.
pub(super) fn module_judged(run: &ModuleRun, outcome: Outcome) -> Judged {
    Judged::new(outcome, run.observed()).out_of_scope(run.out_of_scope())
}

pub(super) fn expect_trap(exec: Exec, message: &str) -> Judged {
    let want = format!("trap \"{message}\"");
    let (observed, out_of_scope) = (exec.observed(), exec.out_of_scope());
    let outcome = match exec {
        Exec::Trapped(trap) if expect::trap_message_matches(message, &trap.message) => {
            Outcome::Pass
        }
        Exec::Trapped(trap) => fail(want, trap.to_string()),
        Exec::Returned(vals) => fail(want, format!("returned {}", expect::list(&vals))),
        Exec::Instantiated => fail(want, "it instantiated"),
        Exec::Error(e) => fail(want, e.text),
        Exec::Skip(reason) => Outcome::Skip(reason),
    };
    Judged::new(outcome, observed).out_of_scope(out_of_scope)
}
