#!/usr/bin/env bash
# Runs the benchmarks against a DynamoDB Local this script starts and stops.
#   scripts/bench.sh [BENCH]    e.g. scripts/bench.sh enumeration
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export AWS_ENDPOINT_URL_DYNAMODB="$("$here/ddb-local.sh" start "$port")"
trap '"$here/ddb-local.sh" stop "$port"' EXIT
if [ $# -gt 0 ]; then
  cargo bench --bench "$1"
else
  cargo bench
fi
