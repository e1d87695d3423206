//! The QEMU target: the Cortex-M4 firmware (`target-fw`) on QEMU's `mps2-an386`, driven over
//! postcard-rpc on the board's UART.
//!
//! [`QemuTarget::start`] builds the firmware for the board profile (cargo decides whether
//! anything changed), starts `qemu-system-arm` on a fresh port, connects, and checks that
//! the firmware speaks this host's protocol: every endpoint's schema key must match, and the
//! protocol version too, or the firmware is refused with a message saying how to rebuild it.
//! Each request then waits at most [`QemuOptions::request_timeout`]; a board that stops
//! answering is a [`TargetError::Transport`] carrying QEMU's last words. Dropping the target
//! ends the QEMU it started, by pid.
//!
//! The runner is synchronous; this target owns a small tokio runtime and blocks on it per
//! request, so the same runner code drives the simulator and the board.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use postcard_rpc::Endpoint;
use postcard_rpc::host_client::{HostClient, HostErr};
use postcard_rpc::standard_icd::{LoggingTopic, WireError as RpcError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_boards::Board;
use tandem_link::qemu::{Qemu, QemuOptions as LaunchOptions};
use tandem_link::{postcard_rpc, tcp};
use tandem_protocol::{
    ENDPOINT_LIST, ExitEndpoint, GetGlobalEndpoint, InfoEndpoint, InfoResponse,
    InstantiateEndpoint, InvokeEndpoint, MAX_CHUNK, ModuleBegin, ModuleBeginEndpoint, ModuleChunk,
    ModuleChunkEndpoint, ModuleEndEndpoint, PROTOCOL_VERSION, RegisterEndpoint, ResetEndpoint,
    ResetRequest, StatsEndpoint, StatsResponse,
};
use tokio::runtime::Runtime;
use tracing::{debug, info, warn};

use crate::target::{
    InstanceId, ModuleId, Target, TargetError, TrapInfo, Val, WasmVersion, from_outcome, request,
    values,
};

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
}

impl QemuOptions {
    pub fn new(board: Board) -> Self {
        QemuOptions {
            board,
            firmware: None,
            request_timeout: Duration::from_secs(30),
            device_validation: true,
        }
    }
}

/// The firmware on QEMU, as a [`Target`].
pub struct QemuTarget {
    // Field order is drop order: the client closes before QEMU is killed, and both before
    // the runtime their tasks run on.
    client: HostClient<RpcError>,
    qemu: Qemu,
    logs: Option<postcard_rpc::host_client::MultiSubscription<String>>,
    info: InfoResponse,
    request_timeout: Duration,
    /// What to boot again after a hang or crash, and the board it must say it is.
    elf: PathBuf,
    board: Board,
    restarts: u32,
    rt: Runtime,
}

/// A booted QEMU and the postcard-rpc client talking to its firmware.
struct Link {
    client: HostClient<RpcError>,
    qemu: Qemu,
    logs: Option<postcard_rpc::host_client::MultiSubscription<String>>,
}

