//! The harness itself, and every input the fuzzers ever found, kept as regression tests:
//! `regressions/<target>/*` (raw fuzzer inputs, as `cargo fuzz` saved them).

use std::path::Path;

use tandem_fuzz::{
    Bits, Outcome, TrapClass, differential, run_tandem, run_tandem_in_slices, run_tandem_on,
    run_wasmi, slices_agree,
};
use tandem_interp::{Dispatch, TrapKind};

const MODULE: &str = r#"(module
  (memory (export "mem") 1 2)
  (global (export "g") (mut i32) (i32.const 0))
  (func (export "store") (result i32)
    (i32.store (i32.const 8) (i32.const 0x01020304))
    (global.set 0 (i32.const 7))
    (i32.load8_u (i32.const 9)))
  (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "nan") (result f32) (f32.div (f32.const 0) (f32.const 0)))
  (func (export "spin") (loop (br 0)))
  (func (export "after") (result i32) (i32.const 1)))"#;

#[test]
fn both_engines_observe_the_same_schedule() {
    let wasm = wat::parse_str(MODULE).unwrap();
    let tandem = run_tandem(&wasm, &[]).expect("runs on Tandem");
    let wasmi = run_wasmi(&wasm, &[]).expect("runs on wasmi");
    let calls = |o: &tandem_fuzz::Observation| -> Vec<(String, Outcome)> { o.calls.clone() };
    // Calls go in the order of the export names.
    let expected_prefix = [
        ("(start)".to_owned(), Outcome::Returned(vec![])),
        ("after".to_owned(), Outcome::Returned(vec![Bits::I32(1)])),
        ("div".to_owned(), Outcome::Trapped(TrapClass::IntegerDivideByZero)),
    ];
    for observed in [&tandem, &wasmi] {
        let calls = calls(observed);
        assert_eq!(calls[..3], expected_prefix);
        assert!(matches!(calls[3].1, Outcome::Returned(ref v) if matches!(v[..], [Bits::F32(_)])));
        // The endless loop runs out of fuel; the schedule stops there, before `store`.
        assert_eq!(calls.last().unwrap(), &("spin".to_owned(), Outcome::Exhausted));
        assert_eq!(calls.len(), 5);
        assert!(observed.globals.is_empty() && observed.memories.is_empty());
    }
    // Tandem's runs also keep, per call, the fuel left and the exact trap.
    let fuel_left: Vec<u64> = tandem.exact.iter().map(|&(fuel, _)| fuel).collect();
    assert_eq!(fuel_left[0], tandem_fuzz::FUEL, "no start function, nothing spent");
    assert!(fuel_left[1] < tandem_fuzz::FUEL, "a call is charged: {fuel_left:?}");
    let traps: Vec<Option<TrapKind>> = tandem.exact.iter().map(|&(_, trap)| trap).collect();
    assert_eq!(traps[2], Some(TrapKind::IntegerDivideByZero));
    assert_eq!(traps[4], Some(TrapKind::OutOfFuel));
    assert_eq!(traps.iter().filter(|t| t.is_some()).count(), 2);
    assert!(wasmi.exact.is_empty());
    assert_eq!(differential(&wasm, &[]).map_err(|m| m.to_string()), Ok(()));
}

