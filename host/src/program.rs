//! A user's own program: one `.wasm` file (or `.wat` text), called on any target the way
//! `tandem call FILE EXPORT ARGS...` does (read it, find the export's signature, turn the
//! command line's words into typed arguments, run it in a fresh session with the host
//! modules asked for), or run as a suite file the way `tandem run app.wasm` does: `_start`
//! (or another export) called, the exit code and the output held to what is expected.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tandem_protocol::{InvokeRequest, Progress, Suspension, WasiSetup};
use wasmparser::{ExternalKind, FuncType, Parser, Payload, TypeRef, ValType};

use crate::report::{Failure, FileReport, Record, Verdict};
use crate::target::{Reported, Target, TargetError};
use crate::wast::observe;
use crate::{Features, Trap, Val};

/// Why a program could not be called.
#[derive(Debug)]
pub enum ProgramError {
    /// The file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is neither a binary module nor WebAssembly text that encodes.
    Text {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// The module's sections do not decode far enough to find its exports.
    Malformed(String),
    /// No function of that name is exported.
    NoExport {
        /// The name asked for.
        export: String,
        /// The functions it exports.
        exports: Vec<String>,
    },
    /// The export's signature has a type the command line cannot spell (e.g. `v128`).
    UnsupportedType(String),
    /// The arguments do not fit the signature.
    Arguments(String),
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgramError::Read { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            ProgramError::Text { path, message } => write!(
                f,
                "{} is neither a binary module (it does not start with \\0asm) nor WebAssembly \
                 text: {message}",
                path.display()
            ),
            ProgramError::Malformed(message) => write!(f, "malformed module: {message}"),
            ProgramError::NoExport { export, exports } if exports.is_empty() => {
                write!(f, "the module exports no function `{export}` (it exports no functions)")
            }
            ProgramError::NoExport { export, exports } => write!(
                f,
                "the module exports no function `{export}` (its functions: {})",
                exports.join(", ")
            ),
            ProgramError::UnsupportedType(ty) => {
                write!(f, "the export's signature has a {ty}, which arguments cannot be given as")
            }
            ProgramError::Arguments(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ProgramError {}

/// A module's bytes from `path`: a binary module or an image (`tandem compile`) as it is,
/// WebAssembly text encoded.
pub fn read(path: &Path) -> Result<Vec<u8>, ProgramError> {
    let bytes = std::fs::read(path)
        .map_err(|source| ProgramError::Read { path: path.to_owned(), source })?;
    if bytes.starts_with(b"\0asm") || is_image(&bytes) {
        return Ok(bytes);
    }
    let text = |message: String| ProgramError::Text { path: path.to_owned(), message };
    let source = String::from_utf8(bytes).map_err(|e| text(e.to_string()))?;
    let buf = wast::parser::ParseBuffer::new(&source).map_err(|e| text(e.to_string()))?;
    let mut wat: wast::Wat<'_> = wast::parser::parse(&buf).map_err(|e| text(e.to_string()))?;
    wat.encode().map_err(|e| text(e.to_string()))
}

/// Whether `bytes` are an image (`tandem compile`) rather than a WebAssembly module.
pub fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"TNDM")
}

/// The features an image was compiled for, which a session must accept to read it; `None`
/// for a WebAssembly module (or bytes whose header does not say).
pub fn image_features(bytes: &[u8]) -> Option<Features> {
    tandem_interp::Module::image_config(bytes).ok().map(|config| config.features)
}

/// The signature of the function `export` exports, from the module's sections (or, for an
/// image, from the module it holds).
pub fn export_signature(wasm: &[u8], export: &str) -> Result<FuncType, ProgramError> {
    if is_image(wasm) {
        return image_export_signature(wasm, export);
    }
    let malformed = |e: wasmparser::BinaryReaderError| ProgramError::Malformed(e.to_string());
    let mut types = Vec::new();
    let mut funcs = Vec::new(); // type index of every function, imported ones first
    let mut exports = Vec::new();
    let mut found = None;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(malformed)? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    types.push(ty.map_err(malformed)?);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    if let TypeRef::Func(ty) = import.map_err(malformed)?.ty {
                        funcs.push(ty);
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    funcs.push(ty.map_err(malformed)?);
                }
            }
            Payload::ExportSection(reader) => {
                for e in reader {
                    let e = e.map_err(malformed)?;
                    if e.kind == ExternalKind::Func {
                        exports.push(e.name.to_owned());
                        if e.name == export {
                            found = Some(e.index);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let no_export = || ProgramError::NoExport { export: export.to_owned(), exports };
    let index = found.ok_or_else(no_export)?;
    funcs
        .get(index as usize)
        .and_then(|&ty| types.get(ty as usize))
        .cloned()
        .ok_or_else(|| ProgramError::Malformed(format!("export `{export}` names no function")))
}

/// [`export_signature`] of an image: read with the config its header names.
fn image_export_signature(image: &[u8], export: &str) -> Result<FuncType, ProgramError> {
    let bad = |e: tandem_interp::Error| ProgramError::Malformed(e.to_string());
    let config = tandem_interp::Module::image_config(image).map_err(bad)?;
    let module = tandem_interp::Module::from_image(&config, image).map_err(bad)?;
    let Some(ty) = module.func_type_of_export(export) else {
        let exports = module
            .exports()
            .filter(|(_, kind)| *kind == tandem_interp::ExternKind::Func)
            .map(|(name, _)| name.to_owned())
            .collect();
        return Err(ProgramError::NoExport { export: export.to_owned(), exports });
    };
    let val = |t: &tandem_interp::ValType| match t {
        tandem_interp::ValType::I32 => ValType::I32,
        tandem_interp::ValType::I64 => ValType::I64,
        tandem_interp::ValType::F32 => ValType::F32,
        tandem_interp::ValType::F64 => ValType::F64,
        tandem_interp::ValType::FuncRef => ValType::FUNCREF,
        tandem_interp::ValType::ExternRef => ValType::EXTERNREF,
    };
    Ok(FuncType::new(ty.params().iter().map(val), ty.results().iter().map(val)))
}

/// The command line's words as arguments of `params`: integers (decimal, or `0x` hex; an
/// i32 also from 2^31..2^32, as its bits), floats (`1.5`, `-0`, `inf`, `nan`), `null` for a
/// null reference and a number for an externref.
pub fn parse_args(params: &[ValType], words: &[String]) -> Result<Vec<Val>, ProgramError> {
    if params.len() != words.len() {
        return Err(ProgramError::Arguments(format!(
            "the function takes {} arguments ({}), {} given",
            params.len(),
            params.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            words.len()
        )));
    }
    params.iter().zip(words).map(|(&ty, word)| parse_arg(ty, word)).collect()
}

fn parse_arg(ty: ValType, word: &str) -> Result<Val, ProgramError> {
    let bad = || ProgramError::Arguments(format!("`{word}` is not a {ty}"));
    let int = |word: &str| -> Option<i128> {
        let (negative, digits) = match word.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, word),
        };
        let value = match digits.strip_prefix("0x") {
            Some(hex) => i128::from_str_radix(hex, 16).ok()?,
            None => digits.parse::<i128>().ok()?,
        };
        Some(if negative { -value } else { value })
    };
    Ok(match ty {
        ValType::I32 => match int(word).ok_or_else(bad)? {
            v @ -0x8000_0000..=0xffff_ffff => Val::I32(v as u32 as i32),
            _ => return Err(bad()),
        },
        ValType::I64 => match int(word).ok_or_else(bad)? {
            v @ -0x8000_0000_0000_0000..=0xffff_ffff_ffff_ffff => Val::I64(v as u64 as i64),
            _ => return Err(bad()),
        },
        ValType::F32 => Val::F32(word.parse::<f32>().map_err(|_| bad())?.to_bits()),
        ValType::F64 => Val::F64(word.parse::<f64>().map_err(|_| bad())?.to_bits()),
        ValType::Ref(r) if r.is_func_ref() && word == "null" => Val::FuncRef(None),
        ValType::Ref(r) if r.is_extern_ref() => match word {
            "null" => Val::ExternRef(None),
            n => Val::ExternRef(Some(n.parse().map_err(|_| bad())?)),
        },
        other => return Err(ProgramError::UnsupportedType(other.to_string())),
    })
}

/// A value as `tandem call` prints it: the number alone.
pub fn show(val: &Val) -> String {
    match *val {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(bits).to_string(),
        Val::F64(bits) => f64::from_bits(bits).to_string(),
        Val::FuncRef(None) | Val::ExternRef(None) => "null".into(),
        Val::FuncRef(Some(_)) => "ref.func".into(),
        Val::ExternRef(Some(n)) => format!("ref.extern {n}"),
    }
}

/// What a call of a program's export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Called {
    /// What its instantiation (a start function) and the call printed, and the code it
    /// passed to WASI's `proc_exit` if it exited that way.
    pub reported: Reported,
    /// The results, or the trap that ended it (in the start function or the call; also
    /// the one `proc_exit` stops it with).
    pub results: Result<Vec<Val>, Trap>,
    /// Run as a task in slices ([`call`]'s `slice`): how it stopped on the way.
    pub stops: Option<Stops>,
}

/// How [`call`] runs a call as a task: `fuel` a slice, and the slices together stopped
/// after `timeout`, as one call would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slices {
    /// Fuel per slice.
    pub fuel: u64,
    /// The time the whole call may take.
    pub timeout: Duration,
}

/// How often a call run as a task stopped before it ended, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stops {
    /// Slices whose fuel ran out.
    pub out_of_fuel: u32,
    /// Host functions that asked to yield (`sched_yield`, `tandem.yield`).
    pub yielded: u32,
    /// Stops for the interrupt flag (the deadline).
    pub interrupted: u32,
}

