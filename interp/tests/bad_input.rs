//! Bad input never panics: truncated, garbled and invalid modules are errors, with
//! or without the `validate` feature. CI runs this file both ways.

use tandem_interp::{Config, Error, Features, Linker, Module, Store, Value};

/// Valid modules exercising most of the feature set, as mutation seeds.
const SEEDS: &[&str] = &[
    r#"(module
        (type $t (func (param i32) (result i32)))
        (memory 1 2)
        (table 4 funcref)
        (global $g (mut i32) (i32.const 7))
        (elem (i32.const 0) $inc $dbl)
        (data (i32.const 16) "hello")
        (func $inc (type $t) (i32.add (local.get 0) (i32.const 1)))
        (func $dbl (type $t) (i32.mul (local.get 0) (i32.const 2)))
        (func (export "run") (param i32) (result i32) (local i64 f64)
          (block $b (result i32)
            (loop $l
              (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
              (br_if $l (i32.gt_s (local.get 0) (i32.const 10))))
            (i32.store8 (i32.const 3) (local.get 0))
            (drop (memory.grow (i32.const 1)))
            (global.set $g (call_indirect (type $t) (local.get 0) (i32.and (local.get 0) (i32.const 1))))
            (br_table $b $b (i32.load (i32.const 16)) (local.get 0)))))"#,
    r#"(module
        (memory 1)
        (data $d "abcdef")
        (elem $e func $f)
        (table $tab 2 funcref)
        (func $f (result i32 i32) (i32.const 1) (i32.const 2))
        (func (export "bulk") (param i32) (result f64)
          (memory.init $d (i32.const 0) (i32.const 1) (i32.const 3))
          (memory.copy (i32.const 10) (i32.const 0) (local.get 0))
          (memory.fill (i32.const 20) (i32.const 255) (i32.const 4))
          (table.init $tab $e (i32.const 0) (i32.const 0) (i32.const 1))
          (data.drop $d)
          (drop (table.grow $tab (ref.null func) (i32.const 2)))
          (f64.add (f64.convert_i32_s (local.get 0)) (f64.const 0.5)))
        (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0))))"#,
];

/// Structurally broken modules: each must be rejected even without validation.
const INVALID: &[&str] = &[
    r#"(module (func (result i32) i32.add))"#,
    r#"(module (func local.get 5 drop))"#,
    r#"(module (func br 3))"#,
    r#"(module (func call 9))"#,
    r#"(module (func (result i32)))"#,
    r#"(module (func i32.const 0 i32.const 0))"#,
    r#"(module (func i32.const 0 i32.load drop))"#,
    r#"(module (func global.get 3 drop))"#,
    r#"(module (type (func)) (func i32.const 0 call_indirect (type 0)))"#,
    r#"(module (func i32.const 0 table.get 0 drop))"#,
    r#"(module (func (block (param i32))))"#,
    r#"(module (func (if (result i32) (i32.const 1) (then (i32.const 2)))))"#,
    r#"(module (func (else)))"#,
    r#"(module (func $f) (export "x" (func 7)))"#,
    r#"(module (func $f (param i32)) (start $f))"#,
];

/// Fuel is always on, so a mutation that makes a loop infinite still ends.
fn configs() -> [Config; 2] {
    [Config::new().with_fuel(true), Config::new().with_fuel(true).with_features(Features::WASM1)]
}

/// Decodes, instantiates and runs every export with zero arguments under fuel.
/// Whatever happens must be an `Err`, not a panic.
fn exercise(config: &Config, bytes: &[u8]) {
    let Ok(module) = Module::new(config, bytes) else { return };
    let mut store = Store::new(config.clone().with_limits(4096, 64));
    store.set_fuel(10_000);
    let Ok(instance) = Linker::new().instantiate(&mut store, &module) else { return };
    let funcs: Vec<_> = instance
        .exports(&store)
        .filter_map(|(_, e)| match e {
            tandem_interp::Extern::Func(f) => Some(f),
            _ => None,
        })
        .collect();
    for f in funcs {
        let ty = store.func_type(f).clone();
        let args: Vec<Value> = ty.params().iter().map(|t| Value::default_for(*t)).collect();
        let mut results: Vec<Value> = ty.results().iter().map(|t| Value::default_for(*t)).collect();
        let _ = store.call(f, &args, &mut results);
    }
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

#[test]
fn seeds_are_valid_and_run() {
    for seed in SEEDS {
        let bytes = wat::parse_str(seed).unwrap();
        Module::new(&Config::new(), &bytes).expect("seed module is valid");
        exercise(&configs()[0], &bytes);
    }
}

#[test]
fn every_truncation_is_rejected_without_panic() {
    for seed in SEEDS {
        let bytes = wat::parse_str(seed).unwrap();
        for len in 0..bytes.len() {
            // A cut at a section boundary can leave a valid module; it must run.
            exercise(&configs()[0], &bytes[..len]);
            // A cut inside the last section never can.
            if len + 8 > bytes.len() {
                let r = Module::new(&Config::new(), &bytes[..len]);
                assert!(r.is_err(), "truncation to {len} bytes was accepted");
            }
        }
    }
}

#[test]
fn garbage_is_rejected_without_panic() {
    let mut rng = Rng(0x5eed);
    for _ in 0..2000 {
        let len = (rng.next() % 200) as usize;
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if rng.next().is_multiple_of(2) && bytes.len() >= 8 {
            bytes[..8].copy_from_slice(b"\0asm\x01\0\0\0");
        }
        for config in configs() {
            exercise(&config, &bytes);
        }
    }
}

#[test]
fn mutated_modules_never_panic() {
    let mut rng = Rng(0xbad_1dea);
    for seed in SEEDS {
        let bytes = wat::parse_str(seed).unwrap();
        for _ in 0..3000 {
            let mut m = bytes.clone();
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() as usize) % m.len();
                m[at] = rng.next() as u8;
            }
            for config in configs() {
                exercise(&config, &m);
            }
        }
    }
}

#[test]
fn structurally_invalid_modules_are_errors() {
    for (i, text) in INVALID.iter().enumerate() {
        let bytes = wat::parse_str(text).unwrap();
        match Module::new(&Config::new(), &bytes) {
            Err(e) => assert!(!e.to_string().is_empty()),
            Ok(_) => panic!("invalid module #{i} was accepted: {text}"),
        }
    }
}

/// Type errors are invisible to the translator when validation is off; such a
/// module must still run without panicking (its results are meaningless).
#[test]
fn type_confused_modules_do_not_panic() {
    let text = r#"(module (memory 1) (table 1 funcref)
        (func (export "f") (result i32) f64.const 1 i64.const 2 i32.add)
        (func (export "g") (result i32) ref.null func i32.load)
        (func (export "h") i64.const -1 f32.const 0 table.set 0)
        (func (export "k") (result i32) i64.const 99 call_indirect (result i32))
        ;; a number stored into a funcref table must not be trusted as an address
        (func (export "m") i32.const 0 i64.const 999 table.set 0 i32.const 0 call_indirect))"#;
    let bytes = wat::parse_str(text).unwrap();
    let r = Module::new(&Config::new(), &bytes);
    if cfg!(feature = "validate") {
        assert!(matches!(r, Err(Error::Invalid { .. })), "validator must reject: {r:?}");
    } else {
        exercise(&configs()[0], &bytes);
    }
}
