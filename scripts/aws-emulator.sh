#!/usr/bin/env bash
# Starts the offline AWS stand-in the AWS-backed tests use: moto's server (DynamoDB, and
# later S3 and Cognito) from PyPI, pinned, in a venv under target/, serving one request
# at a time as DynamoDB serialises conditional writes (scripts/moto_serial.py). Idempotent: when an
# emulator already answers on the port it is reused. Prints the endpoint URL on stdout.
#
#   scripts/aws-emulator.sh            # start (or reuse) on 127.0.0.1:$MOTO_PORT (4566)
#   scripts/aws-emulator.sh stop       # stop the one this script started
#
# Under CI=true a failure to install or start is an error, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."

version="5.2.5"
port="${MOTO_PORT:-4566}"
venv="target/aws-venv"
pidfile="target/moto.pid"
log="target/moto.log"
url="http://127.0.0.1:$port"

if [ "${1:-}" = stop ]; then
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
    exit 0
fi

answers() { curl -s -o /dev/null --max-time 2 "$url/moto-api/" ; }

if answers; then echo "$url"; exit 0; fi

# The version is read into a variable first: `pip show | grep -q` under pipefail fails
# whenever grep stops reading before pip has written everything.
installed=""
[ -x "$venv/bin/pip" ] && installed=$("$venv/bin/pip" show moto 2>/dev/null | sed -n 's/^Version: //p')
if [ ! -x "$venv/bin/moto_server" ] || [ "$installed" != "$version" ]; then
    echo "== installing moto[server] $version into $venv" >&2
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        # Debian's python3 keeps venv in a separate package.
        if [ "$(id -u)" = 0 ]; then apt-get install -y python3-venv >/dev/null; else sudo apt-get install -y python3-venv >/dev/null; fi
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$version"
fi

echo "== starting moto $version on $url (log: $log)" >&2
# setsid: the emulator outlives this script (the test run stops it) but not the machine.
# One request at a time (scripts/moto_serial.py says why).
setsid "$venv/bin/python" scripts/moto_serial.py 127.0.0.1 "$port" >"$log" 2>&1 < /dev/null &
echo $! >"$pidfile"
for _ in $(seq 1 100); do
    if answers; then echo "$url"; exit 0; fi
    sleep 0.2
done
echo "moto did not answer on $url; its log:" >&2
tail -20 "$log" >&2
exit 1
