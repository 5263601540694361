#!/usr/bin/env bash
# The app's side of the contract: TypeScript types generated from the running server's
# /openapi.json (openapi-typescript), the app's flow (clients/typescript/src/flow.ts)
# type-checked against them with tsc, then run against the server with openapi-fetch:
# sign up, onboard, upload a photo, post, follow, read the feed, react, notifications,
# refresh, sessions, an error envelope.
#
#   scripts/ts-client.sh [BINARY]     # default target/debug/scooterbooter
#
# Node and npm come from Debian's packages when missing; the pinned packages
# (clients/typescript/package-lock.json) are installed with `npm ci`.
# Called by scripts/test.sh, so CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-target/debug/scooterbooter}"
client="clients/typescript"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "== installing Node.js and npm from Debian's packages" >&2
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get install -y nodejs npm >/dev/null 2>&1 \
        || { $sudo apt-get update >/dev/null && $sudo apt-get install -y nodejs npm >/dev/null; }
fi
(cd "$client" && npm ci --no-audit --no-fund --loglevel=error)

work="$(mktemp -d)"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
SCOOTER_DATA_DIR="$work/data" SCOOTER_LISTEN="127.0.0.1:$port" RUST_LOG=warn \
    "$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 250); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.04
done

curl -fs "$base/openapi.json" -o "$client/openapi.json"
(cd "$client" && npx --no-install openapi-typescript openapi.json -o src/api.d.ts --silent)
echo "== tsc: the app's flow against the generated types" >&2
(cd "$client" && rm -rf dist && npx --no-install tsc -p .)
echo "== the app's flow against the server" >&2
if ! node "$client/dist/flow.js" "$base"; then
    echo "--- server log" >&2
    tail -n 50 "$work/server.log" >&2
    exit 1
fi
