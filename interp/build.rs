//! Decides whether this build has threaded dispatch (`cfg(tandem_threaded)`): asked for
//! (the `threaded` feature), on a target where its handlers' tail calls, all in registers,
//! become jumps (x86-64 and AArch64 on Unix), in an optimised build without debug assertions (LLVM
//! turns calls into jumps only when optimising, and unoptimised each instruction would take
//! a native stack frame; debug assertions widen the instruction pointer past the argument
//! registers, and with a fuzzer's instrumentation the 256 handlers take minutes to build),
//! and not under Miri (which does neither).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(tandem_threaded)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let env = |key: &str| std::env::var(key).unwrap_or_default();
    let wanted = std::env::var_os("CARGO_FEATURE_THREADED").is_some();
    // Six register arguments: all of them are argument registers on Unix x86-64 and AArch64;
    // on Windows x64 (four) two would go on the stack, and calls that change them stay calls.
    let arch = matches!(env("CARGO_CFG_TARGET_ARCH").as_str(), "x86_64" | "aarch64")
        && env("CARGO_CFG_TARGET_FAMILY").split(',').any(|family| family == "unix");
    let optimised = matches!(env("OPT_LEVEL").as_str(), "2" | "3");
    // Debug assertions from the profile, or from flags (as `cargo fuzz` passes them, with
    // its sanitizers, which the profile's view does not show).
    let flags = env("CARGO_ENCODED_RUSTFLAGS");
    let checked = std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some()
        || flags.split('\x1f').any(|flag| {
            flag.contains("debug-assertions")
                || flag.starts_with("-Zsanitizer")
                || flag == "fuzzing"
        });
    let miri = std::env::var_os("CARGO_CFG_MIRI").is_some();
    if wanted && arch && optimised && !checked && !miri {
        println!("cargo::rustc-cfg=tandem_threaded");
    }
}
