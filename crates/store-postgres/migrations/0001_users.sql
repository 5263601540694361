-- Users and built-in sign-in. Times are bigint milliseconds since the Unix epoch (UTC).
-- Text keys use the "C" collation: ids and search terms must sort by bytes, as in every
-- other backend, whatever the database's default collation.

CREATE TABLE users (
    id                TEXT COLLATE "C" PRIMARY KEY,
    email             TEXT NOT NULL,
    email_verified    BOOLEAN NOT NULL,
    handle            TEXT,
    handle_lower      TEXT COLLATE "C" UNIQUE,
    display_name      TEXT,
    bio               TEXT,
    avatar_key        TEXT,
    created_at        BIGINT NOT NULL,
    terms_version     TEXT,
    terms_accepted_at BIGINT,
    invited_at        BIGINT,
    pref_follow       BOOLEAN NOT NULL DEFAULT TRUE,
    pref_comment      BOOLEAN NOT NULL DEFAULT TRUE,
    pref_reaction     BOOLEAN NOT NULL DEFAULT TRUE,
    pref_mention      BOOLEAN NOT NULL DEFAULT TRUE,
    pref_push         BOOLEAN NOT NULL DEFAULT TRUE,
    followers_count   BIGINT NOT NULL DEFAULT 0,
    following_count   BIGINT NOT NULL DEFAULT 0,
    posts_count       BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX users_email ON users (email);

CREATE TABLE deleted_users (
    id         TEXT COLLATE "C" PRIMARY KEY,
    deleted_at BIGINT NOT NULL
);

CREATE TABLE user_search_terms (
    term    TEXT COLLATE "C" NOT NULL,
    kind    SMALLINT NOT NULL,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (term, user_id, kind)
);

CREATE INDEX user_search_terms_user ON user_search_terms (user_id);

CREATE TABLE local_accounts (
    email         TEXT PRIMARY KEY,
    user_id       TEXT COLLATE "C" NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at   BIGINT,
    revoked_at BIGINT
);

CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE invites (
    code       TEXT COLLATE "C" PRIMARY KEY,
    created_by TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    used_by    TEXT COLLATE "C" REFERENCES users (id) ON DELETE SET NULL,
    used_at    BIGINT
);

CREATE INDEX invites_created_by ON invites (created_by, created_at);
CREATE UNIQUE INDEX invites_used_by ON invites (used_by) WHERE used_by IS NOT NULL;
