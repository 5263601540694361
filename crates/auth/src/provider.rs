//! External identity providers, assembled from their settings: a verifier with the
//! provider's rules over its remote JWKS, and where a new user's address is asked.
//! Nothing is fetched here; keys and documents are read on first need.

use crate::fetch;
use crate::jwks::{JwksLocation, RemoteJwks};
use crate::oidc::{Discovery, DiscoveryError};
use crate::profile::{CognitoGetUser, OidcUserInfo, ProfileSource};
use crate::verifier::{JwksVerifier, Recipient, Rules};
use jsonwebtoken::Algorithm;
use std::sync::Arc;

/// `AUTH=cognito`: a Cognito user pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoSettings {
    /// The pool's region (`AWS_REGION`).
    pub region: String,
    /// The pool (`COGNITO_USER_POOL_ID`, `<region>_<id>`).
    pub user_pool_id: String,
    /// App clients whose access tokens are accepted (`COGNITO_CLIENT_ID`).
    pub client_ids: Vec<String>,
    /// Where the pool's keys are (`COGNITO_JWKS_URL`; the issuer's JWKS by default).
    pub jwks_url: String,
    /// Where `GetUser` is called (`AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`,
    /// `AWS_ENDPOINT_URL`, else the region's Cognito endpoint).
    pub endpoint: String,
    /// Members of this group are administrators (`ADMIN_GROUP`).
    pub admin_group: String,
}

impl CognitoSettings {
    /// The `iss` of the pool's tokens.
    pub fn issuer(&self) -> String {
        cognito_issuer(&self.region, &self.user_pool_id)
    }
}

/// The issuer URL of a Cognito pool.
pub fn cognito_issuer(region: &str, user_pool_id: &str) -> String {
    format!("https://cognito-idp.{region}.amazonaws.com/{user_pool_id}")
}

/// `AUTH=oidc`: any OpenID Connect provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer, exactly as tokens name it (`OIDC_ISSUER`).
    pub issuer: String,
    /// The audience access tokens must name (`OIDC_AUDIENCE`).
    pub audience: String,
    /// The keys' URL (`OIDC_JWKS_URL`); the discovery document's `jwks_uri` if unset.
    pub jwks_url: Option<String>,
}

/// A provider ready to verify tokens.
pub struct Provider {
    /// Verifies access tokens.
    pub verifier: JwksVerifier,
    /// Tells a new user's address.
    pub profiles: Arc<dyn ProfileSource>,
}

/// Why a provider could not be set up (settings are checked when read, so only a
/// broken TLS setup or a URL that slipped past is left).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// A URL is unusable.
    #[error("{0}")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("cannot build an HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// Discovery could not be set up.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

/// Algorithms an OIDC provider's keys may pin: the asymmetric ones.
const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Cognito: RS256 keys from the pool's JWKS, `token_use = access`, a listed client,
/// group admins, `GetUser` for addresses.
pub fn cognito(s: &CognitoSettings) -> Result<Provider, ProviderError> {
    let jwks_url = fetch::secure_url(&s.jwks_url).map_err(ProviderError::Url)?;
    let endpoint = reqwest::Url::parse(&s.endpoint)
        .map_err(|e| ProviderError::Url(format!("{:?}: {e}", s.endpoint)))?;
    // Cognito signs with RS256 only; any other key in the set is not the pool's.
    let algorithms = vec![Algorithm::RS256];
    let keys = RemoteJwks::new(JwksLocation::Fixed(jwks_url), algorithms.clone())?;
    let rules = Rules {
        issuer: s.issuer(),
        algorithms,
        recipient: Recipient::Clients(s.client_ids.clone()),
        admin_group: Some(s.admin_group.clone()),
    };
    Ok(Provider {
        verifier: JwksVerifier::new(Arc::new(keys), rules),
        profiles: Arc::new(CognitoGetUser::new(endpoint)?),
    })
}

/// Any OpenID Connect provider: keys from `OIDC_JWKS_URL` or discovery, `aud`
/// naming the audience, userinfo for addresses.
pub fn oidc(s: &OidcSettings) -> Result<Provider, ProviderError> {
    let discovery = Arc::new(Discovery::new(&s.issuer)?);
    let location = match &s.jwks_url {
        Some(url) => JwksLocation::Fixed(fetch::secure_url(url).map_err(ProviderError::Url)?),
        None => JwksLocation::Discovered(discovery.clone()),
    };
    let keys = RemoteJwks::new(location, ASYMMETRIC.to_vec())?;
    let rules = Rules {
        issuer: s.issuer.clone(),
        algorithms: ASYMMETRIC.to_vec(),
        recipient: Recipient::Audience(s.audience.clone()),
        admin_group: None,
    };
    Ok(Provider {
        verifier: JwksVerifier::new(Arc::new(keys), rules),
        profiles: Arc::new(OidcUserInfo::new(discovery)?),
    })
}
