#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests of the real handler and
# token-admin against a DynamoDB Local (and a moto Secrets Manager) that this
# script starts and stops.
# Arguments, if any, replace `--all-targets` (e.g. scripts/test.sh --test it refresh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"

# A free port, so two test runs on one machine never share (or stop) one DynamoDB Local.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Free ports, so two test runs on one machine never share (or stop) one server.
port="${DDB_TEST_PORT:-$(free_port)}"
endpoint="$("$here/ddb-local.sh" start "$port")"
moto_pid=""
cleanup() {
  "$here/ddb-local.sh" stop "$port"
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
}
trap cleanup EXIT
export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
echo "test: DynamoDB Local at $endpoint" >&2

# Chromium and chromedriver for the login page's browser test.
"$here/tools.sh" browser

# Secrets Manager for the key-ring tests: moto's server, through the real SDK.
"$here/tools.sh" moto
moto_port="$(free_port)"
"$TOOLS_DIR/moto/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$root/target/moto-$moto_port.log" 2>&1 &
moto_pid=$!
for _ in $(seq 1 60); do
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$moto_port/moto-api/" && break
  kill -0 "$moto_pid" 2>/dev/null || { cat "$root/target/moto-$moto_port.log" >&2; exit 1; }
  sleep 0.5
done
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$moto_port"
echo "test: Secrets Manager (moto) at $AWS_ENDPOINT_URL_SECRETS_MANAGER" >&2

if [ "$#" -gt 0 ]; then
  cargo test "$@"
else
  cargo test --all-targets
fi
