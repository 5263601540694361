#!/usr/bin/env python3
"""End-to-end test of the microservice shape: `scripts/local.sh api` (six service
processes, the job worker and nginx) on a free port, driven through nginx only.

Runs the README scenario (sign up, handle, terms, follow, post, feed, comment,
notification, upload, scoop, view), then kills the posts process: only posts routes
fail, with the API's error envelope from nginx, while the others keep answering; a
route sent straight to the wrong process is a 404 there; a restarted posts process
serves again. The edge (nginx) is tried as a hostile client would: request ids that
would break its JSON, nginx's own errors (unknown paths with an extension, no Host, a
9 KB URL, a 20 KB header, TRACE) in the JSON envelope, CORS preflights, and a
slow-header flood with slow bodies against a small connection budget (NGINX_* below,
so it takes seconds). Exits non-zero on the first broken expectation.

Usage: scripts/e2e-microservices.py [BINARY]   (default target/debug/scooterbooter)
"""

import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

import e2e_http

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/scooterbooter"))
CORS_ORIGIN = "https://admin.example.com"
# nginx's connection budget for this run: small, so the flood below needs seconds and
# a few hundred sockets (the defaults of scripts/local.sh are far larger). One worker,
# so the budget is one number.
FLOOD_WORKER_CONNECTIONS = 256
FLOOD_SLOW_HEADS = 200
FLOOD_CONN_PER_ADDR = 8
FLOOD_HEADER_TIMEOUT = 2
FLOOD_SECONDS = 4


def free_port_block():
    """A port P with P and P+101..P+106 free (checked, then released)."""
    for _ in range(50):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p + 106 > 65535:
            continue
        ok = True
        for q in [p] + [p + 100 + i for i in range(1, 7)]:
            t = socket.socket()
            try:
                t.bind(("127.0.0.1", q))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return p
    raise SystemExit("no free block of ports")


def call(base, method, path, token=None, body=None, raw=None, headers=None):
    status, body, _ = e2e_http.call(base, method, path, token, body, raw, headers)
    return status, body


def expect(what, status, body, want):
    if status != want:
        raise SystemExit(f"FAIL {what}: expected {want}, got {status}: {body}")
    print(f"ok   {what} ({status})")


def png():
    """An 8×8 red PNG."""
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 8 for _ in range(8))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def upload(base, token, purpose):
    image = png()
    st, u = call(base, "POST", "/upload-url", token, {"contentType": "image/png", "size": len(image), "purpose": purpose})
    expect(f"upload URL for a {purpose}", st, u, 200)
    st, body = call(base, u["method"], u["uploadUrl"], raw=image, headers=u.get("headers") or {"Content-Type": "image/png"})
    if st not in (200, 201, 204):
        raise SystemExit(f"FAIL upload: {st} {body}")
    print(f"ok   upload through nginx ({st})")
    return u["key"]


