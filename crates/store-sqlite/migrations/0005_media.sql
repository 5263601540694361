-- Uploaded media and the media of posts.

-- status: pending (URL issued) → uploading → processing → ready | failed; removed.
CREATE TABLE media (
    key          TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    status       TEXT NOT NULL,
    width        INTEGER,
    height       INTEGER,
    duration_ms  INTEGER,
    thumb_key    TEXT,
    error        TEXT,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX media_by_owner ON media (owner_id);

CREATE TABLE post_media (
    post_id   TEXT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    media_key TEXT NOT NULL REFERENCES media (key) ON DELETE CASCADE,
    PRIMARY KEY (post_id, position)
) STRICT, WITHOUT ROWID;

CREATE INDEX post_media_by_key ON post_media (media_key);
