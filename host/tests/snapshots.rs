//! Snapshots of what a target does with each suite, directive by directive, on the CI
//! board's profile: `suites/core`, `suites/limits`, `suites/bench`, `suites/apps` (with what
//! each program printed), `spec:v1` and `spec:v2`, and `suites/heap` under its own profile,
//! on the simulator and, where QEMU is installed, on the firmware under QEMU.
//!
//! Each snapshot (`snapshots/snapshots__<suite>.snap`) holds, per file, one line
//! per directive (`L{line} {kind}: {observed}`, target-independent wording) and
//! the statistics every target must agree on. Any target run through
//! [`snapshot_suite`] under the same snapshot name must match it, which is how a
//! board is held to the simulator. Target-dependent figures (heap, native stack,
//! ticks) go to a separate snapshot suffixed with the target's name, only for a
//! target that measures any.
//!
//! Update after an intended change with `INSTA_UPDATE=always cargo test -p tandem
//! --release --test snapshots` (or `cargo insta review`), and read the diff.

use std::path::Path;

use serde::Serialize;
use tandem::program::ProgramOptions;
use tandem::report::{FileReport, PortableStats, SuiteReport};
use tandem::suite::Plan;
use tandem::target::Target;
use tandem::target::qemu::{QemuOptions, QemuTarget};
use tandem::{Features, SimTarget, Suite, run_suite};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_protocol::TargetStats;

/// One suite's target-independent outcome.
#[derive(Serialize)]
struct SuiteSnapshot {
    suite: String,
    board: String,
    totals: String,
    files: Vec<FileSnapshot>,
}

#[derive(Serialize)]
struct FileSnapshot {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    records: Vec<String>,
    /// Directives that failed on this board, `L{line} {kind}: expected E, got G`,
    /// so a snapshot shows them without reading every record.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failures: Vec<String>,
    stats: Option<PortableStats>,
}

/// One suite's target-dependent figures, per file.
#[derive(Serialize)]
struct TargetSnapshot {
    suite: String,
    target: String,
    files: Vec<(String, Option<HeapFigures>)>,
}

/// The target figures that are deterministic run after run: heap use. Native stack depth
/// (an interrupt may or may not land on the deepest call), clock ticks (the tick phase
/// depends on how long the board waited for the host) and link counters are left out.
#[derive(Serialize)]
struct HeapFigures {
    heap_in_use: Option<u64>,
    heap_peak: Option<u64>,
    heap_size: Option<u64>,
}

impl From<&TargetStats> for HeapFigures {
    fn from(t: &TargetStats) -> Self {
        HeapFigures { heap_in_use: t.heap_in_use, heap_peak: t.heap_peak, heap_size: t.heap_size }
    }
}

/// The directory holding the project's own suites; file names are made relative to it.
fn suites_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../suites").to_owned()
}

/// Resolves `suite` (`spec:v1`, `spec:v2`, or a folder under `suites/`, e.g. `core`).
fn resolve(suite: &str) -> Suite {
    if suite.starts_with("spec:") {
        Suite::parse(suite).unwrap_or_else(|e| panic!("{e}"))
    } else {
        Suite::Path(Path::new(&suites_dir()).join(suite))
    }
}

/// Path-suite names are absolute; the snapshot must not depend on the checkout.
fn relative_name(name: &str) -> String {
    let root = format!("{}/", suites_dir());
    name.strip_prefix(&root).unwrap_or(name).to_owned()
}

fn suite_snapshot(suite: &str, board: &str, report: &SuiteReport) -> SuiteSnapshot {
    let files = report
        .files
        .iter()
        .map(|file: &FileReport| FileSnapshot {
            name: relative_name(&file.name),
            skipped: file.file_skip.as_ref().map(|s| s.reason.clone()),
            records: file.records.iter().map(|r| r.compact()).collect(),
            failures: file
                .failures
                .iter()
                .map(|f| format!("L{} {}: expected {}, got {}", f.line, f.kind, f.expected, f.got))
                .collect(),
            stats: file.portable_stats(),
        })
        .collect();
    let totals = format!(
        "{} passed, {} failed, {} skipped",
        report.passed(),
        report.failed(),
        report.skipped()
    );
    SuiteSnapshot { suite: suite.to_owned(), board: board.to_owned(), totals, files }
}

/// Runs `suite` on `target` and checks it against the snapshot `snapshot_name`,
/// which every target running the CI board's profile shares; the target's own
/// figures, if it has any, against `snapshot_name@<target name>`.
fn snapshot_suite(target: &mut dyn Target, suite: &str, snapshot_name: &str) {
    let resolved = resolve(suite);
    let report = run_suite(target, &resolved, Features::WASM2, None, |_| {})
        .unwrap_or_else(|e| panic!("{suite} on {}: {e}", target.name()));
    check_snapshot(target, suite, snapshot_name, &report);
}

