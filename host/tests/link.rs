//! The link end to end on the CI board: builds `target-fw`, boots it in QEMU `mps2-an386`,
//! and talks postcard-rpc to it over the CRC-framed TCP wire: 100 pings (checked and timed),
//! corrupt frames that must be dropped without harming the next request, board statistics, a
//! clean exit with QEMU's exit code checked.
//!
//! Skipped, with the reason printed, when `qemu-system-arm` or the thumbv7em target is
//! missing, unless `TANDEM_REQUIRE_QEMU=1` (set by `ci/test`), which makes a missing
//! prerequisite a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tandem::firmware::{FirmwareBuild, FirmwareFeatures, ModuleReader, firmware_dir};
use tandem::qemu::{INSTALL_HINT, LaunchOptions, Qemu};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_link::host;
use tandem_link::postcard_rpc::host_client::HostClient;
use tandem_link::postcard_rpc::standard_icd::WireError;
use tokio::io::AsyncWriteExt;

use tandem_link::postcard_rpc::standard_icd::LoggingTopic;
use tandem_protocol::Features;
use tandem_protocol::{
    ExitEndpoint, FaultEndpoint, FaultKind, PingEndpoint, ResetEndpoint, ResetRequest,
    StatsEndpoint,
};

/// Per-request limit: postcard-rpc's `send_resp` would otherwise wait forever on a dead board.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// `Err(reason)` when the test cannot run on this machine.
fn prerequisites() -> Result<(), String> {
    let qemu = LaunchOptions::new("").binary;
    if Command::new(&qemu).arg("--version").output().is_err() {
        return Err(format!("`{}` is not installed ({INSTALL_HINT})", qemu.display()));
    }
    let targets = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup not available: {e}"))?;
    if !String::from_utf8_lossy(&targets.stdout).contains("thumbv7em-none-eabihf") {
        return Err(
            "target thumbv7em-none-eabihf missing (rustup target add thumbv7em-none-eabihf)".into(),
        );
    }
    Ok(())
}

/// Builds the CI board's default firmware, as the `qemu` target does; returns the ELF path.
fn build_firmware() -> PathBuf {
    // Tests run in parallel; one build at a time keeps cargo's lock wait out of the timings.
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    let features = FirmwareFeatures { reader: ModuleReader::ValidatingWasm, rtt: false };
    FirmwareBuild::target_fw(firmware_dir(), &board, features)
        .and_then(|build| build.build())
        .unwrap_or_else(|e| panic!("building target-fw failed: {e}"))
}

async fn request<E>(client: &HostClient<WireError>, req: &E::Request) -> E::Response
where
    E: tandem_link::postcard_rpc::Endpoint,
    E::Request: serde::Serialize + postcard_schema::Schema,
    E::Response: serde::de::DeserializeOwned + postcard_schema::Schema,
{
    match tokio::time::timeout(REQUEST_TIMEOUT, client.send_resp::<E>(req)).await {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => panic!("{} failed: {e:?}", E::PATH),
        Err(_) => panic!("{} timed out after {REQUEST_TIMEOUT:?}", E::PATH),
    }
}

