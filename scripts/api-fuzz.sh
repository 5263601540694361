#!/usr/bin/env bash
# API contract fuzzing: schemathesis against the real binary's /openapi.json.
#
#   scripts/api-fuzz.sh [BINARY]     # default target/debug/scooterbooter
#
# Starts the server on a temporary data folder, makes real resources through the API
# for every operation that acts on one (scripts/fuzz_seed.py: five users, posts,
# uploads, scoops, a report, an invite, sessions; each named per operation in the
# configuration), and runs schemathesis (pinned, installed into a venv under target/)
# with the first user's bearer token against every documented operation: positive and
# negative data (examples, coverage, fuzzing, and the stateful phase following the
# document's links from created posts, comments, scoops and uploads), fixed seed. A
# failure is any 5xx, a status or content type the document does not list, a body that
# does not match its schema, invalid data accepted with a 2xx, or an operation the
# fuzzing never got past 404 or past validation with valid data (the
# `missing_test_data` and `validation_mismatch` warnings). Reports go to
# target/schemathesis/ (FUZZ_REPORTS=junit,json,har adds every request and answer).
# FUZZ_SEED (default 20261125) and FUZZ_EXAMPLES (fuzzed cases per operation, default
# 25) change the run.
# Called by scripts/test.sh, so CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-target/debug/scooterbooter}"
version="4.32.5"
venv="target/schemathesis-venv"
reports="$PWD/target/schemathesis"
seed="${FUZZ_SEED:-20261125}"
examples="${FUZZ_EXAMPLES:-25}"

if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/st" --version 2>/dev/null | grep -q "$version"; then
    echo "== installing schemathesis $version into $venv" >&2
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        # Debian's python3 keeps venv in a separate package.
        if [ "$(id -u)" = 0 ]; then apt-get install -y python3-venv >/dev/null; else sudo apt-get install -y python3-venv >/dev/null; fi
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version"
fi

work="$(mktemp -d)"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
# The first user is an administrator, so that the moderation routes are exercised too.
export SCOOTER_DATA_DIR="$work/data" ACCESS_TOKEN_TTL=3600 RATE_LIMITS=false RUST_LOG=warn \
    ADMIN_EMAILS=fuzz-a@example.com

token_a="$("$bin" token --email fuzz-a@example.com)"
token_b="$("$bin" token --email fuzz-b@example.com)"
token_c="$("$bin" token --email fuzz-c@example.com)"
token_d="$("$bin" token --email fuzz-d@example.com)"
SCOOTER_LISTEN="127.0.0.1:$port" "$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 250); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.04
done

# Real resources for every operation that acts on one (posts, uploads, scoops, a report,
# sessions...), named per operation in the configuration, so that no operation only
# ever meets 404 (see scripts/fuzz_seed.py).
python3 scripts/fuzz_seed.py "$base" "$token_a" "$token_b" "$token_c" "$token_d" >"$work/schemathesis.toml"
cat >>"$work/schemathesis.toml" <<'TOML'

# The two warnings that say the fuzzing did not reach an operation's logic fail the run:
# an operation whose every valid request met 404, or whose every valid request was
# refused as invalid (the document promised more than the server takes).
[warnings]
fail-on = ["missing_test_data", "validation_mismatch"]
TOML

mkdir -p "$reports"
echo "== schemathesis $version against $base/openapi.json (seed $seed, $examples examples per operation)" >&2
status=0
# The run is bounded by the document (coverage cases) and -n (fuzzing cases); the
# timeout only guards against a hang. DELETE /me would end the session it runs with.
(cd "$work" && timeout 1200 "$OLDPWD/$venv/bin/st" --config-file "$work/schemathesis.toml" \
    run "$base/openapi.json" \
    --url "$base" \
    -H "Authorization: Bearer $token_a" \
    --seed "$seed" --generation-database none \
    --phases examples,coverage,fuzzing,stateful -n "$examples" \
    --checks all --exclude-checks positive_data_acceptance \
    --workers 2 --continue-on-failure --request-timeout 30 \
    --exclude-name "DELETE /me" \
    --report "${FUZZ_REPORTS:-junit,json}" \
    --report-junit-path "$reports/junit.xml" --report-json-path "$reports/report.json" \
    --report-har-path "$reports/interactions.har" \
    --no-color) || status=$?

python3 - "$reports/report.json" <<'PY' || true
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except (OSError, ValueError):
    sys.exit(0)
ops = r.get("operations", {})
cases = r.get("test_cases", {})
print(f"== schemathesis: {ops.get('tested', ops)} operations, {cases.get('generated', cases)} test cases", file=sys.stderr)
PY
if [ "$status" -ne 0 ]; then
    echo "== schemathesis found failures (exit $status); server log: last lines" >&2
    tail -n 20 "$work/server.log" >&2
fi
exit "$status"
