//! Throttles keyed by account or client address. With `REDIS_URL` they count in Redis
//! for every instance together (fixed windows, [`crate::shared_counts`]), so N
//! instances do not give an attacker N times the log-in attempts; without Redis, and
//! while it fails, each process counts for itself (GCRA via `governor`).

use crate::error::ApiError;
use crate::shared_counts::SharedCounter;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Keys kept before stale buckets are swept.
const SWEEP_ABOVE: usize = 10_000;

/// `count` requests per `period`, with bursts up to `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Requests allowed per period; 0 turns the rule off.
    pub count: u32,
    /// The period.
    pub period: Duration,
}

impl Rule {
    /// A rule of `count` per `secs` seconds.
    pub const fn per(count: u32, secs: u64) -> Self {
        Self {
            count,
            period: Duration::from_secs(secs),
        }
    }
}

/// A keyed GCRA limiter that reports the state behind each decision.
type Inner =
    RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock, StateInformationMiddleware>;

/// Where a key stands against a rule after a request: what `RateLimit` and
/// `RateLimit-Policy` headers tell clients, so they slow down before a 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Requests the rule allows per window.
    pub quota: u32,
    /// The window, seconds.
    pub window_secs: u64,
    /// Requests left now.
    pub remaining: u32,
    /// Seconds until the full quota is available again.
    pub reset_secs: u64,
}

impl Allowance {
    /// The state of a key with `remaining` of `rule` left, refilling evenly.
    pub fn of(rule: Rule, remaining: u32) -> Self {
        let used = u64::from(rule.count.saturating_sub(remaining));
        let window_secs = rule.period.as_secs().max(1);
        Self {
            quota: rule.count,
            window_secs,
            remaining,
            reset_secs: (used * window_secs).div_ceil(u64::from(rule.count.max(1))),
        }
    }
}

/// Counts shared through Redis under a throttle's own name.
type Shared = Option<(Arc<SharedCounter>, &'static str)>;

/// Redis's verdict on one more for `key` under `rule`, counting it when `count` (a
/// request) or only looking (a check before something is made); `None` without Redis
/// or while it fails, when the caller counts in this process.
async fn shared_verdict(
    shared: &Shared,
    key: &str,
    rule: Rule,
    count: bool,
) -> Option<Result<(), ApiError>> {
    let (counter, name) = shared.as_ref()?;
    let key = format!("{name}:{key}");
    let (with_this_one, ttl_ms) = if count {
        counter.count(&key, rule.period).await.ok()?
    } else {
        let (made, ttl_ms) = counter.peek(&key).await.ok()?;
        (made.saturating_add(1), ttl_ms)
    };
    Some(if with_this_one > u64::from(rule.count) {
        Err(ApiError::rate_limited(ttl_ms.div_ceil(1000).max(1)))
    } else {
        Ok(())
    })
}

/// One keyed throttle.
pub struct KeyedLimiter {
    rule: Rule,
    // Boxed: the limiter's state is a few hundred bytes and limiters sit in enums.
    inner: Option<Box<Inner>>,
    shared: Shared,
}

impl KeyedLimiter {
    /// A throttle following `rule`.
    pub fn new(rule: Rule) -> Self {
        let inner = NonZeroU32::new(rule.count).and_then(|burst| {
            let quota = Quota::with_period(rule.period / rule.count)?.allow_burst(burst);
            Some(Box::new(
                RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            ))
        });
        Self {
            rule,
            inner,
            shared: None,
        }
    }

    /// A throttle following `rule`, counted in Redis under `name` when `counter` is
    /// given (and in this process while Redis fails).
    pub fn shared(rule: Rule, counter: Option<Arc<SharedCounter>>, name: &'static str) -> Self {
        Self {
            shared: counter.map(|c| (c, name)),
            ..Self::new(rule)
        }
    }

    /// Counts one request for `key`; 429 with `Retry-After` when over the rule.
    pub async fn check(&self, key: &str) -> Result<(), ApiError> {
        if self.rule.count == 0 {
            return Ok(());
        }
        if let Some(verdict) = shared_verdict(&self.shared, key, self.rule, true).await {
            return verdict;
        }
        self.allow(key).map(|_| ())
    }

    /// [`KeyedLimiter::check`], with where `key` stands after it (`None`: no rule).
    pub fn allow(&self, key: &str) -> Result<Option<Allowance>, ApiError> {
        let Some(limiter) = &self.inner else {
            return Ok(None);
        };
        if limiter.len() > SWEEP_ABOVE {
            limiter.retain_recent();
        }
        match limiter.check_key(&key.to_owned()) {
            Ok(state) => Ok(Some(Allowance::of(
                self.rule,
                state.remaining_burst_capacity(),
            ))),
            Err(not_until) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                Err(ApiError::rate_limited(wait.as_secs().saturating_add(1)))
            }
        }
    }
}

