//! Tokens and passwords. The built-in issuer ([`issuer`]) signs short-lived ES256 access
//! tokens carrying the claims a Cognito access token carries; every request's token is
//! checked by a [`verifier::JwksVerifier`], which picks the key by `kid` from a key
//! source, so Cognito or any OIDC issuer plugs in by supplying another key source and
//! issuer settings, without touching handlers.
//!
//! - [`keys`]: the local signing key in the data folder and its public JWK.
//! - [`claims`]: the access-token claims.
//! - [`issuer`]: minting access tokens.
//! - [`verifier`]: verification rules (pinned algorithm, `kid`, `iss`, `exp`, `token_use`, `client_id`).
//! - [`password`]: argon2id hashing off the async threads.
//! - [`refresh`]: opaque refresh tokens, stored only as hashes.

pub mod claims;
pub mod issuer;
pub mod keys;
pub mod password;
pub mod refresh;
pub mod verifier;

pub use claims::AccessClaims;
pub use issuer::{IssuedToken, LocalIssuer};
pub use keys::{KeyError, SigningKey};
pub use verifier::{AuthError, JwksVerifier, KeySource, StaticKeys, VerifiedToken};

/// What is kept of a suspended account's address once the account is deleted: its
/// SHA-256, enough to refuse the address again and nothing more.
pub fn address_digest(email: &scooter_core::Email) -> String {
    refresh::hash(&format!("barred-address:{}", email.as_str()))
}
