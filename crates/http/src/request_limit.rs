//! Limits on the rate of all requests to the services, per client address and per
//! account (the account of a valid bearer token), in front of every service route; the
//! per-action throttles of [`crate::rate_limit`] still apply on top.
//!
//! Every answer on a limited route carries where the caller stands, as the IETF draft
//! "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers) writes it:
//! `RateLimit-Policy: "ip";q=1200;w=60, "user";q=600;w=60` and, for the limit closest
//! to running out, `RateLimit: "user";r=598;t=1`, so an app can slow down before a 429.
//!
//! With `REDIS_URL`, every instance counts in the same Redis, so N instances behind a
//! proxy allow the limit once, not N times; each count is a fixed window started by
//! the key's first request, kept atomic by a small Lua script. Without Redis each
//! process keeps its own buckets.
//!
//! Redis must never take the API down: the limit protects the service. Every call has
//! a deadline of tens of milliseconds; on an error or a timeout the request is counted
//! by this process's own buckets instead (per instance, as without Redis), the outage
//! is logged once and counted, and `/readyz` says `degraded`. The connection is made
//! in the background (start-up never waits for Redis) and remade with short, bounded
//! back-off.

use crate::AppContext;
use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::identity::check_bearer;
use crate::rate_limit::{Allowance, KeyedLimiter, Rule};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use redis::RedisError;

/// How long a count in Redis may take before the request is counted locally instead.
/// A count is one round trip to a server beside the service: a millisecond or two.
const REDIS_DEADLINE: Duration = Duration::from_millis(50);

/// How long one attempt to connect to Redis may take.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The pause between attempts to make the first connection.
const REDIS_FIRST_CONNECT_PAUSE: Duration = Duration::from_secs(1);

/// The two limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimitSettings {
    /// Requests per client address (`RATE_LIMIT_PER_IP`, per minute).
    pub per_ip: Rule,
    /// Requests per account (`RATE_LIMIT_PER_USER`, per minute).
    pub per_user: Rule,
}

impl Default for RequestLimitSettings {
    fn default() -> Self {
        Self {
            per_ip: Rule::per(1200, 60),
            per_user: Rule::per(600, 60),
        }
    }
}

impl RequestLimitSettings {
    /// No limits (`RATE_LIMITS=false`).
    pub fn off() -> Self {
        Self {
            per_ip: Rule::per(0, 60),
            per_user: Rule::per(0, 60),
        }
    }
}

/// Counts in one Redis shared by every instance.
struct SharedCounts {
    /// Set by the background task once the first connection is made; the manager
    /// reconnects by itself after that.
    redis: Arc<OnceLock<ConnectionManager>>,
    prefix: String,
    script: redis::Script,
    outage: Arc<Outage>,
}

/// Whether Redis is failing now, and how often it failed since start.
#[derive(Debug, Default)]
struct Outage {
    down: AtomicBool,
    failures: AtomicU64,
}

impl Outage {
    /// A call failed or timed out: counted, and logged when it starts an outage.
    fn failed(&self, why: &dyn std::fmt::Display) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                %why,
                "Redis unavailable: request limits are counted per process until it is back"
            );
        }
    }

    /// A call worked: logged when it ends an outage.
    fn answered(&self) {
        // A load first: the common case stays a read of a shared line.
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(
                failures = self.failures.load(Ordering::Relaxed),
                "Redis is back: request limits are shared again"
            );
        }
    }
}

/// Where the shared counts stand, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedState {
    /// Counts are shared through Redis.
    Shared,
    /// Redis is failing (or not connected yet): counts are per process.
    Degraded,
}

/// Increments the key, starting its window on the first request; returns the count and
/// the milliseconds left in the window.
const COUNT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// What a count is kept per.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Address,
    Account,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Self::Address => "ip",
            Self::Account => "user",
        }
    }
}

/// This process's buckets: the counts without Redis, and while Redis is failing.
struct LocalCounts {
    ip: KeyedLimiter,
    user: KeyedLimiter,
}

/// The request limits of a running server.
pub struct RequestLimiter {
    settings: RequestLimitSettings,
    local: LocalCounts,
    shared: Option<Box<SharedCounts>>,
    policies: Policies,
}

/// The `RateLimit-Policy` values, fixed by the settings: made once, not per request.
struct Policies {
    ip: HeaderValue,
    user: HeaderValue,
    both: HeaderValue,
}

