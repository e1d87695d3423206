//! Build script: the built-in profiles are every file in `profiles/`, so adding a board is
//! adding its file (plus, for firmware support, its board layer in `target-fw`).

use std::{env, fs, path::PathBuf};

fn main() {
    let dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("profiles");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("boards/profiles is readable")
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut list = String::from("&[\n");
    for path in &files {
        let name = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 file name");
        list.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    list.push_str("]\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("builtin.rs"), list).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed={}", dir.display());
}
