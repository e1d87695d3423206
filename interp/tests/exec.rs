//! Execution tests for the translator's and executor's tricky paths: pending
//! locals, results redirected into locals, branches carrying values, multi-value
//! blocks, calls across instances, limits and fuel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tandem_interp::{
    Config, Error, Extern, FUEL_SLICE, FuncType, Linker, Module, Store, TrapKind, ValType, Value,
};

fn instantiate(config: Config, wat: &str) -> (Store, tandem_interp::Instance) {
    let bytes = wat::parse_str(wat).expect("test module parses");
    let module = Module::new(&config, &bytes).expect("module is valid");
    let mut store = Store::new(config);
    let instance = Linker::new().instantiate(&mut store, &module).expect("instantiates");
    (store, instance)
}

fn call(
    store: &mut Store,
    instance: tandem_interp::Instance,
    name: &str,
    args: &[Value],
) -> Result<Vec<Value>, Error> {
    let func = instance.func(store, name)?;
    let mut results = vec![Value::I32(0); store.func_type(func).results().len()];
    store.call(func, args, &mut results)?;
    Ok(results)
}

fn i32s(values: &[i32]) -> Vec<Value> {
    values.iter().map(|v| Value::I32(*v)).collect()
}

#[test]
fn i32_results_leave_no_high_bits_behind() {
    // An i32 result only writes its slot's low half: here over an i64 -1 left in the
    // same temp slot. Everything that reads it as wider must see the i32 alone.
    let (mut store, instance) = instantiate(
        Config::new(),
        r#"(module
             (global $g (mut i32) (i32.const 0))
             (func (export "extend") (param $x i64) (result i64)
               (drop (i64.add (local.get $x) (i64.const 0)))
               (i64.extend_i32_u (i32.wrap_i64 (local.get $x))))
             (func (export "via_global") (param $x i64) (result i64)
               (drop (i64.add (local.get $x) (i64.const 0)))
               (global.set $g (i32.wrap_i64 (local.get $x)))
               (i64.extend_i32_u (global.get $g)))
             (func (export "compare") (param $x i64) (result i32)
               (drop (i64.add (local.get $x) (i64.const 0)))
               (i32.lt_s (i32.wrap_i64 (local.get $x)) (i32.const 0))))"#,
    );
    let x = [Value::I64(-1)];
    assert_eq!(call(&mut store, instance, "extend", &x).unwrap(), [Value::I64(0xffff_ffff)]);
    assert_eq!(call(&mut store, instance, "via_global", &x).unwrap(), [Value::I64(0xffff_ffff)]);
    assert_eq!(call(&mut store, instance, "compare", &x).unwrap(), [Value::I32(1)]);
}

#[test]
fn pending_local_read_before_overwrite() {
    // local.get 0 stays pending on the stack while local 0 is overwritten.
    let (mut s, i) = instantiate(
        Config::new(),
        r#"(module (func (export "f") (param i32) (result i32)
            local.get 0
            i32.const 5
            local.set 0
            local.get 0
            i32.sub))"#,
    );
    assert_eq!(call(&mut s, i, "f", &i32s(&[12])).unwrap(), i32s(&[7]));
}

#[test]
fn result_redirected_into_local_keeps_pending_readers() {
    let (mut s, i) = instantiate(
        Config::new(),
        r#"(module (func (export "f") (param i32 i32) (result i32 i32)
            local.get 0          ;; pending read of the old value
            local.get 0
            local.get 1
            i32.add
            local.set 0          ;; must not be redirected past the pending read
            local.get 0))"#,
    );
    assert_eq!(call(&mut s, i, "f", &i32s(&[3, 4])).unwrap(), i32s(&[3, 7]));
}

#[test]
fn tee_and_loop_accumulate() {
    let (mut s, i) = instantiate(
        Config::new(),
        r#"(module (func (export "sum") (param $n i32) (result i32) (local $acc i32)
            (block $done
              (loop $top
                (br_if $done (i32.eqz (local.get $n)))
                (local.set $acc (i32.add (local.get $acc) (local.get $n)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $top)))
            (local.get $acc)))"#,
    );
    assert_eq!(call(&mut s, i, "sum", &i32s(&[100])).unwrap(), i32s(&[5050]));
}

