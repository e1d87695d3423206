//! Modules sent as images: compiled on the host for the target's session, read on the
//! target, and run as the module itself runs. The images-only firmware (no decoder, no
//! translator) refuses WebAssembly uploads, and every target refuses an image that is
//! damaged or was made for another session, saying why, and goes on.
//!
//! The QEMU part skips (saying why) without `qemu-system-arm`, unless `TANDEM_REQUIRE_QEMU=1`.

mod common;

use tandem::Target;
use tandem::firmware::ModuleReader;
use tandem::target::qemu::QemuOptions;
use tandem::target::sim::SimTarget;
use tandem_boards::{BoardProfile, DEFAULT_BOARD};
use tandem_interp::Features;
use tandem_protocol::{Features as WireFeatures, ModuleFormat, Refusal, Val};

const PROGRAM: &str = r#"(module
  (memory 1)
  (data (i32.const 0) "\05\00\00\00")
  (func $fib (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "run") (param i32) (result i32)
    (i32.add (call $fib (local.get 0)) (i32.load (i32.const 0)))))"#;

/// Runs the program through `Target::load` (compiled here when the target takes images) and
/// checks the refusals of damaged and mismatched images, on `target`.
fn images_on(target: &mut dyn Target) {
    let features = Features::WASM2;
    target.reset(features, &[]).expect("reset");
    let spec = target.takes_images().expect("the target takes images");
    assert_eq!(spec.features, features, "images are compiled for the session's features");
    assert!(!target.validates(), "rejections are judged on the host");

    let wasm = wat::parse_str(PROGRAM).expect("wat");
    let module = target.load(&wasm).unwrap_or_else(|e| panic!("{}: {e}", target.name()));
    let instance = target.instantiate(module).expect("link").expect("no trap");
    let results = target.invoke(instance, "run", &[Val::I32(20)]).expect("call").expect("ok");
    assert_eq!(results, [Val::I32(6765 + 5)]);

    let wire = WireFeatures(features.bits());
    let image = tandem_handler::compile_image(wire, spec.fuel, &wasm).expect("compiles");
    let refused =
        |target: &mut dyn Target, bytes: &[u8]| match target.upload(bytes, ModuleFormat::Image) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{}: a bad image was loaded", target.name()),
        };
    let mut damaged = image.clone();
    *damaged.last_mut().expect("code") ^= 0x40;
    let why = refused(target, &damaged);
    assert!(why.contains("checksum does not match"), "{why}");
    let other_fuel = tandem_handler::compile_image(wire, !spec.fuel, &wasm).expect("compiles");
    let why = refused(target, &other_fuel);
    assert!(why.contains("image made for another fuel metering"), "{why}");
    let v1 = tandem_handler::compile_image(WireFeatures(Features::WASM1.bits()), spec.fuel, &wasm)
        .expect("compiles");
    let why = refused(target, &v1);
    assert!(why.contains("image made for another"), "{why}");
    let why = refused(target, &wasm);
    assert!(why.contains("not an image"), "{why}");

    // The session goes on after the refusals.
    let module = target.upload(&image, ModuleFormat::Image).expect("the good image");
    let instance = target.instantiate(module).expect("link").expect("no trap");
    let results = target.invoke(instance, "run", &[Val::I32(10)]).expect("call").expect("ok");
    assert_eq!(results, [Val::I32(55 + 5)]);
}

#[test]
fn the_simulator_reads_images_compiled_for_its_session() {
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    images_on(&mut SimTarget::for_board(&board).with_images());
    images_on(&mut SimTarget::new().with_images());
}

#[test]
fn the_images_only_firmware_reads_images_and_refuses_webassembly() {
    let board = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    let mut options = QemuOptions::new(board);
    options.reader = ModuleReader::Images;
    let test = "the_images_only_firmware_reads_images_and_refuses_webassembly";
    let Some(mut qemu) = common::start(&options, test) else { return };
    assert!(!qemu.info().reads_wasm && !qemu.info().validates);
    images_on(&mut qemu);

    let wasm = wat::parse_str(PROGRAM).expect("wat");
    match qemu.upload(&wasm, ModuleFormat::Wasm) {
        Err(e) => assert!(
            matches!(e.refusal(), Some(Refusal::Request(m)) if m.contains("reads images only")),
            "{e}"
        ),
        Ok(_) => panic!("the images-only firmware took a WebAssembly binary"),
    }
}
