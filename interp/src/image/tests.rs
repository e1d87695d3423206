//! Images: written and read back to the same module, refused when made for another core or
//! config or damaged, and never trusted: any change the checksum hides is refused or runs
//! safely.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::*;
use crate::{Error, Features, Linker, Module, Store, Value};

/// Modules that reach every part of an image: imports of every kind, tables and segments
/// of every mode, globals with extended constants, several memories with 1-byte pages, a
/// start function, tail calls, bulk operations.
const MODULES: &[&str] = &[
    r#"(module
        (import "env" "f" (func $f (param i32) (result i32)))
        (import "env" "t" (table 2 funcref))
        (import "env" "g" (global $g i32))
        (memory $m 1 2)
        (memory $small 100 (pagesize 1))
        (table $own 3 10 funcref)
        (global $h (mut i64) (i64.const -5))
        (global $x i32 (i32.add (global.get $g) (i32.const 7)))
        (elem (table $own) (i32.const 0) func $sq $rec)
        (elem $passive funcref (ref.func $sq) (ref.null func))
        (elem declare func $rec)
        (data (memory $m) (i32.const 16) "hello")
        (data $later "world")
        (data (memory $small) (i32.const 90) "tail")
        (func $sq (param i32) (result i32) (i32.mul (local.get 0) (local.get 0)))
        (func $rec (param i32 i32) (result i32)
          (if (result i32) (i32.eqz (local.get 0)) (then (local.get 1))
            (else (return_call $rec (i32.sub (local.get 0) (i32.const 1))
                                    (i32.add (local.get 1) (local.get 0))))))
        (func $init (global.set $h (i64.const 42)))
        (start $init)
        (func (export "run") (param i32) (result i32)
          (memory.init $later (i32.const 32) (i32.const 0) (i32.const 5))
          (memory.copy $small $m (i32.const 0) (i32.const 16) (i32.const 5))
          (table.init $own $passive (i32.const 1) (i32.const 0) (i32.const 1))
          (i32.add
            (i32.add (call_indirect $own (param i32) (result i32) (local.get 0) (i32.const 1))
                     (call $rec (local.get 0) (i32.const 0)))
            (i32.add (i32.load8_u $small (i32.const 92)) (global.get $x))))
        (func (export "h") (result i64) (global.get $h))
        (export "mem" (memory $m)))"#,
    r#"(module (func (export "run") (param i32) (result i32)
        (local i64 f64)
        (block $a
          (block $b (br_table $a $b $a (i32.and (local.get 0) (i32.const 3))))
          (return (i32.const 1)))
        (i32.const 2)))"#,
];

fn config() -> Config {
    Config::new()
}

fn wasm(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("test text parses")
}

fn image_of(config: &Config, text: &str) -> Vec<u8> {
    let module = Module::new(config, &wasm(text)).expect("module");
    module.to_image(config).expect("image")
}

/// `run(7)` and `h()` where there are such exports, on a store linking what `MODULES[0]`
/// imports.
fn run(module: &Module, config: &Config) -> Result<Vec<Value>, Error> {
    let mut store = Store::new(config.clone());
    store.set_fuel(10_000);
    let mut linker = Linker::new();
    linker.func_wrap(&mut store, "env", "f", |x: i32| x + 1);
    let table = store.new_table(
        crate::TableType { elem: crate::ValType::FuncRef, initial: 2, maximum: None },
        Value::FuncRef(None),
    )?;
    linker.define("env", "t", crate::Extern::Table(table));
    let global = store.new_global(
        crate::GlobalType { content: crate::ValType::I32, mutable: false },
        Value::I32(100),
    )?;
    linker.define("env", "g", crate::Extern::Global(global));
    let instance = linker.instantiate(&mut store, module)?;
    let mut results = Vec::new();
    if let Ok(f) = instance.func(&store, "run") {
        let mut out = [Value::I32(0)];
        store.call(f, &[Value::I32(7)], &mut out)?;
        results.extend(out);
    }
    if let Ok(f) = instance.func(&store, "h") {
        let mut out = [Value::I64(0)];
        store.call(f, &[], &mut out)?;
        results.extend(out);
    }
    Ok(results)
}

/// Writes the header's length and checksum for `image`'s body as it now is.
fn reseal(image: &mut [u8]) {
    let body_len = (image.len() - HEADER_BYTES) as u32;
    let checksum = image_checksum(&image[HEADER_BYTES..]);
    image[24..28].copy_from_slice(&body_len.to_le_bytes());
    image[28..32].copy_from_slice(&checksum.to_le_bytes());
}

