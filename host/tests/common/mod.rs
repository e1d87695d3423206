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
