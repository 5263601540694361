-- Posts, comments, reactions, mentions, and idempotency keys for creates.

-- Ids are UUIDv7, so ordering by id is ordering by creation: every list pages on id.
CREATE TABLE posts (
    id            TEXT PRIMARY KEY,
    author_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    -- Counters maintained in the same transaction as the rows they count.
    comment_count INTEGER NOT NULL DEFAULT 0,
    like_count    INTEGER NOT NULL DEFAULT 0,
    fire_count    INTEGER NOT NULL DEFAULT 0,
    scooter_count INTEGER NOT NULL DEFAULT 0,
    laugh_count   INTEGER NOT NULL DEFAULT 0,
    wow_count     INTEGER NOT NULL DEFAULT 0,
    sad_count     INTEGER NOT NULL DEFAULT 0
) STRICT;

-- One author's posts newest first, and the per-author seeks of the home feed.
CREATE INDEX posts_by_author ON posts (author_id, id);

CREATE TABLE post_mentions (
    post_id TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX post_mentions_by_user ON post_mentions (user_id);

CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    post_id    TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX comments_by_post ON comments (post_id, id);
CREATE INDEX comments_by_author ON comments (author_id);

CREATE TABLE comment_mentions (
    comment_id TEXT NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (comment_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX comment_mentions_by_user ON comment_mentions (user_id);

-- One row per user, post and reaction type.
CREATE TABLE reactions (
    post_id    TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (post_id, user_id, type)
) STRICT, WITHOUT ROWID;

CREATE INDEX reactions_by_post_time ON reactions (post_id, created_at, user_id, type);
CREATE INDEX reactions_by_user ON reactions (user_id);

-- Idempotency-Key of creates: a retried request returns what the first one made.
CREATE TABLE idempotency_keys (
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind, key)
) STRICT, WITHOUT ROWID;
