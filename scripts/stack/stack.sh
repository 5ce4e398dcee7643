#!/usr/bin/env bash
# Local two-account AWS stack for the cross-account-dynamodb integration tests:
# moto 5.2.5 behind scripts/stack/shim.py, seeded by scripts/stack/seed.py.
#
#   stack.sh start  [NAME]        start (or reuse) instance NAME; last line: "env file: PATH"
#   stack.sh stop   [NAME|--all]  stop it (idempotent)
#   stack.sh status [NAME|--all]  exit 0 if running, 1 if not
#   stack.sh env    [NAME]        print the env file path (exit 1 if not running)
#
# NAME defaults to "default". Settings, read from the caller's environment at `start`:
#   XACCT_STACK_ENFORCE=on|off              (default on)  shim enforcement (see shim.py)
#   XACCT_STACK_SHORT_SESSION_SECONDS=N     (default 20)  lifetime of ShortSessionRole sessions
#   XACCT_STACK_HOME                        (default <repo>/.local-stack) venv + instance state
# A running instance is reused when its settings match; otherwise `start` exits 3.
#
# State: $XACCT_STACK_HOME/venv (python deps from requirements.lock, rebuilt when the lock changes)
# and $XACCT_STACK_HOME/instances/NAME/{env,pid,port,log,seed.log,settings,lock}.
# The env file holds `export XACCT_STACK_*=...` lines: `. "$(scripts/stack/stack.sh env)"`.
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/../.." && pwd -P)
STACK_HOME=${XACCT_STACK_HOME:-$REPO_ROOT/.local-stack}
VENV=$STACK_HOME/venv
INSTANCES=$STACK_HOME/instances
LOCK_FILE=$SCRIPT_DIR/requirements.lock
INSTALLED_LOCK=$VENV/requirements.lock.installed
HEALTH_TIMEOUT_S=20
STOP_TIMEOUT_S=5
LOCK_TIMEOUT_S=300

EXIT_SETTINGS_MISMATCH=3

# The server and the seeder must not inherit settings that would change moto's routing or auth,
# AWS profile selection, or send loopback traffic through a proxy.
NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
no_proxy=$NO_PROXY
export NO_PROXY no_proxy
CLEAN_ENV=(-u MOTO_ACCOUNT_ID -u INITIAL_NO_AUTH_ACTION_COUNT -u MOTO_PORT -u TEST_SERVER_MODE
           -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_ENDPOINT_URL -u AWS_CA_BUNDLE)

log() { printf 'stack.sh: %s\n' "$*" >&2; }
die() { log "$1"; exit "${2:-1}"; }

usage() {
  sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# ---- helpers --------------------------------------------------------------------------------

check_name() {
  [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] || die "invalid instance name '$1' (letters, digits, . _ -)" 2
}

instance_dir() { printf '%s/%s' "$INSTANCES" "$1"; }

# wanted_settings: the settings file content this `start` asks for (validated)
wanted_settings() {
  local enforce=${XACCT_STACK_ENFORCE:-on} short=${XACCT_STACK_SHORT_SESSION_SECONDS:-20}
  [[ $enforce == on || $enforce == off ]] || die "XACCT_STACK_ENFORCE must be on or off, not '$enforce'" 2
  [[ $short =~ ^[1-9][0-9]*$ ]] || die "XACCT_STACK_SHORT_SESSION_SECONDS must be a positive integer, not '$short'" 2
  printf 'XACCT_STACK_ENFORCE=%s\nXACCT_STACK_SHORT_SESSION_SECONDS=%s\n' "$enforce" "$short"
}

# take_lock FILE: open FILE on a new fd, flock it exclusively, and print nothing; the fd number
# is left in LOCK_FD (closed automatically when the script exits)
take_lock() {
  local file=$1
  exec {LOCK_FD}>"$file"
  flock -w "$LOCK_TIMEOUT_S" "$LOCK_FD" || die "timed out after ${LOCK_TIMEOUT_S}s waiting for lock $file"
}

release_lock() {
  if [[ -n ${LOCK_FD:-} ]]; then
    exec {LOCK_FD}>&-
    LOCK_FD=
  fi
}

# is_our_server PID: alive and running shim.py (guards against a recycled PID)
is_our_server() {
  local pid=$1 cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r /proc/$pid/cmdline ]]; then
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  else
    cmdline=$(ps -p "$pid" -o args= 2>/dev/null) || return 1
  fi
  [[ $cmdline == *shim.py* ]]
}

