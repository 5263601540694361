#!/usr/bin/env python3
"""The fan-out's cost by the author's follower count, against a running server.

Signs up one author per follower count, has that many seeded riders follow it (their
tokens from `scooterbooter seed --tokens`) and read their feed (so each has a timeline,
as active users do), lets each author post a few times, and reads
the server's JSON log for the fan-out jobs' own timings ("fanned out" lines at debug
level, `elapsed_us`). Prints one JSON line per follower count.

Before probing, it waits for the outbox to hold no fan-out job (read from the SQLite
file), so a backlog from earlier steps does not queue in front of the probes. A probe
that a follower sees in their feed as soon as the POST answered was copied in the
post's own transaction (small audiences on SQLite): no job, no log line.

Usage: bench/fanout.py BASE_URL TOKENS_FILE SERVER_LOG DATABASE COUNT[,COUNT...] [POSTS]
"""

import concurrent.futures
import json
import sqlite3
import statistics
import sys
import time
import urllib.error
import urllib.request


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read()
            return r.status, json.loads(text) if text else None
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def main():
    base, tokens_file, log, database, counts = sys.argv[1:6]
    posts = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    tokens = [line.split()[0] for line in open(tokens_file) if line.strip()]
    stamp = int(time.time())
    for count in (int(c) for c in counts.split(",")):
        if count > len(tokens):
            raise SystemExit(f"{count} followers asked, {len(tokens)} tokens in {tokens_file}")
        handle = f"fan{count}_{stamp}"
        st, t = call(base, "POST", "/auth/signup",
                     body={"email": f"{handle}@bench.example", "password": "correct horse battery"})
        if st != 201:
            raise SystemExit(f"signup: {st} {t}")
        author = t["accessToken"]
        call(base, "POST", "/username", author, {"handle": handle})
        call(base, "POST", "/me/accept-terms", author, {"version": "1"})
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            done = list(pool.map(lambda tok: call(base, "POST", "/follow", tok, {"handle": handle})[0],
                                 tokens[:count]))
        bad = [s for s in done if s != 200]
        if bad:
            raise SystemExit(f"follows: {len(bad)} failed ({bad[:3]})")
        # Active followers: each reads their feed, so their timeline exists and the
        # fan-out writes to it (idle followers get none).
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda tok: call(base, "GET", "/feed?limit=1", tok)[0], tokens[:count]))
        db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        for _ in range(600):
            pending = db.execute("SELECT count(*) FROM jobs WHERE kind = 'timeline_fan_out'").fetchone()[0]
            if pending == 0:
                break
            time.sleep(1)
        db.close()
        ids, post_ms, inline = [], [], True
        for i in range(posts):
            t = time.perf_counter()
            st, p = call(base, "POST", "/posts", author, {"text": f"fan-out probe {i}"})
            post_ms.append((time.perf_counter() - t) * 1000)
            if st != 201:
                raise SystemExit(f"post: {st} {p}")
            ids.append(p["id"])
            st, feed = call(base, "GET", "/feed?limit=1", tokens[0])
            if not (st == 200 and feed["items"] and feed["items"][0]["id"] == p["id"]):
                inline = False
        # The worker polls the outbox; wait for every probe's log line.
        timings, deadline = {}, time.time() + (0 if inline else 300)
        while len(timings) < len(ids) and time.time() < deadline:
            time.sleep(0.5)
            with open(log, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if '"fanned out"' not in line and '"author pulled at read"' not in line:
                        continue
                    try:
                        r = json.loads(line)
                    except ValueError:
                        continue
                    if r.get("post") in ids:
                        timings[r["post"]] = (r.get("elapsed_us", 0) / 1000, r.get("timelines"))
        if not inline and len(timings) < len(ids):
            raise SystemExit(f"only {len(timings)} of {len(ids)} fan-outs logged in {log}")
        ms = [t for t, _ in timings.values()]
        written = [w for _, w in timings.values()]
        print(json.dumps({"followers": count, "posts": len(ids),
                          "post_median_ms": statistics.median(post_ms),
                          "inline": inline,
                          "median_ms": statistics.median(ms) if ms else None,
                          "max_ms": max(ms) if ms else None,
                          "timelines": max((w or 0 for w in written), default=count),
                          "pulled": bool(written) and all(w is None for w in written)}), flush=True)


if __name__ == "__main__":
    main()
