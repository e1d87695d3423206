//! The runner on the simulator with a hand-written script (`wast/directives.wast`)
//! that uses every directive kind and the whole `spectest` module. Two assertions
//! in it are wrong on purpose: the runner must report exactly those as failed,
//! with their lines, kinds, and expected vs got; two out-of-scope directives must
//! come back as skipped.

use tandem::wast::count_directives;
use tandem::{SimTarget, WasmVersion, run_wast};

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
    let report = run_wast(&mut target, WasmVersion::V2, "directives.wast", SCRIPT)
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

    let skipped: Vec<&str> = report.skips.iter().map(|s| s.kind).collect();
    assert_eq!(skipped, ["assert_return", "assert_exception"]);

    let total = count_directives("directives.wast", SCRIPT).unwrap();
    assert_eq!(report.passed, total - 2 - 2);
}

/// A folder suite includes the `.wast` files of its subfolders, and the project's
/// own suites all pass on the simulator.
#[test]
fn folder_suites_are_collected_recursively_and_pass() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../suites");
    let suite = tandem::suite::Suite::parse(root).unwrap_or_else(|e| panic!("{e}"));
    let files = suite.files().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = files.iter().map(|f| f.file_name.as_str()).collect();
    for expected in ["compute.wast", "memory.wast", "traps.wast"] {
        assert!(names.contains(&expected), "{expected} not found in {names:?}");
    }
    for file in &files {
        let mut target = SimTarget::new();
        let report = run_wast(&mut target, WasmVersion::V2, &file.name, &file.text)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(report.failures.is_empty(), "{}: {:?}", file.name, report.failures);
        assert!(report.passed > 0, "{} ran nothing", file.name);
    }
}