read_pid() {
  local dir=$1
  [[ -f $dir/pid ]] || return 1
  tr -d '[:space:]' <"$dir/pid"
}

# instance_running DIR: server alive and seeded (env file present)
instance_running() {
  local dir=$1 pid
  pid=$(read_pid "$dir") || return 1
  is_our_server "$pid" && [[ -f $dir/env ]]
}

clear_state() {
  local dir=$1
  rm -f "$dir/pid" "$dir/port" "$dir/env" "$dir/settings"
}

http_ok() {
  local url=$1
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --noproxy "*" --max-time 2 "$url" 2>/dev/null
  else
    "$VENV/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$url" 2>/dev/null
  fi
}

# ---- venv -----------------------------------------------------------------------------------

ensure_venv() {
  mkdir -p "$STACK_HOME"
  local LOCK_FD=
  take_lock "$STACK_HOME/venv.lock"
  if [[ -x $VENV/bin/python ]] && cmp -s "$LOCK_FILE" "$INSTALLED_LOCK" \
     && "$VENV/bin/python" -c 'import moto, flask, flask_cors, boto3' 2>/dev/null; then
    release_lock
    return 0
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 not found on PATH"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' || die "python3 >= 3.9 is required"
  log "creating $VENV (python deps from $LOCK_FILE)"
  rm -rf "$VENV"
  if ! python3 -m venv "$VENV" \
     || ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
            --no-deps -r "$LOCK_FILE" \
     || ! "$VENV/bin/python" -m pip check --disable-pip-version-check >/dev/null; then
    rm -rf "$VENV"
    release_lock
    die "could not create the venv $VENV"
  fi
  cp "$LOCK_FILE" "$INSTALLED_LOCK"  # written last: marks a complete install
  release_lock
}

# ---- stop -----------------------------------------------------------------------------------

# stop_locked DIR: stop the server of DIR (caller holds the instance lock)
stop_locked() {
  local dir=$1 pid
  if pid=$(read_pid "$dir") && is_our_server "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local waited=0
    while is_our_server "$pid" && (( waited < STOP_TIMEOUT_S * 10 )); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if is_our_server "$pid"; then
      log "pid $pid did not exit within ${STOP_TIMEOUT_S}s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      waited=0
      while is_our_server "$pid" && (( waited < 20 )); do sleep 0.1; waited=$((waited + 1)); done
    fi
    log "stopped $(basename "$dir") (pid $pid)"
  fi
  clear_state "$dir"
}

cmd_stop() {
  local name=$1 dir LOCK_FD=
  dir=$(instance_dir "$name")
  [[ -d $dir ]] || return 0
  take_lock "$dir/lock"
  stop_locked "$dir"
  release_lock
}

