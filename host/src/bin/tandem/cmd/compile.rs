//! `tandem compile FILE [-o OUT]`: a module validated and translated on the host, written as
//! an image a board can run without decoding or translating it (`tandem_interp`'s
//! `Module::to_image`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tandem::program;
use tandem_interp::{Config, Module};

use super::VersionArg;

/// `tandem compile`'s arguments.
#[derive(Args)]
pub struct CompileArgs {
    /// The module: a binary `.wasm` module, or WebAssembly text.
    file: PathBuf,
    /// Where the image goes [default: FILE with the extension `.tandem`].
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The Wasm version it is validated against; the image runs only under these features.
    #[arg(long, value_enum, default_value_t = VersionArg::V3)]
    wasm_version: VersionArg,
    /// Translate without fuel metering, for an embedder whose store does not meter fuel
    /// (every target of the rig meters it, for its deadline).
    #[arg(long)]
    no_fuel: bool,
}

/// Compiles the module and writes the image; says what it wrote.
pub fn run(args: CompileArgs) -> Result<bool> {
    let wasm = program::read(&args.file)?;
    let config = Config::new().with_features(args.wasm_version.features()).with_fuel(!args.no_fuel);
    let module = Module::new(&config, &wasm)
        .with_context(|| format!("{} is not a module Tandem runs", args.file.display()))?;
    let image = module.to_image(&config).context("writing the image")?;
    let output = args.output.unwrap_or_else(|| args.file.with_extension("tandem"));
    std::fs::write(&output, &image)
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!(
        "{} -> {}: {} bytes ({} bytes of module)",
        args.file.display(),
        output.display(),
        image.len(),
        wasm.len()
    );
    Ok(true)
}