/// A limit on things made, not requests: a key may make `rule.count` per window, and
/// only what was actually made counts (a refused or failed attempt costs nothing).
/// Fixed windows per key, in this process.
pub struct MadeLimiter {
    rule: Rule,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    shared: Shared,
}

impl MadeLimiter {
    /// A limit following `rule` (count 0: off).
    pub fn new(rule: Rule) -> Self {
        Self {
            rule,
            windows: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// A limit following `rule`, counted in Redis under `name` when `counter` is given
    /// (and in this process while Redis fails).
    pub fn shared(rule: Rule, counter: Option<Arc<SharedCounter>>, name: &'static str) -> Self {
        Self {
            shared: counter.map(|c| (c, name)),
            ..Self::new(rule)
        }
    }

    /// 429 with `Retry-After` when `key` already made its quota in this window.
    pub async fn check(&self, key: &str) -> Result<(), ApiError> {
        if self.rule.count == 0 {
            return Ok(());
        }
        if let Some(verdict) = shared_verdict(&self.shared, key, self.rule, false).await {
            return verdict;
        }
        let now = Instant::now();
        let windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        match windows.get(key) {
            Some((start, made)) if now < *start + self.rule.period && *made >= self.rule.count => {
                let left = (*start + self.rule.period).saturating_duration_since(now);
                Err(ApiError::rate_limited(left.as_secs().saturating_add(1)))
            }
            _ => Ok(()),
        }
    }

    /// Counts one thing made by `key`.
    pub async fn record(&self, key: &str) {
        if self.rule.count == 0 {
            return;
        }
        if let Some((counter, name)) = &self.shared
            && counter
                .count(&format!("{name}:{key}"), self.rule.period)
                .await
                .is_ok()
        {
            return;
        }
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, (start, _)| now < *start + self.rule.period);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now >= entry.0 + self.rule.period {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// The throttle rules, all configurable.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    /// Accounts made per client address: only sign-ups that created an account count,
    /// and the figure allows a carrier's many phones behind one address.
    pub signup_per_ip: Rule,
    /// Sign-up attempts per client address, made or not (each costs an argon2 hash).
    pub signup_attempts_per_ip: Rule,
    /// Log-in attempts per client address.
    pub login_per_ip: Rule,
    /// Log-in attempts per account address.
    pub login_per_account: Rule,
    /// Invite redemptions per account (strict: codes must not be guessable).
    pub redeem_per_account: Rule,
    /// Follows, unfollows, blocks and unblocks per account.
    pub follow_per_account: Rule,
    /// Reports per account.
    pub report_per_account: Rule,
    /// Posts and comments per account (Mastodon: 300 per 3 hours).
    pub post_per_account: Rule,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            signup_per_ip: Rule::per(30, 60 * 60),
            signup_attempts_per_ip: Rule::per(60, 60 * 60),
            login_per_ip: Rule::per(30, 5 * 60),
            login_per_account: Rule::per(10, 15 * 60),
            redeem_per_account: Rule::per(10, 60 * 60),
            follow_per_account: Rule::per(200, 60 * 60),
            report_per_account: Rule::per(30, 60 * 60),
            post_per_account: Rule::per(300, 3 * 60 * 60),
        }
    }
}

impl RateLimitSettings {
    /// Every rule off (benchmarks, local experiments).
    pub fn off() -> Self {
        let off = Rule::per(0, 1);
        Self {
            signup_per_ip: off,
            signup_attempts_per_ip: off,
            login_per_ip: off,
            login_per_account: off,
            redeem_per_account: off,
            follow_per_account: off,
            report_per_account: off,
            post_per_account: off,
        }
    }
}

/// The throttles of the running server.
pub struct Limiters {
    /// See [`RateLimitSettings::signup_per_ip`].
    pub signup_per_ip: MadeLimiter,
    /// See [`RateLimitSettings::signup_attempts_per_ip`].
    pub signup_attempts_per_ip: KeyedLimiter,
    /// See [`RateLimitSettings::login_per_ip`].
    pub login_per_ip: KeyedLimiter,
    /// See [`RateLimitSettings::login_per_account`].
    pub login_per_account: KeyedLimiter,
    /// See [`RateLimitSettings::redeem_per_account`].
    pub redeem_per_account: KeyedLimiter,
    /// See [`RateLimitSettings::follow_per_account`].
    pub follow_per_account: KeyedLimiter,
    /// See [`RateLimitSettings::report_per_account`].
    pub report_per_account: KeyedLimiter,
    /// See [`RateLimitSettings::post_per_account`].
    pub post_per_account: KeyedLimiter,
}

impl Limiters {
    /// Throttles following `s`, each process counting for itself.
    pub fn new(s: &RateLimitSettings) -> Self {
        Self::with(s, None)
    }

