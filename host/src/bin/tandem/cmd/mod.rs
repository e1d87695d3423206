//! The subcommands, one file each, and what the ones that run suites share: the suite and
//! target arguments, and building a target from them.

pub mod boards;
pub mod call;
pub mod compile;
pub mod measure;
pub mod merge;
pub mod parity;
pub mod probe;
pub mod run;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tandem::firmware::{ModuleReader, firmware_dir};
use tandem::program::ProgramOptions;
use tandem::shard::Shard;
use tandem::suite::Plan;
use tandem::target::probe::{ProbeOptions, ProbeTarget, resolve_board};
use tandem::target::qemu::{QemuOptions, QemuTarget};
use tandem::target::remote::RemoteOptions;
use tandem::target::sim_link::LinkedSimTarget;
use tandem::{Features, SimTarget, Target};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_link::host::{FaultPlan, LinkOptions};

/// Where the modules run.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum TargetKind {
    /// tandem-interp in-process, behind the firmware's request handler.
    Sim,
    /// The simulator in a thread behind the CRC-framed postcard-rpc link, serving the
    /// firmware's own request table (for testing the link; see --link-faults).
    SimLink,
    /// The Cortex-M4 firmware on QEMU mps2-an386, over the UART link.
    Qemu,
    /// The same board with the link over RTT through QEMU's gdbstub: the probe target's
    /// path, with no hardware.
    QemuRtt,
    /// The firmware on a real board through a debug probe (probe-rs), over RTT: flashed,
    /// reset and run. Needs --board or --chip.
    Probe,
}

impl TargetKind {
    /// The name reports use.
    pub fn name(self) -> &'static str {
        match self {
            TargetKind::Sim => "sim",
            TargetKind::SimLink => "sim-link",
            TargetKind::Qemu => "qemu",
            TargetKind::QemuRtt => "qemu-rtt",
            TargetKind::Probe => "probe",
        }
    }
}

/// A Wasm version on the command line: the features modules may use.
#[derive(Clone, Copy, ValueEnum)]
pub enum VersionArg {
    /// WebAssembly 1.0.
    V1,
    /// WebAssembly 2.0 (without SIMD).
    V2,
    /// 2.0 and every later proposal Tandem implements (tail calls, extended constants,
    /// multi-memory, custom page sizes).
    V3,
}

