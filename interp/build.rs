//! Decides whether this build has threaded dispatch (`cfg(tandem_threaded)`): asked for
//! (the `threaded` feature), on a target where its handlers' tail calls, all in registers,
//! become jumps (x86-64 and AArch64 on Unix), at opt-level 2 or 3 without debug assertions (LLVM
//! turns calls into jumps only when optimising, and unoptimised each instruction would take
//! a native stack frame; debug assertions widen the instruction pointer past the argument
//! registers, and with a fuzzer's instrumentation the handlers take minutes to build),
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
    // Codegen flags from RUSTFLAGS (as `cargo fuzz` passes them, with its sanitizers) come
    // after the profile's and win over them; `-C x` and `-Cx` are the same flag.
    let flags = codegen_flags(&env("CARGO_ENCODED_RUSTFLAGS"));
    let last = |name: &str| {
        flags.iter().rev().find_map(|(key, value)| (*key == name).then(|| value.clone()))
    };
    let opt_level = last("opt-level").flatten().unwrap_or_else(|| env("OPT_LEVEL"));
    let optimised = matches!(opt_level.as_str(), "2" | "3");
    let checked = std::env::var_os("CARGO_CFG_DEBUG_ASSERTIONS").is_some()
        || last("debug-assertions")
            .is_some_and(|on| matches!(on.as_deref(), None | Some("on" | "yes" | "y" | "true")))
        || flags.iter().any(|(key, _)| key == "sanitizer")
        || flags.iter().any(|(key, value)| key == "--cfg" && value.as_deref() == Some("fuzzing"));
    let miri = std::env::var_os("CARGO_CFG_MIRI").is_some();
    if wanted && arch && optimised && !checked && !miri {
        println!("cargo::rustc-cfg=tandem_threaded");
    }
}

/// RUSTFLAGS as (name, value) pairs, spelled as rustc reads them: `-Copt-level=3`,
/// `-C opt_level=3`, `--codegen=opt-level=3` and `-O` alike become
/// `("opt-level", Some("3"))`, `-Z sanitizer=…` `("sanitizer", …)`, and `--cfg x` and
/// `--cfg=x` `("--cfg", Some("x"))`.
fn codegen_flags(encoded: &str) -> Vec<(String, Option<String>)> {
    let mut words = encoded.split('\x1f').filter(|word| !word.is_empty());
    let mut flags = Vec::new();
    while let Some(word) = words.next() {
        let flag = match word {
            "-O" => "opt-level=3",
            "-C" | "-Z" | "--codegen" => words.next().unwrap_or_default(),
            "--cfg" => {
                flags.push(("--cfg".to_owned(), words.next().map(str::to_owned)));
                continue;
            }
            _ => {
                if let Some(cfg) = word.strip_prefix("--cfg=") {
                    flags.push(("--cfg".to_owned(), Some(cfg.to_owned())));
                    continue;
                }
                let long = word.strip_prefix("--codegen=");
                match long.or_else(|| word.strip_prefix("-C")).or_else(|| word.strip_prefix("-Z")) {
                    Some(flag) => flag,
                    None => continue,
                }
            }
        };
        let (name, value) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (flag, None),
        };
        // rustc takes `_` and `-` alike in option names.
        flags.push((name.replace('_', "-"), value));
    }
    flags
}
