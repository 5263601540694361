#!/usr/bin/env bash
# Benchmarks the all-in-one server on SQLite and writes bench/RESULTS.md.
#
#   scripts/bench.sh            # full run: 3 runs of 10 s per route (~15 min on 2 cores)
#   BENCH_RUNS=1 BENCH_DURATION=3s scripts/bench.sh   # quick look
#
# Builds the release binary, seeds data sets under target/bench (kept and reused: users,
# follows and posts; scoops are topped up each run since they expire), then measures
# with wrk: cold start, idle and peak RSS, throughput and p50/p99 per route with 1,000
# distinct users' tokens, the ceiling (/healthz behind the same middleware), durability
# of acknowledged posts across kill -9, and GET /feed at 10k, 100k and 1M posts.
# Every figure is a median of BENCH_RUNS runs with its range. The overload step bursts
# BENCH_OVERLOAD_CONNECTIONS (3,000) connections at a server limited to 1,024 descriptors,
# with and without load shedding; `BENCH_ONLY=overload scripts/bench.sh` runs just that
# step (on the 10k-post set) and writes bench/OVERLOAD.md.
# `BENCH_ONLY=media` runs only the media step (a 12 MP photo, a 10 s 1080p HDR clip) and
# writes bench/MEDIA.md.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${BENCH_RUNS:-3}"
duration="${BENCH_DURATION:-10s}"
connections="${BENCH_CONNECTIONS:-32}"
threads="${BENCH_THREADS:-2}"
work="${BENCH_DIR:-target/bench}"
out="${BENCH_OUT:-bench/RESULTS.md}"
users="${BENCH_USERS:-10000}"
follows="${BENCH_FOLLOWS:-200}"
port=3997
base="http://127.0.0.1:$port"
bin=target/release/scooterbooter
results="$work/results.jsonl"

say() { printf '\n== %s\n' "$*" >&2; }

if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    if [ "$(id -u)" = 0 ]; then
        apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        sudo apt-get install -y wrk >/dev/null
    fi
fi
command -v python3 >/dev/null || { echo "python3 is needed for the cold-start probe and the report" >&2; exit 1; }

say "building the release binary"
cargo build --release --locked
# The commit the measured binary was built from (the report is written at the end).
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    commit="$commit (with uncommitted changes)"
fi
mkdir -p "$work"
: > "$results"

# Tokens are minted for an hour so that a long run never sees one expire.
export ACCESS_TOKEN_TTL=3600 RATE_LIMITS=false RUST_LOG="${RUST_LOG:-info}"

# seed NAME POSTS_PER_USER: a data set of $users users × $follows follows × N posts.
seed() {
    local dir="$work/$1"
    say "data set $1: $users users, $follows follows each, $2 posts each"
    "$bin" seed --data "$dir" --reuse --users "$users" --follows-per-user "$follows" \
        --posts-per-user "$2" --scoops-per-user 1 --tokens "$dir/tokens.txt" --token-count "${3:-1000}"
}

server_pid=""
start_server() {
    SCOOTER_LISTEN="127.0.0.1:$port" "$bin" serve --data "$work/$1" >>"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 500); do
        if curl -fs "$base/healthz" >/dev/null 2>&1; then
            # The measured users are active readers: their timelines exist (built on a
            # first read), as they would in a deployment.
            python3 bench/warm.py "$base" "$work/$1/tokens.txt"
            return 0
        fi
        sleep 0.02
    done
    echo "the server did not start; see $work/server.log" >&2
    exit 1
}
stop_server() {
    [ -n "$server_pid" ] || return 0
    kill "${1:--TERM}" "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
}
trap 'stop_server -KILL' EXIT

kib() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$server_pid/status"; }
record() { echo "$1" >> "$results"; }

