//! `tandem measure`: the figures of a program whose needs are known by construction, and the
//! profile settings it suggests from them.

use std::process::Command;

/// `_start` recurses 11 calls deep below itself, holding 3 locals a frame, in a memory of
/// 1 page (what the nrf52840-dk's static buffer holds).
const DEEP: &str = r#"(module
  (memory 1)
  (func $down (param $n i32) (result i32) (local i64 i64)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 0))
      (else (call $down (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "_start") (drop (call $down (i32.const 10)))))"#;

#[test]
fn a_program_s_depth_memory_and_size_become_profile_settings() {
    let dir = std::env::temp_dir().join(format!("tandem-measure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deep.wasm");
    let wasm = wat::parse_str(DEEP).unwrap();
    std::fs::write(&file, &wasm).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(["measure", file.to_str().unwrap(), "--board", "nrf52840-dk"])
        .output()
        .expect("tandem runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    // _start and 11 frames of $down (n = 10 down to 0).
    assert!(stdout.contains("max_call_depth = 12\n"), "{stdout}");
    assert!(stdout.contains("static_memory_bytes = 65536 "), "{stdout}");
    assert!(stdout.contains(&format!("max_module_bytes = {}\n", wasm.len())), "{stdout}");
    let slots: u32 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("value_stack_slots = "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(slots >= 11 * 3, "each of 11 frames holds a parameter and two locals: {slots}");
}
