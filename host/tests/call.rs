//! `tandem call`: one export of a user's program on the simulator and on the QEMU board, its
//! printed output and results on stdout, and every bad input a clear error with exit code 2.

use std::process::{Command, Output};

const PROGRAM: &str = r#"(module
  (import "tandem" "print_i32" (func $print (param i32)))
  (func (export "add") (param i32 i32) (result i32)
    (call $print (local.get 0))
    (i32.add (local.get 0) (local.get 1)))
  (func (export "pair") (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))"#;

/// The program, written once per test process as text and as a binary module.
fn files() -> (String, String) {
    let dir = std::env::temp_dir().join(format!("tandem-call-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wat = dir.join("program.wat");
    let wasm = dir.join("program.wasm");
    std::fs::write(&wat, PROGRAM).unwrap();
    std::fs::write(&wasm, wat::parse_str(PROGRAM).unwrap()).unwrap();
    (wat.display().to_string(), wasm.display().to_string())
}

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).output().expect("tandem runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn results_and_output_on_the_simulator() {
    let (wat, wasm) = files();
    for file in [&wat, &wasm] {
        let out = tandem(&["call", file, "add", "40", "2", "--host", "tandem"]);
        assert_eq!((out.status.code(), text(&out.stdout).as_str()), (Some(0), "40\n42\n"));
    }
    let out = tandem(&["call", &wasm, "pair", "-9", "0.5", "--host", "tandem"]);
    assert_eq!(text(&out.stdout), "0.5\n-9\n");
    let out = tandem(&["call", &wasm, "div", "1", "0", "--host", "tandem"]);
    assert_eq!(out.status.code(), Some(1), "a trap fails the call");
    assert!(text(&out.stderr).contains("div trapped: integer divide by zero"));
}

#[test]
fn bad_input_is_named_and_exits_2() {
    let (_, wasm) = files();
    let garbage = std::env::temp_dir().join(format!("tandem-call-{}.wasm", std::process::id()));
    std::fs::write(&garbage, b"not wasm at all").unwrap();
    let garbage = garbage.display().to_string();
    for (args, expected) in [
        (
            vec!["call", &wasm, "add", "1", "2"],
            "\"tandem\" \"print_i32\" is not defined (host modules in use: spectest)",
        ),
        (
            vec!["call", &wasm, "nope", "--host", "tandem"],
            "no function `nope` (its functions: add, pair, div)",
        ),
        (
            vec!["call", &wasm, "add", "1", "--host", "tandem"],
            "takes 2 arguments (i32, i32), 1 given",
        ),
        (vec!["call", &wasm, "add", "1", "x", "--host", "tandem"], "`x` is not a i32"),
        (vec!["call", &wasm, "add", "1", "2", "--host", "gpio"], "no host module `gpio`"),
        (vec!["call", &garbage, "f"], "neither a binary module"),
        (vec!["call", "/nonexistent.wasm", "f"], "cannot read /nonexistent.wasm"),
    ] {
        let out = tandem(&args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn results_and_output_on_the_qemu_board() {
    let (_, wasm) = files();
    let out = tandem(&["call", &wasm, "add", "40", "2", "--host", "tandem", "--target", "qemu"]);
    let required = std::env::var_os("TANDEM_REQUIRE_QEMU").is_some_and(|v| v == "1");
    if out.status.code() == Some(2) && !required {
        eprintln!("SKIPPED results_and_output_on_the_qemu_board: {}", text(&out.stderr));
        return;
    }
    assert_eq!(
        (out.status.code(), text(&out.stdout).as_str()),
        (Some(0), "40\n42\n"),
        "{}",
        text(&out.stderr)
    );
}
