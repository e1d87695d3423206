//! The probe target's error paths, which must all be clear without any hardware attached:
//! every wrong argument and a missing probe are named before anything is built or flashed,
//! and `tandem probe list` works on a machine with no probe (or no USB at all).

use std::process::{Command, Output};

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("tandem runs")
}

/// Runs `tandem run suites --target probe ARGS`, expects exit code 2 and returns stderr.
fn refused(args: &[&str]) -> String {
    let started = std::time::Instant::now();
    let mut all = vec!["run", "suites/core", "--target", "probe"];
    all.extend_from_slice(args);
    let out = tandem(&all);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{args:?} should fail before building firmware, took {:?}",
        started.elapsed()
    );
    stderr
}

#[test]
fn probe_list_runs_without_probes() {
    let out = tandem(&["probe", "list"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // Either a table of probes with their --probe arguments, or a line saying there is none.
    assert!(
        stdout.starts_with("no debug probes attached") || stdout.contains("--probe"),
        "{stdout}"
    );
}

#[test]
fn the_board_or_chip_must_be_named_and_agree() {
    let e = refused(&[]);
    assert!(e.contains("--target probe needs --board or --chip"), "{e}");
    assert!(e.contains("nrf52840-dk (nRF52840_xxAA)"), "the boards with a probe are listed: {e}");

    let e = refused(&["--chip", "nosuch"]);
    assert!(e.contains("unknown chip `nosuch`"), "{e}");
    assert!(e.contains("boards with a layer of their own: ek-ra6m3 (R7FA6M3AH)"), "{e}");

    // A chip probe-rs knows that no board has runs the generic firmware: the run gets as far
    // as looking for the probe (before anything is built).
    let e = refused(&["--chip", "STM32F411CEUx", "--probe", "1234:5678"]);
    assert!(e.contains("no debug probe matches --probe 1234:5678"), "{e}");
    let e = refused(&["--chip", "RP2040"]);
    assert!(e.contains("second-stage loader"), "{e}");

    let e = refused(&["--board", "nrf52840-dk", "--chip", "STM32F429ZITx"]);
    assert!(e.contains("does not match board `nrf52840-dk`, whose chip is nRF52840_xxAA"), "{e}");

    let e = refused(&["--board", "qemu-mps2-an386"]);
    assert!(e.contains("not reached through a debug probe"), "{e}");
}

#[test]
fn a_chip_probe_rs_does_not_know_is_named() {
    let dir = std::env::temp_dir().join(format!("tandem-chip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let profile = include_str!("../../boards/profiles/nrf52840-dk.toml")
        .replace("name = \"nrf52840-dk\"", "name = \"nrf-typo\"")
        .replace("chip = \"nRF52840_xxAA\"", "chip = \"nRF52840_xxZZ\"");
    let path = dir.join("nrf-typo.toml");
    std::fs::write(&path, profile).expect("profile written");
    let e = refused(&["--board", path.to_str().unwrap()]);
    assert!(e.contains("unknown chip `nRF52840_xxZZ`"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_probe_is_named_with_where_to_look() {
    // No probe with this made-up id exists on any machine.
    let e = refused(&["--chip", "nRF52840_xxAA", "--probe", "1234:5678"]);
    assert!(e.contains("no debug probe matches --probe 1234:5678"), "{e}");
    assert!(e.contains("tandem probe list"), "{e}");

    let e = refused(&["--chip", "nRF52840_xxAA", "--probe", "not-a-probe"]);
    assert!(e.contains("--probe \"not-a-probe\" is not VID:PID[:SERIAL]"), "{e}");

    // With none given, the only attached probe is used; on a machine without any the
    // error says so (a machine with exactly one would go on to build and flash).
    if tandem_probe::hardware::list_probes().is_empty() {
        let e = refused(&["--board", "nrf52840-dk"]);
        assert!(e.contains("no debug probe found"), "{e}");
        assert!(e.contains("tandem probe list"), "{e}");
    }
}

#[test]
fn jobs_on_the_probe_target_take_one_probe_each() {
    let e = refused(&["--chip", "nRF52840_xxAA", "-j", "2", "--probe", "1234:5678"]);
    assert!(e.contains("--jobs 2 on the probe target runs 2 boards"), "{e}");
    assert!(e.contains("(given: 1;"), "{e}");
    // Two probes for two instances: the first instance looks for its own.
    let e = refused(&[
        "--chip",
        "nRF52840_xxAA",
        "-j",
        "2",
        "--probe",
        "1234:5678",
        "--probe",
        "1234:5679",
    ]);
    assert!(e.contains("no debug probe matches --probe 1234:5678"), "{e}");
}
