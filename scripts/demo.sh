#!/usr/bin/env bash
# The main demo: starts the local AWS stack, runs examples/quickstart.rs (the HTTP path) and
# examples/dax_quickstart.rs (the DAX path, through a local DAX gateway) against it, stops the stack.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
INSTANCE=${XACCT_DEMO_INSTANCE:-demo}
STACK="bash scripts/stack/stack.sh"
started=0
if ! $STACK status "$INSTANCE" >/dev/null 2>&1; then started=1; fi
trap '[ "$started" = 1 ] && $STACK stop "$INSTANCE" >/dev/null 2>&1 || true' EXIT
$STACK start "$INSTANCE" >/dev/null
set -a
# shellcheck disable=SC1090
. "$($STACK env "$INSTANCE")"
set +a
export AWS_EC2_METADATA_DISABLED=true
cargo run --quiet --example quickstart -- "$@"
if [ "$#" -eq 0 ]; then
  echo
  echo "--- the same account A, over DAX (examples/dax_quickstart.rs) ---"
  cargo run --quiet --features gateway --example dax_quickstart
fi
