//! The `tandem` command line: a thin shell over the `tandem` library, one file per
//! subcommand in `cmd/`.
//!
//! - `tandem run [SUITES...] [--target sim|sim-link|qemu|qemu-rtt|probe] [--board NAME] ...`
//!   runs `.wast` suites (`spec:v1`, `spec:v2`, a `.wast` file or a directory of them; both
//!   spec suites when none is given) and prints one row per file, the failures with
//!   `file:line`, the skips with their reasons, one `LABEL: N passed, M failed, K skipped`
//!   line per suite and, last, `N passed, M failed`.
//! - `tandem parity [SUITES...] --targets sim,qemu [--board NAME]` runs the suites on every
//!   target at once, with the same board profile, and compares every directive's outcome and
//!   the per-file statistics; mismatches are printed as a diff.
//! - `tandem run ... --shard K/N --records FILE` runs part K of N of the files and writes
//!   every record as JSON; `tandem merge PARTS... -o FILE` joins a target's parts, and
//!   `tandem parity --from-records A B` compares targets that ran on different machines.
//! - `tandem call FILE EXPORT [ARGS...] [--target ...] [--host tandem]` calls one export of
//!   a program and prints what it printed and its results, one per line; exit code 1 when it
//!   trapped.
//! - `tandem measure [SUITES...] [--target ...] [--board NAME]` runs them like `run` and
//!   prints what each file needed and the smallest board profile settings that run them all.
//! - `tandem boards` lists the built-in board profiles.
//! - `tandem probe list` lists the attached debug probes.
//!
//! Exit code: 0 when nothing failed, 1 when an assertion failed or the targets disagree,
//! 2 for usage, I/O, parse and target errors. `RUST_LOG` sets the log level (tracing).

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "tandem", version, about = "Tandem: a WebAssembly runtime for microcontrollers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run .wast test suites on a target.
    Run(cmd::run::RunArgs),
    /// Run suites on several targets (or read their records) and compare every outcome.
    Parity(cmd::parity::ParityArgs),
    /// Join the records of a target's shards into the records of the whole run.
    Merge(cmd::merge::MergeArgs),
    /// Call one export of a .wasm (or .wat) program and print its output and results.
    Call(cmd::call::CallArgs),
    /// Validate and translate a module on the host and write it as an image.
    Compile(cmd::compile::CompileArgs),
    /// Run suites or programs and print what each needed, and the smallest profile limits.
    Measure(cmd::measure::MeasureArgs),
    /// List the built-in board profiles, or show (--chip) the profile a chip runs with.
    Boards(cmd::boards::BoardsArgs),
    /// Debug probes.
    #[command(subcommand)]
    Probe(cmd::probe::ProbeCommand),
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
    let result = match Cli::parse().command {
        Command::Run(args) => cmd::run::run(args),
        Command::Parity(args) => cmd::parity::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Call(args) => cmd::call::run(args),
        Command::Compile(args) => cmd::compile::run(args),
        Command::Measure(args) => cmd::measure::run(args),
        Command::Boards(args) => cmd::boards::run(args),
        Command::Probe(command) => cmd::probe::run(command),
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
