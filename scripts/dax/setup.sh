#!/usr/bin/env bash
# Idempotent install of the two official DAX clients used to record golden frames:
#   * Python amazon-dax-client 2.1.0 into   $TOOLS/dax/venv          (scripts/dax/requirements*.lock)
#   * Node @amazon-dax-sdk/client-dax 3.1.0 $TOOLS/dax/node/node_modules (scripts/dax/node/package-lock.json)
# TOOLS = $XACCT_TOOLS_HOME, default <repo>/.tools (git-ignored).
# Each part is reinstalled only when it is missing or its lock files changed (a stamp
# file holds the sha256 of the inputs). Needs python3 (3.9+) with venv, node 18+ and npm;
# network access to PyPI and the npm registry only on (re)install.
# Prints "<part>: up to date" or "<part>: installed in N.NNs".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TOOLS="${XACCT_TOOLS_HOME:-$ROOT/.tools}"
VENV="$TOOLS/dax/venv"
NODE_DIR="$TOOLS/dax/node"
mkdir -p "$TOOLS/dax"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
sha_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------- Python
py_stamp="$(
  { sha_of "$HERE/requirements.lock" "$HERE/requirements-build.lock"; python3 -VV; } | sha256sum | cut -d' ' -f1
)"
if [[ -x "$VENV/bin/python" && -f "$VENV/.xacct-lock-stamp" && "$(cat "$VENV/.xacct-lock-stamp")" == "$py_stamp" ]] &&
  "$VENV/bin/python" -c 'import amazondax' 2>/dev/null; then
  echo "python: up to date ($VENV)"
else
  t0="$(now)"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  # Build requirements of the sdist first (pinned setuptools + wheel), then the runtime lock.
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
    -r "$HERE/requirements-build.lock"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
    --no-build-isolation -r "$HERE/requirements.lock"
  "$VENV/bin/pip" check >/dev/null
  "$VENV/bin/python" -c 'import amazondax, importlib.metadata as m; assert m.version("amazon-dax-client") == "2.1.0"'
  echo "$py_stamp" >"$VENV/.xacct-lock-stamp"
  echo "python: installed in $(elapsed "$t0")s ($VENV)"
fi

# ---------------------------------------------------------------- Node
node_stamp="$(
  { sha_of "$HERE/node/package.json" "$HERE/node/package-lock.json"; node --version; } | sha256sum | cut -d' ' -f1
)"
if [[ -f "$NODE_DIR/.xacct-lock-stamp" && "$(cat "$NODE_DIR/.xacct-lock-stamp")" == "$node_stamp" &&
  -f "$NODE_DIR/node_modules/@amazon-dax-sdk/client-dax/package.json" ]]; then
  echo "node: up to date ($NODE_DIR)"
else
  t0="$(now)"
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  cp "$HERE/node/package.json" "$HERE/node/package-lock.json" "$NODE_DIR/"
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error 2>&1 |
    { grep -v 'Unknown user config' || true; })
  v="$(node -p "require('$NODE_DIR/node_modules/@amazon-dax-sdk/client-dax/package.json').version")"
  [[ "$v" == "3.1.0" ]] || { echo "node: expected client-dax 3.1.0, got $v" >&2; exit 1; }
  echo "$node_stamp" >"$NODE_DIR/.xacct-lock-stamp"
  echo "node: installed in $(elapsed "$t0")s ($NODE_DIR)"
fi
