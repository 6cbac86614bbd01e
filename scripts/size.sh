#!/usr/bin/env bash
# The size budget of the shipped functions, as Lambda gets them (the arm64
# `bootstrap` of `cargo lambda build --release --arm64`): the issuer at most
# 8 MiB, the authorizer at most 6 MiB. CI runs it after its arm64 build. Over
# budget, it builds the function again unstripped (in target/size, so the
# shipped build is untouched), prints its biggest contributors by crate and
# fails.
#
#   scripts/size.sh            check the last arm64 build
#   scripts/size.sh --build    build first
#
# ISSUER_BUDGET_MIB and AUTHORIZER_BUDGET_MIB override the budgets (to see the
# report of a failure: ISSUER_BUDGET_MIB=5 scripts/size.sh).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
# shellcheck source=env.sh
source "$here/env.sh"
target="${CARGO_TARGET_DIR:-$root/target}"
bins=(token-issuer token-authorizer)
declare -A budget=(
  [token-issuer]="${ISSUER_BUDGET_MIB:-8}"
  [token-authorizer]="${AUTHORIZER_BUDGET_MIB:-6}"
)

if [ "${1:-}" = --build ]; then
  "$here/tools.sh" lambda arm64
  cargo lambda build --release --arm64 --bin token-issuer --bin token-authorizer
fi

over=()
for bin in "${bins[@]}"; do
  file="$target/lambda/$bin/bootstrap"
  [ -f "$file" ] || { echo "size: $file is missing (scripts/size.sh --build makes it)" >&2; exit 2; }
  bytes=$(stat -c %s "$file")
  limit=$(awk -v mib="${budget[$bin]}" 'BEGIN { printf "%d", mib * 1048576 }')
  verdict=ok
  if [ "$bytes" -gt "$limit" ]; then verdict="OVER BUDGET"; over+=("$bin"); fi
  awk -v b="$bin" -v n="$bytes" -v mib="${budget[$bin]}" -v v="$verdict" \
    'BEGIN { printf "size: %-17s %10d bytes = %5.2f MiB  (budget %s MiB)  %s\n", b, n, n / 1048576, mib, v }'
done
[ ${#over[@]} -eq 0 ] && exit 0

# The contributors: the same build with its symbols kept, summed by crate.
echo "size: building ${over[*]} unstripped to name the biggest contributors" >&2
args=()
for bin in "${over[@]}"; do args+=(--bin "$bin"); done
CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR="$root/target/size" \
  cargo lambda build --release --arm64 "${args[@]}" >&2
for bin in "${over[@]}"; do
  echo
  echo "$bin: biggest contributors (code and data by crate, unstripped symbol sizes)"
  nm --print-size --size-sort --demangle "$root/target/size/lambda/$bin/bootstrap" | python3 -c '
import collections, re, sys
by_crate = collections.Counter()
for line in sys.stdin:
    parts = line.split(None, 3)
    if len(parts) < 4:
        continue
    name = parts[3]
    # <a::T as b::Trait>::f and &dyn a::T belong to the crate of the type.
    m = re.match(r"^[<&]*(?:dyn |impl )?([A-Za-z_][A-Za-z0-9_]*)::", name)
    by_crate[m.group(1) if m else "(C, assembly and unnamed: ring's, libc, ...)"] += int(parts[1], 16)
total = sum(by_crate.values())
for crate, size in by_crate.most_common(20):
    print("  %8.1f KiB  %4.1f %%  %s" % (size / 1024, 100 * size / total, crate))
'
done
exit 1
