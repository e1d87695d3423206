//! `.wasm` programs as suite files: `_start` run with the built-in host modules, the exit
//! code and the `NAME.stdout` beside it held to what is expected, modules without `_start`
//! left out of a folder, and the outcome recorded for parity like any directive's.

use std::process::Command;

use tandem::program::{Program, ProgramOptions, run_program};
use tandem::report::Verdict;
use tandem::{Features, SimTarget};

/// Prints `hi\n`, then exits with the code it is given in `CODE` below.
fn program(code: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
          (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "hi\n")
          (data (i32.const 0) "\10\00\00\00\03\00\00\00")
          (func (export "_start")
            (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (if (i32.ne (i32.const {code}) (i32.const 0)) (then (call $exit (i32.const {code}))))))"#
    ))
    .unwrap()
}

#[test]
fn exit_code_and_output_decide_the_verdict() {
    let run =
        |program: &Program| run_program(&mut SimTarget::new(), Features::WASM2, "p.wasm", program);
    let report = run(&Program::new(program(0), Some(b"hi\n".to_vec())));
    assert_eq!(report.passed, 1, "{:?}", report.failures);
    assert_eq!(report.records[0].observed, r#"returned []; printed "hi\n""#);

    let report = run(&Program::new(program(0), Some(b"bye\n".to_vec())));
    assert_eq!(report.records[0].verdict, Verdict::Fail);
    assert!(report.failures[0].got.contains("stdout \"hi\\n\" (expected \"bye\\n\")"));

    let exits = Program::new(program(3), None);
    let report = run(&exits);
    assert_eq!(report.failures[0].got, "exit code 3");
    assert!(report.records[0].observed.ends_with("exit 3"), "{}", report.records[0].observed);
    let expected = Program {
        options: ProgramOptions { expect_exit: 3, ..ProgramOptions::default() },
        ..exits
    };
    assert_eq!(run(&expected).passed, 1);
}

#[test]
fn a_folder_runs_its_programs_and_leaves_other_modules_alone() {
    let dir = std::env::temp_dir().join(format!("tandem-programs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.wasm"), program(0)).unwrap();
    std::fs::write(dir.join("hello.stdout"), "hi\n").unwrap();
    std::fs::write(
        dir.join("library.wasm"),
        wat::parse_str("(module (func (export \"run\")))").unwrap(),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem")).arg("run").arg(&dir).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    // One directive in all: the program's run; the library is not a program.
    assert!(stdout.ends_with("1 passed, 0 failed\n"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}