cmd_stop_all() {
  local dir
  [[ -d $INSTANCES ]] || return 0
  for dir in "$INSTANCES"/*/; do
    [[ -d $dir ]] || continue
    cmd_stop "$(basename "$dir")"
  done
}

# ---- start ----------------------------------------------------------------------------------

# fail_start DIR MESSAGE: show the logs, stop what was started, exit 1
fail_start() {
  local dir=$1 msg=$2
  log "$msg"
  if [[ -s $dir/log ]]; then
    printf -- '----- server log (%s) -----\n' "$dir/log" >&2
    cat "$dir/log" >&2
  fi
  if [[ -s $dir/seed.log ]]; then
    printf -- '----- seed log (%s) -----\n' "$dir/seed.log" >&2
    cat "$dir/seed.log" >&2
  fi
  stop_locked "$dir"
  exit 1
}

cmd_start() {
  local name=$1 dir settings LOCK_FD=
  settings=$(wanted_settings)
  dir=$(instance_dir "$name")
  mkdir -p "$dir"
  take_lock "$dir/lock"

  if instance_running "$dir"; then
    if [[ $(cat "$dir/settings" 2>/dev/null) == "$settings" ]]; then
      log "instance '$name' already running (pid $(read_pid "$dir")); reusing it"
      printf 'env file: %s\n' "$dir/env"
      return 0
    fi
    log "instance '$name' is running with other settings:"
    sed 's/^/    running:   /' "$dir/settings" >&2 || true
    printf '%s\n' "$settings" | sed 's/^/    requested: /' >&2
    die "stop it first: $0 stop $name" "$EXIT_SETTINGS_MISMATCH"
  fi
  if [[ -f $dir/pid ]]; then
    log "cleaning up stale state of instance '$name'"
    stop_locked "$dir"  # kills a half-started (unseeded) server too
  fi
  clear_state "$dir"
  rm -f "$dir/seed.log"

  ensure_venv

  printf '%s\n' "$settings" >"$dir/settings"
  local enforce short pid port endpoint
  enforce=$(sed -n 's/^XACCT_STACK_ENFORCE=//p' "$dir/settings")
  short=$(sed -n 's/^XACCT_STACK_SHORT_SESSION_SECONDS=//p' "$dir/settings")

  # A plain command (no subshell), so that $! is the server's own PID. nohup: survive the
  # terminal closing. The lock fd is closed in the child so that the server never holds it.
  XACCT_STACK_ENFORCE=$enforce XACCT_STACK_SHORT_SESSION_SECONDS=$short \
    env "${CLEAN_ENV[@]}" nohup "$VENV/bin/python" "$SCRIPT_DIR/shim.py" --host 127.0.0.1 --port 0 --port-file "$dir/port" \
    </dev/null >"$dir/log" 2>&1 {LOCK_FD}>&- &
  pid=$!
  printf '%s\n' "$pid" >"$dir/pid"

  local deadline=$((SECONDS + HEALTH_TIMEOUT_S))
  endpoint=
  while (( SECONDS < deadline )); do
    if [[ -s $dir/port ]]; then
      port=$(tr -d '[:space:]' <"$dir/port")
      if http_ok "http://127.0.0.1:$port/_stack/health"; then
        endpoint="http://127.0.0.1:$port"
        break
      fi
    fi
    kill -0 "$pid" 2>/dev/null || fail_start "$dir" "the server exited during startup"
    sleep 0.1
  done
  [[ -n $endpoint ]] || fail_start "$dir" "the server did not answer /_stack/health within ${HEALTH_TIMEOUT_S}s"

  XACCT_STACK_NAME=$name XACCT_STACK_PID=$pid AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
    env "${CLEAN_ENV[@]}" "$VENV/bin/python" "$SCRIPT_DIR/seed.py" "$endpoint" "$dir/env" >"$dir/seed.log" 2>&1 {LOCK_FD}>&- \
    || fail_start "$dir" "seeding failed"
  is_our_server "$pid" || fail_start "$dir" "the server died while seeding"

  log "instance '$name' running: $endpoint (pid $pid, enforce=$enforce, short sessions ${short}s)"
  printf 'env file: %s\n' "$dir/env"
  release_lock
}

# ---- status / env ---------------------------------------------------------------------------

cmd_status() {
  local name=$1 dir pid
  dir=$(instance_dir "$name")
  if instance_running "$dir"; then
    pid=$(read_pid "$dir")
    printf '%s: running, pid %s, %s, %s\n' "$name" "$pid" \
      "http://127.0.0.1:$(tr -d '[:space:]' <"$dir/port")" \
      "$(tr '\n' ' ' <"$dir/settings" | sed 's/ $//')"
    return 0
  fi
  printf '%s: not running\n' "$name"
  return 1
}

cmd_status_all() {
  local dir any=1
  if [[ -d $INSTANCES ]]; then
    for dir in "$INSTANCES"/*/; do
      [[ -d $dir ]] || continue
      cmd_status "$(basename "$dir")" && any=0
    done
  fi
  return "$any"
}

cmd_env() {
  local name=$1 dir
  dir=$(instance_dir "$name")
  instance_running "$dir" || die "instance '$name' is not running (start it: $0 start $name)"
  printf '%s\n' "$dir/env"
}

# ---- main -----------------------------------------------------------------------------------

main() {
  (( $# >= 1 && $# <= 2 )) || usage
  local cmd=$1 name=${2:-default}
  if [[ $name == --all ]]; then
    case $cmd in
      stop) cmd_stop_all; return ;;
      status) cmd_status_all; return ;;
      *) usage ;;
    esac
  fi
  check_name "$name"
  case $cmd in
    start) cmd_start "$name" ;;
    stop) cmd_stop "$name" ;;
    status) cmd_status "$name" ;;
    env) cmd_env "$name" ;;
    *) usage ;;
  esac
}

main "$@"
