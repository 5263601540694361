//! The one configuration type, read once from the environment (flags override the two
//! settings they name). Every invalid value is reported with the variable's name.

use crate::services::{Service, ServiceTimeouts};
use scooter_auth::fetch::secure_url;
use scooter_auth::{CognitoSettings, OidcSettings};
use scooter_core::Email;
use scooter_core::policy::AccountPolicy;
use scooter_http::middleware::HttpSettings;
use scooter_http::rate_limit::{RateLimitSettings, Rule};
use scooter_http::request_limit::RequestLimitSettings;
use scooter_jobs::WorkerSettings;
use scooter_store::TimelineSettings;
use scooter_store_postgres::PgSettings;
use scooter_store_sqlite::{Durability, SqliteSettings};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// A variable held a value we cannot use.
#[derive(Debug, thiserror::Error)]
#[error("invalid {var}: {message}")]
pub struct ConfigError {
    /// The environment variable.
    pub var: &'static str,
    /// What is wrong with it.
    pub message: String,
}

/// How tokens are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    /// The built-in issuer (sign-up, log-in, refresh; keys in the data folder).
    Local {
        /// `iss` of issued tokens (`LOCAL_ISSUER`).
        issuer: String,
        /// `client_id` of issued tokens (`LOCAL_CLIENT_ID`).
        client_id: String,
        /// Access-token lifetime (`ACCESS_TOKEN_TTL`, seconds).
        access_ttl: Duration,
        /// Refresh-token lifetime (`REFRESH_TOKEN_TTL`, seconds).
        refresh_ttl: Duration,
        /// How long a spent refresh token may be presented again as a repeat of the same
        /// refresh (`REFRESH_REUSE_GRACE_SECS`; 0: never).
        refresh_grace: Duration,
    },
    /// A Cognito user pool's access tokens (`AUTH=cognito`).
    Cognito(CognitoSettings),
    /// Any OpenID Connect provider's access tokens (`AUTH=oidc`).
    Oidc(OidcSettings),
}

/// `scooterbooter token` (or `seed --tokens`) under an external issuer: our tokens would
/// not be accepted there, and minting them is the provider's job.
#[derive(Debug, thiserror::Error)]
#[error(
    "AUTH={mode}: tokens come from {provider}, and this server accepts only its tokens, so a \
     token minted here would be refused; sign in through {provider} instead (or run with AUTH=local)"
)]
pub struct LocalOnly {
    /// The configured mode.
    pub mode: &'static str,
    /// Who issues tokens in that mode.
    pub provider: &'static str,
}

impl AuthMode {
    /// The `AUTH` value.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Local { .. } => "local",
            Self::Cognito(_) => "cognito",
            Self::Oidc(_) => "oidc",
        }
    }

    /// Whether this server may mint access tokens itself (the built-in issuer only).
    pub fn can_mint_tokens(&self) -> Result<(), LocalOnly> {
        let provider = match self {
            Self::Local { .. } => return Ok(()),
            Self::Cognito(_) => "the Cognito user pool",
            Self::Oidc(_) => "the OpenID Connect provider",
        };
        Err(LocalOnly {
            mode: self.name(),
            provider,
        })
    }
}

/// Which store backend, with its settings.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// The embedded SQLite file in the data folder (the default).
    Sqlite(SqliteSettings),
    /// A PostgreSQL server (`DATABASE_URL=postgres://…`).
    Postgres(PgSettings),
    /// DynamoDB (`STORE=dynamodb`; builds with the `aws` feature only).
    #[cfg(feature = "aws")]
    Dynamo(scooter_store_dynamodb::DynamoSettings),
}

/// Where push messages go and how they are sent: Expo (`EXPO_PUSH_URL`,
/// `EXPO_ACCESS_TOKEN`), FCM directly (`FCM_CREDENTIALS_FILE`), APNs directly
/// (`APNS_KEY_FILE` and its companions); absent when none is set: push is off.
#[derive(Clone)]
pub struct PushConfig {
    /// Expo's push endpoint (or a stand-in in tests); `None`: no Expo delivery.
    pub url: Option<String>,
    /// Expo access token, when the project requires one.
    pub access_token: Option<String>,
    /// FCM HTTP v1, when `FCM_CREDENTIALS_FILE` is set.
    pub fcm: Option<scooter_push::fcm::FcmSettings>,
    /// APNs, when `APNS_KEY_FILE` is set.
    pub apns: Option<scooter_push::apns::ApnsSettings>,
    /// How long after sending receipts are read (`EXPO_RECEIPT_DELAY_SECS`, 900).
    pub receipt_delay: Duration,
    /// How long a message waits for others to leave with it (`PUSH_BATCH_WINDOW_MS`, 10).
    pub batch_window: Duration,
    /// Sound, priority, time to live, Android channel, mutable content (`PUSH_*`).
    pub options: scooter_push::provider::MessageOptions,
}

impl PushConfig {
    /// The services devices may register for: Expo always (an Expo app registers at
    /// sign-in whether or not this server sends yet), FCM and APNs when set up.
    pub fn services(push: Option<&Self>) -> Vec<scooter_core::notification::PushService> {
        use scooter_core::notification::PushService;
        let mut services = vec![PushService::Expo];
        if push.is_some_and(|p| p.fcm.is_some()) {
            services.push(PushService::Fcm);
        }
        if push.is_some_and(|p| p.apns.is_some()) {
            services.push(PushService::Apns);
        }
        services
    }
}

impl std::fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The access token never prints (the FCM and APNs settings hold paths only).
        f.debug_struct("PushConfig")
            .field("url", &self.url)
            .field("fcm", &self.fcm)
            .field("apns", &self.apns)
            .field("receipt_delay", &self.receipt_delay)
            .field("batch_window", &self.batch_window)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// FCM settings, when `FCM_CREDENTIALS_FILE` names a service-account key.
fn fcm_config(env: &Env<'_>) -> Result<Option<scooter_push::fcm::FcmSettings>, ConfigError> {
    let Some(file) = env.raw("FCM_CREDENTIALS_FILE") else {
        return Ok(None);
    };
    let endpoint = match env.raw("FCM_ENDPOINT") {
        Some(v) => key_url("FCM_ENDPOINT", &v)?,
        None => scooter_push::fcm::ENDPOINT.to_owned(),
    };
    Ok(Some(scooter_push::fcm::FcmSettings {
        credentials_file: PathBuf::from(file),
        endpoint,
    }))
}

