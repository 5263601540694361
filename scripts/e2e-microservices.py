#!/usr/bin/env python3
"""End-to-end test of the microservice shape: `scripts/local.sh api` (six service
processes, the job worker and nginx) on a free port, driven through nginx only.

Runs the README scenario (sign up, handle, terms, follow, post, feed, comment,
notification, upload, scoop, view), then kills the posts process: only posts routes
fail, with the API's error envelope from nginx, while the others keep answering; a
route sent straight to the wrong process is a 404 there; a restarted posts process
serves again. Exits non-zero on the first broken expectation.

Usage: scripts/e2e-microservices.py [BINARY]   (default target/debug/scooterbooter)
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

import e2e_http

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/debug/scooterbooter"))


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


def main():
    work = tempfile.mkdtemp(prefix="scooter-e2e-api-")
    port = free_port_block()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PORT=str(port), BIN=BIN, SCOOTER_DATA_DIR=os.path.join(work, "data"),
               LOCAL_RUN_DIR=os.path.join(work, "run"), RATE_LIMITS="false", RUST_LOG="warn")
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
