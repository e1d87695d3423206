#!/usr/bin/env bash
# Fuzzing the core: the harness tests and saved regressions (stable), then a bounded smoke run
# of every fuzz target under libFuzzer with address sanitizer (nightly, cargo-fuzz):
#   bytes          arbitrary bytes, with on-device validation and without it
#   smith          wasm-smith modules, valid by construction
#   differential   wasm-smith modules on Tandem and on wasmi, results compared
#   tiny           wasm-smith modules under a tiny heap account, loaded in small parts
#   image          images of wasm-smith modules with bytes changed: refused or run, no panic
# FUZZ_SECONDS (default 10: a smoke run; docs/RELIABILITY.md has the long runs) is the time
# per run. A crash fails the script; the input is saved
# under fuzz/artifacts/<target>/, and belongs in fuzz/regressions/<target>/ once fixed.
# A long run: cd fuzz && cargo +nightly fuzz run differential -- -max_total_time=3600
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-10}"
step() { printf '\n==> %s\n' "$*"; }
# The fuzz crate keeps its own target dir; a host CARGO_TARGET_DIR would mix sanitizer builds in.
unset CARGO_TARGET_DIR

step "fuzz crate: fmt, clippy, harness tests and saved regressions (release)"
cargo fmt -- --check
cargo clippy --all-targets -- -D warnings
# Optimised without debug assertions: the core has threaded dispatch there, and the harness
# holds it to the loop on generated modules and the saved inputs. (The smoke runs below build
# with debug assertions.)
cargo test --release

step "toolchain: nightly and cargo-fuzz"
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

run() {
    local target="$1"; shift
    step "fuzz $target $* for ${seconds}s"
    mkdir -p "corpus/$target" artifacts
    local log="artifacts/$target$*.log"
    if ! cargo +nightly fuzz run "$@" "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 80 "$log"
        echo "FUZZ FAILURE in $target $*: the input is in fuzz/artifacts/$target/"
        return 1
    fi
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log" | sed 's/^/    /'
}

# Real modules give the byte-level fuzzer a head start past the header and sections.
mkdir -p corpus/bytes
cp ../suites/bench/programs/wasm/*.wasm corpus/bytes/

run bytes
run bytes --no-default-features
run smith
run differential
run tiny
run image
echo
echo "ci/fuzz.sh: every target ran ${seconds}s without a crash"
