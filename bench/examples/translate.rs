//! One engine translating one module N times: `cargo run --release -p tandem-bench --example
//! translate -- ENGINE FILE N`, ENGINE one of `tandem`, `wasmi` (eager, as the harness's
//! translation table compares). For profilers that count instructions
//! (`valgrind --tool=callgrind`), as `call` is for execution.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [engine, file, n] = args.as_slice() else {
        eprintln!("usage: translate ENGINE FILE N");
        return ExitCode::FAILURE;
    };
    let wasm = match std::fs::read(file) {
        Ok(wasm) => wasm,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(n) = n.parse::<u32>() else {
        eprintln!("N is a count");
        return ExitCode::FAILURE;
    };
    let start = std::time::Instant::now();
    let translated = match engine.as_str() {
        "tandem" => {
            let config = tandem_interp::Config::new();
            timed(n, || {
                tandem_interp::Module::new(&config, &wasm).map(drop).map_err(|e| e.to_string())
            })
        }
        "wasmi" => {
            let mut config = wasmi::Config::default();
            config.compilation_mode(wasmi::CompilationMode::Eager);
            let engine = wasmi::Engine::new(&config);
            timed(n, || wasmi::Module::new(&engine, &wasm).map(drop).map_err(|e| e.to_string()))
        }
        other => Err(format!("no engine {other}")),
    };
    match translated {
        Ok(median) => {
            println!(
                "{file} x{n} in {:.2} ms, median {:.3} ms",
                start.elapsed().as_secs_f64() * 1e3,
                median.as_secs_f64() * 1e3
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{engine}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `translate` `n` times; the median of their times, or the first error.
fn timed(
    n: u32,
    mut translate: impl FnMut() -> Result<(), String>,
) -> Result<std::time::Duration, String> {
    let mut times = Vec::new();
    for _ in 0..n {
        let start = std::time::Instant::now();
        translate()?;
        times.push(start.elapsed());
    }
    if times.is_empty() {
        return Err("N must be at least 1".into());
    }
    Ok(tandem_bench::median(&times))
}
