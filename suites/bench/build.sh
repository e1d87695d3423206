#!/usr/bin/env bash
# Rebuilds the benchmark programs: every kernel in programs/src to
# programs/wasm/<name>.wasm (wasm32-unknown-unknown, no_std, bulk memory on), then
# regenerates <name>.wast here with checksums from the same kernels run natively (and
# assembles the tight-loop kernels of programs/wat to programs/wasm first).
#
# Usage: suites/bench/build.sh   (from anywhere; needs rustup and cargo)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
programs="$here/programs"
target=wasm32-unknown-unknown
names=(fib sieve matmul nbody sha256 crc32 sort bulk mixed)

# RUSTUP_AUTO_INSTALL=0 on CI machines: ask for the target explicitly.
if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi

# The programs' own target dir (git-ignored), whatever the caller's environment says.
export CARGO_TARGET_DIR="$programs/target"
# bulk-memory: core::ptr::copy/write_bytes become memory.copy/memory.fill.
# A 16 KiB shadow stack instead of 1 MiB keeps every module within a few pages.
export RUSTFLAGS="-C target-feature=+bulk-memory -C link-arg=-zstack-size=16384"

# The wasm profile: small and whole-program optimised, no debug info (the workspace's
# release profile keeps some); wasm32-unknown-unknown already aborts on panic.
wasm_profile=(
    --config 'profile.release.opt-level="s"'
    --config profile.release.lto=true
    --config profile.release.codegen-units=1
    --config profile.release.debug=false
    --config 'profile.release.strip=true'
)

cd "$programs"
mkdir -p wasm
for name in "${names[@]}"; do
    cargo rustc --quiet --release -p tandem-bench-programs --lib --target "$target" \
        --crate-type cdylib --features "$name" "${wasm_profile[@]}"
    install -m 0644 "$CARGO_TARGET_DIR/$target/release/tandem_bench_programs.wasm" "wasm/$name.wasm"
    echo "built wasm/$name.wasm ($(wc -c <"wasm/$name.wasm") bytes)"
done

# Native build of the same kernels: their tests, then the .wast files with native checksums.
# The RUSTFLAGS above are for the wasm side only.
unset RUSTFLAGS
cargo test --quiet --release -p tandem-bench-programs
cargo run --quiet --release -p tandem-bench-programs --bin bench-wast -- wasm "$here"
