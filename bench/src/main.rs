//! `cargo run --release -p tandem-bench [-- --runs N] [--board] [--report FILE]
//! [--fail-above RATIO] [PROGRAM...] | --cores`:
//! times every benchmark program on Tandem, wasmi and Silverfir-nano's interpreter in one
//! process and prints a table of medians and ratios, then each engine's translation time
//! (`translation` as a program name: that table alone). `--board` adds the Cortex-M4
//! figures: the benchmark firmware (`bench/fw`) per engine under QEMU (guest instructions,
//! heap, allocations, native stack) and every engine's flash. `--report FILE` does all of it and writes the Markdown report
//! to FILE and its chart beside it (`performance.svg`). `--cores` alone measures Tandem and
//! wasmi on every Cortex-M core QEMU has (M3, M4F, M7, M33): guest instructions per program,
//! their ratio per core, and each engine's flash per core. `--fail-above RATIO` fails the run
//! when the desktop geometric mean of Tandem/wasmi exceeds RATIO: CI's guard against a change
//! that slows every program (a handler gone out of line once doubled desktop time unnoticed).
//!
//! Engines alternate run by run so that drift (frequency scaling, other load) hits them
//! alike. Only the `run` call is timed; each engine instantiates once and is warmed up by
//! one untimed call. Every call's checksum must equal the native kernel's, on the board too.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tandem_bench::board::{self, Core, Variant};
use tandem_bench::report::{self, BoardFigures, Figures};
use tandem_bench::translate::TranslationRow;
use tandem_bench::{
    Program, Row, all_programs, geometric_mean, group_means, measure, native_checksum,
};

/// Timed runs per engine and program unless `--runs` says otherwise.
const DEFAULT_RUNS: usize = 7;

/// What the command line asked for.
struct Args {
    runs: usize,
    only: Vec<String>,
    board: bool,
    cores: bool,
    report: Option<PathBuf>,
    fail_above: Option<f64>,
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!(
                "{message}\nusage: tandem-bench [--runs N] [--board] [--report FILE] [--fail-above RATIO] [PROGRAM...] | --cores"
            );
            return ExitCode::FAILURE;
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    if args.cores {
        return cores();
    }
    let selected: Vec<&Program> = all_programs()
        .filter(|p| args.only.is_empty() || args.only.iter().any(|o| o == p.name))
        .collect();
    println!(
        "tandem-bench: {} timed runs per engine, median call time (instantiation excluded)",
        args.runs
    );
    let mut rows = Vec::new();
    for program in selected {
        rows.push(measure(program, args.runs).map_err(|m| format!("{}: {m}", program.name))?);
    }
    print_table(&rows);
    if let Some(bar) = args.fail_above {
        if rows.is_empty() {
            return Err(
                "--fail-above needs a program to measure; `translation` alone has none".into()
            );
        }
        let mean =
            geometric_mean(&rows.iter().map(|r| ratio(r.tandem, r.wasmi)).collect::<Vec<_>>());
        if mean > bar {
            return Err(format!(
                "the geometric mean of tandem/wasmi, {mean:.2}, is above --fail-above {bar}"
            ));
        }
    }
    // Translation: with every program, or when asked for by name.
    let translation = if args.only.is_empty() || args.only.iter().any(|o| o == "translation") {
        let rows = tandem_bench::translate::measure_all(args.runs)?;
        print_translation(&rows);
        rows
    } else {
        Vec::new()
    };
    let board = if args.board || args.report.is_some() { Some(board_figures()?) } else { None };
    let figures =
        Figures { runs: args.runs, desktop: rows, translation, board, machine: machine() };
    let md = report::markdown(&figures);
    if figures.board.is_some() {
        // The board tables, as the report has them.
        let from = md.find("## Cortex-M4").unwrap_or(0);
        println!("\n{}", &md[from..]);
    }
    if let Some(path) = &args.report {
        std::fs::write(path, &md).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let chart = path.with_file_name("performance.svg");
        report::chart_svg(&figures, &chart)?;
        println!("wrote {} and {}", path.display(), chart.display());
    }
    Ok(())
}

