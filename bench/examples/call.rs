//! One engine, one program, one call: `cargo run --release -p tandem-bench --example call --
//! ENGINE PROGRAM N`, ENGINE one of `tandem`, `tandem-loop`
//! (the `match` loop the boards run), `wasmi`, `silverfir`. For profilers that count
//! instructions (`valgrind --tool=callgrind`), which want nothing else in the process.

use std::process::ExitCode;

use tandem_bench::{Engine, TandemMemory, all_programs};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [engine, name, n] = args.as_slice() else {
        eprintln!("usage: call ENGINE PROGRAM N");
        return ExitCode::FAILURE;
    };
    let Some(program) = all_programs().find(|p| p.name == name) else {
        eprintln!("no program {name}");
        return ExitCode::FAILURE;
    };
    let Ok(n) = n.parse::<i32>() else {
        eprintln!("N is an i32");
        return ExitCode::FAILURE;
    };
    let export = program.export();
    let engine = match engine.as_str() {
        "tandem" => Engine::tandem(program.wasm, export, TandemMemory::Heap),
        // The boards' dispatch, for comparing the two on the same build.
        "tandem-loop" => {
            let config = tandem_interp::Config::new().with_dispatch(tandem_interp::Dispatch::Loop);
            Engine::tandem_with(config, program.wasm, export, TandemMemory::Heap)
        }
        "wasmi" => Engine::wasmi(program.wasm, export),
        "silverfir" => Engine::silverfir(program.wasm, export),
        other => Err(format!("no engine {other}")),
    };
    match engine.and_then(|mut e| e.call(n)) {
        Ok((checksum, elapsed)) => {
            println!("{name}({n}) = {checksum} in {:.1} ms", elapsed.as_secs_f64() * 1e3);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
