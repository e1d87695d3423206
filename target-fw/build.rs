//! Build script: the board's layer, its `memory.x` for cortex-m-rt, and its profile as one
//! `const`.
//!
//! The board layer is the one enabled board feature. The board profile
//! (`boards/profiles/<name>.toml`, name or path from `$TANDEM_BOARD`, by default the built-in
//! profile made for that board layer) becomes `PROFILE` in `$OUT_DIR/profile.rs`: it sizes
//! the heap arena and the static linear-memory buffer and sets the handler's limits, exactly
//! as the host's simulator applies them for `--board <name>`.
//!
//! The boards are listed once, by their profile files: every built-in profile's `firmware`
//! names a board feature and a folder `src/board/<feature with _>/`, and every board feature
//! and folder has such a profile. Anything else is refused here, naming what is missing. The
//! one exception is the `generic` layer, for chips with no layer of their own: its profile
//! is derived from a chip database and given by path, and its `memory.x` is written from it.

use std::collections::BTreeSet;
use std::{env, fs, path::PathBuf};

use tandem_boards::{BoardProfile, CortexM, GENERIC_LAYER};

/// The features that are not board layers (besides users' host modules: see
/// `is_host_module_feature`).
const OTHER_FEATURES: &[&str] = &["default", "validate", "rtt"];

