#!/usr/bin/env bash
# Fuzzes every route's request decoding (fuzz/fuzz_targets) for a bounded time
# per target and prints the inputs tried and failures.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     default 60; CI runs 15
#
# libFuzzer on the stable toolchain: coverage-guided, without a sanitizer (the
# code under test is safe Rust; a panic or a failed assertion is the finding).
# A crash leaves its input in fuzz/artifacts/<target>/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
cd "$root/fuzz"
cargo fuzz build -O -s none
mkdir -p "$root/target"
total=0
failed=0
for t in $(cargo fuzz list); do
  log="$root/target/fuzz-$t.log"
  if cargo fuzz run -O -s none "$t" -- -max_total_time="$secs" >"$log" 2>&1; then
    runs=$(grep -oE 'Done [0-9]+ runs' "$log" | tail -n 1 | awk '{print $2}')
    runs=${runs:-0}
    total=$((total + runs))
    echo "fuzz: $t: $runs inputs in ${secs}s, no failure"
  else
    failed=$((failed + 1))
    echo "fuzz: $t: FAILED; input kept under fuzz/artifacts/$t/" >&2
    tail -n 40 "$log" >&2
  fi
done
echo "fuzz: $total inputs in total, $failed targets failed"
[ "$failed" -eq 0 ]
