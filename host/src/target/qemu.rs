//! The QEMU target: the firmware (`target-fw`) on one of QEMU's MPS2 machines (`mps2-an386`,
//! the Cortex-M4F CI board; `mps2-an385`, Cortex-M3; `mps2-an500`, Cortex-M7; `mps2-an505`,
//! Cortex-M33), driven over
//! postcard-rpc on the board's UART, or (`qemu-rtt`) over RTT through QEMU's gdbstub, the
//! path a real board behind a debug probe takes.
//!
//! [`QemuTarget::start`] builds the firmware for the board profile (cargo decides whether
//! anything changed), starts `qemu-system-arm` on a fresh port and connects; the protocol
//! checks, timeouts and recovery are [`RemoteTarget`]'s. [`QemuPeer`] is what is QEMU-specific:
//! booting the ELF, killing that QEMU by pid, and QEMU's output when the board dies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tandem_boards::{BoardProfile, GENERIC_LAYER};
use tandem_probe::gdb::GdbStub;
use tandem_probe::rtt::{CONTROL_BLOCK_SYMBOL, RttChannels};
use tandem_probe::stream::{PollOptions, RttStream};
use tokio::runtime::Runtime;
use tracing::{debug, info, warn};

use crate::firmware::{FirmwareBuild, FirmwareFeatures, ModuleReader, firmware_dir};
use crate::qemu::{LaunchOptions, Qemu, QemuPort};
use crate::target::TargetError;
use crate::target::remote::{ByteStream, Peer, RemoteOptions, RemoteTarget};

/// How to bring up the QEMU board.
#[derive(Debug, Clone)]
pub struct QemuOptions {
    /// The board profile the firmware is built for (its `firmware` field names the board
    /// layer, which for a board QEMU runs is the machine's name: [`QEMU_MACHINES`]).
    pub board: BoardProfile,
    /// A prebuilt firmware ELF; `None` builds `target-fw` for `board` first.
    pub firmware: Option<PathBuf>,
    /// The `target-fw` crate to build (see [`firmware_dir`]).
    pub firmware_dir: PathBuf,
    /// What the firmware built reads: WebAssembly validated on the board, WebAssembly the
    /// host validated (the runner then checks `assert_invalid`/`assert_malformed` modules
    /// on the host), or images the host compiled.
    pub reader: ModuleReader,
    /// Reply timeout, call deadline and link.
    pub remote: RemoteOptions,
    /// Link over RTT through QEMU's gdbstub instead of the UART.
    pub rtt: bool,
    /// The machine for a board whose layer is not one of QEMU's: the generic layer, built for
    /// a chip profile with a QEMU machine's memory map (over RTT: it has no UART). Such a
    /// firmware parks at the end of a run, as on a chip behind a probe, and the host then
    /// stops QEMU.
    pub machine: Option<String>,
}

impl QemuOptions {
    /// Defaults for `board`: this checkout's firmware built with on-device validation where
    /// the core can run it ([`ModuleReader::best_for`]), the UART link, 30 s per reply.
    pub fn new(board: BoardProfile) -> Self {
        QemuOptions {
            reader: ModuleReader::best_for(&board),
            board,
            firmware: None,
            firmware_dir: firmware_dir(),
            remote: RemoteOptions::default(),
            rtt: false,
            machine: None,
        }
    }
}

/// The board layers that run under QEMU: each is named after its QEMU machine.
pub const QEMU_MACHINES: &[&str] = &["mps2-an386", "mps2-an385", "mps2-an500", "mps2-an505"];

/// The firmware on QEMU, as a [`crate::target::Target`].
pub type QemuTarget = RemoteTarget<QemuPeer>;

/// QEMU running one firmware ELF; restarted with the same ELF after a hang or crash.
pub struct QemuPeer {
    elf: PathBuf,
    /// The QEMU machine, e.g. `mps2-an386`.
    machine: String,
    qemu: Option<Qemu>,
    /// The RTT control block's address, for firmware linked over RTT.
    rtt: Option<u32>,
    /// The RTT stream while one runs (dropping it stops it).
    rtt_stream: Option<RttStream<GdbStub>>,
    /// The firmware parks at the end of a run instead of ending QEMU (semihosting).
    parks_at_exit: bool,
}

