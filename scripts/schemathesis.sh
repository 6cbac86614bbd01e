#!/usr/bin/env bash
# Fuzzes a running handler against openapi.yaml with schemathesis for a
# bounded time, and fails on any finding: a 5xx; a status, Content-Type,
# header or body the document does not list; a request the schema refuses
# that is not refused; a missing required header or an undocumented method
# not refused (405 with Allow); a secured route that answers without its
# credentials.
#
#   scripts/schemathesis.sh BASE_URL SECONDS [REPORT_DIR]
#
# BASE_URL is where the handler answers, behind a local HTTP front
# (http://127.0.0.1:PORT, no stage). SECONDS (at least 30) bounds the whole
# run: schemathesis tests for all of it but a margin, then is stopped if
# still running. REPORT_DIR, if given, receives junit.xml. Exits 0 only when
# nothing was found (1: findings, 2: the run could not be done, 124: over
# the budget).
#
# Reproducible: one worker, a fixed seed (SEED, default 1), no example
# database or cache kept from one run to the next. Nothing is sent anywhere
# but BASE_URL (no proxy, no redirect followed), and schemathesis 4 has no
# telemetry. positive_data_acceptance is left out: a request the schema
# allows may still be refused with 400 for what no schema can say (an
# unregistered client or redirect URI, a form token not issued, two client
# authentications, a password over 1024 bytes but not 1024 characters).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"

usage() { echo "usage: scripts/schemathesis.sh BASE_URL SECONDS [REPORT_DIR]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
base_url="$1"
secs="$2"
report_dir="${3:-}"
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -ge 30 ] || usage
seed="${SEED:-1}"

"$here/tools.sh" schemathesis

# Start, schema loading and the report take a few seconds; an answer in
# flight at the deadline may take up to the request timeout.
margin=$((secs / 10 > 15 ? secs / 10 : 15))
testing=$((secs - margin))

# Its caches (.schemathesis/, .hypothesis/) go to a scratch directory, not
# the working tree, and are dropped: every run starts from the seed alone.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The authorization endpoint reports a bad request to the client as a 302
# with `error` once the client and redirect URI are known good (RFC 6749
# §4.1.2.1), so a 302 refuses there too; tests/it/openapi.rs tells that
# redirect from a sign-in's (a `code`).
cat >"$work/schemathesis.toml" <<'EOF'
[cache]
enabled = false

[[operations]]
include-path = "/oauth2/authorize"
checks.negative_data_rejection.expected-statuses = ["302", "400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429"]
EOF

report=()
if [ -n "$report_dir" ]; then
  mkdir -p "$report_dir"
  report=(--report junit --report-junit-path "$(cd "$report_dir" && pwd)/junit.xml")
fi

echo "schemathesis: $base_url, ${testing}s of testing (${secs}s in all), seed $seed" >&2
status=0
(
  cd "$work"
  exec env NO_PROXY='*' no_proxy='*' HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis" \
    timeout --kill-after=5 "$secs" \
    "$TOOLS_DIR/schemathesis/bin/schemathesis" --config-file "$work/schemathesis.toml" --no-color \
    run "$root/openapi.yaml" \
    --url "$base_url" \
    --checks all --exclude-checks positive_data_acceptance \
    --seed "$seed" --workers 1 \
    --max-time "$testing" \
    --generation-database none --no-shrink --suppress-health-check too_slow \
    --request-timeout 10 --max-redirects 0 \
    ${report[@]+"${report[@]}"}
) || status=$?

case "$status" in
  0) echo "schemathesis: no finding" >&2 ;;
  124|137) echo "schemathesis: FAILED: still running after ${secs}s, stopped" >&2 ;;
  *) echo "schemathesis: FAILED (exit $status)" >&2 ;;
esac
exit "$status"
