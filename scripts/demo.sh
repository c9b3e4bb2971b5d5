#!/usr/bin/env bash
# Run the main job locally: moto server, dev secret records, a queue and a payload bucket,
# every sample delivery in events/ through the real function binaries, then the queued
# envelopes. With KEEP_MOTO=1 the server stays up afterwards (with the demo's queue and
# records) so webhook-dev invoke or the AWS CLI can be pointed at it; Ctrl-C stops it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
start_moto
echo "building (the first build takes a few minutes) ..." >&2
cargo build --workspace --bins
target/debug/webhook-dev demo "$@"
if [ "${KEEP_MOTO:-}" = 1 ]; then
  cat <<MSG

moto server stays up (Ctrl-C stops it). In another shell:
  export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=$AWS_REGION AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export QUEUE_URL=$AWS_ENDPOINT_URL/123456789012/webhook-intake-demo PAYLOAD_BUCKET=webhook-intake-demo-payloads
  target/debug/webhook-dev invoke --binary target/debug/github-webhook events/github/push.json
MSG
  wait "$MOTO_PID"
fi
