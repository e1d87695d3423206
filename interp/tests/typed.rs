//! Typed host functions and typed calls: signatures derived from Rust types, values
//! converted both ways (NaN payloads and references included), host traps, the caller's
//! memory, and the errors of a signature that does not match.

use tandem_interp::{
    Caller, Config, Error, Extern, ExternRef, FuncRef, FuncType, Instance, Linker, Module, Store,
    Trap, TrapKind, ValType, Value,
};

fn module(config: &Config, wat: &str) -> Module {
    Module::new(config, &wat::parse_str(wat).expect("test module parses")).expect("valid module")
}

/// Instantiates `wat` in a new store with the definitions `define` adds to a linker.
fn instantiate(wat: &str, define: impl FnOnce(&mut Store, &mut Linker)) -> (Store, Instance) {
    let config = Config::new();
    let module = module(&config, wat);
    let mut store = Store::new(config);
    let mut linker = Linker::new();
    define(&mut store, &mut linker);
    let instance = linker.instantiate(&mut store, &module).expect("instantiates");
    (store, instance)
}

#[test]
fn no_parameters_with_and_without_caller() {
    let (mut store, instance) = instantiate(
        r#"(module
             (import "env" "seven" (func $seven (result i32)))
             (import "env" "nothing" (func $nothing))
             (func (export "run") (result i32)
               (call $nothing)
               (i32.add (call $seven) (call $seven))))"#,
        |store, linker| {
            linker.func_wrap(store, "env", "seven", || 7i32);
            let nothing = linker.func_wrap(store, "env", "nothing", |_: &mut Caller<'_>| {});
            assert_eq!(*store.func_type(nothing), FuncType::new([], []));
        },
    );
    let run = instance.typed_func::<(), i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 14);
}

#[test]
fn one_parameter_and_state_across_calls() {
    let mut total = 0i64;
    let (mut store, instance) = instantiate(
        r#"(module
             (import "env" "add" (func $add (param i64) (result i64)))
             (func (export "run") (param i64) (result i64) (call $add (local.get 0))))"#,
        |store, linker| {
            linker.func_wrap(store, "env", "add", move |x: i64| {
                total += x;
                total
            });
        },
    );
    let run = instance.typed_func::<i64, i64>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, 5).unwrap(), 5);
    assert_eq!(run.call(&mut store, -7).unwrap(), -2);
    assert_eq!(run.call(&mut store, i64::MAX).unwrap(), i64::MAX - 2);
}

#[test]
fn eight_parameters_in_order_and_tuple_results() {
    let (mut store, instance) = instantiate(
        r#"(module
             (import "env" "digits" (func $digits
               (param i32 i32 i32 i32 i32 i32 i32 i32) (result i64 i32)))
             (import "env" "mixed" (func $mixed
               (param i32 i64 f32 f64) (result f64 f32 i64 i32)))
             (func (export "digits") (result i64 i32)
               (call $digits (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
                             (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8)))
             (func (export "mixed") (param i32 i64 f32 f64) (result f64 f32 i64 i32)
               (call $mixed (local.get 0) (local.get 1) (local.get 2) (local.get 3))))"#,
        |store, linker| {
            // Each argument a digit in its own place: any reordering shows.
            let digits = |_: &mut Caller<'_>,
                          a: i32,
                          b: i32,
                          c: i32,
                          d: i32,
                          e: i32,
                          f: i32,
                          g: i32,
                          h: i32| {
                let n = [a, b, c, d, e, f, g, h].iter().fold(0i64, |n, &x| n * 10 + i64::from(x));
                (n, a + h)
            };
            let digits = linker.func_wrap(store, "env", "digits", digits);
            assert_eq!(
                store.func_type(digits).to_string(),
                "(i32, i32, i32, i32, i32, i32, i32, i32) -> (i64, i32)"
            );
            let mixed = |a: i32, b: i64, c: f32, d: f64| (d * 2.0, c + 1.0, b - 1, a ^ 1);
            linker.func_wrap(store, "env", "mixed", mixed);
        },
    );
    let digits = instance.typed_func::<(), (i64, i32)>(&store, "digits").unwrap();
    assert_eq!(digits.call(&mut store, ()).unwrap(), (12_345_678, 9));
    let mixed = instance.typed_func::<(i32, i64, f32, f64), (f64, f32, i64, i32)>(&store, "mixed");
    let mixed = mixed.unwrap();
    assert_eq!(mixed.call(&mut store, (4, 10, 0.5, 1.25)).unwrap(), (2.5, 1.5, 9, 5));
}

