-- Scoops (stories that expire) and who viewed them.

CREATE TABLE scoops (
    id         TEXT COLLATE "C" PRIMARY KEY,
    author_id  TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    media_key  TEXT COLLATE "C" NOT NULL REFERENCES media (key) ON DELETE CASCADE,
    caption    TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    -- Distinct viewers other than the author, kept with the views.
    view_count BIGINT NOT NULL DEFAULT 0
);

-- An author's live scoops: (author, expires_at > now).
CREATE INDEX scoops_by_author ON scoops (author_id, expires_at);

CREATE TABLE scoop_views (
    scoop_id  TEXT COLLATE "C" NOT NULL REFERENCES scoops (id) ON DELETE CASCADE,
    viewer_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    viewed_at BIGINT NOT NULL,
    PRIMARY KEY (scoop_id, viewer_id)
);

CREATE INDEX scoop_views_by_time ON scoop_views (scoop_id, viewed_at, viewer_id);
CREATE INDEX scoop_views_by_viewer ON scoop_views (viewer_id);
