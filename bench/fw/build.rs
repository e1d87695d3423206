//! Build script: the QEMU board's `memory.x` (the very file target-fw links with), and the
//! call-depth probe module compiled from its WAT.

use std::{env, fs, path::PathBuf};

const MEMORY_X: &str = "../../target-fw/src/board/mps2_an386/memory.x";

/// `rec(n)` calls itself `n` deep and returns `n`: the executor's native stack at wasm call
/// depth 10 and 1000 must be the same.
const DEPTH_WAT: &str = r#"(module
  (func $rec (export "rec") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get 0) (i32.const 1))))))))"#;

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(MEMORY_X, out.join("memory.x")).expect("target-fw's memory.x is readable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={MEMORY_X}");
    let depth = wat::parse_str(DEPTH_WAT).expect("the depth module parses");
    fs::write(out.join("depth.wasm"), depth).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=build.rs");
}
