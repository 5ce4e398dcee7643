#!/usr/bin/env bash
# Our DAX client against the official ones, side by side in one run: GetItem cache hits through
# dax-local (--cache, item TTL 0 = never expires), so every measured GetItem is answered from
# dax-local's item cache and touches no backend.
#
#   rust   aws_sdk_dynamodb::Client over xacct_dax_transport::DaxTransport
#          (crates/dax-transport/examples/getitem_load.rs, release build)
#   rust-direct  the same transport's direct calls (DaxTransport::get_item, no SDK client):
#          the same example with --direct
#   node   @amazon-dax-sdk/client-dax 3.1.0 (scripts/bench/getitem_load.js), one event loop
#   python amazon-dax-client 2.1.0, synchronous (scripts/bench/getitem_load.py), N threads
#
# For each client and each in-flight count: throughput per client CPU-second (user + sys of the
# client process only, over the measured window; dax-local's CPU is not counted), throughput,
# and p50 / p99 / p99.9 latency. Prints one table (and the raw JSON lines to $OUT).
#
# Needs the local stack (scripts/stack/stack.sh start test) and the official clients
# (scripts/dax/setup.sh). Settings (environment):
#   SECONDS_PER_RUN=10 WARMUP=2 IN_FLIGHT="1 32" CLIENTS="rust rust-direct node python" ROUNDS=1
#   RUST_WORKERS=1 (tokio worker threads of our client; 0 = current-thread runtime)
#   XACCT_STACK_ENV_FILE (default .local-stack/instances/test/env), XACCT_TOOLS_HOME (.tools)
#   OUT=target/bench/dax-clients.jsonl
#   PROFILE=N: instead of the comparison, profile our client with callgrind (N GetItems; needs
#   valgrind) and print instructions per GetItem and the heaviest functions per GetItem;
#   PROFILE_OUT=dir keeps the callgrind files; PROFILE_DIRECT=1 profiles the direct calls
# Everything it starts (dax-local, clients) is stopped on exit, failure and Ctrl-C included.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
WARMUP=${WARMUP:-2}
IN_FLIGHT=${IN_FLIGHT:-"1 32"}
CLIENTS=${CLIENTS:-"rust rust-direct node python"}
ROUNDS=${ROUNDS:-1}
RUST_WORKERS=${RUST_WORKERS:-1}
OUT=${OUT:-target/bench/dax-clients.jsonl}
TOOLS=${XACCT_TOOLS_HOME:-$ROOT/.tools}
ENV_FILE=${XACCT_STACK_ENV_FILE:-$ROOT/.local-stack/instances/test/env}
PK="bench#dax-clients#$$"
SK=1

[[ -f "$ENV_FILE" ]] || { echo "no stack env file at $ENV_FILE: start the stack (scripts/stack/stack.sh start test)" >&2; exit 1; }
# shellcheck disable=SC1090
source "$ENV_FILE"
PY="$TOOLS/dax/venv/bin/python"
NODE_MODULES="$TOOLS/dax/node/node_modules"
[[ -x "$PY" && -d "$NODE_MODULES/@amazon-dax-sdk/client-dax" ]] ||
  { echo "the official DAX clients are missing under $TOOLS: run scripts/dax/setup.sh" >&2; exit 1; }

