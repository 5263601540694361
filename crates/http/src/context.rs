//! The state every router receives. Cheap to clone (all `Arc`s); built once by the
//! binary from configuration, never global, so tests and several service sets can run
//! side by side in one process.

use crate::rate_limit::Limiters;
use scooter_auth::{JwksVerifier, LocalIssuer, ProfileSource};
use scooter_core::policy::AccountPolicy;
use scooter_media::blobs::BlobStore;
use scooter_media::heic::HeicTool;
use scooter_media::signing::UploadSigner;
use scooter_media::video::VideoTools;
use scooter_store::Store;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The built-in issuer and its session rules (present only with `AUTH=local`).
#[derive(Debug)]
pub struct LocalAuth {
    /// Signs access tokens.
    pub issuer: LocalIssuer,
    /// How long a refresh token lives.
    pub refresh_ttl: Duration,
    /// How long after a refresh token is spent presenting it again counts as the same
    /// refresh repeated (a sibling token), not as theft (the family revoked).
    pub refresh_grace: Duration,
}

/// Shared state of every service.
#[derive(Clone)]
pub struct AppContext {
    /// The store, chosen once at start.
    pub store: Arc<dyn Store>,
    /// Verifies bearer tokens.
    pub verifier: Arc<JwksVerifier>,
    /// The built-in issuer, when sign-in is local.
    pub local_auth: Option<Arc<LocalAuth>>,
    /// Where a new user's address is asked when their token carries none (Cognito's
    /// `GetUser`, an OIDC provider's userinfo); `None` for the built-in issuer.
    pub profiles: Option<Arc<dyn ProfileSource>>,
    /// Onboarding rules and admins.
    pub policy: Arc<AccountPolicy>,
    /// Throttles.
    pub limiters: Arc<Limiters>,
    /// The rate limit on all requests.
    pub request_limiter: Arc<crate::request_limit::RequestLimiter>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<Vec<IpAddr>>,
    /// Upload storage, signing and the video tools.
    pub media: Arc<MediaContext>,
    /// How long a scoop lives (`SCOOP_TTL`).
    pub scoop_ttl: Duration,
    /// Whether writes are being refused for lack of space.
    pub space: Arc<crate::storage::SpaceWatch>,
    /// How home timelines are kept (`TIMELINE_KEEP`, `TIMELINE_FANOUT_MAX_FOLLOWERS`).
    pub timelines: scooter_store::TimelineSettings,
    /// The push services devices may register for (Expo, and FCM and APNs when set up).
    pub push_services: Arc<[scooter_core::notification::PushService]>,
}

/// What the media routes need.
pub struct MediaContext {
    /// Where files live.
    pub blobs: Arc<dyn BlobStore>,
    /// Signs upload URLs.
    pub signer: UploadSigner,
    /// FFmpeg, when installed; video processing is off without it.
    pub video: Option<VideoTools>,
    /// libheif's converter, when installed; HEIC uploads are refused without it.
    pub heic: Option<HeicTool>,
    /// How long an upload URL stays valid.
    pub upload_ttl: Duration,
    /// The longest an upload's bytes may take to arrive (`UPLOAD_TIMEOUT_SECS`): a claim
    /// older than this was cut off by a crash.
    pub upload_timeout: Duration,
    /// Memory for decoding images, shared by all uploads (`IMAGE_DECODE_BUDGET_MB`).
    pub decode_budget: Arc<scooter_media::images::DecodeBudget>,
}
