#!/usr/bin/env bash
# Build the stack as a deployment would (`sam build`: cargo-lambda, arm64, provided.al2023),
# then send the demo's deliveries through those built arm64 bootstraps under qemu-user: the
# same statuses and envelopes as scripts/demo.sh, checked on the artifacts that get deployed.
# Not part of the test command: it fetches the SAM CLI, cargo-lambda (with Zig), the aarch64
# standard library and qemu, and the arm64 release build takes about 10 minutes on 2 cores.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
SAM_VENV="$ROOT/.venv-sam"
SAM_PACKAGES=("aws-sam-cli==1.170.0" "cargo-lambda==1.9.2")
SYSROOT=/usr/aarch64-linux-gnu

if [ ! -x "$SAM_VENV/bin/sam" ] || [ ! -x "$SAM_VENV/bin/cargo-lambda" ]; then
  echo "setting up $SAM_VENV (SAM CLI, cargo-lambda) ..." >&2
  python3 -m venv "$SAM_VENV"
  "$SAM_VENV/bin/pip" install --quiet --disable-pip-version-check "${SAM_PACKAGES[@]}"
fi
rustup target add aarch64-unknown-linux-gnu >&2
export SAM_CLI_TELEMETRY=0
PATH="$SAM_VENV/bin:$PATH" sam build </dev/null

echo "built (stripped, arm64):"
for f in .aws-sam/build/*/bootstrap; do
  printf '  %-45s %s bytes\n' "$f" "$(stat -c %s "$f")"
done

if ! command -v qemu-aarch64-static >/dev/null || [ ! -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing qemu-user and the arm64 C library to run the bootstraps ..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross >&2
  else
    echo "to run them here: apt-get install qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross" >&2
    exit 0
  fi
fi

# The demo runs binaries by name from --bin-dir: one small launcher per function.
bins="$(mktemp -d)"
trap 'rm -rf "$bins"; stop_moto' EXIT
for pair in github-webhook:GitHubWebhookFunction github-enterprise-webhook:GitHubEnterpriseWebhookFunction \
  gitlab-webhook:GitLabWebhookFunction; do
  printf '#!/bin/sh\nexec qemu-aarch64-static -L %s "%s/.aws-sam/build/%s/bootstrap" "$@"\n' \
    "$SYSROOT" "$ROOT" "${pair#*:}" >"$bins/${pair%%:*}"
  chmod +x "$bins/${pair%%:*}"
done
ensure_venv
start_moto
trap 'rm -rf "$bins"; stop_moto' EXIT
cargo build -p webhook-dev
target/debug/webhook-dev demo --bin-dir "$bins"
