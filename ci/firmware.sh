#!/usr/bin/env bash
# The firmware rig on a fresh machine: installs QEMU's Arm emulator if missing (apt), adds the
# Cortex-M4F target, builds target-fw (release: opt-level s + LTO), prints its section sizes,
# then runs the link's unit tests and the QEMU link test (boots the firmware on mps2-an386,
# 100 postcard-rpc pings over the CRC-framed TCP wire, board info, clean exit).
# TANDEM_REQUIRE_QEMU=1 makes the QEMU test fail instead of skipping if anything is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n==> %s\n' "$*"; }

step "qemu-system-arm"
if ! command -v qemu-system-arm >/dev/null 2>&1; then
    # Without --no-install-recommends apt pulls ~165 packages and replaces qemu-utils.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-arm >/dev/null
fi
qemu-system-arm --version | head -n1

step "toolchain: thumbv7em-none-eabihf, llvm-tools"
rustup target add thumbv7em-none-eabihf >/dev/null
rustup component add llvm-tools >/dev/null

step "target-fw: fmt, clippy, release build"
(
    cd target-fw
    # The firmware keeps its own target dir (target-fw/target); a host CARGO_TARGET_DIR
    # would send it elsewhere.
    unset CARGO_TARGET_DIR
    cargo fmt -- --check
    cargo clippy --release -- -D warnings
    cargo build --release
)

step "target-fw: section sizes"
elf=target-fw/target/thumbv7em-none-eabihf/release/tandem-fw
llvm_size="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-size"
"$llvm_size" -A "$elf" | grep -E '^(section|\.vector_table|\.text|\.rodata|\.data|\.bss|\.uninit) '

step "tandem-link: unit tests and the QEMU link test"
cargo clippy -p tandem-link --features std --all-targets -- -D warnings
TANDEM_REQUIRE_QEMU=1 cargo test -p tandem-link --features std -- --nocapture

printf '\nci/firmware.sh: all steps passed in %ss\n' "$(( $(date +%s) - start ))"
