//! `tandem parity`: the suites on several targets at once, under one board profile, then
//! every directive's outcome and every file's portable statistics compared.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar};
use tandem::parity;
use tandem::report::SuiteReport;
use tandem::suite::Progress;
use tandem_boards::{BoardProfile, DEFAULT_BOARD};

use super::{JobsArg, SuiteArgs, TargetKind, progress_bar};

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
    jobs: JobsArg,
}

/// Runs the suites on every target at once and compares; `Ok(true)` when all passed alike.
pub fn run(args: ParityArgs) -> Result<bool> {
    if args.targets.len() < 2 {
        bail!("parity needs at least two targets (e.g. --targets sim,qemu)");
    }
    for (i, kind) in args.targets.iter().enumerate() {
        if args.targets[..i].contains(kind) {
            bail!("target {} is listed twice", kind.name());
        }
    }
    let plan = args.common.plan()?;
    let board = BoardProfile::find(&args.board)?;
    let multi = MultiProgress::new();
    let started = Instant::now();

    // One thread per target: the simulator computes while the board's link waits.
    let results: Vec<(TargetKind, Result<Vec<SuiteReport>>, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = args
            .targets
            .iter()
            .map(|&kind| {
                let (plan, board, multi, common) = (&plan, &board, &multi, &args.common.target);
                let jobs = &args.jobs;
                s.spawn(move || {
                    let t0 = Instant::now();
                    let targets = jobs.start(kind, || common.target(kind, Some(board)));
                    let result = targets.and_then(|mut targets| {
                        let bar = progress_bar(multi, plan.file_count(), kind.name());
                        let mut progress = FailuresOnly { bar, kind };
                        let reports = plan.run_jobs(&mut targets, &mut progress)?;
                        progress.bar.finish_and_clear();
                        for target in &mut targets {
                            if let Some(link) = target.link_summary() {
                                multi.suspend(|| println!("link ({}): {link}", target.name()));
                            }
                            target.finish().context("the target did not end cleanly")?;
                        }
                        Ok(reports)
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
        let reports = result.with_context(|| format!("the {name} run failed"))?;
        println!("{name} ({elapsed:.1?}):");
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
        runs.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
        board.name,
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
