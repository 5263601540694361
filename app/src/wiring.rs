//! Builds the running application from a `Config`: opens the store, sets up token
//! verification (the built-in signing key, or Cognito's or an OIDC provider's keys),
//! assembles the `AppContext`, and merges every mounted service's router with the
//! system routes under the shared middleware.

use crate::config::{AuthMode, BlobConfig, Config, PushConfig, StoreConfig};
use crate::services::Service;
use crate::system;
use axum::Router;
use axum::middleware::from_fn_with_state;
use jsonwebtoken::Algorithm;
use scooter_auth::{
    JwksVerifier, LocalIssuer, ProfileSource, Recipient, Rules, SigningKey, StaticKeys,
};
use scooter_core::notification::PushService;
use scooter_http::middleware::{Budget, time_limited};
use scooter_http::rate_limit::Limiters;
use scooter_http::request_limit::RequestLimiter;
use scooter_http::storage::SpaceWatch;
use scooter_http::{AppContext, LocalAuth, MediaContext};
use scooter_jobs::{JobHandler, MaintenanceJob, StoreTailJob, Worker};
use scooter_media::blobs::{BlobStore, LocalBlobs};
use scooter_media::heic::HeicTool;
use scooter_media::signing::UploadSigner;
use scooter_media::video::VideoTools;
use scooter_media_service::domain::jobs::{PurgeMediaJob, PurgeUserMediaJob, VideoJob};
use scooter_posts::domain::timeline::FanOutJob;
use scooter_push::apns::ApnsProvider;
use scooter_push::delivery::{Delivery, DeliverySettings};
use scooter_push::expo::{ExpoProvider, ExpoSettings};
use scooter_push::fcm::FcmProvider;
use scooter_push::route::Routed;
use scooter_scoops::domain::PurgeScoopJob;
use scooter_store::Store;
use scooter_store_postgres::PgStore;
use scooter_store_sqlite::SqliteStore;
use std::sync::Arc;
use utoipa::openapi::OpenApi;

