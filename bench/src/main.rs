//! `cargo run --release -p tandem-bench [-- --runs N] [PROGRAM...]`: times every benchmark
//! program on Tandem and on wasmi in one process and prints a table of medians and ratios.
//!
//! Engines alternate run by run so that drift (frequency scaling, other load) hits them
//! alike. Only the `run` call is timed; each engine instantiates once and is warmed up by
//! one untimed call. Every call's checksum must equal the native kernel's.

use std::process::ExitCode;
use std::time::Duration;

use tandem_bench::{
    Engine, PROGRAMS, Program, TandemMemory, geometric_mean, median, native_checksum,
};

/// Timed runs per engine and program unless `--runs` says otherwise.
const DEFAULT_RUNS: usize = 7;

/// What one program measured.
struct Row {
    name: &'static str,
    n: i32,
    tandem: Duration,
    wasmi: Duration,
    /// Tandem with a static-buffer memory, for the memory-heavy programs.
    tandem_static: Option<Duration>,
}

fn main() -> ExitCode {
    let (runs, only) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}\nusage: tandem-bench [--runs N] [PROGRAM...]");
            return ExitCode::FAILURE;
        }
    };
    let selected: Vec<&Program> =
        PROGRAMS.iter().filter(|p| only.is_empty() || only.iter().any(|o| o == p.name)).collect();
    if selected.is_empty() {
        eprintln!("no such program; the programs are: {}", program_names());
        return ExitCode::FAILURE;
    }
    println!(
        "tandem-bench: {runs} timed runs per engine, median call time (instantiation excluded)"
    );
    let mut rows = Vec::new();
    for program in selected {
        match measure(program, runs) {
            Ok(row) => rows.push(row),
            Err(message) => {
                eprintln!("{}: {message}", program.name);
                return ExitCode::FAILURE;
            }
        }
    }
    print_table(&rows);
    ExitCode::SUCCESS
}

fn parse_args() -> Result<(usize, Vec<String>), String> {
    let mut runs = DEFAULT_RUNS;
    let mut only = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            let value = args.next().ok_or("--runs needs a number")?;
            runs = value.parse().ok().filter(|&r| r > 0).ok_or(format!("bad --runs {value}"))?;
        } else if arg.starts_with('-') {
            return Err(format!("unknown option {arg}"));
        } else if PROGRAMS.iter().any(|p| p.name == arg) {
            only.push(arg);
        } else {
            return Err(format!("unknown program {arg}; the programs are: {}", program_names()));
        }
    }
    Ok((runs, only))
}

fn program_names() -> String {
    PROGRAMS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

/// Instantiates the program on each engine, warms each up, then times `runs` rounds in
/// which every engine runs once.
fn measure(program: &Program, runs: usize) -> Result<Row, String> {
    let n = program.bench_n;
    let expected = native_checksum(program, n);
    let mut engines: Vec<(&str, Engine)> = vec![
        ("tandem", Engine::tandem(program.wasm, TandemMemory::Heap)?),
        ("wasmi", Engine::wasmi(program.wasm)?),
    ];
    if program.memory_heavy {
        engines.push(("tandem-static", Engine::tandem(program.wasm, TandemMemory::Static)?));
    }
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(runs); engines.len()];
    // Round 0 is the untimed warm-up.
    for round in 0..=runs {
        for ((label, engine), times) in engines.iter_mut().zip(samples.iter_mut()) {
            let (checksum, elapsed) = engine.call(n)?;
            if checksum != expected {
                return Err(format!("{label} returned {checksum} for run({n}), native {expected}"));
            }
            if round > 0 {
                times.push(elapsed);
            }
        }
    }
    Ok(Row {
        name: program.name,
        n,
        tandem: median(&samples[0]),
        wasmi: median(&samples[1]),
        tandem_static: samples.get(2).map(|times| median(times)),
    })
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<8} {:>8} {:>11} {:>11} {:>14} {:>11} {:>14}",
        "program", "n", "tandem ms", "wasmi ms", "tandem/wasmi", "static ms", "static/heap"
    );
    println!("{}", "-".repeat(83));
    for row in rows {
        let (static_ms, static_ratio) = match row.tandem_static {
            Some(t) => (format!("{:.1}", millis(t)), format!("{:.3}", ratio(t, row.tandem))),
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:<8} {:>8} {:>11.1} {:>11.1} {:>14.2} {:>11} {:>14}",
            row.name,
            row.n,
            millis(row.tandem),
            millis(row.wasmi),
            ratio(row.tandem, row.wasmi),
            static_ms,
            static_ratio
        );
    }
    println!("{}", "-".repeat(83));
    let ratios: Vec<f64> = rows.iter().map(|r| ratio(r.tandem, r.wasmi)).collect();
    println!(
        "geometric mean of tandem/wasmi over {} programs: {:.2}",
        rows.len(),
        geometric_mean(&ratios)
    );
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