#[test]
fn an_image_reads_back_to_the_module_it_was_written_from() {
    for fuel in [false, true] {
        let config = config().with_fuel(fuel);
        for (i, text) in MODULES.iter().enumerate() {
            let module = Module::new(&config, &wasm(text)).expect("module");
            let image = module.to_image(&config).expect("image");
            assert_eq!(image[..4], MAGIC);
            let back = Module::from_image(&config, &image).expect("the image reads");
            assert_eq!(
                back.to_image(&config).expect("image"),
                image,
                "module {i}: every part kept"
            );
            assert_eq!(run(&back, &config).ok(), run(&module, &config).ok(), "module {i}");
            assert!(run(&back, &config).is_ok(), "module {i} runs");
        }
    }
}

#[test]
fn real_programs_survive_the_trip() {
    let config = config();
    let apps: [(&str, &[u8]); 4] = [
        ("json", include_bytes!("../../../suites/apps/json.wasm")),
        ("lz", include_bytes!("../../../suites/apps/lz.wasm")),
        ("markdown", include_bytes!("../../../suites/apps/markdown.wasm")),
        ("stackvm", include_bytes!("../../../suites/apps/stackvm.wasm")),
    ];
    for (app, bytes) in apps {
        let module = Module::new(&config, bytes).expect("module");
        let image = module.to_image(&config).expect("image");
        let back = Module::from_image(&config, &image).expect("reads");
        assert_eq!(back.to_image(&config).expect("image"), image, "{app}");
        assert_eq!(back.inner.code, module.inner.code, "{app}");
        assert_eq!(back.inner.headers, module.inner.headers, "{app}");
    }
}

#[test]
fn an_image_for_another_core_or_config_is_refused_naming_what_differs() {
    let config = config();
    let image = image_of(&config, MODULES[1]);
    let err = Module::from_image(&config.clone().with_fuel(true), &image).expect_err("fuel");
    assert_eq!(err.to_string(), "image made for another fuel metering: off; here: on");
    let err = Module::from_image(&config.clone().with_features(Features::WASM2), &image)
        .expect_err("features");
    assert!(matches!(err, Error::ImageMismatch { what: "features", .. }), "{err}");
    assert!(err.to_string().contains("tail-call"), "{err}");
    let mut other_core = image.clone();
    other_core[8] ^= 1; // the instruction set's hash
    let err = Module::from_image(&config, &other_core).expect_err("core");
    assert!(matches!(err, Error::ImageMismatch { what: "core", .. }), "{err}");
    let mut other_format = image.clone();
    other_format[4] = (FORMAT_VERSION + 1) as u8;
    let err = Module::from_image(&config, &other_format).expect_err("format");
    assert!(err.to_string().contains("another image format version"), "{err}");
    // A module the config does not meter cannot be written as a metered one.
    let module = Module::new(&config, &wasm(MODULES[1])).expect("module");
    assert!(matches!(
        module.to_image(&config.with_fuel(true)),
        Err(Error::ConfigMismatch { what: "fuel metering" })
    ));
}

#[test]
fn damaged_or_cut_images_are_refused() {
    let config = config();
    let image = image_of(&config, MODULES[0]);
    for at in 0..image.len() {
        let mut damaged = image.clone();
        damaged[at] ^= 0x20;
        assert!(Module::from_image(&config, &damaged).is_err(), "byte {at} changed");
    }
    for len in [0, 3, HEADER_BYTES - 1, HEADER_BYTES, image.len() - 1] {
        let err = Module::from_image(&config, &image[..len]).expect_err("cut");
        assert!(matches!(err, Error::BadImage { .. }), "{len}: {err}");
    }
    let err = Module::from_image(&config, b"\0asm\x01\0\0\0").expect_err("wasm");
    assert!(err.to_string().contains("shorter than an image's header"), "{err}");
    let mut not_image = image.clone();
    not_image[0] = b'X';
    assert!(
        Module::from_image(&config, &not_image).expect_err("magic").to_string().contains("TNDM")
    );
}

