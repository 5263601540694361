//! Tokens and passwords. The built-in issuer ([`issuer`]) signs short-lived ES256 access
//! tokens carrying the claims a Cognito access token carries; every request's token is
//! checked by a [`verifier::JwksVerifier`], which picks the key by `kid` from a key
//! source: the built-in key, or a remote JWKS for Cognito and any OpenID Connect
//! provider ([`provider`]), without touching handlers.
//!
//! - [`keys`]: the local signing key in the data folder and its public JWK.
//! - [`claims`]: the access-token claims.
//! - [`issuer`]: minting access tokens.
//! - [`verifier`]: verification rules (algorithm pinned per key, `kid`, `iss`, `exp`,
//!   `iat`, `token_use` and `client_id`, or `aud`).
//! - [`jwks`]: a remote JWKS, fetched lazily, cached, refetched for unknown keys.
//! - [`oidc`]: OpenID Connect discovery.
//! - [`profile`]: a new user's address from the provider (Cognito `GetUser`, userinfo).
//! - [`provider`]: Cognito and OIDC assembled from their settings.
//! - [`fetch`]: bounded HTTP to the provider.
//! - [`password`]: argon2id hashing off the async threads.
//! - [`refresh`]: opaque refresh tokens, stored only as hashes.

pub mod claims;
pub mod fetch;
pub mod issuer;
pub mod jwks;
pub mod keys;
pub mod oidc;
pub mod password;
pub mod profile;
pub mod provider;
pub mod refresh;
pub mod verifier;

pub use claims::AccessClaims;
pub use issuer::{IssuedToken, LocalIssuer};
pub use keys::{KeyError, SigningKey};
pub use profile::{ProfileError, ProfileSource, ProviderProfile};
pub use provider::{CognitoSettings, OidcSettings, Provider};
pub use verifier::{
    AuthError, JwksVerifier, KeySource, Recipient, Rules, StaticKeys, VerifiedToken, VerifyingKey,
};

/// What is kept of a suspended account's address once the account is deleted: its
/// SHA-256, enough to refuse the address again and nothing more.
pub fn address_digest(email: &scooter_core::Email) -> String {
    refresh::hash(&format!("barred-address:{}", email.as_str()))
}
