//! The RTT link for real, with no hardware: the firmware built with its RTT link runs under
//! QEMU, and the host reads and writes its rings through QEMU's gdbstub (the `qemu-rtt`
//! target), the same ring and stream code the probe target runs through probe-rs.
//!
//! Skipped (saying why) without `qemu-system-arm`, unless `TANDEM_REQUIRE_QEMU=1` (CI).

mod common;

use std::sync::atomic::Ordering;

use tandem::firmware::{FirmwareBuild, FirmwareFeatures, ModuleReader, firmware_dir};
use tandem::target::qemu::{QemuOptions, QemuTarget};
use tandem::{Features, Suite, Target, run_suite};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_protocol::FaultKind;

fn options() -> QemuOptions {
    let mut options =
        QemuOptions::new(BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}")));
    options.rtt = true;
    options.remote.request_timeout = std::time::Duration::from_secs(5);
    options
}

#[test]
fn the_project_suites_pass_over_rtt() {
    let Some(mut board) = common::start(&options(), "the_project_suites_pass_over_rtt") else {
        return;
    };
    assert_eq!(board.name(), "qemu-rtt");
    let suite = Suite::parse(concat!(env!("CARGO_MANIFEST_DIR"), "/../suites"))
        .unwrap_or_else(|e| panic!("{e}"));
    let report = run_suite(&mut board, &suite, Features::WASM2, None, |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    let totals = board.link_totals();
    let restarts = board.restarts();
    board.shutdown().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.failed(), 0, "{:?}", report.failure_lines().collect::<Vec<_>>());
    assert!(report.passed() >= 100, "{}", report.summary_line());
    assert_eq!(restarts, 0);
    // Resent requests are fine (a long call outlasts the resend timer); a damaged or lost
    // frame on a lossless ring is not.
    assert_eq!(totals.frames_dropped.load(Ordering::Relaxed), 0, "{}", totals.summary());
    eprintln!("{}; link: {}", report.summary_line(), totals.summary());
}

#[test]
fn a_crash_over_rtt_is_reported_and_the_board_restarted() {
    let Some(mut board) =
        common::start(&options(), "a_crash_over_rtt_is_reported_and_the_board_restarted")
    else {
        return;
    };
    let error = board.fault(FaultKind::Panic).to_string();
    assert!(error.contains("deliberate panic requested by the host"), "{error}");
    board.recover().unwrap_or_else(|e| panic!("{e}"));
    board.reset(Features::WASM2, tandem::target::SPECTEST).unwrap_or_else(|e| panic!("{e}"));
    let m = board.load(&wat::parse_str("(module)").unwrap()).expect("loads after restart");
    assert!(matches!(board.instantiate(m), Ok(Ok(_))));
    assert_eq!(board.restarts(), 1);
    board.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_firmware_without_the_rtt_link_is_named() {
    let mut options = options();
    let board = options.board.clone();
    let features = FirmwareFeatures { reader: ModuleReader::ValidatingWasm, rtt: false };
    let build = FirmwareBuild::target_fw(firmware_dir(), &board, features).expect("a layer");
    let uart = match build.build() {
        Ok(elf) => elf,
        Err(e) if !common::qemu_required() => {
            eprintln!("SKIPPED a_firmware_without_the_rtt_link_is_named: {e}");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    options.firmware = Some(uart);
    let error = QemuTarget::start(&options).err().expect("no RTT control block").to_string();
    assert!(error.contains("no `_SEGGER_RTT` symbol"), "{error}");
}

/// The generic firmware layer (any chip probe-rs knows) for real, with no hardware: a chip
/// profile derived for the CI machine's memory map (4 MiB of code RAM at 0, 4 MiB of data
/// RAM at 0x2000_0000), its `memory.x` written from it, the firmware booted on that machine
/// and driven over RTT as through a probe, and every outcome the simulator's with that
/// profile.
#[test]
fn the_generic_firmware_runs_the_suites_as_the_simulator_does() {
    use tandem::target::sim::SimTarget;
    use tandem_boards::{Chip, CortexM, MemoryRange};

    let chip = Chip {
        name: "QEMU_MPS2_AN386_MAP".into(),
        core: CortexM::V7EM,
        flash: MemoryRange { origin: 0, bytes: 4 << 20 },
        ram: MemoryRange { origin: 0x2000_0000, bytes: 4 << 20 },
    };
    let mut board = BoardProfile::for_chip(&chip).unwrap_or_else(|e| panic!("{e}"));
    // QEMU's SysTick rate, as a user would set the chip's reset clock.
    board.generic.as_mut().expect("a generic profile").core_clock_hz = 25_000_000;
    let mut options = QemuOptions::new(board.clone());
    options.rtt = true;
    options.machine = Some("mps2-an386".into());
    let test = "the_generic_firmware_runs_the_suites_as_the_simulator_does";
    let Some(mut qemu) = common::start(&options, test) else { return };
    assert_eq!(qemu.board(), Some("qemu-mps2-an386-map"));

    let suite = Suite::parse(concat!(env!("CARGO_MANIFEST_DIR"), "/../suites"))
        .unwrap_or_else(|e| panic!("{e}"));
    let on_qemu = run_suite(&mut qemu, &suite, Features::WASM2, None, |_| {})
        .unwrap_or_else(|e| panic!("{e}"));
    qemu.shutdown().unwrap_or_else(|e| panic!("{e}"));
    let mut sim = SimTarget::for_board(&board);
    let on_sim = run_suite(&mut sim, &suite, Features::WASM2, None, |_| {})
        .unwrap_or_else(|e| panic!("{e}"));

    let parity = tandem::parity::compare(&on_sim, &on_qemu, "sim", "qemu-rtt");
    assert!(
        parity.mismatches.is_empty(),
        "{:?}",
        &parity.mismatches[..3.min(parity.mismatches.len())]
    );
    assert!(on_qemu.passed() >= 100, "{}", on_qemu.summary_line());
    eprintln!("generic firmware: {}", on_qemu.summary_line());
}