/// Builds every firmware variant, runs Tandem's and wasmi's under QEMU, checks their
/// checksums against the native kernels, and measures every variant's flash.
fn board_figures() -> Result<BoardFigures, String> {
    let mut flash = Vec::new();
    let (mut tandem, mut wasmi, mut images) = (None, None, None);
    for variant in Variant::ALL {
        eprintln!("building the {} benchmark firmware", variant.label());
        let elf = board::build(variant, Core::M4F)?;
        flash.push((variant, board::flash_bytes(&elf)?));
        // Speed and RAM come from the builds without validation; it only adds flash.
        let slot = match variant {
            Variant::Tandem { validate: false } => &mut tandem,
            Variant::Wasmi { validate: false } => &mut wasmi,
            Variant::TandemImages => &mut images,
            _ => continue,
        };
        eprintln!("running it under QEMU");
        let run = board::parse(&board::run(&elf, Core::M4F)?)?;
        for p in &run.programs {
            let program = all_programs()
                .find(|q| q.name == p.name)
                .ok_or_else(|| format!("the firmware ran an unknown program {}", p.name))?;
            // An app has no native kernel: it is held to the other engine's checksum below.
            let Some(native) = native_checksum(program, p.n) else { continue };
            if p.checksum != native {
                return Err(format!(
                    "{} on the board returned {} for {}({}), native {native}",
                    run.engine, p.checksum, p.name, p.n
                ));
            }
        }
        *slot = Some(run);
    }
    let missing = |engine: &str| format!("no {engine} run");
    for other in [&wasmi, &images] {
        let (Some(t), Some(o)) = (&tandem, other) else { continue };
        for (t, w) in t.programs.iter().zip(&o.programs) {
            if (&t.name, t.n, t.checksum) != (&w.name, w.n, w.checksum) {
                return Err(format!(
                    "on the board tandem returned {} for {}({}), {} {} for {}({})",
                    t.checksum, t.name, t.n, o.engine, w.checksum, w.name, w.n
                ));
            }
        }
    }
    Ok(BoardFigures {
        tandem: tandem.ok_or_else(|| missing("tandem"))?,
        wasmi: wasmi.ok_or_else(|| missing("wasmi"))?,
        images: images.ok_or_else(|| missing("tandem-images"))?,
        flash,
    })
}

/// Tandem and wasmi (no on-device validation) on every Cortex-M core QEMU runs: each
/// program's guest instructions per engine, held to the same checksums on every core, and the
/// Tandem/wasmi ratios and flash per core, printed as Markdown tables.
fn cores() -> Result<(), String> {
    let engines = [Variant::Tandem { validate: false }, Variant::Wasmi { validate: false }];
    // Per core: (tandem run, wasmi run, tandem flash, wasmi flash).
    let mut per_core = Vec::new();
    for core in Core::ALL {
        let mut runs = Vec::new();
        let mut flash = Vec::new();
        for variant in engines {
            eprintln!("building the {} benchmark firmware for the {}", variant.label(), core.name);
            let elf = board::build(variant, core)?;
            flash.push(board::flash_bytes(&elf)?);
            eprintln!("running it under QEMU ({})", core.machine);
            runs.push(board::parse(&board::run(&elf, core)?)?);
        }
        let (wasmi, tandem) = (runs.pop().expect("two runs"), runs.pop().expect("two runs"));
        for (t, w) in tandem.programs.iter().zip(&wasmi.programs) {
            let native =
                all_programs().find(|q| q.name == t.name).and_then(|q| native_checksum(q, t.n));
            if (&t.name, t.checksum) != (&w.name, w.checksum)
                || native.is_some_and(|n| n != t.checksum)
            {
                return Err(format!(
                    "on the {} tandem returned {} for {}({}), wasmi {} for {}({}), native {native:?}",
                    core.name, t.checksum, t.name, t.n, w.checksum, w.name, w.n
                ));
            }
        }
        per_core.push((core, tandem, wasmi, flash[0], flash[1]));
    }
    let header: Vec<&str> = per_core.iter().map(|(core, ..)| core.name).collect();
    println!("\n| program | {} |", header.join(" | "));
    println!("| --- |{}", " ---: |".repeat(header.len()));
    let (_, first, ..) = &per_core[0];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); per_core.len()];
    for (i, program) in first.programs.iter().enumerate() {
        let cells: Vec<String> = per_core
            .iter()
            .zip(&mut ratios)
            .map(|((_, tandem, wasmi, ..), ratios)| {
                let (t, w) = (tandem.programs[i].instructions, wasmi.programs[i].instructions);
                let ratio = t as f64 / w as f64;
                ratios.push(ratio);
                format!("{:.1}M / {:.1}M = **{ratio:.2}**", t as f64 / 1e6, w as f64 / 1e6)
            })
            .collect();
        println!("| {} | {} |", program.name, cells.join(" | "));
    }
    let means: Vec<String> =
        ratios.iter().map(|r| format!("**{:.2}**", geometric_mean(r))).collect();
    println!("| geometric mean, Tandem/wasmi | {} |", means.join(" | "));
    let kib = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
    let flash: Vec<String> =
        per_core.iter().map(|(.., t, w)| format!("{} / {}", kib(*t), kib(*w))).collect();
    println!("| flash, Tandem / wasmi | {} |", flash.join(" | "));
    Ok(())
}