#[test]
fn branches_carry_values_out_of_nested_blocks() {
    let (mut s, i) = instantiate(
        Config::new(),
        r#"(module (func (export "f") (param i32) (result i32)
            (block $outer (result i32)
              (block $inner (result i32)
                (i32.const 10)
                (local.get 0)
                (br_table $inner $outer 1))   ;; index from the param
              (i32.const 100)
              (i32.add))))"#,
    );
    assert_eq!(call(&mut s, i, "f", &i32s(&[0])).unwrap(), i32s(&[110]));
    assert_eq!(call(&mut s, i, "f", &i32s(&[1])).unwrap(), i32s(&[10]));
    assert_eq!(call(&mut s, i, "f", &i32s(&[7])).unwrap(), i32s(&[10]));
}

#[test]
fn br_if_with_pending_local_values() {
    let (mut s, i) = instantiate(
        Config::new(),
        r#"(module (func (export "f") (param i32 i32) (result i32)
            (block (result i32)
              (local.get 1)
              (local.get 0)
              (br_if 0)
              (drop)
              (i32.const -1))))"#,
    );
    assert_eq!(call(&mut s, i, "f", &i32s(&[1, 42])).unwrap(), i32s(&[42]));
    assert_eq!(call(&mut s, i, "f", &i32s(&[0, 42])).unwrap(), i32s(&[-1]));
}

#[test]
fn multi_value_blocks_if_else_and_returns() {
    let (mut s, i) = instantiate(
        Config::new(),
        r#"(module
            (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
            (func (export "f") (param i32) (result i32 i32)
              (i32.const 1) (i32.const 2)
              (if (param i32 i32) (result i32 i32) (local.get 0)
                (then (call $swap))
                (else (i32.add) (i32.const 0))))
            (func (export "early") (param i32) (result i32 i32)
              (i32.const 7) (i32.const 8)
              (br_if 0 (local.get 0))
              (drop) (drop) (i32.const 0) (i32.const 0)))"#,
    );
    assert_eq!(call(&mut s, i, "f", &i32s(&[1])).unwrap(), i32s(&[2, 1]));
    assert_eq!(call(&mut s, i, "f", &i32s(&[0])).unwrap(), i32s(&[3, 0]));
    assert_eq!(call(&mut s, i, "early", &i32s(&[1])).unwrap(), i32s(&[7, 8]));
    assert_eq!(call(&mut s, i, "early", &i32s(&[0])).unwrap(), i32s(&[0, 0]));
}

#[test]
fn a_memory_grown_by_another_instance_is_seen_after_the_call() {
    // `grower` and `main` share one heap memory; `grower` grows it (the bytes may
    // move), then `main` stores and loads on the new pages. `other` has a memory of
    // its own: calling it and coming back switches memories twice.
    let module = |wat: &str| Module::new(&Config::new(), &wat::parse_str(wat).unwrap()).unwrap();
    let grower = module(
        r#"(module
             (import "env" "memory" (memory 1))
             (func (export "grow") (param i32) (result i32)
               (memory.grow (local.get 0))))"#,
    );
    let other = module(
        r#"(module
             (memory 4)
             (data (i32.const 200000) "\64")
             (func (export "peek") (result i32) (i32.load (i32.const 200000))))"#,
    );
    let main = module(
        r#"(module
             (import "env" "grow" (func $grow (param i32) (result i32)))
             (import "env" "peek" (func $peek (result i32)))
             (import "env" "memory" (memory 1))
             (func (export "run") (result i32)
               (i32.store (i32.const 100) (i32.const 7))
               (drop (call $grow (i32.const 3)))
               (i32.store (i32.const 200000) (i32.const 35))
               (i32.add (call $peek)
                 (i32.add (i32.load (i32.const 100)) (i32.load (i32.const 200000))))))"#,
    );
    let mut store = Store::new(Config::new());
    let memory = store.new_memory(tandem_interp::MemoryType::new(1, None)).unwrap();
    let mut linker = Linker::new();
    linker.define("env", "memory", Extern::Memory(memory));
    let grower = linker.instantiate(&mut store, &grower).unwrap();
    let grow = grower.func(&store, "grow").unwrap();
    linker.define("env", "grow", Extern::Func(grow));
    let other = linker.instantiate(&mut store, &other).unwrap();
    let peek = other.func(&store, "peek").unwrap();
    linker.define("env", "peek", Extern::Func(peek));
    let main = linker.instantiate(&mut store, &main).unwrap();
    assert_eq!(call(&mut store, main, "run", &[]).unwrap(), i32s(&[100 + 42]));
}

