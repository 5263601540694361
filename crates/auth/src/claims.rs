//! The claims of an access token: Cognito's access-token claims plus `email`, so one
//! verifier and one identity mapping serve both issuers; `aud` for other OpenID Connect
//! providers' access tokens, which name their audience instead of a client.

use serde::{Deserialize, Deserializer, Serialize};

/// The only `token_use` accepted on API requests.
pub const TOKEN_USE_ACCESS: &str = "access";

/// Access-token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// Who issued the token.
    pub iss: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Unique token id (absent from some OIDC providers' tokens).
    #[serde(default)]
    pub jti: String,
    /// `access` for access tokens (Cognito also issues `id` tokens, refused here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_use: Option<String>,
    /// The app client the token was issued to (Cognito access tokens have no `aud`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The audience (OIDC access tokens): one string or a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Cognito's `username`; the built-in issuer puts the user id there.
    #[serde(default)]
    pub username: Option<String>,
    /// The user's address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the issuer verified the address (some providers send `"true"`).
    #[serde(default, deserialize_with = "lenient_bool")]
    pub email_verified: Option<bool>,
    /// The Cognito groups the user belongs to (`cognito:groups`).
    #[serde(
        default,
        rename = "cognito:groups",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// The built-in sign-in's session (refresh-token family) the token was issued in,
    /// so `GET /me/sessions` can say which is the caller's; Cognito's tokens have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The `aud` claim: RFC 7519 allows one string or an array of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `wanted` is among the audiences.
    pub fn contains(&self, wanted: &str) -> bool {
        match self {
            Self::One(a) => a == wanted,
            Self::Many(all) => all.iter().any(|a| a == wanted),
        }
    }
}

/// A boolean claim sent as `true` or as the string `"true"` (Apple and some older
/// providers), so such a token is not refused as malformed; anything else is false.
fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    Ok(Option::<Flag>::deserialize(d)?.map(|f| match f {
        Flag::Bool(b) => b,
        Flag::Text(t) => t == "true",
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn email_verified_may_be_a_boolean_or_its_text_and_aud_one_or_many() {
        let parse = |extra: &str| -> AccessClaims {
            serde_json::from_str(&format!(
                r#"{{"sub":"s","iss":"i","exp":2,"iat":1{extra}}}"#
            ))
            .unwrap()
        };
        assert_eq!(
            parse(r#","email_verified":true"#).email_verified,
            Some(true)
        );
        assert_eq!(
            parse(r#","email_verified":"true""#).email_verified,
            Some(true)
        );
        assert_eq!(
            parse(r#","email_verified":"yes""#).email_verified,
            Some(false)
        );
        assert_eq!(parse("").email_verified, None);
        assert!(parse(r#","aud":"api""#).aud.unwrap().contains("api"));
        assert!(parse(r#","aud":["x","api"]"#).aud.unwrap().contains("api"));
        assert!(!parse(r#","aud":["x"]"#).aud.unwrap().contains("api"));
    }
}
