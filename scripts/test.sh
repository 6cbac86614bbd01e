#!/usr/bin/env bash
# Runs every test: unit tests, and integration tests of the real handler and
# token-admin against a DynamoDB Local that this script starts and stops.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh --test dialect_v2).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"

# A free port, so two test runs on one machine never share (or stop) one DynamoDB Local.
port="${DDB_TEST_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
endpoint="$("$here/ddb-local.sh" start "$port")"
trap '"$here/ddb-local.sh" stop "$port"' EXIT
export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
echo "test: DynamoDB Local at $endpoint" >&2

cargo test --all-targets "$@"
