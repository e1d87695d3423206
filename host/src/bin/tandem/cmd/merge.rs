//! `tandem merge`: joins the records of one target's shards (`tandem run --shard K/N
//! --records FILE`, one per CI runner) into the records of the whole run, and writes them
//! and, if asked, their JUnit report.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tandem::records::Records;
use tandem::report;

use super::run::write_atomically;

/// `tandem merge`'s arguments.
#[derive(Args)]
pub struct MergeArgs {
    /// The shards' records files.
    #[arg(required = true, value_name = "RECORDS")]
    parts: Vec<PathBuf>,
    /// Where to write the merged records.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Also write the merged results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// Merges; `Ok(true)` when no merged file failed.
pub fn run(args: MergeArgs) -> Result<bool> {
    let parts = args.parts.iter().map(|p| Records::read(p)).collect::<Result<Vec<_>, _>>()?;
    let merged = Records::merge(parts).context("cannot merge the records")?;
    merged.write(&args.output)?;
    let reports = merged.reports();
    if let Some(path) = &args.junit {
        write_atomically(path, &report::junit_xml(&reports))?;
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
