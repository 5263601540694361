#!/usr/bin/env bash
# Starts s3s-fs, the S3 server the tests use where moto is too lenient: it enforces a
# presigned URL's signature (so the signed type and length), its expiry and
# `If-None-Match: *`, as S3 does. Installed from crates.io, pinned, into target/s3s-fs
# (a debug build: it serves a handful of test requests, and builds in half the time).
# Idempotent: one already answering on the port is reused. Prints the endpoint URL.
#
#   scripts/s3s-fs.sh          # start (or reuse) on 127.0.0.1:$S3S_PORT (8014)
#   scripts/s3s-fs.sh stop     # stop the one this script started
#
# The credentials are the tests' throw-away ones (AWS_ACCESS_KEY_ID=test).
set -euo pipefail
cd "$(dirname "$0")/.."

version="0.14.1"
port="${S3S_PORT:-8014}"
root="target/s3s-fs"
bin="$root/bin/s3s-fs"
pidfile="target/s3s-fs.pid"
log="target/s3s-fs.log"
data="target/s3s-fs-data"
url="http://127.0.0.1:$port"

if [ "${1:-}" = stop ]; then
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    rm -rf "$data"
    exit 0
fi

# Any HTTP answer (an S3 error included) means it is up.
answers() { curl -s -o /dev/null --max-time 2 "$url/"; }

if answers; then echo "$url"; exit 0; fi

if [ ! -x "$bin" ] || ! "$bin" --version 2>/dev/null | grep -q "$version"; then
    echo "== installing s3s-fs $version into $root (cargo install, debug build)" >&2
    cargo install s3s-fs --version "$version" --features binary --locked --debug \
        --root "$root" --quiet >&2
fi

rm -rf "$data" && mkdir -p "$data"
echo "== starting s3s-fs $version on $url (log: $log)" >&2
setsid "$bin" --host 127.0.0.1 --port "$port" \
    --access-key "${AWS_ACCESS_KEY_ID:-test}" --secret-key "${AWS_SECRET_ACCESS_KEY:-test}" \
    "$data" >"$log" 2>&1 < /dev/null &
echo $! >"$pidfile"
for _ in $(seq 1 100); do
    if answers; then echo "$url"; exit 0; fi
    sleep 0.1
done
echo "s3s-fs did not answer on $url; its log:" >&2
tail -20 "$log" >&2
exit 1
