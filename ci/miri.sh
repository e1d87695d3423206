#!/usr/bin/env bash
# Miri over the crate's only `unsafe` code, interp/src/raw/: the linear-memory
# backends, the value stack's frame access and the globals view (unit tests
# `raw::`), and `verify_function`'s tests (`verify::`: what the executor's unchecked
# accesses rely on, whose index arithmetic must not wrap where usize is 32 bits).
# Runs them under both aliasing models, Stacked Borrows and Tree Borrows,
# with strict provenance, and once more for a 32-bit target (i686: 32-bit usize
# like the Cortex-M4, where 4 GiB does not fit). ~15 s once Miri's sysroots are
# built (the first run builds them, ~1 min).
# Needs the nightly toolchain; installs its miri and rust-src components if missing.
# Extra Miri flags can be passed in MIRIFLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    echo "ci/miri.sh: no nightly toolchain; installing one (minimal profile)" >&2
    rustup toolchain install nightly --profile minimal --component miri,rust-src
fi
if ! cargo +nightly miri --version >/dev/null 2>&1; then
    rustup +nightly component add miri rust-src
fi
cargo +nightly miri --version

host=$(rustc +nightly -vV | sed -n 's/^host: //p')
cargo +nightly miri setup
cargo +nightly miri setup --target i686-unknown-linux-gnu

# Leak checking stays on: the tests reclaim every buffer they leak for a static
# memory, so a leak report means the heap backend lost memory.
run() { # target, extra flag
    local flags="-Zmiri-strict-provenance${MIRIFLAGS:+ $MIRIFLAGS}${2:+ $2}"
    echo "==> miri on $1: MIRIFLAGS='$flags'"
    MIRIFLAGS="$flags" cargo +nightly miri test -p tandem-interp --lib --target "$1" -- raw:: verify::
}
run "$host"
run "$host" -Zmiri-tree-borrows
run i686-unknown-linux-gnu
