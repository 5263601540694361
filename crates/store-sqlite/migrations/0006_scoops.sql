-- Scoops (stories that expire) and who viewed them.

CREATE TABLE scoops (
    id         TEXT PRIMARY KEY,
    author_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    media_key  TEXT NOT NULL REFERENCES media (key) ON DELETE CASCADE,
    caption    TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- Distinct viewers other than the author, kept with the views.
    view_count INTEGER NOT NULL DEFAULT 0
) STRICT;

-- An author's live scoops: (author, expires_at > now).
CREATE INDEX scoops_by_author ON scoops (author_id, expires_at);

CREATE TABLE scoop_views (
    scoop_id  TEXT NOT NULL REFERENCES scoops (id) ON DELETE CASCADE,
    viewer_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    viewed_at INTEGER NOT NULL,
    PRIMARY KEY (scoop_id, viewer_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX scoop_views_by_time ON scoop_views (scoop_id, viewed_at, viewer_id);
CREATE INDEX scoop_views_by_viewer ON scoop_views (viewer_id);