#[test]
fn sixteen_parameters() {
    type Sixteen = (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32);
    let mut store = Store::new(Config::new());
    #[rustfmt::skip]
    let sum = store.typed_host_func(
        |a: i32, b: i32, c: i32, d: i32, e: i32, f: i32, g: i32, h: i32,
         i: i32, j: i32, k: i32, l: i32, m: i32, n: i32, o: i32, p: i32| {
            [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p].iter().fold(0, |s, x| s * 2 + x)
        },
    );
    let sum = store.typed_func::<Sixteen, i32>(sum).unwrap();
    let args = (1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1);
    assert_eq!(sum.call(&mut store, args).unwrap(), (1 << 15) + 3);
}

#[test]
fn a_host_trap_reaches_the_embedder_with_its_message() {
    let (mut store, instance) = instantiate(
        r#"(module
             (import "env" "check" (func $check (param i32) (result i32)))
             (func (export "run") (param i32) (result i32)
               (i32.add (call $check (local.get 0)) (i32.const 1))))"#,
        |store, linker| {
            linker.func_wrap(store, "env", "check", |_: &mut Caller<'_>, x: i32| {
                if x < 0 { Err(Trap::host(format!("negative: {x}"))) } else { Ok(x) }
            });
        },
    );
    let run = instance.typed_func::<i32, i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, 41).unwrap(), 42);
    match run.call(&mut store, -3) {
        Err(Error::Trap(trap)) => {
            assert_eq!(trap.kind(), TrapKind::Host);
            assert_eq!(trap.message(), "negative: -3");
        }
        other => panic!("expected a host trap, got {other:?}"),
    }
    // The store is usable after the trap.
    assert_eq!(run.call(&mut store, 0).unwrap(), 1);
}

#[test]
fn reads_and_writes_the_callers_memory() {
    let (mut store, instance) = instantiate(
        r#"(module
             (import "env" "upper" (func $upper (param i32 i32) (result i32)))
             (memory (export "memory") 1)
             (data (i32.const 16) "hello, wasm")
             (func (export "run") (result i32) (call $upper (i32.const 16) (i32.const 11))))"#,
        |store, linker| {
            // Upper-cases `len` bytes at `ptr` in place; returns how many it changed.
            let upper = |caller: &mut Caller<'_>, ptr: i32, len: i32| -> Result<i32, Trap> {
                let memory = caller.memory().ok_or_else(|| Trap::host("no memory"))?;
                let (ptr, len) = (ptr as u32 as usize, len as u32 as usize);
                let bytes = memory
                    .get_mut(ptr..ptr.saturating_add(len))
                    .ok_or_else(|| Trap::host("out of bounds"))?;
                let changed = bytes.iter().filter(|b| b.is_ascii_lowercase()).count();
                bytes.make_ascii_uppercase();
                Ok(changed as i32)
            };
            linker.func_wrap(store, "env", "upper", upper);
        },
    );
    let run = instance.typed_func::<(), i32>(&store, "run").unwrap();
    assert_eq!(run.call(&mut store, ()).unwrap(), 9);
    let memory = instance.memory(&store, "memory").unwrap();
    assert_eq!(&store.memory_data(memory)[16..27], b"HELLO, WASM");
    assert_eq!(run.call(&mut store, ()).unwrap(), 0);
}

