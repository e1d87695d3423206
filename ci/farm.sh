#!/usr/bin/env bash
# A board farm's steps, one function each: what .github/workflows/hil.yml runs on its runners,
# and what ci/test runs here, on this machine, to check them (`ci/farm.sh local`).
#
#   ci/farm.sh shard TARGET BOARD K N DIR   run part K of N of the suites on TARGET under
#                                           BOARD's profile: DIR/TARGET-K.json (records) and
#                                           DIR/TARGET-K.xml (JUnit)
#   ci/farm.sh gate DIR TARGET...           merge each TARGET's parts into DIR/TARGET.json
#                                           (and .xml), then parity of the targets from them
#   ci/farm.sh local                        both, for sim and qemu, 2 parts each, over
#                                           SUITES (default here: suites)
#
# SUITES (default: suites spec:v1 spec:v2) and JOBS (default 1: instances per runner) change
# what a shard runs; TANDEM (default: cargo run --release -p tandem --) is the command.
set -euo pipefail
cd "$(dirname "$0")/.."

suites=(${SUITES:-suites spec:v1 spec:v2})
read -r -a tandem <<<"${TANDEM:-cargo run -q --release -p tandem --}"

shard() { # TARGET BOARD K N DIR
    local target="$1" board="$2" k="$3" n="$4" dir="$5"
    mkdir -p "$dir"
    # A failing directive still leaves its records for the gate, which decides.
    "${tandem[@]}" run "${suites[@]}" --target "$target" --board "$board" --shard "$k/$n" \
        --jobs "${JOBS:-1}" --records "$dir/$target-$k.json" --junit "$dir/$target-$k.xml" \
        --max-failures 20 || [[ $? == 1 ]]
}

gate() { # DIR TARGET...
    local dir="$1"; shift
    local merged=()
    for target in "$@"; do
        local parts=("$dir/$target"-[0-9]*.json)
        "${tandem[@]}" merge "${parts[@]}" -o "$dir/$target.json" --junit "$dir/$target.xml" \
            || [[ $? == 1 ]]
        merged+=("$dir/$target.json")
    done
    "${tandem[@]}" parity --from-records "${merged[@]}"
}

local_farm() {
    local dir
    dir=$(mktemp -d)
    [[ -n "${SUITES:-}" ]] || suites=(suites)
    for k in 1 2; do
        shard sim qemu-mps2-an386 "$k" 2 "$dir"
        shard qemu qemu-mps2-an386 "$k" 2 "$dir"
    done
    gate "$dir" sim qemu
    rm -rf "$dir"
}

case "${1:-}" in
    shard) shift; shard "$@" ;;
    gate) shift; gate "$@" ;;
    local) local_farm ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
esac