/// Starts QEMU on `elf` and connects a client, subscribed to the firmware's log frames
/// (where a panic or HardFault report arrives).
fn boot(rt: &Runtime, elf: &Path) -> Result<Link, TargetError> {
    let (qemu, stream) = rt
        .block_on(Qemu::launch(&LaunchOptions::new(elf)))
        .map_err(|e| TargetError::Transport(e.to_string()))?;
    info!(pid = qemu.pid(), port = qemu.port(), "QEMU started with {}", elf.display());
    let (client, _link_stats) = {
        let _guard = rt.enter();
        tcp::client(stream).map_err(|e| TargetError::Transport(e.to_string()))?
    };
    let logs = rt.block_on(client.subscribe_multi::<LoggingTopic>(16)).ok();
    Ok(Link { client, qemu, logs })
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

impl QemuTarget {
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
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| TargetError::Transport(format!("cannot start the tokio runtime: {e}")))?;
        let link = boot(&rt, &elf)?;
        let info = InfoResponse {
            firmware_version: String::new(),
            protocol_version: 0,
            board: String::new(),
            limits: tandem_protocol::BoardLimits {
                value_stack_slots: 0,
                max_call_depth: 0,
                fuel: None,
                max_module_bytes: 0,
                static_memory_bytes: None,
                heap_memory_bytes: None,
            },
            validates: false,
        };
        let mut target = QemuTarget {
            client: link.client,
            qemu: link.qemu,
            logs: link.logs,
            info,
            request_timeout: options.request_timeout,
            elf,
            board: board.clone(),
            restarts: 0,
            rt,
        };
        target.handshake()?;
        Ok(target)
    }

    /// How often the board was restarted after it stopped answering.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Asks the firmware to fault on purpose (for testing crash reports and recovery): the
    /// request never gets a reply, so this reports how the board went down.
    pub fn fault(&mut self, kind: tandem_protocol::FaultKind) -> TargetError {
        match self.request::<tandem_protocol::FaultEndpoint>(&kind) {
            Ok(()) => TargetError::Transport("the board answered a fault request".into()),
            Err(e) => e,
        }
    }

    /// What the firmware said about itself at connect.
    pub fn info(&self) -> &InfoResponse {
        &self.info
    }

    /// Refuses a firmware built from another protocol version, or for another board.
    fn handshake(&mut self) -> Result<(), TargetError> {
        let board = self.board.clone();
        let report = self
            .rt
            .block_on(async {
                tokio::time::timeout(self.request_timeout, self.client.get_schema_report()).await
            })
            .map_err(|_| self.dead("the firmware's schema report"))?
            .map_err(|e| TargetError::Transport(format!("schema report failed: {e:?}")))?;
        for &(path, req_key, resp_key) in ENDPOINT_LIST.endpoints {
            let theirs = report.endpoints.iter().find(|e| e.path == path);
            let same = theirs.is_some_and(|e| e.req_key == req_key && e.resp_key == resp_key);
            if !same {
                return Err(TargetError::Transport(format!(
                    "the firmware was built from another protocol version: endpoint `{path}` {} \
                     (rebuild it: cd target-fw && cargo build --release)",
                    if theirs.is_some() { "has other message types" } else { "is missing" }
                )));
            }
        }
        self.info = self.request::<InfoEndpoint>(&())?;
        if self.info.protocol_version != PROTOCOL_VERSION {
            return Err(TargetError::Transport(format!(
                "the firmware speaks protocol version {}, this host {PROTOCOL_VERSION} \
                 (rebuild it: cd target-fw && cargo build --release)",
                self.info.protocol_version
            )));
        }
        if self.info.board != board.name {
            return Err(TargetError::Transport(format!(
                "the firmware was built for board `{}`, not `{}`",
                self.info.board, board.name
            )));
        }
        info!(
            firmware = %self.info.firmware_version,
            board = %self.info.board,
            validates = self.info.validates,
            "handshake done"
        );
        Ok(())
    }

    /// One request, answered within the timeout or reported as a dead board.
    fn request<E>(&mut self, req: &E::Request) -> Result<E::Response, TargetError>
    where
        E: Endpoint,
        E::Request: Serialize + postcard_schema::Schema,
        E::Response: DeserializeOwned + postcard_schema::Schema,
    {
        // The timeout is made inside the runtime: tokio's timers need its context.
        let reply = self.rt.block_on(async {
            tokio::time::timeout(self.request_timeout, self.client.send_resp::<E>(req)).await
        });
        match reply {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(HostErr::Wire(e))) => Err(TargetError::Transport(format!(
                "the firmware refused `{}`: {e:?} (protocol mismatch?)",
                E::PATH
            ))),
            Ok(Err(e)) => Err(self.dead_with(E::PATH, &format!("{e}"))),
            Err(_) => Err(self.dead(E::PATH)),
        }
    }

    fn dead(&mut self, what: &str) -> TargetError {
        let why = format!("no reply within {:?}", self.request_timeout);
        self.dead_with(what, &why)
    }

    /// A transport error naming the request and whatever the board said before it died.
    fn dead_with(&mut self, what: &str, why: &str) -> TargetError {
        let mut message = format!("the board stopped answering ({what}: {why})");
        if let Some(logs) = &mut self.logs {
            // Log frames already received (the firmware's fatal report), without waiting.
            while let Ok(Ok(log)) = self.rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(20), logs.recv()).await
            }) {
                message.push_str(&format!("; it said: {}", log.trim()));
            }
        }
        if let Ok(Some(status)) = self.qemu.try_wait() {
            message.push_str(&format!("; QEMU exited ({status})"));
        }
        let output = self.qemu.output();
        if !output.trim().is_empty() {
            message.push_str(&format!("; QEMU output: {}", output.trim()));
        }
        TargetError::Transport(message)
    }

    /// Asks the firmware to exit and checks that QEMU ends cleanly.
    pub fn shutdown(mut self) -> Result<(), TargetError> {
        self.finish()
    }
}

