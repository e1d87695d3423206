//! Build script: the QEMU board's `memory.x` (the very file target-fw links with), the
//! call-depth probe module compiled from its WAT, and for the `tandem-images` build every
//! program compiled into an image (`Module::to_image`), for the firmware to link into flash.

use std::{env, fs, path::Path, path::PathBuf};

const MEMORY_X: &str = "../../target-fw/src/board/mps2_an386/memory.x";

/// Where the programs the firmware runs live.
const PROGRAM_DIRS: [&str; 2] = ["../../suites/bench/programs/wasm", "../../suites/apps"];

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
    fs::write(out.join("depth.wasm"), &depth).expect("OUT_DIR is writable");
    if env::var_os("CARGO_FEATURE_TANDEM_IMAGES").is_some() {
        compile(&depth, &out.join("depth.tandem"));
        for dir in PROGRAM_DIRS {
            println!("cargo:rerun-if-changed={dir}");
            for entry in fs::read_dir(dir).expect("the programs' folder") {
                let path = entry.expect("a folder entry").path();
                if path.extension().is_some_and(|e| e == "wasm") {
                    let wasm = fs::read(&path).expect("a program");
                    let name = path.file_stem().expect("a file name");
                    compile(&wasm, &out.join(name).with_extension("tandem"));
                }
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}

/// `wasm` as an image for the firmware's store: the core's default features, no fuel (the
/// config engine.rs makes; the firmware refuses an image made for another).
fn compile(wasm: &[u8], to: &Path) {
    let config = tandem_interp::Config::new();
    let module = tandem_interp::Module::new(&config, wasm).expect("a benchmark program compiles");
    let image = module.to_image(&config).expect("an image");
    fs::write(to, image).expect("OUT_DIR is writable");
}
