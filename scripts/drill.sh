#!/usr/bin/env bash
# The multi-region drill (docs/multi-region.md): two DynamoDB Locals, a
# replicator between them, and two issuer processes, one per "Region";
# prints what each client sees under eventually consistent global tables
# and under the chosen layout. Takes about a minute after the build.
#   scripts/drill.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_a="$(free_port)"
port_b="$(free_port)"
cleanup() {
  "$here/ddb-local.sh" stop "$port_a" || true
  "$here/ddb-local.sh" stop "$port_b" || true
}
trap cleanup EXIT
DRILL_DDB_A="$("$here/ddb-local.sh" start "$port_a")"
DRILL_DDB_B="$("$here/ddb-local.sh" start "$port_b")"
export DRILL_DDB_A DRILL_DDB_B

# The debug builds the tests use: the drill is about behaviour, not speed.
cargo build -q --bin token-issuer --bin token-admin
export DRILL_ISSUER_BIN="$root/target/debug/token-issuer"
export DRILL_ADMIN_BIN="$root/target/debug/token-admin"

# One signing key and one factor key for both Regions, as the replicated
# secrets give them.
work="$(mktemp -d)"
trap 'cleanup; rm -rf "$work"' EXIT
export SIGNING_KEY_FILE="$work/signing-key.pem"
export FACTOR_KEY_FILE="$work/factor-key"
"$DRILL_ADMIN_BIN" keys generate --out "$SIGNING_KEY_FILE" >/dev/null
(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$FACTOR_KEY_FILE")

python3 "$root/tools/drill/drill.py" "$@"
