//! Limits on the rate of all requests to the services, per client address and per
//! account (the account of a valid bearer token), in front of every service route; the
//! per-action throttles of [`crate::rate_limit`] still apply on top.
//!
//! Every answer on a limited route carries where the caller stands, as the IETF draft
//! "RateLimit header fields for HTTP" (draft-ietf-httpapi-ratelimit-headers) writes it:
//! `RateLimit-Policy: "ip";q=1200;w=60, "user";q=600;w=60` and, for the limit closest
//! to running out, `RateLimit: "user";r=598;t=1`, so an app can slow down before a 429.
//!
//! With `REDIS_URL`, every instance counts in the same Redis
//! ([`crate::shared_counts`]), so N instances behind a proxy allow the limit once, not
//! N times; each count is a fixed window started by the key's first request. Without
//! Redis, and while it fails, each process keeps its own buckets.

use crate::AppContext;
use crate::client_ip::client_ip;
use crate::error::ApiError;
use crate::identity::check_bearer;
use crate::rate_limit::{Allowance, KeyedLimiter, Rule};
use crate::shared_counts::{SharedCounter, SharedState};
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub use crate::shared_counts::RedisError;

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
    shared: Option<Arc<SharedCounter>>,
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

    /// Counts in Redis through `shared` (every instance together), or in this process
    /// when `None` and while Redis fails.
    pub fn new(settings: RequestLimitSettings, shared: Option<Arc<SharedCounter>>) -> Self {
        Self {
            shared,
            ..Self::local(settings)
        }
    }

    /// Whether the counts are shared now (asking Redis); `None` without Redis.
    pub async fn probe(&self) -> Option<SharedState> {
        match &self.shared {
            Some(s) => Some(s.probe().await),
            None => None,
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
        if let Some(shared) = &self.shared
            && let Ok((n, ttl_ms)) = shared
                .count(&format!("{}:{key}", scope.name()), rule.period)
                .await
        {
            let reset_secs = ttl_ms.div_ceil(1000);
            if n > u64::from(rule.count) {
                return Err(ApiError::rate_limited(reset_secs));
            }
            // A fixed window: the whole quota is back when the window ends.
            let remaining = u32::try_from(u64::from(rule.count) - n).unwrap_or(0);
            return Ok(Some(Allowance {
                reset_secs,
                ..Allowance::of(rule, remaining)
            }));
        }
        // No Redis, or Redis failing (the counter recorded why): this process counts.
        match scope {
            Scope::Address => self.local.ip.allow(key),
            Scope::Account => self.local.user.allow(key),
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
