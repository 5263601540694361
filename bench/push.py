#!/usr/bin/env python3
"""Pushes per second from the job worker to a stand-in Expo server on loopback.

Seeds N riders (tokens from `scooterbooter seed --tokens`), starts the server with its
worker off, registers one Expo device per rider and has each rider follow the next (N
follow notifications, each a push job to one device), stops it, then starts it again
with the worker on and EXPO_PUSH_URL pointing at the stand-in, and times how long the
N messages take to arrive. The stand-in answers like Expo (gzip bodies, one ticket
with a receipt id per message) and takes no time of its own, so the figure is the
server's: claiming jobs, reading the store, batching, sending, recording.

Prints one JSON line: pushes, seconds (first to last message), pushes_per_sec,
requests, largest request, worker concurrency.

Usage: bench/push.py BIN WORK_DIR [N] [WORKER_CONCURRENCY]
"""

import concurrent.futures
import gzip
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request


class StandIn(http.server.BaseHTTPRequestHandler):
    """Expo's send endpoint: counts messages and answers tickets."""

    lock = threading.Lock()
    messages = 0
    requests = 0
    largest = 0
    first = None
    last = None
    ticket = 0

    def log_message(self, *args):
        pass

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.headers.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        body = json.loads(raw)
        now = time.monotonic()
        n = len(body) if isinstance(body, list) else 0
        with StandIn.lock:
            StandIn.requests += 1
            StandIn.messages += n
            StandIn.largest = max(StandIn.largest, n)
            StandIn.first = StandIn.first or now
            StandIn.last = now
            start = StandIn.ticket
            StandIn.ticket += n
        tickets = [{"status": "ok", "id": f"r-{start + i}"} for i in range(n)]
        out = json.dumps({"data": tickets}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def call(base, method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("authorization", f"Bearer {token}")
    req.add_header("content-type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def start_server(bin_path, data, port, env):
    full = dict(os.environ, SCOOTER_LISTEN=f"127.0.0.1:{port}", RATE_LIMITS="false", **env)
    log = open(os.path.join(data, "server.log"), "ab")
    proc = subprocess.Popen([bin_path, "serve", "--data", data], env=full, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    sys.exit("the server did not start")


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def main():
    bin_path, work = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    concurrency = sys.argv[4] if len(sys.argv) > 4 else "64"
    data = os.path.join(work, f"push-{n}")
    tokens_file = os.path.join(data, "tokens.txt")
    subprocess.run(["rm", "-rf", data], check=True)
    os.makedirs(data)
    subprocess.run(
        [bin_path, "seed", "--data", data, "--users", str(n), "--follows-per-user", "0",
         "--posts-per-user", "1", "--tokens", tokens_file, "--token-count", str(n)],
        check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, ACCESS_TOKEN_TTL="3600"))
    riders = [line.split()[:2] for line in open(tokens_file) if line.strip()]

    stand_in = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=stand_in.serve_forever, daemon=True).start()
    expo = f"http://127.0.0.1:{stand_in.server_address[1]}/--/api/v2/push/send"
    env = {"EXPO_PUSH_URL": expo, "ACCESS_TOKEN_TTL": "3600"}

    # Notifications written, nothing sent: the worker is off.
    proc, base = start_server(bin_path, data, 3996, dict(env, RUN_WORKER="false"))

    def prepare(i):
        token, _ = riders[i]
        call(base, "POST", "/push/register", token,
             {"token": f"ExponentPushToken[bench-{i}]", "platform": "ios", "provider": "expo"})
        call(base, "POST", "/follow", token, {"handle": riders[(i + 1) % len(riders)][1]})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(prepare, range(len(riders))))
    stop(proc)

    # The worker on: time the deliveries.
    started = time.monotonic()
    proc, _ = start_server(bin_path, data, 3996, dict(env, WORKER_CONCURRENCY=concurrency))
    deadline = time.monotonic() + 600
    while StandIn.messages < len(riders) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop(proc)
    stand_in.shutdown()
    secs = (StandIn.last or started) - (StandIn.first or started)
    print(json.dumps({
        "bench": "push",
        "pushes": StandIn.messages,
        "expected": len(riders),
        "seconds": round(secs, 3),
        "pushes_per_sec": round(StandIn.messages / secs) if secs > 0 else None,
        "requests": StandIn.requests,
        "largest_request": StandIn.largest,
        "worker_concurrency": int(concurrency),
    }))


if __name__ == "__main__":
    main()
