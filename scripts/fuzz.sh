#!/usr/bin/env bash
# Fuzz the signature verifier and the request → delivery pipeline with cargo-fuzz
# (libFuzzer). Usage: scripts/fuzz.sh [seconds per target] [target...]
# The test command runs it for a few seconds; for a long run: scripts/fuzz.sh 3600
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
shift || true
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(verify delivery); fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz ..." >&2
  cargo install cargo-fuzz --locked --quiet
fi
# Stable Rust: no sanitizer (coverage-guided libFuzzer still runs, panics are caught).
export CARGO_TARGET_DIR="$PWD/fuzz/target"
# Seed the delivery corpus with the sample events (first byte selects the provider).
mkdir -p fuzz/corpus/delivery fuzz/corpus/verify
i=0
for provider in github github-enterprise gitlab; do
  for f in events/"$provider"/*.json; do
    { printf "\\x$(printf %02x "$i")"; cat "$f"; } > "fuzz/corpus/delivery/seed-$provider-$(basename "$f")"
  done
  i=$((i + 1))
done
printf 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\nHello, World!' > fuzz/corpus/verify/seed-doc-vector
for target in "${targets[@]}"; do
  echo "fuzzing $target for ${seconds}s ..." >&2
  (cd fuzz && cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=131072 -print_final_stats=1 2>&1 | grep -E "^(#|Done|stat::number_of_executed_units|==|thread|panicked|SUMMARY|artifact)" | tail -5)
done
