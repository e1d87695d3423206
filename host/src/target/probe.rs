//! The probe target: the firmware on a real board behind a debug probe, flashed and driven
//! through the probe-rs library, with the link over RTT.
//!
//! [`ProbeTarget::start`] checks everything it can before the slow steps (the chip is one
//! probe-rs knows, a board layer exists for it, a probe is attached), builds the firmware for
//! the board, then [`ProbePeer`] flashes it once, resets it with a wiped RTT control block,
//! attaches RTT at the ELF's `_SEGGER_RTT` and pumps the link through the probe. After a hang
//! the board is reset (not reflashed) and the link attached again.

use std::path::PathBuf;
use std::time::Duration;

use tandem_boards::BoardProfile;
use tandem_probe::hardware::{self, Board as ProbedBoard};
use tandem_probe::rtt::{CONTROL_BLOCK_SYMBOL, RttChannels};
use tandem_probe::stream::{PollOptions, RttStream};
use tokio::runtime::Runtime;
use tracing::{debug, info};

use crate::firmware::{FirmwareBuild, FirmwareFeatures, ModuleReader};
use crate::target::TargetError;
use crate::target::remote::{ByteStream, Peer, RemoteOptions, RemoteTarget};

/// How to reach the board.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    /// The board profile, with the probe-rs chip name (see [`resolve_board`]).
    pub board: BoardProfile,
    /// The probe-rs chip name.
    pub chip: String,
    /// `VID:PID[:SERIAL]` (`--probe`); `None` takes the only attached probe.
    pub probe: Option<String>,
    /// A prebuilt firmware ELF; `None` builds `target-fw` for the board.
    pub firmware: Option<PathBuf>,
    /// The `target-fw` crate to build (see [`crate::firmware::firmware_dir`]).
    pub firmware_dir: PathBuf,
    /// What the firmware built reads (see [`ModuleReader`]).
    pub reader: ModuleReader,
    /// Reply timeout, call deadline and link.
    pub remote: RemoteOptions,
}

/// Longest wait for the firmware to set up its RTT control block after reset.
const RTT_ATTACH_TIMEOUT: Duration = Duration::from_secs(5);