    /// Throttles following `s`, counted in Redis through `shared` when given.
    pub fn with(s: &RateLimitSettings, shared: Option<Arc<SharedCounter>>) -> Self {
        let keyed = |rule, name| KeyedLimiter::shared(rule, shared.clone(), name);
        Self {
            signup_per_ip: MadeLimiter::shared(s.signup_per_ip, shared.clone(), "signup"),
            signup_attempts_per_ip: keyed(s.signup_attempts_per_ip, "signup-attempt"),
            login_per_ip: keyed(s.login_per_ip, "login-ip"),
            login_per_account: keyed(s.login_per_account, "login-account"),
            redeem_per_account: keyed(s.redeem_per_account, "redeem"),
            follow_per_account: keyed(s.follow_per_account, "follow"),
            report_per_account: keyed(s.report_per_account, "report"),
            post_per_account: keyed(s.post_per_account, "post"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_burst_over_the_rule_is_refused_with_a_wait() {
        let l = KeyedLimiter::new(Rule::per(2, 60));
        assert!(l.check("a").await.is_ok());
        assert!(l.check("a").await.is_ok());
        let err = l.check("a").await.expect_err("third is over");
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.retry_after.is_some_and(|s| s >= 1));
        assert!(l.check("b").await.is_ok(), "other keys are independent");
    }

    #[test]
    fn each_allowance_counts_down_and_says_when_the_quota_is_back() {
        let l = KeyedLimiter::new(Rule::per(3, 60));
        let left: Vec<u32> = (0..3)
            .map(|_| l.allow("a").expect("allowed").expect("a rule").remaining)
            .collect();
        assert_eq!(left, vec![2, 1, 0]);
        let a = Allowance::of(Rule::per(3, 60), 0);
        assert_eq!((a.quota, a.window_secs, a.reset_secs), (3, 60, 60));
        assert_eq!(Allowance::of(Rule::per(600, 60), 599).reset_secs, 1);
        assert_eq!(
            KeyedLimiter::new(Rule::per(0, 60)).allow("a").ok(),
            Some(None)
        );
    }

    #[tokio::test]
    async fn only_what_was_made_counts() {
        let l = MadeLimiter::new(Rule::per(2, 60));
        for _ in 0..10 {
            assert!(l.check("ip").await.is_ok(), "checks alone cost nothing");
        }
        l.record("ip").await;
        assert!(l.check("ip").await.is_ok());
        l.record("ip").await;
        let err = l.check("ip").await.expect_err("two made");
        assert!(err.retry_after.is_some_and(|s| (1..=61).contains(&s)));
        assert!(l.check("other").await.is_ok());
        let off = MadeLimiter::new(Rule::per(0, 60));
        off.record("ip").await;
        assert!(off.check("ip").await.is_ok());
    }

    #[tokio::test]
    async fn a_zero_rule_is_off() {
        let l = KeyedLimiter::new(Rule::per(0, 60));
        for _ in 0..100 {
            assert!(l.check("a").await.is_ok());
        }
    }
}
