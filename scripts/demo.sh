#!/usr/bin/env bash
# Run the main job locally: moto server, dev secret records and a queue, every sample
# delivery in events/ through the real function binaries, then the queued envelopes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
start_moto
cargo build --workspace --bins --quiet
target/debug/webhook-dev demo "$@"