impl Policies {
    fn new(s: &RequestLimitSettings) -> Self {
        let item = |name: &str, rule: Rule| {
            format!(
                "\"{name}\";q={};w={}",
                rule.count,
                rule.period.as_secs().max(1)
            )
        };
        let (ip, user) = (
            item(Scope::Address.name(), s.per_ip),
            item(Scope::Account.name(), s.per_user),
        );
        let value =
            |v: String| HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""));
        Self {
            both: value(format!("{ip}, {user}")),
            ip: value(ip),
            user: value(user),
        }
    }

    /// The policy of the limits that counted a request.
    fn of(&self, ip: bool, user: bool) -> Option<&HeaderValue> {
        match (ip, user) {
            (true, true) => Some(&self.both),
            (true, false) => Some(&self.ip),
            (false, true) => Some(&self.user),
            (false, false) => None,
        }
    }
}

impl RequestLimiter {
    /// Buckets in this process.
    pub fn local(settings: RequestLimitSettings) -> Self {
        Self {
            settings,
            local: LocalCounts {
                ip: KeyedLimiter::new(settings.per_ip),
                user: KeyedLimiter::new(settings.per_user),
            },
            shared: None,
            policies: Policies::new(&settings),
        }
    }

    /// Counts in the Redis at `url`, under keys starting with `prefix`. Only a URL that
    /// cannot be parsed is an error: the connection is made in the background, and
    /// until it is (or whenever Redis fails) requests are counted in this process.
    pub async fn shared(
        settings: RequestLimitSettings,
        url: &str,
        prefix: &str,
    ) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let redis = Arc::new(OnceLock::new());
        let outage = Arc::new(Outage::default());
        tokio::spawn(connect(client, redis.clone(), outage.clone()));
        Ok(Self {
            shared: Some(Box::new(SharedCounts {
                redis,
                prefix: prefix.to_owned(),
                script: redis::Script::new(COUNT_SCRIPT),
                outage,
            })),
            ..Self::local(settings)
        })
    }

    /// Whether the counts are shared now, asking Redis (a `PING` within the deadline);
    /// `None` without Redis. `/readyz` calls it, so an outage's end is noticed even
    /// when no limited request comes.
    pub async fn probe(&self) -> Option<SharedState> {
        let shared = self.shared.as_ref()?;
        let Some(conn) = shared.redis.get() else {
            return Some(SharedState::Degraded);
        };
        let mut conn = conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(REDIS_DEADLINE, ping).await {
            Ok(Ok(_)) => {
                shared.outage.answered();
                Some(SharedState::Shared)
            }
            Ok(Err(e)) => {
                shared.outage.failed(&e);
                Some(SharedState::Degraded)
            }
            Err(_) => {
                shared
                    .outage
                    .failed(&format!("no answer within {REDIS_DEADLINE:?}"));
                Some(SharedState::Degraded)
            }
        }
    }

    async fn check(&self, scope: Scope, key: &str) -> Result<Option<Allowance>, ApiError> {
        let rule = match scope {
            Scope::Address => self.settings.per_ip,
            Scope::Account => self.settings.per_user,
        };
        if rule.count == 0 {
            return Ok(None);
        }
        if let Some(shared) = &self.shared {
            match shared.count(scope, key, rule).await {
                Ok(decided) => return decided,
                Err(why) => shared.outage.failed(&why),
            }
        }
        match scope {
            Scope::Address => self.local.ip.allow(key),
            Scope::Account => self.local.user.allow(key),
        }
    }
}

impl SharedCounts {
    /// Counts one request in Redis within the deadline; `Err` when Redis could not
    /// decide (the caller counts locally).
    async fn count(
        &self,
        scope: Scope,
        key: &str,
        rule: Rule,
    ) -> Result<Result<Option<Allowance>, ApiError>, String> {
        let Some(conn) = self.redis.get() else {
            return Err("not connected yet".into());
        };
        let window_ms = u64::try_from(rule.period.as_millis()).unwrap_or(u64::MAX);
        let mut conn = conn.clone();
        let mut invocation = self
            .script
            .key(format!("{}:{}:{key}", self.prefix, scope.name()));
        invocation.arg(window_ms);
        let call = invocation.invoke_async::<(u64, i64)>(&mut conn);
        let (n, ttl_ms) = match tokio::time::timeout(REDIS_DEADLINE, call).await {
            Ok(Ok(counted)) => counted,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err(format!("no answer within {REDIS_DEADLINE:?}")),
        };
        self.outage.answered();
        let reset_secs = u64::try_from(ttl_ms.max(0)).unwrap_or(0).div_ceil(1000);
        if n > u64::from(rule.count) {
            return Ok(Err(ApiError::rate_limited(reset_secs)));
        }
        // A fixed window: the whole quota is back when the window ends.
        let remaining = u32::try_from(u64::from(rule.count) - n).unwrap_or(0);
        Ok(Ok(Some(Allowance {
            reset_secs,
            ..Allowance::of(rule, remaining)
        })))
    }
}

