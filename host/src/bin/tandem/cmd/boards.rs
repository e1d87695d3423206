//! `tandem boards`: the built-in board profiles, one row each, with every limit they apply;
//! with `--chip`, the profile a chip would run with (a chip no board has gets one derived
//! from probe-rs's chip database, for the generic firmware), and with `--build` its firmware.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tandem::firmware::{FirmwareBuild, FirmwareFeatures, ModuleReader, firmware_dir};
use tandem::target::probe::resolve_board;
use tandem_boards::{BoardProfile, CortexM};

/// What `tandem boards` shows.
#[derive(Args)]
pub struct BoardsArgs {
    /// Show the profile the probe target would run this chip with (probe-rs's name, e.g.
    /// STM32F411CEUx), as a profile file: a built-in board's, or one derived from the chip
    /// database for the generic firmware. Save it, edit it, pass it as --board FILE.
    #[arg(long, value_name = "CHIP")]
    chip: Option<String>,
    /// With --chip: build that firmware too and show its flash and RAM use.
    #[arg(long, requires = "chip")]
    build: bool,
    /// The target-fw crate to build [env: TANDEM_FIRMWARE_DIR; default: this checkout's].
    #[arg(long, value_name = "DIR", requires = "build")]
    firmware_dir: Option<PathBuf>,
}

/// Lists the built-in boards, or shows (and builds) one chip's profile.
pub fn run(args: BoardsArgs) -> Result<bool> {
    match &args.chip {
        Some(chip) => show_chip(chip, args.build, args.firmware_dir),
        None => list(),
    }
}

/// The chip's profile as a file, with what the firmware for it is as comments.
fn show_chip(chip: &str, build: bool, dir: Option<PathBuf>) -> Result<bool> {
    let (board, _) = resolve_board(None, Some(chip)).map_err(anyhow::Error::msg)?;
    let reader = ModuleReader::best_for(&board);
    let target = board.target.as_deref().unwrap_or("-");
    let cycles = if CortexM::of_target(target).is_some_and(CortexM::has_cycle_counter) {
        "core cycles (DWT)"
    } else {
        "SysTick ticks (the core has no cycle counter)"
    };
    println!("# firmware: layer {}, {target}", board.firmware.as_deref().unwrap_or("none"));
    println!("# reads: {} (what its flash holds)", reader.describe());
    println!("# clock: {cycles}; link: RTT through the probe");
    print!("{}", board.to_toml());
    if build {
        let features = FirmwareFeatures { reader, rtt: true };
        let dir = dir.unwrap_or_else(firmware_dir);
        let elf = FirmwareBuild::target_fw(dir, &board, features)
            .and_then(|build| build.build())
            .with_context(|| format!("building the firmware for the {chip}"))?;
        let used = tandem_probe::elf::memory_use(&elf).map_err(anyhow::Error::msg)?;
        if used.flash == 0 {
            anyhow::bail!(
                "{} holds no code: it was not linked with cortex-m-rt's link.x (target-fw's \
                 .cargo/config.toml gives it to every Cortex-M target)",
                elf.display()
            );
        }
        let memory = board.memory.context("a board profile has a [memory] table")?;
        let kib = |bytes: u64| bytes as f64 / 1024.0;
        println!("# built: {}", elf.display());
        println!(
            "# flash {:.1} KiB of {:.0} KiB; RAM {:.1} KiB of {:.0} KiB (heap and static \
             buffers included), {:.1} KiB left for the stack",
            kib(used.flash),
            kib(memory.flash_bytes),
            kib(used.ram),
            kib(memory.ram_bytes),
            kib(memory.ram_bytes.saturating_sub(used.ram))
        );
    }
    Ok(true)
}

/// Lists the built-in boards: RAM, heap, what of it the store's heap account may hold,
/// static buffer and heap-backed linear memory, then
/// the limits every target applies alike (value stack, call depth, fuel per call, module
/// upload, elements per table, modules and instances per session).
fn list() -> Result<bool> {
    println!(
        "{:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>10} {:>7} {:>7} {:>5} {:>5}  description",
        "board",
        "RAM",
        "heap",
        "store",
        "static",
        "heapmem",
        "vstack",
        "depth",
        "fuel",
        "module",
        "table",
        "mods",
        "insts"
    );
    let count = |n: Option<u32>| n.map_or("-".into(), |n| n.to_string());
    let kib = |bytes: u64| format!("{}K", bytes / 1024);
    for b in BoardProfile::builtin() {
        let l = &b.limits;
        println!(
            "{:<16} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>10} {:>7} {:>7} {:>5} {:>5}  {}",
            b.name,
            kib(b.memory.map_or(0, |m| m.ram_bytes)),
            kib(b.heap_bytes()),
            b.store_heap_bytes().map_or("-".into(), kib),
            kib(b.static_buffers_total()),
            b.heap_memory_bytes().map_or("-".into(), kib),
            l.value_stack_slots,
            l.max_call_depth,
            l.fuel.map_or("-".into(), |f| f.to_string()),
            kib(u64::from(l.max_module_bytes)),
            count(l.max_table_elements),
            count(l.max_modules),
            count(l.max_instances),
            b.description
        );
    }
    println!(
        "(store: what of the heap the store's account may hold, the rest kept in reserve; \
         vstack: value-stack slots; depth: wasm call depth; fuel: per call; module: largest \
         upload; table: elements per table; mods, insts: modules and instances per session; \
         -: unlimited)"
    );
    Ok(true)
}
