#!/usr/bin/env bash
# Run the tests: set up moto server and cfn-lint, build the function binaries the
# integration tests run, fuzz briefly, run the whole workspace's tests, clean up.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
start_moto
echo "building (the first build takes a few minutes) ..." >&2
cargo build --workspace --bins
# A short bounded fuzz run of both targets (scripts/fuzz.sh 3600 for a long one).
scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
log="$ROOT/.moto/cargo-test.log"
set +e
cargo test --workspace "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "total: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
