#!/usr/bin/env bash
# Runs ScooterBooter on this machine in one of its two shapes, on 127.0.0.1:$PORT
# (default 3000), until Ctrl-C:
#
#   scripts/local.sh all   one process: every service and the job worker
#   scripts/local.sh api   the microservice shape: six service processes (users, social,
#                          posts, notifications, media, scoops on PORT+101…PORT+106), one
#                          job worker process, and nginx on PORT routing each path to
#                          its service (deploy/nginx/nginx.conf.template)
#
# Data: ./data (SQLite; every process shares the one file, in WAL mode), or
# DATABASE_URL for PostgreSQL. BIN=path runs an existing binary instead of building a
# release one. Logs and nginx's files go to target/local/ (LOCAL_RUN_DIR).
#
# nginx's connection budget (api): NGINX_WORKER_PROCESSES (auto),
# NGINX_WORKER_CONNECTIONS (8192 per worker), NGINX_HEADER_TIMEOUT (10s: the whole
# request head), NGINX_CONN_PER_ADDR (100 requests in progress per client address).
#
# The services of `api` are started with TRUSTED_PROXIES=127.0.0.1 (unless set): they
# believe nginx's X-Forwarded-For. A service restarted by hand needs it too, or every
# client counts as 127.0.0.1 and shares one rate limit (their start-up log line says
# whom they trust).
set -euo pipefail
cd "$(dirname "$0")/.."

shape="${1:-}"
port="${PORT:-3000}"
run="${LOCAL_RUN_DIR:-target/local}"
export SCOOTER_DATA_DIR="${SCOOTER_DATA_DIR:-data}"
services=(users social posts notifications media scoops)

case "$shape" in
    all | api) ;;
    *) echo "usage: scripts/local.sh all|api   (PORT=3000 by default)" >&2; exit 2 ;;
esac

if [ -z "${BIN:-}" ]; then
    cargo build --release --locked
    BIN=target/release/scooterbooter
fi

pids=()
stop() {
    trap - INT TERM EXIT
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

wait_for() { # URL: until it answers, or 20 s
    for _ in $(seq 1 400); do
        curl -fs -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "scripts/local.sh: nothing answers at $1" >&2
    return 1
}

if [ "$shape" = all ]; then
    "$BIN" serve --listen "127.0.0.1:$port" &
    pids+=($!)
    wait
    exit 0
fi

if ! command -v nginx >/dev/null; then
    echo "== installing nginx (Debian package)" >&2
    if [ "$(id -u)" = 0 ]; then apt-get install -y nginx-light >/dev/null || apt-get install -y nginx >/dev/null
    else sudo apt-get install -y nginx-light >/dev/null || sudo apt-get install -y nginx >/dev/null; fi
fi

# The services see nginx as their peer: believe its X-Forwarded-For, so that limits
# per client address count clients, not the proxy.
export TRUSTED_PROXIES="${TRUSTED_PROXIES:-127.0.0.1}"

mkdir -p "$run/logs" "$run/tmp" "$run/pids"
run="$(cd "$run" && pwd)"
# Migrate once, before six processes start at the same time.
"$BIN" migrate >>"$run/logs/migrate.log" 2>&1

conf="$(cat deploy/nginx/nginx.conf.template)"
worker_connections="${NGINX_WORKER_CONNECTIONS:-8192}"
conf="${conf//@WORKER_PROCESSES@/${NGINX_WORKER_PROCESSES:-auto}}"
conf="${conf//@WORKER_CONNECTIONS@/$worker_connections}"
conf="${conf//@WORKER_RLIMIT_NOFILE@/$((2 * worker_connections + 64))}"
conf="${conf//@HEADER_TIMEOUT@/${NGINX_HEADER_TIMEOUT:-10s}}"
conf="${conf//@CONN_PER_ADDR@/${NGINX_CONN_PER_ADDR:-100}}"
i=0
for svc in "${services[@]}"; do
    i=$((i + 1))
    svc_port=$((port + 100 + i))
    RUN_WORKER=false "$BIN" serve "$svc" --listen "127.0.0.1:$svc_port" >>"$run/logs/$svc.log" 2>&1 &
    pids+=($!)
    echo "$!" >"$run/pids/$svc.pid"
    echo "$svc_port" >"$run/pids/$svc.port"
    upper="$(echo "$svc" | tr '[:lower:]' '[:upper:]')"
    conf="${conf//@$upper@/server 127.0.0.1:$svc_port;}"
done
"$BIN" worker >>"$run/logs/worker.log" 2>&1 &
pids+=($!)
echo "$!" >"$run/pids/worker.pid"

echo "${conf//@LISTEN@/127.0.0.1:$port}" >"$run/nginx.conf"
# As root, nginx's workers would otherwise run as nobody and could not use tmp/.
extra=""
[ "$(id -u)" = 0 ] && extra="user root;"
nginx -p "$run/" -c "$run/nginx.conf" -g "daemon off; $extra" &
pids+=($!)
echo "$!" >"$run/pids/nginx.pid"

for svc in "${services[@]}"; do
    wait_for "http://127.0.0.1:$(cat "$run/pids/$svc.port")/healthz"
done
wait_for "http://127.0.0.1:$port/healthz"
echo "ScooterBooter (six services behind nginx) on http://127.0.0.1:$port; the services trust X-Forwarded-For from $TRUSTED_PROXIES; logs in $run/logs; Ctrl-C stops" >&2
wait