/// APNs settings, when `APNS_KEY_FILE` names a `.p8` key: its id, the team, the topic
/// and the environment must come with it.
fn apns_config(env: &Env<'_>) -> Result<Option<scooter_push::apns::ApnsSettings>, ConfigError> {
    use scooter_push::apns::{PRODUCTION, SANDBOX};
    let Some(file) = env.raw("APNS_KEY_FILE") else {
        return Ok(None);
    };
    let why = "with APNS_KEY_FILE";
    let default = match env
        .raw("APNS_ENV")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("production") => PRODUCTION,
        Some("sandbox" | "development") => SANDBOX,
        Some(other) => {
            return Err(ConfigError {
                var: "APNS_ENV",
                message: format!("{other:?} is not sandbox or production"),
            });
        }
    };
    let endpoint = match env.raw("APNS_ENDPOINT") {
        Some(v) => key_url("APNS_ENDPOINT", &v)?,
        None => default.to_owned(),
    };
    Ok(Some(scooter_push::apns::ApnsSettings {
        key_file: PathBuf::from(file),
        key_id: required(env, "APNS_KEY_ID", why)?,
        team_id: required(env, "APNS_TEAM_ID", why)?,
        topic: required(env, "APNS_TOPIC", why)?,
        endpoint,
    }))
}

/// Push settings, when `EXPO_PUSH_URL`, `FCM_CREDENTIALS_FILE` or `APNS_KEY_FILE`
/// turns push on.
fn push_config(env: &Env<'_>) -> Result<Option<PushConfig>, ConfigError> {
    use scooter_push::provider::{MessageOptions, Priority};
    let url = env.raw("EXPO_PUSH_URL");
    let fcm = fcm_config(env)?;
    let apns = apns_config(env)?;
    if url.is_none() && fcm.is_none() && apns.is_none() {
        return Ok(None);
    }
    let d = MessageOptions::default();
    let priority = match env.raw("PUSH_PRIORITY") {
        None => d.priority,
        Some(v) => Priority::parse(&v.to_ascii_lowercase()).ok_or_else(|| ConfigError {
            var: "PUSH_PRIORITY",
            message: format!("{v:?} is not default, normal or high"),
        })?,
    };
    let sound = match env.raw("PUSH_SOUND") {
        None => d.sound,
        Some(v) if v.eq_ignore_ascii_case("none") => None,
        Some(v) => Some(v),
    };
    let ttl_secs = match env.raw("PUSH_TTL_SECS") {
        None => None,
        Some(_) => Some(env.parse("PUSH_TTL_SECS", 0u32)?),
    };
    Ok(Some(PushConfig {
        url,
        access_token: env.raw("EXPO_ACCESS_TOKEN"),
        fcm,
        apns,
        receipt_delay: Duration::from_secs(env.parse("EXPO_RECEIPT_DELAY_SECS", 900u64)?),
        batch_window: Duration::from_millis(env.parse("PUSH_BATCH_WINDOW_MS", 10u64)?),
        options: MessageOptions {
            sound,
            priority,
            ttl_secs,
            channel_id: env.raw("PUSH_ANDROID_CHANNEL").unwrap_or(d.channel_id),
            mutable_content: env.flag("PUSH_MUTABLE_CONTENT", d.mutable_content)?,
        },
    }))
}

/// Where uploaded files live (`BLOB_STORE`).
#[derive(Debug, Clone)]
pub enum BlobConfig {
    /// The `media` folder in the data folder (the default).
    Local,
    /// An S3 bucket (`BLOB_STORE=s3`; builds with the `aws` feature only). Its scratch
    /// folder is set from the data folder when the app is built.
    #[cfg(feature = "aws")]
    S3(scooter_media::s3::S3Settings),
}

/// Media settings.
#[derive(Debug, Clone)]
pub struct MediaSettings {
    /// Where files live.
    pub blobs: BlobConfig,
    /// FFmpeg binary (`FFMPEG_PATH`); `ffmpeg` on `PATH` otherwise.
    pub ffmpeg_path: Option<PathBuf>,
    /// libheif's `heif-convert` (`HEIF_CONVERT_PATH`); on `PATH` otherwise.
    pub heif_convert_path: Option<PathBuf>,
    /// Wall-clock limit of one FFmpeg run (`VIDEO_PROCESSING_TIMEOUT_SECS`, 60).
    pub processing_timeout: Duration,
    /// Lifetime of an upload URL (`UPLOAD_URL_TTL_SECS`, 900).
    pub upload_ttl: Duration,
    /// Memory all image decodes together may use (`IMAGE_DECODE_BUDGET_MB`, 1024).
    pub decode_budget_mib: u32,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (default).
    Json,
    /// Human-readable lines for a terminal.
    Pretty,
}

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on (`--listen`, `SCOOTER_LISTEN`).
    pub listen: SocketAddr,
    /// Where `GET /metrics` is served (`METRICS_LISTEN`); off when unset.
    pub metrics_listen: Option<SocketAddr>,
    /// Data folder: database, keys, media (`--data`, `SCOOTER_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Token verification mode (`AUTH`).
    pub auth: AuthMode,
    /// Account rules.
    pub policy: AccountPolicy,
    /// The store backend (`DATABASE_URL`, `SQLITE_SYNCHRONOUS`, `SQLITE_MAX_SIZE_MB`, `SQLITE_MMAP_MB`, `DB_*`).
    pub store: StoreConfig,
    /// Body limit and timeouts of routes outside the services and of uploads
    /// (`BODY_LIMIT_BYTES`, `REQUEST_TIMEOUT_SECS`, `UPLOAD_TIMEOUT_SECS`), and the web
    /// origins allowed by CORS (`CORS_ORIGINS`).
    pub http: HttpSettings,
    /// Connection limits of the listener (`HEADER_READ_TIMEOUT_SECS`,
    /// `MAX_CONNECTIONS`).
    pub serve: crate::server::ServeSettings,
    /// Each service's request timeout (`TIMEOUT_USERS_SECS`, …; the original's
    /// Lambda timeouts by default).
    pub service_timeouts: ServiceTimeouts,
    /// The services this process mounts (`serve users posts …`; all six by default).
    pub services: Vec<Service>,
    /// Throttles (`RATE_LIMITS=off` disables them).
    pub rate_limits: RateLimitSettings,
    /// Limits on all requests per address and per account, per minute
    /// (`RATE_LIMIT_PER_IP`, `RATE_LIMIT_PER_USER`; off with `RATE_LIMITS=false`).
    pub request_limits: RequestLimitSettings,
    /// Where instances share their request counts (`REDIS_URL`); local buckets if unset.
    pub redis_url: Option<String>,
    /// Prefix of this deployment's keys in Redis (`REDIS_KEY_PREFIX`).
    pub redis_prefix: String,
    /// Proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<IpAddr>,
    /// Log format (`LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Push delivery; `None` turns it off.
    pub push: Option<PushConfig>,
    /// Job worker tuning (`WORKER_CONCURRENCY`, `WORKER_POLL_MS`, `JOB_MAX_ATTEMPTS`,
    /// `JOB_BACKOFF_BASE_MS`).
    pub worker: WorkerSettings,
    /// Whether `serve` runs the job worker in-process (`RUN_WORKER`, default true).
    pub run_worker: bool,
    /// Media settings.
    pub media: MediaSettings,
    /// How long a scoop lives (`SCOOP_TTL`, seconds, default 86400).
    pub scoop_ttl: Duration,
    /// Home timelines (`TIMELINE_KEEP`, `TIMELINE_FANOUT_MAX_FOLLOWERS`).
    pub timelines: TimelineSettings,
}

