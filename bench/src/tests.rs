//! The programs are what the harness assumes: valid Wasm 2.0 without SIMD, small memories,
//! bulk-memory instructions where promised, cheap suite invocations, and one checksum on
//! every engine and natively.

use super::*;

/// Fuel one suite invocation may use: a tenth of the CI board's 5,000,000 per invocation.
const SUITE_FUEL_CEILING: u64 = 500_000;

#[test]
fn program_list_matches_the_kernels() {
    let names: Vec<&str> = PROGRAMS.iter().map(|p| p.name).collect();
    assert_eq!(names, tandem_bench_programs::PROGRAMS);
    let suite: Vec<&str> = tandem_bench_programs::SUITE_N.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, suite);
}

#[test]
fn modules_are_wasm2_without_simd_and_small() {
    use wasmparser::{Payload, Validator, WasmFeatures};
    for program in PROGRAMS {
        let features = WasmFeatures::WASM2.difference(WasmFeatures::SIMD);
        Validator::new_with_features(features)
            .validate_all(program.wasm)
            .unwrap_or_else(|e| panic!("{}: {e}", program.name));
        for payload in wasmparser::Parser::new(0).parse_all(program.wasm) {
            match payload.unwrap() {
                Payload::ImportSection(imports) => {
                    assert_eq!(imports.count(), 0, "{}: imports nothing", program.name);
                }
                Payload::MemorySection(memories) => {
                    for memory in memories {
                        let memory = memory.unwrap();
                        assert!(
                            memory.initial <= MAX_MEMORY_PAGES as u64,
                            "{}: {} pages",
                            program.name,
                            memory.initial
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

#[test]
fn bulk_program_uses_memory_copy_and_fill() {
    use wasmparser::{Operator, Payload};
    let bulk = PROGRAMS.iter().find(|p| p.name == "bulk").unwrap();
    let (mut copies, mut fills) = (0, 0);
    for payload in wasmparser::Parser::new(0).parse_all(bulk.wasm) {
        if let Payload::CodeSectionEntry(body) = payload.unwrap() {
            let mut ops = body.get_operators_reader().unwrap();
            while !ops.eof() {
                match ops.read().unwrap() {
                    Operator::MemoryCopy { .. } => copies += 1,
                    Operator::MemoryFill { .. } => fills += 1,
                    _ => {}
                }
            }
        }
    }
    assert!(copies > 0 && fills > 0, "memory.copy x{copies}, memory.fill x{fills}");
}

/// Tandem with the boards' dispatch, beside the default (threaded where built).
fn loop_dispatch() -> tandem::Config {
    tandem::Config::new().with_dispatch(tandem::Dispatch::Loop)
}

#[test]
fn suite_checksums_agree_on_every_engine() {
    for (program, (_, ns)) in PROGRAMS.iter().zip(tandem_bench_programs::SUITE_N) {
        let mut engines = vec![
            Engine::tandem(program.wasm, "run", TandemMemory::Heap).unwrap(),
            Engine::tandem_with(loop_dispatch(), program.wasm, "run", TandemMemory::Heap).unwrap(),
            Engine::wasmi(program.wasm, "run").unwrap(),
            Engine::silverfir(program.wasm, "run").unwrap(),
        ];
        // A static buffer for the module's memory, if it has one (some tight loops do not).
        let module = tandem::Module::new(&tandem::Config::new(), program.wasm).unwrap();
        if module.defined_memory(0).is_some() {
            engines.push(Engine::tandem(program.wasm, "run", TandemMemory::Static).unwrap());
        }
        for n in ns {
            let native = native_checksum(program, n).expect("a kernel");
            for engine in engines.iter_mut() {
                let (checksum, _) = engine.call(n).unwrap();
                assert_eq!(checksum, native, "{} run({n})", program.name);
            }
        }
    }
}

#[test]
fn the_apps_bench_alike_on_every_engine_and_with_a_static_memory() {
    for program in &APPS {
        let mut engines = [
            Engine::tandem(program.wasm, "bench", TandemMemory::Heap).unwrap(),
            Engine::tandem(program.wasm, "bench", TandemMemory::Static).unwrap(),
            Engine::tandem_with(loop_dispatch(), program.wasm, "bench", TandemMemory::Heap)
                .unwrap(),
            Engine::wasmi(program.wasm, "bench").unwrap(),
            Engine::silverfir(program.wasm, "bench").unwrap(),
        ];
        for n in [1, 2] {
            let sums: Vec<i32> = engines.iter_mut().map(|e| e.call(n).unwrap().0).collect();
            assert!(sums.iter().all(|&s| s == sums[0]), "{} bench({n}): {sums:?}", program.name);
        }
    }
}

#[test]
fn suite_invocations_are_cheap_in_fuel() {
    let config = tandem::Config::new().with_fuel(true);
    for (program, (_, ns)) in PROGRAMS.iter().zip(tandem_bench_programs::SUITE_N) {
        let module = tandem::Module::new(&config, program.wasm).unwrap();
        let mut store = tandem::Store::new(config.clone());
        let instance = tandem::Linker::new().instantiate(&mut store, &module).unwrap();
        let run = instance.func(&store, "run").unwrap();
        for n in ns {
            store.set_fuel(SUITE_FUEL_CEILING);
            let mut results = [tandem::Value::I32(0)];
            store.call(run, &[tandem::Value::I32(n)], &mut results).unwrap_or_else(|e| {
                panic!("{} run({n}) within {SUITE_FUEL_CEILING} fuel: {e}", program.name)
            });
        }
    }
}

#[test]
fn median_and_geometric_mean() {
    let ms = Duration::from_millis;
    assert_eq!(median(&[ms(5), ms(1), ms(3)]), ms(3));
    assert_eq!(median(&[ms(4), ms(1), ms(3), ms(2)]), Duration::from_micros(2500));
    assert!((geometric_mean(&[2.0, 8.0]) - 4.0).abs() < 1e-12);
}

/// What the benchmark firmware prints (a shortened run).
const BOARD_OUTPUT: &str = "engine=tandem
module_bytes=3000
program=fib n=22 checksum=17711 instructions=16469200 call_allocations=0 store_heap=143360 instance_heap=1502 running_heap=144862 linear_memory=65536 load_instructions=40000
program=sort n=2 checksum=-1413030671 instructions=62037880 call_allocations=1 store_heap=143360 instance_heap=4476 running_heap=147836 linear_memory=65536 load_instructions=90000
depth=10 native_stack=1832 before_call=1416
depth=1000 native_stack=1840 before_call=1416
";

#[test]
fn board_output_parses_into_figures() {
    let run = crate::board::parse(BOARD_OUTPUT).unwrap();
    assert_eq!((run.engine.as_str(), run.module_bytes), ("tandem", 3000));
    assert_eq!(run.programs.len(), 2);
    assert_eq!(run.programs[1].load_instructions, 90000);
    let sort = &run.programs[1];
    assert_eq!((sort.name.as_str(), sort.n, sort.checksum), ("sort", 2, -1413030671));
    assert_eq!((sort.instructions, sort.call_allocations), (62037880, 1));
    assert_eq!((sort.store_heap, sort.instance_heap, sort.running_heap), (143360, 4476, 147836));
    assert_eq!(run.stack, [(10, 1832), (1000, 1840)]);
}

#[test]
fn board_errors_and_empty_output_are_errors() {
    let failed = "engine=wasmi\nprogram=fib error=call stack exhausted\n";
    let e = crate::board::parse(failed).unwrap_err();
    assert!(e.contains("call stack exhausted"), "{e}");
    assert!(crate::board::parse("").is_err());
    let garbled = BOARD_OUTPUT.replace("instructions=16469200", "instructions=lots");
    let e = crate::board::parse(&garbled).unwrap_err();
    assert!(e.contains("instructions"), "{e}");
}

#[test]
fn the_report_holds_every_figure_against_its_bar() {
    use crate::board::{BoardRun, Variant};
    use crate::report::{BoardFigures, Figures, markdown};
    let tandem = crate::board::parse(BOARD_OUTPUT).unwrap();
    let wasmi = BoardRun {
        engine: "wasmi".into(),
        module_bytes: 3000,
        programs: tandem
            .programs
            .iter()
            .map(|p| crate::board::BoardProgram {
                instructions: p.instructions / 2,
                store_heap: 296,
                running_heap: 296 + 8000,
                ..p.clone()
            })
            .collect(),
        stack: vec![(10, 7000), (1000, 4800)],
    };
    // Images: 5000 bytes of programs (2000 more), code in flash: 400 and 800 B of heap, a
    // quarter of the loads, the same calls but one 1% slower.
    let images = BoardRun {
        engine: "tandem-images".into(),
        module_bytes: 5000,
        programs: tandem
            .programs
            .iter()
            .zip([(400, 10_000, 0), (800, 22_500, 620_378)])
            .map(|(p, (heap, load, extra))| crate::board::BoardProgram {
                running_heap: p.store_heap + heap,
                load_instructions: load,
                instructions: p.instructions + extra,
                ..p.clone()
            })
            .collect(),
        stack: vec![],
    };
    let ms = Duration::from_millis;
    let row = |name, t, w| Row {
        name,
        n: 1,
        tandem: ms(t),
        wasmi: ms(w),
        silverfir: ms(w),
        tandem_static: None,
        group: crate::Group::Kernel,
    };
    let figures = Figures {
        runs: 3,
        desktop: vec![row("fib", 30, 10), row("sort", 20, 10)],
        translation: vec![],
        board: Some(BoardFigures {
            tandem,
            wasmi,
            images,
            flash: vec![
                (Variant::Baseline, 10 * 1024),
                (Variant::TandemImages, 40 * 1024 + 2000),
                (Variant::Tandem { validate: false }, 110 * 1024),
                (Variant::Wasmi { validate: false }, 330 * 1024),
            ],
        }),
        machine: "test machine".into(),
    };
    let md = markdown(&figures);
    // Desktop: ratios 3.0 and 2.0, geometric mean sqrt(6).
    assert!(
        md.contains("| desktop time, geometric mean of Tandem/wasmi (kernels) | <= 1.00 | 2.45 |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| Cortex-M4 instructions, geometric mean of Tandem/wasmi (kernels) | <= 1.00 | 2.00 |"
        ),
        "{md}"
    );
    assert!(md.contains("| <= 96 KiB | 100.0 KiB (wasmi: 320.0 KiB) |"), "{md}");
    assert!(md.contains("| allocations during a call | 0 | 1 |"), "{md}");
    // Heap: Tandem holds 1502 and 4476 B against wasmi's 8000 B each.
    let expected = ((1502.0f64 / 8000.0) * (4476.0 / 8000.0)).sqrt();
    let worst = 4476.0f64 / 8000.0;
    assert!(
        md.contains(&format!("| <= 0.50 | {expected:.2} geometric mean, at most {worst:.2} (")),
        "{md}"
    );
    assert!(md.contains("1832 B at depth 10, 1840 B at depth 1000"), "{md}");
    // The images build adds 30 KiB and 2000 bytes of images beyond the wasm: 30 KiB is the
    // engine's.
    assert!(md.contains("| <= 40 KiB (stretch 32 KiB) | 30.0 KiB |"), "{md}");
    let heap = ((400.0f64 / 8000.0) * (800.0 / 8000.0)).sqrt();
    assert!(
        md.contains(&format!("| <= 0.10 | {heap:.3} geometric mean, at most 0.100 (sort) |")),
        "{md}"
    );
    let load = ((10_000.0f64 / 40_000.0) * (22_500.0 / 90_000.0)).sqrt();
    assert!(md.contains(&format!("| report | {load:.3} geometric mean |")), "{md}");
    assert!(md.contains("| unchanged | at most 1.00% apart |"), "{md}");
}

#[test]
fn the_large_module_is_valid_and_has_its_functions() {
    let wasm = translate::large_module(40);
    let module = tandem::Module::new(&tandem::Config::new(), &wasm).unwrap();
    assert_eq!(module.exports().count(), 40);
    // Every engine translates it.
    let row = translate::measure_translation("large", &wasm, 1).unwrap();
    assert_eq!(row.bytes, wasm.len());
    // And it runs: f39 calls down the chain to f0.
    let mut store = tandem::Store::new(tandem::Config::new());
    let instance = tandem::Linker::new().instantiate(&mut store, &module).unwrap();
    let f = instance.func(&store, "f39").unwrap();
    let mut out = [tandem::Value::I32(0)];
    store.call(f, &[tandem::Value::I32(5), tandem::Value::I32(9)], &mut out).unwrap();
}

/// Threaded dispatch relies on LLVM compiling every handler's call of the next one as a
/// jump: one that stayed a call would add a native stack frame per instruction it runs, for
/// the rest of the run. Every program (their instructions cover the kinds real code uses:
/// calls, returns, branch tables, memory, globals, i64, f64) runs millions of instructions
/// here on a 64 KiB thread stack, where a few thousand such frames overflow it; and so does
/// a loop of the rarer ways on to the next instruction (tail calls, a new memory view after
/// `memory.grow`, switches between memories), a million times round.
#[test]
fn threaded_dispatch_runs_long_on_a_small_stack() {
    let threaded = cfg!(all(
        not(debug_assertions),
        any(target_arch = "x86_64", target_arch = "aarch64"),
        target_family = "unix"
    ));
    if threaded {
        assert_eq!(tandem::Dispatch::best(), tandem::Dispatch::Threaded, "this build has it");
    }
    let ran = std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(|| {
            for program in all_programs() {
                let mut engine =
                    Engine::tandem(program.wasm, program.export(), TandemMemory::Heap).unwrap();
                let n = (program.bench_n / 20).max(1);
                engine.call(n).unwrap_or_else(|e| panic!("{}: {e}", program.name));
            }
            rare_steps(1_000_000)
        })
        .unwrap()
        .join();
    let n = 1_000_000u64;
    assert_eq!(ran.unwrap(), (n * (n - 1) / 2) as u32);
}

/// `n` rounds of a tail call through a table, a direct tail call, `memory.grow 0` and a
/// copy between two memories: the sum `0 + 1 + ... + (n - 1)` kept in the second memory.
fn rare_steps(n: u32) -> u32 {
    let wasm = wat::parse_str(
        r#"(module
          (type $t (func (param i32) (result i32)))
          (memory $a 1)
          (memory $b 1)
          (table 2 funcref)
          (elem (i32.const 0) $down $add)
          (func $down (param $n i32) (result i32)
            (if (i32.eqz (local.get $n)) (then (return (i32.load $b (i32.const 8)))))
            (i32.store $a (i32.const 0) (i32.sub (local.get $n) (i32.const 1)))
            (drop (memory.grow $a (i32.const 0)))
            (memory.copy $b $a (i32.const 0) (i32.const 0) (i32.const 4))
            (return_call_indirect (type $t)
              (i32.sub (local.get $n) (i32.const 1)) (i32.const 1)))
          (func $add (param $n i32) (result i32)
            (i32.store $b (i32.const 8)
              (i32.add (i32.load $b (i32.const 8)) (i32.load $b (i32.const 0))))
            (return_call $down (local.get $n)))
          (func (export "run") (param $n i32) (result i32)
            (call_indirect (type $t) (local.get $n) (i32.const 0))))"#,
    )
    .unwrap();
    let config = tandem::Config::new();
    let module = tandem::Module::new(&config, &wasm).unwrap();
    let mut store = tandem::Store::new(config);
    let instance = tandem::Linker::new().instantiate(&mut store, &module).unwrap();
    let run = instance.func(&store, "run").unwrap();
    let mut out = [tandem::Value::I32(0)];
    store.call(run, &[tandem::Value::I32(n as i32)], &mut out).unwrap();
    let tandem::Value::I32(sum) = out[0] else { panic!("{:?}", out[0]) };
    sum as u32
}
