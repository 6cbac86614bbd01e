#!/usr/bin/env bash
# Runs the benchmarks against a DynamoDB Local this script starts and stops,
# after building the release binaries they measure. The harness is the
# workspace member tools/bench (package token-issuer-bench).
#   scripts/bench.sh [BENCH]    BENCH: issuer (figures, target/bench/summary.json),
#                               enumeration (failure timings), or lambda (the
#                               Lambda-shaped mode: CPU shares per memory size, TLS
#                               to storage, throughput); default issuer and enumeration
#   scripts/bench.sh pair       two builds of the function (or two keys of the TLS
#                               terminator) cold-started alternately under one CPU
#                               share, paired: PAIR_A_BIN, PAIR_B_BIN (a copy of an
#                               earlier target/release/bench-issuer), PAIR_A_KEY,
#                               PAIR_B_KEY (server or server-ec), PAIR_MB, PAIR_N
#   BENCH_STORAGE_IDLE=1        (lambda, pair) let DynamoDB Local idle while the
#                               launcher waits before each cold start, as it did
#                               before it was kept answering
#   BENCH_QUOTA_PERIOD_MS=20    (lambda, pair) the CPU quota's period, ms (default
#                               100, the kernel's; Lambda's is observed to be 20)
#   BENCH_MEMORY_SIZES=128,256  (lambda) the memory sizes timed (default
#                               128,512,1769)
#   BENCH_FUNCTION_LOG=FILE     (lambda, pair) every started function's log lines,
#                               added to FILE
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"
case "${1:-}" in
  "" | issuer | enumeration | lambda | pair) ;;
  *) echo "usage: scripts/bench.sh [issuer|enumeration|lambda|pair]" >&2; exit 2 ;;
esac
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export AWS_ENDPOINT_URL_DYNAMODB="$("$here/ddb-local.sh" start "$port")"
trap '"$here/ddb-local.sh" stop "$port"' EXIT
# The shipped functions, built as shipped (their own package alone, so
# nothing of the bench's builds into them), then the harness and the bench's
# own builds: bench-hello (the empty function), bench-first-login and
# bench-issuer (which alone trust the bench's TLS terminator). All land in
# the target directory's release/, where the harness finds them beside itself.
build() {
  cargo build --release -p token-issuer --bin token-issuer --bin token-authorizer
  cargo build --release -p token-issuer-bench
}
bench="${CARGO_TARGET_DIR:-$root/target}/release/token-issuer-bench"
if [ "${1:-}" = lambda ] || [ "${1:-}" = pair ]; then
  # Lambda-shaped: CPU shares per memory size (cgroups; root), TLS to
  # DynamoDB Local through a terminator with the bench's own CA, which only
  # the bench's builds trust.
  tls="$root/target/bench/tls"
  if [ ! -f "$tls/server.pem" ]; then
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" -days 30 \
      -subj /CN=token-issuer-bench-ca -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout "$tls/server.key" -out "$tls/server.csr" \
      -subj /CN=localhost 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
    openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
      -out "$tls/server.pem" -days 30 -extfile "$tls/ext" 2>/dev/null
  fi
  # The same name with an ECDSA P-256 key, for `pair`: a terminator whose
  # handshakes cost this machine's cores a fraction of the RSA key's.
  if [ ! -f "$tls/server-ec.pem" ]; then
    openssl ecparam -genkey -name prime256v1 2>/dev/null \
      | openssl pkcs8 -topk8 -nocrypt -out "$tls/server-ec.key"
    openssl req -new -key "$tls/server-ec.key" -subj /CN=localhost -out "$tls/server-ec.csr" 2>/dev/null
    openssl x509 -req -in "$tls/server-ec.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
      -out "$tls/server-ec.pem" -days 30 -extfile "$tls/ext" 2>/dev/null
  fi
  # One run: the issuer's own figures (login_overhead_ratio among them), then
  # the Lambda-shaped ones. binary_size_mib is that of the last arm64 build
  # (scripts/bench.sh issuer makes it).
  build
  if [ "$1" = pair ]; then
    "$bench" pair
  else
    "$bench" issuer lambda
  fi
  exit 0
fi
build
# Always (a no-op when nothing changed): a stale bootstrap gives a stale size.
"$here/tools.sh" lambda arm64
cargo lambda build --release --arm64 --bin token-issuer
# Each in a process of its own, with fresh tables.
if [ $# -gt 0 ]; then modes=("$1"); else modes=(enumeration issuer); fi
for mode in "${modes[@]}"; do
  "$bench" "$mode"
done