#[test]
fn called_from_the_embedder_a_host_function_sees_no_memory() {
    let mut store = Store::new(Config::new());
    let f = store.typed_host_func(|caller: &mut Caller<'_>| caller.memory().is_some() as i32);
    let f = store.typed_func::<(), i32>(f).unwrap();
    assert_eq!(f.call(&mut store, ()).unwrap(), 0);
}

#[test]
fn nan_payloads_survive_host_functions_and_typed_calls() {
    // Signalling NaNs with payloads, and quiet ones with a sign and payload: a conversion
    // through arithmetic or a float register that quiets NaNs would change these bits.
    let f32s = [0x7fa0_0001u32, 0xffc0_1234, 0x7f80_0001, 0x8000_0000];
    let f64s = [0x7ff4_0000_0000_0001u64, 0xfff8_dead_beef_0001, 0x7ff0_0000_0000_0001, 1];
    let (mut store, instance) = instantiate(
        r#"(module
             (import "env" "swap" (func $swap (param f32 f64) (result f64 f32)))
             (func (export "run") (param f32 f64) (result f64 f32)
               (call $swap (local.get 0) (local.get 1)))
             (func (export "consts") (result f64 f32)
               (call $swap (f32.const nan:0x200001) (f64.const -nan:0x4000000000001))))"#,
        |store, linker| {
            linker.func_wrap(store, "env", "swap", |x: f32, y: f64| (y, x));
        },
    );
    let run = instance.typed_func::<(f32, f64), (f64, f32)>(&store, "run").unwrap();
    for (x, y) in f32s.into_iter().zip(f64s) {
        let (y2, x2) = run.call(&mut store, (f32::from_bits(x), f64::from_bits(y))).unwrap();
        assert_eq!((x2.to_bits(), y2.to_bits()), (x, y), "{x:#x} {y:#x}");
    }
    let consts = instance.typed_func::<(), (f64, f32)>(&store, "consts").unwrap();
    let (y, x) = consts.call(&mut store, ()).unwrap();
    assert_eq!((x.to_bits(), y.to_bits()), (0x7fa0_0001, 0xfff4_0000_0000_0001));
}

#[test]
fn references_cross_both_ways() {
    let (mut store, instance) = instantiate(
        r#"(module
             (import "env" "ext" (func $ext (param externref) (result externref)))
             (import "env" "func" (func $func (param funcref) (result funcref)))
             (type $answer (func (result i32)))
             (table 1 funcref)
             (func $forty_two (type $answer) (i32.const 42))
             (elem declare func $forty_two)
             (func (export "ext") (param externref) (result externref)
               (call $ext (local.get 0)))
             (func (export "get") (result funcref) (call $func (ref.func $forty_two)))
             (func (export "call") (param funcref) (result i32)
               (table.set (i32.const 0) (call $func (local.get 0)))
               (call_indirect (type $answer) (i32.const 0))))"#,
        |store, linker| {
            linker.func_wrap(store, "env", "ext", |r: Option<ExternRef>| r);
            linker.func_wrap(store, "env", "func", |r: Option<FuncRef>| r);
        },
    );
    let ext = instance.typed_func::<Option<ExternRef>, Option<ExternRef>>(&store, "ext").unwrap();
    for r in [None, Some(ExternRef(0)), Some(ExternRef(7)), Some(ExternRef(u32::MAX))] {
        assert_eq!(ext.call(&mut store, r).unwrap(), r);
    }
    let get = instance.typed_func::<(), Option<FuncRef>>(&store, "get").unwrap();
    let forty_two = get.call(&mut store, ()).unwrap();
    assert!(forty_two.is_some());
    let call = instance.typed_func::<Option<FuncRef>, i32>(&store, "call").unwrap();
    assert_eq!(call.call(&mut store, forty_two).unwrap(), 42);
    match call.call(&mut store, None) {
        Err(Error::Trap(trap)) => assert_eq!(trap.kind(), TrapKind::UninitializedElement),
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[test]
fn typed_and_untyped_calls_agree() {
    let (mut store, instance) = instantiate(
        r#"(module (func (export "neg") (param i64) (result i64)
             (i64.sub (i64.const 0) (local.get 0))))"#,
        |_, _| {},
    );
    let neg = instance.typed_func::<i64, i64>(&store, "neg").unwrap();
    let mut results = [Value::I64(0)];
    store.call(neg.func(), &[Value::I64(5)], &mut results).unwrap();
    assert_eq!(results, [Value::I64(neg.call(&mut store, 5).unwrap())]);
    // A typed host function is an ordinary one to the untyped API, which checks types.
    let double = store.typed_host_func(|x: i32| x * 2);
    let mut results = [Value::I32(0)];
    store.call(double, &[Value::I32(21)], &mut results).unwrap();
    assert_eq!(results, [Value::I32(42)]);
    assert_eq!(
        store.call(double, &[Value::I64(21)], &mut results),
        Err(Error::ArgumentType { index: 0, expected: ValType::I32, got: ValType::I64 })
    );
}

