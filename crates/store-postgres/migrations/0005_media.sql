-- Uploaded media and the media of posts.

-- status: pending (URL issued) → uploading → processing → ready | failed; removed.
CREATE TABLE media (
    key          TEXT COLLATE "C" PRIMARY KEY,
    owner_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    status       TEXT NOT NULL,
    width        BIGINT,
    height       BIGINT,
    duration_ms  BIGINT,
    thumb_key    TEXT,
    error        TEXT,
    created_at   BIGINT NOT NULL
);

CREATE INDEX media_by_owner ON media (owner_id);

CREATE TABLE post_media (
    post_id   TEXT COLLATE "C" NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position  BIGINT NOT NULL,
    media_key TEXT COLLATE "C" NOT NULL REFERENCES media (key) ON DELETE CASCADE,
    PRIMARY KEY (post_id, position)
);

CREATE INDEX post_media_by_key ON post_media (media_key);