/// Runs `export` of `wasm` with `args` on `target`, in a fresh session validating against
/// `features` with the host modules `hosts` linked and `wasi` the world a WASI program sees.
/// With `slices`, the call runs as a task with the board's stack limits, resumed a slice at
/// a time (and after each yield) until it ends, as a scheduler would.
#[allow(clippy::too_many_arguments)] // the call's one description, as the CLI gives it
pub fn call<T: Target + ?Sized>(
    target: &mut T,
    features: Features,
    hosts: &[&str],
    wasi: &WasiSetup,
    wasm: &[u8],
    export: &str,
    args: &[Val],
    slices: Option<Slices>,
) -> Result<Called, TargetError> {
    wasi.check()?;
    // An image is read by a session of the features it was compiled for.
    let features = image_features(wasm).unwrap_or(features);
    target.reset(features, hosts)?;
    target.set_wasi(wasi)?;
    let module = target.load(wasm)?;
    let instance = match target.instantiate(module)? {
        Ok(instance) => instance,
        Err(trap) => {
            return Ok(Called {
                reported: target.take_reported(),
                results: Err(trap),
                stops: None,
            });
        }
    };
    let Some(Slices { fuel, timeout }) = slices else {
        let results = target.invoke(instance, export, args)?;
        return Ok(Called { reported: target.take_reported(), results, stops: None });
    };
    let task = target.task_new(None, None)?;
    let call = InvokeRequest { instance, export: export.to_owned(), args: args.to_vec() };
    let mut stops = Stops::default();
    let started = Instant::now();
    let mut progress = target.task_start(task, &call, fuel)?;
    let results = loop {
        match progress {
            Ok(Progress::Finished(results)) => break Ok(results),
            Err(trap) => break Err(trap),
            // The target's deadline stopped a slice, or the slices together took too long.
            Ok(Progress::Suspended(Suspension::Interrupted)) => {
                break Err(Trap::timed_out(timeout));
            }
            Ok(Progress::Suspended(_)) if started.elapsed() > timeout => {
                break Err(Trap::timed_out(timeout));
            }
            Ok(Progress::Suspended(why)) => {
                *match why {
                    Suspension::OutOfFuel => &mut stops.out_of_fuel,
                    Suspension::Yielded => &mut stops.yielded,
                    Suspension::Interrupted => &mut stops.interrupted,
                } += 1;
                progress = target.task_resume(task, fuel)?;
            }
        }
    };
    Ok(Called { reported: target.take_reported(), results, stops: Some(stops) })
}