def wait_up(url, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing answers at {url}")


def raw_http(port, data, source="127.0.0.1", timeout=5):
    """Sends `data` as is on a new connection; returns (status, headers, body bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    try:
        s.sendall(data)
        out = b""
        while b"\r\n\r\n" not in out:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = int(headers.get("content-length", "0"))
        while len(body) < want:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body
    finally:
        s.close()


def expect_envelope(what, got, status, code):
    """`got` from raw_http: the status, JSON by type, the envelope with the id header."""
    st, headers, body = got
    if st != status:
        raise SystemExit(f"FAIL {what}: expected {status}, got {st}: {body[:200]!r}")
    if headers.get("content-type") != "application/json":
        raise SystemExit(f"FAIL {what}: Content-Type {headers.get('content-type')!r}: {body[:200]!r}")
    try:
        env = json.loads(body)
    except ValueError:
        raise SystemExit(f"FAIL {what}: not JSON: {body[:200]!r}")
    rid = headers.get("x-request-id")
    if env["error"]["code"] != code or not rid or env["error"]["requestId"] != rid:
        raise SystemExit(f"FAIL {what}: {headers} {env}")
    print(f"ok   {what} ({st} {code}, JSON, x-request-id {rid})")
    return env


def edge_envelopes(port, run):
    """nginx's own answers: JSON whatever the path, ids only of a safe shape, logged."""
    host = f"Host: 127.0.0.1:{port}\r\nConnection: close\r\n"
    for bad in ('x","code":"owned', "a\\", "a" * 65, "a b"):
        env = expect_envelope(f"x-request-id {bad[:20]!r} at nginx's 404",
                              raw_http(port, f"GET /no/such/path HTTP/1.1\r\n{host}x-request-id: {bad}\r\n\r\n".encode()),
                              404, "not_found")
        assert env["error"]["requestId"] != bad and set(env) == {"error"}, env
    st, r, h = e2e_http.call(f"http://127.0.0.1:{port}", "GET", "/me", headers={"x-request-id": 'x","code":"owned'})
    expect("an unsafe x-request-id through nginx to a service", st, r, 401)
    assert r["error"]["code"] == "missing_token" and r["error"]["requestId"] == h["x-request-id"] != 'x","code":"owned', (r, dict(h))
    assert len(h.get_all("x-request-id")) == 1, dict(h)
    st, r, h = e2e_http.call(f"http://127.0.0.1:{port}", "GET", "/me", headers={"x-request-id": "e2e-kept.64"})
    assert st == 401 and r["error"]["requestId"] == "e2e-kept.64" == h["x-request-id"], (st, r)
    print("ok   a safe x-request-id is kept by nginx and the service alike")
    expect_envelope("GET /nope.jpg at nginx", raw_http(port, f"GET /nope.jpg HTTP/1.1\r\n{host}\r\n".encode()), 404, "not_found")
    expect_envelope("a request without Host", raw_http(port, b"GET /me HTTP/1.1\r\n\r\n"), 400, "bad_request")
    expect_envelope("a 9 KB URL", raw_http(port, f"GET /{'a' * 9000} HTTP/1.1\r\n{host}\r\n".encode()), 414, "uri_too_long")
    expect_envelope("a 20 KB header", raw_http(port, f"GET /me HTTP/1.1\r\n{host}X-Big: {'b' * 20000}\r\n\r\n".encode()),
                    400, "header_too_large")
    expect_envelope("TRACE", raw_http(port, f"TRACE /me HTTP/1.1\r\n{host}\r\n".encode()), 405, "method_not_allowed")
    # The access log names each request's id (written as each request ends).
    st, _, h = e2e_http.call(f"http://127.0.0.1:{port}", "GET", "/no/such/path", headers={"x-request-id": "e2e-logged-1"})
    # nginx writes the line in its log phase, after the answer is sent: wait for it.
    for _ in range(100):
        log = open(os.path.join(run, "logs/access.log")).read().splitlines()
        entries = [json.loads(line) for line in log if "e2e-logged-1" in line]
        if entries:
            break
        time.sleep(0.02)
    assert entries and entries[-1]["requestId"] == "e2e-logged-1" and entries[-1]["status"] == 404, log[-3:]
    print("ok   nginx's access log records the request id")


def edge_cors(port):
    """Preflights pass nginx to the service, which allows only CORS_ORIGINS."""
    base = f"http://127.0.0.1:{port}"
    pre = {"Origin": CORS_ORIGIN, "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization, content-type"}
    st, _, h = e2e_http.call(base, "OPTIONS", "/posts", headers=pre)
    if st != 200 or h.get("access-control-allow-origin") != CORS_ORIGIN:
        raise SystemExit(f"FAIL CORS preflight for {CORS_ORIGIN}: {st} {dict(h)}")
    assert "authorization" in h.get("access-control-allow-headers", "").lower(), dict(h)
    print(f"ok   CORS preflight through nginx allowed for {CORS_ORIGIN} ({st})")
    st, _, h = e2e_http.call(base, "OPTIONS", "/posts", headers=dict(pre, Origin="https://elsewhere.example.com"))
    if h.get("access-control-allow-origin"):
        raise SystemExit(f"FAIL CORS preflight for another origin: {st} {dict(h)}")
    print(f"ok   CORS preflight for another origin not allowed ({st}, no Access-Control-Allow-Origin)")
    st, r, h = e2e_http.call(base, "GET", "/me", headers={"Origin": CORS_ORIGIN})
    assert st == 401 and h.get("access-control-allow-origin") == CORS_ORIGIN, (st, dict(h))
    print("ok   an error answered to a listed origin is readable by it")


def edge_flood(port):
    """A slow-header flood (and slow bodies) from one address, sized against the test
    budget (NGINX_* in main): a normal client from another address is answered
    throughout, slow heads are cut at the header timeout, and the address's requests
    in progress are capped with a 429 envelope."""
    slow_head = b"GET /me HTTP/1.1\r\nHost: x\r\n"
    conns = {}  # socket -> opened at, first batch only
    first = {}
    lifetimes = []

    def open_slow(batch_first=False):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.setblocking(False)
        s.send(slow_head)
        conns[s] = time.time()
        if batch_first:
            first[s] = conns[s]

    for _ in range(FLOOD_SLOW_HEADS):
        open_slow(batch_first=True)
    # Slow bodies: whole heads (so they count against the per-address cap), bodies
    # that never come.
    bodies, refused = [], 0
    for _ in range(FLOOD_CONN_PER_ADDR + 12):
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"POST /posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        bodies.append(s)
    time.sleep(0.3)
    for s in bodies:
        s.setblocking(False)
        try:
            data = s.recv(65536)
        except BlockingIOError:
            continue
        if data.startswith(b"HTTP/1.1 429") and b'"code":"rate_limited"' in data and b"application/json" in data:
            refused += 1
    if refused != 12:
        raise SystemExit(f"FAIL per-address cap: {refused} of {len(bodies)} slow bodies refused with 429, expected 12")
    print(f"ok   per-address cap: {FLOOD_CONN_PER_ADDR} slow bodies in progress, 12 more refused with a 429 envelope")

    served, worst, failures = 0, 0.0, []
    done = threading.Event()

    def normal_client():
        nonlocal served, worst
        while not done.is_set():
            t = time.time()
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=3, source_address=("127.0.0.2", 0))
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status != 200:
                    failures.append(r.status)
                served += 1
                worst = max(worst, time.time() - t)
            except OSError as e:
                failures.append(repr(e))
            time.sleep(0.1)

    client = threading.Thread(target=normal_client)
    client.start()
    deadline = time.time() + FLOOD_SECONDS
    try:
        while time.time() < deadline:
            for s in list(conns):
                closed = False
                try:
                    if s.recv(4096) == b"":
                        closed = True
                except BlockingIOError:
                    try:
                        s.send(b"X-Slow: 1\r\n")
                    except OSError:
                        closed = True
                except OSError:
                    closed = True
                if closed:
                    if s in first:
                        lifetimes.append(time.time() - first.pop(s))
                    del conns[s]
                    s.close()
                    open_slow()  # the flood keeps its size
            time.sleep(0.25)
    finally:
        done.set()
        client.join()
        for s in list(conns) + bodies:
            s.close()
    if failures or served < 10 or worst > 1.5:
        raise SystemExit(f"FAIL a normal client during the flood: {served} served, worst {worst:.2f} s, failures {failures[:5]}")
    print(f"ok   a {FLOOD_SLOW_HEADS}-connection slow-header flood: a normal client got {served} answers, slowest {worst:.2f} s")
    if first or not lifetimes or max(lifetimes) > FLOOD_HEADER_TIMEOUT + 1.5:
        raise SystemExit(f"FAIL slow heads not cut: {len(first)} still open, longest {max(lifetimes or [0]):.1f} s")
    print(f"ok   slow heads cut after {min(lifetimes):.1f}-{max(lifetimes):.1f} s (header timeout {FLOOD_HEADER_TIMEOUT} s)")


