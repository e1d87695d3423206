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

#[test]
fn suite_checksums_agree_on_every_engine() {
    for (program, (_, ns)) in PROGRAMS.iter().zip(tandem_bench_programs::SUITE_N) {
        let mut engines = [
            Engine::tandem(program.wasm, TandemMemory::Heap).unwrap(),
            Engine::tandem(program.wasm, TandemMemory::Static).unwrap(),
            Engine::wasmi(program.wasm).unwrap(),
        ];
        for n in ns {
            let native = native_checksum(program, n);
            for engine in engines.iter_mut() {
                let (checksum, _) = engine.call(n).unwrap();
                assert_eq!(checksum, native, "{} run({n})", program.name);
            }
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
