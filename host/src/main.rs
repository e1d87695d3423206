//! The `tandem` command line.
//!
//! - `tandem run [SUITES...] [--target sim|sim-link|qemu|qemu-rtt|probe] [--board NAME]
//!   [--chip CHIP] [--probe VID:PID[:SERIAL]] [--filter SUBSTRING] [--junit FILE]
//!   [--link-faults SPEC]` runs `.wast` suites (`spec:v1`, `spec:v2`, a `.wast` file or a directory
//!   of them; both spec suites when none is given) and prints one row per file, the failures
//!   with `file:line`, the skips with their reasons, one `LABEL: N passed, M failed, K skipped`
//!   line per suite and, last, `N passed, M failed`.
//! - `tandem parity [SUITES...] --targets sim,qemu [--board NAME]` runs the suites on every
//!   target at once, with the same board profile, and compares every directive's outcome and
//!   the per-file statistics; mismatches are printed as a diff. Last line `N passed, M failed`,
//!   where a directive passes when it passed on every target with identical outcomes.
//! - `tandem boards` lists the built-in board profiles.
//! - `tandem probe list` lists the attached debug probes.
//!
//! Exit code: 0 when nothing failed, 1 when an assertion failed or the targets disagree,
//! 2 for usage, I/O, parse and target errors. `RUST_LOG` sets the log level (tracing).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tracing_subscriber::EnvFilter;

use tandem::linked_sim::LinkedSimTarget;
use tandem::probe::{ProbeOptions, ProbeTarget, resolve_board};
use tandem::qemu::{QemuOptions, QemuTarget};
use tandem::report::{self, SuiteReport};
use tandem::suite::{SuiteFile, run_files};
use tandem::{SimTarget, Suite, Target, WasmVersion, parity};
use tandem_boards::{Board, DEFAULT_BOARD};
use tandem_link::host::{FaultPlan, LinkOptions};

#[derive(Parser)]
#[command(name = "tandem", version, about = "Tandem: a WebAssembly runtime for microcontrollers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run .wast test suites on a target.
    Run(RunArgs),
    /// Run suites on several targets and compare every outcome.
    Parity(ParityArgs),
    /// List the built-in board profiles.
    Boards,
    /// Debug probes.
    #[command(subcommand)]
    Probe(ProbeCommand),
}

