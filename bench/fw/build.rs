//! Build script: the QEMU machine's `memory.x`, PSRAM address and clock (target-fw's layer's), the
//! call-depth probe module compiled from its WAT, and for the `tandem-images` build every
//! program compiled into an image (`Module::to_image`), for the firmware to link into flash.

use std::{env, fs, path::Path, path::PathBuf};

/// The QEMU machine the firmware is built for (`TANDEM_BENCH_MACHINE`, one of target-fw's
/// MPS2 layers: mps2-an385 M3, mps2-an386 M4F, mps2-an500 M7, mps2-an505 M33).
const DEFAULT_MACHINE: &str = "mps2-an386";

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
    let machine = env::var("TANDEM_BENCH_MACHINE").unwrap_or_else(|_| DEFAULT_MACHINE.into());
    println!("cargo:rerun-if-env-changed=TANDEM_BENCH_MACHINE");
    // The machine's memory map and PSRAM are target-fw's layer's: the very files it links
    // with, the address its layer names.
    let layer = format!("../../target-fw/src/board/{}", machine.replace('-', "_"));
    let memory_x = format!("{layer}/memory.x");
    fs::copy(&memory_x, out.join("memory.x"))
        .unwrap_or_else(|e| panic!("{memory_x} (TANDEM_BENCH_MACHINE={machine}): {e}"));
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={memory_x}");
    let layer_mod = format!("{layer}/mod.rs");
    let source = fs::read_to_string(&layer_mod).expect("the layer's mod.rs is readable");
    let value = |declaration: &str| {
        source
            .lines()
            .find_map(|line| line.trim().strip_prefix(declaration))
            .and_then(|rest| rest.strip_suffix(';'))
            .unwrap_or_else(|| panic!("{layer_mod} has no `{declaration}...;`"))
            .to_owned()
    };
    let machine_rs = format!(
        "pub const PSRAM_BASE: usize = {};\npub const CORE_CLOCK_HZ: u32 = {};\n",
        value("const PSRAM_BASE: usize = "),
        value("pub const CORE_CLOCK_HZ: u32 = ")
    );
    fs::write(out.join("machine.rs"), machine_rs).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed={layer_mod}");
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
