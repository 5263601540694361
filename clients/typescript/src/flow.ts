// The app team's first-week flow, written the way a React Native app would write it:
// against types generated from the server's own /openapi.json (openapi-typescript) with
// the typed fetch client (openapi-fetch). `tsc` failing means the document and the app
// disagree; a failed check while running means the server and its document disagree.
//
//   node dist/flow.js http://127.0.0.1:3000
import createClient from "openapi-fetch";
import type { paths } from "./api.js";

declare const process: { argv: string[]; exitCode?: number };

const base = process.argv[2] ?? "http://127.0.0.1:3000";

function check(ok: boolean, what: string): void {
  if (!ok) {
    throw new Error(`failed: ${what}`);
  }
  console.log(`ok   ${what}`);
}

/** The value of a call that must have succeeded. */
function must<T>(r: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (r.data === undefined) {
    throw new Error(`${what}: HTTP ${r.response.status} ${JSON.stringify(r.error)}`);
  }
  return r.data;
}

const anonymous = createClient<paths>({ baseUrl: base });

function as(token: string) {
  return createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });
}

/** Signs up, chooses a handle and accepts the terms: a rider ready to publish. */
async function rider(handle: string) {
  const tokens = must(
    await anonymous.POST("/auth/signup", {
      body: { email: `${handle}@example.com`, password: "correct horse battery" },
    }),
    "sign up",
  );
  const api = as(tokens.accessToken);
  const blocked = await api.POST("/posts", { body: { text: "too early" } });
  check(
    blocked.response.status === 403 && blocked.error?.error.code === "onboarding_required",
    `${handle}: nothing is published before onboarding`,
  );
  const free = must(
    await api.GET("/username/available", { params: { query: { handle } } }),
    "availability",
  );
  check(free.available && free.reason === null, `${handle}: the handle is free`);
  must(await api.POST("/username", { body: { handle } }), "handle");
  const terms = must(await anonymous.GET("/terms"), "terms");
  const me = must(await api.POST("/me/accept-terms", { body: { version: terms.version } }), "terms");
  check(!me.onboarding.needsHandle && !me.onboarding.needsTerms, `${handle}: onboarded`);
  return { api, tokens, me };
}

/** A 1×1 PNG, as a phone would upload a photo. */
const PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

async function main(): Promise<void> {
  const ann = await rider(`ann_${Date.now() % 100000}`);
  const bob = await rider(`bob_${Date.now() % 100000}`);

  // Upload: ask for a signed URL, PUT the bytes with exactly the headers given (the URL
  // is this server's or, with files in S3, the bucket's), then complete it.
  const ticket = must(
    await ann.api.POST("/upload-url", {
      body: { contentType: "image/png", size: PNG.byteLength, purpose: "post" },
    }),
    "upload url",
  );
  const put = await fetch(new URL(ticket.uploadUrl, base), {
    method: ticket.method,
    headers: ticket.headers,
    body: PNG,
  });
  check(put.ok, "the photo is uploaded");
  const media = must(
    await ann.api.POST("/media/{key}/complete", { params: { path: { key: ticket.key } } }),
    "complete",
  );
  check(media.status === "ready", "the photo is ready");
  check(ticket.completeUrl === `/media/${ticket.key}/complete`, "the ticket says where to complete");

  const post = must(
    await ann.api.POST("/posts", {
      body: {
        text: "First ride of the season",
        media: [{ key: ticket.key, alt: "A scooter by the harbour at sunset" }],
      },
    }),
    "post",
  );
  check(post.media.length === 1 && post.author.handle === ann.me.handle, "posted with the photo");
  check(
    post.media[0]?.alt === "A scooter by the harbour at sunset" && post.media[0]?.key === ticket.key,
    "the photo carries its alt text",
  );

  must(await bob.api.POST("/follow", { body: { handle: ann.me.handle ?? "" } }), "follow");
  const feed = must(await bob.api.GET("/feed", { params: { query: { limit: 10 } } }), "feed");
  check(
    feed.items.some((p) => p.id === post.id),
    "the follower's feed shows the post",
  );

  // A retry of an idempotent reaction changes nothing.
  for (let i = 0; i < 2; i++) {
    const liked = must(
      await bob.api.PUT("/reactions/{postId}/{type}", {
        params: { path: { postId: post.id, type: "like" } },
      }),
      "like",
    );
    check(liked.reacted && liked.counts.like === 1, `like ${i + 1} counts once`);
  }

  const inbox = must(await ann.api.GET("/notifications"), "notifications");
  const reaction = inbox.items.find((n) => n.type === "reaction");
  check(
    reaction?.actor.handle === bob.me.handle && reaction?.post?.id === post.id,
    "the author is told who liked which post, with a preview",
  );
  const unread = must(await ann.api.GET("/notifications/unread-count"), "unread");
  check(unread.count >= 2, "follow and like are unread");

  // Refresh rotation, and the session it belongs to.
  const refreshed = must(
    await anonymous.POST("/auth/refresh", { body: { refreshToken: ann.tokens.refreshToken } }),
    "refresh",
  );
  const sessions = must(await as(refreshed.accessToken).GET("/me/sessions"), "sessions");
  check(sessions.items.some((s) => s.current), "the refreshed token knows its session");

  // Errors come in one envelope the app can switch on.
  const missing = await bob.api.GET("/posts/{id}", { params: { path: { id: "no-such-post" } } });
  check(missing.error?.error.code === "not_found", "a missing post is a not_found envelope");
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