#[derive(Subcommand)]
enum ProbeCommand {
    /// List the attached debug probes (USB), with the --probe argument for each.
    List,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum TargetKind {
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

#[derive(Clone, Copy, ValueEnum)]
enum VersionArg {
    V1,
    V2,
}

/// What every command that runs suites takes.
#[derive(Args)]
struct SuiteArgs {
    /// Suites to run: spec:v1, spec:v2, a .wast file or a directory of .wast files
    /// [default: spec:v1 spec:v2]
    suites: Vec<String>,
    /// Only run files whose name contains this text.
    #[arg(long, value_name = "SUBSTRING")]
    filter: Option<String>,
    /// The Wasm version .wast files and directories are run against (spec
    /// suites fix their own).
    #[arg(long, value_enum, default_value_t = VersionArg::V2)]
    wasm_version: VersionArg,
    /// A prebuilt firmware ELF for the qemu and probe targets (default: build target-fw for
    /// the board).
    #[arg(long, value_name = "ELF")]
    firmware: Option<PathBuf>,
    /// Longest wait for one reply from a board, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timeout: u64,
    /// Build the qemu firmware without on-device validation: the host then checks
    /// assert_invalid/assert_malformed modules and reports them as skipped.
    #[arg(long)]
    no_device_validation: bool,
    /// Damage the link on purpose (every target but sim): per-byte rates in both directions,
    /// e.g. `corrupt=1e-3,drop=1e-4,dup=1e-4,delay=1e-4,seed=7`. Damaged frames are detected
    /// and the requests resent; the results must not change.
    #[arg(long, value_name = "SPEC", value_parser = FaultPlan::parse)]
    link_faults: Option<FaultPlan>,
    /// The probe target's chip, as probe-rs names it (e.g. nRF52840_xxAA); picks the board
    /// when --board is not given.
    #[arg(long, value_name = "CHIP")]
    chip: Option<String>,
    /// The probe target's debug probe, when more than one is attached (see `tandem probe
    /// list`).
    #[arg(long, value_name = "VID:PID[:SERIAL]")]
    probe: Option<String>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    common: SuiteArgs,
    /// Where the modules run.
    #[arg(long, value_enum, default_value_t = TargetKind::Sim)]
    target: TargetKind,
    /// Board profile (a built-in name or a .toml path): its limits apply on every target.
    /// Default: the desktop limits for sim, qemu-mps2-an386 for qemu.
    #[arg(long, value_name = "NAME")]
    board: Option<String>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Print at most this many failures per file.
    #[arg(long, value_name = "N", default_value_t = 50)]
    max_failures: usize,
}

#[derive(Args)]
struct ParityArgs {
    #[command(flatten)]
    common: SuiteArgs,
    /// The targets to compare, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [TargetKind::Sim, TargetKind::Qemu])]
    targets: Vec<TargetKind>,
    /// Board profile applied on every target.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_BOARD)]
    board: String,
    /// Print at most this many mismatches.
    #[arg(long, value_name = "N", default_value_t = 50)]
    max_diffs: usize,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            // postcard-rpc warns when its worker sees the link close, which every clean
            // QEMU exit does; probe-rs warns per driver on a machine without USB (the probe
            // errors say so once).
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("warn,postcard_rpc=error,probe_rs=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Parity(args) => run_parity(args),
        Command::Boards => list_boards(),
        Command::Probe(ProbeCommand::List) => list_probes(),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The suites named on the command line, resolved and read before anything runs, so a typo
/// or an unreadable file fails first.
struct Plan {
    suites: Vec<(Suite, Vec<SuiteFile>)>,
    default_version: WasmVersion,
    filter: Option<String>,
}

impl Plan {
    fn new(args: &SuiteArgs) -> Result<Plan> {
        let names: Vec<String> = if args.suites.is_empty() {
            vec!["spec:v1".into(), "spec:v2".into()]
        } else {
            args.suites.clone()
        };
        let mut suites = Vec::new();
        for name in &names {
            let suite = Suite::parse(name)?;
            let files = suite.files()?;
            suites.push((suite, files));
        }
        let default_version = match args.wasm_version {
            VersionArg::V1 => WasmVersion::V1,
            VersionArg::V2 => WasmVersion::V2,
        };
        Ok(Plan { suites, default_version, filter: args.filter.clone() })
    }

    fn file_count(&self) -> u64 {
        let selected = |f: &&SuiteFile| self.filter.as_ref().is_none_or(|p| f.name.contains(p));
        self.suites.iter().map(|(_, files)| files.iter().filter(selected).count() as u64).sum()
    }

    /// Runs every suite on `target`, ticking `progress` per file and handing each finished
    /// file to `on_file`.
    fn run(
        &self,
        target: &mut dyn Target,
        progress: &ProgressBar,
        mut on_file: impl FnMut(&ProgressBar, &tandem::FileReport),
    ) -> Result<Vec<SuiteReport>> {
        let mut reports = Vec::new();
        for (suite, files) in &self.suites {
            let report = run_files(
                target,
                suite.label(),
                suite.version(self.default_version),
                files,
                self.filter.as_deref(),
                |file| {
                    on_file(progress, file);
                    progress.set_message(file.name.clone());
                    progress.inc(1);
                },
            )?;
            reports.push(report);
        }
        Ok(reports)
    }
}

fn progress_bar(multi: &MultiProgress, len: u64, prefix: &str) -> ProgressBar {
    let bar = multi.add(ProgressBar::new(len));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>5} [{bar:30}] {pos}/{len} files {elapsed} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_owned());
    bar
}

/// Builds a target; `board` `None` means the desktop simulator's own limits.
fn make_target(
    kind: TargetKind,
    board: Option<&Board>,
    args: &SuiteArgs,
) -> Result<Box<dyn Target>> {
    // A target behind a link runs a board's request table: the CI board unless --board says.
    let board_or_default = || -> Result<Board> {
        Ok(match board {
            Some(b) => b.clone(),
            None => Board::find(DEFAULT_BOARD)?,
        })
    };
    Ok(match kind {
        TargetKind::Sim => match board {
            Some(board) => Box::new(SimTarget::for_board(board)),
            None => Box::new(SimTarget::new()),
        },
        TargetKind::Qemu | TargetKind::QemuRtt => {
            let mut options = QemuOptions::new(board_or_default()?);
            options.firmware = args.firmware.clone();
            options.request_timeout = Duration::from_secs(args.timeout);
            options.device_validation = !args.no_device_validation;
            options.link = link_options(args);
            options.rtt = kind == TargetKind::QemuRtt;
            let target = QemuTarget::start(&options)
                .with_context(|| format!("cannot start the {} target", target_name(kind)))?;
            Box::new(target)
        }
        TargetKind::Probe => {
            let (board, chip) =
                resolve_board(board, args.chip.as_deref()).map_err(anyhow::Error::msg)?;
            let options = ProbeOptions {
                board,
                chip,
                probe: args.probe.clone(),
                firmware: args.firmware.clone(),
                device_validation: !args.no_device_validation,
                request_timeout: Duration::from_secs(args.timeout),
                link: link_options(args),
            };
            Box::new(ProbeTarget::start(&options).context("cannot start the probe target")?)
        }
        TargetKind::SimLink => Box::new(
            LinkedSimTarget::start(&board_or_default()?, link_options(args))
                .context("cannot start the linked simulator")?,
        ),
    })
}

fn link_options(args: &SuiteArgs) -> LinkOptions {
    LinkOptions { faults: args.link_faults, ..LinkOptions::default() }
}

/// Runs the suites; `Ok(true)` when nothing failed.
fn run(args: RunArgs) -> Result<bool> {
    let plan = Plan::new(&args.common)?;
    let board = args.board.as_deref().map(Board::find).transpose()?;
    if args.target == TargetKind::Sim && args.common.link_faults.is_some() {
        bail!(
            "--link-faults needs a link: the sim target has none; use --target sim-link, qemu, qemu-rtt or probe"
        );
    }
    let mut target = make_target(args.target, board.as_ref(), &args.common)?;
    let multi = MultiProgress::new();
    let progress = progress_bar(&multi, plan.file_count(), target.name());
    let started = Instant::now();

    let mut reports: Vec<SuiteReport> = Vec::new();
    let total_files = plan.file_count();
    let mut files_done = 0u64;
    let mut junit_error = None;
    for (suite, files) in &plan.suites {
        progress.println(format!("== {} on {}", suite.label(), target.name()));
        progress.println(report::table_header());
        // The suite's files so far, for the JUnit report written after every file.
        let mut running = SuiteReport { label: suite.label(), files: Vec::new() };
        let report = run_files(
            &mut target,
            suite.label(),
            suite.version(plan.default_version),
            files,
            plan.filter.as_deref(),
            |file| {
                progress.println(report::table_row(file));
                progress.set_message(file.name.clone());
                progress.inc(1);
                files_done += 1;
                if let Some(path) = &args.junit {
                    running.files.push(file.clone());
                    let so_far: Vec<SuiteReport> =
                        reports.iter().cloned().chain([running.clone()]).collect();
                    let note = format!(
                        "PARTIAL: {files_done} of {total_files} files run, the last one {}; \
                         if this note is still here, the run was interrupted after it",
                        file.name
                    );
                    if let Err(e) =
                        write_atomically(path, &report::junit_xml_partial(&so_far, &note))
                    {
                        junit_error.get_or_insert(e);
                    }
                }
            },
        )?;
        progress.suspend(|| {
            print_details(&report, args.max_failures);
            if let Some(line) = board_figures(&report) {
                println!("{line}");
            }
            println!("{}", report.summary_line());
            println!();
        });
        reports.push(report);
    }
    progress.finish_and_clear();
    if let Some(link) = target.link_summary() {
        println!("link ({}): {link}", target.name());
    }
    target.finish().context("the target did not end cleanly")?;

    if let Some(e) = junit_error {
        return Err(e);
    }
    if let Some(path) = &args.junit {
        write_atomically(path, &report::junit_xml(&reports))?;
    }
    for report in &reports {
        println!("{}", report.summary_line());
    }
    let limits = target.board().map_or_else(|| "unknown".to_owned(), str::to_owned);
    println!("{} with the {limits} profile in {:.1?}", target.name(), started.elapsed());
    println!("{}", report::total_line(&reports));
    Ok(reports.iter().all(|r| r.failed() == 0))
}

/// Runs the suites on every target at once and compares; `Ok(true)` when all passed alike.
fn run_parity(args: ParityArgs) -> Result<bool> {
    if args.targets.len() < 2 {
        bail!("parity needs at least two targets (e.g. --targets sim,qemu)");
    }
    let mut seen = Vec::new();
    for kind in &args.targets {
        if seen.contains(kind) {
            bail!("target {kind:?} is listed twice");
        }
        seen.push(*kind);
    }
    let plan = Plan::new(&args.common)?;
    let board = Board::find(&args.board)?;
    let multi = MultiProgress::new();
    let started = Instant::now();

    // One thread per target: the simulator computes while the board's link waits.
    let results: Vec<(String, Result<Vec<SuiteReport>>, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = args
            .targets
            .iter()
            .map(|&kind| {
                let (plan, board, multi, common) = (&plan, &board, &multi, &args.common);
                s.spawn(move || {
                    let t0 = Instant::now();
                    let name = target_name(kind).to_owned();
                    let result = make_target(kind, Some(board), common).and_then(|mut target| {
                        let bar = progress_bar(multi, plan.file_count(), target.name());
                        let reports = plan.run(&mut *target, &bar, |bar, file| {
                            if file.failed() > 0 {
                                bar.println(format!(
                                    "{}: {} failed in {}",
                                    target_name(kind),
                                    file.failed(),
                                    file.name
                                ));
                            }
                        })?;
                        bar.finish_and_clear();
                        if let Some(link) = target.link_summary() {
                            multi.suspend(|| println!("link ({}): {link}", target.name()));
                        }
                        target.finish().context("the target did not end cleanly")?;
                        Ok(reports)
                    });
                    (name, result, t0.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a target thread panicked")).collect()
    });

    let mut runs = Vec::new();
    for (name, result, elapsed) in results {
        let reports = result.with_context(|| format!("the {name} run failed"))?;
        println!("{name} ({:.1?}):", elapsed);
        for report in &reports {
            println!("  {}", report.summary_line());
            for line in report.failure_lines().take(args.max_diffs) {
                println!("    {line}");
            }
        }
        runs.push((name, reports));
    }

    let (first_name, first) = &runs[0];
    let mut agree = true;
    for (name, reports) in &runs[1..] {
        let diff = parity::compare_suites(first, reports, first_name, name);
        print!("{}", diff.render(args.max_diffs));
        agree &= diff.is_empty();
    }
    let (passed, failed) =
        parity::directive_totals(&runs.iter().map(|(_, r)| r.as_slice()).collect::<Vec<_>>());
    println!(
        "parity of {} on board {} in {:.1?}: {}",
        runs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
        board.name,
        started.elapsed(),
        if agree { "all outcomes identical" } else { "OUTCOMES DIFFER" }
    );
    println!("{passed} passed, {failed} failed");
    Ok(agree && failed == 0)
}

/// What a board measured over a suite (nothing for the simulator): the largest heap peak
/// and native stack high water of any file, and the clock ticks spent in the handler, which
/// under QEMU's `-icount shift=0` count guest instructions (1 ns each).
fn board_figures(report: &SuiteReport) -> Option<String> {
    let figures: Vec<_> = report.files.iter().filter_map(|f| f.target_stats()).collect();
    let max = |pick: fn(&tandem_protocol::TargetStats) -> Option<u64>| {
        figures.iter().filter_map(|t| pick(t)).max()
    };
    let heap_peak = max(|t| t.heap_peak)?;
    let heap_size = max(|t| t.heap_size).unwrap_or(0);
    let stack = max(|t| t.native_stack_high_water).unwrap_or(0);
    let stack_size = max(|t| t.native_stack_size).unwrap_or(0);
    let ticks: u64 = figures.iter().filter_map(|t| t.exec_ticks).sum();
    let hz = max(|t| t.tick_hz.map(u64::from)).unwrap_or(0);
    let instructions = 1_000_000_000u64.checked_div(hz).map_or(0, |per_tick| ticks * per_tick);
    Some(format!(
        "board: heap peak {} KiB of {} KiB, native stack high water {} B of {} B, \
         {:.1} M guest instructions in the handler (SysTick, under -icount)",
        heap_peak / 1024,
        heap_size / 1024,
        stack,
        stack_size,
        instructions as f64 / 1e6
    ))
}

/// Writes `text` to `path` through a temporary file and a rename, so a run killed mid-write
/// leaves the previous complete report, never a torn one.
fn write_atomically(path: &std::path::Path, text: &str) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot write JUnit report {}", path.display()))
}

fn target_name(kind: TargetKind) -> &'static str {
    match kind {
        TargetKind::Sim => "sim",
        TargetKind::SimLink => "sim-link",
        TargetKind::Qemu => "qemu",
        TargetKind::QemuRtt => "qemu-rtt",
        TargetKind::Probe => "probe",
    }
}

fn list_probes() -> Result<bool> {
    let probes = tandem_probe::hardware::list_probes();
    if probes.is_empty() {
        println!(
            "no debug probes attached (looked for USB J-Link, ST-LINK, CMSIS-DAP, ... probes)"
        );
        if let Some(why) = tandem_probe::hardware::no_usb() {
            println!("note: {why}");
        }
        return Ok(true);
    }
    println!("{:<3} {:<32} --probe", "#", "probe");
    for (i, p) in probes.iter().enumerate() {
        println!("{i:<3} {:<32} {}", p.name, p.selector());
    }
    Ok(true)
}

fn list_boards() -> Result<bool> {
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>7} {:>7}  description",
        "board", "RAM", "heap", "static", "vstack", "depth"
    );
    for b in Board::builtin() {
        println!(
            "{:<18} {:>8}K {:>8}K {:>8}K {:>7} {:>7}  {}",
            b.name,
            b.memory.ram_bytes / 1024,
            b.memory.heap_bytes / 1024,
            b.static_memory_bytes() / 1024,
            b.limits.value_stack_slots,
            b.limits.max_call_depth,
            b.description
        );
    }
    Ok(true)
}

fn print_details(report: &SuiteReport, max_failures: usize) {
    if report.failed() > 0 {
        println!("failures:");
        for file in &report.files {
            for failure in file.failures.iter().take(max_failures) {
                println!("  {}:{failure}", file.name);
            }
            if file.failed() > max_failures {
                println!("  {}: ... and {} more", file.name, file.failed() - max_failures);
            }
        }
    }
    let skips = report.skip_lines();
    if !skips.is_empty() {
        println!("skipped:");
        for line in skips {
            println!("  {line}");
        }
    }
}
