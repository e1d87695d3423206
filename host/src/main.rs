//! The `tandem` command line.
//!
//! `tandem run [SUITES...] [--target sim] [--filter SUBSTRING] [--junit FILE]`
//! runs `.wast` suites (`spec:v1`, `spec:v2`, a `.wast` file or a directory of
//! them; both spec suites when none is given) and prints one row per file, the
//! failures with `file:line`, the skips with their reasons, one
//! `LABEL: N passed, M failed, K skipped` line per suite and, last,
//! `N passed, M failed`. Exit code: 0 when nothing failed, 1 when an assertion
//! failed, 2 for usage, I/O and parse errors.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use tandem::report::{self, SuiteReport};
use tandem::suite::run_files;
use tandem::{SimTarget, Suite, Target, WasmVersion};

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
}

#[derive(Clone, Copy, ValueEnum)]
enum TargetKind {
    /// tandem-interp in-process.
    Sim,
}

#[derive(Clone, Copy, ValueEnum)]
enum VersionArg {
    V1,
    V2,
}

#[derive(Args)]
struct RunArgs {
    /// Suites to run: spec:v1, spec:v2, a .wast file or a directory of .wast files
    /// [default: spec:v1 spec:v2]
    suites: Vec<String>,
    /// Where the modules run.
    #[arg(long, value_enum, default_value_t = TargetKind::Sim)]
    target: TargetKind,
    /// Only run files whose name contains this text.
    #[arg(long, value_name = "SUBSTRING")]
    filter: Option<String>,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// The Wasm version .wast files and directories are run against (spec
    /// suites fix their own).
    #[arg(long, value_enum, default_value_t = VersionArg::V2)]
    wasm_version: VersionArg,
    /// Print at most this many failures per file.
    #[arg(long, value_name = "N", default_value_t = 50)]
    max_failures: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
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

/// Runs the suites; `Ok(true)` when nothing failed.
fn run(args: RunArgs) -> Result<bool> {
    let suite_args =
        if args.suites.is_empty() { vec!["spec:v1".into(), "spec:v2".into()] } else { args.suites };
    // Resolve and read every suite first, so a typo or an unreadable file fails
    // before anything runs.
    let mut suites = Vec::new();
    for arg in &suite_args {
        let suite = Suite::parse(arg)?;
        let files = suite.files()?;
        suites.push((suite, files));
    }
    let default_version = match args.wasm_version {
        VersionArg::V1 => WasmVersion::V1,
        VersionArg::V2 => WasmVersion::V2,
    };
    let mut target: Box<dyn Target> = match args.target {
        TargetKind::Sim => Box::new(SimTarget::new()),
    };

    let mut reports: Vec<SuiteReport> = Vec::new();
    for (suite, files) in &suites {
        println!("== {} on {}", suite.label(), target.name());
        println!("{}", report::table_header());
        let report = run_files(
            &mut target,
            suite.label(),
            suite.version(default_version),
            files,
            args.filter.as_deref(),
            |file| println!("{}", report::table_row(file)),
        )?;
        print_details(&report, args.max_failures);
        println!("{}", report.summary_line());
        println!();
        reports.push(report);
    }

    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit_xml(&reports))
            .with_context(|| format!("cannot write JUnit report {}", path.display()))?;
    }
    for report in &reports {
        println!("{}", report.summary_line());
    }
    println!("{}", report::total_line(&reports));
    Ok(reports.iter().all(|r| r.failed() == 0))
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