/// What every command that runs suites takes.
#[derive(Args)]
pub struct SuiteArgs {
    /// Suites to run: spec:v1, spec:v2, a .wast file, a .wasm program, or a directory of
    /// them (its .wasm files that export _start) [default: spec:v1 spec:v2]
    suites: Vec<String>,
    /// Only run files whose name contains this text.
    #[arg(long, value_name = "SUBSTRING")]
    filter: Option<String>,
    /// The Wasm version .wast files and directories are run against (spec
    /// suites fix their own).
    #[arg(long, value_enum, default_value_t = VersionArg::V3)]
    wasm_version: VersionArg,
    /// The export a program (`.wasm`) is run by.
    #[arg(long, value_name = "EXPORT", default_value = "_start")]
    invoke: String,
    /// The exit code a program must end with (what it passes to WASI's proc_exit; 0 when
    /// its export returns).
    #[arg(long, value_name = "N", default_value_t = 0)]
    expect_exit: u32,
    /// The host modules a program may import, comma-separated [default: tandem,
    /// wasi_snapshot_preview1] (a .wast file links spectest and what its `;; host:` line
    /// names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    host: Vec<String>,
    #[command(flatten)]
    wasi: WasiArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// The world a WASI program sees: what `run`, `parity` and `call` take.
#[derive(Args)]
pub struct WasiArgs {
    /// An argument for a WASI program, after its name (repeat for more).
    #[arg(long = "arg", value_name = "ARG", allow_hyphen_values = true)]
    program_args: Vec<String>,
    /// An environment variable for a WASI program (repeat for more).
    #[arg(long, value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// A file whose bytes a WASI program reads from stdin.
    #[arg(long, value_name = "FILE")]
    stdin: Option<PathBuf>,
}

impl WasiArgs {
    /// Fills `options`' arguments, environment and stdin.
    pub fn apply(&self, options: &mut ProgramOptions) -> Result<()> {
        options.args = self.program_args.clone();
        options.env = self.env.clone();
        if let Some(path) = &self.stdin {
            options.stdin = std::fs::read(path)
                .with_context(|| format!("cannot read the stdin file {}", path.display()))?;
        }
        Ok(())
    }
}

/// How to bring up a target: what every command that runs WebAssembly takes.
#[derive(Args, Clone)]
pub struct TargetArgs {
    /// A prebuilt firmware ELF for the qemu and probe targets (default: build target-fw for
    /// the board).
    #[arg(long, value_name = "ELF")]
    firmware: Option<PathBuf>,
    /// The target-fw crate to build for the qemu and probe targets [env: TANDEM_FIRMWARE_DIR;
    /// default: this checkout's target-fw].
    #[arg(long, value_name = "DIR")]
    firmware_dir: Option<PathBuf>,
    /// Longest an instantiation or invocation may run, in seconds: it then fails with a trap
    /// saying so, and the run goes on. A board counts by its own clock (QEMU's is virtual
    /// time, slower than the wall's); the host gives up on a silent board 5 s after it.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Build the qemu and probe firmware without on-device validation (the default on
    /// ARMv6-M cores, where the validator does not build): the host then checks
    /// assert_invalid/assert_malformed modules and reports them as skipped, for the
    /// simulator of that board too.
    #[arg(long)]
    no_device_validation: bool,
    /// Compile every module on the host into an image for the target (`tandem compile`)
    /// and send that: the qemu and probe targets run the images-only firmware (no decoder,
    /// no translator), the simulators read images as it does. Modules the host rejects are
    /// judged on the host, as with --no-device-validation.
    #[arg(long)]
    images: bool,
    /// Damage the link on purpose (every target but sim): per-byte rates in both directions,
    /// e.g. `corrupt=1e-3,drop=1e-4,dup=1e-4,delay=1e-4,seed=7`. Damaged frames are detected
    /// and the requests resent; the results must not change.
    #[arg(long, value_name = "SPEC", value_parser = FaultPlan::parse)]
    pub link_faults: Option<FaultPlan>,
    /// The probe target's chip, as probe-rs names it (e.g. nRF52840_xxAA); picks the board
    /// when --board is not given.
    #[arg(long, value_name = "CHIP")]
    chip: Option<String>,
    /// The probe target's debug probe, when more than one is attached (see `tandem probe
    /// list`); once per board with --jobs N, one board per instance.
    #[arg(long, value_name = "VID:PID[:SERIAL]")]
    probe: Vec<String>,
}

impl VersionArg {
    /// The features it stands for.
    pub fn features(self) -> Features {
        match self {
            VersionArg::V1 => Features::WASM1,
            VersionArg::V2 => Features::WASM2,
            VersionArg::V3 => Features::SUPPORTED,
        }
    }
}

impl SuiteArgs {
    /// The suites named, resolved and read (both spec suites when none is named).
    pub fn plan(&self) -> Result<Plan> {
        let names: Vec<String> = if self.suites.is_empty() {
            vec!["spec:v1".into(), "spec:v2".into()]
        } else {
            self.suites.clone()
        };
        let mut programs = ProgramOptions {
            export: self.invoke.clone(),
            expect_exit: self.expect_exit,
            ..ProgramOptions::default()
        };
        if !self.host.is_empty() {
            programs.hosts.clear();
            for name in &self.host {
                if !programs.hosts.contains(name) {
                    programs.hosts.push(name.clone());
                }
            }
        }
        self.wasi.apply(&mut programs)?;
        Ok(Plan::new(&names, self.wasm_version.features(), self.filter.clone(), &programs)?)
    }
}

impl TargetArgs {
    /// The one target a command (`run`, `call`, `measure`) runs on, with the board profile
    /// named `board` (built-in name or `.toml` path). `--link-faults` needs a link, so the
    /// simulator is refused with it (`parity` builds its targets with [`TargetArgs::target`],
    /// where the simulator is the reference the faulty links are held to).
    pub fn single(&self, kind: TargetKind, board: Option<&str>) -> Result<Box<dyn Target + Send>> {
        if kind == TargetKind::Sim && self.link_faults.is_some() {
            anyhow::bail!(
                "--link-faults needs a link: the sim target has none; use --target sim-link, \
                 qemu, qemu-rtt or probe"
            );
        }
        let board = board.map(BoardProfile::find).transpose()?;
        self.target(kind, board.as_ref())
    }

    /// Builds a target; `board` `None` means the desktop simulator's own limits (and the CI
    /// board for a target behind a link, which always runs a board's request table).
    pub fn target(
        &self,
        kind: TargetKind,
        board: Option<&BoardProfile>,
    ) -> Result<Box<dyn Target + Send>> {
        let board_or_default = || -> Result<BoardProfile> {
            Ok(match board {
                Some(b) => b.clone(),
                None => BoardProfile::find(DEFAULT_BOARD)?,
            })
        };
        let cannot_start = || format!("cannot start the {} target", kind.name());
        Ok(match kind {
            TargetKind::Sim => {
                let sim = board.map_or_else(SimTarget::new, SimTarget::for_board);
                // Held to a board, the simulator reads what its firmware reads.
                let reader = board.map(|b| self.reader(b));
                let images = self.images || reader == Some(ModuleReader::Images);
                let sim = if images { sim.with_images() } else { sim };
                let validates = reader.is_none_or(ModuleReader::validates);
                let sim = if validates { sim } else { sim.judged_on_host() };
                Box::new(sim.with_timeout(self.timeout()))
            }
            TargetKind::Qemu | TargetKind::QemuRtt => {
                let mut options = QemuOptions::new(board_or_default()?);
                options.firmware = self.firmware.clone();
                options.firmware_dir = self.firmware_dir();
                options.reader = self.reader(&options.board);
                options.remote = self.remote(options.reader);
                options.rtt = kind == TargetKind::QemuRtt;
                Box::new(QemuTarget::start(&options).with_context(cannot_start)?)
            }
            TargetKind::Probe => {
                let (board, chip) =
                    resolve_board(board, self.chip.as_deref()).map_err(anyhow::Error::msg)?;
                let reader = self.reader(&board);
                let options = ProbeOptions {
                    reader,
                    board,
                    chip,
                    probe: self.probe.first().cloned(),
                    firmware: self.firmware.clone(),
                    firmware_dir: self.firmware_dir(),
                    remote: self.remote(reader),
                };
                Box::new(ProbeTarget::start(&options).with_context(cannot_start)?)
            }
            TargetKind::SimLink => Box::new(
                // The simulator behind the link validates as the desktop's does.
                LinkedSimTarget::start(&board_or_default()?, self.remote(self.sim_link_reader()))
                    .with_context(cannot_start)?,
            ),
        })
    }