WORK=$(mktemp -d)
DAX_PID=""
CLIENT_PID=""
cleanup() {
  local rc=$?
  [[ -n "$CLIENT_PID" ]] && kill "$CLIENT_PID" 2>/dev/null || true
  exec 3>&- 2>/dev/null || true # closes dax-local's stdin: it exits (--stdin-close)
  if [[ -n "$DAX_PID" ]]; then
    kill "$DAX_PID" 2>/dev/null || true
    wait "$DAX_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building (release): dax-local, getitem_load" >&2
cargo build --release --quiet -p xacct-dax-local --bin dax-local -p xacct-dax-transport --example getitem_load
RUST_BIN=target/release/examples/getitem_load

# dax-local as account A against the stack; stdin is a FIFO this script holds open.
mkfifo "$WORK/stdin"
env -i PATH="$PATH" AWS_EC2_METADATA_DISABLED=true \
  AWS_ACCESS_KEY_ID="$XACCT_STACK_A_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$XACCT_STACK_A_SECRET_ACCESS_KEY" \
  target/release/dax-local --backend "$XACCT_STACK_ENDPOINT" --region "$XACCT_STACK_REGION" \
  --listen 127.0.0.1:0 --stdin-close --cache --item-ttl-ms 0 --query-ttl-ms 0 \
  <"$WORK/stdin" >"$WORK/dax-local.out" 2>"$WORK/dax-local.err" &
DAX_PID=$!
exec 3>"$WORK/stdin"
for _ in $(seq 100); do
  grep -q '^listening on' "$WORK/dax-local.out" 2>/dev/null && break
  kill -0 "$DAX_PID" 2>/dev/null || { cat "$WORK/dax-local.err" >&2; exit 1; }
  sleep 0.1
done
ENDPOINT=$(sed -n 's/^listening on //p' "$WORK/dax-local.out")
[[ -n "$ENDPOINT" ]] || { echo "dax-local did not start" >&2; cat "$WORK/dax-local.err" >&2; exit 1; }
echo "dax-local (pid $DAX_PID) at $ENDPOINT, table $XACCT_STACK_TABLE, key $PK/$SK" >&2

export AWS_ACCESS_KEY_ID=$XACCT_STACK_A_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$XACCT_STACK_A_SECRET_ACCESS_KEY
export AWS_EC2_METADATA_DISABLED=true
COMMON=(--endpoint "$ENDPOINT" --region "$XACCT_STACK_REGION" --table "$XACCT_STACK_TABLE" --pk "$PK" --sk "$SK")

# Seed the item through DAX (write-through), then warm the cache with a few GetItems.
"$RUST_BIN" "${COMMON[@]}" --seed --in-flight 1 --seconds 1 --warmup-seconds 0.2 >/dev/null

if [[ -n "${PROFILE:-}" ]]; then
  # Where our client's time goes: callgrind on getitem_load doing PROFILE GetItems (1 in
  # flight, no warm-up), and on PROFILE/10; the difference divided by the difference in
  # requests is the cost of one GetItem with setup subtracted. Then the heaviest functions of
  # the long run, per GetItem (inclusive and self).
  command -v valgrind >/dev/null || { echo "PROFILE needs valgrind" >&2; exit 1; }
  small=$((PROFILE / 10))
  for n in "$small" "$PROFILE"; do
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$n" "$RUST_BIN" "${COMMON[@]}" \
      --in-flight 1 --count "$n" --seconds 1000 --warmup-seconds 0 --workers "$RUST_WORKERS" ${PROFILE_DIRECT:+--direct} \
      >/dev/null 2>"$WORK/vg.$n" || { cat "$WORK/vg.$n" >&2; exit 1; }
  done
  if [[ -n "${PROFILE_OUT:-}" ]]; then # keep the callgrind files for callgrind_annotate --tree
    mkdir -p "$PROFILE_OUT" && cp "$WORK/cg.$small" "$WORK/cg.$PROFILE" "$PROFILE_OUT/"
  fi
  collected() { sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$WORK/vg.$1"; }
  echo "instructions per GetItem (callgrind, user space only): $(( ($(collected "$PROFILE") - $(collected "$small")) / (PROFILE - small) ))"
  for mode in yes no; do
    echo
    [[ $mode == yes ]] && echo "heaviest functions, inclusive, per GetItem:" || echo "heaviest functions, self, per GetItem:"
    callgrind_annotate --inclusive=$mode "$WORK/cg.$PROFILE" 2>/dev/null |
      python3 -c '
import re, sys
n = int(sys.argv[1]); shown = 0
for line in sys.stdin:
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S.*)", line)
    if not m or "PROGRAM TOTALS" in line: continue
    name = re.sub(r" \[/.*", "", m.group(2)).replace("???:", "")
    if re.search(r"(lang_start|__libc_start|below main|thread_start|FnOnce::call_once|blocking::pool|enter_runtime|__rust_begin_short_backtrace|worker::|task::raw::poll|task::harness|task::core|BlockingTask|Scoped<T>::set|^main$|0x0000)", name): continue
    cost = int(m.group(1).replace(chr(44), "")) / n
    print("%10.0f  %s" % (cost, name[:150]))
    shown += 1
    if shown == 30: break
' "$PROFILE"
  done
  exit 0
fi

run_client() { # client in_flight -> one JSON line on stdout
  local client=$1 n=$2
  local args=("${COMMON[@]}" --in-flight "$n" --seconds "$SECONDS_PER_RUN" --warmup-seconds "$WARMUP")
  case $client in
    rust) "$RUST_BIN" "${args[@]}" --workers "$RUST_WORKERS" >"$WORK/run.json" & ;;
    rust-direct) "$RUST_BIN" "${args[@]}" --workers "$RUST_WORKERS" --direct >"$WORK/run.json" & ;;
    node) NODE_PATH="$NODE_MODULES" node scripts/bench/getitem_load.js "${args[@]}" >"$WORK/run.json" & ;;
    python) "$PY" scripts/bench/getitem_load.py "${args[@]}" >"$WORK/run.json" & ;;
    *) echo "unknown client $client" >&2; return 1 ;;
  esac
  CLIENT_PID=$!
  wait "$CLIENT_PID"
  CLIENT_PID=""
  cat "$WORK/run.json"
}