/// Why the application could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The data folder could not be created.
    #[error("cannot create the data folder {0}")]
    DataDir(std::path::PathBuf, #[source] std::io::Error),
    /// The SQLite store could not be opened or migrated.
    #[error(transparent)]
    Sqlite(#[from] scooter_store_sqlite::OpenError),
    /// The PostgreSQL store could not be reached or migrated.
    #[error(transparent)]
    Postgres(#[from] scooter_store_postgres::OpenError),
    /// DynamoDB could not be reached, or its tables not created.
    #[cfg(feature = "aws")]
    #[error("cannot open the DynamoDB store")]
    Dynamo(#[source] scooter_store::StoreError),
    /// The signing key could not be loaded or created.
    #[error(transparent)]
    Key(#[from] scooter_auth::KeyError),
    /// The upload-signing secret could not be loaded or created.
    #[error("cannot load the media upload key")]
    MediaKey(#[source] std::io::Error),
    /// The push client could not be set up.
    #[error("cannot set up push delivery: {0}")]
    Push(String),
    /// `REDIS_URL` cannot be used.
    #[error("REDIS_URL is not a usable Redis URL")]
    Redis(#[source] scooter_http::request_limit::RedisError),
    /// The signing key has no usable public half.
    #[error("the signing key cannot verify tokens")]
    KeyUnusable,
    /// The identity provider's client could not be set up (`AUTH=cognito`/`oidc`).
    #[error("cannot set up the identity provider")]
    Provider(#[source] scooter_auth::provider::ProviderError),
}

/// The built application.
pub struct App {
    /// The full router with every layer, ready to serve.
    pub router: Router,
    /// The shared state, for commands and tests that act without HTTP.
    pub ctx: AppContext,
    /// The store, to close cleanly on shutdown.
    pub store: Arc<dyn Store>,
    /// The OpenAPI document of the mounted routes.
    pub openapi: Arc<OpenApi>,
    /// The job worker (`serve` runs it unless `RUN_WORKER=false`).
    pub worker: Worker,
}

/// The job worker of a process that is the deployment's only worker (`serve`, a
/// Lambda worker): without push settings, push jobs are dropped (`PushOff`), since no
/// other worker will send them.
pub fn worker(config: &Config, ctx: &AppContext) -> Result<Worker, BuildError> {
    worker_with(config, ctx, true)
}

/// The job worker of `scooterbooter worker`, one of several: it takes only the kinds it
/// can run, so without push settings push jobs are left to workers that have them
/// (and without FFmpeg, transcodes to workers with FFmpeg).
pub fn standalone_worker(config: &Config, ctx: &AppContext) -> Result<Worker, BuildError> {
    worker_with(config, ctx, false)
}

fn worker_with(
    config: &Config,
    ctx: &AppContext,
    drop_push_without_provider: bool,
) -> Result<Worker, BuildError> {
    let store = ctx.store.clone();
    let mut handlers: Vec<Arc<dyn JobHandler>> = match &config.push {
        Some(p) => {
            let provider = push_provider(p)?;
            let settings = DeliverySettings {
                options: p.options.clone(),
                receipt_delay: p.receipt_delay,
            };
            let delivery = Delivery::new(store.clone(), Arc::new(provider), settings);
            scooter_push::job::handlers(Arc::new(delivery))
        }
        None if drop_push_without_provider => scooter_push::job::off(),
        None => Vec::new(),
    };
    let blobs = ctx.media.blobs.clone();
    handlers.extend::<[Arc<dyn JobHandler>; 6]>([
        Arc::new(PurgeMediaJob(blobs.clone())),
        Arc::new(PurgeUserMediaJob(blobs.clone())),
        Arc::new(PurgeScoopJob(store.clone())),
        Arc::new(MaintenanceJob::new(store.clone(), config.timelines)),
        Arc::new(StoreTailJob(store.clone())),
        Arc::new(FanOutJob::new(
            store.clone(),
            config.timelines.max_followers,
        )),
    ]);
    if let Some(tools) = ctx.media.video.clone() {
        handlers.push(Arc::new(VideoJob::new(store.clone(), blobs, tools)));
    }
    Ok(Worker::new(store, handlers, config.worker))
}

/// One provider that hands each message to its device's service, for the services
/// `push` sets up (keys are read here; nothing is fetched until the first message).
fn push_provider(p: &PushConfig) -> Result<Routed, BuildError> {
    let failed = |e: &dyn std::fmt::Display| BuildError::Push(e.to_string());
    let mut routed = Routed::new();
    if let Some(url) = &p.url {
        let expo = ExpoProvider::new(ExpoSettings {
            url: url.clone(),
            access_token: p.access_token.clone(),
            batch_window: p.batch_window,
        })
        .map_err(|e| failed(&e))?;
        routed = routed.with(PushService::Expo, Arc::new(expo));
    }
    if let Some(fcm) = &p.fcm {
        let fcm = FcmProvider::new(fcm).map_err(|e| failed(&ErrorChain(&e)))?;
        routed = routed.with(PushService::Fcm, Arc::new(fcm));
    }
    if let Some(apns) = &p.apns {
        let apns = ApnsProvider::new(apns).map_err(|e| failed(&ErrorChain(&e)))?;
        routed = routed.with(PushService::Apns, Arc::new(apns));
    }
    Ok(routed)
}

/// An error with its causes, `: `-separated, for a message that is one string.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

/// What `AUTH` sets up.
struct Auth {
    verifier: JwksVerifier,
    local: Option<LocalAuth>,
    profiles: Option<Arc<dyn ProfileSource>>,
}

/// The token verifier for `AUTH`: the built-in issuer's key from the data folder, or a
/// provider's remote JWKS (nothing is fetched here: keys are read on the first token, so
/// a cold start never waits on the provider), with where new users' addresses come from.
fn auth(config: &Config) -> Result<Auth, BuildError> {
    let provider = match &config.auth {
        AuthMode::Local {
            issuer,
            client_id,
            access_ttl,
            refresh_ttl,
            refresh_grace,
        } => {
            let key = SigningKey::load_or_create(&config.keys_dir())?;
            let decoding = key.decoding_key().ok_or(BuildError::KeyUnusable)?;
            let keys = Arc::new(StaticKeys::single(key.kid(), decoding, Algorithm::ES256));
            let rules = Rules {
                issuer: issuer.clone(),
                algorithms: vec![Algorithm::ES256],
                recipient: Recipient::Clients(vec![client_id.clone()]),
                admin_group: None,
            };
            let local = LocalAuth {
                issuer: LocalIssuer::new(key, issuer.clone(), client_id.clone(), *access_ttl),
                refresh_ttl: *refresh_ttl,
                refresh_grace: *refresh_grace,
            };
            return Ok(Auth {
                verifier: JwksVerifier::new(keys, rules),
                local: Some(local),
                profiles: None,
            });
        }
        AuthMode::Cognito(settings) => scooter_auth::provider::cognito(settings),
        AuthMode::Oidc(settings) => scooter_auth::provider::oidc(settings),
    };
    let provider = provider.map_err(BuildError::Provider)?;
    Ok(Auth {
        verifier: provider.verifier,
        local: None,
        profiles: Some(provider.profiles),
    })
}

/// Opens the store (migrating it) and the issuer, and returns the context.
pub async fn context(config: &Config) -> Result<(AppContext, Arc<dyn Store>), BuildError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| BuildError::DataDir(config.data_dir.clone(), e))?;
    let store: Arc<dyn Store> = match &config.store {
        StoreConfig::Sqlite(s) => Arc::new(SqliteStore::open(&config.database_path(), s).await?),
        StoreConfig::Postgres(pg) => Arc::new(PgStore::open(pg).await?),
        #[cfg(feature = "aws")]
        StoreConfig::Dynamo(d) => Arc::new(
            scooter_store_dynamodb::DynamoStore::open(d.clone())
                .await
                .map_err(BuildError::Dynamo)?,
        ),
    };
    let Auth {
        verifier,
        local,
        profiles,
    } = auth(config)?;
    let signer = UploadSigner::load_or_create(&config.keys_dir()).map_err(BuildError::MediaKey)?;
    let video = VideoTools::find(
        config.media.ffmpeg_path.clone(),
        config.media.processing_timeout,
    );
    let heic = HeicTool::find(
        config.media.heif_convert_path.clone(),
        config.media.processing_timeout,
    );
    let media_root = config.data_dir.join("media");
    let blobs: Arc<dyn BlobStore> = match &config.media.blobs {
        BlobConfig::Local => Arc::new(LocalBlobs::new(media_root.clone())),
        #[cfg(feature = "aws")]
        BlobConfig::S3(s3) => {
            let mut s3 = s3.clone();
            s3.scratch_dir = config.data_dir.join("scratch");
            Arc::new(scooter_media::s3::S3Blobs::connect(s3).await)
        }
    };
    let media = MediaContext {
        blobs,
        signer,
        video,
        heic,
        upload_ttl: config.media.upload_ttl,
        upload_timeout: config.http.upload_timeout,
        decode_budget: Arc::new(scooter_media::images::DecodeBudget::new(
            config.media.decode_budget_mib,
        )),
    };
    // One Redis for the request limits and the per-action throttles; only a URL that
    // does not parse stops the start (the connection is made in the background).
    let shared = match &config.redis_url {
        Some(url) => Some(
            scooter_http::shared_counts::SharedCounter::connect(url, &config.redis_prefix)
                .map_err(BuildError::Redis)?,
        ),
        None => None,
    };
    let ctx = AppContext {
        store: store.clone(),
        verifier: Arc::new(verifier),
        local_auth: local.map(Arc::new),
        profiles,
        policy: Arc::new(config.policy.clone()),
        limiters: Arc::new(Limiters::with(&config.rate_limits, shared.clone())),
        request_limiter: Arc::new(RequestLimiter::new(config.request_limits, shared)),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
        media: Arc::new(media),
        scoop_ttl: config.scoop_ttl,
        timelines: config.timelines,
        push_services: PushConfig::services(config.push.as_ref()).into(),
        space: Arc::new(SpaceWatch::new(match &config.store {
            StoreConfig::Sqlite(_) => vec![config.data_dir.clone(), media_root],
            StoreConfig::Postgres(_) => vec![media_root],
            #[cfg(feature = "aws")]
            StoreConfig::Dynamo(_) => vec![media_root],
        })),
    };
    Ok((ctx, store))
}

/// Removes what uploads cut off by a crash left (staged files, unchecked direct uploads
/// past their day); none is younger than the longest upload, so a process starting
/// beside others never removes one in progress. `serve` and `worker` run it at start; a
/// Lambda function does not (its start is on a request's path), the bucket's lifecycle
/// rule does it there.
pub async fn sweep_cut_off_uploads(config: &Config, media: &MediaContext) {
    match media.blobs.sweep_staged(config.http.upload_timeout).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(files = n, "removed files of uploads cut off by a crash"),
        Err(e) => tracing::warn!(error = %e, "could not sweep the files of cut-off uploads"),
    }
}

/// One service's routes and their part of the document.
fn service_router(service: Service, ctx: AppContext) -> (Router, OpenApi) {
    match service {
        Service::Users => scooter_users::router(ctx),
        Service::Social => scooter_social::router(ctx),
        Service::Posts => scooter_posts::router(ctx),
        Service::Notifications => scooter_notifications::router(ctx),
        Service::Media => scooter_media_service::router(ctx),
        Service::Scoops => scooter_scoops::router(ctx),
    }
}

/// Builds the application: the services of `config.services`, each under its own time
/// budget, the system routes, and the shared middleware. The OpenAPI document describes
/// exactly the routes mounted, so a process serving some services documents only them.
pub async fn build(config: &Config) -> Result<App, BuildError> {
    let (ctx, store) = context(config).await?;
    let mut openapi = system::base_document();
    let mut router = Router::new();
    for &service in &config.services {
        let (routes, doc) = service_router(service, ctx.clone());
        openapi.merge(doc);
        let budget = Budget {
            request: config.service_timeouts.of(service),
            upload: config.http.upload_timeout,
        };
        let routes = time_limited(routes, budget).layer(from_fn_with_state(
            ctx.clone(),
            scooter_http::request_limit::limit_requests,
        ));
        router = router.merge(routes);
    }
    crate::apidoc::finish(&mut openapi);
    let openapi = Arc::new(openapi);
    let system_budget = Budget {
        request: config.http.request_timeout,
        upload: config.http.upload_timeout,
    };
    let router = router
        .merge(time_limited(
            system::router(ctx.clone(), openapi.clone()),
            system_budget,
        ))
        .fallback(system::no_such_route);
    let router = router.layer(from_fn_with_state(
        ctx.space.clone(),
        scooter_http::storage::track,
    ));
    let router = scooter_http::middleware::apply(router, config.http);
    let worker = worker(config, &ctx)?;
    Ok(App {
        router,
        ctx,
        store,
        openapi,
        worker,
    })
}
