-- Sessions of the built-in sign-in: one row per refresh-token family, so a rider can
-- see where they are signed in and end a session (GET/DELETE /me/sessions).

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    client       TEXT
) STRICT;

CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

-- Families from before this table: their first and last issue, client unknown.
INSERT INTO sessions (id, user_id, created_at, last_used_at)
SELECT family_id, user_id, MIN(issued_at), MAX(issued_at)
FROM refresh_tokens GROUP BY family_id, user_id;
