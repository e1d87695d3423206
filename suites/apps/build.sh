#!/usr/bin/env bash
# Rebuilds the apps: every program in programs/src/bin to <name>.wasm here (wasm32-wasip1,
# Rust std, sized for the nrf52840-dk profile), and <name>.stdout, its expected output, from the
# same program built natively and run on this machine.
#
# Usage: suites/apps/build.sh [NAME...]   (from anywhere; all programs without names)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target=wasm32-wasip1
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    # Every program: one binary per file in programs/src/bin.
    for source in "$here"/programs/src/bin/*.rs; do
        names+=("$(basename "$source" .rs)")
    done
fi
# The board profile the apps must fit: its module cap (max_module_bytes).
max_module_bytes=32768

if ! rustup target list --installed | grep -qx "$target"; then
    rustup target add "$target"
fi

# Outside suites/: `tandem run suites` would otherwise find the intermediate .wasm files.
export CARGO_TARGET_DIR="$root/target/apps"

# One 64 KiB page for everything: an 8 KiB shadow stack, the data, and the heap arena
# (src/arena.rs). `bench` (the workload without output) is exported for tandem-bench.
wasm_flags="-C link-arg=-zstack-size=8192 -C link-arg=--initial-memory=65536"
wasm_flags+=" -C link-arg=--max-memory=65536 -C link-arg=--export-if-defined=bench"
wasm_profile=(
    --config 'profile.release.opt-level="z"'
    --config profile.release.lto=true
    --config profile.release.codegen-units=1
    --config profile.release.debug=false
    --config 'profile.release.strip=true'
    --config 'profile.release.panic="abort"'
)

cd "$root"
for name in "${names[@]}"; do
    RUSTFLAGS="$wasm_flags" cargo build --quiet --release -p tandem-apps --bin "$name" \
        --target "$target" "${wasm_profile[@]}"
    install -m 0644 "$CARGO_TARGET_DIR/$target/release/$name.wasm" "$here/$name.wasm"
    size=$(wc -c <"$here/$name.wasm")
    echo "built $name.wasm ($size bytes)"
    if [ "$size" -gt "$max_module_bytes" ]; then
        echo "error: $name.wasm is $size bytes, over the nrf52840-dk module cap of $max_module_bytes" >&2
        exit 1
    fi
    # The expected output: the same source, run natively.
    cargo run --quiet --release -p tandem-apps --bin "$name" >"$here/$name.stdout"
done
