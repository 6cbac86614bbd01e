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
recorder_pid=""
cleanup() {
  "$here/ddb-local.sh" stop "$port"
  [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
  [ -n "$recorder_pid" ] && kill "$recorder_pid" 2>/dev/null || true
}
trap cleanup EXIT
export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
echo "test: DynamoDB Local at $endpoint" >&2

# Chromium and chromedriver for the login page's browser test; the MCP SDK;
# openid-client.
"$here/tools.sh" browser mcp oidc

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
echo "test: Secrets Manager (moto) at http://127.0.0.1:$moto_port" >&2

# Every AWS call goes through a recorder, so the calls each binary makes can
# be held against its IAM policy in template.yaml (tests/it/iam.rs): the
# emulators ignore IAM.
export AWS_CALL_LOG="$root/target/aws-calls.jsonl"
: >"$AWS_CALL_LOG"
recorder_port="$(free_port)"
python3 "$here/aws-recorder.py" "$recorder_port" "$endpoint" "http://127.0.0.1:$moto_port" "$AWS_CALL_LOG" \
  >"$root/target/aws-recorder.log" 2>&1 &
recorder_pid=$!
for _ in $(seq 1 60); do
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$recorder_port/" && break
  kill -0 "$recorder_pid" 2>/dev/null || { cat "$root/target/aws-recorder.log" >&2; exit 1; }
  sleep 0.2
done
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$recorder_port"
export AWS_ENDPOINT_URL_SECRETS_MANAGER="http://127.0.0.1:$recorder_port"
echo "test: AWS calls recorded in $AWS_CALL_LOG" >&2

if [ "$#" -gt 0 ]; then
  cargo test "$@"
  # A part of the suite: its calls must be allowed; unused grants need all of it.
  cargo test --test it -- --ignored --exact iam::every_recorded_call_is_allowed_by_the_template
else
  cargo test --all-targets
  # The outside fuzzer against the handler (bounded: SCHEMATHESIS_SECONDS).
  cargo test --test it -- --ignored schemathesis::
  # Last: the calls of the whole run, the fuzzer's included.
  cargo test --test it -- --ignored iam::
fi
