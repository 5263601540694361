-- Posts, comments, reactions, mentions, and idempotency keys for creates.

CREATE TABLE posts (
    id            TEXT COLLATE "C" PRIMARY KEY,
    author_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    comment_count BIGINT NOT NULL DEFAULT 0,
    like_count    BIGINT NOT NULL DEFAULT 0,
    fire_count    BIGINT NOT NULL DEFAULT 0,
    scooter_count BIGINT NOT NULL DEFAULT 0,
    laugh_count   BIGINT NOT NULL DEFAULT 0,
    wow_count     BIGINT NOT NULL DEFAULT 0,
    sad_count     BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX posts_by_author ON posts (author_id, id);

CREATE TABLE post_mentions (
    post_id TEXT COLLATE "C" NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, user_id)
);

CREATE INDEX post_mentions_by_user ON post_mentions (user_id);

CREATE TABLE comments (
    id         TEXT COLLATE "C" PRIMARY KEY,
    post_id    TEXT COLLATE "C" NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id  TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    text       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX comments_by_post ON comments (post_id, id);
CREATE INDEX comments_by_author ON comments (author_id);

CREATE TABLE comment_mentions (
    comment_id TEXT COLLATE "C" NOT NULL REFERENCES comments (id) ON DELETE CASCADE,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (comment_id, user_id)
);

CREATE INDEX comment_mentions_by_user ON comment_mentions (user_id);

CREATE TABLE reactions (
    post_id    TEXT COLLATE "C" NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (post_id, user_id, type)
);

CREATE INDEX reactions_by_post_time ON reactions (post_id, created_at, user_id, type);
CREATE INDEX reactions_by_user ON reactions (user_id);

CREATE TABLE idempotency_keys (
    user_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind, key)
);
