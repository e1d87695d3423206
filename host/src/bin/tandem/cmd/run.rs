//! `tandem run`: the suites on one target, a row per file as it finishes, then the
//! failures, skips and totals; optionally a JUnit report rewritten after every file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar};
use tandem::records::Records;
use tandem::report::{self, SuiteReport};
use tandem::shard::Shard;
use tandem::suite::{Plan, Progress, Suite};

use super::{SuiteArgs, TargetKind, WorkArgs, progress_bar};

/// `tandem run`'s arguments.
#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    common: SuiteArgs,
    /// Where the modules run.
    #[arg(long, value_enum, default_value_t = TargetKind::Sim)]
    target: TargetKind,
    /// Board profile (a built-in name or a .toml path): its limits apply on every target.
    /// Default: the desktop limits for sim, qemu-mps2-an386 for the others.
    #[arg(long, value_name = "NAME")]
    board: Option<String>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Also write every directive's record and every file's statistics as JSON to this file
    /// (schema `tandem-records/1`, docs/RECORDS.md), for `tandem merge` and `tandem parity
    /// --from-records`; kept current while the run goes (at most once a second).
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// Print at most this many failures per file.
    #[arg(long, value_name = "N", default_value_t = 50)]
    max_failures: usize,
    #[command(flatten)]
    work: WorkArgs,
}

/// Runs the suites; `Ok(true)` when nothing failed.
pub fn run(args: RunArgs) -> Result<bool> {
    let whole = args.common.plan()?;
    let plan = args.work.plan(&whole)?;
    let mut targets = args.work.start(args.target, &args.common.target, |instance| {
        instance.single(args.target, args.board.as_deref())
    })?;
    let name = targets[0].name().to_owned();
    let multi = MultiProgress::new();
    let bar = progress_bar(&multi, plan.file_count(), &name);
    let started = Instant::now();
    let records = args.records.as_deref().map(|path| PartialRecords {
        path,
        target: name.clone(),
        board: targets[0].board().map(str::to_owned),
        shard: args.work.shard,
        whole: &whole,
        written: None,
    });
    let mut printer = Printer {
        bar,
        target: name.clone(),
        max_failures: args.max_failures,
        junit: args.junit.as_deref(),
        records,
        files_total: plan.file_count(),
        files_done: 0,
        finished: Vec::new(),
        write_error: None,
    };
    let reports = plan.run_jobs(&mut targets, &mut printer)?;
    printer.bar.finish_and_clear();
    // The reports first: a target that does not end cleanly (one that died mid-run) must not
    // cost the results obtained before.
    if let Some(e) = printer.write_error {
        return Err(e);
    }
    if let Some(path) = &args.junit {
        write_junit(path, &report::junit_xml(&reports))?;
    }
    if let Some(path) = &args.records {
        let board = targets[0].board();
        Records::new(&name, board, args.work.shard, &whole, &reports).write(path)?;
    }
    let mut unclean = None;
    for target in &mut targets {
        if let Some(link) = target.link_summary() {
            println!("link ({}): {link}", target.name());
        }
        if let Err(e) = target.finish() {
            unclean.get_or_insert(e);
        }
    }
    for report in &reports {
        println!("{}", report.summary_line());
    }
    if let Some(e) = unclean {
        return Err(e).context("the target did not end cleanly");
    }
    let limits = targets[0].board().map_or_else(|| "unknown".to_owned(), str::to_owned);
    let mut jobs = match targets.len() {
        1 => String::new(),
        n => format!(" ({n} instances)"),
    };
    if let Some(shard) = args.work.shard {
        jobs += &format!(", shard {shard}");
    }
    println!("{name}{jobs} with the {limits} profile in {:.1?}", started.elapsed());
    println!("{}", report::total_line(&reports));
    Ok(reports.iter().all(|r| r.failed() == 0))
}

/// Prints the table as files finish, the details after each suite, and keeps the JUnit
/// report and the records current, so an interrupted run leaves readable partial ones.
struct Printer<'a> {
    bar: ProgressBar,
    target: String,
    max_failures: usize,
    junit: Option<&'a Path>,
    records: Option<PartialRecords<'a>>,
    files_total: u64,
    files_done: u64,
    /// The suites finished so far, for the partial reports.
    finished: Vec<SuiteReport>,
    /// The first failure to write a report; the run goes on and reports it at the end.
    write_error: Option<anyhow::Error>,
}

/// The records file while the run goes: rewritten at most once a second (a run's records
/// are megabytes), so an interrupted run leaves the records of the files finished by then;
/// each suite's `planned` list shows which are missing.
struct PartialRecords<'a> {
    path: &'a Path,
    target: String,
    board: Option<String>,
    shard: Option<Shard>,
    whole: &'a Plan,
    written: Option<Instant>,
}

impl PartialRecords<'_> {
    fn write(&mut self, suites: &[SuiteReport]) -> Result<()> {
        if self.written.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
            return Ok(());
        }
        self.written = Some(Instant::now());
        let board = self.board.as_deref();
        Records::new(&self.target, board, self.shard, self.whole, suites).write(self.path)?;
        Ok(())
    }
}

impl Progress for Printer<'_> {
    fn suite_started(&mut self, suite: &Suite) {
        self.bar.println(format!("== {} on {}", suite.label(), self.target));
        self.bar.println(report::table_header());
    }

    fn file_done(&mut self, so_far: &SuiteReport) {
        let Some(file) = so_far.files.last() else { return };
        self.bar.println(report::table_row(file));
        self.bar.set_message(file.name.clone());
        self.bar.inc(1);
        self.files_done += 1;
        if self.junit.is_none() && self.records.is_none() {
            return;
        }
        // The suites so far, for the partial reports.
        let suites: Vec<SuiteReport> =
            self.finished.iter().cloned().chain([so_far.clone()]).collect();
        if let Some(path) = self.junit {
            let note = format!(
                "PARTIAL: {} of {} files run, the last one {}; if this note is still here, the \
                 run was interrupted after it",
                self.files_done, self.files_total, file.name
            );
            if let Err(e) = write_junit(path, &report::junit_xml_partial(&suites, &note)) {
                self.write_error.get_or_insert(e);
            }
        }
        if let Some(records) = &mut self.records
            && let Err(e) = records.write(&suites)
        {
            self.write_error.get_or_insert(e);
        }
    }

    fn suite_done(&mut self, report: &SuiteReport) {
        self.bar.suspend(|| {
            print!("{}", report.details(self.max_failures));
            if let Some(line) = report.board_figures() {
                println!("{line}");
            }
            println!("{}", report.summary_line());
            println!();
        });
        if self.junit.is_some() || self.records.is_some() {
            self.finished.push(report.clone());
        }
    }
}

/// [`report::write_atomically`] for a JUnit report, saying which on failure.
pub fn write_junit(path: &Path, text: &str) -> Result<()> {
    report::write_atomically(path, text)
        .with_context(|| format!("cannot write JUnit report {}", path.display()))
}
