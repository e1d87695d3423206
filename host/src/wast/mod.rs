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

pub mod expect;

use std::collections::HashMap;
use std::fmt;

use ::wast::lexer::Lexer;
use ::wast::parser::{self, ParseBuffer};
use ::wast::token::{Id, Span};
use ::wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

use crate::report::{Failure, FileReport, Skip};
use crate::target::{InstanceId, ModuleId, Target, TargetError, TrapInfo, Val, WasmVersion};
use expect::Expect;

/// Why a file could not be run to its end.
#[derive(Debug)]
pub enum RunError {
    /// The script does not parse; `message` is the parser's, with location.
    Parse { file: String, message: String },
    /// The target failed fatally (e.g. its connection broke) at `line`.
    Target { file: String, line: usize, error: TargetError },
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Parse { file, message } => write!(f, "cannot parse {file}: {message}"),
            RunError::Target { file, line, error } => write!(f, "{file}:{line}: {error}"),
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
pub fn run_wast<T: Target + ?Sized>(
    target: &mut T,
    version: WasmVersion,
    file: &str,
    text: &str,
) -> Result<FileReport, RunError> {
    let buf = ParseBuffer::new_with_lexer(lexer(text)).map_err(|e| parse_error(file, text, e))?;
    let wast: Wast<'_> = parser::parse(&buf).map_err(|e| parse_error(file, text, e))?;
    let lines = LineIndex::new(text);
    let fatal =
        |line: usize, error: TargetError| RunError::Target { file: file.to_owned(), line, error };
    target.reset(version).map_err(|e| fatal(1, e))?;

    let mut session = Session {
        target,
        current: Err("no module has been instantiated yet".into()),
        instances: HashMap::new(),
        definitions: HashMap::new(),
        last_definition: Err("no module has been defined yet".into()),
    };
    let mut report = FileReport::new(file);
    for directive in wast.directives {
        let line = lines.line(directive.span());
        let kind = kind_of(&directive);
        match session.run(directive, line).map_err(|Fatal(e)| fatal(line, e))? {
            Outcome::Pass => report.passed += 1,
            Outcome::Fail { expected, got } => {
                report.failures.push(Failure { line, kind, expected, got })
            }
            Outcome::Skip(reason) => report.skips.push(Skip { line, kind, reason: reason.into() }),
        }
    }
    Ok(report)
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
}

impl fmt::Display for ModuleRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleRun::EncodeFailed(e) => write!(f, "text does not encode: {e}"),
            ModuleRun::Rejected(e) => write!(f, "load failed: {e}"),
            ModuleRun::NotInstantiated(e) => write!(f, "instantiation failed: {e}"),
            ModuleRun::Trapped(t) => write!(f, "instantiation {t}"),
            ModuleRun::Instantiated(i) => write!(f, "instance #{}", i.0),
        }
    }
}