#[test]
fn typed_func_checks_the_signature_once() {
    let (store, instance) = instantiate(
        r#"(module
             (memory (export "memory") 1)
             (func (export "f") (param i32 f64) (result i64) (i64.const 0)))"#,
        |_, _| {},
    );
    assert!(instance.typed_func::<(i32, f64), i64>(&store, "f").is_ok());

    let wrong_params = instance.typed_func::<(i32, f32), i64>(&store, "f").unwrap_err();
    assert_eq!(
        wrong_params,
        Error::SignatureMismatch {
            expected: Box::new(FuncType::new([ValType::I32, ValType::F32], [ValType::I64])),
            found: Box::new(FuncType::new([ValType::I32, ValType::F64], [ValType::I64])),
        }
    );
    assert_eq!(
        wrong_params.to_string(),
        "signature mismatch: the Rust types give (i32, f32) -> (i64), \
         the function is (i32, f64) -> (i64)"
    );
    let too_few = instance.typed_func::<i32, i64>(&store, "f").unwrap_err();
    assert!(matches!(too_few, Error::SignatureMismatch { .. }), "{too_few}");

    let wrong_results = instance.typed_func::<(i32, f64), (i64, i32)>(&store, "f").unwrap_err();
    assert_eq!(
        wrong_results.to_string(),
        "signature mismatch: the Rust types give (i32, f64) -> (i64, i32), \
         the function is (i32, f64) -> (i64)"
    );
    let no_results = instance.typed_func::<(i32, f64), ()>(&store, "f").unwrap_err();
    assert!(
        no_results
            .to_string()
            .ends_with("give (i32, f64) -> (), the function is (i32, f64) -> (i64)")
    );

    assert!(matches!(
        instance.typed_func::<(), ()>(&store, "memory"),
        Err(Error::ExportKind { found: tandem_interp::ExternKind::Memory, .. })
    ));
    assert!(matches!(
        instance.typed_func::<(), ()>(&store, "missing"),
        Err(Error::ExportNotFound { .. })
    ));

    // A handle another store does not have.
    let empty = Store::new(Config::new());
    let f = instance.func(&store, "f").unwrap();
    assert!(matches!(empty.typed_func::<(i32, f64), i64>(f), Err(Error::ForeignHandle { .. })));
}

#[test]
fn linking_checks_a_typed_host_functions_derived_signature() {
    let config = Config::new();
    let module = module(&config, r#"(module (import "env" "f" (func (param i32) (result i32))))"#);
    let mut store = Store::new(config);
    let mut linker = Linker::new();
    linker.func_wrap(&mut store, "env", "f", |x: i64| x);
    match linker.instantiate(&mut store, &module) {
        Err(Error::IncompatibleImport { module, name, .. }) => {
            assert_eq!((module.as_str(), name.as_str()), ("env", "f"));
        }
        other => panic!("expected an incompatible import, got {other:?}"),
    }
    // The same function with the import's signature links.
    linker.func_wrap(&mut store, "env", "f", |x: i32| x);
    assert!(linker.instantiate(&mut store, &module).is_ok());
}

#[test]
fn a_typed_host_function_is_an_extern_like_any_other() {
    let mut store = Store::new(Config::new());
    let f = store.typed_host_func(|x: f64| -> Result<f64, Trap> { Ok(x.sqrt()) });
    let mut linker = Linker::new();
    linker.define("env", "sqrt", Extern::Func(f));
    let (mut store, instance) = {
        let config = Config::new();
        let module = module(
            &config,
            r#"(module (import "env" "sqrt" (func $sqrt (param f64) (result f64)))
                 (export "sqrt" (func $sqrt)))"#,
        );
        let instance = linker.instantiate(&mut store, &module).unwrap();
        (store, instance)
    };
    let sqrt = instance.typed_func::<f64, f64>(&store, "sqrt").unwrap();
    assert_eq!(sqrt.func(), f);
    assert_eq!(sqrt.call(&mut store, 2.25).unwrap(), 1.5);
    assert!(format!("{sqrt:?}").contains("TypedFunc"));
}