impl Target for QemuTarget {
    fn name(&self) -> &str {
        "qemu"
    }

    fn board(&self) -> Option<&str> {
        Some(&self.info.board)
    }

    fn validates(&self) -> bool {
        self.info.validates
    }

    fn reset(&mut self, version: WasmVersion) -> Result<(), TargetError> {
        Ok(self.request::<ResetEndpoint>(&ResetRequest { version: version.into() })??)
    }

    fn load(&mut self, wasm: &[u8]) -> Result<ModuleId, TargetError> {
        let len = u32::try_from(wasm.len()).map_err(|_| {
            TargetError::Resource(format!("a module of {} bytes is over 4 GiB", wasm.len()))
        })?;
        self.request::<ModuleBeginEndpoint>(&ModuleBegin { len })??;
        for (i, chunk) in wasm.chunks(MAX_CHUNK).enumerate() {
            let offset = (i * MAX_CHUNK) as u32;
            self.request::<ModuleChunkEndpoint>(&ModuleChunk { offset, bytes: chunk.to_vec() })??;
        }
        let id = self.request::<ModuleEndEndpoint>(&())??;
        Ok(ModuleId(id.0))
    }

    fn instantiate(
        &mut self,
        module: ModuleId,
    ) -> Result<Result<InstanceId, TrapInfo>, TargetError> {
        let req = request::instantiate(module);
        from_outcome(self.request::<InstantiateEndpoint>(&req)?, |id| InstanceId(id.0))
    }

    fn register(&mut self, instance: InstanceId, as_name: &str) -> Result<(), TargetError> {
        let req = request::register(instance, as_name);
        Ok(self.request::<RegisterEndpoint>(&req)??)
    }

    fn invoke(
        &mut self,
        instance: InstanceId,
        export: &str,
        args: &[Val],
    ) -> Result<Result<Vec<Val>, TrapInfo>, TargetError> {
        let req = request::invoke(instance, export, args);
        from_outcome(self.request::<InvokeEndpoint>(&req)?, values)
    }

    fn get_global(&mut self, instance: InstanceId, export: &str) -> Result<Val, TargetError> {
        let req = request::get_global(instance, export);
        Ok(self.request::<GetGlobalEndpoint>(&req)?.map(Val::from)?)
    }

    fn stats(&mut self) -> Result<StatsResponse, TargetError> {
        self.request::<StatsEndpoint>(&())
    }

    /// Kills the QEMU that stopped answering and boots the same firmware again.
    fn recover(&mut self) -> Result<(), TargetError> {
        self.client.close();
        if let Err(e) = self.qemu.kill() {
            warn!("could not stop the old QEMU (pid {}): {e}", self.qemu.pid());
        }
        let link = boot(&self.rt, &self.elf)?;
        // Assigning drops the old client and QEMU handle (already closed and killed).
        self.client = link.client;
        self.qemu = link.qemu;
        self.logs = link.logs;
        self.restarts += 1;
        self.handshake()?;
        info!(restarts = self.restarts, "board restarted");
        Ok(())
    }

    fn finish(&mut self) -> Result<(), TargetError> {
        self.request::<ExitEndpoint>(&true)?;
        let status = self
            .rt
            .block_on(self.qemu.wait_exit(Duration::from_secs(5)))
            .map_err(|e| TargetError::Transport(e.to_string()))?;
        if !status.success() {
            return Err(TargetError::Transport(format!(
                "QEMU exited with {status}: {}",
                self.qemu.output()
            )));
        }
        Ok(())
    }
}
