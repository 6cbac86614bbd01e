#!/usr/bin/env bash
# Runs the issuer locally: installs what it needs, starts DynamoDB Local,
# creates the tables and a demo user (whose credentials it prints), then
# serves the function with `cargo lambda watch` on http://127.0.0.1:9000.
#
# Settings (environment): DEMO_USERNAME (admin), DEMO_PASSWORD (random),
# DDB_PORT (8000), PORT (9000), and any of the function's settings.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"

"$here/tools.sh" ddb lambda
ddb_port="${DDB_PORT:-8000}"
port="${PORT:-9000}"
endpoint="$("$here/ddb-local.sh" start "$ddb_port")"
trap '"$here/ddb-local.sh" stop "$ddb_port"' EXIT

mkdir -p .local
export AWS_ENDPOINT_URL_DYNAMODB="$endpoint"
export USERS_TABLE="${USERS_TABLE:-token-issuer-users}"
export TOKENS_TABLE="${TOKENS_TABLE:-token-issuer-tokens}"
export AUDIENCE="${AUDIENCE:-token-issuer}"
export RUST_LOG="${RUST_LOG:-info}"
# Locally the API is plain http on the watcher's port: say so, so jwks_uri is reachable.
export ISSUER="${ISSUER:-http://127.0.0.1:$port}"
# One key file for every restart of the watcher, so tokens outlive a reload.
export SIGNING_KEY_FILE="${SIGNING_KEY_FILE:-$root/.local/signing-key.pem}"

# Likewise the key that seals second factors, so enrolments outlive a reload.
export FACTOR_KEY_FILE="${FACTOR_KEY_FILE:-$root/.local/factor-key}"

admin() { cargo run --quiet --bin token-admin -- "$@"; }
[ -f "$SIGNING_KEY_FILE" ] || admin keys generate --out "$SIGNING_KEY_FILE"
[ -f "$FACTOR_KEY_FILE" ] || (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$FACTOR_KEY_FILE")
admin tables create

user="${DEMO_USERNAME:-admin}"
password="${DEMO_PASSWORD:-demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}"
if ! printf '%s' "$password" | admin user create --username "$user" --password-stdin \
  --full-name "Demo Admin" --email "admin@example.com" --role 2 --roles Administrator 2>/dev/null; then
  printf '%s' "$password" | admin user set-password --username "$user" --password-stdin
fi

# cargo lambda watch hands the function this file's settings.
env_file=.local/dev.env
{
  for v in AWS_ENDPOINT_URL_DYNAMODB AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION \
    AWS_EC2_METADATA_DISABLED USERS_TABLE TOKENS_TABLE AUDIENCE RUST_LOG SIGNING_KEY_FILE \
    FACTOR_KEY_FILE ISSUER ACCESS_TOKEN_TTL_SECONDS REFRESH_TOKEN_TTL_SECONDS; do
    [ -n "${!v:-}" ] && echo "$v=${!v}"
  done
} >"$env_file"

cat <<TXT

  token issuer: http://127.0.0.1:$port   (DynamoDB Local: $endpoint)
  demo user:    $user
  password:     $password

  curl -s http://127.0.0.1:$port/api/v2/auth/token -H 'content-type: application/json' \\
       -d '{"username":"$user","password":"$password"}'

TXT
cargo lambda watch --bin token-issuer --invoke-address 127.0.0.1 --invoke-port "$port" --env-file "$env_file"
