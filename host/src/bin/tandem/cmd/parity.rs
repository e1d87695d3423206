//! `tandem parity`: the suites on several targets at once, under one board profile, then
//! every directive's outcome and every file's portable statistics compared.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar};
use std::path::PathBuf;

use tandem::parity;
use tandem::records::Records;
use tandem::report::SuiteReport;
use tandem::suite::Progress;
use tandem_boards::{BoardProfile, DEFAULT_BOARD};

use super::{SuiteArgs, TargetKind, WorkArgs, progress_bar};

/// `tandem parity`'s arguments.
#[derive(Args)]
pub struct ParityArgs {
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
    #[command(flatten)]
    work: WorkArgs,
    /// Compare records written elsewhere (`tandem run --records`, merged with `tandem
    /// merge`), one file per target, instead of running anything.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["targets", "suites"])]
    from_records: Vec<PathBuf>,
}

/// Runs the suites on every target at once (or reads their records) and compares;
/// `Ok(true)` when all passed alike.
pub fn run(args: ParityArgs) -> Result<bool> {
    let started = Instant::now();
    let (runs, board) = if args.from_records.is_empty() {
        run_targets(&args)?
    } else {
        read_records(&args.from_records)?
    };
    let agree = compare(&runs, &board, started, args.max_diffs)?;
    // A target that did not end cleanly (one that died mid-run) fails the command, after
    // what it ran has been compared.
    if let Some((name, e)) = runs.into_iter().find_map(|r| Some(r.name).zip(r.unclean)) {
        return Err(e).with_context(|| format!("the {name} target did not end cleanly"));
    }
    Ok(agree)
}

/// One target's reports: its name, where they come from (the run's time, or the records
/// file) and the reports.
struct Run {
    name: String,
    source: String,
    reports: Vec<SuiteReport>,
    /// Why the target did not end cleanly after its run, if it did not.
    unclean: Option<anyhow::Error>,
}

/// Every target's run, and the board profile they ran under.
type Runs = Vec<Run>;

/// Runs the suites on every target at once.
fn run_targets(args: &ParityArgs) -> Result<(Runs, String)> {
    if args.targets.len() < 2 {
        bail!("parity needs at least two targets (e.g. --targets sim,qemu)");
    }
    for (i, kind) in args.targets.iter().enumerate() {
        if args.targets[..i].contains(kind) {
            bail!("target {} is listed twice", kind.name());
        }
    }
    let plan = args.work.plan(&args.common.plan()?)?;
    let board = BoardProfile::find(&args.board)?;
    let multi = MultiProgress::new();

    // One thread per target: the simulator computes while the board's link waits.
    type Ended = (Vec<SuiteReport>, Option<anyhow::Error>);
    let results: Vec<(TargetKind, Result<Ended>, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = args
            .targets
            .iter()
            .map(|&kind| {
                let (plan, board, multi, common) = (&plan, &board, &multi, &args.common.target);
                let work = &args.work;
                s.spawn(move || {
                    let t0 = Instant::now();
                    let targets =
                        work.start(kind, common, |instance| instance.target(kind, Some(board)));
                    let result = targets.and_then(|mut targets| {
                        let bar = progress_bar(multi, plan.file_count(), kind.name());
                        let mut progress = FailuresOnly { bar, kind };
                        let reports = plan.run_jobs(&mut targets, &mut progress)?;
                        progress.bar.finish_and_clear();
                        let mut unclean = None;
                        for target in &mut targets {
                            if let Some(link) = target.link_summary() {
                                multi.suspend(|| println!("link ({}): {link}", target.name()));
                            }
                            if let Err(e) = target.finish() {
                                unclean.get_or_insert(anyhow::Error::new(e));
                            }
                        }
                        Ok((reports, unclean))
                    });
                    (kind, result, t0.elapsed())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a target thread panicked")).collect()
    });

    let mut runs = Vec::new();
    for (kind, result, elapsed) in results {
        let name = kind.name();
        let (reports, unclean) = result.with_context(|| format!("the {name} run failed"))?;
        let source = format!("{elapsed:.1?}");
        runs.push(Run { name: name.to_owned(), source, reports, unclean });
    }
    Ok((runs, board.name.into_owned()))
}

/// Each records file's target and reports; they must have run under one board profile.
fn read_records(paths: &[PathBuf]) -> Result<(Runs, String)> {
    if paths.len() < 2 {
        bail!("parity needs the records of at least two targets");
    }
    let records = paths.iter().map(|p| Records::read(p)).collect::<Result<Vec<_>, _>>()?;
    let board = records[0].board.clone().unwrap_or_else(|| "unknown".into());
    let mut runs: Runs = Vec::new();
    for (r, path) in records.iter().zip(paths) {
        if r.board.as_deref().unwrap_or("unknown") != board {
            bail!(
                "{} ran under board {}, {} under {board}: parity holds targets to one profile",
                path.display(),
                r.board.as_deref().unwrap_or("unknown"),
                paths[0].display()
            );
        }
        if runs.iter().any(|run| run.name == r.target) {
            bail!("two records files are of target {} (merge a target's shards first)", r.target);
        }
        let source = format!("records {}", path.display());
        runs.push(Run { name: r.target.clone(), source, reports: r.reports(), unclean: None });
    }
    Ok((runs, board))
}

/// Prints each target's totals and failures and every difference from the first target.
fn compare(runs: &Runs, board: &str, started: Instant, max_diffs: usize) -> Result<bool> {
    for Run { name, source, reports, .. } in runs {
        println!("{name} ({source}):");
        for report in reports {
            println!("  {}", report.summary_line());
            for line in report.failure_lines().take(max_diffs) {
                println!("    {line}");
            }
        }
    }
    let first = &runs[0];
    let mut agree = true;
    for run in &runs[1..] {
        let diff = parity::compare_suites(&first.reports, &run.reports, &first.name, &run.name);
        print!("{}", diff.render(max_diffs));
        agree &= diff.is_empty();
    }
    let (passed, failed) =
        parity::directive_totals(&runs.iter().map(|r| r.reports.as_slice()).collect::<Vec<_>>());
    println!(
        "parity of {} on board {} in {:.1?}: {}",
        runs.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "),
        board,
        started.elapsed(),
        if agree { "all outcomes identical" } else { "OUTCOMES DIFFER" }
    );
    println!("{passed} passed, {failed} failed");
    Ok(agree && failed == 0)
}

/// A target's progress bar, and a line for each file with failures.
struct FailuresOnly {
    bar: ProgressBar,
    kind: TargetKind,
}

impl Progress for FailuresOnly {
    fn file_done(&mut self, so_far: &SuiteReport) {
        let Some(file) = so_far.files.last() else { return };
        if file.failed() > 0 {
            self.bar.println(format!(
                "{}: {} failed in {}",
                self.kind.name(),
                file.failed(),
                file.name
            ));
        }
        self.bar.set_message(file.name.clone());
        self.bar.inc(1);
    }
}