/// Reads variables through `get`, so tests need not touch the process environment.
pub struct Env<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The variable's value, trimmed; `None` when unset or blank.
    pub(crate) fn raw(&self, var: &'static str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.raw(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: T::Err| ConfigError {
                var,
                message: format!("{v:?}: {e}"),
            }),
        }
    }

    fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(var).map(|v| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(ConfigError {
                var,
                message: format!("{v:?} is not true or false"),
            }),
        }
    }

    fn seconds(&self, var: &'static str, default: u64) -> Result<Duration, ConfigError> {
        let secs: u64 = self.parse(var, default)?;
        if secs == 0 {
            return Err(ConfigError {
                var,
                message: "must be at least 1 second".into(),
            });
        }
        Ok(Duration::from_secs(secs))
    }
}

/// How tokens are verified (`AUTH`: `local`, `cognito` or `oidc`).
fn auth_mode(env: &Env<'_>) -> Result<AuthMode, ConfigError> {
    match env.raw("AUTH").map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("local") => Ok(AuthMode::Local {
            issuer: env
                .raw("LOCAL_ISSUER")
                .unwrap_or_else(|| "scooterbooter-local".into()),
            client_id: env
                .raw("LOCAL_CLIENT_ID")
                .unwrap_or_else(|| "scooterbooter-app".into()),
            access_ttl: env.seconds("ACCESS_TOKEN_TTL", 15 * 60)?,
            refresh_ttl: env.seconds("REFRESH_TOKEN_TTL", 30 * 24 * 3600)?,
            refresh_grace: Duration::from_secs(env.parse("REFRESH_REUSE_GRACE_SECS", 20)?),
        }),
        Some("cognito") => cognito_settings(env).map(AuthMode::Cognito),
        Some("oidc") => oidc_settings(env).map(AuthMode::Oidc),
        Some(other) => Err(ConfigError {
            var: "AUTH",
            message: format!("{other:?} is not local, cognito or oidc"),
        }),
    }
}

/// A variable that must be set in this mode.
fn required(env: &Env<'_>, var: &'static str, why: &str) -> Result<String, ConfigError> {
    env.raw(var).ok_or_else(|| ConfigError {
        var,
        message: format!("is required {why}"),
    })
}

/// A URL keys or provider documents are read from: HTTPS, or HTTP to this machine.
fn key_url(var: &'static str, value: &str) -> Result<String, ConfigError> {
    secure_url(value)
        .map(|_| value.to_owned())
        .map_err(|message| ConfigError { var, message })
}

/// `AUTH=cognito`: the pool, its region and app clients, where its keys are, where
/// `GetUser` is called, and the admin group.
fn cognito_settings(env: &Env<'_>) -> Result<CognitoSettings, ConfigError> {
    let why = "with AUTH=cognito";
    let region = required(env, "AWS_REGION", why)?;
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_ok {
        return Err(ConfigError {
            var: "AWS_REGION",
            message: format!("{region:?} is not a region name like eu-west-1"),
        });
    }
    let pool = required(env, "COGNITO_USER_POOL_ID", why)?;
    // `<region>_<id>`, e.g. eu-west-1_AbC123xyZ; the id part is letters and digits.
    let (pool_region, id) = pool.split_once('_').unwrap_or(("", ""));
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ConfigError {
            var: "COGNITO_USER_POOL_ID",
            message: format!("{pool:?} is not a user pool id like {region}_AbC123xyZ"),
        });
    }
    if pool_region != region {
        return Err(ConfigError {
            var: "COGNITO_USER_POOL_ID",
            message: format!("{pool:?} is a pool of {pool_region:?}, but AWS_REGION is {region:?}"),
        });
    }
    let client_ids: Vec<String> = required(env, "COGNITO_CLIENT_ID", why)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if client_ids.is_empty() {
        return Err(ConfigError {
            var: "COGNITO_CLIENT_ID",
            message: "names no app client (a comma-separated list of client ids)".into(),
        });
    }
    if let Some(bad) = client_ids.iter().find(|c| {
        c.len() > 128
            || !c
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'+')
    }) {
        return Err(ConfigError {
            var: "COGNITO_CLIENT_ID",
            message: format!("{bad:?} is not an app client id"),
        });
    }
    let issuer = scooter_auth::provider::cognito_issuer(&region, &pool);
    let jwks_url = match env.raw("COGNITO_JWKS_URL") {
        Some(url) => key_url("COGNITO_JWKS_URL", &url)?,
        None => format!("{issuer}/.well-known/jwks.json"),
    };
    // The endpoint variables the AWS SDKs read, so one setting points every AWS call
    // at an emulator.
    let (endpoint_var, endpoint) = match (
        env.raw("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"),
        env.raw("AWS_ENDPOINT_URL"),
    ) {
        (Some(url), _) => ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", url),
        (None, Some(url)) => ("AWS_ENDPOINT_URL", url),
        (None, None) => (
            "AWS_REGION",
            format!("https://cognito-idp.{region}.amazonaws.com/"),
        ),
    };
    if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
        return Err(ConfigError {
            var: endpoint_var,
            message: format!("{endpoint:?} is not an http(s):// URL"),
        });
    }
    Ok(CognitoSettings {
        region,
        user_pool_id: pool,
        client_ids,
        jwks_url,
        endpoint,
        admin_group: env.raw("ADMIN_GROUP").unwrap_or_else(|| "admins".into()),
    })
}

/// `AUTH=oidc`: the issuer (discovered through its `/.well-known/openid-configuration`),
/// the audience tokens must name, and optionally where the keys are.
fn oidc_settings(env: &Env<'_>) -> Result<OidcSettings, ConfigError> {
    let why = "with AUTH=oidc";
    let issuer = key_url("OIDC_ISSUER", &required(env, "OIDC_ISSUER", why)?)?;
    let audience = required(env, "OIDC_AUDIENCE", why)?;
    let jwks_url = env
        .raw("OIDC_JWKS_URL")
        .map(|url| key_url("OIDC_JWKS_URL", &url))
        .transpose()?;
    Ok(OidcSettings {
        issuer,
        audience,
        jwks_url,
    })
}

