//! The committed expected outputs (`suites/apps/<name>.stdout`) are what the programs print
//! when built natively: the oracle the wasm runs are held to is native Rust, not Tandem.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where cargo put this package's binaries: beside the test's own `deps/` folder.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>").to_owned()
}

#[test]
fn every_program_prints_its_stdout_file_natively() {
    let apps = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = Vec::new();
    for source in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin")).unwrap()
    {
        let source = source.unwrap().path();
        let name = source.file_stem().unwrap().to_string_lossy().into_owned();
        let expected_path = apps.join(format!("{name}.stdout"));
        let expected = std::fs::read(&expected_path).unwrap_or_else(|e| {
            panic!("{}: {e}; run suites/apps/build.sh", expected_path.display())
        });
        let out =
            Command::new(bin_dir().join(&name)).output().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(out.status.code(), Some(0), "{name} exits 0 natively");
        assert!(
            out.stdout == expected,
            "{name} natively prints something else than {}; rerun suites/apps/build.sh",
            expected_path.display()
        );
        checked.push(name);
    }
    assert!(checked.len() >= 2, "the apps: {checked:?}");
}
