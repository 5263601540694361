#!/usr/bin/env python3
"""The overload step of scripts/bench.sh: a burst of many connections against a running
server, with what a client and an operator would see.

Usage: overload.py BASE TOKENS SERVER_PID CONNECTIONS DURATION_S ROUTE [IDLE_S]
       overload.py --report RESULTS_JSONL   (the Markdown section of the recorded runs)

Prints one JSON line: the server's RSS before, at its highest during and IDLE_S seconds
after the burst (KiB, from /proc), wrk's answers by status with their latency (wrk with
bench/wrk/overload.lua; refusals included), and the latency of admitted requests as a
client among the crowd sees it: a probe sends the same route over one kept-alive
connection, one request after another, and times those answered 2xx (the 503s it gets
are counted, not timed). `/healthz` is probed the same way. The caller raises
`ulimit -n` above CONNECTIONS for wrk; the server keeps its own limit.
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def path_of(route, handle):
    return {
        "me": "/me",
        "feed": "/feed",
        "profile": f"/u/{handle}",
        "user_posts": f"/u/{handle}/posts",
        "scoops": "/scoops/feed",
        "ceiling": "/healthz",
    }[route]


class Probe(threading.Thread):
    """One client sending `path` again and again until stopped."""

    def __init__(self, host, port, path, token):
        super().__init__(daemon=True)
        self.host, self.port, self.path, self.token = host, port, path, token
        self.admitted_ms, self.statuses, self.failures = [], {}, 0
        self.stop = threading.Event()

    def run(self):
        conn = None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                started = time.perf_counter()
                conn.request("GET", self.path, headers=headers)
                res = conn.getresponse()
                res.read()
                ms = (time.perf_counter() - started) * 1000
                self.statuses[res.status] = self.statuses.get(res.status, 0) + 1
                if 200 <= res.status < 300:
                    self.admitted_ms.append(ms)
                if res.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                self.failures += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.05)
            # A client that paces itself a little, as an app does.
            time.sleep(0.005)

    def summary(self):
        ms = sorted(self.admitted_ms)

        def pct(p):
            return round(ms[min(len(ms) - 1, int(len(ms) * p))], 2) if ms else None

        return {
            "admitted": len(ms),
            "p50_ms": pct(0.50),
            "p99_ms": pct(0.99),
            "max_ms": round(ms[-1], 2) if ms else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "failures": self.failures,
        }


def mib(kib):
    return f"{kib / 1024:.0f} MiB" if kib else "n/a"


def render(runs):
    """The Markdown section for `runs`: {"label", "data"} records of this script's lines."""
    out = ["## Overload: a burst of connections against a 1,024-descriptor limit", ""]
    if not runs:
        return out
    d0 = runs[0]["data"]
    out += [
        f"`bench/overload.py`: wrk opens {d0['connections']:,} connections (2 threads, "
        f"`bench/wrk/overload.lua`) for {d0['seconds']} s of `GET /{d0['route']}`, each sending its "
        "next request as soon as the last is answered (and ignoring `Retry-After`), against a server "
        "started with `ulimit -n 1024` (so at most 768 connections are open; the rest wait in the "
        "listen backlog). Meanwhile a probe client sends the same request on one kept-alive "
        "connection, one after another: its 2xx answers are the *admitted-request latency* a client "
        "among the crowd sees; another probes `/healthz`. RSS is read from /proc before, at its "
        "highest during, and after the burst once idle. wrk and the server share the 2 cores.",
        "",
        "| Run | wrk answers by status | wrk p50 / p99 (all answers) | 5xx but 503 | admitted (probe): count, p50 / p99 | probe answers | `/healthz` probe | RSS before / peak / after idle | peak fds |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        d = r["data"]
        wrk = d.get("wrk", {})
        statuses = wrk.get("statuses", {})
        bad = sum(n for k, n in statuses.items() if k.startswith("5") and k != "503")
        bad += sum(n for k, n in d["admitted"]["statuses"].items() if k.startswith("5") and k != "503")
        st = ", ".join(f"{k}: {n:,}" for k, n in sorted(statuses.items()))
        errs = sum(wrk.get(k, 0) for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
        if errs:
            st += f"; socket errors: {errs:,}"
        a = d["admitted"]
        admitted = (f"{a['admitted']:,}, {a['p50_ms']} / {a['p99_ms']} ms" if a["admitted"] else "none")
        probe = ", ".join(f"{k}: {n:,}" for k, n in a["statuses"].items()) or "none"
        h = d["healthz"]
        health = (f"{h['admitted']:,} answered, p50 {h['p50_ms']} ms, max {h['max_ms']} ms"
                  if h["admitted"] else "none answered")
        rss = d["rss_kib"]
        after_key = next(k for k in rss if k.startswith("after"))
        out.append(
            f"| {r['label']} | {st} | {wrk.get('p50_ms', 0):.0f} / {wrk.get('p99_ms', 0):.0f} ms | {bad} | "
            f"{admitted} | {probe} | {health} | {mib(rss['before'])} / {mib(rss['peak'])} / "
            f"{mib(rss[after_key])} ({after_key.split('_')[1]}) | {d['peak_fds']} |")
    out.append("")
    return out


def main():
    if sys.argv[1] == "--report":
        with open(sys.argv[2]) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        print("\n".join(render([r for r in rows if r["kind"] == "overload"])))
        return
    base, tokens, pid, connections, duration, route = sys.argv[1:7]
    idle = float(sys.argv[7]) if len(sys.argv) > 7 else 10.0
    pid, connections, duration = int(pid), int(connections), int(duration)
    url = urllib.parse.urlparse(base)
    with open(tokens) as f:
        token, handle, _ = f.readline().split()

    time.sleep(1)
    before = rss_kib(pid)
    quiet = Probe(url.hostname, url.port, path_of(route, handle), token)
    quiet.start()
    time.sleep(3)
    quiet.stop.set()
    quiet.join()

    env = dict(os.environ, BENCH_ROUTE=route, BENCH_TOKENS=tokens)
    wrk = subprocess.Popen(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
         "-s", "bench/wrk/overload.lua", base],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    probe = Probe(url.hostname, url.port, path_of(route, handle), token)
    health = Probe(url.hostname, url.port, "/healthz", None)
    # Let the crowd connect first.
    time.sleep(min(2.0, duration / 4))
    probe.start()
    health.start()
    peak_rss, peak_fds = before, 0
    while wrk.poll() is None:
        peak_rss = max(peak_rss, rss_kib(pid))
        peak_fds = max(peak_fds, fds(pid))
        time.sleep(0.25)
    probe.stop.set()
    health.stop.set()
    probe.join()
    health.join()
    out = wrk.stdout.read().strip().splitlines()
    load = json.loads(out[-1]) if out else {}
    time.sleep(idle)
    after = rss_kib(pid)
    print(json.dumps({
        "route": route,
        "connections": connections,
        "seconds": duration,
        "rss_kib": {"before": before, "peak": peak_rss, f"after_{int(idle)}s": after},
        "peak_fds": peak_fds,
        "quiet": quiet.summary(),
        "wrk": load,
        "admitted": probe.summary(),
        "healthz": health.summary(),
    }))


if __name__ == "__main__":
    main()