/// A user's host module: a feature that forwards to the handler's feature of that name.
fn is_host_module_feature(name: &str, enables: &toml::Value) -> bool {
    let forward = format!("tandem-handler/{name}");
    enables.as_array().is_some_and(|list| list.iter().any(|f| f.as_str() == Some(&forward)))
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let layers = check_board_list(&manifest);

    let enabled: Vec<&String> = layers
        .iter()
        .filter(|layer| {
            let var = format!("CARGO_FEATURE_{}", layer.to_uppercase().replace('-', "_"));
            env::var_os(var).is_some()
        })
        .collect();
    let &[layer] = enabled.as_slice() else {
        let names: Vec<_> = layers.iter().map(String::as_str).collect();
        panic!(
            "enable exactly one board feature ({}); enabled: {enabled:?} (another board: \
             --no-default-features --features <board>[,validate])",
            names.join(", ")
        );
    };
    let dir = layer.replace('-', "_");

    // DWT's cycle counter exists on ARMv7-M and ARMv8-M Mainline, not on ARMv6-M (M0/M0+)
    // or ARMv8-M Baseline (M23): there `clock` counts with SysTick alone.
    println!("cargo::rustc-check-cfg=cfg(cycle_counter)");
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let core = CortexM::of_target(&target)
        .unwrap_or_else(|| panic!("{target} is not a Cortex-M target (thumbv6m/7m/7em/8m)"));
    if core.has_cycle_counter() {
        println!("cargo::rustc-cfg=cycle_counter");
    }
    if !core.has_compare_and_swap() && env::var_os("CARGO_FEATURE_VALIDATE").is_some() {
        panic!(
            "the `validate` feature needs atomic compare-and-swap (wasmparser's validator \
             shares its types through `Arc`), which {target} does not have: build with \
             `wasm` (the host validates) or neither (images only)"
        );
    }

    let board = match env::var("TANDEM_BOARD") {
        Ok(name) => BoardProfile::find(&name).unwrap_or_else(|e| panic!("TANDEM_BOARD: {e}")),
        Err(_) if layer == GENERIC_LAYER => panic!(
            "the `{GENERIC_LAYER}` layer takes its chip's profile from TANDEM_BOARD (a .toml \
             file: `tandem boards --chip NAME` prints one; `tandem run --target probe --chip \
             NAME` writes it and builds)"
        ),
        Err(_) => BoardProfile::builtin()
            .into_iter()
            .find(|b| b.firmware.as_deref() == Some(layer.as_str()))
            .unwrap_or_else(|| panic!("no built-in board profile names firmware `{layer}`")),
    };

    if let Some(chip) = board.generic {
        // The profile's memory is the chip's: checked by the profile's own checks.
        let memory = board.memory.expect("a profile has a [memory] table");
        let memory_x = format!(
            "/* {}: from its profile (the chip database's boot flash and RAM). */\n\
             MEMORY\n{{\n  FLASH : ORIGIN = {:#010x}, LENGTH = {}\n  \
             RAM   : ORIGIN = {:#010x}, LENGTH = {}\n}}\n",
            board.name, chip.flash_origin, memory.flash_bytes, chip.ram_origin, memory.ram_bytes
        );
        fs::write(out.join("memory.x"), memory_x).expect("OUT_DIR is writable");
    } else {
        let memory_x = manifest.join(format!("src/board/{dir}/memory.x"));
        fs::copy(&memory_x, out.join("memory.x")).expect("board memory.x is readable");
        println!("cargo:rerun-if-changed={}", memory_x.display());
    }
    println!("cargo:rustc-link-search={}", out.display());

    let layer_mod = manifest.join(format!("src/board/{dir}/mod.rs"));
    let include = format!(
        "/// The board layer of the `{layer}` feature.\n\
         #[path = {:?}]\nmod layer;\npub use layer::*;\n",
        layer_mod.display().to_string()
    );
    fs::write(out.join("board_layer.rs"), include).expect("OUT_DIR is writable");

    if board.firmware.as_deref() != Some(layer.as_str()) {
        panic!(
            "board `{}` is not supported by the `{layer}` board layer (its profile says \
             firmware = {:?}); pick a board whose profile names `{layer}`",
            board.name, board.firmware
        );
    }
    if board.target.as_deref() != Some(target.as_str()) {
        panic!(
            "board `{}` is built for {:?} (its profile's `target`); this build is for {target} \
             (--target {})",
            board.name,
            board.target,
            board.target.as_deref().unwrap_or("?")
        );
    }
    fs::write(out.join("profile.rs"), board.to_rust_const("PROFILE")).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-env-changed=TANDEM_BOARD");
    if let Some(origin) = &board.origin {
        println!("cargo:rerun-if-changed={origin}");
    }
    println!("cargo:rerun-if-changed=../boards/profiles");
    println!("cargo:rerun-if-changed=src/board");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The board layers, once checked to agree three ways: the built-in profiles' `firmware`
/// fields, this crate's board features, and the folders under `src/board/`.
fn check_board_list(manifest: &std::path::Path) -> BTreeSet<String> {
    // The generic layer serves chips whose profiles are derived, none built in.
    let from_profiles: BTreeSet<String> = BoardProfile::builtin()
        .into_iter()
        .filter_map(|b| b.firmware.map(|f| f.into_owned()))
        .chain([GENERIC_LAYER.to_owned()])
        .collect();

    let cargo_toml = fs::read_to_string(manifest.join("Cargo.toml")).expect("Cargo.toml");
    let cargo_toml: toml::Table = toml::from_str(&cargo_toml).expect("Cargo.toml parses");
    let from_features: BTreeSet<String> = cargo_toml
        .get("features")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flat_map(|features| features.iter())
        .filter(|(f, enables)| {
            !OTHER_FEATURES.contains(&f.as_str()) && !is_host_module_feature(f, enables)
        })
        .map(|(f, _)| f.clone())
        .collect();

    let from_folders: BTreeSet<String> = fs::read_dir(manifest.join("src/board"))
        .expect("src/board is readable")
        .filter_map(|entry| {
            let entry = entry.expect("a readable directory entry");
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            is_dir.then(|| entry.file_name().to_string_lossy().replace('_', "-"))
        })
        .collect();

    let missing = |what: &str, from: &BTreeSet<String>, with: &BTreeSet<String>| {
        let names: Vec<_> = from.difference(with).map(String::as_str).collect();
        (!names.is_empty()).then(|| format!("{what}: {}", names.join(", ")))
    };
    let problems: Vec<String> = [
        missing("board features without a profile", &from_features, &from_profiles),
        missing("board folders without a profile", &from_folders, &from_profiles),
        missing("profiles' board layers without a feature", &from_profiles, &from_features),
        missing(
            "profiles' board layers without a folder in src/board",
            &from_profiles,
            &from_folders,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !problems.is_empty() {
        panic!(
            "the board list disagrees with itself; a board is a profile in boards/profiles \
             (naming `firmware = \"<layer>\"`), a feature `<layer>` here and a folder \
             src/board/<layer with _>/ ({})",
            problems.join("; ")
        );
    }
    from_profiles
}
