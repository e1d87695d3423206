//! Nothing already obtained is lost: a run killed half-way (here by SIGKILL, the worst case:
//! no handler runs) leaves a readable JUnit report of every file finished before it, saying
//! where the run stopped; a host killed outright takes its QEMU with it; and a call that never
//! returns on the simulator is stopped at its deadline.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_killed_run_leaves_a_readable_partial_report() {
    let dir = std::env::temp_dir().join(format!("tandem-interrupted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junit = dir.join("report.xml");
    // The linked simulator with stalls on the link: slow enough to be caught half-way.
    let mut run = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "spec:v1", "--target", "sim-link"])
        .args(["--link-faults", "delay=0.02,max-delay-ms=3"])
        .arg("--junit")
        .arg(&junit)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tandem runs");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !std::fs::read_to_string(&junit).is_ok_and(|xml| xml.matches("<testcase").count() > 1) {
        assert!(Instant::now() < deadline, "no report within 120 s");
        assert!(run.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill().unwrap();
    let status = run.wait().unwrap();
    assert!(!status.success());

    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut lines = xml.lines();
    assert_eq!(lines.next(), Some(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
    let note = lines.next().unwrap();
    assert!(
        note.starts_with("<!-- PARTIAL: ") && note.contains(" files run, the last one "),
        "{note}"
    );
    // Whole and well-formed: written atomically, never cut mid-file.
    assert_eq!(xml.matches("<testsuite ").count(), xml.matches("</testsuite>").count());
    assert!(xml.trim_end().ends_with("</testsuites>"), "{xml}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The children of process `pid` (Linux `/proc`).
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| list.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<_>>())
        .collect()
}

/// A host killed outright takes its QEMU with it: no board left spinning.
#[test]
fn a_killed_host_leaves_no_qemu_behind() {
    if cfg!(not(target_os = "linux")) {
        return;
    }
    let required = std::env::var_os("TANDEM_REQUIRE_QEMU").is_some_and(|v| v == "1");
    let mut run = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "spec:v1", "--target", "qemu"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tandem runs");
    let deadline = Instant::now() + Duration::from_secs(300);
    let qemu = loop {
        if let Some(&qemu) = qemus(run.id()).first() {
            break qemu;
        }
        if let Some(status) = run.try_wait().unwrap() {
            assert!(!required, "tandem ended ({status}) without starting QEMU");
            eprintln!("SKIPPED a_killed_host_leaves_no_qemu_behind: no QEMU ({status})");
            return;
        }
        assert!(Instant::now() < deadline, "QEMU did not start within 300 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(500)); // mid-run
    run.kill().unwrap();
    run.wait().unwrap();
    let gone = Instant::now() + Duration::from_secs(5);
    while std::path::Path::new(&format!("/proc/{qemu}")).exists()
        && !std::fs::read_to_string(format!("/proc/{qemu}/stat")).is_ok_and(|s| s.contains(") Z "))
    {
        assert!(Instant::now() < gone, "QEMU (pid {qemu}) outlived the killed host");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The QEMU children of process `pid`.
fn qemus(pid: u32) -> Vec<u32> {
    children(pid)
        .into_iter()
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/comm"))
                .is_ok_and(|c| c.starts_with("qemu-system-arm"))
        })
        .collect()
}

/// A board that disappears mid-run and does not come back (here QEMU killed, and its
/// firmware gone, so the restart fails as an unplugged probe's would) ends the run with what
/// it has: the files finished before are in the records, the one in flight and every later
/// one are there as not run, with the reason, and the run fails. `parity` compares what it
/// has, then fails.
#[test]
fn a_board_that_disappears_ends_the_run_with_what_it_has() {
    use tandem::firmware::{FirmwareBuild, FirmwareFeatures, ModuleReader, firmware_dir};
    use tandem::records::Records;
    use tandem_boards::{BoardProfile, DEFAULT_BOARD};

    if cfg!(not(target_os = "linux")) {
        return;
    }
    let required = std::env::var_os("TANDEM_REQUIRE_QEMU").is_some_and(|v| v == "1");
    let test = "a_board_that_disappears_ends_the_run_with_what_it_has";
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap();
    let features = FirmwareFeatures { reader: ModuleReader::ValidatingWasm, rtt: false };
    let built = FirmwareBuild::target_fw(firmware_dir(), &board, features).unwrap().build();
    let elf = match built {
        Ok(elf) => elf,
        Err(e) if !required => return eprintln!("SKIPPED {test}: {e}"),
        Err(e) => panic!("{e}"),
    };
    let dir = std::env::temp_dir().join(format!("tandem-disappears-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let firmware = dir.join("board.elf");
    std::fs::copy(&elf, &firmware).unwrap();
    let records = dir.join("records.json");
    let mut run = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "spec:v1", "--target", "qemu", "--firmware"])
        .arg(&firmware)
        .arg("--records")
        .arg(&records)
        .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
        .spawn()
        .expect("tandem runs");
    // Mid-run: once a few files' records are out.
    let deadline = Instant::now() + Duration::from_secs(300);
    let finished = |r: &Records| r.suites.iter().map(|s| s.files.len()).sum::<usize>();
    while !Records::read(&records).is_ok_and(|r| finished(&r) >= 3) {
        if let Some(status) = run.try_wait().unwrap() {
            assert!(!required, "tandem ended ({status}) before the board could be pulled");
            return eprintln!("SKIPPED {test}: the run ended first ({status})");
        }
        assert!(Instant::now() < deadline, "no records within 300 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::remove_file(&firmware).unwrap();
    for qemu in qemus(run.id()) {
        Command::new("kill").args(["-9", &qemu.to_string()]).status().unwrap();
    }
    let status = run.wait().unwrap();
    let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap();
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap();
    assert!(!status.success(), "{stdout}{stderr}");

    let records = Records::read(&records).unwrap();
    let files: Vec<_> = records.suites.iter().flat_map(|s| &s.files).collect();
    let planned: usize = records.suites.iter().map(|s| s.planned.len()).sum();
    assert_eq!(files.len(), planned, "every planned file is in the records");
    let ran = files.iter().filter(|f| f.file_skip.is_none()).count();
    let not_run: Vec<_> = files.iter().filter_map(|f| f.file_skip.as_ref()).collect();
    assert!(ran >= 3, "the files finished before are kept ({ran})");
    assert!(!not_run.is_empty(), "{stdout}");
    for skip in &not_run {
        assert!(skip.reason.starts_with("not run: the target died"), "{}", skip.reason);
    }
    // The file in flight when the board went says what happened to it.
    let failed = files.iter().filter(|f| f.file_skip.is_none() && f.failed() > 0).count();
    assert!(failed <= 1, "at most the file in flight failed ({failed})");
    eprintln!("{ran} files kept, {} not run: {}", not_run.len(), not_run[0].reason);

    // Parity compares what the board ran before it went, then fails naming it.
    std::fs::copy(&elf, &firmware).unwrap();
    let mut parity = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["parity", "spec:v1", "--targets", "sim,qemu", "--firmware"])
        .arg(&firmware)
        .stdout(std::fs::File::create(dir.join("stdout")).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr")).unwrap())
        .spawn()
        .expect("tandem runs");
    let qemu = loop {
        if let Some(&qemu) = qemus(parity.id()).first() {
            break qemu;
        }
        assert!(parity.try_wait().unwrap().is_none(), "parity ended before QEMU started");
        assert!(Instant::now() < deadline, "QEMU did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_secs(2));
    std::fs::remove_file(&firmware).unwrap();
    Command::new("kill").args(["-9", &qemu.to_string()]).status().unwrap();
    let status = parity.wait().unwrap();
    let stdout = std::fs::read_to_string(dir.join("stdout")).unwrap();
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap();
    assert!(!status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("parity sim vs qemu:"), "compared first: {stdout}");
    assert!(stderr.contains("the qemu target did not end cleanly"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A module that never returns fails with a timeout on the simulator, within the timeout
/// plus a second, and the file goes on after it.
#[test]
fn a_call_that_never_returns_times_out_on_the_simulator() {
    let dir = std::env::temp_dir().join(format!("tandem-deadline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wast = dir.join("loop.wast");
    std::fs::write(
        &wast,
        r#"(module (func (export "loop") (loop br 0)) (func (export "one") (result i32) i32.const 1))
(invoke "loop")
(assert_return (invoke "one") (i32.const 1))
"#,
    )
    .unwrap();
    let started = Instant::now();
    let run = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["run", "--timeout", "2"])
        .arg(&wast)
        .output()
        .expect("tandem runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(1), "one failure: {stdout}");
    assert!(stdout.contains("trap \"timed out after 2s\""), "{stdout}");
    assert!(stdout.contains("2 passed, 1 failed"), "the module and the call after it: {stdout}");
    assert!(elapsed < Duration::from_secs(3), "stopped within the timeout plus 1 s: {elapsed:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