/// Checks `report`, `suite`'s on `target`, against the snapshot `snapshot_name` (see
/// [`snapshot_suite`]).
fn check_snapshot(target: &dyn Target, suite: &str, snapshot_name: &str, report: &SuiteReport) {
    let board = target.board().unwrap_or(DEFAULT_BOARD).to_owned();
    insta::assert_yaml_snapshot!(snapshot_name, suite_snapshot(suite, &board, report));

    if report.files.iter().any(|f| f.target_stats().is_some()) {
        let figures = TargetSnapshot {
            suite: suite.to_owned(),
            target: target.name().to_owned(),
            files: report
                .files
                .iter()
                .map(|f| (relative_name(&f.name), f.target_stats().map(HeapFigures::from)))
                .collect(),
        };
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_suffix(target.name());
        settings.bind(|| insta::assert_yaml_snapshot!(snapshot_name, figures));
    }
}

/// The simulator with the CI board's limits and static buffer.
fn ci_simulator() -> SimTarget {
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    SimTarget::for_board(&board)
}

/// Runs `check` on a thread with the roomy stack the parser and interpreter get in the CLI.
fn with_big_stack(name: &str, check: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.to_owned())
        .stack_size(64 << 20)
        .spawn(check)
        .unwrap()
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

/// The snapshot names and the suites they hold: every target is checked against these.
const SUITES: [(&str, &str); 6] = [
    ("core", "core"),
    ("limits", "limits"),
    ("bench", "bench"),
    ("apps", "apps"),
    ("spec:v1", "spec_v1"),
    ("spec:v2", "spec_v2"),
];

#[test]
fn core_suite_on_the_simulator() {
    with_big_stack("core", || snapshot_suite(&mut ci_simulator(), "core", "core"));
}

#[test]
fn bench_suite_on_the_simulator() {
    with_big_stack("bench", || snapshot_suite(&mut ci_simulator(), "bench", "bench"));
}

#[test]
fn apps_suite_on_the_simulator() {
    with_big_stack("apps", || snapshot_suite(&mut ci_simulator(), "apps", "apps"));
}

/// `suites/heap` under its own small-heap profile: where the heap account bites, to the
/// byte. CI also runs it on QEMU with parity (the firmware built for that profile).
#[test]
fn heap_suite_on_the_simulator() {
    let profile = format!("{}/heap/qemu-small-heap.toml", suites_dir());
    let board = BoardProfile::find(&profile).unwrap_or_else(|e| panic!("{e}"));
    with_big_stack("heap", move || {
        snapshot_suite(&mut SimTarget::for_board(&board), "heap", "heap");
    });
}

#[test]
fn limits_suite_on_the_simulator() {
    with_big_stack("limits", || snapshot_suite(&mut ci_simulator(), "limits", "limits"));
}

/// The firmware on QEMU, held to the very snapshots the simulator matches. Skipped (saying
/// why) without `qemu-system-arm`, unless `TANDEM_REQUIRE_QEMU=1` (CI), which makes a missing
/// QEMU a failure. Two QEMUs share the suites' files, as `tandem run --target qemu --jobs 2`
/// would: what they report together must be what one board reports.
#[test]
fn every_suite_on_qemu() {
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    let mut boards: Vec<Box<dyn Target + Send>> = Vec::new();
    for _ in 0..2 {
        match QemuTarget::start(&QemuOptions::new(board.clone())) {
            Ok(target) => boards.push(Box::new(target)),
            Err(e) if std::env::var_os("TANDEM_REQUIRE_QEMU").is_none_or(|v| v != "1") => {
                eprintln!("SKIPPED every_suite_on_qemu: {e}");
                return;
            }
            Err(e) => panic!("the qemu target is required (TANDEM_REQUIRE_QEMU=1): {e}"),
        }
    }
    let names: Vec<String> = SUITES
        .iter()
        .map(|(suite, _)| {
            if suite.starts_with("spec:") {
                (*suite).to_owned()
            } else {
                format!("{}/{suite}", suites_dir())
            }
        })
        .collect();
    let plan = Plan::new(&names, Features::WASM2, None, &ProgramOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let reports = plan.run_jobs(&mut boards, &mut ()).unwrap_or_else(|e| panic!("{e}"));
    for ((suite, name), report) in SUITES.iter().zip(&reports) {
        check_snapshot(&*boards[0], suite, name, report);
    }
    for mut qemu in boards {
        qemu.finish().unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn spec_v1_on_the_simulator() {
    with_big_stack("spec_v1", || snapshot_suite(&mut ci_simulator(), "spec:v1", "spec_v1"));
}

#[test]
fn spec_v2_on_the_simulator() {
    with_big_stack("spec_v2", || snapshot_suite(&mut ci_simulator(), "spec:v2", "spec_v2"));
}