/// Changes the checksum cannot see (the image resealed after each): every one is refused,
/// or gives a module that instantiates and runs without a panic, whatever it computes.
#[test]
fn a_resealed_change_is_refused_or_runs_safely() {
    let config = config().with_fuel(true).with_limits(4096, 64);
    let image = image_of(&config, MODULES[0]);
    let (mut refused, mut ran) = (0, 0);
    for at in HEADER_BYTES..image.len() {
        for flip in [0x01, 0xff] {
            let mut changed = image.clone();
            changed[at] ^= flip;
            reseal(&mut changed);
            match Module::from_image(&config, &changed) {
                Err(Error::BadImage { .. } | Error::OutOfMemory { .. }) => refused += 1,
                Err(other) => panic!("byte {at} ^ {flip:#x}: {other}"),
                Ok(module) => {
                    let _ = run(&module, &config);
                    ran += 1;
                }
            }
        }
    }
    assert!(refused > 0 && ran > 0, "{refused} refused, {ran} ran");
}

#[test]
fn the_instruction_set_hash_covers_every_kind() {
    assert_eq!(Instr::LAYOUT.matches(';').count(), Instr::KINDS);
    assert!(
        Instr::LAYOUT.starts_with("Unreachable;ConsumeFuel { amount : u32 }"),
        "{}",
        &Instr::LAYOUT[..60]
    );
    assert_ne!(Fingerprint::of(&config()).instruction_set, 0);
}

/// A store charges an image's module for the same parts as the module loaded from wasm,
/// sized exactly where the decoder's vectors keep their growth's slack, refuses one over
/// its heap limit, and a refused image leaves its account as it was.
#[test]
fn a_store_charges_an_image_as_it_charges_the_module() {
    for text in MODULES {
        let config = config().with_fuel(true);
        let image = image_of(&config, text);
        let mut from_wasm = Store::new(config.clone());
        let before = from_wasm.heap_stats().in_use;
        from_wasm.load_module(&wasm(text)).expect("module");
        let module_bytes = from_wasm.heap_stats().in_use - before;
        let mut from_image = Store::new(config.clone());
        from_image.load_image(&image).expect("image");
        let image_module_bytes = from_image.heap_stats().in_use - before;
        assert!(image_module_bytes <= module_bytes, "{image_module_bytes} > {module_bytes}");
        // The code, the largest part, is charged in both: at least 12 bytes per instruction.
        let code = Module::from_image(&config, &image).expect("image").inner.code.len() as u64;
        assert!(image_module_bytes > code * 12, "{image_module_bytes} for {code} instructions");
        let module_bytes = image_module_bytes;

        let limited = config.clone().with_heap_limit(Some(before + module_bytes - 1));
        let mut tight = Store::new(limited);
        let err = tight.load_image(&image).expect_err("over the limit");
        assert!(matches!(err, Error::HeapExhausted { .. }), "{err}");
        assert_eq!(tight.heap_stats().in_use, before, "a refused image is given back");
        let mut exact = Store::new(config.with_heap_limit(Some(before + module_bytes)));
        assert!(exact.load_image(&image).is_ok(), "fits exactly");
    }
}

/// `bytes` copied to a leaked buffer that starts at an 8-byte boundary, then `skew` bytes
/// on: an image placed in flash (the tests' stand-in for `include_bytes!` in an aligned
/// static).
fn in_flash(bytes: &[u8], skew: usize) -> &'static [u8] {
    let all = alloc::vec![0u8; bytes.len() + skew + 7].leak();
    let start = all.as_ptr().align_offset(8) + skew;
    all[start..start + bytes.len()].copy_from_slice(bytes);
    &all[start..start + bytes.len()]
}

