-- Home timelines, written when a post is made (fan-out on write); the rules are in
-- scooter_store::timelines.

-- One row per user whose timeline exists: those who read their feed lately (fan-out
-- writes only to these). Every visible post with an id at or above `horizon` is in
-- timeline_entries ('' = every post); below it, pages are pulled. `read_at` (ms) is
-- refreshed at most daily; idle timelines are dropped by the hourly clean-up.
CREATE TABLE timelines (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    horizon TEXT NOT NULL,
    read_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- No foreign key to posts or authors: reads join them (a deleted post or a suspended
-- author is hidden at once), and trimming drops what is left behind. A key on posts
-- would need an index by post only to make deletes cascade.
CREATE TABLE timeline_entries (
    user_id   TEXT NOT NULL REFERENCES timelines (user_id) ON DELETE CASCADE,
    post_id   TEXT NOT NULL,
    author_id TEXT NOT NULL,
    PRIMARY KEY (user_id, post_id)
) STRICT, WITHOUT ROWID;

-- Authors with so many followers that their posts are merged at read, not fanned out.
ALTER TABLE users ADD COLUMN timeline_pull INTEGER NOT NULL DEFAULT 0;
CREATE INDEX users_pulled ON users (id) WHERE timeline_pull = 1;
