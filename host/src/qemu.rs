//! The QEMU target: the Cortex-M4 firmware (`target-fw`) on QEMU's `mps2-an386`, driven over
//! postcard-rpc on the board's UART.
//!
//! [`QemuTarget::start`] builds the firmware for the board profile (cargo decides whether
//! anything changed), starts `qemu-system-arm` on a fresh port and connects; the protocol
//! checks, timeouts and recovery are [`RemoteTarget`]'s. [`QemuPeer`] is what is QEMU-specific:
//! booting the ELF, killing that QEMU by pid, and QEMU's output when the board dies.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tandem_boards::Board;
use tandem_link::host::LinkOptions;
use tandem_link::qemu::{Qemu, QemuOptions as LaunchOptions};
use tokio::runtime::Runtime;
use tracing::{debug, info, warn};

use crate::remote::{ByteStream, Peer, RemoteOptions, RemoteTarget};
use crate::target::TargetError;

/// How to bring up the QEMU board.
#[derive(Debug, Clone)]
pub struct QemuOptions {
    /// The board profile the firmware is built for (its `firmware` field names the board
    /// layer; only `mps2-an386` runs under QEMU).
    pub board: Board,
    /// A prebuilt firmware ELF; `None` builds `target-fw` for `board` first.
    pub firmware: Option<PathBuf>,
    /// The longest wait for any one reply.
    pub request_timeout: Duration,
    /// Build the firmware with on-device validation (its `validate` feature). Without it
    /// the runner checks `assert_invalid`/`assert_malformed` modules on the host.
    pub device_validation: bool,
    /// Resending and fault injection on the link.
    pub link: LinkOptions,
}

impl QemuOptions {
    pub fn new(board: Board) -> Self {
        QemuOptions {
            board,
            firmware: None,
            request_timeout: Duration::from_secs(30),
            device_validation: true,
            link: LinkOptions::default(),
        }
    }
}

/// The firmware on QEMU, as a [`crate::Target`].
pub type QemuTarget = RemoteTarget<QemuPeer>;

/// QEMU running one firmware ELF; restarted with the same ELF after a hang or crash.
pub struct QemuPeer {
    elf: PathBuf,
    qemu: Option<Qemu>,
}

impl QemuPeer {
    /// The ELF this peer boots.
    pub fn elf(&self) -> &Path {
        &self.elf
    }
}

impl Peer for QemuPeer {
    fn name(&self) -> &'static str {
        "qemu"
    }

    fn start(&mut self, rt: &Runtime) -> Result<Box<dyn ByteStream>, TargetError> {
        let (qemu, stream) = rt
            .block_on(Qemu::launch(&LaunchOptions::new(&self.elf)))
            .map_err(|e| TargetError::Transport(e.to_string()))?;
        info!(pid = qemu.pid(), port = qemu.port(), "QEMU started with {}", self.elf.display());
        self.qemu = Some(qemu);
        Ok(Box::new(stream))
    }

    fn kill(&mut self) {
        if let Some(qemu) = &mut self.qemu
            && let Err(e) = qemu.kill()
        {
            warn!("could not stop the old QEMU (pid {}): {e}", qemu.pid());
        }
    }

    fn wait_exit(&mut self, rt: &Runtime) -> Result<(), TargetError> {
        let Some(qemu) = &mut self.qemu else { return Ok(()) };
        let status = rt
            .block_on(qemu.wait_exit(Duration::from_secs(5)))
            .map_err(|e| TargetError::Transport(e.to_string()))?;
        if !status.success() {
            return Err(TargetError::Transport(format!(
                "QEMU exited with {status}: {}",
                qemu.output()
            )));
        }
        Ok(())
    }

    fn last_words(&mut self) -> String {
        let Some(qemu) = &mut self.qemu else { return String::new() };
        let mut words = Vec::new();
        if let Ok(Some(status)) = qemu.try_wait() {
            words.push(format!("QEMU exited ({status})"));
        }
        let output = qemu.output();
        if !output.trim().is_empty() {
            words.push(format!("QEMU output: {}", output.trim()));
        }
        words.join("; ")
    }
}

/// The firmware crate, next to this one in the repository.
fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target-fw")
}

/// Builds `target-fw` for `board` (release: opt-level "s", LTO), with or without on-device
/// validation, and returns the ELF path.
pub fn build_firmware(board: &Board, device_validation: bool) -> Result<PathBuf, TargetError> {
    let dir = firmware_dir();
    // The CI board's default build keeps target-fw's own target dir; every other variant
    // gets one of its own, so switching between them never rebuilds (or clobbers) another.
    let target_dir = match (board.name == tandem_boards::DEFAULT_BOARD, device_validation) {
        (true, true) => "target".to_owned(),
        (_, true) => format!("target/variants/{}", board.name),
        (_, false) => format!("target/variants/{}-no-validate", board.name),
    };
    let mut args = vec!["build", "--release", "--quiet", "--target-dir", target_dir.as_str()];
    if !device_validation {
        args.extend(["--no-default-features", "--features", "mps2-an386"]);
    }
    let fail = |m: String| TargetError::Transport(format!("cannot build the firmware: {m}"));
    let started = Instant::now();
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(&args)
        .current_dir(&dir)
        .env("TANDEM_BOARD", board.origin.as_deref().unwrap_or(&board.name))
        // The host build's settings must not leak into the firmware build.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|e| fail(format!("cannot run cargo in {}: {e}", dir.display())))?;
    if !output.status.success() {
        return Err(fail(format!(
            "`cargo build --release` in {} failed ({}):\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    debug!(elapsed = ?started.elapsed(), "firmware built for {}", board.name);
    Ok(dir.join(&target_dir).join("thumbv7em-none-eabihf/release/tandem-fw"))
}

impl RemoteTarget<QemuPeer> {
    /// Builds (if needed) and boots the firmware, connects and checks the protocol.
    pub fn start(options: &QemuOptions) -> Result<Self, TargetError> {
        let board = &options.board;
        if board.firmware.as_deref() != Some("mps2-an386") {
            return Err(TargetError::Request(format!(
                "board `{}` does not run under QEMU (only boards whose profile says \
                 firmware = \"mps2-an386\" do); use the simulator with --board {} instead",
                board.name, board.name
            )));
        }
        let elf = match &options.firmware {
            Some(path) => path.clone(),
            None => build_firmware(board, options.device_validation)?,
        };
        let remote = RemoteOptions { request_timeout: options.request_timeout, link: options.link };
        RemoteTarget::connect(QemuPeer { elf, qemu: None }, &board.name, remote)
    }
}
