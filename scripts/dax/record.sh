#!/usr/bin/env bash
# Regenerate the golden DAX fixtures in crates/dax-protocol/tests/fixtures/ (see scripts/dax/README.md).
#
#   bash scripts/dax/record.sh            # setup (idempotent), record both clients, build, check
#   KEEP_WORK=1 bash scripts/dax/record.sh  # keep the raw logs (path printed)
#
# For each client a fresh responder (127.0.0.1, port 0) is started, so attribute-list ids
# start at 100 for both and the two recordings are comparable. Every process started here
# is stopped on exit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TOOLS="${XACCT_TOOLS_HOME:-$ROOT/.tools}"
OUT="$ROOT/crates/dax-protocol/tests/fixtures"
export XACCT_TOOLS_HOME="$TOOLS"
export XACCT_DAX_NODE_DIR="$TOOLS/dax/node"
SECRET="AKIDEXAMPLE=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# The endpoints reply carries the responder's port; a fixed port (if free) keeps the fixtures
# byte-identical run to run. 0 = any free port.
PORT="${XACCT_DAX_PORT:-18111}"

bash "$HERE/setup.sh"
python3 "$HERE/responder.py" --selftest >/dev/null || {
  python3 "$HERE/responder.py" --selftest
  exit 1
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/dax-record.XXXXXX")"
RESP_PID=""
cleanup() {
  if [[ -n "$RESP_PID" ]] && kill -0 "$RESP_PID" 2>/dev/null; then
    kill "$RESP_PID" 2>/dev/null || true
    wait "$RESP_PID" 2>/dev/null || true
  fi
  if [[ -z "${KEEP_WORK:-}" ]]; then rm -rf "$WORK"; else echo "raw logs kept in $WORK"; fi
}
trap cleanup EXIT

python3 "$HERE/calls.py" >"$WORK/calls.json"

shutdown_responder() {
  python3 - "$1" <<'EOF'
import json, socket, sys
port = json.load(open(sys.argv[1]))["control_port"]
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b'{"cmd": "shutdown"}\n')
s.recv(100)
EOF
}

for client in python node; do
  ports="$WORK/$client.ports.json"
  python3 "$HERE/responder.py" --ports-file "$ports" --log "$WORK/$client.frames.jsonl" \
    --port "$PORT" --secret "$SECRET" --max-seconds 900 >"$WORK/$client.responder.out" 2>"$WORK/$client.responder.err" &
  RESP_PID=$!
  for _ in $(seq 100); do [[ -s "$ports" ]] && break; sleep 0.1; done
  [[ -s "$ports" ]] || { echo "responder did not start" >&2; cat "$WORK/$client.responder.err" >&2; exit 1; }
  t0=$(date +%s.%N)
  if [[ "$client" == python ]]; then
    timeout 600 "$TOOLS/dax/venv/bin/python" "$HERE/record_python.py" --ports "$ports" \
      --calls "$WORK/calls.json" --out "$WORK/$client.results.jsonl"
  else
    timeout 600 node "$HERE/record_node.js" --ports "$ports" \
      --calls "$WORK/calls.json" --out "$WORK/$client.results.jsonl"
  fi
  echo "$client: recorded in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')s"
  shutdown_responder "$ports"
  wait "$RESP_PID" || true
  RESP_PID=""
  if grep -q responder_error "$WORK/$client.frames.jsonl"; then
    echo "responder errors:" >&2
    grep responder_error "$WORK/$client.frames.jsonl" >&2
    exit 1
  fi
done

python3 "$HERE/build_fixtures.py" --work "$WORK" --out "$OUT"
python3 "$HERE/check_manifest.py"
