//! `tandem merge`: joins the records of one target's shards (`tandem run --shard K/N
//! --records FILE`, one per CI runner) into the records of the whole run, and writes them
//! and, if asked, their JUnit report; or joins JUnit reports (`.xml`, e.g. `--junit` of
//! each shard) into one.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use tandem::records::Records;
use tandem::report;

use super::run::write_junit;

/// `tandem merge`'s arguments.
#[derive(Args)]
pub struct MergeArgs {
    /// The shards' records files (`.json`), or their JUnit reports (`.xml`).
    #[arg(required = true, value_name = "FILES")]
    parts: Vec<PathBuf>,
    /// Where to write the merged records (or JUnit report).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Also write the merged results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// Merges; `Ok(true)` when no merged file failed.
pub fn run(args: MergeArgs) -> Result<bool> {
    let is_xml = |p: &PathBuf| p.extension().is_some_and(|e| e == "xml");
    if args.parts.iter().all(is_xml) {
        return merge_junit(&args);
    }
    if args.parts.iter().any(is_xml) {
        bail!("merge either records (.json) or JUnit reports (.xml), not both at once");
    }
    let parts = args.parts.iter().map(|p| Records::read(p)).collect::<Result<Vec<_>, _>>()?;
    let merged = Records::merge(parts).context("cannot merge the records")?;
    merged.write(&args.output)?;
    let reports = merged.reports();
    if let Some(path) = &args.junit {
        write_junit(path, &report::junit_xml(&reports))?;
    }
    for report in &reports {
        println!("{}", report.summary_line());
    }
    println!(
        "{} ({}): {} shard(s) merged into {}",
        merged.target,
        merged.board.as_deref().unwrap_or("unknown board"),
        args.parts.len(),
        args.output.display()
    );
    println!("{}", report::total_line(&reports));
    Ok(reports.iter().all(|r| r.failed() == 0))
}

/// Joins JUnit reports, suites of the same name into one; `Ok(true)` when none failed.
fn merge_junit(args: &MergeArgs) -> Result<bool> {
    let mut parts = Vec::new();
    for path in &args.parts {
        let xml = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let part = quick_junit::Report::deserialize_from_str(&xml)
            .with_context(|| format!("{} is not a JUnit report", path.display()))?;
        parts.push(part);
    }
    let merged = report::merge_junit(parts);
    let xml = merged.to_string().context("cannot write the merged JUnit report")?;
    write_junit(&args.output, &xml)?;
    println!(
        "{} JUnit report(s) merged into {}: {} tests, {} failed, {} skipped",
        args.parts.len(),
        args.output.display(),
        merged.tests,
        merged.failures + merged.errors,
        merged.skipped
    );
    Ok(merged.failures + merged.errors == 0)
}