/// Whether the QEMU tests can run; prints why not, or panics if they are required.
fn can_run(test: &str) -> bool {
    match prerequisites() {
        Ok(()) => true,
        Err(reason) if std::env::var_os("TANDEM_REQUIRE_QEMU").is_some_and(|v| v == "1") => {
            panic!("{test}: QEMU link test required but cannot run: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIPPED {test}: {reason}");
            false
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firmware_answers_over_the_crc_framed_link() {
    if !can_run("firmware_answers_over_the_crc_framed_link") {
        return;
    }
    let t0 = Instant::now();
    let elf = build_firmware();
    let built = t0.elapsed();

    let (mut qemu, mut stream) =
        Qemu::launch(&LaunchOptions::new(&elf)).await.unwrap_or_else(|e| panic!("{e}"));
    eprintln!("qemu pid {} on port {}", qemu.pid(), qemu.port());

    // Line noise and damaged frames before the first request: all must be dropped.
    let mut good = Vec::new();
    tandem_link::frame::encode_to(b"\x00not a postcard-rpc header", |b| good.push(b));
    let mut flipped = good.clone();
    flipped[5] ^= 0x20;
    let truncated = [&good[..good.len() / 2], &[0u8][..]].concat();
    for junk in [&b"\x01\x02\x03\x00"[..], &flipped, &truncated] {
        stream.write_all(junk).await.expect("write junk");
    }

    let (client, link_stats) = host::client(stream, Default::default());

    let t_boot = Instant::now();
    let first: u32 = request::<PingEndpoint>(&client, &0).await;
    assert_eq!(first, 0);
    let first_reply = t_boot.elapsed();

    const PINGS: u32 = 100;
    let mut rtts = Vec::with_capacity(PINGS as usize);
    for i in 0..PINGS {
        let value = i.wrapping_mul(0x9E37_79B9) ^ 0x5555_0000;
        let t = Instant::now();
        let echoed = request::<PingEndpoint>(&client, &value).await;
        rtts.push(t.elapsed());
        assert_eq!(echoed, value, "ping {i}");
    }
    rtts.sort();
    let total: Duration = rtts.iter().sum();

    let stats = request::<StatsEndpoint>(&client, &()).await;
    let board = &stats.target;
    eprintln!("board figures: {board:#?}");
    // The junk (1), the flipped frame (its flip makes a 0x00, so it arrives as 2 pieces),
    // the truncated frame (1): every piece dropped, none misread as a request, each
    // answered with a NACK.
    assert_eq!(board.frames_dropped, Some(4), "junk and damaged frames dropped: {board:?}");
    let nacks = link_stats.nacks.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(nacks, 4, "a NACK per dropped frame");
    // Each NACK made the host resend the first ping, which was answered from the reply
    // cache, not run again.
    let replayed = board.frames_replayed.expect("replay counter");
    assert_eq!(
        board.frames_ok.map(|n| n - replayed),
        Some(PINGS + 2),
        "first ping + 100 pings + stats, counted before reply, plus replayed copies"
    );
    let (high, size) = (board.native_stack_high_water.unwrap(), board.native_stack_size.unwrap());
    assert!(high > 0 && high < size, "stack {high} of {size}");
    assert_eq!(board.tick_hz, Some(25_000_000));
    // Before the first reset the handler holds next to nothing on the heap.
    let boot_heap = board.heap_in_use.expect("heap figure");
    assert!(boot_heap < 256, "heap at boot: {boot_heap} B");

    // postcard-rpc's schema dump: many frames back to back from the device, and what a
    // host uses to detect firmware built from another protocol version.
    let t = Instant::now();
    let report = tokio::time::timeout(REQUEST_TIMEOUT, client.get_schema_report())
        .await
        .expect("schema report in time")
        .expect("schema report");
    let schema_time = t.elapsed();
    for ep in ["tandem/ping", "tandem/info", "tandem/invoke", "tandem/exit"] {
        assert!(report.endpoints.iter().any(|e| e.path == ep), "{ep} missing from the schema");
    }

    // A reset builds a store (value stack, spectest): the heap counters see it.
    let reset = ResetRequest {
        features: Features(tandem::Features::WASM2.bits()),
        hosts: vec!["spectest".into()],
        deadline_ms: None,
    };
    request::<ResetEndpoint>(&client, &reset).await.expect("reset");
    let after = request::<StatsEndpoint>(&client, &()).await.target;
    let in_use = after.heap_in_use.expect("heap figure");
    assert!(in_use > boot_heap && after.heap_peak >= Some(in_use), "{after:?}");
    assert!(after.heap_size.unwrap() >= in_use);

    // QEMU can exit before its serial backend has passed the reply on; a clean exit status
    // is what counts.
    let _ = tokio::time::timeout(REQUEST_TIMEOUT, client.send_resp::<ExitEndpoint>(&true)).await;
    let status = qemu.wait_exit(Duration::from_secs(5)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "qemu exit {status}; output:\n{}", qemu.output());
    client.close();

    eprintln!(
        "firmware build {:.1?}; first reply {:.1?}; {PINGS} pings: mean {:.2?}, median {:.2?}, \
         max {:.2?}; schema report ({} endpoints, {} types) {:.1?}; host frames ok {} dropped {}",
        built,
        first_reply,
        total / PINGS,
        rtts[rtts.len() / 2],
        rtts[rtts.len() - 1],
        report.endpoints.len(),
        report.types.len(),
        schema_time,
        link_stats.frames_ok.load(std::sync::atomic::Ordering::Relaxed),
        link_stats.frames_dropped.load(std::sync::atomic::Ordering::Relaxed),
    );
}

/// Boots the firmware, asks it to fault, and checks the report (over the link and on
/// semihosting stderr) and QEMU's failure exit code.
async fn fault_is_reported(kind: FaultKind, expected: &str) {
    let elf = build_firmware();
    let (mut qemu, stream) =
        Qemu::launch(&LaunchOptions::new(&elf)).await.unwrap_or_else(|e| panic!("{e}"));
    let (client, _stats) = host::client(stream, Default::default());
    let mut logs = client.subscribe_multi::<LoggingTopic>(8).await.expect("subscribe");
    assert_eq!(request::<PingEndpoint>(&client, &7).await, 7);
    // No reply comes: the firmware dies handling this request.
    let _ =
        tokio::time::timeout(Duration::from_millis(500), client.send_resp::<FaultEndpoint>(&kind))
            .await;
    let status = qemu.wait_exit(Duration::from_secs(5)).await.unwrap_or_else(|e| panic!("{e}"));
    let output = qemu.output();
    assert_eq!(status.code(), Some(1), "{kind:?}: qemu exit {status}; output:\n{output}");
    assert!(
        output.contains(expected),
        "{kind:?}: semihosting output lacks {expected:?}:\n{output}"
    );
    let log = tokio::time::timeout(Duration::from_secs(2), logs.recv())
        .await
        .expect("log frame arrives")
        .expect("log frame decodes");
    assert!(log.contains(expected), "{kind:?}: link log {log:?}");
    eprintln!("{kind:?} reported: {}", log.trim());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panic_and_hardfault_are_reported_and_fail_the_run() {
    if !can_run("panic_and_hardfault_are_reported_and_fail_the_run") {
        return;
    }
    fault_is_reported(FaultKind::Panic, "deliberate panic requested by the host").await;
    fault_is_reported(FaultKind::HardFault, "HardFault at pc=0x").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_kills_its_qemu() {
    if !can_run("dropping_the_handle_kills_its_qemu") {
        return;
    }
    let elf = build_firmware();
    let (mut qemu, stream) =
        Qemu::launch(&LaunchOptions::new(&elf)).await.unwrap_or_else(|e| panic!("{e}"));
    let pid = qemu.pid();
    assert!(qemu.try_wait().expect("status").is_none(), "qemu runs while connected");
    drop(stream);
    drop(qemu);
    // Killed and reaped: the pid is gone (not even a zombie).
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "qemu pid {pid} still exists");
}

#[tokio::test]
async fn missing_firmware_is_a_clear_error() {
    let err = Qemu::spawn(&LaunchOptions::new("/nonexistent/fw.elf")).err().expect("fails");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn missing_qemu_names_the_install_command() {
    let mut opts = LaunchOptions::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"));
    opts.binary = "/nonexistent/qemu-system-arm".into();
    let err = Qemu::spawn(&opts).err().expect("fails");
    let msg = err.to_string();
    assert!(msg.contains(INSTALL_HINT), "{msg}");
}
