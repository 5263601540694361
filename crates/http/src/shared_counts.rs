//! Counts kept in one Redis for every instance (`REDIS_URL`): the request limits of
//! [`crate::request_limit`] and the per-action throttles of [`crate::rate_limit`]
//! (log-ins, sign-ups, follows…), so N instances allow a limit once, not N times.
//!
//! Redis must never take the API down: every call has a deadline of tens of
//! milliseconds, and a call that fails or times out is reported to the caller, which
//! then counts in its own process (per instance, as without Redis). The outage is
//! logged once when it starts and once when it ends, and `/readyz` says `degraded`.
//! The connection is made in the background, so start-up never waits for Redis, and
//! remade with short, bounded back-off.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use redis::RedisError;

/// How long a call to Redis may take before the caller counts locally instead. A count
/// is one round trip to a server beside the service: a millisecond or two.
pub const REDIS_DEADLINE: Duration = Duration::from_millis(50);

/// How long one attempt to connect to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The pause between attempts to make the first connection.
const FIRST_CONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Increments the key, starting its window on the first count; returns the count and
/// the milliseconds left in the window.
const COUNT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// Reads the key's count and the milliseconds left in its window, without counting.
const PEEK_SCRIPT: &str = r"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
return {n, ttl}
";

/// Where the shared counts stand, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedState {
    /// Counts are shared through Redis.
    Shared,
    /// Redis is failing (or not connected yet): counts are per process.
    Degraded,
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
                "Redis unavailable: limits are counted per process until it is back"
            );
        }
    }

    /// A call worked: logged when it ends an outage.
    fn answered(&self) {
        // A load first: the common case stays a read of a shared line.
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
            tracing::info!(
                failures = self.failures.load(Ordering::Relaxed),
                "Redis is back: limits are shared again"
            );
        }
    }
}

/// Counts in one Redis, shared by every instance.
pub struct SharedCounter {
    /// Set by the background task once the first connection is made; the manager
    /// reconnects by itself after that.
    redis: Arc<OnceLock<ConnectionManager>>,
    prefix: String,
    count: redis::Script,
    peek: redis::Script,
    outage: Arc<Outage>,
}

impl SharedCounter {
    /// Counts in the Redis at `url`, under keys starting with `prefix`. Only a URL that
    /// cannot be parsed is an error: the connection is made in the background (it needs
    /// a Tokio runtime).
    pub fn connect(url: &str, prefix: &str) -> Result<Arc<Self>, RedisError> {
        let client = redis::Client::open(url)?;
        let redis = Arc::new(OnceLock::new());
        let outage = Arc::new(Outage::default());
        tokio::spawn(connect(client, redis.clone(), outage.clone()));
        Ok(Arc::new(Self {
            redis,
            prefix: prefix.to_owned(),
            count: redis::Script::new(COUNT_SCRIPT),
            peek: redis::Script::new(PEEK_SCRIPT),
            outage,
        }))
    }

    /// Counts one for `key` in a window of `window` started by its first count; returns
    /// the count and the milliseconds left. `Err` when Redis could not answer within
    /// the deadline (the outage is recorded): the caller counts locally.
    pub async fn count(&self, key: &str, window: Duration) -> Result<(u64, u64), String> {
        let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        self.run(&self.count, key, Some(window_ms)).await
    }

    /// The count of `key` and the milliseconds left in its window, without counting.
    pub async fn peek(&self, key: &str) -> Result<(u64, u64), String> {
        self.run(&self.peek, key, None).await
    }

    async fn run(
        &self,
        script: &redis::Script,
        key: &str,
        arg: Option<u64>,
    ) -> Result<(u64, u64), String> {
        let outcome = async {
            let Some(conn) = self.redis.get() else {
                return Err("not connected yet".to_owned());
            };
            let mut conn = conn.clone();
            let mut invocation = script.key(format!("{}:{key}", self.prefix));
            if let Some(arg) = arg {
                invocation.arg(arg);
            }
            let call = invocation.invoke_async::<(u64, i64)>(&mut conn);
            match tokio::time::timeout(REDIS_DEADLINE, call).await {
                Ok(Ok((n, ttl))) => Ok((n, u64::try_from(ttl.max(0)).unwrap_or(0))),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {REDIS_DEADLINE:?}")),
            }
        }
        .await;
        match &outcome {
            Ok(_) => self.outage.answered(),
            Err(why) => self.outage.failed(why),
        }
        outcome
    }

    /// Whether the counts are shared now, asking Redis (a `PING` within the deadline).
    /// `/readyz` calls it, so an outage's end is noticed even when no request counts.
    pub async fn probe(&self) -> SharedState {
        let Some(conn) = self.redis.get() else {
            return SharedState::Degraded;
        };
        let mut conn = conn.clone();
        let cmd = redis::cmd("PING");
        let ping = cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(REDIS_DEADLINE, ping).await {
            Ok(Ok(_)) => {
                self.outage.answered();
                SharedState::Shared
            }
            Ok(Err(e)) => {
                self.outage.failed(&e);
                SharedState::Degraded
            }
            Err(_) => {
                self.outage
                    .failed(&format!("no answer within {REDIS_DEADLINE:?}"));
                SharedState::Degraded
            }
        }
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
        .set_connection_timeout(CONNECT_TIMEOUT)
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
                tracing::info!("connected to Redis: limits are shared");
                return;
            }
            Err(e) => {
                outage.failed(&e);
                tokio::time::sleep(FIRST_CONNECT_PAUSE).await;
            }
        }
    }
}