/// How programs in a suite run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramOptions {
    /// The export to call, without arguments.
    pub export: String,
    /// The exit code that passes: what `proc_exit` is called with, or 0 when the export
    /// returns.
    pub expect_exit: u32,
    /// The host modules to link.
    pub hosts: Vec<String>,
    /// A WASI program's arguments after its name (its file name without `.wasm`).
    pub args: Vec<String>,
    /// Its environment, as `NAME=value` strings.
    pub env: Vec<String>,
    /// What it reads from stdin.
    pub stdin: Vec<u8>,
}

impl ProgramOptions {
    /// The WASI world of the program in `file`: its name (`argv[0]`) is the file's, without
    /// the extension.
    pub fn wasi(&self, file: impl AsRef<Path>) -> WasiSetup {
        let name = file.as_ref().file_stem().map_or("main".into(), |s| s.to_string_lossy());
        let args = std::iter::once(name.into_owned()).chain(self.args.iter().cloned()).collect();
        WasiSetup { args, env: self.env.clone(), stdin: self.stdin.clone() }
    }
}

impl Default for ProgramOptions {
    /// `_start`, exit code 0, the `tandem` test module and WASI. Not `spectest`, which only
    /// the spec tests import: its memory would take a page of a small board's heap.
    fn default() -> Self {
        ProgramOptions {
            export: "_start".into(),
            expect_exit: 0,
            hosts: ["tandem", "wasi_snapshot_preview1"].map(String::from).to_vec(),
            args: Vec::new(),
            env: Vec::new(),
            stdin: Vec::new(),
        }
    }
}

/// A program in a suite: its module, the output it must print (its `NAME.stdout`), and how
/// to run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The module's bytes.
    pub wasm: Vec<u8>,
    /// What it must print to stdout, exactly; `None` checks nothing.
    pub expected_stdout: Option<Vec<u8>>,
    /// How it runs.
    pub options: ProgramOptions,
}

