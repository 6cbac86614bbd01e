#!/usr/bin/env bash
# Rotates one refresh family ROTATIONS times (default 50,000) against a
# DynamoDB Local this script starts and stops, and prints the family item's
# size and the write units of the first and last rotation.
#   scripts/soak.sh [ROTATIONS]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."
# shellcheck source=env.sh
source "$here/env.sh"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export AWS_ENDPOINT_URL_DYNAMODB="$("$here/ddb-local.sh" start "$port")"
trap '"$here/ddb-local.sh" stop "$port"' EXIT
# The dev build: DynamoDB Local, not the client, is what takes the time.
cargo run -q --example soak -- "${1:-50000}"
