//! `tandem measure`: runs suites or programs like `run`, then prints what each file needed
//! (value stack, call depth, fuel, linear memory; heap and native stack on a board) and the
//! smallest board profile settings that run them all.

use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{MultiProgress, ProgressBar};
use tandem::measure::Needs;

use super::{SuiteArgs, TargetKind, progress_bar};

/// `tandem measure`'s arguments.
#[derive(Args)]
pub struct MeasureArgs {
    #[command(flatten)]
    common: SuiteArgs,
    /// Where the modules run: a board target adds its heap peak and native stack.
    #[arg(long, value_enum, default_value_t = TargetKind::Sim)]
    target: TargetKind,
    /// Board profile (a built-in name or a .toml path) whose limits apply while measuring.
    #[arg(long, value_name = "NAME")]
    board: Option<String>,
}

/// Measures; `Ok(true)` when every file ran and passed (figures of a failed run still print).
pub fn run(args: MeasureArgs) -> Result<bool> {
    let plan = args.common.plan()?;
    let mut target = args.common.target.single(args.target, args.board.as_deref())?;
    let mut bar = Bar(progress_bar(&MultiProgress::new(), plan.file_count(), target.name()));
    let reports = plan.run(&mut *target, &mut bar)?;
    bar.0.finish_and_clear();
    target.finish().context("the target did not end cleanly")?;

    let needs: Vec<Needs> = reports
        .iter()
        .flat_map(|r| &r.files)
        .filter_map(|file| Needs::of(file, program_bytes(&file.name)))
        .collect();
    let limits = target.board().map_or_else(|| "unknown".to_owned(), str::to_owned);
    println!("measured on {} with the {limits} profile:", target.name());
    println!("{}", Needs::header());
    for need in &needs {
        println!("{}", need.row());
    }
    if needs.is_empty() {
        bail!("no file ran, so there is nothing to measure");
    }
    let most = Needs::most(&needs);
    println!("{}", most.row());
    println!("\nthe smallest board profile settings that run them all:");
    // Every file but a program is a script, whose session links spectest.
    let scripts = needs.iter().any(|n| !n.name.ends_with(".wasm"));
    print!("{}", most.profile_lines(scripts));
    let failed: usize = reports.iter().map(|r| r.failed()).sum();
    if failed > 0 {
        println!("({failed} directives failed: a limit that bit shows as the profile's own)");
    }
    Ok(failed == 0)
}

/// The size of a `.wasm` program's module (a `.wast` file's modules are not counted).
fn program_bytes(name: &str) -> Option<u64> {
    let path = Path::new(name);
    let is_wasm = path.extension().is_some_and(|e| e == "wasm");
    is_wasm.then(|| std::fs::metadata(path).ok().map(|m| m.len())).flatten()
}

/// The progress bar, moved on as each file finishes.
struct Bar(ProgressBar);

impl tandem::suite::Progress for Bar {
    fn file_done(&mut self, so_far: &tandem::SuiteReport) {
        if let Some(file) = so_far.files.last() {
            self.0.set_message(file.name.clone());
        }
        self.0.inc(1);
    }
}
