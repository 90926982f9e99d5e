#!/usr/bin/env bash
# Run a local Label Studio server for the quote/stance round trip.
#
#   scripts/labelstudio.sh install        # idempotent: .venv-ls with label-studio 1.23.*
#   scripts/labelstudio.sh start [PORT]   # 127.0.0.1:PORT (default 8080), waits for /health
#   scripts/labelstudio.sh stop
#   scripts/labelstudio.sh status
#
# Label Studio lives in its own venv (.venv-ls) so its many pins never fight the
# toolkit's. The server gets a preset admin user and API token so scripts and
# tests can talk to it without clicking through the sign-up page.
#
# Environment (all optional):
#   QST_LS_VENV        venv path                     (default: <repo>/.venv-ls)
#   QST_LS_DATA_DIR    data dir (sqlite db, media, pid, log)  (default: <repo>/.ls-data)
#   QST_LS_PORT        port if none is given          (default: 8080)
#   QST_LS_START_TIMEOUT seconds to wait for /health  (default: 300)
#   LABEL_STUDIO_USERNAME / LABEL_STUDIO_PASSWORD / LABEL_STUDIO_USER_TOKEN
#                      preset admin; if no token is given one is generated and
#                      stored (mode 600) in $QST_LS_DATA_DIR/token. The token is
#                      never printed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${QST_LS_VENV:-$ROOT/.venv-ls}"
DATA="${QST_LS_DATA_DIR:-$ROOT/.ls-data}"
LS_VERSION_SPEC="label-studio==1.23.*"
PY="${PY:-$(command -v python3.11 || command -v python3)}"

die() { echo "labelstudio.sh: $*" >&2; exit 1; }

installed() {
  [ -x "$VENV/bin/label-studio" ] && "$VENV/bin/python" - <<'EOF' 2>/dev/null
import importlib.metadata as m, sys
v = m.version("label-studio")
sys.exit(0 if v.startswith("1.23.") else 1)
EOF
}

cmd_install() {
  if installed; then
    echo "label-studio already installed in $VENV"
    return 0
  fi
  echo "installing $LS_VERSION_SPEC into $VENV (about 1.5 min, ~1 GB) ..."
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v "is ignored" || true
  "$VENV/bin/python" -m pip install --quiet "$LS_VERSION_SPEC"
  installed || die "install finished but label-studio 1.23 is not importable in $VENV"
  echo "label-studio $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("label-studio"))') installed in $VENV"
}

pidfile() { echo "$DATA/server.pid"; }
portfile() { echo "$DATA/server.port"; }

running_pid() {
  local pf; pf="$(pidfile)"
  [ -f "$pf" ] || return 1
  local pid; pid="$(cat "$pf")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

health() {  # health PORT -> 0 if /health answers 200
  "$VENV/bin/python" - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=3) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

cmd_start() {
  local port="${1:-${QST_LS_PORT:-8080}}"
  installed || die "label-studio is not installed in $VENV; run: scripts/labelstudio.sh install"
  mkdir -p "$DATA"
  chmod 700 "$DATA"
  if pid="$(running_pid)"; then
    echo "label-studio already running (pid $pid, port $(cat "$(portfile)" 2>/dev/null || echo '?'))"
    return 0
  fi
  local token="${LABEL_STUDIO_USER_TOKEN:-}"
  if [ -z "$token" ]; then
    if [ ! -s "$DATA/token" ]; then
      (umask 077; "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(20))' > "$DATA/token")
    fi
    token="$(cat "$DATA/token")"
  fi
  local log="$DATA/server.log"
  echo "starting label-studio on http://127.0.0.1:$port (data: $DATA, log: $log)"
  # setsid: own process group, so `stop` can end the server and its workers together.
  # No error reports to sentry.io from the server or the page (Label Studio's default DSNs), unless
  # the caller sets SENTRY_DSN / FRONTEND_SENTRY_DSN: annotation text must not leave the machine.
  LABEL_STUDIO_USERNAME="${LABEL_STUDIO_USERNAME:-admin@example.com}" \
  LABEL_STUDIO_PASSWORD="${LABEL_STUDIO_PASSWORD:-qst-admin-password}" \
  LABEL_STUDIO_USER_TOKEN="$token" \
  LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN=true \
  LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="${LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK:-false}" \
  LATEST_VERSION_CHECK=false \
  COLLECT_ANALYTICS=false \
  SENTRY_DSN="${SENTRY_DSN-}" \
  FRONTEND_SENTRY_DSN="${FRONTEND_SENTRY_DSN-}" \
  LABEL_STUDIO_BASE_DATA_DIR="$DATA" \
  DJANGO_DB=sqlite \
  LABEL_STUDIO_HOST="http://127.0.0.1:$port" \
    setsid "$VENV/bin/label-studio" start --no-browser \
      --internal-host 127.0.0.1 --port "$port" --data-dir "$DATA" \
      </dev/null >"$log" 2>&1 &
  local pid=$!
  echo "$pid" > "$(pidfile)"
  echo "$port" > "$(portfile)"
  local timeout="${QST_LS_START_TIMEOUT:-300}" waited=0
  until health "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$(pidfile)"
      echo "--- last lines of $log ---" >&2
      tail -n 30 "$log" | grep -v -i token >&2 || true
      die "label-studio exited during start-up"
    fi
    if [ "$waited" -ge "$timeout" ]; then
      die "label-studio did not answer /health within ${timeout}s (see $log)"
    fi
    sleep 2; waited=$((waited + 2))
  done
  echo "label-studio is up (pid $pid) after ${waited}s"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "label-studio is not running"
    rm -f "$(pidfile)"
    return 0
  fi
  # The server was started with setsid, so its pid is its process-group id.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pidfile)"
  echo "label-studio stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    local port; port="$(cat "$(portfile)" 2>/dev/null || echo 8080)"
    if health "$port"; then
      echo "running: pid $pid, http://127.0.0.1:$port, healthy"
    else
      echo "running: pid $pid, http://127.0.0.1:$port, not answering /health yet"
    fi
    return 0
  fi
  if installed; then echo "stopped (installed in $VENV)"; else echo "not installed"; fi
  return 3
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {install|start [PORT]|stop|status}" >&2; exit 2 ;;
esac