impl QemuPeer {
    /// The ELF this peer boots.
    pub fn elf(&self) -> &Path {
        &self.elf
    }
}

impl Peer for QemuPeer {
    fn name(&self) -> &'static str {
        if self.rtt.is_some() { "qemu-rtt" } else { "qemu" }
    }

    fn start(&mut self, rt: &Runtime) -> Result<Box<dyn ByteStream>, TargetError> {
        let mut launch = LaunchOptions::new(&self.elf);
        launch.machine.clone_from(&self.machine);
        if self.rtt.is_some() {
            launch.port = QemuPort::Gdb;
        }
        let (qemu, stream) = rt
            .block_on(Qemu::launch(&launch))
            .map_err(|e| TargetError::Transport(e.to_string()))?;
        info!(pid = qemu.pid(), port = qemu.port(), "QEMU started with {}", self.elf.display());
        self.qemu = Some(qemu);
        let Some(control_block) = self.rtt else { return Ok(Box::new(stream)) };

        // RTT: the port is QEMU's gdbstub; find the rings through it, then pump them.
        let transport =
            |e: &dyn std::fmt::Display| TargetError::Transport(format!("qemu-rtt: {e}"));
        let stream = stream.into_std().map_err(|e| transport(&e))?;
        stream.set_nonblocking(false).map_err(|e| transport(&e))?;
        let mut stub = GdbStub::new(stream, Duration::from_secs(10)).map_err(|e| transport(&e))?;
        let channels = RttChannels::attach(&mut stub, control_block, Duration::from_secs(10))
            .map_err(|e| transport(&e))?;
        debug!(up = channels.up_size(), down = channels.down_size(), "RTT attached via gdbstub");
        let (io, rtt) = RttStream::spawn(rt.handle(), stub, channels, PollOptions::default());
        self.rtt_stream = Some(rtt);
        Ok(Box::new(io))
    }

    fn kill(&mut self) {
        // The stream stops with the gdbstub connection, and at once when dropped.
        self.rtt_stream = None;
        if let Some(qemu) = &mut self.qemu
            && let Err(e) = qemu.kill()
        {
            warn!("could not stop the old QEMU (pid {}): {e}", qemu.pid());
        }
    }

    fn wait_exit(&mut self, rt: &Runtime) -> Result<(), TargetError> {
        if self.parks_at_exit {
            // It answered the exit request and parked: nothing more will come.
            self.kill();
            return Ok(());
        }
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

impl RemoteTarget<QemuPeer> {
    /// Builds (if needed) and boots the firmware, connects and checks the protocol.
    pub fn start(options: &QemuOptions) -> Result<Self, TargetError> {
        let board = &options.board;
        let layer = board.firmware.as_deref();
        let generic = layer == Some(GENERIC_LAYER);
        let machine = match &options.machine {
            Some(machine) if generic => Some(machine.as_str()),
            _ => layer.filter(|f| QEMU_MACHINES.contains(f)),
        };
        let Some(machine) = machine else {
            return Err(TargetError::Transport(format!(
                "board `{}` does not run under QEMU (only boards whose profile says \
                 firmware = one of {} do); use the simulator with --board {} instead",
                board.name,
                QEMU_MACHINES.join(", "),
                board.name
            )));
        };
        let features = FirmwareFeatures { reader: options.reader, rtt: options.rtt };
        let elf = match &options.firmware {
            Some(path) => path.clone(),
            None => FirmwareBuild::target_fw(options.firmware_dir.clone(), board, features)
                .and_then(|build| build.build())
                .map_err(|e| TargetError::Transport(format!("cannot build the firmware: {e}")))?,
        };
        let rtt = if options.rtt {
            let addr = tandem_probe::elf::symbol_address(&elf, CONTROL_BLOCK_SYMBOL)
                .map_err(TargetError::Transport)?;
            Some(addr)
        } else {
            None
        };
        let remote = options.remote;
        let peer = QemuPeer {
            elf,
            machine: machine.to_owned(),
            qemu: None,
            rtt,
            rtt_stream: None,
            parks_at_exit: generic,
        };
        RemoteTarget::connect(peer, &board.name, remote)
    }
}