/// The CPU model and the date, for the report's reader.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = std::process::Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {date}")
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        runs: DEFAULT_RUNS,
        only: Vec::new(),
        board: false,
        cores: false,
        report: None,
        fail_above: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let value = args.next().ok_or("--runs needs a number")?;
                parsed.runs =
                    value.parse().ok().filter(|&r| r > 0).ok_or(format!("bad --runs {value}"))?;
            }
            "--board" => parsed.board = true,
            "--fail-above" => {
                let value = args.next().ok_or("--fail-above needs a ratio")?;
                parsed.fail_above = Some(
                    value
                        .parse()
                        .ok()
                        .filter(|&r: &f64| r > 0.0)
                        .ok_or(format!("bad --fail-above {value}"))?,
                );
            }
            "--cores" => parsed.cores = true,
            "--report" => {
                parsed.report = Some(args.next().ok_or("--report needs a file")?.into());
            }
            _ if arg.starts_with('-') => return Err(format!("unknown option {arg}")),
            _ if arg == "translation" || all_programs().any(|p| p.name == arg) => {
                parsed.only.push(arg)
            }
            _ => {
                return Err(format!(
                    "unknown program {arg}; the programs are: {} (and `translation`)",
                    program_names()
                ));
            }
        }
    }
    if parsed.cores
        && (parsed.board
            || parsed.report.is_some()
            || parsed.fail_above.is_some()
            || !parsed.only.is_empty())
    {
        return Err("--cores runs alone".into());
    }
    if parsed.report.is_some() && !parsed.only.is_empty() {
        return Err("--report covers every program; drop the program names".into());
    }
    Ok(parsed)
}

fn program_names() -> String {
    all_programs().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn print_translation(rows: &[TranslationRow]) {
    println!("\ntranslation (decode, validate, translate), median ms:");
    println!(
        "{:<10} {:>9} {:>9} {:>12} {:>11} {:>10} {:>13}",
        "module", "bytes", "tandem", "wasmi eager", "wasmi lazy", "silverfir", "tandem/eager"
    );
    for r in rows {
        println!(
            "{:<10} {:>9} {:>9.2} {:>12.2} {:>11.2} {:>10.2} {:>13.2}",
            r.name,
            r.bytes,
            millis(r.tandem),
            millis(r.wasmi_eager),
            millis(r.wasmi_lazy),
            millis(r.silverfir),
            ratio(r.tandem, r.wasmi_eager)
        );
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<13} {:>6} {:>10} {:>9} {:>8} {:>9} {:>8} {:>10} {:>8}",
        "program", "n", "tandem ms", "wasmi ms", "t/wasmi", "sf ms", "t/sf", "static ms", "st/heap"
    );
    println!("{}", "-".repeat(89));
    for row in rows {
        let (static_ms, static_ratio) = match row.tandem_static {
            Some(t) => (format!("{:.1}", millis(t)), format!("{:.3}", ratio(t, row.tandem))),
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:<13} {:>6} {:>10.1} {:>9.1} {:>8.2} {:>9.1} {:>8.2} {:>10} {:>8}",
            row.name,
            row.n,
            millis(row.tandem),
            millis(row.wasmi),
            ratio(row.tandem, row.wasmi),
            millis(row.silverfir),
            ratio(row.tandem, row.silverfir),
            static_ms,
            static_ratio
        );
    }
    println!("{}", "-".repeat(89));
    let ratios = |group| {
        rows.iter().filter(|r| r.group == group).map(|r| ratio(r.tandem, r.wasmi)).collect()
    };
    for (group, count, mean) in group_means(ratios) {
        println!("geometric mean of tandem/wasmi over {count} {group}: {mean:.2}");
    }
    let sf = |group| {
        rows.iter().filter(|r| r.group == group).map(|r| ratio(r.tandem, r.silverfir)).collect()
    };
    for (group, count, mean) in group_means(sf) {
        println!("geometric mean of tandem/silverfir over {count} {group}: {mean:.2}");
    }
    let static_ratios: Vec<f64> =
        rows.iter().filter_map(|r| r.tandem_static.map(|t| ratio(t, r.tandem))).collect();
    if !static_ratios.is_empty() {
        println!(
            "geometric mean of tandem static/heap memory over {} programs: {:.3}",
            static_ratios.len(),
            geometric_mean(&static_ratios)
        );
    }
    println!("(ratios above 1: Tandem slower than wasmi, or static memory slower than heap)");
}
