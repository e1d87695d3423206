//! The qemu target beyond the snapshots: a firmware built without on-device validation
//! (its `assert_invalid`/`assert_malformed` modules are checked on the host and reported as
//! skipped with that reason, never as passed), and a board that hangs or crashes (the host
//! says why, restarts it and goes on).
//!
//! Skipped (saying why) without `qemu-system-arm`, unless `TANDEM_REQUIRE_QEMU=1` (CI).

mod common;

use tandem::firmware::ModuleReader;
use tandem::report::Verdict;
use tandem::target::qemu::QemuOptions;
use tandem::wast::CHECKED_ON_HOST_REASON;
use tandem::{Features, Suite, Target, run_suite};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_protocol::FaultKind;

#[test]
fn without_device_validation_rejections_are_checked_on_the_host() {
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    let mut options = QemuOptions::new(board);
    options.reader = ModuleReader::Wasm;
    let test = "without_device_validation_rejections_are_checked_on_the_host";
    let Some(mut qemu) = common::start(&options, test) else { return };
    assert!(!qemu.info().validates, "this firmware was built without the validate feature");
    assert!(!qemu.validates());

    let suite = Suite::parse("spec:v2").unwrap_or_else(|e| panic!("{e}"));
    // binary.wast is mostly assert_malformed; binary-leb128.wast and custom.wast mix in
    // modules that must load and run.
    let report = run_suite(&mut qemu, &suite, Features::WASM2, Some("/binary"), |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(report.failed(), 0, "{:?}", report.failure_lines().collect::<Vec<_>>());
    let mut checked_on_host = 0;
    for file in &report.files {
        for (skip, record) in
            file.skips.iter().zip(file.records.iter().filter(|r| r.verdict == Verdict::Skip))
        {
            assert_eq!(skip.reason, CHECKED_ON_HOST_REASON, "{}:{}", file.name, skip.line);
            assert!(
                matches!(skip.kind.as_str(), "assert_invalid" | "assert_malformed"),
                "{}",
                skip.kind
            );
            assert_eq!(record.line, skip.line);
            checked_on_host += 1;
        }
    }
    assert!(checked_on_host > 100, "{checked_on_host} rejections checked on the host");
    assert!(report.passed() > 40, "modules that must load still ran on the board");
    eprintln!("{}; {checked_on_host} checked on the host", report.summary_line());
}

/// A board that hangs: a module loops forever on a profile without fuel. The host times
/// out, records that directive as failed with the reason, restarts QEMU, skips what died
/// with the old board, and carries on with the next module.
#[test]
fn a_hung_board_is_restarted_and_the_file_goes_on() {
    let dir = std::env::temp_dir().join(format!("tandem-hang-{}", std::process::id()));
    let board = common::no_fuel_board(&dir);
    let mut options = QemuOptions::new(board);
    options.remote.request_timeout = std::time::Duration::from_secs(3);
    let Some(mut qemu) = common::start(&options, "a_hung_board_is_restarted_and_the_file_goes_on")
    else {
        return;
    };
    let script = r#"(module (func (export "forever") (loop br 0))
        (func (export "one") (result i32) i32.const 1))
(assert_return (invoke "one") (i32.const 1))
(invoke "forever")
(assert_return (invoke "one") (i32.const 1))
(module (func (export "two") (result i32) i32.const 2))
(assert_return (invoke "two") (i32.const 2))
"#;
    let report = tandem::run_wast(&mut qemu, Features::WASM2, "hang.wast", script)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(qemu.restarts(), 1);
    let lines: Vec<usize> = report.failures.iter().map(|f| f.line).collect();
    assert_eq!(lines, [4], "only the call that hung fails");
    assert!(report.failures[0].got.contains("no reply within"), "{}", report.failures[0].got);
    assert_eq!(report.skips.len(), 1, "the call on the instance that died is skipped");
    assert_eq!(report.passed, 4, "both modules and the calls around the hang pass");
    qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A board that crashes: the panic message reaches the host, and the board comes back.
#[test]
fn a_crashed_board_reports_why_and_is_restarted() {
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    let mut options = QemuOptions::new(board);
    options.remote.request_timeout = std::time::Duration::from_secs(3);
    let Some(mut qemu) = common::start(&options, "a_crashed_board_reports_why_and_is_restarted")
    else {
        return;
    };
    for kind in [FaultKind::Panic, FaultKind::HardFault] {
        let error = qemu.fault(kind).to_string();
        let expected = match kind {
            FaultKind::Panic => "deliberate panic requested by the host",
            FaultKind::HardFault => "HardFault at pc=0x",
        };
        assert!(error.contains(expected), "{kind:?}: {error}");
        qemu.recover().unwrap_or_else(|e| panic!("{e}"));
        qemu.reset(Features::WASM2, tandem::target::SPECTEST).unwrap_or_else(|e| panic!("{e}"));
        let m = qemu.load(&wat::parse_str("(module)").unwrap()).expect("loads after restart");
        assert!(matches!(qemu.instantiate(m), Ok(Ok(_))));
    }
    assert_eq!(qemu.restarts(), 2);
    qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
