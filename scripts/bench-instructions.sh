#!/usr/bin/env bash
# Instructions per GetItem (callgrind), static credentials vs ours vs the anchor: repeatable on
# a busy machine. Each variant runs twice, with N and with 0 requests; the difference / N is
# the per-request cost with setup subtracted. Needs valgrind (apt-get install valgrind).
# `+meter` variants run with an in-memory telemetry provider set as the SDK's global one (the
# others with the SDK's no-op default). Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${N:-2000}
cargo build --release --quiet --example request_cost
BIN=${CARGO_TARGET_DIR:-target}/release/examples/request_cost
instr() {
  local out
  out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 >/dev/null)
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' <<<"$out"
}
declare -A per
for v in static static-account ours ours-bare anchor static-account+meter ours+meter; do
  full=$(instr "$v" "$N"); base=$(instr "$v" 0)
  per[$v]=$(( (full - base) / N ))
  printf '%-20s %9d instructions per GetItem (N=%d)\n' "$v" "${per[$v]}" "$N"
done
# Like for like: AssumeRole credentials carry the account id (DynamoDB's endpoint rules use it),
# so the fair static baseline is static credentials with the same account id.
awk -v sm="${per[static-account+meter]}" -v om="${per[ours+meter]}" -v s="${per[static-account]}" -v p="${per[static]}" -v o="${per[ours]}" -v b="${per[ours-bare]}" -v a="${per[anchor]}" 'BEGIN {
  printf "ours vs static (same account id):      %+.2f%%\n", (o - s) * 100 / s
  printf "anchor vs static (same account id):    %+.2f%%\n", (a - s) * 100 / s
  printf "ours-bare vs static (same account id): %+.2f%%\n", (b - s) * 100 / s
  printf "static with account id vs without:     %+.2f%%\n", (s - p) * 100 / p
  printf "ours vs static, both with a meter:     %+.2f%%\n", (om - sm) * 100 / sm
  printf "a meter set vs none (static):          %+.2f%%\n", (sm - s) * 100 / s
  printf "a meter set vs none (ours):            %+.2f%%\n", (om - o) * 100 / o
}'
