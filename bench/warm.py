#!/usr/bin/env python3
"""Reads each benchmark user's home feed once, so their timelines exist before the
measured runs, as an active user's does (a timeline is built on its owner's first
read; fan-out writes only to existing ones).

Usage: bench/warm.py BASE_URL TOKENS_FILE [THREADS]
"""

import concurrent.futures
import sys
import urllib.request


def read_feed(base, token):
    req = urllib.request.Request(base + "/feed?limit=1", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        r.read()
        return r.status


def main():
    base, tokens_file = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    tokens = [line.split()[0] for line in open(tokens_file) if line.strip()]
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(lambda t: read_feed(base, t), tokens))
    bad = [s for s in statuses if s != 200]
    if bad:
        raise SystemExit(f"{len(bad)} feed reads failed")
    print(f"{len(tokens)} timelines warmed", file=sys.stderr)


if __name__ == "__main__":
    main()
