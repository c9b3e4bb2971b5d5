# Shared by scripts/demo.sh and scripts/test.sh: a project-local virtualenv with moto
# server and cfn-lint, and a moto server on a free loopback port, stopped on exit.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
# Pinned so a new machine gets what the tests were run with.
PY_PACKAGES=("moto[server]==5.2.5" "cfn-lint==1.58.0")

ensure_venv() {
  if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/cfn-lint" ]; then
    echo "setting up $VENV (moto server, cfn-lint) ..." >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  fi
  export PATH="$VENV/bin:$PATH"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Starts moto server and points the AWS SDK at it (dummy credentials, one region).
start_moto() {
  local port log
  port="$(free_port)"
  mkdir -p "$ROOT/.moto"
  log="$ROOT/.moto/server.log"
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
  MOTO_PID=$!
  trap stop_moto EXIT
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then
      export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
      export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
      unset AWS_PROFILE AWS_SESSION_TOKEN
      echo "moto server on $AWS_ENDPOINT_URL (pid $MOTO_PID, log $log)" >&2
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "moto server did not start; its log:" >&2
  cat "$log" >&2
  return 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
    MOTO_PID=
  fi
}