impl Program {
    /// A program run with the default options.
    pub fn new(wasm: Vec<u8>, expected_stdout: Option<Vec<u8>>) -> Self {
        Program { wasm, expected_stdout, options: ProgramOptions::default() }
    }

    /// Whether the module exports `_start`, as a WASI command does.
    pub fn is_command(&self) -> bool {
        export_signature(&self.wasm, "_start").is_ok()
    }
}

/// Runs `program` as one directive (`run`, line 1) of a file named `name`: passes when the
/// exit code is the expected one and, where expected output is given, stdout is exactly it.
/// A target that stops answering ends the file, with the reason.
pub fn run_program<T: Target + ?Sized>(
    target: &mut T,
    features: Features,
    name: &str,
    program: &Program,
) -> FileReport {
    let mut report = FileReport::new(name);
    let options = &program.options;
    let hosts: Vec<&str> = options.hosts.iter().map(String::as_str).collect();
    let (line, kind) = (1, "run");
    let wasi = options.wasi(name);
    let called = call(target, features, &hosts, &wasi, &program.wasm, &options.export, &[], None);
    let (got, observed) = match called {
        Ok(called) => {
            let outcome = match &called.results {
                Ok(values) => observe::returned(values),
                Err(trap) => observe::trap(trap),
            };
            let observed = observe::with_reported(outcome, &called.reported);
            (verdict(program, &called), observed)
        }
        Err(error) => {
            if error.is_fatal() {
                report.target_lost = Some(error.to_string());
            }
            (Err(format!("{error}")), observe::error(&error))
        }
    };
    let verdict = match got {
        Ok(()) => {
            report.passed += 1;
            Verdict::Pass
        }
        Err(got) => {
            let expected = match (&program.expected_stdout, options.expect_exit) {
                (Some(_), code) => format!("exit code {code} and the expected stdout"),
                (None, code) => format!("exit code {code}"),
            };
            report.failures.push(Failure { line, kind: kind.into(), expected, got });
            Verdict::Fail
        }
    };
    report.records.push(Record { line, kind: kind.into(), verdict, observed });
    report.stats = target.stats().ok();
    report
}

/// Why a run does not pass, if it does not.
fn verdict(program: &Program, called: &Called) -> Result<(), String> {
    let code = match (&called.results, called.reported.exit) {
        (_, Some(code)) => code,
        (Ok(_), None) => 0,
        (Err(trap), None) => return Err(format!("trap \"{}\"", trap.message)),
    };
    if code != program.options.expect_exit {
        return Err(format!("exit code {code}"));
    }
    match &program.expected_stdout {
        Some(expected) if *expected != called.reported.printed.stdout => Err(format!(
            "stdout {:?} (expected {:?})",
            String::from_utf8_lossy(&called.reported.printed.stdout),
            String::from_utf8_lossy(expected)
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn words_become_typed_arguments() {
        let params = [ValType::I32, ValType::I64, ValType::F32, ValType::F64];
        let args = parse_args(&params, &words(&["-1", "0x10", "1.5", "nan"])).unwrap();
        assert_eq!(args[..3], [Val::I32(-1), Val::I64(16), Val::F32(1.5f32.to_bits())]);
        assert!(matches!(args[3], Val::F64(bits) if f64::from_bits(bits).is_nan()));
        assert_eq!(parse_args(&[ValType::I32], &words(&["4294967295"])).unwrap(), [Val::I32(-1)]);
        for (ty, word) in [(ValType::I32, "4294967296"), (ValType::I64, "x"), (ValType::F32, "")] {
            let e = parse_args(&[ty], &words(&[word])).unwrap_err().to_string();
            assert!(e.contains(&format!("`{word}` is not a {ty}")), "{e}");
        }
        let e = parse_args(&params, &words(&["1"])).unwrap_err().to_string();
        assert!(e.contains("takes 4 arguments (i32, i64, f32, f64), 1 given"), "{e}");
    }

    #[test]
    fn the_export_s_signature_comes_from_the_module() {
        let wasm = wat::parse_str(
            r#"(module (import "env" "f" (func (param f64)))
                 (func (export "add") (param i32 i64) (result i64) local.get 1)
                 (memory (export "mem") 1))"#,
        )
        .unwrap();
        let ty = export_signature(&wasm, "add").unwrap();
        assert_eq!(
            (ty.params(), ty.results()),
            (&[ValType::I32, ValType::I64][..], &[ValType::I64][..])
        );
        let e = export_signature(&wasm, "mem").unwrap_err().to_string();
        assert!(e.contains("no function `mem` (its functions: add)"), "{e}");
        assert!(matches!(export_signature(b"\0asm\x01", "add"), Err(ProgramError::Malformed(_))));
    }
}