/// Job worker tuning.
fn worker_settings(env: &Env<'_>) -> Result<WorkerSettings, ConfigError> {
    let d = WorkerSettings::default();
    let ms = |var: &'static str, default: Duration| -> Result<Duration, ConfigError> {
        let v: u64 = env.parse(var, u64::try_from(default.as_millis()).unwrap_or(u64::MAX))?;
        Ok(Duration::from_millis(v))
    };
    let concurrency: usize = env.parse("WORKER_CONCURRENCY", d.concurrency)?;
    if concurrency == 0 {
        return Err(ConfigError {
            var: "WORKER_CONCURRENCY",
            message: "must be at least 1".into(),
        });
    }
    Ok(WorkerSettings {
        concurrency,
        slow_concurrency: env
            .parse::<usize>("WORKER_SLOW_CONCURRENCY", d.slow_concurrency)?
            .max(1),
        poll_interval: ms("WORKER_POLL_MS", d.poll_interval)?,
        max_attempts: env.parse("JOB_MAX_ATTEMPTS", d.max_attempts)?,
        backoff_base: ms("JOB_BACKOFF_BASE_MS", d.backoff_base)?,
        ..d
    })
}

/// Home timelines: how long they are kept, and when an author is pulled instead.
fn timeline_settings(env: &Env<'_>) -> Result<TimelineSettings, ConfigError> {
    let d = TimelineSettings::default();
    let keep: u32 = env.parse("TIMELINE_KEEP", d.keep)?;
    if keep < 20 {
        return Err(ConfigError {
            var: "TIMELINE_KEEP",
            message: "must be at least 20 (a page)".into(),
        });
    }
    let idle_days: u64 = env.parse("TIMELINE_IDLE_DAYS", d.idle.as_secs() / 86_400)?;
    if idle_days == 0 {
        return Err(ConfigError {
            var: "TIMELINE_IDLE_DAYS",
            message: "must be at least 1".into(),
        });
    }
    let enabled = match env.raw("FEED").map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("pull") => false,
        Some("timeline") => true,
        Some(v) => {
            return Err(ConfigError {
                var: "FEED",
                message: format!("{v:?} is not pull or timeline"),
            });
        }
    };
    Ok(TimelineSettings {
        enabled,
        keep,
        max_followers: env.parse("TIMELINE_FANOUT_MAX_FOLLOWERS", d.max_followers)?,
        idle: Duration::from_secs(idle_days.saturating_mul(86_400)),
    })
}

/// DynamoDB: table names from `DYNAMODB_TABLE_PREFIX` (default `scooterbooter-`) and
/// per-table overrides (`DYNAMODB_TABLE_USERS`, …, for tables a template named), and
/// whether missing tables are created at start (`DYNAMODB_CREATE_TABLES`).
#[cfg(feature = "aws")]
fn dynamo_config(env: &Env<'_>) -> Result<StoreConfig, ConfigError> {
    let prefix = env
        .raw("DYNAMODB_TABLE_PREFIX")
        .unwrap_or_else(|| "scooterbooter-".into());
    let mut tables = scooter_store_dynamodb::Tables::with_prefix(&prefix);
    for (var, slot) in [
        ("DYNAMODB_TABLE_USERS", &mut tables.users),
        ("DYNAMODB_TABLE_SOCIAL", &mut tables.social),
        ("DYNAMODB_TABLE_POSTS", &mut tables.posts),
        ("DYNAMODB_TABLE_NOTIFICATIONS", &mut tables.notifications),
        ("DYNAMODB_TABLE_MEDIA", &mut tables.media),
        ("DYNAMODB_TABLE_SCOOPS", &mut tables.scoops),
        ("DYNAMODB_TABLE_JOBS", &mut tables.jobs),
    ] {
        let named = env.raw(var);
        let from = if named.is_some() {
            var
        } else {
            "DYNAMODB_TABLE_PREFIX"
        };
        if let Some(name) = named {
            *slot = name;
        }
        // DynamoDB's rule for table names: 3 to 255 of letters, digits, `_-.`.
        let valid = (3..=255).contains(&slot.len())
            && slot
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !valid {
            return Err(ConfigError {
                var: from,
                message: format!("{slot:?} is not a valid DynamoDB table name"),
            });
        }
    }
    Ok(StoreConfig::Dynamo(
        scooter_store_dynamodb::DynamoSettings {
            tables,
            create_tables: env.flag("DYNAMODB_CREATE_TABLES", true)?,
            ..scooter_store_dynamodb::DynamoSettings::default()
        },
    ))
}

/// Where files live: `BLOB_STORE` (`local`, `s3`) with `S3_BUCKET`, `S3_PREFIX`,
/// `S3_FORCE_PATH_STYLE`, `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`, and
/// `MEDIA_BASE_URL` (a CDN in front of the bucket).
fn blob_config(env: &Env<'_>) -> Result<BlobConfig, ConfigError> {
    let base = env.raw("MEDIA_BASE_URL");
    if let Some(url) = &base
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(ConfigError {
            var: "MEDIA_BASE_URL",
            message: format!("{url:?} is not an http(s) URL"),
        });
    }
    match env
        .raw("BLOB_STORE")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("local") => {
            if base.is_some() {
                // The local folder keeps a video's original under its key until it is
                // transcoded; only the server's own route knows not to serve it.
                return Err(ConfigError {
                    var: "MEDIA_BASE_URL",
                    message: "works with BLOB_STORE=s3 only (files in the local folder are served by /files)".into(),
                });
            }
            Ok(BlobConfig::Local)
        }
        #[cfg(feature = "aws")]
        Some("s3") => {
            let bucket = env.raw("S3_BUCKET").ok_or_else(|| ConfigError {
                var: "S3_BUCKET",
                message: "BLOB_STORE=s3 needs the bucket's name".into(),
            })?;
            // S3's rule for bucket names: 3 to 63 of lowercase letters, digits, `.-`.
            if !((3..=63).contains(&bucket.len())
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.".contains(&b)))
            {
                return Err(ConfigError {
                    var: "S3_BUCKET",
                    message: format!("{bucket:?} is not a valid bucket name"),
                });
            }
            let mut prefix = env.raw("S3_PREFIX").unwrap_or_default();
            if prefix.starts_with('/') || prefix.contains("..") {
                return Err(ConfigError {
                    var: "S3_PREFIX",
                    message: format!("{prefix:?} must not start with / or hold .."),
                });
            }
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            Ok(BlobConfig::S3(scooter_media::s3::S3Settings {
                bucket,
                prefix,
                force_path_style: env.flag("S3_FORCE_PATH_STYLE", false)?,
                endpoint: env
                    .raw("AWS_ENDPOINT_URL_S3")
                    .or_else(|| env.raw("AWS_ENDPOINT_URL")),
                public_base: base,
                scratch_dir: PathBuf::new(),
            }))
        }
        #[cfg(not(feature = "aws"))]
        Some("s3") => Err(ConfigError {
            var: "BLOB_STORE",
            message: "this build has no S3 support: build with `--features aws`".into(),
        }),
        Some(v) => Err(ConfigError {
            var: "BLOB_STORE",
            message: format!("{v:?} is not local or s3"),
        }),
    }
}