# load SET ROUTE: $runs wrk runs of one route, one JSON line each.
load() {
    local set="$1" route="$2"
    for run in $(seq 1 "$runs"); do
        local line
        line=$(BENCH_ROUTE="$route" BENCH_TOKENS="$work/$set/tokens.txt" \
            wrk -t"$threads" -c"$connections" -d"$duration" -s bench/wrk/route.lua "$base" | tail -n 1)
        echo "  $set $route run $run: $line" >&2
        record "{\"kind\":\"load\",\"set\":\"$set\",\"run\":$run,\"data\":$line}"
    done
}

# posts_like PATTERN SET: rows whose text starts with PATTERN (read with Python's sqlite3).
posts_like() {
    python3 -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); print(db.execute("SELECT count(*) FROM posts WHERE text LIKE ?", (sys.argv[2] + "%",)).fetchone()[0])' \
        "$work/$2/scooterbooter.db" "$1"
}

# overload SET: the overload step (bench/overload.py) on SET, with load shedding as
# configured by default, refusing at once (MAX_QUEUE_WAIT_MS=0) and off
# (MAX_IN_FLIGHT=0), the server limited to 1,024 descriptors.
overload_conns="${BENCH_OVERLOAD_CONNECTIONS:-3000}"
overload_secs="${BENCH_OVERLOAD_SECONDS:-15}"
overload() {
    local set="$1" label extra line
    # wrk needs a descriptor per connection; the server keeps its own limit below.
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    for label in "shedding, defaults" "shedding at once (MAX_QUEUE_WAIT_MS=0)" "no shedding (MAX_IN_FLIGHT=0)"; do
        extra=()
        case "$label" in
            *MAX_QUEUE_WAIT_MS=0*) extra=(MAX_QUEUE_WAIT_MS=0) ;;
            *MAX_IN_FLIGHT=0*) extra=(MAX_IN_FLIGHT=0) ;;
        esac
        say "overload: $overload_conns connections for ${overload_secs}s on GET /feed ($set), $label"
        (ulimit -n 1024 && exec env "${extra[@]}" SCOOTER_LISTEN="127.0.0.1:$port" "$bin" serve --data "$work/$set") \
            >>"$work/server.log" 2>&1 &
        server_pid=$!
        for _ in $(seq 1 500); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.02; done
        python3 bench/warm.py "$base" "$work/$set/tokens.txt"
        line=$(python3 bench/overload.py "$base" "$work/$set/tokens.txt" "$server_pid" \
            "$overload_conns" "$overload_secs" feed 30)
        echo "  $line" >&2
        record "{\"kind\":\"overload\",\"label\":\"$label\",\"data\":$line}"
        stop_server
    done
}

media_processing() {
    say "media processing: a 12 MP photo with its sizes, a 10 s 1080p HLG clip tone-mapped"
    python3 bench/media.py "$bin" "$work/media" "${BENCH_MEDIA_RUNS:-3}" | while read -r line; do
        echo "  $line" >&2
        record "{\"kind\":\"media\",\"data\":$line}"
    done
}

if [ "${BENCH_ONLY:-}" = media ]; then
    media_processing
    { echo "# Media processing benchmark"; echo; echo "Commit $commit, $(date -u +%Y-%m-%d), $(nproc) cores."; echo
      python3 bench/report.py "$results" --runs "$runs" --duration "$duration" --connections "$connections" \
          --threads "$threads" --users "$users" --follows "$follows" --commit "$commit" \
          | sed -n '/^## Media processing/,/^## Memory/p' | sed '$d'; } > "${BENCH_OUT:-bench/MEDIA.md}"
    say "wrote ${BENCH_OUT:-bench/MEDIA.md}"
    exit 0
fi

if [ "${BENCH_ONLY:-}" = overload ]; then
    seed feed-10k 1
    overload feed-10k
    { echo "# Overload benchmark"; echo; echo "Commit $commit, $(date -u +%Y-%m-%d), $(nproc) cores."; echo
      python3 bench/overload.py --report "$results"; } > "${BENCH_OUT:-bench/OVERLOAD.md}"
    say "wrote ${BENCH_OUT:-bench/OVERLOAD.md}"
    exit 0
