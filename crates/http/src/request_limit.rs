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
//! process keeps its own buckets. If Redis stops answering, requests are let through
//! (and a warning logged): the limit protects the service, it must not take it down.

use crate::AppContext;
use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::identity::check_bearer;
use crate::rate_limit::{Allowance, KeyedLimiter, Rule};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use redis::aio::ConnectionManager;

pub use redis::RedisError;

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
    redis: ConnectionManager,
    prefix: String,
    script: redis::Script,
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

enum Counts {
    Local {
        ip: KeyedLimiter,
        user: KeyedLimiter,
    },
    Shared(Box<SharedCounts>),
}

/// The request limits of a running server.
pub struct RequestLimiter {
    settings: RequestLimitSettings,
    counts: Counts,
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
            counts: Counts::Local {
                ip: KeyedLimiter::new(settings.per_ip),
                user: KeyedLimiter::new(settings.per_user),
            },
            policies: Policies::new(&settings),
        }
    }

    /// Counts in the Redis at `url`, under keys starting with `prefix`.
    pub async fn shared(
        settings: RequestLimitSettings,
        url: &str,
        prefix: &str,
    ) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let redis = ConnectionManager::new(client).await?;
        Ok(Self {
            settings,
            policies: Policies::new(&settings),
            counts: Counts::Shared(Box::new(SharedCounts {
                redis,
                prefix: prefix.to_owned(),
                script: redis::Script::new(COUNT_SCRIPT),
            })),
        })
    }

    async fn check(&self, scope: Scope, key: &str) -> Result<Option<Allowance>, ApiError> {
        let rule = match scope {
            Scope::Address => self.settings.per_ip,
            Scope::Account => self.settings.per_user,
        };
        match &self.counts {
            Counts::Local { ip, user } => match scope {
                Scope::Address => ip.allow(key),
                Scope::Account => user.allow(key),
            },
            Counts::Shared(shared) => {
                if rule.count == 0 {
                    return Ok(None);
                }
                let window_ms = u64::try_from(rule.period.as_millis()).unwrap_or(u64::MAX);
                let mut conn = shared.redis.clone();
                let counted: Result<(u64, i64), _> = shared
                    .script
                    .key(format!("{}:{}:{key}", shared.prefix, scope.name()))
                    .arg(window_ms)
                    .invoke_async(&mut conn)
                    .await;
                match counted {
                    Ok((n, ttl_ms)) if n <= u64::from(rule.count) => {
                        // A fixed window: the whole quota is back when the window ends.
                        let remaining = u32::try_from(u64::from(rule.count) - n).unwrap_or(0);
                        Ok(Some(Allowance {
                            reset_secs: u64::try_from(ttl_ms.max(0)).unwrap_or(0).div_ceil(1000),
                            ..Allowance::of(rule, remaining)
                        }))
                    }
                    Ok((_, ttl_ms)) => {
                        let secs = u64::try_from(ttl_ms.max(0)).unwrap_or(0).div_ceil(1000);
                        Err(ApiError::rate_limited(secs))
                    }
                    Err(why) => {
                        tracing::warn!(%why, "rate-limit counts unavailable: request let through");
                        Ok(None)
                    }
                }
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