#[test]
fn recursion_and_call_indirect() {
    let (mut s, i) = instantiate(
        Config::new(),
        r#"(module
            (type $t (func (param i64) (result i64)))
            (table 2 funcref)
            (elem (i32.const 0) $fac $id)
            (func $id (type $t) (local.get 0))
            (func $fac (type $t)
              (if (result i64) (i64.eqz (local.get 0))
                (then (i64.const 1))
                (else (i64.mul (local.get 0)
                        (call_indirect (type $t) (i64.sub (local.get 0) (i64.const 1)) (i32.const 0))))))
            (func (export "fac") (param i64) (result i64) (call $fac (local.get 0)))
            (func (export "bad") (result i32) (call_indirect (type $t) (i64.const 0) (i32.const 5)) (drop) (i32.const 0)))"#,
    );
    assert_eq!(
        call(&mut s, i, "fac", &[Value::I64(20)]).unwrap(),
        vec![Value::I64(2432902008176640000)]
    );
    match call(&mut s, i, "bad", &[]) {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), TrapKind::UndefinedElement),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn deep_recursion_hits_the_configured_depth_not_the_native_stack() {
    let wat = r#"(module (func $down (export "down") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0))
          (then (i32.const 0))
          (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1))))))))"#;
    let config = Config::new().with_limits(1 << 20, 100_000);
    let (mut s, i) = instantiate(config, wat);
    // 90,000 nested wasm calls would overflow a recursive interpreter's native stack.
    assert_eq!(call(&mut s, i, "down", &i32s(&[90_000])).unwrap(), i32s(&[90_000]));
    assert_eq!(s.stats().peak_call_depth, 90_001);
    match call(&mut s, i, "down", &i32s(&[200_000])) {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), TrapKind::StackExhausted),
        other => panic!("expected stack exhaustion, got {other:?}"),
    }
    // The store is usable after a trap.
    assert_eq!(call(&mut s, i, "down", &i32s(&[3])).unwrap(), i32s(&[3]));
}

#[test]
fn value_stack_limit_traps_cleanly() {
    let wat = r#"(module (func $f (export "f") (param i32) (result i32) (local i64 i64 i64 i64)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
          (else (call $f (i32.sub (local.get 0) (i32.const 1)))))))"#;
    let (mut s, i) = instantiate(Config::new().with_limits(64, 1000), wat);
    assert_eq!(call(&mut s, i, "f", &i32s(&[3])).unwrap(), i32s(&[0]));
    match call(&mut s, i, "f", &i32s(&[50])) {
        Err(Error::Trap(t)) => assert_eq!(t.message(), "call stack exhausted"),
        other => panic!("expected stack exhaustion, got {other:?}"),
    }
}

#[test]
fn fuel_stops_an_infinite_loop() {
    let (mut s, i) = instantiate(
        Config::new().with_fuel(true),
        r#"(module (func (export "spin") (loop $l (br $l))))"#,
    );
    s.set_fuel(1000);
    match call(&mut s, i, "spin", &[]) {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), TrapKind::OutOfFuel),
        other => panic!("expected out of fuel, got {other:?}"),
    }
    assert_eq!(s.fuel(), 0);
    assert_eq!(s.stats().fuel_consumed, 1000);
}

#[test]
fn fuel_is_exact_across_slices() {
    // A counted loop that charges fuel at its header on every turn: many slices' worth.
    let (mut s, i) = instantiate(
        Config::new().with_fuel(true),
        r#"(module (func (export "count") (param i32) (result i32)
            (loop $l (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
              (br_if $l (local.get 0)))
            (local.get 0)))"#,
    );
    let start = 20 * FUEL_SLICE + 123;
    s.set_fuel(start);
    assert_eq!(call(&mut s, i, "count", &i32s(&[1_000_000])).unwrap(), i32s(&[0]));
    let consumed = s.stats().fuel_consumed;
    assert!(consumed > 3 * FUEL_SLICE, "the loop spans slices: {consumed}");
    assert_eq!(s.fuel() + consumed, start, "no fuel lost or made at slice boundaries");
    // Running out in a later slice traps and charges nothing more than there was.
    s.set_fuel(FUEL_SLICE + 7);
    s.reset_stats();
    assert_eq!(trap_of(call(&mut s, i, "count", &i32s(&[1_000_000]))), TrapKind::OutOfFuel);
    assert_eq!(s.fuel() + s.stats().fuel_consumed, FUEL_SLICE + 7);
}

