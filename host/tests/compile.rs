//! `tandem compile`: a module written as an image that reads back and runs as the module
//! does; bad input named, with exit code 2.

use std::path::PathBuf;
use std::process::{Command, Output};

use tandem_interp::{Config, Linker, Module, Store, Value};

const PROGRAM: &str = r#"(module
  (memory 1)
  (data (i32.const 0) "\05")
  (func (export "run") (param i32) (result i32)
    (i32.add (i32.load8_u (i32.const 0)) (local.get 0))))"#;

fn run(module: &Module, config: &Config) -> Value {
    let mut store = Store::new(config.clone());
    store.set_fuel(1_000);
    let instance = Linker::new().instantiate(&mut store, module).expect("instantiates");
    let run = instance.func(&store, "run").expect("export");
    let mut out = [Value::I32(0)];
    store.call(run, &[Value::I32(37)], &mut out).expect("runs");
    out[0]
}

/// A fresh folder named for the test, holding `PROGRAM` as `program.wat`: the folder and
/// the source's path.
fn program_in(test: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("tandem-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("program.wat");
    std::fs::write(&source, PROGRAM).unwrap();
    (dir, source)
}

/// The `tandem` binary run with `args`.
fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().expect("tandem runs")
}

#[test]
fn an_image_from_the_command_line_runs_as_its_module() {
    let (dir, source) = program_in("compile");
    let out = tandem(&["compile", source.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let image = std::fs::read(dir.join("program.tandem")).expect("the image is written");
    assert_eq!(&image[..4], b"TNDM");

    // The rig meters fuel, so images are made for a store that does.
    let config = Config::new().with_fuel(true);
    let from_image = Module::from_image(&config, &image).expect("reads");
    let from_wasm = Module::new(&config, &wat::parse_str(PROGRAM).unwrap()).expect("module");
    assert_eq!(run(&from_image, &config), Value::I32(42));
    assert_eq!(run(&from_image, &config), run(&from_wasm, &config));
    let err = Module::from_image(&Config::new(), &image).expect_err("not metered here");
    assert!(err.to_string().contains("fuel metering"), "{err}");

    let no_fuel = dir.join("plain.tandem");
    let out = tandem(&[
        "compile",
        source.to_str().unwrap(),
        "--no-fuel",
        "-o",
        no_fuel.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let plain =
        Module::from_image(&Config::new(), &std::fs::read(&no_fuel).unwrap()).expect("reads");
    assert_eq!(run(&plain, &Config::new()), Value::I32(42));

    let garbage = dir.join("garbage.wasm");
    std::fs::write(&garbage, "\0asm\x01\0\0\0\x01").unwrap();
    let out = tandem(&["compile", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a module Tandem runs"));
}

/// `tandem call` and `tandem run` take an image wherever they take a module: the session
/// gets the image's features, a mismatched image is refused naming why, and a program's
/// image passes with the output its module prints.
#[test]
fn call_and_run_take_an_image_where_they_take_a_module() {
    let (dir, source) = program_in("compile-run");
    let tandem = |args: &[&str]| {
        let out = tandem(args);
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.code(), text(&out.stdout), text(&out.stderr))
    };
    let image = dir.join("program.tandem");
    let v1 = dir.join("program-v1.tandem");
    let plain = dir.join("plain.tandem");
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    assert_eq!(tandem(&["compile", &path(&source)]).0, Some(0));
    assert_eq!(
        tandem(&["compile", &path(&source), "--wasm-version", "v1", "-o", &path(&v1)]).0,
        Some(0)
    );
    assert_eq!(tandem(&["compile", &path(&source), "--no-fuel", "-o", &path(&plain)]).0, Some(0));
    for file in [&image, &v1] {
        let (code, stdout, stderr) = tandem(&["call", &path(file), "run", "37"]);
        assert_eq!((code, stdout.as_str()), (Some(0), "42\n"), "{stderr}");
    }
    let (code, _, stderr) = tandem(&["call", &path(&image), "missing"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("exports no function `missing` (its functions: run)"), "{stderr}");
    // The rig meters fuel: an image made without it is refused, saying so.
    let (code, _, stderr) = tandem(&["call", &path(&plain), "run", "1"]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("image made for another fuel metering: off; here: on"), "{stderr}");

    // A WASI program's image runs as a suite file, held to the program's output.
    let json = dir.join("json.tandem");
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/../suites/apps/json.wasm");
    assert_eq!(tandem(&["compile", app, "-o", &path(&json)]).0, Some(0));
    let expected = concat!(env!("CARGO_MANIFEST_DIR"), "/../suites/apps/json.stdout");
    std::fs::copy(expected, dir.join("json.stdout")).unwrap();
    let (code, stdout, stderr) = tandem(&["run", &path(&json)]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
    std::fs::write(dir.join("json.stdout"), "something else\n").unwrap();
    let (code, stdout, _) = tandem(&["run", &path(&json)]);
    assert_ne!(code, Some(0), "the image's output is checked: {stdout}");
}
