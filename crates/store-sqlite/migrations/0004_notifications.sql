-- In-app notifications, push devices, and the job outbox.

-- A notification goes with its recipient, its actor, and the post or comment it is about.
CREATE TABLE notifications (
    id           TEXT PRIMARY KEY,
    recipient_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    actor_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id      TEXT REFERENCES posts (id) ON DELETE CASCADE,
    comment_id   TEXT REFERENCES comments (id) ON DELETE CASCADE,
    reaction     TEXT,
    -- One notification per recipient and event (a reaction toggled off and on again
    -- does not notify twice).
    dedupe       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    read_at      INTEGER,
    pushed_at    INTEGER
) STRICT;

CREATE UNIQUE INDEX notifications_dedupe ON notifications (recipient_id, dedupe);
CREATE INDEX notifications_by_recipient ON notifications (recipient_id, id);
CREATE INDEX notifications_unread ON notifications (recipient_id) WHERE read_at IS NULL;
CREATE INDEX notifications_by_actor ON notifications (actor_id);
CREATE INDEX notifications_by_post ON notifications (post_id);
CREATE INDEX notifications_by_comment ON notifications (comment_id);

-- One row per device token; a token belongs to one account at a time.
CREATE TABLE push_devices (
    token      TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform   TEXT NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX push_devices_by_user ON push_devices (user_id);

-- The outbox. state: pending (waiting for run_at), running (leased until
-- locked_until), dead (gave up). Finished jobs are deleted.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedupe       TEXT UNIQUE,
    state        TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    run_at       INTEGER NOT NULL,
    locked_until INTEGER,
    last_error   TEXT,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX jobs_due ON jobs (state, run_at);
