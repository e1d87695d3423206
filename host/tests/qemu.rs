//! The qemu target beyond the snapshots: a firmware built without on-device validation.
//! Its `assert_invalid`/`assert_malformed` modules are checked on the host and reported as
//! skipped with that reason, never as passed, and nothing else changes.
//!
//! Skipped (saying why) without `qemu-system-arm`, unless `TANDEM_REQUIRE_QEMU=1` (CI).

use tandem::qemu::{QemuOptions, QemuTarget};
use tandem::report::Verdict;
use tandem::wast::CHECKED_ON_HOST_REASON;
use tandem::{Suite, Target, WasmVersion, run_suite};
use tandem_boards::{Board, DEFAULT_BOARD};

#[test]
fn without_device_validation_rejections_are_checked_on_the_host() {
    let board = Board::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    let mut options = QemuOptions::new(board);
    options.device_validation = false;
    let mut qemu = match QemuTarget::start(&options) {
        Ok(target) => target,
        Err(e) if std::env::var_os("TANDEM_REQUIRE_QEMU").is_none_or(|v| v != "1") => {
            eprintln!("SKIPPED without_device_validation_rejections_are_checked_on_the_host: {e}");
            return;
        }
        Err(e) => panic!("the qemu target is required (TANDEM_REQUIRE_QEMU=1): {e}"),
    };
    assert!(!qemu.info().validates, "this firmware was built without the validate feature");
    assert!(!qemu.validates());

    let suite = Suite::parse("spec:v2").unwrap_or_else(|e| panic!("{e}"));
    // binary.wast is mostly assert_malformed; binary-leb128.wast and custom.wast mix in
    // modules that must load and run.
    let report = run_suite(&mut qemu, &suite, WasmVersion::V2, Some("/binary"), |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(report.failed(), 0, "{:?}", report.failure_lines().collect::<Vec<_>>());
    let mut checked_on_host = 0;
    for file in &report.files {
        for (skip, record) in
            file.skips.iter().zip(file.records.iter().filter(|r| r.verdict == Verdict::Skip))
        {
            assert_eq!(skip.reason, CHECKED_ON_HOST_REASON, "{}:{}", file.name, skip.line);
            assert!(matches!(skip.kind, "assert_invalid" | "assert_malformed"), "{}", skip.kind);
            assert_eq!(record.line, skip.line);
            checked_on_host += 1;
        }
    }
    assert!(checked_on_host > 100, "{checked_on_host} rejections checked on the host");
    assert!(report.passed() > 40, "modules that must load still ran on the board");
    eprintln!("{}; {checked_on_host} checked on the host", report.summary_line());
}
