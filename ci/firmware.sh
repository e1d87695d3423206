#!/usr/bin/env bash
# The firmware rig on a fresh machine: installs QEMU's Arm emulator if missing (apt), adds the
# Cortex-M targets, builds target-fw (release: opt-level s + LTO) for QEMU and for every other
# board with a firmware layer (from boards/profiles), prints their flash and RAM use, then
# runs the link's unit tests. (The QEMU link test, host/tests/link.rs, runs with the
# workspace's tests.)
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

step "toolchain: thumbv7em-none-eabihf (M4F, M7), thumbv7m-none-eabi (M3), thumbv8m.main-none-eabihf (M33), thumbv6m-none-eabi (M0+), llvm-tools"
rustup target add thumbv7em-none-eabihf thumbv7m-none-eabi thumbv8m.main-none-eabihf \
    thumbv6m-none-eabi >/dev/null
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
    # The images-only firmware (no decoder, no translator; the images parity step runs it),
    # in the variant directory the host builds it in.
    cargo clippy --release --no-default-features --features mps2-an386 \
        --target-dir target/variants/qemu-mps2-an386-images -- -D warnings
)

step "target-fw: section sizes"
elf=target-fw/target/thumbv7em-none-eabihf/release/tandem-fw
llvm_size="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-size"
"$llvm_size" -A "$elf" | grep -E '^(section|\.vector_table|\.text|\.rodata|\.data|\.bss|\.uninit) '

# Flash = vector table + code + read-only data + initial values of .data; RAM = .data + .bss
# (heap arena and static linear memory included); what RAM is left is the stack.
usage() { # board elf memory.x
    local ram_len ccm_len
    # `RAM : ORIGIN = ..., LENGTH = 256K` (or 4M), in KiB; a CCMRAM region, if any, holds the
    # stack alone.
    ram_len=$(awk -F'LENGTH *= *' '/^ *RAM/ { n = $2 + 0; if ($2 ~ /M/) n *= 1024; print n }' "$3")
    ccm_len=$(awk -F'LENGTH *= *' '/^ *CCMRAM/ { print $2 + 0 }' "$3")
    "$llvm_size" -A "$2" | awk -v board="$1" -v ram_k="$ram_len" -v ccm_k="${ccm_len:-0}" '
        $1 ~ /^\.(vector_table|text|rodata|data)$/ { flash += $2 }
        $1 ~ /^\.(data|bss|uninit)$/ { ram += $2 }
        END { stack = (ccm_k > 0) ? ccm_k : ram_k - ram / 1024
              where = (ccm_k > 0) ? " (CCM RAM)" : ""
              printf "%-22s flash %7.1f KiB   RAM %7.1f KiB of %d KiB, stack %6.1f KiB%s\n",
              board, flash / 1024, ram / 1024, ram_k, stack, where }'
}

# The boards with a firmware layer, from the one list: each profile's name, `firmware` and
# `target` (the CI board's is the default build above), as `board:layer:target`.
boards=$(for profile in boards/profiles/*.toml; do
    board=$(basename "$profile" .toml)
    layer=$(sed -n 's/^firmware = "\(.*\)"/\1/p' "$profile")
    triple=$(sed -n 's/^target = "\(.*\)"/\1/p' "$profile")
    if [[ -n "$layer" && "$board" != qemu-mps2-an386 ]]; then
        echo "$board:$layer:${triple:-thumbv7em-none-eabihf}"
    fi
done | sort)

step "target-fw: every other board's firmware (on-device validation): flash and RAM"
(
    cd target-fw
    unset CARGO_TARGET_DIR
    # The RTT code path gets clippy on a board behind a probe; the MPS2 layers are the CI
    # board's (clippy above) with other constants.
    IFS=: read -r board layer triple < <(echo "$boards" | grep -m1 -v '^qemu-')
    TANDEM_BOARD=$board cargo clippy --release --no-default-features --features "$layer,validate" \
        --target "$triple" --target-dir target/boards -- -D warnings
    # ARMv6-M (thumbv6m): the clock without a cycle counter, the atomics without CAS.
    TANDEM_BOARD=qemu-mps2-an385-armv6m cargo clippy --release --no-default-features \
        --features mps2-an385,wasm --target thumbv6m-none-eabi --target-dir target/boards -- -D warnings
    for line in $boards; do
        IFS=: read -r board layer triple <<<"$line"
        # The host's choice (ModuleReader::best_for): validation on the board, except on
        # ARMv6-M, where wasmparser's validator needs the compare-and-swap it lacks.
        reader=validate
        [[ $triple == thumbv6m-* ]] && reader=wasm
        # One target dir for all of them: the dependencies are built once per core.
        TANDEM_BOARD=$board cargo build --release --quiet --no-default-features \
            --features "$layer,$reader" --target "$triple" --target-dir target/boards
        cp "target/boards/$triple/release/tandem-fw" "target/boards/tandem-fw-$board.elf"
    done
)
usage qemu-mps2-an386 "$elf" target-fw/src/board/mps2_an386/memory.x
for line in $boards; do
    IFS=: read -r board layer _ <<<"$line"
    usage "$board" "target-fw/target/boards/tandem-fw-$board.elf" "target-fw/src/board/${layer//-/_}/memory.x"
done

step "bench/fw (the benchmark firmware, Tandem builds reading wasm and images): fmt, clippy"
# Its wasmi build and the QEMU run are the benchmark's (cargo run -p tandem-bench -- --board).
(cd bench/fw && unset CARGO_TARGET_DIR && cargo fmt -- --check && cargo clippy --release -- -D warnings \
    && cargo clippy --release --no-default-features --features tandem-images \
        --target-dir target/tandem-images -- -D warnings)

step "tandem-link: clippy and unit tests (the QEMU link test is the host's tests/link.rs)"
cargo clippy -p tandem-link --features std --all-targets -- -D warnings
cargo test -p tandem-link --features std

printf '\nci/firmware.sh: all steps passed in %ss\n' "$(( $(date +%s) - start ))"
