"""Peak memory of parallel image-bomb uploads: 8 PUTs of a ~260 KB PNG declaring 8192x8192
against a fresh server with IMAGE_DECODE_BUDGET_MB=<budget>; prints statuses, seconds and VmHWM.

    python3 bench/decode_bomb.py target/release/scooterbooter 1024
"""
import json, os, struct, subprocess, sys, threading, time, urllib.request, zlib, tempfile, socket

def png(w, h):
    raw = b"".join(b"\x00" + b"\x00" * (w * 4) for _ in range(h))
    comp = zlib.compress(raw, 9)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) + chunk(b"IDAT", comp) + chunk(b"IEND", b"")

bomb = png(8192, 8192)
print("png bytes", len(bomb))
binary, budget = sys.argv[1], sys.argv[2]
d = tempfile.mkdtemp()
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = dict(os.environ, SCOOTER_DATA_DIR=d, SCOOTER_LISTEN=f"127.0.0.1:{port}", RATE_LIMITS="false", RUST_LOG="warn", IMAGE_DECODE_BUDGET_MB=budget)
tok = subprocess.check_output([binary, "token", "--email", "bomb@example.com"], env=env).decode().strip()
p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
base = f"http://127.0.0.1:{port}"
for _ in range(200):
    try:
        urllib.request.urlopen(base + "/healthz"); break
    except Exception: time.sleep(0.05)
def call(method, path, body=None, headers=None, data=None):
    h = {"Authorization": f"Bearer {tok}"}
    if body is not None:
        data = json.dumps(body).encode(); h["Content-Type"] = "application/json"
    h.update(headers or {})
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=300) as r: return r.status, r.read()
    except urllib.error.HTTPError as e: return e.code, e.read()
call("POST", "/username", {"handle": "bomber"}); call("POST", "/me/accept-terms", {"version": "1"})
tickets = [json.loads(call("POST", "/upload-url", {"contentType": "image/png", "size": len(bomb), "purpose": "post"})[1]) for _ in range(8)]
statuses = []
def up(t):
    req = urllib.request.Request(base + t["uploadUrl"] if t["uploadUrl"].startswith("/") else t["uploadUrl"], data=bomb, method="PUT", headers=t["headers"])
    try:
        with urllib.request.urlopen(req, timeout=600) as r: statuses.append(r.status)
    except urllib.error.HTTPError as e: statuses.append(e.code)
start = time.time()
th = [threading.Thread(target=up, args=(t,)) for t in tickets]
[t.start() for t in th]; [t.join() for t in th]
hwm = [l for l in open(f"/proc/{p.pid}/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({"budget_mb": budget, "statuses": sorted(statuses), "seconds": round(time.time()-start, 1), "peak_rss_mib": round(int(hwm)/1024, 1)}))
p.terminate(); p.wait()
