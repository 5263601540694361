//! Throttles keyed by account or client address (GCRA via `governor`). Buckets are
//! per process; the microservice shape adds a shared Redis limiter later.

use crate::error::ApiError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::num::NonZeroU32;
use std::time::Duration;

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

/// One keyed throttle.
pub struct KeyedLimiter {
    inner: Option<DefaultKeyedRateLimiter<String>>,
}

impl KeyedLimiter {
    /// A throttle following `rule`.
    pub fn new(rule: Rule) -> Self {
        let inner = NonZeroU32::new(rule.count).and_then(|burst| {
            let quota = Quota::with_period(rule.period / rule.count)?.allow_burst(burst);
            Some(DefaultKeyedRateLimiter::keyed(quota))
        });
        Self { inner }
    }

    /// Counts one request for `key`; 429 with `Retry-After` when over the rule.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        if limiter.len() > SWEEP_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(wait.as_secs().saturating_add(1))
        })
    }
}

/// The throttle rules, all configurable.
#[derive(Debug, Clone, Copy)]
pub struct RateLimitSettings {
    /// Sign-ups per client address (Mastodon: 5 per 30 minutes).
    pub signup_per_ip: Rule,
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
            signup_per_ip: Rule::per(5, 30 * 60),
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
    pub signup_per_ip: KeyedLimiter,
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
    /// Throttles following `s`.
    pub fn new(s: &RateLimitSettings) -> Self {
        Self {
            signup_per_ip: KeyedLimiter::new(s.signup_per_ip),
            login_per_ip: KeyedLimiter::new(s.login_per_ip),
            login_per_account: KeyedLimiter::new(s.login_per_account),
            redeem_per_account: KeyedLimiter::new(s.redeem_per_account),
            follow_per_account: KeyedLimiter::new(s.follow_per_account),
            report_per_account: KeyedLimiter::new(s.report_per_account),
            post_per_account: KeyedLimiter::new(s.post_per_account),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_over_the_rule_is_refused_with_a_wait() {
        let l = KeyedLimiter::new(Rule::per(2, 60));
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        let err = l.check("a").expect_err("third is over");
        assert_eq!(err.status.as_u16(), 429);
        assert!(err.retry_after.is_some_and(|s| s >= 1));
        assert!(l.check("b").is_ok(), "other keys are independent");
    }

    #[test]
    fn a_zero_rule_is_off() {
        let l = KeyedLimiter::new(Rule::per(0, 60));
        assert!((0..100).all(|_| l.check("a").is_ok()));
    }
}
