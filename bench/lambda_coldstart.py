#!/usr/bin/env python3
"""Cold start of the Lambda mode: process spawn -> first answered invocation.

Usage: lambda_coldstart.py BINARY DATA_DIR TOKEN [STARTS] [SERVICES]

Plays the Lambda Runtime API on a local port (as the Lambda service does beside the
function) and starts BINARY as the runtime starts `bootstrap`: no arguments,
AWS_LAMBDA_RUNTIME_API set, SCOOTER_SERVICES=SERVICES (default `users`). The first
`next` hands it an API Gateway HTTP API event for GET /me with TOKEN; the time from
just before the spawn to the function's response is one sample. The process is then
killed, as Lambda freezes or drops an idle environment. Repeats STARTS times (default
20) on the same DATA_DIR (an existing SQLite store) and prints one JSON line: every
sample and the median, in ms, the largest peak RSS (VmHWM after the answer), and the
answer's status.
"""

import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time

EVENT = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/me",
    "rawQueryString": "",
    "headers": {"host": "api.example.com"},
    "requestContext": {
        "accountId": "123456789012",
        "apiId": "bench",
        "domainName": "api.example.com",
        "domainPrefix": "api",
        "http": {
            "method": "GET",
            "path": "/me",
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7",
            "userAgent": "bench",
        },
        "requestId": "bench",
        "routeKey": "$default",
        "stage": "$default",
        "time": "01/Dec/2026:12:00:00 +0000",
        "timeEpoch": 1796126400000,
    },
    "isBase64Encoded": False,
}


class Runtime(http.server.BaseHTTPRequestHandler):
    """One invocation per start: `next` answers the event once, then hangs."""

    state: dict = {}

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        st = Runtime.state
        if st["handed"]:
            st["stop"].wait(30)
            self.send_response(500)
            self.end_headers()
            return
        st["handed"] = True
        body = json.dumps(st["event"]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header(
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench",
        )
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-bench")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        st = Runtime.state
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length)
        if self.path.endswith("/response"):
            st["answered_at"] = time.perf_counter()
            st["answer"] = json.loads(payload or b"{}")
        else:
            st["answer"] = {"error": payload.decode(errors="replace"), "path": self.path}
            st["answered_at"] = time.perf_counter()
        st["done"].set()
        self.send_response(202)
        self.end_headers()


def peak_rss_kib(pid: int) -> int:
    """The process's peak resident set so far (VmHWM), in KiB: what Lambda's memory
    setting must hold."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> None:
    binary, data, token = sys.argv[1:4]
    starts = int(sys.argv[4]) if len(sys.argv) > 4 else 20
    services = sys.argv[5] if len(sys.argv) > 5 else "users"
    event = json.loads(json.dumps(EVENT))
    event["headers"]["authorization"] = f"Bearer {token}"
    env = dict(
        os.environ,
        AWS_LAMBDA_FUNCTION_NAME="bench",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_LOG_STREAM_NAME="bench",
        AWS_LAMBDA_LOG_GROUP_NAME="/aws/lambda/bench",
        SCOOTER_DATA_DIR=data,
        SCOOTER_SERVICES=services,
        RUST_LOG="warn",
    )
    samples, peaks, first_status = [], [], None
    for _ in range(starts):
        Runtime.state = {
            "event": event,
            "handed": False,
            "done": threading.Event(),
            "stop": threading.Event(),
        }
        # A Runtime API of its own per start: a killed start's last `next` must not
        # take the next start's event.
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            if not Runtime.state["done"].wait(10):
                raise SystemExit("the function did not answer within 10 s")
            answer = Runtime.state["answer"]
            status = answer.get("statusCode")
            if status != 200:
                raise SystemExit(f"GET /me answered {answer}")
            first_status = first_status or status
            samples.append((Runtime.state["answered_at"] - t0) * 1000)
            peaks.append(peak_rss_kib(proc.pid))
        finally:
            Runtime.state["stop"].set()
            proc.kill()
            proc.wait(timeout=30)
            server.shutdown()
            server.server_close()
    print(json.dumps({
        "samples_ms": [round(s, 2) for s in samples],
        "median_ms": round(statistics.median(samples), 2),
        "peak_rss_mib_max": round(max(peaks) / 1024, 1),
        "status": first_status,
    }))


if __name__ == "__main__":
    main()
