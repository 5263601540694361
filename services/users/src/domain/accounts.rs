//! Built-in sign-in: sign-up, log-in, refresh-token rotation, sign-out, and tokens
//! minted by the operator.

use crate::error::UsersError;
use scooter_auth::{password, refresh};
use scooter_core::invite::InviteCode;
use scooter_core::policy::AccountPolicy;
use scooter_core::secret::Password;
use scooter_core::user::{NewUser, User};
use scooter_core::{Email, Timestamp, UserId};
use scooter_http::LocalAuth;
use scooter_store::{NewRefreshToken, RotateOutcome, SignupOutcome, Store};

/// An access token and the refresh token of its session.
#[derive(Debug, Clone)]
pub struct Session {
    /// JWT.
    pub access_token: String,
    /// Opaque single-use refresh token.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

fn ttl_secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn new_refresh() -> Result<(String, String), UsersError> {
    refresh::generate()
        .ok_or_else(|| UsersError::Crypto("no randomness for a refresh token".into()))
}

/// Longest client name kept with a session.
const MAX_CLIENT_CHARS: usize = 200;

/// Starts a new session (a new refresh-token family) for a user, signed in from
/// `client` (its `User-Agent`).
pub async fn start_session(
    store: &dyn Store,
    auth: &LocalAuth,
    user: &User,
    client: Option<&str>,
) -> Result<Session, UsersError> {
    let session = scooter_core::ids::new_id();
    let access = auth
        .issuer
        .issue(&user.id, &user.email, user.email_verified, Some(&session))
        .map_err(|e| UsersError::Crypto(e.to_string()))?;
    let (token, hash) = new_refresh()?;
    let now = Timestamp::now();
    let client = client
        .map(|c| {
            c.chars()
                .filter(|ch| !ch.is_control())
                .take(MAX_CLIENT_CHARS)
                .collect()
        })
        .filter(|c: &String| !c.trim().is_empty());
    store
        .insert_refresh_token(NewRefreshToken {
            token_hash: hash,
            family_id: session,
            user_id: user.id.clone(),
            issued_at: now,
            expires_at: now.plus_seconds(ttl_secs(auth.refresh_ttl)),
            client,
        })
        .await?;
    Ok(Session {
        access_token: access.token,
        refresh_token: token,
        expires_in: access.expires_in,
    })
}

/// Creates an account with a password (and redeems an invite code, if given), then
/// starts its first session. Addresses are not verified by the built-in issuer, so
/// such accounts never count as administrators.
pub async fn signup(
    store: &dyn Store,
    auth: &LocalAuth,
    email: &str,
    password: String,
    invite_code: Option<&str>,
    client: Option<&str>,
) -> Result<Session, UsersError> {
    let email = Email::parse(email)?;
    let password = Password::parse_new(password)?;
    if store
        .is_address_barred(&scooter_auth::address_digest(&email))
        .await?
    {
        return Err(UsersError::AddressBarred);
    }
    let invite = invite_code
        .map(|c| InviteCode::parse(c).map_err(|_| UsersError::InvalidInvite("inviteCode")))
        .transpose()?;
    let hash = password::hash(password)
        .await
        .map_err(|e| UsersError::Crypto(e.to_string()))?;
    let new = NewUser {
        id: UserId::generate(),
        email,
        email_verified: false,
        created_at: Timestamp::now(),
    };
    match store
        .create_password_account(new, Some(&hash), invite.as_ref())
        .await?
    {
        SignupOutcome::Created(user) => start_session(store, auth, &user, client).await,
        SignupOutcome::EmailTaken => Err(UsersError::EmailTaken),
        SignupOutcome::InviteInvalid => Err(UsersError::InvalidInvite("inviteCode")),
    }
}

/// Checks an address and password and starts a session. Unknown addresses cost the
/// same hashing time as wrong passwords, so timing does not reveal accounts.
pub async fn login(
    store: &dyn Store,
    auth: &LocalAuth,
    email: &str,
    password: String,
    client: Option<&str>,
) -> Result<Session, UsersError> {
    let email = Email::parse(email).map_err(|_| UsersError::InvalidCredentials)?;
    let password = Password::parse_attempt(password)?;
    let credential = store.credential_by_email(&email).await?;
    let (user_id, stored) = match credential {
        Some(c) => (Some(c.user_id), Some(c.password_hash)),
        None => (None, None),
    };
    if !password::verify(password, stored).await {
        return Err(UsersError::InvalidCredentials);
    }
    let user_id = user_id.ok_or(UsersError::InvalidCredentials)?;
    let user = store
        .get_user(&user_id)
        .await?
        .ok_or(UsersError::InvalidCredentials)?;
    start_session(store, auth, &user, client).await
}

/// Spends a refresh token and returns the next session tokens. A reused token revokes
/// its whole family, unless it is the same refresh repeated within the grace window.
pub async fn refresh(
    store: &dyn Store,
    auth: &LocalAuth,
    presented: &str,
) -> Result<Session, UsersError> {
    if presented.len() > 256 {
        return Err(UsersError::InvalidRefreshToken);
    }
    let (next, next_hash) = new_refresh()?;
    let now = Timestamp::now();
    let expires = now.plus_seconds(ttl_secs(auth.refresh_ttl));
    let outcome = store
        .rotate_refresh_token(
            &refresh::hash(presented),
            &next_hash,
            now,
            expires,
            auth.refresh_grace,
        )
        .await?;
    let (user_id, session) = match outcome {
        RotateOutcome::Rotated { user, session } => (user, session),
        RotateOutcome::Reused => return Err(UsersError::RefreshTokenReused),
        RotateOutcome::Invalid => return Err(UsersError::InvalidRefreshToken),
    };
    let user = store
        .get_user(&user_id)
        .await?
        .ok_or(UsersError::AccountGone)?;
    let access = auth
        .issuer
        .issue(&user.id, &user.email, user.email_verified, Some(&session))
        .map_err(|e| UsersError::Crypto(e.to_string()))?;
    Ok(Session {
        access_token: access.token,
        refresh_token: next,
        expires_in: access.expires_in,
    })
}

/// Ends the session the refresh token belongs to. Unknown tokens are ignored, so
/// sign-out is idempotent.
pub async fn logout(store: &dyn Store, presented: &str) -> Result<(), UsersError> {
    if presented.len() <= 256 {
        store
            .revoke_refresh_family(&refresh::hash(presented))
            .await?;
    }
    Ok(())
}

/// An access token for the local account with this address, creating the account
/// (without a password, address verified by the operator) when there is none. For the
/// `scooterbooter token` command; never reachable over HTTP. Refuses an admin address
/// whose account someone made by self-service sign-up, which would otherwise hand the
/// operator a token for a stranger's account.
pub async fn operator_token(
    store: &dyn Store,
    auth: &LocalAuth,
    policy: &AccountPolicy,
    email: &str,
) -> Result<String, UsersError> {
    let email = Email::parse(email)?;
    let user = match store.user_id_by_email(&email).await? {
        Some(id) => {
            let user = store.get_user(&id).await?.ok_or(UsersError::AccountGone)?;
            if !user.email_verified && policy.is_admin_email(&user.email) {
                return Err(UsersError::UnverifiedAdminAddress);
            }
            user
        }
        None => {
            let new = NewUser {
                id: UserId::generate(),
                email,
                email_verified: true,
                created_at: Timestamp::now(),
            };
            match store.create_password_account(new, None, None).await? {
                SignupOutcome::Created(user) => *user,
                SignupOutcome::EmailTaken => return Err(UsersError::EmailTaken),
                SignupOutcome::InviteInvalid => {
                    return Err(UsersError::InvalidInvite("inviteCode"));
                }
            }
        }
    };
    let token = auth
        .issuer
        .issue(&user.id, &user.email, user.email_verified, None)
        .map_err(|e| UsersError::Crypto(e.to_string()))?;
    Ok(token.token)
}
