#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing, starts the local AWS stack,
# runs format, lint, tests and a bench build, and stops the stack it started even when a step fails.
# Needs python3 (with venv), cargo, and node/npm (scripts/dax/setup.sh installs the official DAX
# clients: the Python one is the oracle of tests/dax_differential.rs).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

INSTANCE=${XACCT_TEST_INSTANCE:-test}
STACK="bash scripts/stack/stack.sh"
started=0
cleanup() {
  local rc=$?
  if [ "$started" = 1 ]; then $STACK stop "$INSTANCE" >/dev/null 2>&1 || true; fi
  # private instances a killed test run may have left behind
  for dir in .local-stack/instances/*/; do
    name=$(basename "$dir")
    case "$name" in default|"$INSTANCE") ;; *) $STACK stop "$name" >/dev/null 2>&1 || true ;; esac
  done
  exit "$rc"
}
trap cleanup EXIT

T0=$SECONDS
step() { printf '\n==> %s (at %ds)\n' "$*" "$((SECONDS - T0))"; }

if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

step "format"
cargo fmt --all --check

step "local AWS stack ($INSTANCE)"
if ! $STACK status "$INSTANCE" >/dev/null 2>&1; then started=1; fi
$STACK start "$INSTANCE"
XACCT_STACK_ENV_FILE=$($STACK env "$INSTANCE")
export XACCT_STACK_ENV_FILE
# Tests must never fall back to a developer's real AWS setup.
export AWS_EC2_METADATA_DISABLED=true

# Clippy on what users build: the root crate without default features, with the defaults,
# with DAX, and the whole workspace with every feature and target.
step "clippy (root crate, --no-default-features)"
cargo clippy -p cross-account-dynamodb --no-default-features -- -D warnings
step "clippy (root crate, default features)"
cargo clippy -p cross-account-dynamodb -- -D warnings
step "clippy (root crate, --features dax)"
cargo clippy -p cross-account-dynamodb --features dax -- -D warnings
step "clippy (workspace, --all-features, all targets)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "bench build"
# That the benches compile, with the dev profile: its dependencies are the ones the tests build
# next, where a release build would compile every dependency a second time (minutes on 2 cores).
# `cargo bench` (release) is for measuring: BENCHMARKS.md says how each figure was taken.
cargo bench --workspace --all-features --no-run --profile dev

if [ -f crates/dax-protocol/tests/fixtures/manifest.json ]; then
  step "DAX fixture manifest"
  python3 scripts/dax/check_manifest.py
fi

step "DAX reference clients (the official Python client is the oracle of the differential tests)"
bash scripts/dax/setup.sh

step "doc tests"
cargo test --workspace --all-features --doc

# The binaries the tests run as a user would (nextest builds only test targets of the
# package under test): dax-local (tests/dax_gateway*.rs, tests/dax_local_cache.rs).
step "binaries the tests run (dax-local)"
cargo build -p xacct-dax-local --bin dax-local

step "tests"
cargo nextest run --workspace --all-features --profile ci --no-tests=fail

printf '\n==> all steps passed in %ds\n' "$((SECONDS - T0))"
