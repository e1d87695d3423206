//! The link under damage: with bytes corrupted, dropped, duplicated and delayed in both
//! directions, every directive's outcome must still be exactly the in-process simulator's
//! (damaged frames detected by their CRC and resent, never taken as results, and no request
//! run twice), on the linked simulator and on the firmware under QEMU. Also: a simulator
//! behind the link that crashes is reported with its message and restarted.
//!
//! The QEMU half is skipped (saying why) without `qemu-system-arm`, unless
//! `TANDEM_REQUIRE_QEMU=1` (CI).

use std::sync::atomic::Ordering::Relaxed;

use tandem::parity::compare_suites;
use tandem::report::SuiteReport;
use tandem::target::qemu::{QemuOptions, QemuTarget};
use tandem::target::remote::{Peer, RemoteOptions, RemoteTarget};
use tandem::target::sim_link::LinkedSimTarget;
use tandem::{Features, SimTarget, Suite, Target, run_suite};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_link::host::{FaultPlan, LinkOptions};
use tandem_protocol::FaultKind;

/// The issue's bar: one corrupted byte in a thousand, with some of every other fault.
fn faults() -> LinkOptions {
    let plan = FaultPlan::parse("corrupt=1e-3,drop=1e-4,dup=1e-4,delay=1e-4,max-delay-ms=5,seed=7")
        .expect("valid plan");
    LinkOptions { faults: Some(plan), ..LinkOptions::default() }
}

fn board() -> BoardProfile {
    BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"))
}

fn run(target: &mut dyn Target, suites: &[&str]) -> Vec<SuiteReport> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../suites");
    suites
        .iter()
        .map(|name| {
            let suite =
                Suite::parse(&name.replace("$suites", root)).unwrap_or_else(|e| panic!("{e}"));
            run_suite(target, &suite, Features::WASM2, None, |_| {})
                .unwrap_or_else(|e| panic!("{name} on {}: {e}", target.name()))
        })
        .collect()
}

/// Runs `suites` on `target` and on the in-process simulator; asserts identical outcomes,
/// no failure, and that the link really was damaged and repaired. Returns the device's
/// count of requests answered from its reply cache.
fn assert_like_the_simulator<P: Peer>(target: &mut RemoteTarget<P>, suites: &[&str]) -> u32 {
    let expected = run(&mut SimTarget::for_board(&board()), suites);
    let got = run(target, suites);
    let device = target.stats().unwrap_or_else(|e| panic!("{e}")).target;
    let parity = compare_suites(&expected, &got, "sim", target.name());
    assert!(parity.is_empty(), "{}", parity.render(20));
    for report in &got {
        assert_eq!(report.failed(), 0, "{:?}", report.failure_lines().collect::<Vec<_>>());
    }
    let link = target.link_totals();
    eprintln!("{}: {}; device: {device:?}", target.name(), link.summary());
    assert_eq!(target.restarts(), 0, "the link repaired itself, nothing was restarted");
    assert!(link.bytes_corrupted.load(Relaxed) > 0, "faults were injected");
    let dropped_here = link.frames_dropped.load(Relaxed);
    let dropped_there = u64::from(device.frames_dropped.expect("device link counters"));
    assert!(dropped_here > 0 && dropped_there > 0, "damage detected on both sides");
    // A NACK itself can be damaged on its way (and is then dropped here), never invented.
    let nacks = link.nacks.load(Relaxed);
    assert!(nacks <= dropped_there && nacks * 10 >= dropped_there * 9, "{nacks} NACKs");
    assert!(link.resent.load(Relaxed) >= nacks, "every NACKed request was resent");
    device.frames_replayed.expect("device replay counter")
}

/// Runs `check` on a thread with the roomy stack the CLI gives the runner.
fn with_big_stack(check: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(check)
        .unwrap()
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}

#[test]
fn the_linked_simulator_under_faults_reports_every_outcome_correctly() {
    with_big_stack(|| {
        let mut target = LinkedSimTarget::start(
            &board(),
            RemoteOptions { link: faults(), ..RemoteOptions::default() },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let replayed = assert_like_the_simulator(&mut target, &["$suites", "spec:v1"]);
        assert!(replayed > 0, "lost replies were answered from the reply cache");
        target.shutdown().unwrap_or_else(|e| panic!("{e}"));
    });
}

#[test]
fn the_firmware_under_faults_reports_every_outcome_correctly() {
    with_big_stack(|| {
        let mut options = QemuOptions::new(board());
        options.remote.link = faults();
        let mut qemu = match QemuTarget::start(&options) {
            Ok(target) => target,
            Err(e) if std::env::var_os("TANDEM_REQUIRE_QEMU").is_none_or(|v| v != "1") => {
                eprintln!("SKIPPED the_firmware_under_faults_reports_every_outcome_correctly: {e}");
                return;
            }
            Err(e) => panic!("the qemu target is required (TANDEM_REQUIRE_QEMU=1): {e}"),
        };
        assert_like_the_simulator(&mut qemu, &["$suites"]);
        qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));
    });
}

/// The linked simulator dies like a board (its thread panics): the message reaches the
/// host, the directive's request fails with it, and the next request finds a fresh one.
#[test]
fn a_crashed_linked_simulator_reports_why_and_is_restarted() {
    let mut target = LinkedSimTarget::start(&board(), RemoteOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    for round in 1..=2 {
        let error = target.fault(FaultKind::Panic).to_string();
        assert!(error.contains("deliberate panic requested by the host"), "{error}");
        target.recover().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(target.restarts(), round);
        target.reset(Features::WASM2, tandem::target::SPECTEST).unwrap_or_else(|e| panic!("{e}"));
        let module = wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 7))"#)
            .expect("wat");
        let id = target.load(&module).expect("loads after the restart");
        let instance = target.instantiate(id).expect("link").expect("instantiates");
        let results = target.invoke(instance, "f", &[]).expect("link").expect("runs");
        assert_eq!(format!("{results:?}"), "[I32(7)]");
    }
    target.shutdown().unwrap_or_else(|e| panic!("{e}"));
}
