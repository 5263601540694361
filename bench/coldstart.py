#!/usr/bin/env python3
"""Cold start of the ScooterBooter server: process spawn -> first 200 on GET /me.

Usage: coldstart.py BINARY DATA_DIR TOKEN [STARTS] [PORT]

Spawns `BINARY serve` on an existing data folder STARTS times (default 20). Each time,
polls GET /me with TOKEN over a fresh connection every 0.2 ms until it answers 200,
records the time since just before the spawn, then stops the server with SIGTERM and
waits for it to exit. Prints one JSON line: every sample and the median, in ms.
"""

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time


def first_200(port: int, token: str, deadline: float) -> None:
    while time.perf_counter() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/me", headers={"Authorization": f"Bearer {token}"})
            status = conn.getresponse().status
            conn.close()
            if status == 200:
                return
            raise SystemExit(f"GET /me answered {status}")
        except (ConnectionRefusedError, ConnectionResetError):
            time.sleep(0.0002)
    raise SystemExit("the server did not answer within 10 s")


def main() -> None:
    binary, data, token = sys.argv[1:4]
    starts = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    port = int(sys.argv[5]) if len(sys.argv) > 5 else 3998
    env = dict(os.environ, SCOOTER_LISTEN=f"127.0.0.1:{port}", RUST_LOG="warn")
    samples = []
    for _ in range(starts):
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [binary, "serve", "--data", data],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            first_200(port, token, t0 + 10)
            samples.append((time.perf_counter() - t0) * 1000)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    print(json.dumps({
        "samples_ms": [round(s, 2) for s in samples],
        "median_ms": round(statistics.median(samples), 2),
    }))


if __name__ == "__main__":
    main()
