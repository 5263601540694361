#!/usr/bin/env bash
# The one test command: README and CI (.ci/run) both call it.
#
# 1. formatting and lints;
# 2. every test of the workspace on SQLite, plus the store conformance suite on
#    PostgreSQL;
# 3. the HTTP-level and end-to-end suites again on PostgreSQL, and again on DynamoDB
#    (built with `--features aws`, against moto's server, which scripts/aws-emulator.sh
#    installs from PyPI into a venv under target/ and starts on 127.0.0.1:4566; that
#    pass also runs the S3 and Cognito tests on moto, and the presigned-upload test on
#    s3s-fs, which scripts/s3s-fs.sh builds from crates.io and starts); the
#    store conformance suite runs on DynamoDB in step 2; the default build is checked to
#    hold no AWS crate;
# 4. schemathesis against the real binary's /openapi.json (scripts/api-fuzz.sh; it
#    installs schemathesis from PyPI into a venv under target/ on first use);
# 5. the app's TypeScript client: types generated from /openapi.json, the app's flow
#    type-checked and run against the server (scripts/ts-client.sh; Node from Debian when
#    missing, the pinned npm packages with npm ci);
# 6. the microservice shape end to end: scripts/local.sh api (six service processes,
#    the worker, nginx, which it installs from Debian when missing) driven through
#    nginx, with a service killed and restarted, and the edge tried by a hostile
#    client: request-id injection, nginx's own errors in the envelope, CORS, a
#    slow-header flood on a small connection budget (scripts/e2e-microservices.py);
# 7. a full disk end to end: the server's data and media folders on small tmpfs
#    mounts that fill up, then grow, with a kill -9 (scripts/e2e-disk-full.py; needs
#    root to mount, as this machine kind and CI have).
#
# FFmpeg (video tests) and libheif's tools (HEIC tests) are installed from Debian's
# packages when missing.
#
# PostgreSQL: SCOOTER_TEST_POSTGRES_URL if set, else the server at 127.0.0.1:5432
# (trust auth, as on this machine kind). The script creates a throw-away database and
# drops it at the end. Without a reachable server it tries to start (or install) one;
# under CI=true it then fails loudly rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }
# What to undo at exit, whatever way the script ends.
cleanups=()
run_cleanups() { for c in "${cleanups[@]}"; do eval "$c"; done; }
trap run_cleanups EXIT
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    rustup component add clippy rustfmt
fi
# nextest runs test binaries in parallel and ends with one summary line; it is on this
# machine kind, and installed from crates.io where it is not.
if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install cargo-nextest --locked
fi

# --- FFmpeg (video processing tests) ---------------------------------------------
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
    say "installing FFmpeg from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null; } || die "FFmpeg is needed for the video tests and could not be installed"
fi

# --- libheif (HEIC upload tests) ------------------------------------------------------
if ! command -v heif-convert >/dev/null 2>&1 || ! command -v heif-enc >/dev/null 2>&1; then
    say "installing libheif's tools from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq libheif-examples >/dev/null; } || die "libheif-examples is needed for the HEIC tests and could not be installed"
fi

# --- Redis (rate limits shared between instances) ----------------------------------
export SCOOTER_TEST_REDIS_URL="${SCOOTER_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
redis_ready() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -u "$SCOOTER_TEST_REDIS_URL" ping 2>/dev/null)" = PONG ]; }
if ! redis_ready; then
    if ! command -v redis-server >/dev/null 2>&1; then
        say "installing Redis from Debian's packages"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; } || true
    fi
    if command -v redis-server >/dev/null 2>&1; then
        say "starting Redis on 127.0.0.1:6379 (nothing kept on disk)"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
        for _ in $(seq 1 20); do redis_ready && break; sleep 0.25; done
    fi
fi
if ! redis_ready; then
    [ "${CI:-}" = "true" ] && die "no Redis at $SCOOTER_TEST_REDIS_URL and none could be started"
    say "WARNING: no Redis; the shared rate-limit test is skipped"
    unset SCOOTER_TEST_REDIS_URL
fi

# --- PostgreSQL -------------------------------------------------------------------
admin_url="${SCOOTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

pg_ready() { command -v psql >/dev/null 2>&1 && psql "$admin_url" -qtAc 'SELECT 1' >/dev/null 2>&1; }

start_postgres() {
    if ! command -v psql >/dev/null 2>&1 || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
        say "installing PostgreSQL from Debian's packages"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq postgresql postgresql-client >/dev/null
    fi
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_ready && return 0; sleep 1; done
    return 1
}

if ! pg_ready && [ -z "${SCOOTER_TEST_POSTGRES_URL:-}" ]; then
    start_postgres || true