#[test]
fn globals_and_memories_are_compared_when_no_call_was_exhausted() {
    let wasm =
        wat::parse_str(MODULE.replace(r#"(func (export "spin") (loop (br 0)))"#, "")).unwrap();
    let tandem = run_tandem(&wasm, &[]).expect("runs on Tandem");
    assert_eq!(tandem.globals, [("g".to_owned(), Bits::I32(7))]);
    assert_eq!(tandem.memories.len(), 1);
    assert_eq!(tandem.memories[0].1, 65536);
    let wasmi = run_wasmi(&wasm, &[]).expect("runs on wasmi");
    assert_eq!(
        (&tandem.calls, &tandem.globals, &tandem.memories),
        (&wasmi.calls, &wasmi.globals, &wasmi.memories)
    );
}

#[test]
fn calls_in_fuel_slices_observe_what_plain_calls_do() {
    let with_spin = wat::parse_str(MODULE).unwrap();
    let without =
        wat::parse_str(MODULE.replace(r#"(func (export "spin") (loop (br 0)))"#, "")).unwrap();
    for wasm in [&with_spin, &without] {
        let plain = run_tandem(wasm, &[]).expect("runs");
        for slice in [1, 2, 7, 61] {
            let sliced = run_tandem_in_slices(wasm, &[], Some(slice)).expect("runs in slices");
            assert_eq!(sliced, plain, "slice {slice}");
            assert_eq!(slices_agree(wasm, &[], slice).map_err(|m| m.to_string()), Ok(()));
        }
    }
    // The endless loop spends the same fuel in slices and is out of it at the same call.
    let sliced = run_tandem_in_slices(&with_spin, &[], Some(3)).expect("runs");
    assert_eq!(sliced.calls.last().unwrap(), &("spin".to_owned(), Outcome::Exhausted));
}

#[test]
fn an_image_observes_what_its_module_does_and_edited_images_never_panic() {
    let wasm = wat::parse_str(MODULE).unwrap();
    assert_eq!(tandem_fuzz::run_tandem_image(&wasm, &[]).ok(), run_tandem(&wasm, &[]).ok());
    assert_eq!(tandem_fuzz::image_agrees(&wasm, &[]).map_err(|m| m.to_string()), Ok(()));
    let (mut refused, mut ran) = (0, 0);
    for at in 0..600u32 {
        match tandem_fuzz::run_edited_image(&wasm, &[(at, 0x41), (at * 7, 0x02)]) {
            Ok(()) => ran += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0 && ran > 0, "{refused} refused, {ran} ran");
}

#[test]
fn bad_bytes_are_refused_not_panicked_on() {
    for bytes in [&b""[..], b"\0asm", b"\0asm\x01\0\0\0\x01\xff", b"garbage"] {
        assert!(run_tandem(bytes, &[]).is_err(), "{bytes:?}");
    }
}

/// Every saved fuzzer input still runs: no panic, and no disagreement with wasmi.
#[test]
fn regressions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut count = 0;
    for target in ["bytes", "smith", "differential", "image"] {
        let Ok(dir) = std::fs::read_dir(root.join(target)) else { continue };
        for entry in dir {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            match target {
                "bytes" => drop(run_tandem(&data, &[])),
                "image" => {
                    // Refused, or run to the end of its fuel: never a panic or a hang.
                    let Some((wasm, edits)) = tandem_fuzz::image_input(&data) else { continue };
                    let _ = tandem_fuzz::run_edited_image(&wasm, &edits);
                }
                _ => {
                    let Some((wasm, args)) = tandem_fuzz::differential_input(&data) else {
                        continue;
                    };
                    if let Err(m) = differential(&wasm, &args) {
                        panic!("{}: {m}", path.display());
                    }
                    if let Err(m) = slices_agree(&wasm, &args, 1 + data.len() as u64 % 61) {
                        panic!("{}: {m}", path.display());
                    }
                    if let Err(m) = tandem_fuzz::image_agrees(&wasm, &args) {
                        panic!("{}: {m}", path.display());
                    }
                }
            }
            count += 1;
        }
    }
    eprintln!("{count} regression inputs replayed");
}

/// wasmi 2.0.0's known miscompilation (`tandem_fuzz::wasmi_select_eqz_bug`), which a
/// 2-hour differential run found: Tandem gives the spec's answer, wasmi does not, and the
/// harness does not report it. When a wasmi upgrade fixes it, the wasmi assertion fails
/// and the harness's exception can go.
#[test]
fn the_oracle_miscompiles_select_on_eqz_of_a_local_and_tandem_does_not() {
    let wat = r#"(module (func (export "f") (param i32) (result i32)
        (select (i32.add (local.get 0) (i32.const 9)) (i32.const 5) (i32.eqz (local.get 0)))))"#;
    let wasm = wat::parse_str(wat).unwrap();
    let result = |o: &tandem_fuzz::Observation| o.calls.last().unwrap().1.clone();
    // f(0): eqz(0) = 1 selects the first operand, 0 + 9.
    let spec = Outcome::Returned(vec![Bits::I32(9)]);
    assert_eq!(result(&run_tandem(&wasm, &[]).unwrap()), spec);
    assert_eq!(result(&run_wasmi(&wasm, &[]).unwrap()), Outcome::Returned(vec![Bits::I32(5)]));
    assert!(tandem_fuzz::wasmi_select_eqz_bug(&wasm));
    assert_eq!(differential(&wasm, &[]).map_err(|m| m.to_string()), Ok(()));
    // Without the pattern, a disagreement is still reported (the check is not a blanket).
    let plain = wat::parse_str(MODULE).unwrap();
    assert!(!tandem_fuzz::wasmi_select_eqz_bug(&plain));
}

/// The tiny-board target's checks on a module with a bit of everything, under every heap
/// limit up to what it needs and in parts of several sizes: each refusal gives back what it
/// charged, and none is a panic.
#[test]
fn under_every_small_heap_a_module_is_refused_cleanly_or_runs() {
    let wasm =
        wat::parse_str(MODULE.replace(r#"(func (export "spin") (loop (br 0)))"#, "")).unwrap();
    for limit in (256..100_000).step_by(211) {
        for chunk in [1, 7, 512] {
            if let Err(broken) = tandem_fuzz::run_tiny(&wasm, limit, chunk) {
                panic!("limit {limit}, chunks of {chunk}: {broken}");
            }
        }
    }
}

/// The differential target calls with arguments drawn from its input, the same on both.
#[test]
fn call_arguments_come_from_the_input() {
    let wasm = wat::parse_str(
        r#"(module (func (export "div") (param i32 i64) (result i32 i64)
             (i32.div_u (i32.const 100) (local.get 0)) (local.get 1)))"#,
    )
    .unwrap();
    let args = [7, u64::MAX];
    let returned = Outcome::Returned(vec![Bits::I32(14), Bits::I64(-1)]);
    for observed in [run_tandem(&wasm, &args).unwrap(), run_wasmi(&wasm, &args).unwrap()] {
        assert_eq!(observed.calls[1], ("div".to_owned(), returned.clone()));
    }
    let zero = run_tandem(&wasm, &[]).unwrap();
    assert_eq!(zero.calls[1].1, Outcome::Trapped(TrapClass::IntegerDivideByZero));
    assert_eq!(differential(&wasm, &args).map_err(|m| m.to_string()), Ok(()));
}

/// wasm-smith's configuration reaches the proposals Tandem implements past 2.0: among modules
/// made of varied inputs, some tail-call and some have several memories or 1-byte pages.
#[test]
fn generated_modules_use_the_newer_proposals() {
    use wasmparser::{Operator, Parser, Payload};
    let (mut tail_calls, mut memories, mut small_pages) = (0, 0, 0);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..400 {
        let data: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let Some((wasm, _)) = tandem_fuzz::differential_input(&data) else { continue };
        for payload in Parser::new(0).parse_all(&wasm).flatten() {
            match payload {
                Payload::MemorySection(reader) => {
                    let types: Vec<_> = reader.into_iter().flatten().collect();
                    memories += usize::from(types.len() > 1);
                    small_pages += usize::from(types.iter().any(|m| m.page_size_log2 == Some(0)));
                }
                Payload::CodeSectionEntry(body) => {
                    let ops = body.get_operators_reader().unwrap();
                    tail_calls += ops.into_iter().flatten().any(|op| {
                        matches!(
                            op,
                            Operator::ReturnCall { .. } | Operator::ReturnCallIndirect { .. }
                        )
                    }) as usize;
                }
                _ => {}
            }
        }
    }
    assert!(
        tail_calls > 0 && memories > 0 && small_pages > 0,
        "{tail_calls} {memories} {small_pages}"
    );
}

/// Both dispatches observe exactly the same (results, traps, fuel, globals, memories) on
/// generated modules and on every saved differential input. Threaded dispatch exists only in
/// optimised builds without debug assertions: ci/fuzz.sh runs this with `--release`.
#[test]
#[cfg_attr(debug_assertions, ignore = "threaded dispatch is built by `cargo test --release` only")]
fn the_threaded_and_loop_dispatches_observe_the_same() {
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        assert_eq!(Dispatch::best(), Dispatch::Threaded, "this build should have it");
    }
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(Path::new("regressions/differential"))
        .unwrap()
        .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
        .collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    inputs.extend((0..1500).map(|_| {
        (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect()
    }));
    let mut ran = 0;
    for data in &inputs {
        let Some((wasm, args)) = tandem_fuzz::differential_input(data) else { continue };
        // Plainly and in fuel slices (suspending and resuming mid-function), both the same.
        let slice = Some(1 + u64::from(data[0]) % 61);
        let threaded = run_tandem(&wasm, &args).map_err(|e| e.to_string());
        for (run, slice) in [("plain", None), ("sliced", slice)] {
            let looped = run_tandem_on(Dispatch::Loop, &wasm, &args, slice);
            let looped = looped.map_err(|e| e.to_string());
            if threaded != looped {
                let saved = std::env::temp_dir().join("tandem-dispatch-mismatch.wasm");
                std::fs::write(&saved, &wasm).unwrap();
                panic!(
                    "threaded {threaded:?}\nloop, {run} {looped:?}\nmodule: {}",
                    saved.display()
                );
            }
        }
        ran += usize::from(threaded.is_ok());
    }
    assert!(ran > 1000, "only {ran} modules ran");
}
