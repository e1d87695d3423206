//! The `.wast` runner: parses a script on the host, turns every module into
//! binary (text, `binary` and `quote` forms alike) and drives any [`Target`]
//! through the script's directives, judging each one.
//!
//! One call to [`run_wast`] is one file and one fresh target session
//! ([`Target::reset`]). Each directive ends up as exactly one of passed, failed
//! (with file line, directive kind, expected and got) or skipped (with a reason):
//!
//! | directive | passes when |
//! |---|---|
//! | `module` (text, binary, quote, `$id`) | it loads and instantiates |
//! | `module definition` / `module instance` | it loads / it instantiates |
//! | `register` | the target accepts the registration |
//! | `invoke` | the call returns (any results) |
//! | `assert_return` | results match (see [`expect`]); also on `get` and on a module |
//! | `assert_trap` | the call (or instantiation) traps with a matching message |
//! | `assert_exhaustion` | the call traps with a matching message |
//! | `assert_invalid` | the target rejects the module as malformed or invalid |
//! | `assert_malformed` | the text fails to parse/encode on the host ("checked on the host"), or the target rejects the binary |
//! | `assert_unlinkable` | the module loads, then instantiation fails with a link error (a trap does not count) |
//!
//! Skipped, with a reason: `v128` values, GC/host references, components,
//! threads, exceptions, stack switching and custom-section assertions.
//!
//! Decode and validation failures are not told apart for `assert_invalid` and
//! `assert_malformed`: where a check sits (decoder or validator) differs between
//! wasmparser and the spec. Their messages are not compared either; trap messages
//! are (see [`expect::trap_message_matches`]).
//!
//! Every directive also leaves a [`Record`] of what the target did (see
//! [`observe`]), and the file's statistics are kept, so two targets can be
//! compared and snapshotted.
//!
//! Layout: this file runs a script; `session.rs` judges each directive against the target,
//! in the terms of `judge.rs`; [`expect`] matches results and [`observe`] words records.
//!
//! A board may legitimately refuse memory: a module may not fit its profile, and
//! the spec lets `memory.grow` fail. A directive that would fail after either
//! (the directive's module was refused with [`crate::Refusal::Resource`], or the
//! target counts a refused grow) is skipped with the reason instead: it says
//! something about the board, not about the interpreter.

pub mod expect;
mod judge;
pub mod observe;
mod session;

use std::collections::HashMap;
use std::fmt;

use ::wast::lexer::Lexer;
use ::wast::parser::{self, ParseBuffer};
use ::wast::token::Span;
use ::wast::{Wast, WastDirective};
use tandem_interp::Features;

use crate::report::{Failure, FileReport, FileSkip, Record, Skip, Verdict};
use crate::target::{Target, TargetError};
use judge::{Fatal, Judged, Outcome, Unavailable};
use session::Session;

/// Why a file could not be run at all.
#[derive(Debug)]
pub enum RunError {
    /// The script does not parse; `message` is the parser's, with location.
    Parse {
        /// The file.
        file: String,
        /// What is wrong, with line and column.
        message: String,
    },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Parse { file, message } => write!(f, "cannot parse {file}: {message}"),
        }
    }
}

impl std::error::Error for RunError {}

/// A parser error as a [`RunError`] naming the file, line and column.
fn parse_error(file: &str, text: &str, mut err: ::wast::Error) -> RunError {
    err.set_text(text);
    err.set_path(std::path::Path::new(file));
    RunError::Parse { file: file.to_owned(), message: err.to_string() }
}

fn lexer(text: &str) -> Lexer<'_> {
    let mut lexer = Lexer::new(text);
    // The spec suite names things with confusable characters on purpose.
    lexer.allow_confusing_unicode(true);
    lexer
}

/// Counts the directives of a script without running it (for skipped files).
pub fn count_directives(file: &str, text: &str) -> Result<usize, RunError> {
    let buf = ParseBuffer::new_with_lexer(lexer(text)).map_err(|e| parse_error(file, text, e))?;
    let wast: Wast<'_> = parser::parse(&buf).map_err(|e| parse_error(file, text, e))?;
    Ok(wast.directives.len())
}