mkdir -p "$(dirname "$OUT")"
: >"$OUT"
for round in $(seq "$ROUNDS"); do
  for n in $IN_FLIGHT; do
    for client in $CLIENTS; do
      echo "round $round: $client, $n in flight, ${SECONDS_PER_RUN}s" >&2
      line=$(run_client "$client" "$n")
      echo "$line" | python3 -c "import json,sys; d=json.load(sys.stdin); d['round']=$round; print(json.dumps(d))" >>"$OUT"
    done
  done
done

python3 - "$OUT" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"{'client':<17} {'in flight':>9} {'round':>5} {'requests':>9} {'err':>4} {'req/s':>9} "
      f"{'client CPU s':>12} {'user/sys':>9} {'req/CPU-s':>10} {'p50 µs':>8} {'p99 µs':>8} {'p99.9 µs':>9}")
for r in rows:
    print(f"{r['client']:<17} {r['in_flight']:>9} {r['round']:>5} {r['requests']:>9} {r['errors']:>4} "
          f"{r['req_per_s']:>9.0f} {r['cpu_s']:>12.2f} {r['cpu_user_s']:>4.2f}/{r['cpu_sys_s']:<4.2f} {r['req_per_cpu_s']:>10.0f} "
          f"{r['p50_us']:>8.1f} {r['p99_us']:>8.1f} {r['p999_us']:>9.1f}")
print()
print("ratios: medians over the rounds, same run")
by = {}
for r in rows:
    by.setdefault((r['in_flight'], r['client']), []).append(r)
def med(xs):
    xs = sorted(xs); k = len(xs) // 2
    return xs[k] if len(xs) % 2 else (xs[k - 1] + xs[k]) / 2
for n in sorted({k[0] for k in by}):
    for mine in ('rust-xacct', 'rust-xacct-direct'):
        ours = by.get((n, mine))
        for other in ('node-dax', 'python-dax'):
            o = by.get((n, other))
            if ours and o:
                a = med([r['req_per_cpu_s'] for r in ours]); b = med([r['req_per_cpu_s'] for r in o])
                t = med([r['req_per_s'] for r in ours]) / med([r['req_per_s'] for r in o])
                print(f"{n:>3} in flight: {mine} / {other}: {a / b:.2f}x requests per CPU-second, {t:.2f}x requests per second")
        if ours and n == 1:
            p99 = med([r['p99_us'] for r in ours])
            print(f"{n:>3} in flight: {mine} p99 {p99:.1f} µs (goal < 100 µs: {'met' if p99 < 100 else 'missed'})")
EOF