/// An image read in place runs as the image read into RAM does, its large parts (code,
/// headers, constants, data) the image's own bytes; the store charges all but those; out of
/// place it is refused.
#[test]
fn an_image_in_flash_runs_with_its_code_read_in_place() {
    let config = config().with_fuel(true);
    for text in MODULES {
        let image = image_of(&config, text);
        let flash = in_flash(&image, 0);
        let in_place = Module::from_static_image(&config, flash).expect("reads in place");
        let copied = Module::from_image(&config, &image).expect("reads");
        use crate::module::{Bytes, Part};
        let m = &in_place.inner;
        let lent = |range: core::ops::Range<*const u8>| {
            let flash = flash.as_ptr_range();
            flash.start <= range.start && range.end <= flash.end
        };
        let Part::Static(code) = m.code else { panic!("code copied") };
        let Part::Static(headers) = m.headers else { panic!("headers copied") };
        let Part::Static(consts) = m.consts else { panic!("constants copied") };
        let bytes_of = |start: *const u8, len: usize| start..start.wrapping_add(len);
        assert!(lent(bytes_of(code.as_ptr().cast(), size_of_val(code))));
        assert!(lent(bytes_of(headers.as_ptr().cast(), size_of_val(headers))));
        assert!(lent(bytes_of(consts.as_ptr().cast(), size_of_val(consts))));
        for data in &m.datas {
            let Bytes::Static(bytes) = data.bytes else { panic!("data copied") };
            assert!(lent(bytes.as_ptr_range()));
        }
        let c = &copied.inner;
        assert_eq!((&m.code, &m.headers, &m.consts), (&c.code, &c.headers, &c.consts));
        assert_eq!(m.datas, c.datas);
        assert_eq!(run(&in_place, &config).ok(), run(&copied, &config).ok());
        assert!(run(&in_place, &config).is_ok());

        let mut store = Store::new(config.clone());
        let before = store.heap_stats().in_use;
        store.load_image(&image).expect("image");
        let copied_bytes = store.heap_stats().in_use - before;
        let mut store = Store::new(config.clone());
        store.load_static_image(flash).expect("image");
        let in_place_bytes = store.heap_stats().in_use - before;
        let lent_bytes = c.code.len() * crate::ir::INSTR_BYTES
            + c.headers.len() * super::HEADER_ENTRY_BYTES
            + c.consts.len() * 8
            + c.datas.iter().map(|d| 8 + d.bytes.len()).sum::<usize>();
        assert_eq!(in_place_bytes, copied_bytes - lent_bytes as u64, "all but those charged");

        for skew in 1..8 {
            let err =
                Module::from_static_image(&config, in_flash(&image, skew)).expect_err("misaligned");
            assert!(err.to_string().contains("8-byte boundary"), "{err}");
        }
    }
}

/// An image says what it was made for: a store made with that config reads it.
#[test]
fn an_image_names_the_config_it_was_made_for() {
    for config in [config(), config().with_fuel(true), Config::new().with_features(Features::WASM1)]
    {
        let image = image_of(&config, MODULES[1]);
        let made_for = Module::image_config(&image).expect("a whole image");
        assert_eq!((made_for.features, made_for.fuel), (config.features, config.fuel));
        assert!(Module::from_image(&made_for, &image).is_ok());
    }
    let mut damaged = image_of(&config(), MODULES[1]);
    *damaged.last_mut().expect("bytes") ^= 1;
    let err = Module::image_config(&damaged).expect_err("damaged");
    assert!(err.to_string().contains("checksum"), "{err}");
    let mut other_core = image_of(&config(), MODULES[1]);
    other_core[8] ^= 1;
    let err = Module::image_config(&other_core).expect_err("another core");
    assert!(matches!(err, Error::ImageMismatch { what: "core", .. }), "{err}");
    assert!(Module::image_config(b"\0asm\x01\0\0\0").is_err());
}

/// A function whose code does not start by setting its frame up (its locals zeroed, its
/// constants copied in) would run on whatever the slots held: the reader refuses it, a
/// set-up of too few slots and one with no set-up at all alike.
#[test]
fn an_image_whose_function_skips_its_frame_set_up_is_refused() {
    let config = config();
    let text = r#"(module (func (export "run") (param i32) (result i32) (local i32 i32)
        (local.set 1 (i32.add (local.get 1) (local.get 0)))
        (i32.add (local.get 1) (local.get 2))))"#;
    let image = image_of(&config, text);
    let set_up = Instr::ZeroLocals { first: 1, count: 2 }.encode();
    let at = image.windows(set_up.len()).position(|w| w == set_up).expect("set-up encoded");
    let short = Instr::ZeroLocals { first: 1, count: 1 }.encode();
    let none = Instr::Copy { dst: 1, src: 1 }.encode();
    for changed_to in [short, none] {
        let mut changed = image.clone();
        changed[at..at + changed_to.len()].copy_from_slice(&changed_to);
        reseal(&mut changed);
        match Module::from_image(&config, &changed) {
            Err(Error::BadImage { reason, .. }) => {
                assert_eq!(reason, "a function whose code does not set its frame up first")
            }
            other => panic!("{other:?}"),
        }
    }
    let module = Module::from_image(&config, &image).expect("unchanged image");
    assert_eq!(run(&module, &config).expect("runs"), [Value::I32(7)]);
}
