#!/usr/bin/env bash
# Runs the benchmarks against a DynamoDB Local this script starts and stops,
# after building the release binaries they measure.
#   scripts/bench.sh [BENCH]    BENCH: issuer (figures, target/bench/summary.json)
#                               or enumeration (failure timings); default both
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export AWS_ENDPOINT_URL_DYNAMODB="$("$here/ddb-local.sh" start "$port")"
trap '"$here/ddb-local.sh" stop "$port"' EXIT
# The release binaries the cold-start and memory figures run, built as shipped.
cargo build --release --bin token-issuer --bin token-authorizer --example hello
# Always (a no-op when nothing changed): a stale bootstrap gives a stale size.
"$here/tools.sh" lambda arm64
cargo lambda build --release --arm64 --bin token-issuer
if [ $# -gt 0 ]; then
  cargo bench --bench "$1"
else
  cargo bench
fi
