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
//! A board may legitimately refuse memory: a module may not fit its profile, and
//! the spec lets `memory.grow` fail. A directive that would fail after either
//! (the directive's module was refused with [`TargetError::Resource`], or the
//! target counts a refused grow) is skipped with the reason instead: it says
//! something about the board, not about the interpreter.

pub mod expect;
pub mod observe;

use std::collections::HashMap;
use std::fmt;

use ::wast::lexer::Lexer;
use ::wast::parser::{self, ParseBuffer};
use ::wast::token::{Id, Span};
use ::wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

use crate::report::{Failure, FileReport, Record, Skip, Verdict};
use crate::target::{
    InstanceId, ModuleId, Target, TargetError, TrapCode, TrapInfo, Val, WasmVersion,
};
use expect::Expect;

/// Why a file could not be run at all.
#[derive(Debug)]
pub enum RunError {
    /// The script does not parse; `message` is the parser's, with location.
    Parse { file: String, message: String },
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

/// Runs one `.wast` script on `target` in a fresh session validating against
/// `version`. `file` names the script in reports and errors.
///
/// A target that stops answering (a hung or crashed board: [`TargetError::Transport`])
/// fails the directive it was running, with the reason, and is restarted
/// ([`Target::recover`]); the directives up to the next module are skipped (the instances
/// they use died with the board) and the file goes on from there. A target that cannot be
/// restarted ends the file: [`FileReport::target_lost`] says why, and the caller runs
/// nothing more on it. Nothing obtained before is lost either way.
pub fn run_wast<T: Target + ?Sized>(
    target: &mut T,
    version: WasmVersion,
    file: &str,
    text: &str,
) -> Result<FileReport, RunError> {
    let buf = ParseBuffer::new_with_lexer(lexer(text)).map_err(|e| parse_error(file, text, e))?;
    let wast: Wast<'_> = parser::parse(&buf).map_err(|e| parse_error(file, text, e))?;
    let lines = LineIndex::new(text);
    let mut report = FileReport::new(file);
    if let Err(error) = target.reset(version).or_else(|e| restart(target, version, e)) {
        report.failures.push(target_failure(1, "reset", &error));
        report.target_lost = Some(error.to_string());
        return Ok(report);
    }

    let mut session = Session {
        target,
        current: Err(Unavailable::new("no module has been instantiated yet")),
        instances: HashMap::new(),
        definitions: HashMap::new(),
        last_definition: Err(Unavailable::new("no module has been defined yet")),
        refusals_before_current: 0,
        version,
    };
    // Set after a restart: why directives are skipped until the next module.
    let mut lost: Option<String> = None;
    for directive in wast.directives {
        let line = lines.line(directive.span());
        let kind = kind_of(&directive);
        if let Some(reason) = &lost {
            if !matches!(directive, WastDirective::Module(_) | WastDirective::ModuleDefinition(_)) {
                report.skips.push(Skip { line, kind, reason: reason.clone() });
                let observed = format!("skipped: {reason}");
                report.records.push(Record { line, kind, verdict: Verdict::Skip, observed });
                continue;
            }
            lost = None;
        }
        let Judged { outcome, observed, board_limit } = match session.run(directive, line) {
            Ok(judged) => judged,
            Err(Fatal(error)) => {
                report.failures.push(target_failure(line, kind, &error));
                let observed = "error: the target stopped answering".to_owned();
                report.records.push(Record { line, kind, verdict: Verdict::Fail, observed });
                if let Err(error) = restart(session.target, version, error) {
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
                report.skips.push(Skip { line, kind, reason: reason.into() });
                (Verdict::Skip, format!("skipped: {reason}"))
            }
            Outcome::Fail { expected, got } => match session.board_limit_reason(board_limit) {
                Some(reason) => {
                    let observed = format!("{observed}; skipped: {reason}");
                    report.skips.push(Skip { line, kind, reason });
                    (Verdict::Skip, observed)
                }
                None => {
                    report.failures.push(Failure { line, kind, expected, got });
                    (Verdict::Fail, observed)
                }
            },
        };
        report.records.push(Record { line, kind, verdict, observed });
    }
    // Statistics are informative: a target that cannot report them still ran the file.
    report.stats = session.target.stats().ok();
    Ok(report)
}

/// The failure of a directive whose target stopped answering.
fn target_failure(line: usize, kind: &'static str, error: &TargetError) -> Failure {
    Failure { line, kind, expected: "the target to answer".into(), got: error.to_string() }
}

/// Restarts a target that failed with `error` and gives it a fresh session; the error
/// says why when that is impossible too.
fn restart<T: Target + ?Sized>(
    target: &mut T,
    version: WasmVersion,
    error: TargetError,
) -> Result<(), TargetError> {
    target.recover().map_err(|again| {
        TargetError::Transport(format!("{error}; restarting it failed too: {again}"))
    })?;
    target.reset(version)
}

/// Why an `assert_invalid`/`assert_malformed` is not passed on a target that does not
/// validate.
pub const CHECKED_ON_HOST_REASON: &str =
    "checked on the host: the target does not validate modules (the host rejected it)";

/// Decodes and validates `wasm` on the host, with the feature set `version` stands for.
fn host_validate(wasm: &[u8], version: WasmVersion) -> Result<(), wasmparser::BinaryReaderError> {
    use wasmparser::{Validator, WasmFeatures as F};
    let features = match version {
        WasmVersion::V1 => F::WASM1,
        WasmVersion::V2 => F::WASM2.difference(F::SIMD),
    };
    Validator::new_with_features(features).validate_all(wasm).map(drop)
}

/// Why later directives diverge once the board refused a `memory.grow`.
pub const GROW_REFUSED_REASON: &str = "the board refused a memory.grow since this instance \
     was created (spec-permitted); its later results diverge from the reference";

/// The name of the simulator's own limits (no board profile applied).
const DESKTOP_PROFILE: &str = "desktop";

/// Why a directive whose module the board refused for lack of resources is not a failure.
fn module_exceeds_board(message: &str) -> String {
    format!("the module exceeds the board profile ({message})")
}

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

/// A target error that ends the file.
struct Fatal(TargetError);

/// Separates fatal target errors (propagated) from ordinary refusals (kept).
fn split<T>(r: Result<T, TargetError>) -> Result<Result<T, TargetError>, Fatal> {
    match r {
        Err(e) if e.is_fatal() => Err(Fatal(e)),
        r => Ok(r),
    }
}

enum Outcome {
    Pass,
    Fail { expected: String, got: String },
    Skip(&'static str),
}

fn fail(expected: impl Into<String>, got: impl Into<String>) -> Outcome {
    Outcome::Fail { expected: expected.into(), got: got.into() }
}

/// A directive's judgement with what the target did.
struct Judged {
    outcome: Outcome,
    /// The canonical observation (see [`observe`]); unused for skips.
    observed: String,
    /// The message of a resource refusal of the module or instance involved.
    board_limit: Option<String>,
}

impl Judged {
    fn new(outcome: Outcome, observed: impl Into<String>) -> Self {
        Judged { outcome, observed: observed.into(), board_limit: None }
    }

    fn skip(reason: &'static str) -> Self {
        Judged::new(Outcome::Skip(reason), String::new())
    }

    fn board_limit(mut self, board_limit: Option<String>) -> Self {
        self.board_limit = board_limit;
        self
    }
}

/// Why a module or instance a directive refers to does not exist.
#[derive(Debug, Clone)]
struct Unavailable {
    why: String,
    /// Set when it does not exist because the board ran out of resources.
    board_limit: Option<String>,
}

impl Unavailable {
    fn new(why: impl Into<String>) -> Self {
        Unavailable { why: why.into(), board_limit: None }
    }
}

/// What became of a module on its way to an instance.
enum ModuleRun {
    /// The host could not turn the text into binary.
    EncodeFailed(String),
    /// The target refused the bytes.
    Rejected(TargetError),
    /// Loaded, but instantiation was refused (link error and the like).
    NotInstantiated(TargetError),
    /// Instantiation trapped.
    Trapped(TrapInfo),
    Instantiated(InstanceId),
    /// The module definition it names does not exist.
    Unavailable(Unavailable),
}

impl ModuleRun {
    /// What the target did, canonically.
    fn observed(&self) -> String {
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
    fn is_rejection(&self) -> bool {
        matches!(self, ModuleRun::Rejected(e) if e.is_rejection())
    }

    fn board_limit(&self) -> Option<String> {
        match self {
            ModuleRun::Rejected(e) | ModuleRun::NotInstantiated(e) => observe::board_limit(e),
            ModuleRun::Unavailable(u) => u.board_limit.clone(),
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
enum Exec {
    Returned(Vec<Val>),
    /// A module action instantiated (no results).
    Instantiated,
    Trapped(TrapInfo),
    /// It could not run.
    Error(NotRun),
    Skip(&'static str),
}

/// Why an action could not run.
struct NotRun {
    /// For the failure report.
    text: String,
    /// Canonically, for the record.
    observed: String,
    board_limit: Option<String>,
}

impl NotRun {
    fn unavailable(u: Unavailable, what: &str) -> Self {
        NotRun { text: u.why, observed: format!("error: no {what}"), board_limit: u.board_limit }
    }

    fn refused(text: String, error: &TargetError) -> Self {
        NotRun { text, observed: observe::error(error), board_limit: observe::board_limit(error) }
    }
}

impl Exec {
    fn observed(&self) -> String {
        match self {
            Exec::Returned(vals) => observe::returned(vals),
            Exec::Instantiated => "instantiated".into(),
            Exec::Trapped(t) => observe::trap(t),
            Exec::Error(e) => e.observed.clone(),
            Exec::Skip(reason) => format!("skipped: {reason}"),
        }
    }

    fn board_limit(&self) -> Option<String> {
        match self {
            Exec::Error(e) => e.board_limit.clone(),
            _ => None,
        }
    }
}

fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(module, QuoteWat::QuoteComponent(..) | QuoteWat::Wat(Wat::Component(_)))
}

const COMPONENT_REASON: &str = "the component model is out of scope";

fn encode(module: &mut QuoteWat<'_>) -> Result<Vec<u8>, String> {
    module.encode().map_err(|e| e.message())
}

/// The per-file state: the target and the names the script gave things.
struct Session<'t, T: ?Sized> {
    target: &'t mut T,
    /// The most recent instance, or why there is none.
    current: Result<InstanceId, Unavailable>,
    instances: HashMap<String, Result<InstanceId, Unavailable>>,
    definitions: HashMap<String, Result<ModuleId, Unavailable>>,
    last_definition: Result<ModuleId, Unavailable>,
    /// The target's `grow_refusals` when the current instance was created: a failure counts
    /// as a board limit only if the board refused a grow after that.
    refusals_before_current: u32,
    /// What the host validates against for a target that does not validate.
    version: WasmVersion,
}

/// The record of a module directive: instantiated or not, and what became of it.
fn module_judged(run: &ModuleRun, outcome: Outcome) -> Judged {
    Judged::new(outcome, run.observed()).board_limit(run.board_limit())
}

impl<T: Target + ?Sized> Session<'_, T> {
    /// Why a failing directive is a board limit rather than a failure, if it is:
    /// the module involved was refused for resources, or the board refused a
    /// `memory.grow` earlier. Statistics are queried only here, on failures.
    fn board_limit_reason(&mut self, board_limit: Option<String>) -> Option<String> {
        if let Some(message) = board_limit {
            return Some(module_exceeds_board(&message));
        }
        match self.target.stats() {
            Ok(stats) if stats.grow_refusals > self.refusals_before_current => {
                Some(GROW_REFUSED_REASON.to_owned())
            }
            _ => None,
        }
    }

    /// A call that ran out of call depth, value stack or fuel under a board profile's limits
    /// (which are smaller than the desktop's) ran into the board, not into a bug: the spec
    /// leaves exhaustion to the implementation.
    fn exhausted_on_board(&self, exec: &Exec) -> Option<String> {
        let Exec::Trapped(trap) = exec else { return None };
        self.target.board().filter(|b| *b != DESKTOP_PROFILE)?;
        match trap.code {
            TrapCode::StackExhausted => Some(format!(
                "{} at the board's call-depth and value-stack limits, which the spec permits",
                trap.message
            )),
            TrapCode::OutOfFuel => Some(format!("{} at the board's fuel limit", trap.message)),
            _ => None,
        }
    }

    fn run(&mut self, directive: WastDirective<'_>, line: usize) -> Result<Judged, Fatal> {
        Ok(match directive {
            WastDirective::Module(mut module) => {
                if is_component(&module) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let name = module.name();
                let run = self.instantiate(&mut module)?;
                let result = match run {
                    ModuleRun::Instantiated(instance) => Ok(instance),
                    ref other => Err(Unavailable {
                        why: format!("the module at line {line} failed: {other}"),
                        board_limit: other.board_limit(),
                    }),
                };
                self.set_current(name, result);
                let outcome = match &run {
                    ModuleRun::Instantiated(_) => Outcome::Pass,
                    other => fail("the module to instantiate", other.to_string()),
                };
                module_judged(&run, outcome)
            }
            WastDirective::ModuleDefinition(mut module) => {
                if is_component(&module) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let name = module.name();
                let (judged, result) = match self.load(&mut module)? {
                    Ok(id) => (Judged::new(Outcome::Pass, "loaded"), Ok(id)),
                    Err(run) => (
                        module_judged(&run, fail("the module to load", run.to_string())),
                        Err(Unavailable {
                            why: format!("the module defined at line {line} failed: {run}"),
                            board_limit: run.board_limit(),
                        }),
                    ),
                };
                if let Some(name) = name {
                    self.definitions.insert(name.name().to_owned(), result.clone());
                }
                self.last_definition = result;
                judged
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let definition = match module {
                    Some(id) => self.definitions.get(id.name()).cloned().unwrap_or_else(|| {
                        Err(Unavailable::new(format!("no module definition named ${}", id.name())))
                    }),
                    None => self.last_definition.clone(),
                };
                let run = match definition {
                    Ok(module) => self.instantiate_loaded(module)?,
                    Err(why) => ModuleRun::Unavailable(why),
                };
                let outcome = match &run {
                    ModuleRun::Instantiated(_) => Outcome::Pass,
                    other => fail("the module to instantiate", other.to_string()),
                };
                let judged = module_judged(&run, outcome);
                let result = match run {
                    ModuleRun::Instantiated(i) => Ok(i),
                    other => Err(Unavailable {
                        why: format!("the instance at line {line} failed: {other}"),
                        board_limit: other.board_limit(),
                    }),
                };
                self.set_current(instance, result);
                judged
            }
            WastDirective::Register { name, module, .. } => {
                let expected = format!("to register as \"{name}\"");
                match self.instance(module) {
                    Err(u) => Judged::new(fail(expected, u.why), "error: no instance")
                        .board_limit(u.board_limit),
                    Ok(instance) => match split(self.target.register(instance, name))? {
                        Ok(()) => Judged::new(Outcome::Pass, "registered"),
                        Err(e) => Judged::new(fail(expected, e.to_string()), observe::error(&e))
                            .board_limit(observe::board_limit(&e)),
                    },
                }
            }
            WastDirective::Invoke(invoke) => {
                let exec = self.invoke(&invoke)?;
                let (observed, board_limit) = (exec.observed(), exec.board_limit());
                let outcome = match exec {
                    Exec::Returned(_) | Exec::Instantiated => Outcome::Pass,
                    Exec::Trapped(t) => fail("the call to return", t.to_string()),
                    Exec::Error(e) => fail("the call to return", e.text),
                    Exec::Skip(reason) => Outcome::Skip(reason),
                };
                Judged::new(outcome, observed).board_limit(board_limit)
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let expected: Vec<Expect> =
                    match results.iter().map(expect::expect).collect::<Result<_, _>>() {
                        Ok(e) => e,
                        Err(reason) => return Ok(Judged::skip(reason)),
                    };
                let want = expect::list(&expected);
                let exec = self.execute(exec)?;
                let board_limit = exec.board_limit().or_else(|| self.exhausted_on_board(&exec));
                let observed = exec.observed();
                let outcome = match exec {
                    Exec::Returned(got) if expect::results_match(&expected, &got) => Outcome::Pass,
                    Exec::Returned(got) => fail(want, expect::list(&got)),
                    Exec::Instantiated if expected.is_empty() => Outcome::Pass,
                    Exec::Instantiated => fail(want, "it instantiated"),
                    Exec::Trapped(t) => fail(want, t.to_string()),
                    Exec::Error(e) => fail(want, e.text),
                    Exec::Skip(reason) => Outcome::Skip(reason),
                };
                Judged::new(outcome, observed).board_limit(board_limit)
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let exec = self.execute(exec)?;
                expect_trap(exec, message)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let exec = self.invoke(&call)?;
                expect_trap(exec, message)
            }
            WastDirective::AssertInvalid { mut module, .. } => {
                if is_component(&module) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let expected = "the module to be rejected as invalid";
                if let Some(judged) = self.checked_on_host(&mut module) {
                    return Ok(judged);
                }
                match self.load(&mut module)? {
                    Err(ModuleRun::EncodeFailed(_)) => Judged::skip(
                        "the module text does not encode on the host, so no binary reached the target",
                    ),
                    Err(run) if run.is_rejection() => module_judged(&run, Outcome::Pass),
                    Err(run) => module_judged(&run, fail(expected, run.to_string())),
                    Ok(_) => Judged::new(fail(expected, "it loaded"), "loaded"),
                }
            }
            WastDirective::AssertMalformed { mut module, .. } => {
                if is_component(&module) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let expected = "the module to be rejected as malformed";
                if let Some(judged) = self.checked_on_host(&mut module) {
                    return Ok(judged);
                }
                match self.load(&mut module)? {
                    // Text that does not parse or encode: checked on the host.
                    Err(run @ ModuleRun::EncodeFailed(_)) => module_judged(&run, Outcome::Pass),
                    Err(run) if run.is_rejection() => module_judged(&run, Outcome::Pass),
                    Err(run) => module_judged(&run, fail(expected, run.to_string())),
                    Ok(_) => Judged::new(fail(expected, "it loaded"), "loaded"),
                }
            }
            WastDirective::AssertUnlinkable { module, .. } => {
                if matches!(module, Wat::Component(_)) {
                    return Ok(Judged::skip(COMPONENT_REASON));
                }
                let mut module = QuoteWat::Wat(module);
                let expected = "instantiation to fail to link";
                match self.instantiate(&mut module)? {
                    ModuleRun::EncodeFailed(_) => Judged::skip(
                        "the module text does not encode on the host, so no binary reached the target",
                    ),
                    run @ ModuleRun::NotInstantiated(TargetError::Link(_)) => {
                        module_judged(&run, Outcome::Pass)
                    }
                    run @ ModuleRun::Instantiated(_) => {
                        module_judged(&run, fail(expected, "it instantiated"))
                    }
                    run => module_judged(&run, fail(expected, run.to_string())),
                }
            }
            WastDirective::AssertException { .. } => {
                Judged::skip("exception handling is out of scope")
            }
            WastDirective::AssertSuspension { .. } => {
                Judged::skip("stack switching is out of scope")
            }
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                Judged::skip("threads are out of scope")
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {
                Judged::skip("custom-section assertions are out of scope")
            }
        })
    }

    /// Drops every handle: the target restarted after `line` and lost them.
    fn forget(&mut self, line: usize) {
        let gone =
            || Err(Unavailable::new(format!("lost when the target restarted after line {line}")));
        self.current = gone();
        self.last_definition =
            Err(Unavailable::new(format!("lost when the target restarted after line {line}")));
        self.instances.values_mut().for_each(|i| *i = gone());
        self.definitions.clear();
        self.refusals_before_current = 0;
    }

    /// Records the latest instance (or why there is none), under `name` too.
    fn set_current(&mut self, name: Option<Id<'_>>, result: Result<InstanceId, Unavailable>) {
        if let Some(name) = name {
            self.instances.insert(name.name().to_owned(), result.clone());
        }
        if result.is_ok() {
            // Refusals before this instance existed say nothing about its results.
            self.refusals_before_current =
                self.target.stats().map_or(0, |stats| stats.grow_refusals);
        }
        self.current = result;
    }

    /// The instance a directive names (`$id`), or the latest one.
    fn instance(&self, name: Option<Id<'_>>) -> Result<InstanceId, Unavailable> {
        match name {
            None => self.current.clone(),
            Some(id) => self.instances.get(id.name()).cloned().unwrap_or_else(|| {
                Err(Unavailable::new(format!("no module named ${}", id.name())))
            }),
        }
    }

    /// Encodes and loads a module. `Err` holds an `EncodeFailed` or `Rejected`.
    /// For a target that does not validate, an `assert_invalid`/`assert_malformed` module
    /// is judged on the host: rejected there, the directive is skipped as "checked on the
    /// host" (never passed: the board did not check it); accepted there, `None`, and the
    /// target gets it as usual (and the assertion will fail). Text that does not encode is
    /// left to the usual path too.
    fn checked_on_host(&mut self, module: &mut QuoteWat<'_>) -> Option<Judged> {
        if self.target.validates() {
            return None;
        }
        let bytes = encode(module).ok()?;
        host_validate(&bytes, self.version).is_err().then(|| Judged::skip(CHECKED_ON_HOST_REASON))
    }

    fn load(&mut self, module: &mut QuoteWat<'_>) -> Result<Result<ModuleId, ModuleRun>, Fatal> {
        let bytes = match encode(module) {
            Ok(bytes) => bytes,
            Err(e) => return Ok(Err(ModuleRun::EncodeFailed(e))),
        };
        Ok(split(self.target.load(&bytes))?.map_err(ModuleRun::Rejected))
    }

    fn instantiate_loaded(&mut self, module: ModuleId) -> Result<ModuleRun, Fatal> {
        Ok(match split(self.target.instantiate(module))? {
            Ok(Ok(instance)) => ModuleRun::Instantiated(instance),
            Ok(Err(trap)) => ModuleRun::Trapped(trap),
            Err(e) => ModuleRun::NotInstantiated(e),
        })
    }

    fn instantiate(&mut self, module: &mut QuoteWat<'_>) -> Result<ModuleRun, Fatal> {
        match self.load(module)? {
            Ok(id) => self.instantiate_loaded(id),
            Err(run) => Ok(run),
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Exec, Fatal> {
        let args: Vec<Val> = match invoke.args.iter().map(expect::arg).collect::<Result<_, _>>() {
            Ok(args) => args,
            Err(reason) => return Ok(Exec::Skip(reason)),
        };
        let instance = match self.instance(invoke.module) {
            Ok(i) => i,
            Err(u) => return Ok(Exec::Error(NotRun::unavailable(u, "instance"))),
        };
        Ok(match split(self.target.invoke(instance, invoke.name, &args))? {
            Ok(Ok(results)) => Exec::Returned(results),
            Ok(Err(trap)) => Exec::Trapped(trap),
            Err(e) => {
                Exec::Error(NotRun::refused(format!("invoking \"{}\": {e}", invoke.name), &e))
            }
        })
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Exec, Fatal> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = match self.instance(module) {
                    Ok(i) => i,
                    Err(u) => return Ok(Exec::Error(NotRun::unavailable(u, "instance"))),
                };
                Ok(match split(self.target.get_global(instance, global))? {
                    Ok(v) => Exec::Returned(vec![v]),
                    Err(e) => Exec::Error(NotRun::refused(
                        format!("reading global \"{global}\": {e}"),
                        &e,
                    )),
                })
            }
            WastExecute::Wat(Wat::Component(_)) => Ok(Exec::Skip(COMPONENT_REASON)),
            WastExecute::Wat(module) => {
                let mut module = QuoteWat::Wat(module);
                Ok(match self.instantiate(&mut module)? {
                    ModuleRun::Instantiated(_) => Exec::Instantiated,
                    ModuleRun::Trapped(trap) => Exec::Trapped(trap),
                    other => Exec::Error(NotRun {
                        text: other.to_string(),
                        observed: other.observed(),
                        board_limit: other.board_limit(),
                    }),
                })
            }
        }
    }
}

fn expect_trap(exec: Exec, message: &str) -> Judged {
    let want = format!("trap \"{message}\"");
    let (observed, board_limit) = (exec.observed(), exec.board_limit());
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
    Judged::new(outcome, observed).board_limit(board_limit)
}

#[cfg(test)]
mod tests;
