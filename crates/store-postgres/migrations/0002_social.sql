-- The follow graph, blocks, reports and suspensions.

ALTER TABLE users ADD COLUMN suspended_at BIGINT;
ALTER TABLE users ADD COLUMN suspension_reason TEXT;

CREATE TABLE follows (
    follower_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
);

CREATE INDEX follows_by_followee ON follows (followee_id, created_at, follower_id);
CREATE INDEX follows_by_follower ON follows (follower_id, created_at, followee_id);

CREATE TABLE blocks (
    blocker_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);

CREATE INDEX blocks_by_blocked ON blocks (blocked_id, blocker_id);
CREATE INDEX blocks_by_blocker_time ON blocks (blocker_id, created_at, blocked_id);

CREATE TABLE reports (
    id                TEXT COLLATE "C" PRIMARY KEY,
    reporter_id       TEXT COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,
    target_type       TEXT NOT NULL,
    target_id         TEXT NOT NULL,
    target_user_id    TEXT COLLATE "C" REFERENCES users (id) ON DELETE SET NULL,
    reason            TEXT NOT NULL,
    details           TEXT,
    created_at        BIGINT NOT NULL,
    resolved_at       BIGINT,
    resolved_by       TEXT COLLATE "C" REFERENCES users (id) ON DELETE SET NULL,
    resolution_action TEXT,
    resolution_note   TEXT
);

CREATE UNIQUE INDEX reports_one_open ON reports (reporter_id, target_type, target_id)
    WHERE resolved_at IS NULL;
CREATE INDEX reports_open_by_target ON reports (target_type, target_id) WHERE resolved_at IS NULL;
CREATE INDEX reports_by_state ON reports ((resolved_at IS NULL), id);