def main():
    work = tempfile.mkdtemp(prefix="scooter-e2e-api-")
    port = free_port_block()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PORT=str(port), BIN=BIN, SCOOTER_DATA_DIR=os.path.join(work, "data"),
               LOCAL_RUN_DIR=os.path.join(work, "run"), RATE_LIMITS="false", RUST_LOG="warn",
               CORS_ORIGINS=CORS_ORIGIN, NGINX_WORKER_PROCESSES="1",
               NGINX_WORKER_CONNECTIONS=str(FLOOD_WORKER_CONNECTIONS),
               NGINX_HEADER_TIMEOUT=f"{FLOOD_HEADER_TIMEOUT}s", NGINX_CONN_PER_ADDR=str(FLOOD_CONN_PER_ADDR))
    env.pop("DATABASE_URL", None)
    local = subprocess.Popen([os.path.join(ROOT, "scripts/local.sh"), "api"], env=env, start_new_session=True)
    restarted = None
    try:
        wait_up(base + "/healthz", 60)
        for i in range(1, 7):
            wait_up(f"http://127.0.0.1:{port + 100 + i}/healthz")

        # The README scenario, through nginx only.
        st, a = call(base, "POST", "/auth/signup", body={"email": "ann@example.com", "password": "correct horse battery"})
        expect("sign up ann", st, a, 201)
        st, b = call(base, "POST", "/auth/signup", body={"email": "bob@example.com", "password": "correct horse battery"})
        expect("sign up bob", st, b, 201)
        ann, bob = a["accessToken"], b["accessToken"]
        for token, handle in ((ann, "ann_rides"), (bob, "bob_rides")):
            st, r = call(base, "POST", "/username", token, {"handle": handle})
            expect(f"handle {handle}", st, r, 200)
            st, r = call(base, "POST", "/me/accept-terms", token, {"version": "1"})
            expect(f"terms for {handle}", st, r, 200)
        st, r = call(base, "POST", "/follow", bob, {"handle": "ann_rides"})
        expect("bob follows ann", st, r, 200)
        st, post = call(base, "POST", "/posts", ann, {"text": "Sunday ride @bob_rides"})
        expect("ann posts", st, post, 201)
        st, feed = call(base, "GET", "/feed", bob)
        expect("bob's feed", st, feed, 200)
        assert feed["items"][0]["id"] == post["id"], feed
        st, c = call(base, "POST", f"/comments/{post['id']}", bob, {"text": "Count me in"})
        expect("bob comments", st, c, 201)
        st, notes = call(base, "GET", "/notifications", ann)
        expect("ann's notifications", st, notes, 200)
        kinds = {n["type"] for n in notes["items"]}
        assert {"comment", "follow"} <= kinds, notes
        st, notes = call(base, "GET", "/notifications", bob)
        expect("bob's notifications", st, notes, 200)
        assert "mention" in {n["type"] for n in notes["items"]}, notes
        key = upload(base, ann, "scoop")
        st, scoop = call(base, "POST", "/scoops", ann, {"mediaKey": key, "caption": "sunset"})
        expect("ann posts a scoop", st, scoop, 201)
        st, r = call(base, "POST", f"/scoops/{scoop['id']}/view", bob)
        expect("bob views it", st, r, 204)
        st, viewers = call(base, "GET", f"/scoops/{scoop['id']}/viewers", ann)
        expect("ann sees her viewers", st, viewers, 200)
        assert len(viewers["items"]) == 1, viewers

        # Errors the proxy makes itself are in the envelope too.
        st, r = call(base, "POST", "/posts", ann, raw=b'{"text":"' + b"x" * 70_000 + b'"}',
                     headers={"Content-Type": "application/json"})
        expect("a 70 KB body at nginx", st, r, 413)
        assert r["error"]["code"] == "payload_too_large" and r["error"]["requestId"], r
        st, r = call(base, "GET", "/no/such/path", ann, headers={"x-request-id": "e2e-trace-1"})
        expect("an unknown path at nginx", st, r, 404)
        assert r["error"]["requestId"] == "e2e-trace-1", r

        # The edge under a hostile client.
        edge_envelopes(port, os.path.join(work, "run"))
        edge_cors(port)
        edge_flood(port)

        # A route sent straight to the wrong process is a 404 there.
        st, r = call(f"http://127.0.0.1:{port + 101}", "GET", "/feed", bob)
        expect("GET /feed at the users process", st, r, 404)

        # Kill the posts process: only posts routes fail, in the envelope.
        run = os.path.join(work, "run")
        posts_pid = int(open(os.path.join(run, "pids/posts.pid")).read())
        posts_port = int(open(os.path.join(run, "pids/posts.port")).read())
        os.kill(posts_pid, signal.SIGKILL)
        time.sleep(0.3)
        st, r = call(base, "GET", "/feed", bob)
        expect("GET /feed with posts down", st, r, 502)
        assert r["error"]["code"] == "bad_gateway" and r["error"]["requestId"], r
        st, r = call(base, "POST", f"/comments/{post['id']}", bob, {"text": "still there?"})
        expect("POST /comments with posts down", st, r, 502)
        for path in ("/me", "/notifications", "/scoops/feed", "/u/ann_rides"):
            st, r = call(base, "GET", path, bob)
            expect(f"GET {path} with posts down", st, r, 200)

        # Restart it: posts routes answer again, with the data that was there.
        renv = dict(env, RUN_WORKER="false")
        restarted = subprocess.Popen([BIN, "serve", "posts", "--listen", f"127.0.0.1:{posts_port}"],
                                     env=renv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_up(f"http://127.0.0.1:{posts_port}/healthz")
        st, feed = call(base, "GET", "/feed", bob)
        expect("GET /feed after the restart", st, feed, 200)
        assert feed["items"][0]["id"] == post["id"], feed
        print("microservice shape: all expectations held")
    finally:
        if restarted:
            restarted.kill()
            restarted.wait()
        os.killpg(local.pid, signal.SIGTERM)
        try:
            local.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(local.pid, signal.SIGKILL)


if __name__ == "__main__":
    main()
