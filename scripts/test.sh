#!/usr/bin/env bash
# Run the tests: set up moto server and cfn-lint, build the function binaries the
# integration tests run, run the whole workspace's tests, clean up.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
start_moto
cargo build --workspace --bins --quiet
cargo test --workspace "$@"
