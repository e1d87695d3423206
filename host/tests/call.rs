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

/// A WASI program: prints to stdout and stderr through `fd_write`, then exits with the code
/// `_start` finds in its first argument's length (its name, `prog`, has 4 letters).
const WASI_PROGRAM: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "out\n")
  (data (i32.const 110) "err\n")
  (data (i32.const 0) "\64\00\00\00\04\00\00\00\6e\00\00\00\04\00\00\00")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 200)))
    (drop (call $fd_write (i32.const 2) (i32.const 8) (i32.const 1) (i32.const 200)))
    (drop (call $sizes (i32.const 300) (i32.const 304)))
    (call $exit (i32.sub (i32.load (i32.const 304)) (i32.const 1)))))"#;

#[test]
fn a_wasi_program_prints_and_exits_with_its_code() {
    let file = wasi_file("prog.wat", WASI_PROGRAM);
    let out = tandem(&["call", &file, "_start", "--host", "wasi_snapshot_preview1"]);
    assert_eq!(text(&out.stdout), "out\n");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("err\n") && stderr.contains("_start exited with code 4"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "a non-zero exit code fails the call");
}

/// `text` written as `name` in this test process's own folder.
fn wasi_file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("tandem-wasi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(name);
    std::fs::write(&file, text).unwrap();
    file.display().to_string()
}

/// A WASI program that echoes its world: its arguments and then its environment to stdout,
/// each string on a line of its own, and its stdin to stderr.
const ECHO: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; Writes `len` bytes at `ptr` to `fd`, NULs turned into newlines.
  (func $emit (param $fd i32) (param $ptr i32) (param $len i32)
    (local $i i32)
    (block $done (loop $scan
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (if (i32.eqz (i32.load8_u (i32.add (local.get $ptr) (local.get $i))))
        (then (i32.store8 (i32.add (local.get $ptr) (local.get $i)) (i32.const 10))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $scan)))
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start")
    (drop (call $args_sizes (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (call $emit (i32.const 1) (i32.const 4096) (i32.load (i32.const 20)))
    (drop (call $env_sizes (i32.const 16) (i32.const 20)))
    (drop (call $env_get (i32.const 1024) (i32.const 8192)))
    (call $emit (i32.const 1) (i32.const 8192) (i32.load (i32.const 20)))
    (i32.store (i32.const 24) (i32.const 12288))
    (i32.store (i32.const 28) (i32.const 1024))
    (drop (call $fd_read (i32.const 0) (i32.const 24) (i32.const 1) (i32.const 32)))
    (call $emit (i32.const 2) (i32.const 12288) (i32.load (i32.const 32)))))"#;

#[test]
fn a_wasi_program_sees_its_arguments_environment_and_stdin_on_every_target() {
    let file = wasi_file("echo.wat", ECHO);
    let stdin = wasi_file("input.txt", "from a file");
    let required = std::env::var_os("TANDEM_REQUIRE_QEMU").is_some_and(|v| v == "1");
    for target in ["sim", "sim-link", "qemu"] {
        let out = tandem(&[
            "call",
            &file,
            "_start",
            "--host",
            "wasi",
            "--arg",
            "-v",
            "--arg",
            "two words",
            "--env",
            "LEVEL=3",
            "--stdin",
            &stdin,
            "--target",
            target,
        ]);
        if target == "qemu" && out.status.code() == Some(2) && !required {
            eprintln!("SKIPPED on qemu: {}", text(&out.stderr));
            continue;
        }
        assert_eq!(text(&out.stdout), "echo\n-v\ntwo words\nLEVEL=3\n", "{target}");
        // QEMU's own line about its exit follows on stderr.
        assert!(text(&out.stderr).starts_with("from a file"), "{target}: {}", text(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{target}");
    }
    let big = "x".repeat(tandem_protocol::MAX_WASI_SETUP + 1);
    let out = tandem(&["call", &file, "_start", "--arg", &big]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("are over the 2048 bytes a target accepts"));
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

/// A program that yields through WASI every turn of its loop, and a loop without end.
const SLICED: &str = r#"(module
  (import "wasi_snapshot_preview1" "sched_yield" (func $yield (result i32)))
  (func $fib (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "run") (param i32) (result i32) (local i32)
    (loop $l
      (drop (call $yield))
      (local.set 1 (i32.add (local.get 1) (call $fib (local.get 0))))
      (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
    (local.get 1))
  (func (export "spin") (loop $l (br $l))))"#;

#[test]
fn a_call_in_slices_gives_the_plain_calls_result_on_every_target() {
    let file = wasi_file("sliced.wat", SLICED);
    let required = std::env::var_os("TANDEM_REQUIRE_QEMU").is_some_and(|v| v == "1");
    for target in ["sim", "sim-link", "qemu"] {
        let args = ["call", &file, "run", "18", "--host", "wasi", "--target", target];
        let plain = tandem(&args);
        if target == "qemu" && plain.status.code() == Some(2) && !required {
            eprintln!("SKIPPED on qemu: {}", text(&plain.stderr));
            continue;
        }
        let sliced = tandem(&[&args[..], &["--slice", "500"]].concat());
        // The sum of fib(1..=18).
        assert_eq!(text(&plain.stdout), "6764\n", "{target}");
        assert_eq!(text(&sliced.stdout), "6764\n", "{target}: {}", text(&sliced.stderr));
        let stderr = text(&sliced.stderr);
        assert!(stderr.contains("ran out of fuel, 18 yielded"), "{target}: {stderr}");
    }
    // Slices that never end are stopped at the timeout, as one call would be.
    let out =
        tandem(&["call", &file, "spin", "--host", "wasi", "--slice", "500", "--timeout", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("spin trapped: timed out after 1s"),
        "{}",
        text(&out.stderr)
    );
}
