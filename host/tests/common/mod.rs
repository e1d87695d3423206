//! What the QEMU-backed tests share.

use tandem::target::qemu::{QemuOptions, QemuTarget};

/// Starts the qemu (or qemu-rtt) target, or says why it cannot and returns `None` (a failure
/// under `TANDEM_REQUIRE_QEMU=1`, which CI sets).
pub fn start(options: &QemuOptions, test: &str) -> Option<QemuTarget> {
    match QemuTarget::start(options) {
        Ok(target) => Some(target),
        Err(e) if !qemu_required() => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
        Err(e) => panic!("the QEMU board is required (TANDEM_REQUIRE_QEMU=1): {e}"),
    }
}

/// Whether a missing QEMU is a failure rather than a reason to skip.
pub fn qemu_required() -> bool {
    std::env::var_os("TANDEM_REQUIRE_QEMU").is_some_and(|v| v == "1")
}

/// The CI board's profile without fuel, as a profile file in `dir`: what a user's board
/// without fuel is like, where only a deadline or the host's timeout stops a runaway call.
#[allow(dead_code)] // not every test file that shares this module uses it
pub fn no_fuel_board(dir: &std::path::Path) -> tandem_boards::BoardProfile {
    use tandem_boards::{BoardProfile, DEFAULT_BOARD};
    let ci = BoardProfile::find(DEFAULT_BOARD).unwrap_or_else(|e| panic!("{e}"));
    let text = include_str!("../../../boards/profiles/qemu-mps2-an386.toml")
        .replace("name = \"qemu-mps2-an386\"", "name = \"qemu-mps2-an386-no-fuel\"")
        .lines()
        .filter(|line| !line.starts_with("fuel ="))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::create_dir_all(dir).expect("temp dir");
    let path = dir.join("qemu-mps2-an386-no-fuel.toml");
    std::fs::write(&path, text).expect("profile written");
    let board = BoardProfile::find(path.to_str().unwrap()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(board.limits.fuel, None);
    assert_eq!(board.memory, ci.memory);
    board
}