/// The board to run on and its chip, from `--board` and/or `--chip` (a chip no built-in
/// board has gets its derived profile, [`chip_profile`]); a message naming the boards that
/// have a probe when they do not say one.
pub fn resolve_board(
    board: Option<&BoardProfile>,
    chip: Option<&str>,
) -> Result<(BoardProfile, String), String> {
    let supported = || {
        BoardProfile::builtin()
            .into_iter()
            .filter_map(|b| Some(format!("{} ({})", b.name, b.chip?)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let board = match (board, chip) {
        (Some(b), _) => b.clone(),
        (None, Some(chip)) => match BoardProfile::builtin()
            .into_iter()
            .find(|b| b.chip.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(chip)))
        {
            Some(board) => board,
            None => chip_profile(chip)
                .map_err(|e| format!("{e}; boards with a layer of their own: {}", supported()))?,
        },
        (None, None) => {
            return Err(format!(
                "--target probe needs --board or --chip; boards with a probe: {}",
                supported()
            ));
        }
    };
    let Some(board_chip) = board.chip.as_deref().map(str::to_owned) else {
        return Err(format!(
            "board `{}` is not reached through a debug probe (its profile names no chip); \
             boards with a probe: {}",
            board.name,
            supported()
        ));
    };
    if let Some(chip) = chip
        && !chip.eq_ignore_ascii_case(&board_chip)
    {
        return Err(format!(
            "--chip {chip} does not match board `{}`, whose chip is {board_chip}",
            board.name
        ));
    }
    Ok((board, board_chip))
}

/// The profile of a chip no built-in board has, for the generic firmware layer: derived from
/// what probe-rs's chip database says of it.
pub fn chip_profile(chip: &str) -> Result<BoardProfile, String> {
    let described = tandem_probe::chips::describe(chip).map_err(|e| e.to_string())?;
    BoardProfile::for_chip(&described).map_err(|e| format!("no firmware for the {chip}: {e}"))
}

/// The firmware on a board behind a probe, as a [`crate::target::Target`].
pub type ProbeTarget = RemoteTarget<ProbePeer>;

/// A board behind a probe: attached on the first start, reset on every later one.
pub struct ProbePeer {
    elf: PathBuf,
    chip: String,
    probe: hardware::DebugProbeInfo,
    control_block: u32,
    /// The attached board while no stream runs.
    board: Option<ProbedBoard>,
    /// The stream while one runs; it holds the board.
    stream: Option<RttStream<ProbedBoard>>,
    last_error: Option<String>,
}

impl ProbePeer {
    fn attached_board(&mut self, rt: &Runtime) -> Result<ProbedBoard, TargetError> {
        if let Some(stream) = self.stream.take() {
            let (board, ended) = rt.block_on(stream.stop()).map_err(transport)?;
            if let Err(e) = ended {
                self.last_error = Some(e.to_string());
            }
            return Ok(board);
        }
        if let Some(board) = self.board.take() {
            return Ok(board);
        }
        let mut board = ProbedBoard::attach(&self.probe, &self.chip).map_err(transport)?;
        info!(chip = %self.chip, "flashing {}", self.elf.display());
        board.flash(&self.elf).map_err(transport)?;
        Ok(board)
    }
}

fn transport(e: impl std::fmt::Display) -> TargetError {
    TargetError::Transport(e.to_string())
}

impl Peer for ProbePeer {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn start(&mut self, rt: &Runtime) -> Result<Box<dyn ByteStream>, TargetError> {
        let mut board = self.attached_board(rt)?;
        board.start(self.control_block).map_err(transport)?;
        let channels = match RttChannels::attach(&mut board, self.control_block, RTT_ATTACH_TIMEOUT)
        {
            Ok(channels) => channels,
            Err(e) => {
                self.board = Some(board);
                return Err(transport(e));
            }
        };
        debug!(up = channels.up_size(), down = channels.down_size(), "RTT attached via probe");
        let (io, stream) = RttStream::spawn(rt.handle(), board, channels, PollOptions::default());
        self.stream = Some(stream);
        Ok(Box::new(io))
    }

    fn kill(&mut self) {
        // The board is reset by the next start; nothing to stop by force.
    }

    fn wait_exit(&mut self, rt: &Runtime) -> Result<(), TargetError> {
        // The firmware parks after answering the exit request; stop the stream and detach.
        if let Some(stream) = self.stream.take() {
            let (_board, ended) = rt.block_on(stream.stop()).map_err(transport)?;
            ended.map_err(transport)?;
        }
        Ok(())
    }

    fn last_words(&mut self) -> String {
        self.last_error.take().unwrap_or_default()
    }
}

impl RemoteTarget<ProbePeer> {
    /// Checks chip, board and probe, builds (if needed) and flashes the firmware, connects
    /// over RTT and checks the protocol.
    pub fn start(options: &ProbeOptions) -> Result<Self, TargetError> {
        let (board, chip) = (&options.board, options.chip.clone());
        hardware::check_chip(&chip).map_err(transport)?;
        let probe = hardware::choose_probe(options.probe.as_deref()).map_err(transport)?;
        let elf = match &options.firmware {
            Some(path) => path.clone(),
            None => {
                let features = FirmwareFeatures { reader: options.reader, rtt: true };
                FirmwareBuild::target_fw(options.firmware_dir.clone(), board, features)
                    .and_then(|build| build.build())
                    .map_err(|e| {
                        TargetError::Transport(format!("cannot build the firmware: {e}"))
                    })?
            }
        };
        let control_block = tandem_probe::elf::symbol_address(&elf, CONTROL_BLOCK_SYMBOL)
            .map_err(TargetError::Transport)?;
        let remote = options.remote;
        let peer = ProbePeer {
            elf,
            chip,
            probe,
            control_block,
            board: None,
            stream: None,
            last_error: None,
        };
        RemoteTarget::connect(peer, &board.name, remote)
    }
}
