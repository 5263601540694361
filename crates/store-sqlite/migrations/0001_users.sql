-- Users and built-in sign-in. Times are integer milliseconds since the Unix epoch (UTC);
-- booleans are 0/1. Tables are STRICT so a wrong type is an error, not a surprise.

-- One row per profile. The id is the identity provider's `sub`.
CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    email_verified    INTEGER NOT NULL,
    handle            TEXT,
    -- Uniqueness ignoring case; NULL until a handle is chosen (NULLs never collide).
    handle_lower      TEXT UNIQUE,
    display_name      TEXT,
    bio               TEXT,
    avatar_key        TEXT,
    created_at        INTEGER NOT NULL,
    terms_version     TEXT,
    terms_accepted_at INTEGER,
    invited_at        INTEGER,
    pref_follow       INTEGER NOT NULL DEFAULT 1,
    pref_comment      INTEGER NOT NULL DEFAULT 1,
    pref_reaction     INTEGER NOT NULL DEFAULT 1,
    pref_mention      INTEGER NOT NULL DEFAULT 1,
    pref_push         INTEGER NOT NULL DEFAULT 1,
    -- Counters maintained in the same transaction as the rows they count.
    followers_count   INTEGER NOT NULL DEFAULT 0,
    following_count   INTEGER NOT NULL DEFAULT 0,
    posts_count       INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX users_email ON users (email);

-- Ids of deleted accounts, so that a still-valid token cannot recreate the profile.
-- Nothing personal is kept.
CREATE TABLE deleted_users (
    id         TEXT PRIMARY KEY,
    deleted_at INTEGER NOT NULL
) STRICT;

-- Search terms: the lower-case handle (kind 1) and each lower-case display-name word
-- (kind 2). Prefix search is a range scan on the primary key.
CREATE TABLE user_search_terms (
    term    TEXT NOT NULL,
    kind    INTEGER NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (term, user_id, kind)
) STRICT, WITHOUT ROWID;

CREATE INDEX user_search_terms_user ON user_search_terms (user_id);

-- Accounts of the built-in issuer. A NULL password hash is an operator-made account
-- (`scooterbooter token`) that cannot sign in with a password.
CREATE TABLE local_accounts (
    email         TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT,
    created_at    INTEGER NOT NULL
) STRICT;

-- Refresh tokens, stored as SHA-256 hashes. A family is one sign-in; each refresh
-- spends a token and adds the next one to its family.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Invite codes. A code dies with the account that created it; a redeemed code stays
-- used (used_at) even when its redeemer's account is deleted.
CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    created_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    used_by    TEXT REFERENCES users (id) ON DELETE SET NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX invites_created_by ON invites (created_by, created_at);
CREATE UNIQUE INDEX invites_used_by ON invites (used_by) WHERE used_by IS NOT NULL;