    /// The arguments of instance `index` of a run with --jobs: the same, with the probe
    /// target's `index`-th `--probe` (each instance its own board).
    pub fn instance(&self, index: usize) -> TargetArgs {
        let mut args = self.clone();
        if let Some(probe) = self.probe.get(index) {
            args.probe = vec![probe.clone()];
        }
        args
    }

    /// What the firmware built for the qemu and probe targets reads: what the flags ask, or
    /// the most `board`'s core can read.
    fn reader(&self, board: &BoardProfile) -> ModuleReader {
        match (self.images, self.no_device_validation) {
            (true, _) => ModuleReader::Images,
            (false, true) => ModuleReader::Wasm,
            (false, false) => ModuleReader::best_for(board),
        }
    }

    fn sim_link_reader(&self) -> ModuleReader {
        if self.images { ModuleReader::Images } else { ModuleReader::ValidatingWasm }
    }

    fn firmware_dir(&self) -> PathBuf {
        self.firmware_dir.clone().unwrap_or_else(firmware_dir)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout)
    }

    /// A target behind a link whose firmware reads what `reader` says: the board stops a
    /// call at the timeout by its own clock.
    fn remote(&self, reader: ModuleReader) -> RemoteOptions {
        let link = LinkOptions { faults: self.link_faults, ..LinkOptions::default() };
        let images = reader == ModuleReader::Images;
        RemoteOptions { link, images, ..RemoteOptions::default() }
            .with_call_deadline(self.timeout())
    }
}

/// How a run's files are spread: over instances of each target, and over machines (shards).
/// What `run` and `parity` take.
#[derive(Args)]
pub struct WorkArgs {
    /// Run this many instances of each target (simulators, QEMU boards, linked
    /// simulators; boards behind probes, one per --probe), a file on each at a time. Results and
    /// reports are those of one instance, in the same order.
    #[arg(long, short = 'j', value_name = "N", default_value = "1")]
    jobs: NonZeroUsize,
    /// Run only part K of N of the files (split by directive count, the same on every
    /// machine); `tandem merge` joins the parts' records.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Run a file up to N more times when an attempt met a transport failure (the target
    /// stopped answering or died), restarting the target first; never after a wrong result.
    /// The report names each dropped attempt's failure.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
}

impl WorkArgs {
    /// `plan`'s files this run takes (all of them, or its shard's), with its retries.
    pub fn plan(&self, plan: &Plan) -> Result<Plan> {
        let part = match self.shard {
            Some(shard) => plan.shard(shard)?,
            None => plan.clone(),
        };
        Ok(part.with_retries(self.retries))
    }

    /// Starts the instances of target `kind` with `start`, given each instance's target
    /// arguments ([`TargetArgs::instance`]: on the probe target, each its own `--probe`),
    /// one after the other in this thread: a QEMU dies with the thread that started it (its
    /// parent-death signal follows the thread, not the process), and this one outlives the
    /// run.
    pub fn start(
        &self,
        kind: TargetKind,
        target: &TargetArgs,
        start: impl Fn(&TargetArgs) -> Result<Box<dyn Target + Send>>,
    ) -> Result<Vec<Box<dyn Target + Send>>> {
        let jobs = self.jobs.get();
        if kind == TargetKind::Probe && jobs > 1 && target.probe.len() < jobs {
            anyhow::bail!(
                "--jobs {jobs} on the probe target runs {jobs} boards: give --probe \
                 VID:PID[:SERIAL] once for each (given: {}; see `tandem probe list`)",
                target.probe.len()
            );
        }
        (0..jobs).map(|i| start(&target.instance(i))).collect()
    }
}

/// A progress bar of `len` files for the target `prefix`.
pub fn progress_bar(multi: &MultiProgress, len: u64, prefix: &str) -> ProgressBar {
    let bar = multi.add(ProgressBar::new(len));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>5} [{bar:30}] {pos}/{len} files {elapsed} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_owned());
    bar
}
