//! `tandem probe`: the debug probes attached over USB.

use anyhow::Result;
use clap::Subcommand;

/// `tandem probe`'s subcommands.
#[derive(Subcommand)]
pub enum ProbeCommand {
    /// List the attached debug probes (USB), with the --probe argument for each.
    List,
}

/// Runs a `tandem probe` subcommand.
pub fn run(command: ProbeCommand) -> Result<bool> {
    match command {
        ProbeCommand::List => list(),
    }
}

fn list() -> Result<bool> {
    let probes = tandem_probe::hardware::list_probes();
    if probes.is_empty() {
        println!(
            "no debug probes attached (looked for USB J-Link, ST-LINK, CMSIS-DAP, ... probes)"
        );
        if let Some(why) = tandem_probe::hardware::no_usb() {
            println!("note: {why}");
        }
        return Ok(true);
    }
    println!("{:<3} {:<32} --probe", "#", "probe");
    for (i, p) in probes.iter().enumerate() {
        println!("{i:<3} {:<32} {}", p.name, p.selector());
    }
    Ok(true)
}
