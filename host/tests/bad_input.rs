//! Bad input, row by row, and the exact error each gets: never a panic, always the cause
//! named. The target rows run on the in-process simulator and on the linked simulator
//! (through the real link), with the CI board's profile, so the errors that cross the wire
//! are the ones the simulator gives.

use tandem::target::qemu::{QemuOptions, QemuTarget};
use tandem::target::remote::RemoteOptions;
use tandem::target::sim_link::LinkedSimTarget;
use tandem::{Features, SimTarget, Suite, Target, TargetError, Val, run_wast};
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_protocol::ModuleFormat;

fn board() -> BoardProfile {
    BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"))
}

const ADD: &str = r#"(module (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))"#;

/// What a row does on a target, returning the error it must get.
type Row = (&'static str, fn(&mut dyn Target) -> Option<TargetError>, &'static str);

/// `ADD` as an image for the rows' sessions (WASM2, fuel: the CI board meters it), with
/// `damage` applied.
fn image(damage: fn(&mut Vec<u8>)) -> Vec<u8> {
    let wire = tandem_protocol::Features(Features::WASM2.bits());
    let mut image =
        tandem_handler::compile_image(wire, true, &wat::parse_str(ADD).unwrap()).expect("image");
    damage(&mut image);
    image
}

fn instance(t: &mut dyn Target, wat: &str) -> tandem::InstanceId {
    let module = t.load(&wat::parse_str(wat).expect("wat")).expect("loads");
    t.instantiate(module).expect("link").expect("instantiates")
}

const ROWS: &[Row] = &[
    (
        "truncated module",
        |t| {
            let wasm = wat::parse_str(ADD).unwrap();
            t.load(&wasm[..wasm.len() - 3]).err()
        },
        "malformed module: unexpected end-of-file (at byte 34)",
    ),
    (
        "garbage",
        |t| t.load(b"this is not wasm").err(),
        "malformed module: magic header not detected",
    ),
    (
        "wrong version field",
        |t| t.load(b"\0asm\x02\0\0\0").err(),
        "malformed module: unknown binary version",
    ),
    (
        "a memory larger than the board's budget",
        |t| {
            let module = t.load(&wat::parse_str("(module (memory 1000))").unwrap()).ok()?;
            t.instantiate(module).err()
        },
        "out of resources: static buffer for memory 0 has 3145728 bytes, the module needs 65536000 bytes initially",
    ),
    (
        "unknown export",
        |t| {
            let i = instance(t, ADD);
            t.invoke(i, "sub", &[Val::I32(1), Val::I32(2)]).err()
        },
        "bad request: unknown export \"sub\"",
    ),
    (
        "too few arguments",
        |t| {
            let i = instance(t, ADD);
            t.invoke(i, "add", &[Val::I32(1)]).err()
        },
        "bad request: expected 2 values, got 1",
    ),
    (
        "an argument of the wrong type",
        |t| {
            let i = instance(t, ADD);
            t.invoke(i, "add", &[Val::I32(1), Val::I64(2)]).err()
        },
        "bad request: argument 1 should be i32, got i64",
    ),
    (
        "a missing import",
        |t| {
            let module =
                t.load(&wat::parse_str(r#"(module (import "env" "f" (func)))"#).unwrap()).ok()?;
            t.instantiate(module).err()
        },
        "link error: unknown import: function \"env\" \"f\" is not defined",
    ),
    (
        "a damaged image",
        |t| t.upload(&image(|i| *i.last_mut().unwrap() ^= 1), ModuleFormat::Image).err(),
        "malformed module: bad image: its checksum does not match: damaged",
    ),
    (
        "a truncated image",
        |t| t.upload(&image(|i| i.truncate(i.len() - 12)), ModuleFormat::Image).err(),
        "malformed module: bad image: its length is not the one its header gives",
    ),
    (
        "an image for another fuel setting",
        |t| {
            let wire = tandem_protocol::Features(Features::WASM2.bits());
            let plain = tandem_handler::compile_image(wire, false, &wat::parse_str(ADD).unwrap());
            t.upload(&plain.ok()?, ModuleFormat::Image).err()
        },
        "image made for another fuel metering: off; here: on",
    ),
    (
        "a WebAssembly module sent as an image",
        |t| t.upload(&wat::parse_str(ADD).unwrap(), ModuleFormat::Image).err(),
        "malformed module: bad image: not an image (no \"TNDM\" at its start)",
    ),
];

fn check_rows(target: &mut dyn Target) {
    for (what, row, expected) in ROWS {
        target
            .reset(Features::WASM2, tandem::target::SPECTEST)
            .unwrap_or_else(|e| panic!("{what}: reset: {e}"));
        let error = row(target).unwrap_or_else(|| panic!("{what}: no error on {}", target.name()));
        let message = error.to_string();
        eprintln!("{}: {what}: {message}", target.name());
        assert!(message.starts_with(expected), "{what}: {message}");
        assert!(!error.is_fatal(), "{what}: the target stays usable: {message}");
    }
    // And it still works.
    let i = instance(target, ADD);
    let sum = target.invoke(i, "add", &[Val::I32(2), Val::I32(3)]).expect("link").expect("runs");
    assert_eq!(sum, [Val::I32(5)]);
}

#[test]
fn bad_requests_on_the_simulator() {
    check_rows(&mut SimTarget::for_board(&board()));
}

#[test]
fn bad_requests_through_the_link() {
    let mut target = LinkedSimTarget::start(&board(), RemoteOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    check_rows(&mut target);
    target.shutdown().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_static_buffer_smaller_than_the_initial_memory_is_refused() {
    use tandem_interp::{Config, Error, InstanceOptions, Linker, Module, Store};
    let wasm = wat::parse_str("(module (memory 2))").unwrap();
    let module = Module::new(&Config::new(), &wasm).unwrap();
    let mut store = Store::new(Config::new());
    let buffer: &'static mut [u8] = Box::leak(vec![0u8; 65536].into_boxed_slice());
    let options = InstanceOptions::new().with_static_memory(0, buffer);
    let error = Linker::new().instantiate_with(&mut store, &module, options).unwrap_err();
    assert!(matches!(error, Error::StaticBufferTooSmall { memory: 0, .. }), "{error:?}");
    assert!(error.to_string().contains("131072"), "{error}");
}

#[test]
fn malformed_wast_names_the_file_and_position() {
    let cases = [
        ("(module", "bad.wast"),
        ("(assert_return (invoke \"f\") (i32.const))", "bad.wast"),
        ("(frobnicate)", "bad.wast"),
    ];
    for (script, name) in cases {
        let error = run_wast(&mut SimTarget::new(), Features::WASM2, name, script)
            .expect_err(script)
            .to_string();
        assert!(error.contains("bad.wast:1:"), "{script}: {error}");
    }
}

#[test]
fn unknown_suites_are_named() {
    let error = Suite::parse("spec:v9").expect_err("no such suite").to_string();
    assert!(error.contains("spec:v9"), "{error}");
    let error = Suite::parse("/nonexistent/suite").expect_err("no such path").to_string();
    assert!(error.contains("/nonexistent/suite"), "{error}");
}

#[test]
fn a_missing_firmware_is_named() {
    let mut options = QemuOptions::new(board());
    options.firmware = Some("/nonexistent/tandem-fw.elf".into());
    let error = QemuTarget::start(&options).err().expect("no firmware").to_string();
    assert!(error.contains("/nonexistent/tandem-fw.elf"), "{error}");
}
