-- In-app notifications, push devices, and the job outbox.

-- A notification goes with its recipient, its actor, and the post or comment it is about.
CREATE TABLE notifications (
    id           TEXT COLLATE "C" PRIMARY KEY,
    recipient_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    actor_id     TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    post_id      TEXT COLLATE "C" REFERENCES posts (id) ON DELETE CASCADE,
    comment_id   TEXT COLLATE "C" REFERENCES comments (id) ON DELETE CASCADE,
    reaction     TEXT,
    -- One notification per recipient and event (a reaction toggled off and on again
    -- does not notify twice).
    dedupe       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    read_at      BIGINT,
    pushed_at    BIGINT
);

CREATE UNIQUE INDEX notifications_dedupe ON notifications (recipient_id, dedupe);
CREATE INDEX notifications_by_recipient ON notifications (recipient_id, id);
CREATE INDEX notifications_unread ON notifications (recipient_id) WHERE read_at IS NULL;
CREATE INDEX notifications_by_actor ON notifications (actor_id);
CREATE INDEX notifications_by_post ON notifications (post_id);
CREATE INDEX notifications_by_comment ON notifications (comment_id);

-- One row per device token; a token belongs to one account at a time.
CREATE TABLE push_devices (
    token      TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    platform   TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX push_devices_by_user ON push_devices (user_id);

-- The outbox. state: pending (waiting for run_at), running (leased until
-- locked_until), dead (gave up). Finished jobs are deleted.
CREATE TABLE jobs (
    id           TEXT COLLATE "C" PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    dedupe       TEXT UNIQUE,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    run_at       BIGINT NOT NULL,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL
);

CREATE INDEX jobs_due ON jobs (state, run_at);