fi
if pg_ready; then
    test_db="scooter_test_$$_$(date +%s)"
    psql "$admin_url" -qtAc "CREATE DATABASE $test_db" >/dev/null
    cleanups+=('psql "$admin_url" -qtAc "DROP DATABASE IF EXISTS $test_db WITH (FORCE)" >/dev/null 2>&1 || true')
    export SCOOTER_TEST_POSTGRES_URL="${admin_url%/*}/$test_db"
    say "PostgreSQL test database: $test_db"
    with_postgres=1
elif [ "${CI:-}" = "true" ]; then
    die "no PostgreSQL at $admin_url and none could be started; CI must test both backends"
else
    echo "WARNING: no PostgreSQL at $admin_url: the PostgreSQL passes are NOT run." >&2
    with_postgres=0
fi

# --- the AWS emulator (DynamoDB) ------------------------------------------------------
# Throw-away credentials: the emulator accepts any, and nothing here may reach AWS.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
emulator_was_up=0
curl -s -o /dev/null --max-time 2 "http://127.0.0.1:${MOTO_PORT:-4566}/moto-api/" && emulator_was_up=1
if DYNAMODB_TEST_ENDPOINT=$(scripts/aws-emulator.sh); then
    # One this run started is stopped with it; one already running is left alone.
    [ "$emulator_was_up" = 0 ] && cleanups+=('scripts/aws-emulator.sh stop')
    export DYNAMODB_TEST_ENDPOINT
    # The same emulator serves S3 and Cognito to the aws pass.
    export AWS_TEST_ENDPOINT="$DYNAMODB_TEST_ENDPOINT"
    with_dynamodb=1
elif [ "${CI:-}" = "true" ]; then
    die "the DynamoDB emulator (moto) could not be installed or started; CI must test all three backends"
else
    echo "WARNING: no DynamoDB emulator: the DynamoDB passes are NOT run." >&2
    with_dynamodb=0
fi

# --- s3s-fs (presigned-URL enforcement, which moto does not do) ------------------------
# Built from crates.io into target/ on first use; the S3 tests of the aws pass need it.
if [ "$with_dynamodb" = 1 ]; then
    s3s_was_up=0
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:${S3S_PORT:-8014}/" && s3s_was_up=1
    if S3S_TEST_ENDPOINT=$(scripts/s3s-fs.sh); then
        [ "$s3s_was_up" = 0 ] && cleanups+=('scripts/s3s-fs.sh stop')
        export S3S_TEST_ENDPOINT
    elif [ "${CI:-}" = "true" ]; then
        die "s3s-fs could not be installed or started; CI must prove presigned uploads are enforced"
    else
        echo "WARNING: no s3s-fs: the strict presigned-upload test is skipped." >&2
    fi
fi

# --- checks and tests ---------------------------------------------------------------
say "cargo fmt --check"
cargo fmt --all -- --check

say "the default build holds no AWS crate"
if cargo tree -p scooterbooter --locked -e normal --prefix none | grep -E '^aws-' >/dev/null; then
    die "an AWS crate is in the default build: it belongs behind the aws feature"
fi

say "cargo clippy (default features, then the aws feature)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p scooterbooter --features aws --all-targets --locked -- -D warnings

say "the SAM template: cfn-lint, sam validate --lint, IAM statement shapes"
scripts/aws-lint.sh

skip='package(scooter-store-dynamodb)'
[ "$with_dynamodb" = 1 ] && skip='none()'
if [ "$with_postgres" = 1 ]; then
    say "all tests on SQLite, and the conformance suite on PostgreSQL and DynamoDB"
    cargo nextest run --workspace --locked --no-fail-fast -E "not ($skip)"
    say "HTTP-level and end-to-end suites on PostgreSQL"
    SCOOTER_TEST_BACKEND=postgres cargo nextest run -p scooterbooter --locked --no-fail-fast
else
    say "all tests on SQLite (PostgreSQL passes skipped: see the warning above)"
    cargo nextest run --workspace --locked --no-fail-fast \
        -E "not (package(scooter-store-postgres) | $skip)"
fi
if [ "$with_dynamodb" = 1 ]; then
    say "HTTP-level and end-to-end suites on DynamoDB (moto at $DYNAMODB_TEST_ENDPOINT)"
    SCOOTER_TEST_BACKEND=dynamodb cargo nextest run -p scooterbooter --features aws --locked --no-fail-fast
fi

say "API contract fuzzing: schemathesis against the real binary's OpenAPI document"
cargo build --locked
scripts/api-fuzz.sh target/debug/scooterbooter

say "the app's TypeScript client: types generated from /openapi.json, type-checked, run against the server"
scripts/ts-client.sh target/debug/scooterbooter

say "the microservice shape end to end: six services, the worker and nginx"
python3 scripts/e2e-microservices.py target/debug/scooterbooter

say "a full disk end to end: 507s, nothing acknowledged lost, writes again when space returns"
python3 scripts/e2e-disk-full.py target/debug/scooterbooter
