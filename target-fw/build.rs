//! Puts the selected board's `memory.x` where cortex-m-rt's `link.x` looks for it.

use std::{env, fs, path::PathBuf};

fn main() {
    // Only one board today; a second one adds its folder and a feature check here.
    let board = "mps2_an386";
    let src = PathBuf::from(format!("src/board/{board}/memory.x"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(&src, out.join("memory.x")).expect("board memory.x is readable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={}", src.display());
    println!("cargo:rerun-if-changed=build.rs");
}
