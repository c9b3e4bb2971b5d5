#!/usr/bin/env bash
# Run the main job locally: moto server, dev secret records and a queue, every sample
# delivery in events/ through the real function binaries, then the queued envelopes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
start_moto
echo "building (the first build takes a few minutes) ..." >&2
cargo build --workspace --bins
target/debug/webhook-dev demo "$@"
