#!/usr/bin/env bash
# Benchmarks: criterion (verification vs SHA-256, pipeline vs HMAC), then the release
# binaries' size, cold start and peak memory against a local moto server.
# Usage: scripts/bench.sh [--quick]   (--quick: shorter criterion runs)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
args=()
[ "${1:-}" = "--quick" ] && args=(-- --warm-up-time 1 --measurement-time 3)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(grep -o -w -m1 sha_ni /proc/cpuinfo || echo 'no sha_ni')" >&2
cargo bench -p webhook-intake --bench verify --bench pipeline "${args[@]}"
ensure_venv
start_moto
cargo build --release --workspace --bins
target/release/webhook-dev measure --bin-dir target/release
