#!/usr/bin/env python3
"""Processing time of what phones upload: a 12-megapixel photo with its sizes and
placeholder, and a 10 s 1080p HDR (HLG, 10-bit HEVC) clip tone-mapped to SDR, beside
the same clip in SDR (what the tone map costs).

Makes both inputs with FFmpeg (a test chart; the clip converted to HLG with zscale, as
the tests do), starts the server on an empty data folder, and for each: asks for an
upload URL, sends the bytes, and times
- the photo: the `PUT` (it answers once the image is checked, cleaned, thumbnailed,
  copied at 320/640/1080/2048 px and hashed);
- the clip: from the end of the `PUT` until `GET /media/{key}` says `ready` (the worker
  probes, tone-maps, transcodes to H.264 and makes the poster), polled every 50 ms.
Runs each `RUNS` times (default 3) and prints one JSON line per input with the
median and every run.

Usage: bench/media.py BIN WORK_DIR [RUNS]
"""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def call(base, method, path, token=None, body=None, raw=None, headers=None):
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    elif raw is not None:
        data = raw
    if token:
        h["Authorization"] = f"Bearer {token}"
    url = path if path.startswith("http") else base + path
    req = urllib.request.Request(url, data=data, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=600) as r:
        text = r.read()
    return json.loads(text) if text else None


def main():
    bin_, work = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    os.makedirs(work, exist_ok=True)
    photo = os.path.join(work, "photo-12mp.jpg")
    clip = os.path.join(work, "hlg-1080p-10s.mov")
    sdr_clip = os.path.join(work, "sdr-1080p-10s.mov")
    if not os.path.exists(sdr_clip):
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=10",
               "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", sdr_clip)
    if not os.path.exists(photo):
        ffmpeg("-f", "lavfi", "-i", "testsrc2=size=4000x3000", "-frames:v", "1", "-q:v", "3", photo)
    if not os.path.exists(clip):
        ffmpeg(
            "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=30:duration=10",
            "-vf", "zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=arib-std-b67:m=bt2020nc:p=bt2020:r=tv:npl=100,"
            "format=yuv420p10le",
            "-c:v", "libx265", "-preset", "ultrafast",
            "-x265-params", "log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc",
            "-tag:v", "hvc1", "-color_primaries", "bt2020", "-color_trc", "arib-std-b67",
            "-colorspace", "bt2020nc", clip,
        )
    data = os.path.join(work, "media-data")
    subprocess.run(["rm", "-rf", data], check=True)
    env = dict(os.environ, SCOOTER_DATA_DIR=data, RATE_LIMITS="false", RUST_LOG="warn", ACCESS_TOKEN_TTL="3600")
    token = subprocess.run([bin_, "token", "--email", "bench-media@example.com"], env=env, check=True,
                           capture_output=True, text=True).stdout.strip()
    port = 18000 + os.getpid() % 1000
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([bin_, "serve"], env=dict(env, SCOOTER_LISTEN=f"127.0.0.1:{port}"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.02)
        call(base, "POST", "/username", token, {"handle": "bench_media"})
        call(base, "POST", "/me/accept-terms", token, {"version": "1"})

        def send(path, content_type):
            data = open(path, "rb").read()
            ticket = call(base, "POST", "/upload-url", token,
                          {"contentType": content_type, "size": len(data), "purpose": "post"})
            started = time.perf_counter()
            media = call(base, "PUT", ticket["uploadUrl"], raw=data, headers=ticket["headers"])
            return ticket["key"], media, time.perf_counter() - started

        def process(path):
            key, media, _ = send(path, "video/quicktime")
            sent = time.perf_counter()
            while media["status"] != "ready":
                assert media["status"] == "processing", media
                time.sleep(0.05)
                media = call(base, "GET", f"/media/{key}", token)
            return time.perf_counter() - sent

        photo_times, clip_times, sdr_times = [], [], []
        for _ in range(runs):
            _, media, secs = send(photo, "image/jpeg")
            assert media["status"] == "ready" and len(media["variants"]) == 4, media
            photo_times.append(secs)
            clip_times.append(process(clip))
            sdr_times.append(process(sdr_clip))
        for name, what, times in [
            ("photo", "12 MP JPEG (4000×3000): check, clean, thumbnail, 4 sizes, BlurHash", photo_times),
            ("hdr_clip", "10 s 1080p30 HLG HEVC 10-bit: probe, tone map, H.264, poster, BlurHash", clip_times),
            ("sdr_clip", "the same chart in SDR H.264 (no tone map), for comparison", sdr_times),
        ]:
            print(json.dumps({
                "input": name, "what": what,
                "median_s": round(statistics.median(times), 2),
                "runs_s": [round(t, 2) for t in times],
            }), flush=True)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