/// Makes the first connection in the background, trying again every second until it
/// works; the manager then reconnects by itself, with short bounded back-off, and a
/// slow or dead Redis only costs each call its deadline.
async fn connect(
    client: redis::Client,
    slot: Arc<OnceLock<ConnectionManager>>,
    outage: Arc<Outage>,
) {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(REDIS_CONNECT_TIMEOUT)
        .set_response_timeout(REDIS_DEADLINE)
        // Reconnect attempts: 10 ms × 2^n with jitter, at most 3, none over 500 ms.
        .set_factor(10)
        .set_exponent_base(2)
        .set_number_of_retries(3)
        .set_max_delay(500);
    loop {
        match ConnectionManager::new_with_config(client.clone(), config.clone()).await {
            Ok(manager) => {
                let _ = slot.set(manager);
                outage.answered();
                tracing::info!("connected to Redis: request limits are shared");
                return;
            }
            Err(e) => {
                outage.failed(&e);
                tokio::time::sleep(REDIS_FIRST_CONNECT_PAUSE).await;
            }
        }
    }
}

/// The middleware: 429 with `Retry-After`, in the envelope, once an address or an
/// account is over its limit; `RateLimit` headers on every answer.
pub async fn limit_requests(State(ctx): State<AppContext>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let limiter = &ctx.request_limiter;
    let settings = limiter.settings;
    let ip = client_ip(&parts, &ctx.trusted_proxies).to_string();
    let by_ip = match limiter.check(Scope::Address, &ip).await {
        Ok(a) => a,
        Err(e) => {
            let a = exhausted(&e, settings.per_ip);
            return limiter.with_headers(e.into_response(), Some(a), None);
        }
    };
    let mut by_user = None;
    if settings.per_user.count > 0 {
        // The same parsing and the same verification as the identity extractor, done
        // once: the outcome stays in the request for it. A missing or invalid token is
        // left for the extractor to refuse.
        if let Ok(Ok(verified)) = check_bearer(&mut parts, &ctx).await {
            let user = verified.user_id.to_string();
            match limiter.check(Scope::Account, &user).await {
                Ok(a) => by_user = a,
                Err(e) => {
                    let a = exhausted(&e, settings.per_user);
                    return limiter.with_headers(e.into_response(), by_ip, Some(a));
                }
            }
        }
    }
    let response = next.run(Request::from_parts(parts, body)).await;
    limiter.with_headers(response, by_ip, by_user)
}

/// A limit that just refused: nothing left until the `Retry-After`.
fn exhausted(e: &ApiError, rule: Rule) -> Allowance {
    Allowance {
        reset_secs: e.retry_after.unwrap_or(rule.period.as_secs()),
        ..Allowance::of(rule, 0)
    }
}

impl RequestLimiter {
    /// Adds `RateLimit-Policy` (every limit that counted this request) and `RateLimit`
    /// (the one with the least left).
    fn with_headers(
        &self,
        mut response: Response,
        by_ip: Option<Allowance>,
        by_user: Option<Allowance>,
    ) -> Response {
        let tightest = match (by_ip, by_user) {
            (Some(i), Some(u)) if u.remaining <= i.remaining => (Scope::Account, u),
            (Some(i), _) => (Scope::Address, i),
            (None, Some(u)) => (Scope::Account, u),
            (None, None) => return response,
        };
        let Some(policy) = self.policies.of(by_ip.is_some(), by_user.is_some()) else {
            return response;
        };
        let (scope, now) = tightest;
        let state = format!(
            "\"{}\";r={};t={}",
            scope.name(),
            now.remaining,
            now.reset_secs
        );
        if let Ok(state) = HeaderValue::from_str(&state) {
            let headers = response.headers_mut();
            headers.insert("ratelimit-policy", policy.clone());
            headers.insert("ratelimit", state);
        }
        response
    }
}