/// What an action (`invoke`, `get`, or a module in `assert_return`/`assert_trap`) did.
enum Exec {
    Returned(Vec<Val>),
    Trapped(TrapInfo),
    /// It could not run; the text says why.
    Error(String),
    Skip(&'static str),
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
    current: Result<InstanceId, String>,
    instances: HashMap<String, Result<InstanceId, String>>,
    definitions: HashMap<String, Result<ModuleId, String>>,
    last_definition: Result<ModuleId, String>,
}

impl<T: Target + ?Sized> Session<'_, T> {
    fn run(&mut self, directive: WastDirective<'_>, line: usize) -> Result<Outcome, Fatal> {
        Ok(match directive {
            WastDirective::Module(mut module) => {
                if is_component(&module) {
                    return Ok(Outcome::Skip(COMPONENT_REASON));
                }
                let name = module.name();
                let run = self.instantiate(&mut module)?;
                let result = match run {
                    ModuleRun::Instantiated(instance) => Ok(instance),
                    ref other => Err(format!("the module at line {line} failed: {other}")),
                };
                self.set_current(name, result);
                match run {
                    ModuleRun::Instantiated(_) => Outcome::Pass,
                    other => fail("the module to instantiate", other.to_string()),
                }
            }
            WastDirective::ModuleDefinition(mut module) => {
                if is_component(&module) {
                    return Ok(Outcome::Skip(COMPONENT_REASON));
                }
                let name = module.name();
                let (outcome, result) = match self.load(&mut module)? {
                    Ok(id) => (Outcome::Pass, Ok(id)),
                    Err(run) => (
                        fail("the module to load", run.to_string()),
                        Err(format!("the module defined at line {line} failed: {run}")),
                    ),
                };
                if let Some(name) = name {
                    self.definitions.insert(name.name().to_owned(), result.clone());
                }
                self.last_definition = result;
                outcome
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                let definition = match module {
                    Some(id) => self.definitions.get(id.name()).cloned().unwrap_or_else(|| {
                        Err(format!("no module definition named ${}", id.name()))
                    }),
                    None => self.last_definition.clone(),
                };
                let run = match definition {
                    Ok(module) => self.instantiate_loaded(module)?,
                    Err(why) => ModuleRun::NotInstantiated(TargetError::Request(why)),
                };
                let outcome = match &run {
                    ModuleRun::Instantiated(_) => Outcome::Pass,
                    other => fail("the module to instantiate", other.to_string()),
                };
                let result = match run {
                    ModuleRun::Instantiated(i) => Ok(i),
                    other => Err(format!("the instance at line {line} failed: {other}")),
                };
                self.set_current(instance, result);
                outcome
            }
            WastDirective::Register { name, module, .. } => match self.instance(module) {
                Err(why) => fail(format!("to register as \"{name}\""), why),
                Ok(instance) => match split(self.target.register(instance, name))? {
                    Ok(()) => Outcome::Pass,
                    Err(e) => fail(format!("to register as \"{name}\""), e.to_string()),
                },
            },
            WastDirective::Invoke(invoke) => match self.invoke(&invoke)? {
                Exec::Returned(_) => Outcome::Pass,
                Exec::Trapped(t) => fail("the call to return", t.to_string()),
                Exec::Error(e) => fail("the call to return", e),
                Exec::Skip(reason) => Outcome::Skip(reason),
            },
            WastDirective::AssertReturn { exec, results, .. } => {
                let expected: Vec<Expect> =
                    match results.iter().map(expect::expect).collect::<Result<_, _>>() {
                        Ok(e) => e,
                        Err(reason) => return Ok(Outcome::Skip(reason)),
                    };
                let want = expect::list(&expected);
                match self.execute(exec)? {
                    Exec::Returned(got) if expect::results_match(&expected, &got) => Outcome::Pass,
                    Exec::Returned(got) => fail(want, expect::list(&got)),
                    Exec::Trapped(t) => fail(want, t.to_string()),
                    Exec::Error(e) => fail(want, e),
                    Exec::Skip(reason) => Outcome::Skip(reason),
                }
            }
            WastDirective::AssertTrap { exec, message, .. } => {
                let outcome = self.execute(exec)?;
                expect_trap(outcome, message)
            }
            WastDirective::AssertExhaustion { call, message, .. } => {
                let outcome = self.invoke(&call)?;
                expect_trap(outcome, message)
            }
            WastDirective::AssertInvalid { mut module, .. } => {
                if is_component(&module) {
                    return Ok(Outcome::Skip(COMPONENT_REASON));
                }
                match self.load(&mut module)? {
                    Err(ModuleRun::Rejected(e)) if e.is_rejection() => Outcome::Pass,
                    Err(ModuleRun::EncodeFailed(_)) => Outcome::Skip(
                        "the module text does not encode on the host, so no binary reached the target",
                    ),
                    Err(other) => fail("the module to be rejected as invalid", other.to_string()),
                    Ok(_) => fail("the module to be rejected as invalid", "it loaded"),
                }
            }
            WastDirective::AssertMalformed { mut module, .. } => {
                if is_component(&module) {
                    return Ok(Outcome::Skip(COMPONENT_REASON));
                }
                match self.load(&mut module)? {
                    // Text that does not parse or encode: checked on the host.
                    Err(ModuleRun::EncodeFailed(_)) => Outcome::Pass,
                    Err(ModuleRun::Rejected(e)) if e.is_rejection() => Outcome::Pass,
                    Err(other) => fail("the module to be rejected as malformed", other.to_string()),
                    Ok(_) => fail("the module to be rejected as malformed", "it loaded"),
                }
            }
            WastDirective::AssertUnlinkable { module, .. } => {
                if matches!(module, Wat::Component(_)) {
                    return Ok(Outcome::Skip(COMPONENT_REASON));
                }
                let mut module = QuoteWat::Wat(module);
                match self.instantiate(&mut module)? {
                    ModuleRun::NotInstantiated(TargetError::Link(_)) => Outcome::Pass,
                    ModuleRun::EncodeFailed(_) => Outcome::Skip(
                        "the module text does not encode on the host, so no binary reached the target",
                    ),
                    ModuleRun::Instantiated(_) => {
                        fail("instantiation to fail to link", "it instantiated")
                    }
                    other => fail("instantiation to fail to link", other.to_string()),
                }
            }
            WastDirective::AssertException { .. } => {
                Outcome::Skip("exception handling is out of scope")
            }
            WastDirective::AssertSuspension { .. } => {
                Outcome::Skip("stack switching is out of scope")
            }
            WastDirective::Thread(_) | WastDirective::Wait { .. } => {
                Outcome::Skip("threads are out of scope")
            }
            WastDirective::AssertInvalidCustom { .. }
            | WastDirective::AssertMalformedCustom { .. } => {
                Outcome::Skip("custom-section assertions are out of scope")
            }
        })
    }

