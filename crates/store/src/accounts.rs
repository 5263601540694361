//! Access patterns of the built-in sign-in: password credentials and refresh tokens.
//! Refresh tokens are stored only as hashes and grouped in families: each refresh
//! rotates the token, and reuse of a rotated one revokes the whole family.

use crate::StoreResult;
use scooter_core::invite::InviteCode;
use scooter_core::user::{NewUser, User};
use scooter_core::{Email, Timestamp, UserId};

/// A stored password credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Whose.
    pub user_id: UserId,
    /// The argon2id PHC string.
    pub password_hash: String,
}

/// The outcome of creating an account with a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignupOutcome {
    /// Created (and the invite, if any, redeemed).
    Created(Box<User>),
    /// The address already has an account.
    EmailTaken,
    /// The invite code does not exist or was already used; nothing was created.
    InviteInvalid,
}

/// A refresh token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefreshToken {
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The family (one sign-in session) it belongs to.
    pub family_id: String,
    /// Whose.
    pub user_id: UserId,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// The app that signed in (its `User-Agent`, shortened), kept with a new session.
    pub client: Option<String>,
}

/// A signed-in session of the built-in sign-in: one refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The family's id (the `sid` of its access tokens).
    pub id: String,
    /// When it signed in.
    pub created_at: Timestamp,
    /// Its last refresh (or sign-in).
    pub last_used_at: Timestamp,
    /// The app that signed in, as it named itself.
    pub client: Option<String>,
}

/// Which of a user's sessions to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndSessions<'a> {
    /// This one.
    One(&'a str),
    /// Every one but this (every one when `None`).
    AllBut(Option<&'a str>),
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The token was current: it is now spent and the new one stored.
    Rotated {
        /// Whose session.
        user: UserId,
        /// Which session (family).
        session: String,
    },
    /// The token was already spent: the whole family is revoked (likely theft).
    Reused,
    /// Unknown, expired or revoked.
    Invalid,
}

/// Built-in sign-in.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates the profile and the local account together, redeeming `invite` in the
    /// same transaction when given. Without a password hash the account can only be
    /// used through operator-minted tokens (`scooterbooter token`).
    async fn create_password_account(
        &self,
        user: NewUser,
        password_hash: Option<&str>,
        invite: Option<&InviteCode>,
    ) -> StoreResult<SignupOutcome>;

    /// The password credential for an address.
    async fn credential_by_email(&self, email: &Email) -> StoreResult<Option<Credential>>;

    /// The user id of the account with this address (with or without a password).
    async fn user_id_by_email(&self, email: &Email) -> StoreResult<Option<UserId>>;

    /// Stores a new refresh token (a new family on sign-in).
    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()>;

    /// Spends the token with `presented_hash` and stores `next_hash` in the same family,
    /// atomically. Presenting a spent token revokes the family instead, unless it was
    /// spent less than `grace` ago: that is the same refresh repeated (two requests as an
    /// app resumes, an answer lost on the way), and `next_hash` joins the family beside
    /// the first answer's token, which stays valid.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        next_hash: &str,
        now: Timestamp,
        next_expires_at: Timestamp,
        grace: std::time::Duration,
    ) -> StoreResult<RotateOutcome>;

    /// Revokes the family of the token with this hash (sign-out). `false` if unknown.
    async fn revoke_refresh_family(&self, token_hash: &str) -> StoreResult<bool>;

    /// Remembers the digest of a suspended account's address when the account is
    /// deleted, so the address cannot sign up again (idempotent).
    async fn bar_address(&self, digest: &str, at: Timestamp) -> StoreResult<()>;

    /// Whether an address (by digest) belonged to a deleted suspended account.
    async fn is_address_barred(&self, digest: &str) -> StoreResult<bool>;

    /// `user`'s sessions that can still refresh at `now`, newest first.
    async fn list_sessions(&self, user: &UserId, now: Timestamp) -> StoreResult<Vec<SessionInfo>>;

    /// Ends some of `user`'s sessions (their refresh tokens stop working; access tokens
    /// already issued live out their minutes). Returns how many ended; someone else's
    /// session is never touched.
    async fn end_sessions(&self, user: &UserId, which: EndSessions<'_>) -> StoreResult<u64>;
}

impl RotateOutcome {
    /// The user whose token rotated, if it did.
    pub fn user(&self) -> Option<&UserId> {
        match self {
            Self::Rotated { user, .. } => Some(user),
            _ => None,
        }
    }
}