/// The store backend: `STORE` names it (`sqlite`, `postgres`, `dynamodb`); unset,
/// PostgreSQL when `DATABASE_URL` names one, else SQLite.
fn store_config(env: &Env<'_>) -> Result<StoreConfig, ConfigError> {
    match env.raw("STORE").map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("sqlite") | Some("postgres") => {}
        #[cfg(feature = "aws")]
        Some("dynamodb") => return dynamo_config(env),
        #[cfg(not(feature = "aws"))]
        Some("dynamodb") => {
            return Err(ConfigError {
                var: "STORE",
                message: "this build has no DynamoDB support: build with `--features aws`".into(),
            });
        }
        Some(v) => {
            return Err(ConfigError {
                var: "STORE",
                message: format!("{v:?} is not sqlite, postgres or dynamodb"),
            });
        }
    }
    let named = env.raw("STORE").map(|v| v.to_ascii_lowercase());
    match (named.as_deref(), env.raw("DATABASE_URL")) {
        (Some("postgres"), None) => {
            return Err(ConfigError {
                var: "DATABASE_URL",
                message: "STORE=postgres needs DATABASE_URL=postgres://…".into(),
            });
        }
        (Some("sqlite"), Some(_)) => {
            return Err(ConfigError {
                var: "DATABASE_URL",
                message: "is set, but STORE=sqlite: unset one of them".into(),
            });
        }
        _ => {}
    }
    let Some(url) = env.raw("DATABASE_URL") else {
        let durability = match env
            .raw("SQLITE_SYNCHRONOUS")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("full") => Durability::Full,
            Some("normal") => Durability::Normal,
            Some(v) => {
                return Err(ConfigError {
                    var: "SQLITE_SYNCHRONOUS",
                    message: format!("{v:?} is not full or normal"),
                });
            }
        };
        let max_mb: u64 = env.parse("SQLITE_MAX_SIZE_MB", 0)?;
        let mmap_mb: u64 = env.parse("SQLITE_MMAP_MB", 0)?;
        let busy_ms: u64 = env.parse("SQLITE_BUSY_TIMEOUT_MS", 5_000)?;
        return Ok(StoreConfig::Sqlite(SqliteSettings {
            durability,
            busy_timeout: Duration::from_millis(busy_ms),
            max_size: (max_mb > 0).then(|| max_mb.saturating_mul(1024 * 1024)),
            mmap_size: mmap_mb.saturating_mul(1024 * 1024),
            ..SqliteSettings::default()
        }));
    };
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(ConfigError {
            var: "DATABASE_URL",
            message: "must start with postgres:// (leave it unset for the embedded SQLite store)"
                .into(),
        });
    }
    let mut pg = PgSettings::new(url);
    pg.schema = env.raw("DATABASE_SCHEMA");
    if let Some(schema) = &pg.schema
        && !(schema.len() <= 63
            && schema
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(ConfigError {
            var: "DATABASE_SCHEMA",
            message: format!("{schema:?} is not a plain identifier"),
        });
    }
    pg.max_connections = env.parse("DB_MAX_CONNECTIONS", pg.max_connections)?;
    pg.min_connections = env.parse("DB_MIN_CONNECTIONS", pg.min_connections)?;
    pg.acquire_timeout = env.seconds("DB_ACQUIRE_TIMEOUT_SECS", pg.acquire_timeout.as_secs())?;
    pg.idle_timeout = env.seconds("DB_IDLE_TIMEOUT_SECS", pg.idle_timeout.as_secs())?;
    pg.statement_timeout =
        env.seconds("DB_STATEMENT_TIMEOUT_SECS", pg.statement_timeout.as_secs())?;
    Ok(StoreConfig::Postgres(pg))
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_process_env() -> Result<Self, ConfigError> {
        Self::from_env(&Env(&|k| std::env::var(k).ok()))
    }

    /// Reads the configuration through `env`.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        let listen = env.parse("SCOOTER_LISTEN", SocketAddr::from(([127, 0, 0, 1], 3000)))?;
        let data_dir = PathBuf::from(
            env.raw("SCOOTER_DATA_DIR")
                .unwrap_or_else(|| "./data".into()),
        );
        let auth = auth_mode(env)?;
        let admin_emails = env
            .raw("ADMIN_EMAILS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                Email::parse(s).map_err(|e| ConfigError {
                    var: "ADMIN_EMAILS",
                    message: format!("{s:?}: {}", e.message),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let policy = AccountPolicy {
            terms_version: env.raw("TERMS_VERSION").unwrap_or_else(|| "1".into()),
            terms_url: env.raw("TERMS_URL"),
            invite_only: env.flag("INVITE_ONLY", false)?,
            invite_quota: env.parse("INVITE_QUOTA", 5)?,
            admin_emails,
        };
        #[allow(unused_mut)]
        let mut timelines = timeline_settings(env)?;
        let mut store = store_config(env)?;
        // On DynamoDB the pulled feed reads a partition per followed author for every
        // page (and pays for each): timelines are the default there.
        #[cfg(feature = "aws")]
        if matches!(store, StoreConfig::Dynamo(_)) && env.raw("FEED").is_none() {
            timelines.enabled = true;
        }
        // The store writes timelines only when the feed reads them.
        match &mut store {
            StoreConfig::Sqlite(s) => s.timelines = timelines.enabled,
            StoreConfig::Postgres(p) => p.timelines = timelines.enabled,
            #[cfg(feature = "aws")]
            StoreConfig::Dynamo(d) => d.timelines = timelines,
        }
        let http = HttpSettings {
            body_limit: env.parse("BODY_LIMIT_BYTES", 64 * 1024)?,
            request_timeout: env.seconds("REQUEST_TIMEOUT_SECS", 10)?,
            upload_timeout: env.seconds("UPLOAD_TIMEOUT_SECS", 600)?,
            // Leaked once per configuration read (at start) so `HttpSettings` stays `Copy`.
            cors_origins: scooter_http::middleware::parse_cors_origins(
                &env.raw("CORS_ORIGINS").unwrap_or_default(),
            )
            .map_err(|message| ConfigError {
                var: "CORS_ORIGINS",
                message,
            })?
            .leak(),
            // 0 turns the bound off.
            max_in_flight: env.parse(
                "MAX_IN_FLIGHT",
                scooter_http::in_flight::default_max_in_flight(),
            )?,
            max_queue_wait: Duration::from_millis(env.parse("MAX_QUEUE_WAIT_MS", 100)?),
        };
        let service_timeouts = ServiceTimeouts::new(
            Service::ALL
                .into_iter()
                .map(|svc| {
                    env.seconds(svc.timeout_var(), svc.default_timeout_secs())
                        .map(|d| (svc, d))
                })
                .collect::<Result<Vec<_>, _>>()?,
        );
        let limits_on = env.flag("RATE_LIMITS", true)?;
        let rate_limits = if limits_on {
            RateLimitSettings::default()
        } else {
            RateLimitSettings::off()
        };
        let request_limits = if limits_on {
            let defaults = RequestLimitSettings::default();
            RequestLimitSettings {
                per_ip: Rule::per(env.parse("RATE_LIMIT_PER_IP", defaults.per_ip.count)?, 60),
                per_user: Rule::per(
                    env.parse("RATE_LIMIT_PER_USER", defaults.per_user.count)?,
                    60,
                ),
            }
        } else {
            RequestLimitSettings::off()
        };
        let trusted_proxies = env
            .raw("TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse().map_err(|e| ConfigError {
                    var: "TRUSTED_PROXIES",
                    message: format!("{s:?}: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let log_format = match env.raw("LOG_FORMAT").as_deref() {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(v) => {
                return Err(ConfigError {
                    var: "LOG_FORMAT",
                    message: format!("{v:?} is not json or pretty"),
                });
            }
        };
        let metrics_listen = match env.raw("METRICS_LISTEN") {
            None => None,
            Some(v) => Some(
                v.parse()
                    .map_err(|e: std::net::AddrParseError| ConfigError {
                        var: "METRICS_LISTEN",
                        message: format!("{v:?}: {e}"),
                    })?,
            ),
        };
        Ok(Self {
            listen,
            metrics_listen,
            data_dir,
            auth,
            policy,
            store,
            http,
            serve: crate::server::ServeSettings {
                header_read_timeout: env.seconds("HEADER_READ_TIMEOUT_SECS", 20)?,
                max_connections: env.parse("MAX_CONNECTIONS", 0)?,
                shutdown_grace: env.seconds("SHUTDOWN_GRACE_SECS", 20)?,
            },
            service_timeouts,
            services: Service::ALL.to_vec(),
            rate_limits,
            request_limits,
            redis_url: env.raw("REDIS_URL"),
            redis_prefix: env
                .raw("REDIS_KEY_PREFIX")
                .unwrap_or_else(|| "scooterbooter".into()),
            trusted_proxies,
            log_format,
            push: push_config(env)?,
            worker: worker_settings(env)?,
            run_worker: env.flag("RUN_WORKER", true)?,
            scoop_ttl: env.seconds("SCOOP_TTL", 24 * 3600)?,
            timelines,
            media: MediaSettings {
                blobs: blob_config(env)?,
                ffmpeg_path: env.raw("FFMPEG_PATH").map(PathBuf::from),
                heif_convert_path: env.raw("HEIF_CONVERT_PATH").map(PathBuf::from),
                processing_timeout: env.seconds("VIDEO_PROCESSING_TIMEOUT_SECS", 60)?,
                upload_ttl: env.seconds("UPLOAD_URL_TTL_SECS", 15 * 60)?,
                decode_budget_mib: env.parse("IMAGE_DECODE_BUDGET_MB", 1024)?,
            },
        })
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("scooterbooter.db")
    }

    /// The folder of signing keys.
    pub fn keys_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_env(&Env(&|k| map.get(k).cloned()))
    }

    #[test]
    fn nothing_configured_gives_the_embedded_defaults() {
        let c = config(&[]).expect("defaults");
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.policy.invite_quota, 5);
        assert!(!c.policy.invite_only);
        assert!(matches!(c.store, StoreConfig::Sqlite(ref s) if s.durability == Durability::Full));
        assert!(matches!(c.store, StoreConfig::Sqlite(ref s) if s.mmap_size == 0));
        let mapped = config(&[("SQLITE_MMAP_MB", "256")]).expect("mmap");
        assert!(matches!(mapped.store, StoreConfig::Sqlite(ref s) if s.mmap_size == 256 << 20));
        assert!(
            matches!(c.store, StoreConfig::Sqlite(ref s) if s.busy_timeout == Duration::from_secs(5))
        );
        let patient = config(&[("SQLITE_BUSY_TIMEOUT_MS", "250")]).expect("busy timeout");
        assert!(
            matches!(patient.store, StoreConfig::Sqlite(ref s) if s.busy_timeout == Duration::from_millis(250))
        );
        assert!(config(&[("SQLITE_BUSY_TIMEOUT_MS", "soon")]).is_err());
        assert_eq!(
            c.http.max_in_flight,
            scooter_http::in_flight::default_max_in_flight()
        );
        let unbounded = config(&[("MAX_IN_FLIGHT", "0")]).expect("no bound");
        assert_eq!(unbounded.http.max_in_flight, 0);
        assert_eq!(c.http.max_queue_wait, Duration::from_millis(100));
        let at_once = config(&[("MAX_QUEUE_WAIT_MS", "0")]).expect("refuse at once");
        assert_eq!(at_once.http.max_queue_wait, Duration::ZERO);
    }

    #[test]
    fn a_store_that_cannot_be_used_is_refused_by_name() {
        for (vars, var) in [
            (&[("STORE", "mongodb")][..], "STORE"),
            (&[("STORE", "postgres")][..], "DATABASE_URL"),
            (
                &[("STORE", "sqlite"), ("DATABASE_URL", "postgres://x")][..],
                "DATABASE_URL",
            ),
            (&[("DATABASE_URL", "mysql://x")][..], "DATABASE_URL"),
        ] {
            let e = config(vars).expect_err("refused");
            assert_eq!(e.var, var, "{vars:?}");
        }
        assert!(matches!(
            config(&[("STORE", "SQLite")]).map(|c| c.store),
            Ok(StoreConfig::Sqlite(_))
        ));
    }

    #[cfg(not(feature = "aws"))]
    #[test]
    fn dynamodb_needs_the_aws_build() {
        let e = config(&[("STORE", "dynamodb")]).expect_err("no AWS in this build");
        assert_eq!(e.var, "STORE");
        assert!(e.message.contains("--features aws"), "{}", e.message);
    }

    #[cfg(feature = "aws")]
    #[test]
    fn dynamodb_tables_are_named_by_prefix_or_one_by_one_and_checked() {
        let c = config(&[
            ("STORE", "dynamodb"),
            ("DYNAMODB_TABLE_PREFIX", "prod-"),
            ("DYNAMODB_TABLE_JOBS", "outbox"),
            ("DYNAMODB_CREATE_TABLES", "false"),
        ])
        .expect("dynamodb");
        let StoreConfig::Dynamo(d) = &c.store else {
            panic!("not dynamodb")
        };
        assert_eq!(
            (d.tables.users.as_str(), d.tables.jobs.as_str()),
            ("prod-users", "outbox")
        );
        assert!(!d.create_tables);
        // The feed reads timelines on DynamoDB unless told otherwise.
        assert!(d.timelines.enabled && c.timelines.enabled);
        let pulled = config(&[("STORE", "dynamodb"), ("FEED", "pull")]).expect("pull");
        assert!(!pulled.timelines.enabled);
        for (var, value) in [
            ("DYNAMODB_TABLE_PREFIX", "bad prefix/"),
            ("DYNAMODB_TABLE_USERS", "u"),
            ("DYNAMODB_TABLE_SCOOPS", "x".repeat(300).leak() as &str),
        ] {
            let e = config(&[("STORE", "dynamodb"), (var, value)]).expect_err("invalid name");
            assert_eq!(e.var, var, "{value}");
        }
    }

    #[test]
    fn files_are_local_unless_a_bucket_is_named() {
        let c = config(&[]).expect("defaults");
        assert!(matches!(c.media.blobs, BlobConfig::Local));
        #[cfg(not(feature = "aws"))]
        assert!(
            config(&[("BLOB_STORE", "s3"), ("S3_BUCKET", "ok-bucket")])
                .expect_err("no S3 in this build")
                .message
                .contains("--features aws")
        );
        for (vars, var) in [
            (&[("BLOB_STORE", "ftp")][..], "BLOB_STORE"),
            (
                &[("MEDIA_BASE_URL", "https://cdn.example")][..],
                "MEDIA_BASE_URL",
            ),
            (
                &[
                    ("BLOB_STORE", "s3"),
                    ("S3_BUCKET", "b"),
                    ("MEDIA_BASE_URL", "cdn"),
                ][..],
                "MEDIA_BASE_URL",
            ),
        ] {
            let e = config(vars).expect_err("refused");
            assert_eq!(e.var, var, "{vars:?}");
        }
    }

    #[cfg(feature = "aws")]
    #[test]
    fn a_bucket_is_named_and_checked() {
        let c = config(&[
            ("BLOB_STORE", "s3"),
            ("S3_BUCKET", "rider-media"),
            ("S3_PREFIX", "prod"),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ])
        .expect("s3");
        let BlobConfig::S3(s3) = &c.media.blobs else {
            panic!("not s3")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.prefix.as_str(), s3.force_path_style),
            ("rider-media", "prod/", true)
        );
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
        for (var, value) in [
            ("S3_BUCKET", "Upper_Case"),
            ("S3_PREFIX", "/abs"),
            ("S3_PREFIX", "a/../b"),
        ] {
            let mut vars = vec![("BLOB_STORE", "s3"), ("S3_BUCKET", "ok-bucket")];
            vars.retain(|(k, _)| *k != var);
            vars.push((var, value));
            assert_eq!(config(&vars).expect_err(value).var, var);
        }
        assert_eq!(
            config(&[("BLOB_STORE", "s3")]).expect_err("no bucket").var,
            "S3_BUCKET"
        );
    }

    #[test]
    fn an_invalid_value_names_its_variable() {
        for (var, value) in [
            ("SCOOTER_LISTEN", "nowhere"),
            ("INVITE_ONLY", "perhaps"),
            ("INVITE_QUOTA", "-1"),
            ("ADMIN_EMAILS", "not-an-email"),
            ("SQLITE_SYNCHRONOUS", "off"),
            ("SQLITE_MMAP_MB", "lots"),
            ("ACCESS_TOKEN_TTL", "0"),
            ("AUTH", "magic"),
            ("TRUSTED_PROXIES", "10.0.0.300"),
            ("DATABASE_URL", "mysql://nope"),
        ] {
            let err = config(&[(var, value)])
                .err()
                .unwrap_or_else(|| panic!("{var}={value} accepted"));
            assert_eq!(err.var, var);
            assert!(err.to_string().contains(var));
        }
    }

    #[test]
    fn cors_origins_are_exact_origins_or_refused_by_name() {
        assert!(config(&[]).expect("ok").http.cors_origins.is_empty());
        let c = config(&[(
            "CORS_ORIGINS",
            "https://admin.example.com, http://localhost:8081,http://[::1]:19006",
        )])
        .expect("ok");
        assert_eq!(
            c.http.cors_origins,
            [
                "https://admin.example.com",
                "http://localhost:8081",
                "http://[::1]:19006"
            ]
        );
        for bad in [
            "*",
            "null",
            "admin.example.com",
            "https://admin.example.com/",
            "https://admin.example.com/path",
            "ftp://admin.example.com",
            "https://Admin.example.com",
            "https://admin.example.com:443",
            "http://localhost:99999",
            "https://user@admin.example.com",
            "https://*.example.com",
            "https://ok.example.com,https://bad.example.com/x",
        ] {
            let err = config(&[("CORS_ORIGINS", bad)])
                .err()
                .unwrap_or_else(|| panic!("CORS_ORIGINS={bad} accepted"));
            assert_eq!(err.var, "CORS_ORIGINS");
        }
    }

    #[test]
    fn a_postgres_url_selects_postgres_with_its_pool_settings() {
        let c = config(&[
            (
                "DATABASE_URL",
                "postgres://app@db.internal/scooter?sslmode=require",
            ),
            ("DATABASE_SCHEMA", "prod"),
            ("DB_MAX_CONNECTIONS", "32"),
        ])
        .expect("ok");
        let StoreConfig::Postgres(pg) = c.store else {
            panic!("not postgres")
        };
        assert_eq!(
            (pg.schema.as_deref(), pg.max_connections),
            (Some("prod"), 32)
        );
        let bad = config(&[
            ("DATABASE_URL", "postgres://x"),
            ("DATABASE_SCHEMA", "a;drop"),
        ]);
        assert_eq!(bad.err().map(|e| e.var), Some("DATABASE_SCHEMA"));
    }

    #[test]
    fn admin_emails_are_normalised() {
        let c = config(&[("ADMIN_EMAILS", " Boss@Example.com , ops@example.com ")]).expect("ok");
        assert_eq!(c.policy.admin_emails.len(), 2);
        assert_eq!(c.policy.admin_emails[0].as_str(), "boss@example.com");
    }

    const COGNITO: [(&str, &str); 4] = [
        ("AUTH", "cognito"),
        ("AWS_REGION", "eu-west-1"),
        ("COGNITO_USER_POOL_ID", "eu-west-1_AbC123xyZ"),
        ("COGNITO_CLIENT_ID", " app1 , app2 "),
    ];

    fn with(
        base: &[(&'static str, &'static str)],
        extra: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        // `extra` replaces the entries of `base` it names.
        let mut all: Vec<_> = base
            .iter()
            .filter(|(k, _)| !extra.iter().any(|(e, _)| e == k))
            .copied()
            .collect();
        all.extend_from_slice(extra);
        all
    }

    #[test]
    fn cognito_settings_are_read_with_their_defaults() {
        let c = config(&COGNITO).expect("cognito");
        let AuthMode::Cognito(s) = &c.auth else {
            panic!("not cognito: {:?}", c.auth)
        };
        assert_eq!(s.client_ids, vec!["app1", "app2"]);
        assert_eq!(
            s.issuer(),
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyZ"
        );
        assert_eq!(s.jwks_url, format!("{}/.well-known/jwks.json", s.issuer()));
        assert_eq!(s.endpoint, "https://cognito-idp.eu-west-1.amazonaws.com/");
        assert_eq!(s.admin_group, "admins");
        // The service-specific endpoint wins over the general one, as in the AWS SDKs.
        let c = config(&with(
            &COGNITO,
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
                (
                    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
                    "http://127.0.0.1:9229",
                ),
                ("COGNITO_JWKS_URL", "http://127.0.0.1:4566/keys"),
                ("ADMIN_GROUP", "staff"),
            ],
        ))
        .expect("overrides");
        let AuthMode::Cognito(s) = &c.auth else {
            panic!("not cognito")
        };
        assert_eq!(
            (
                s.endpoint.as_str(),
                s.jwks_url.as_str(),
                s.admin_group.as_str()
            ),
            (
                "http://127.0.0.1:9229",
                "http://127.0.0.1:4566/keys",
                "staff"
            )
        );
    }

    #[test]
    fn a_cognito_setting_that_cannot_be_used_names_its_variable() {
        let without = |var: &str| -> Vec<(&'static str, &'static str)> {
            COGNITO.iter().filter(|(k, _)| *k != var).copied().collect()
        };
        for var in ["AWS_REGION", "COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID"] {
            let e = config(&without(var)).expect_err("missing");
            assert_eq!(e.var, var);
            assert!(e.message.contains("AUTH=cognito"), "{e}");
        }
        for (var, value, named) in [
            ("COGNITO_USER_POOL_ID", "AbC123xyZ", "COGNITO_USER_POOL_ID"),
            ("COGNITO_USER_POOL_ID", "eu-west-1_", "COGNITO_USER_POOL_ID"),
            (
                "COGNITO_USER_POOL_ID",
                "eu-west-1_ab/c",
                "COGNITO_USER_POOL_ID",
            ),
            (
                "COGNITO_USER_POOL_ID",
                "us-east-1_AbC123",
                "COGNITO_USER_POOL_ID",
            ),
            ("COGNITO_CLIENT_ID", " , ,", "COGNITO_CLIENT_ID"),
            (
                "COGNITO_CLIENT_ID",
                "app1,not a client",
                "COGNITO_CLIENT_ID",
            ),
            ("AWS_REGION", "EU West", "AWS_REGION"),
            (
                "COGNITO_JWKS_URL",
                "http://keys.example.com/jwks.json",
                "COGNITO_JWKS_URL",
            ),
            ("AWS_ENDPOINT_URL", "cognito.local", "AWS_ENDPOINT_URL"),
        ] {
            let e = config(&with(&COGNITO, &[(var, value)])).expect_err("refused");
            assert_eq!(e.var, named, "{var}={value}: {e}");
        }
    }

    #[test]
    fn oidc_needs_an_https_issuer_and_an_audience() {
        let base = [
            ("AUTH", "oidc"),
            ("OIDC_ISSUER", "https://login.example.com/realms/riders"),
            ("OIDC_AUDIENCE", "scooterbooter-api"),
        ];
        let c = config(&base).expect("oidc");
        assert_eq!(
            c.auth,
            AuthMode::Oidc(OidcSettings {
                issuer: "https://login.example.com/realms/riders".into(),
                audience: "scooterbooter-api".into(),
                jwks_url: None,
            })
        );
        // Plain HTTP only to this machine (tests, a local provider).
        assert!(config(&with(&base, &[("OIDC_ISSUER", "http://127.0.0.1:8080")])).is_ok());
        assert!(config(&with(&base, &[("OIDC_ISSUER", "http://localhost:8080/x")])).is_ok());
        for (var, value) in [
            ("OIDC_ISSUER", "http://login.example.com"),
            ("OIDC_ISSUER", "login.example.com"),
            ("OIDC_JWKS_URL", "http://login.example.com/keys"),
        ] {
            let e = config(&with(&base, &[(var, value)])).expect_err("refused");
            assert_eq!(e.var, var, "{value}");
        }
        for var in ["OIDC_ISSUER", "OIDC_AUDIENCE"] {
            let vars: Vec<_> = base.iter().filter(|(k, _)| *k != var).copied().collect();
            assert_eq!(config(&vars).expect_err("missing").var, var);
        }
    }

    #[test]
    fn only_the_built_in_issuer_mints_tokens() {
        assert!(config(&[]).expect("local").auth.can_mint_tokens().is_ok());
        let e = config(&COGNITO)
            .expect("cognito")
            .auth
            .can_mint_tokens()
            .expect_err("refused");
        assert!(e.to_string().contains("AUTH=cognito"), "{e}");
        assert!(e.to_string().contains("Cognito"), "{e}");
        let oidc = config(&[
            ("AUTH", "oidc"),
            ("OIDC_ISSUER", "https://login.example.com"),
            ("OIDC_AUDIENCE", "api"),
        ])
        .expect("oidc");
        assert!(oidc.auth.can_mint_tokens().is_err());
    }
}