fi

seed feed-1m 100
seed feed-100k 10
seed feed-10k 1

say "cold start: spawn -> first 200 on GET /me, 20 starts per run"
token=$(head -n 1 "$work/feed-1m/tokens.txt" | cut -d' ' -f1)
for run in $(seq 1 "$runs"); do
    line=$(python3 bench/coldstart.py "$bin" "$work/feed-1m" "$token" 20 3998)
    echo "  run $run: $line" >&2
    record "{\"kind\":\"cold_start\",\"run\":$run,\"data\":$line}"
done

say "reads on the 1M-post set ($connections connections, $threads wrk threads, $duration per run)"
start_server feed-1m
sleep 2
record "{\"kind\":\"rss_idle_kib\",\"value\":$(kib VmRSS)}"
record "{\"kind\":\"rss_idle_anon_kib\",\"value\":$(kib RssAnon)}"
for route in ceiling me feed profile user_posts scoops; do
    load feed-1m "$route"
done
record "{\"kind\":\"rss_peak_read_kib\",\"value\":$(kib VmHWM)}"

say "writes: POST /posts, then kill -9 and count what was acknowledged"
before=$(posts_like "Bench ride number" feed-1m)
load feed-1m post
stop_server -KILL
after=$(posts_like "Bench ride number" feed-1m)
acked=$(python3 -c 'import json,sys
n=0
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r["kind"]=="load" and r["data"]["route"]=="post": n+=r["data"]["requests"]-r["data"]["non2xx"]
print(n)' "$results")
record "{\"kind\":\"durability\",\"acknowledged\":$acked,\"rows_after_kill\":$((after - before))}"
echo "  acknowledged $acked, rows after kill -9: $((after - before))" >&2

start_server feed-1m
for route in react comment; do
    load feed-1m "$route"
done
record "{\"kind\":\"rss_peak_all_kib\",\"value\":$(kib VmHWM)}"
stop_server

say "growth: GET /feed at 10k and 100k posts (1M measured above)"
for set in feed-10k feed-100k; do
    start_server "$set"
    load "$set" feed
    stop_server
done

overload feed-10k

say "fan-out cost (FEED=timeline): authors with 10, 1,000 and 10,000 active followers (fan-out limit raised to measure all three)"
seed feed-1m 100 10000
mv "$work/feed-1m/tokens.txt" "$work/feed-1m/tokens-10k.txt"
seed feed-1m 100
: > "$work/fanout.log"
SCOOTER_LISTEN="127.0.0.1:$port" RUST_LOG="info,scooter_posts=debug" FEED=timeline TIMELINE_FANOUT_MAX_FOLLOWERS=1000000 \
    "$bin" serve --data "$work/feed-1m" >>"$work/fanout.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 500); do curl -fs "$base/healthz" >/dev/null 2>&1 && break; sleep 0.02; done
python3 bench/fanout.py "$base" "$work/feed-1m/tokens-10k.txt" "$work/fanout.log" \
    "$work/feed-1m/scooterbooter.db" 10,1000,10000 | while read -r line; do
    echo "  $line" >&2
    record "{\"kind\":\"fanout\",\"data\":$line}"
done
stop_server

say "push delivery: pushes per second to a stand-in Expo server"
python3 bench/push.py "$bin" "$work" "${BENCH_PUSHES:-5000}" "${BENCH_PUSH_CONCURRENCY:-64}" | while read -r line; do
    echo "  $line" >&2
    record "{\"kind\":\"push\",\"data\":$line}"
done

media_processing

python3 bench/report.py "$results" \
    --runs "$runs" --duration "$duration" --connections "$connections" --threads "$threads" \
    --users "$users" --follows "$follows" --commit "$commit" > "$out"
say "wrote $out"