#[test]
fn a_raised_interrupt_flag_stops_a_running_loop_and_the_store_goes_on() {
    static STOP: AtomicBool = AtomicBool::new(false);
    let (mut s, i) = instantiate(
        Config::new().with_fuel(true),
        r#"(module (func (export "spin") (loop $l (br $l)))
                   (func (export "one") (result i32) (i32.const 1)))"#,
    );
    s.set_interrupt_flag(&STOP);
    s.set_fuel(u64::MAX);
    let raiser = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(50));
        STOP.store(true, Ordering::Relaxed);
    });
    let started = Instant::now();
    assert_eq!(trap_of(call(&mut s, i, "spin", &[])), TrapKind::Interrupted);
    raiser.join().expect("the raising thread ends");
    assert!(started.elapsed() < Duration::from_secs(5), "stopped promptly");
    // Raised before a call, it stops it within one slice; lowered, calls run again.
    s.reset_stats();
    assert_eq!(trap_of(call(&mut s, i, "spin", &[])), TrapKind::Interrupted);
    assert!(s.stats().fuel_consumed <= FUEL_SLICE, "{}", s.stats().fuel_consumed);
    STOP.store(false, Ordering::Relaxed);
    assert_eq!(call(&mut s, i, "one", &[]).unwrap(), i32s(&[1]));
}

fn trap_of(result: Result<Vec<Value>, Error>) -> TrapKind {
    match result {
        Err(Error::Trap(t)) => t.kind(),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn memory_loads_stores_and_bounds() {
    let (mut s, i) = instantiate(
        Config::new(),
        r#"(module (memory 1 2)
            (func (export "rw") (param i32 i64) (result i64)
              (i64.store offset=8 (local.get 0) (local.get 1))
              (i64.load32_s offset=8 (local.get 0)))
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    );
    assert_eq!(
        call(&mut s, i, "rw", &[Value::I32(16), Value::I64(0xffff_fffe)]).unwrap(),
        vec![Value::I64(-2)]
    );
    match call(&mut s, i, "rw", &[Value::I32(65530), Value::I64(1)]) {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), TrapKind::MemoryOutOfBounds),
        other => panic!("expected out of bounds, got {other:?}"),
    }
    assert_eq!(call(&mut s, i, "grow", &i32s(&[1])).unwrap(), i32s(&[1]));
    assert_eq!(call(&mut s, i, "grow", &i32s(&[1])).unwrap(), i32s(&[-1]));
    // After growing, the formerly out-of-bounds store succeeds.
    assert_eq!(
        call(&mut s, i, "rw", &[Value::I32(65530), Value::I64(1)]).unwrap(),
        vec![Value::I64(1)]
    );
}

#[test]
fn host_functions_and_imported_globals() {
    let bytes = wat::parse_str(
        r#"(module
            (import "env" "twice" (func $twice (param i32) (result i32)))
            (import "env" "g" (global $g (mut i32)))
            (func (export "f") (param i32) (result i32)
              (global.set $g (call $twice (local.get 0)))
              (i32.add (global.get $g) (i32.const 1))))"#,
    )
    .unwrap();
    let config = Config::new();
    let module = Module::new(&config, &bytes).unwrap();
    let mut store = Store::new(config);
    let twice =
        store.host_func(FuncType::new([ValType::I32], [ValType::I32]), |_, args, results| {
            let Value::I32(x) = args[0] else { unreachable!() };
            results[0] = Value::I32(x * 2);
            Ok(())
        });
    let g = store
        .new_global(
            tandem_interp::GlobalType { content: ValType::I32, mutable: true },
            Value::I32(0),
        )
        .unwrap();
    let mut linker = Linker::new();
    linker.define("env", "twice", Extern::Func(twice));
    linker.define("env", "g", Extern::Global(g));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(call(&mut store, instance, "f", &i32s(&[21])).unwrap(), i32s(&[43]));
    assert_eq!(store.global_get(g), Value::I32(42));
}