/// Runs one `.wast` script on `target` in a fresh session accepting
/// `features`. `file` names the script in reports and errors.
///
/// A target that stops answering (a hung or crashed board: [`TargetError::Transport`])
/// fails the directive it was running, with the reason, and is restarted
/// ([`Target::recover`]); the directives up to the next module are skipped (the instances
/// they use died with the board) and the file goes on from there. A target that cannot be
/// restarted ends the file: [`FileReport::target_lost`] says why, and the caller runs
/// nothing more on it. Nothing obtained before is lost either way.
pub fn run_wast<T: Target + ?Sized>(
    target: &mut T,
    features: Features,
    file: &str,
    text: &str,
) -> Result<FileReport, RunError> {
    let buf = ParseBuffer::new_with_lexer(lexer(text)).map_err(|e| parse_error(file, text, e))?;
    let wast: Wast<'_> = parser::parse(&buf).map_err(|e| parse_error(file, text, e))?;
    let lines = LineIndex::new(text);
    let mut report = FileReport::new(file);
    let hosts = session_hosts(text);
    match target.reset(features, &hosts) {
        Ok(()) => {}
        // The target lacks a host module the file asks for: a fact about the target.
        Err(TargetError::Refused(refusal)) => {
            let reason = format!("the target cannot link this file's host modules: {refusal}");
            report.file_skip = Some(FileSkip { reason, directives: wast.directives.len() });
            return Ok(report);
        }
        Err(error) => {
            if let Err(error) = restart(target, features, &hosts, error) {
                report.failures.push(target_failure(1, "reset", &error));
                report.target_lost = Some(error.to_string());
                return Ok(report);
            }
        }
    }

    let mut session = Session {
        target,
        current: Err(Unavailable::new("no module has been instantiated yet")),
        instances: HashMap::new(),
        definitions: HashMap::new(),
        last_definition: Err(Unavailable::new("no module has been defined yet")),
        unregistered: HashMap::new(),
        refusals_before_current: 0,
        features,
    };
    // Set after a restart: why directives are skipped until the next module.
    let mut lost: Option<String> = None;
    for directive in wast.directives {
        let line = lines.line(directive.span());
        let kind = kind_of(&directive);
        if let Some(reason) = &lost {
            if !matches!(directive, WastDirective::Module(_) | WastDirective::ModuleDefinition(_)) {
                report.skips.push(Skip { line, kind: kind.into(), reason: reason.clone() });
                let observed = format!("skipped: {reason}");
                let kind = kind.into();
                report.records.push(Record { line, kind, verdict: Verdict::Skip, observed });
                continue;
            }
            lost = None;
        }
        let Judged { outcome, observed, out_of_scope } = match session.run(directive, line) {
            Ok(judged) => judged,
            Err(Fatal(error)) => {
                report.failures.push(target_failure(line, kind, &error));
                let observed = "error: the target stopped answering".to_owned();
                let kind = kind.into();
                report.records.push(Record { line, kind, verdict: Verdict::Fail, observed });
                if let Err(error) = restart(session.target, features, &hosts, error) {
                    report.target_lost = Some(error.to_string());
                    return Ok(report);
                }
                session.forget(line);
                lost = Some(format!(
                    "not run: the target was restarted after line {line} failed, and this \
                     directive's instance died with it"
                ));
                continue;
            }
        };
        let (verdict, observed) = match outcome {
            Outcome::Pass => {
                report.passed += 1;
                (Verdict::Pass, observed)
            }
            Outcome::Skip(reason) => {
                report.skips.push(Skip { line, kind: kind.into(), reason: reason.into() });
                (Verdict::Skip, format!("skipped: {reason}"))
            }
            Outcome::Fail { expected, got } => match session.out_of_scope_reason(out_of_scope) {
                Some(reason) => {
                    let observed = format!("{observed}; skipped: {reason}");
                    report.skips.push(Skip { line, kind: kind.into(), reason });
                    (Verdict::Skip, observed)
                }
                None => {
                    report.failures.push(Failure { line, kind: kind.into(), expected, got });
                    (Verdict::Fail, observed)
                }
            },
        };
        // What the directive printed is part of what it did: compared and snapshotted too.
        let observed = observe::with_reported(observed, &session.target.take_reported());
        report.records.push(Record { line, kind: kind.into(), verdict, observed });
    }
    // Statistics are informative: a target that cannot report them still ran the file.
    report.stats = session.target.stats().ok();
    Ok(report)
}

/// What a directive whose target stopped answering expected ([`Failure::expected`]).
pub const TARGET_TO_ANSWER: &str = "the target to answer";

/// The failure of a directive whose target stopped answering.
fn target_failure(line: usize, kind: &'static str, error: &TargetError) -> Failure {
    Failure { line, kind: kind.into(), expected: TARGET_TO_ANSWER.into(), got: error.to_string() }
}

/// Restarts a target that failed with `error` and gives it a fresh session; the error
/// says why when that is impossible too.
fn restart<T: Target + ?Sized>(
    target: &mut T,
    features: Features,
    hosts: &[&str],
    error: TargetError,
) -> Result<(), TargetError> {
    target.recover().map_err(|again| error.followed_by("restarting it failed too", &again))?;
    target.reset(features, hosts)
}

/// The host modules a script's session links: `spectest`, which the spec tests import, and
/// those its leading comments ask for with `;; host: NAME[, NAME...]`.
pub fn session_hosts(text: &str) -> Vec<&str> {
    let asked = crate::suite::header_values(text, "host:").flat_map(|names| names.split(','));
    crate::target::session_hosts(asked.map(str::trim))
}

/// Why an `assert_invalid`/`assert_malformed` is not passed on a target that does not
/// validate.
pub const CHECKED_ON_HOST_REASON: &str =
    "checked on the host: the target does not validate modules (the host rejected it)";

/// Decodes and validates `wasm` on the host, as the core would with `features`.
fn host_validate(wasm: &[u8], features: Features) -> Result<(), wasmparser::BinaryReaderError> {
    wasmparser::Validator::new_with_features(features.to_wasmparser()).validate_all(wasm).map(drop)
}

/// Why later directives diverge once the board refused a `memory.grow`.
pub const GROW_REFUSED_REASON: &str = "the board refused a memory.grow since this instance \
     was created (spec-permitted); its later results diverge from the reference";

/// The name of the simulator's own limits (no board profile applied).
const DESKTOP_PROFILE: &str = tandem_boards::BoardProfile::DESKTOP;

/// Why a directive whose module the board refused for lack of resources is not a failure.
/// Byte offset to 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn line(&self, span: Span) -> usize {
        self.starts.partition_point(|&s| s <= span.offset())
    }
}

fn kind_of(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
    }
}

#[cfg(test)]
pub(crate) mod tests;