    /// Records the latest instance (or why there is none), under `name` too.
    fn set_current(&mut self, name: Option<Id<'_>>, result: Result<InstanceId, String>) {
        if let Some(name) = name {
            self.instances.insert(name.name().to_owned(), result.clone());
        }
        self.current = result;
    }

    /// The instance a directive names (`$id`), or the latest one.
    fn instance(&self, name: Option<Id<'_>>) -> Result<InstanceId, String> {
        match name {
            None => self.current.clone(),
            Some(id) => self
                .instances
                .get(id.name())
                .cloned()
                .unwrap_or_else(|| Err(format!("no module named ${}", id.name()))),
        }
    }

    /// Encodes and loads a module. `Err` holds an `EncodeFailed` or `Rejected`.
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
            Err(why) => return Ok(Exec::Error(why)),
        };
        Ok(match split(self.target.invoke(instance, invoke.name, &args))? {
            Ok(Ok(results)) => Exec::Returned(results),
            Ok(Err(trap)) => Exec::Trapped(trap),
            Err(e) => Exec::Error(format!("invoking \"{}\": {e}", invoke.name)),
        })
    }

    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Exec, Fatal> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = match self.instance(module) {
                    Ok(i) => i,
                    Err(why) => return Ok(Exec::Error(why)),
                };
                Ok(match split(self.target.get_global(instance, global))? {
                    Ok(v) => Exec::Returned(vec![v]),
                    Err(e) => Exec::Error(format!("reading global \"{global}\": {e}")),
                })
            }
            WastExecute::Wat(Wat::Component(_)) => Ok(Exec::Skip(COMPONENT_REASON)),
            WastExecute::Wat(module) => {
                let mut module = QuoteWat::Wat(module);
                Ok(match self.instantiate(&mut module)? {
                    ModuleRun::Instantiated(_) => Exec::Returned(Vec::new()),
                    ModuleRun::Trapped(trap) => Exec::Trapped(trap),
                    other => Exec::Error(other.to_string()),
                })
            }
        }
    }
}

fn expect_trap(outcome: Exec, message: &str) -> Outcome {
    let want = format!("trap \"{message}\"");
    match outcome {
        Exec::Trapped(trap) if expect::trap_message_matches(message, &trap.message) => {
            Outcome::Pass
        }
        Exec::Trapped(trap) => fail(want, trap.to_string()),
        Exec::Returned(vals) => fail(want, format!("returned {}", expect::list(&vals))),
        Exec::Error(e) => fail(want, e),
        Exec::Skip(reason) => Outcome::Skip(reason),
    }
}

#[cfg(test)]
mod tests;
