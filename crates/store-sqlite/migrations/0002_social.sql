-- The follow graph, blocks, reports and suspensions.

-- Set while a moderator has suspended the account.
ALTER TABLE users ADD COLUMN suspended_at INTEGER;
ALTER TABLE users ADD COLUMN suspension_reason TEXT;

-- follower follows followee. Counters on users change in the same transaction.
CREATE TABLE follows (
    follower_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) STRICT, WITHOUT ROWID;

-- Newest-first keyset pages of a user's followers, and of whom a user follows.
CREATE INDEX follows_by_followee ON follows (followee_id, created_at, follower_id);
CREATE INDEX follows_by_follower ON follows (follower_id, created_at, followee_id);

-- blocker blocks blocked. The primary key answers "does A block B"; the second index
-- answers "who blocks B"; the third pages A's block list newest first.
CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX blocks_by_blocked ON blocks (blocked_id, blocker_id);
CREATE INDEX blocks_by_blocker_time ON blocks (blocker_id, created_at, blocked_id);

-- Reports. A reporter's reports go with their account; reports about an account stay
-- for moderators, losing only the link to the deleted account.
CREATE TABLE reports (
    id                TEXT PRIMARY KEY,
    reporter_id       TEXT REFERENCES users (id) ON DELETE CASCADE,
    target_type       TEXT NOT NULL,
    target_id         TEXT NOT NULL,
    target_user_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    reason            TEXT NOT NULL,
    details           TEXT,
    created_at        INTEGER NOT NULL,
    resolved_at       INTEGER,
    resolved_by       TEXT REFERENCES users (id) ON DELETE SET NULL,
    resolution_action TEXT,
    resolution_note   TEXT
) STRICT;

-- One open report per reporter and target.
CREATE UNIQUE INDEX reports_one_open ON reports (reporter_id, target_type, target_id)
    WHERE resolved_at IS NULL;
CREATE INDEX reports_open_by_target ON reports (target_type, target_id) WHERE resolved_at IS NULL;
CREATE INDEX reports_by_state ON reports ((resolved_at IS NULL), id);
