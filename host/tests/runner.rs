//! The runner on the simulator with a hand-written script (`wast/directives.wast`)
//! that uses every directive kind and the whole `spectest` module. Two assertions
//! in it are wrong on purpose: the runner must report exactly those as failed,
//! with their lines, kinds, and expected vs got; two out-of-scope directives must
//! come back as skipped.

use tandem::suite::run_files;
use tandem::wast::count_directives;
use tandem::{Features, SimTarget, run_wast};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};

const SCRIPT: &str = include_str!("wast/directives.wast");

/// 1-based lines of the directives that follow a `DELIBERATE FAILURE` comment.
fn deliberate_failure_lines() -> Vec<usize> {
    SCRIPT
        .lines()
        .enumerate()
        .filter(|(_, line)| line.contains(";; DELIBERATE FAILURE"))
        .map(|(index, _)| index + 2)
        .collect()
}

#[test]
fn every_directive_kind_on_the_simulator() {
    let mut target = SimTarget::new();
    let report = run_wast(&mut target, Features::WASM2, "directives.wast", SCRIPT)
        .unwrap_or_else(|e| panic!("{e}"));
    for failure in &report.failures {
        println!("directives.wast:{failure}");
    }

    let lines: Vec<usize> = report.failures.iter().map(|f| f.line).collect();
    assert_eq!(lines, deliberate_failure_lines(), "only the deliberate failures may fail");

    let wrong_value = &report.failures[0];
    assert_eq!(wrong_value.kind, "assert_return");
    assert_eq!(wrong_value.expected, "[i32:3]");
    assert_eq!(wrong_value.got, "[i32:2]");

    let wrong_trap = &report.failures[1];
    assert_eq!(wrong_trap.kind, "assert_trap");
    assert_eq!(wrong_trap.expected, "trap \"integer overflow\"");
    assert!(wrong_trap.got.contains("integer divide by zero"), "{}", wrong_trap.got);

    let skipped: Vec<&str> = report.skips.iter().map(|s| s.kind.as_str()).collect();
    assert_eq!(skipped, ["assert_return", "assert_exception"]);

    let total = count_directives("directives.wast", SCRIPT).unwrap();
    assert_eq!(report.passed, total - 2 - 2);
    assert_eq!(report.records.len(), total, "one record per directive");
    assert!(report.stats.is_some(), "the simulator reports statistics");
}

/// A folder suite includes the `.wast` files of its subfolders, and the project's
/// own suites all pass on the simulator.
#[test]
fn folder_suites_are_collected_recursively_and_pass() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../suites");
    let suite = tandem::suite::Suite::parse(root).unwrap_or_else(|e| panic!("{e}"));
    let files = suite.files().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
    for expected in ["compute.wast", "memory.wast", "traps.wast", "qemu-mps2-an386.wast"] {
        assert!(names.contains(&expected), "{expected} not found in {names:?}");
    }
    // On the CI board's profile every file runs, the board's own limits suite included, but
    // those written for another profile: suites/heap's and suites/pages'.
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    let mut target = SimTarget::for_board(&board);
    let report =
        run_files(&mut target, "suites".into(), Features::SUPPORTED, &files, None, 0, |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
    for file in &report.files {
        assert!(file.failures.is_empty(), "{}: {:?}", file.name, file.failures);
        let elsewhere = [
            ("/heap/", "qemu-small-heap"),
            ("/pages/qemu", "qemu-small-static"),
            ("/pages/nrf52840-dk", "nrf52840-dk"),
        ];
        if let Some((_, board)) = elsewhere.iter().find(|(dir, _)| file.name.contains(dir)) {
            let reason = file.file_skip.as_ref().map(|s| s.reason.as_str()).unwrap_or_default();
            let expected = format!("written for board {board}'s limits");
            assert!(reason.starts_with(&expected), "{}: {reason}", file.name);
            continue;
        }
        assert!(file.file_skip.is_none(), "{}: {:?}", file.name, file.file_skip);
        assert!(file.passed > 0, "{} ran nothing", file.name);
    }
    // With the desktop limits the board's limits suite is skipped, saying why.
    let mut desktop = SimTarget::new();
    let report =
        run_files(&mut desktop, "suites".into(), Features::SUPPORTED, &files, None, 0, |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
    let limits = report.files.iter().find(|f| f.name.ends_with("qemu-mps2-an386.wast")).unwrap();
    let skip = limits.file_skip.as_ref().expect("skipped on the desktop profile");
    assert!(skip.reason.contains("--board qemu-mps2-an386"), "{}", skip.reason);
    assert_eq!(report.failed(), 0);
}
