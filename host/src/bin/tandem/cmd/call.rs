//! `tandem call FILE EXPORT [ARGS...]`: one export of a user's program on any target, its
//! printed output and its results shown, as wasmi's command line does.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tandem::program::{self, Called, ProgramOptions, Slices, Stops};
use tandem::target::Reported;

use super::{TargetArgs, TargetKind, VersionArg, WasiArgs};

/// `tandem call`'s arguments.
#[derive(Args)]
pub struct CallArgs {
    /// The program: a binary `.wasm` module, or WebAssembly text.
    file: PathBuf,
    /// The exported function to call.
    export: String,
    /// Its arguments, one word each: integers, floats (`1.5`, `nan`, `inf`), `null`.
    #[arg(allow_negative_numbers = true)]
    args: Vec<String>,
    /// Where it runs.
    #[arg(long, value_enum, default_value_t = TargetKind::Sim)]
    target: TargetKind,
    /// Board profile (a built-in name or a .toml path) whose limits apply.
    #[arg(long, value_name = "NAME")]
    board: Option<String>,
    /// The host modules it may import, comma-separated (spectest is always linked).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    host: Vec<String>,
    /// Run it as a task, resumed a slice of this much fuel at a time (and after every
    /// yield: WASI's `sched_yield`, `tandem.yield`) until it ends, as a scheduler would; the
    /// stops are counted on stderr.
    #[arg(long, value_name = "FUEL", value_parser = clap::value_parser!(u64).range(1..))]
    slice: Option<u64>,
    /// The Wasm version it is validated against.
    #[arg(long, value_enum, default_value_t = VersionArg::V3)]
    wasm_version: VersionArg,
    #[command(flatten)]
    wasi: WasiArgs,
    #[command(flatten)]
    target_args: TargetArgs,
}

/// Calls the export and prints what it printed, then its results one per line; `Ok(false)`
/// when it trapped.
pub fn run(args: CallArgs) -> Result<bool> {
    let wasm = program::read(&args.file)?;
    let signature = program::export_signature(&wasm, &args.export)?;
    let call_args = program::parse_args(signature.params(), &args.args)?;
    let mut target = args.target_args.single(args.target, args.board.as_deref())?;
    let hosts = tandem::target::session_hosts(args.host.iter().map(String::as_str));
    let mut options = ProgramOptions::default();
    args.wasi.apply(&mut options)?;
    let called = program::call(
        &mut *target,
        args.wasm_version.features(),
        &hosts,
        &options.wasi(&args.file),
        &wasm,
        &args.export,
        &call_args,
        args.slice.map(|fuel| Slices { fuel, timeout: args.target_args.timeout() }),
    )
    .with_context(|| format!("{} on the {} target", args.file.display(), target.name()))?;
    target.finish().context("the target did not end cleanly")?;
    let Called { reported: Reported { printed, exit }, results, stops } = called;
    if let Some(Stops { out_of_fuel, yielded, interrupted }) = stops {
        let slices = 1 + out_of_fuel + yielded + interrupted;
        eprintln!(
            "ran as a task in {slices} slices: {out_of_fuel} ran out of fuel, {yielded} yielded"
        );
    }
    print!("{}", String::from_utf8_lossy(&printed.stdout));
    eprint!("{}", String::from_utf8_lossy(&printed.stderr));
    if printed.dropped > 0 {
        eprintln!("[{} more bytes of output were dropped on the target]", printed.dropped);
    }
    if let Some(code) = exit {
        // A WASI program's exit: its code is the command's verdict.
        eprintln!("{} exited with code {code}", args.export);
        return Ok(code == 0);
    }
    match results {
        Ok(values) => {
            for value in &values {
                println!("{}", program::show(value));
            }
            Ok(true)
        }
        Err(trap) => {
            eprintln!("error: {} trapped: {}", args.export, trap.message);
            Ok(false)
        }
    }
}
