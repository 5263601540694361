#!/usr/bin/env python3
"""Real resources for the contract fuzzing (scripts/api-fuzz.sh), written as its
schemathesis configuration.

    scripts/fuzz_seed.py BASE_URL TOKEN_A TOKEN_B TOKEN_C TOKEN_D > schemathesis.toml

schemathesis generates ids, keys and codes at random, so without help an operation on
a post, an upload, a scoop or a report only ever meets 404 and its logic is never
reached. This script makes what those operations need through the API itself (posts,
uploads of a small PNG, scoops, a report, an invite, a second signed-up account with
several sessions) and names each in the configuration, per operation, so that:

- operations that destroy something (deleting a post, a scoop, an upload; suspending;
  resolving a report) get a resource of their own, and the shared ones (user B's post,
  user B's scoop) stay readable for the whole run whatever order it takes;
- relationship changes aim at users nothing else depends on: block and unblock at D,
  follow and unfollow at E, suspension at C. A (the fuzzing user, an administrator)
  follows B so that B's scoop is visible to A.

The users: A (admin) and B, C, D from `scooterbooter token`, onboarded here; E signed up
with a password, so that it has sessions to list, end and refresh.
"""

import json
import struct
import sys
import urllib.error
import urllib.request
import zlib


def png(width=8, height=8):
    """A small valid RGB PNG, made here so the script needs no file."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes([x * 30 % 256, y * 30 % 256, 128]) for x in range(width)) for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class Api:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def call(self, method, path, token=None, body=None, raw=None, headers=None, ok=(200, 201, 202, 204)):
        url = path if path.startswith("http") else self.base + path
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        elif raw is not None:
            data = raw
        if token:
            h["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(url, data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read()
        if status not in ok:
            sys.exit(f"fuzz_seed: {method} {path} answered {status}: {text[:300]!r}")
        return json.loads(text) if text else None


def main():
    base, token_a, token_b, token_c, token_d = sys.argv[1:6]
    api = Api(base)

    users = {}
    for n, token in enumerate([token_a, token_b, token_c, token_d], start=1):
        api.call("POST", "/username", token, {"handle": f"fuzz_rider_{n}"})
        api.call("POST", "/me/accept-terms", token, {"version": "1"})
        users[n] = api.call("GET", "/me", token)["id"]

    # E: a password account with three sessions (one to act with, one to end, one to
    # refresh).
    signup = api.call("POST", "/auth/signup", body={"email": "fuzz-e@example.com", "password": "fuzzing rider five"})
    token_e = signup["accessToken"]
    api.call("POST", "/username", token_e, {"handle": "fuzz_rider_5"})
    api.call("POST", "/me/accept-terms", token_e, {"version": "1"})
    login = lambda: api.call(  # noqa: E731
        "POST", "/auth/login", body={"email": "fuzz-e@example.com", "password": "fuzzing rider five"}
    )
    login()
    refresh_token = login()["refreshToken"]
    sessions = api.call("GET", "/me/sessions", token_e)["items"]
    # Newest first: the last one that is not current is the first login's, not the
    # session whose refresh token is kept above.
    other_session = [s["id"] for s in sessions if not s["current"]][-1]

    def post(token, text):
        return api.call("POST", "/posts", token, {"text": text})["id"]

    post_b = post(token_b, "a post to fuzz against")
    post_a_doomed = post(token_a, "a post the fuzzer deletes")
    post_c = post(token_c, "a post that gets reported")
    report = api.call(
        "POST", "/report", token_b, {"targetType": "post", "targetId": post_c, "reason": "spam"}
    )["id"]
    invite = api.call("POST", "/me/invite", token_b)["code"]

    image = png()

    def upload(token, purpose, content_type="image/png", data=image, complete=True, avatar=False):
        ticket = api.call(
            "POST",
            "/avatar-url" if avatar else "/upload-url",
            token,
            {"contentType": content_type, "size": len(data)} | ({} if avatar else {"purpose": purpose}),
        )
        api.call("PUT", ticket["uploadUrl"], raw=data, headers=ticket["headers"])
        media = api.call("POST", ticket["completeUrl"], token) if complete else None
        return ticket["key"], media

    image_a, image_media = upload(token_a, "post")
    file_key = image_media["url"].split("/files/", 1)[1]
    doomed_upload, _ = upload(token_a, "post")
    uncompleted, _ = upload(token_a, "post", complete=False)
    video, _ = upload(token_a, "post", content_type="video/mp4", data=b"\x00" * 4096, complete=False)
    avatar, _ = upload(token_a, None, avatar=True)
    scoop_upload, _ = upload(token_a, "scoop")

    def scoop(token):
        key, _ = upload(token, "scoop")
        return api.call("POST", "/scoops", token, {"mediaKey": key})["id"]

    api.call("POST", "/follow", token_a, {"handle": "fuzz_rider_2"})
    scoop_b = scoop(token_b)
    scoop_a_viewed = scoop(token_a)
    scoop_a_doomed = scoop(token_a)
    api.call("POST", f"/scoops/{scoop_a_viewed}/view", token_b)

    def q(value):
        return json.dumps(value)

    # Where a body names a resource on the server (an upload, an invite, a user), the
    # coverage phase's boundary values ("", "0", the longest string) can never name a
    # real one, so there it sends only invalid bodies; the fuzzing phase sends valid
    # ones built around the resource made above.
    by_reference = 'phases = { coverage = { generation = { mode = "negative" } } }'

    def operation(name, parameters=None, **extra):
        lines = ["[[operations]]", f"include-name = {q(name)}"]
        for key, value in extra.items():
            lines.append(value if key == "_" else f"{key} = {value}")
        if parameters:
            inner = ", ".join(f"{q(k)} = {q(v)}" for k, v in parameters.items())
            lines.append(f"parameters = {{ {inner} }}")
        return "\n".join(lines)

    out = [
        "# Written by scripts/fuzz_seed.py for this run.",
        "[generation]",
        'mode = "all"',
        "",
        "[parameters]",
        f'"path.handle" = {q("fuzz_rider_2")}',
        f'"path.postId" = {q(post_b)}',
        f'"path.id" = {q(post_b)}',
        f'"path.userId" = {q(users[2])}',
        "",
        operation("DELETE /posts/{id}", {"path.id": post_a_doomed}),
        operation("GET /scoops/{id}", {"path.id": scoop_b}),
        operation("POST /scoops/{id}/view", {"path.id": scoop_b}),
        operation("GET /scoops/{id}/viewers", {"path.id": scoop_a_viewed}),
        operation("DELETE /scoops/{id}", {"path.id": scoop_a_doomed}),
        operation("POST /scoops", {"body.mediaKey": scoop_upload}, _=by_reference),
        operation("POST /admin/reports/{id}/resolve", {"path.id": report}),
        operation("POST /admin/users/{id}/suspend", {"path.id": users[3]}),
        operation("POST /admin/users/{id}/unsuspend", {"path.id": users[3]}),
        operation("POST /follow", {"body.handle": "fuzz_rider_5"}, _=by_reference),
        operation("POST /unfollow", {"body.handle": "fuzz_rider_5"}, _=by_reference),
        operation("POST /block", {"body.handle": "fuzz_rider_4"}, _=by_reference),
        operation("POST /unblock", {"body.handle": "fuzz_rider_4"}, _=by_reference),
        operation("POST /report", {"body.targetId": post_b}),
        operation("POST /me/invite/redeem", {"body.code": invite}, _=by_reference),
        operation("POST /me/accept-terms", {"body.version": "1"}, _=by_reference),
        operation("POST /me/avatar", {"body.key": avatar}, _=by_reference),
        operation("POST /process-video", {"body.key": video}, _=by_reference),
        # An invite code is a reference too; emails are generated.
        operation("POST /auth/signup", _=by_reference),
        operation("GET /media/{key}", {"path.key": image_a}),
        operation("DELETE /media/{key}", {"path.key": doomed_upload}),
        operation("POST /media/{key}/complete", {"path.key": uncompleted}),
        operation("GET /files/{key}", {"path.key": file_key}),
        # A token names a device the push service knows, and only the services set up
        # take registrations (this server has none but Expo).
        operation(
            "POST /push/register",
            {"body.provider": "expo", "body.token": "ExponentPushToken[fuzz-device]"},
            _=by_reference,
        ),
        operation("POST /auth/refresh", {"body.refreshToken": refresh_token}, _=by_reference),
        operation(
            "DELETE /me/sessions/{id}",
            {"path.id": other_session},
            headers=f"{{ Authorization = {q('Bearer ' + token_e)} }}",
        ),
        # The signed upload URL binds key, type, size and expiry to one signature, so
        # no generated request can be valid: only invalid ones are sent (each must be
        # refused in the envelope). The HTTP tests cover the valid uploads.
        operation("PUT /uploads/{key}", generation='{ mode = "negative" }'),
    ]
    print("\n\n".join(out))


if __name__ == "__main__":
    main()