#[test]
fn wrong_arguments_are_errors_not_traps() {
    let (mut s, i) = instantiate(Config::new(), r#"(module (func (export "f") (param i32)))"#);
    let f = i.func(&s, "f").unwrap();
    assert!(matches!(s.call(f, &[], &mut []), Err(Error::ArgumentCount { expected: 1, got: 0 })));
    assert!(matches!(
        s.call(f, &[Value::I64(1)], &mut []),
        Err(Error::ArgumentType { index: 0, expected: ValType::I32, got: ValType::I64 })
    ));
    assert!(matches!(i.func(&s, "nope"), Err(Error::ExportNotFound { .. })));
}

#[test]
fn module_and_store_must_agree_on_fuel() {
    let bytes = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
    let metered = Module::new(&Config::new().with_fuel(true), &bytes).unwrap();
    let mut store = Store::new(Config::new());
    match Linker::new().instantiate(&mut store, &metered) {
        Err(e @ Error::ConfigMismatch { .. }) => assert!(e.to_string().contains("fuel")),
        other => panic!("expected a config mismatch, got {:?}", other.map(|_| ())),
    }
}

/// Tail calls (the tail-call proposal): a million tail-recursive steps, mutual recursion,
/// an indirect tail call and a tail call to a host function, under a call depth of 8 and a
/// 64-slot value stack: constant frame-stack and value-stack space.
#[test]
fn tail_calls_run_in_constant_space() {
    let config = Config::new().with_limits(64, 8);
    let bytes = wat::parse_str(
        r#"(module
             (import "env" "double" (func $double (param i64) (result i64)))
             (type $step (func (param i64 i64) (result i64)))
             (table funcref (elem $count))
             (func $count (export "count") (param $n i64) (param $acc i64) (result i64)
               (if (result i64) (i64.eqz (local.get $n))
                 (then (local.get $acc))
                 (else (return_call $count (i64.sub (local.get $n) (i64.const 1))
                                           (i64.add (local.get $acc) (i64.const 2))))))
             (func $even (export "even") (param $n i64) (result i32)
               (if (result i32) (i64.eqz (local.get $n)) (then (i32.const 1))
                 (else (return_call $odd (i64.sub (local.get $n) (i64.const 1))))))
             (func $odd (param $n i64) (result i32)
               (if (result i32) (i64.eqz (local.get $n)) (then (i32.const 0))
                 (else (return_call $even (i64.sub (local.get $n) (i64.const 1))))))
             (func (export "indirect") (param $n i64) (result i64)
               (return_call_indirect (type $step) (local.get $n) (i64.const 0) (i32.const 0)))
             (func (export "host") (param $x i64) (result i64)
               (return_call $double (i64.add (local.get $x) (i64.const 1)))))"#,
    )
    .unwrap();
    let module = Module::new(&config, &bytes).expect("valid");
    let mut store = Store::new(config.clone());
    let double = store.host_func(FuncType::new([ValType::I64], [ValType::I64]), |_, a, r| {
        let Value::I64(x) = a[0] else { unreachable!() };
        r[0] = Value::I64(2 * x);
        Ok(())
    });
    let mut linker = Linker::new();
    linker.define("env", "double", Extern::Func(double));
    let instance = linker.instantiate(&mut store, &module).expect("instantiates");
    let steps = 1_000_000;
    let count = [Value::I64(steps), Value::I64(0)];
    assert_eq!(call(&mut store, instance, "count", &count).unwrap(), [Value::I64(2 * steps)]);
    assert_eq!(call(&mut store, instance, "even", &[Value::I64(steps + 1)]).unwrap(), i32s(&[0]));
    let indirect = call(&mut store, instance, "indirect", &[Value::I64(steps)]).unwrap();
    assert_eq!(indirect, [Value::I64(2 * steps)]);
    assert_eq!(call(&mut store, instance, "host", &[Value::I64(20)]).unwrap(), [Value::I64(42)]);
    let stats = store.stats();
    assert_eq!(stats.peak_call_depth, 1, "a tail call pushes no frame");
    assert!(stats.peak_stack_slots <= 8, "{} slots", stats.peak_stack_slots);

    // A plain call of the same depth exhausts the 8 frames at once.
    let plain = wat::parse_str(
        r#"(module (func $f (export "f") (param i64) (result i64)
             (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 0))
               (else (call $f (i64.sub (local.get 0) (i64.const 1)))))))"#,
    )
    .unwrap();
    let module = Module::new(&config, &plain).unwrap();
    let instance = Linker::new().instantiate(&mut store, &module).unwrap();
    match call(&mut store, instance, "f", &[Value::I64(100)]) {
        Err(Error::Trap(t)) => assert_eq!(t.kind(), TrapKind::StackExhausted),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tail_calls_are_a_feature_the_config_may_leave_out() {
    let bytes = wat::parse_str(
        r#"(module (func $f (result i32) (return_call $f)) (func (result i64) (return_call $f)))"#,
    )
    .unwrap();
    let v2 = Config::new().with_features(tandem_interp::Features::WASM2);
    let one = wat::parse_str(r#"(module (func $f (result i32) (return_call $f)))"#).unwrap();
    match Module::new(&v2, &one) {
        Err(Error::Unsupported { feature, .. }) if !cfg!(feature = "validate") => {
            assert_eq!(feature, "tail-call")
        }
        // The validator sees it first.
        Err(Error::Invalid { message, .. }) if cfg!(feature = "validate") => {
            assert!(message.contains("tail calls"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Results that differ from the caller's are refused, validated or not.
    assert!(Module::new(&Config::new(), &bytes).is_err());
}
