//! The rate limit on all requests: per account and per address, 429 with
//! `Retry-After` in the envelope; with `REDIS_URL`, counted across instances.

use crate::helpers::TestApp;

#[tokio::test]
async fn an_account_over_its_limit_gets_429_with_retry_after_and_others_do_not() {
    let t = TestApp::with_env(&[("RATE_LIMIT_PER_USER", "3")]).await;
    // Minted without HTTP requests, so every request below counts.
    let ann = t.token("busy_ann@example.com").await;
    let bob = t.token("calm_bob@example.com").await;
    // Each answer says how much is left, before the limit bites.
    for left in [2, 1, 0] {
        let r = t.get("/me", Some(&ann)).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.headers["ratelimit-policy"],
            "\"ip\";q=1200;w=60, \"user\";q=3;w=60"
        );
        let state = r.headers["ratelimit"].to_str().unwrap().to_owned();
        assert!(
            state.starts_with(&format!("\"user\";r={left};t=")),
            "{state}"
        );
    }
    let over = t.get("/me", Some(&ann)).await;
    over.assert_error(429, "rate_limited");
    let state = over.headers["ratelimit"].to_str().unwrap().to_owned();
    assert!(state.starts_with("\"user\";r=0;t="), "{state}");
    let wait: u64 = over.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    assert_eq!(t.get("/me", Some(&bob)).await.status, 200);
    // Health checks are not service routes and are never limited.
    assert_eq!(t.get("/healthz", None).await.status, 200);
}

#[tokio::test]
async fn an_address_over_its_limit_gets_429_even_without_a_token() {
    let t = TestApp::with_env(&[("RATE_LIMIT_PER_IP", "2")]).await;
    for _ in 0..2 {
        assert_eq!(t.get("/feed", None).await.status, 401);
    }
    t.get("/feed", None).await.assert_error(429, "rate_limited");
}

#[tokio::test]
async fn limits_are_off_with_rate_limits_false() {
    let t = TestApp::with_env(&[("RATE_LIMITS", "false"), ("RATE_LIMIT_PER_IP", "1")]).await;
    assert!(
        t.get("/feed", None)
            .await
            .headers
            .get("ratelimit")
            .is_none(),
        "no limits, no headers"
    );
    for _ in 0..5 {
        assert_eq!(t.get("/feed", None).await.status, 401);
    }
}

/// Two instances with one `REDIS_URL` share the count: the limit holds across them.
#[tokio::test]
async fn instances_sharing_redis_share_the_limit() {
    let Some(url) = test_redis_url() else {
        return;
    };
    let prefix = format!("test-{}", scooter_core::ids::new_id());
    let vars = [
        ("REDIS_URL", url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_PER_IP", "3"),
    ];
    let one = TestApp::with_env(&vars).await;
    let two = TestApp::with_env(&vars).await;
    // The connection is made in the background: until then each counts for itself.
    redis_state(&one, "ok").await;
    redis_state(&two, "ok").await;
    assert_eq!(one.get("/feed", None).await.status, 401);
    assert_eq!(one.get("/feed", None).await.status, 401);
    assert_eq!(two.get("/feed", None).await.status, 401);
    let over = two.get("/feed", None).await;
    over.assert_error(429, "rate_limited");
    assert!(over.headers.contains_key("retry-after"));
    one.get("/feed", None)
        .await
        .assert_error(429, "rate_limited");
}

async fn get_with(t: &TestApp, path: &str, headers: &[(&str, &str)]) -> crate::helpers::Resp {
    let mut b = axum::http::Request::get(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    t.send(b.body(axum::body::Body::empty()).unwrap()).await
}

#[tokio::test]
async fn spelling_the_scheme_differently_does_not_escape_the_account_limit() {
    let t = TestApp::with_env(&[("RATE_LIMIT_PER_USER", "2")]).await;
    let ann = t.token("sly_ann@example.com").await;
    // The identity extractor accepts any case of "Bearer"; the limit must count them all.
    for scheme in ["Bearer", "bearer"] {
        let r = get_with(&t, "/me", &[("authorization", &format!("{scheme} {ann}"))]).await;
        assert_eq!(r.status, 200);
    }
    let r = get_with(&t, "/me", &[("authorization", &format!("BEARER {ann}"))]).await;
    r.assert_error(429, "rate_limited");
}

#[tokio::test]
async fn a_forged_forwarded_for_does_not_escape_the_address_limit() {
    // The peer is not a trusted proxy, so X-Forwarded-For is the client's own words.
    let t = TestApp::with_env(&[("RATE_LIMIT_PER_IP", "2")]).await;
    for fake in ["203.0.113.1", "203.0.113.2"] {
        let r = get_with(&t, "/feed", &[("x-forwarded-for", fake)]).await;
        assert_eq!(r.status, 401);
    }
    let r = get_with(&t, "/feed", &[("x-forwarded-for", "203.0.113.3")]).await;
    r.assert_error(429, "rate_limited");
}

/// Waits (up to 10 s) until `/readyz` reports Redis as `want`.
async fn redis_state(t: &TestApp, want: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = t.get("/readyz", None).await;
        assert_eq!(r.status, 200, "ready whatever Redis does: {:?}", r.body);
        if r.body["redis"] == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "redis never became {want}: {:?}",
            r.body
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A Redis of the test's own, which it can pause (SIGSTOP: a hung server) and stop.
struct OwnRedis {
    child: std::process::Child,
    url: String,
}

impl OwnRedis {
    fn start() -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self {
                    child,
                    url: format!("redis://127.0.0.1:{port}"),
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    fn signal(&self, sig: &str) {
        let status = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request must never wait on Redis: a hung or stopped Redis costs a request its
/// short deadline at most, and the limits fall back to this process's own counts.
async fn answers_promptly(t: &TestApp) -> crate::helpers::Resp {
    tokio::time::timeout(std::time::Duration::from_secs(3), t.get("/feed", None))
        .await
        .expect("answered without waiting on Redis")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_or_stopped_redis_never_takes_the_api_down() {
    let Some(redis) = OwnRedis::start() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI has redis-server (scripts/test.sh installs it)"
        );
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let prefix = format!("test-{}", scooter_core::ids::new_id());
    let vars = [
        ("REDIS_URL", redis.url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
        ("RATE_LIMIT_PER_IP", "4"),
    ];
    let t = TestApp::with_env(&vars).await;
    redis_state(&t, "ok").await;
    assert_eq!(answers_promptly(&t).await.status, 401);
    // Hung: every call times out; requests answer, counted by this process alone
    // (which has not counted any yet), and readiness says so.
    redis.signal("-STOP");
    for _ in 0..4 {
        assert_eq!(answers_promptly(&t).await.status, 401);
    }
    answers_promptly(&t).await.assert_error(429, "rate_limited");
    redis_state(&t, "degraded").await;
    // Back: shared again (the shared count had 1 of 4 for this address).
    redis.signal("-CONT");
    redis_state(&t, "ok").await;
    drop(redis);
    // Gone for good: the same.
    let r = answers_promptly(&t).await;
    assert!(r.status == 401 || r.status == 429, "{:?}", r.body);
    redis_state(&t, "degraded").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_starts_and_answers_while_redis_is_down() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://127.0.0.1:{port}");
    let t = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        TestApp::with_env(&[("REDIS_URL", url.as_str())]),
    )
    .await
    .expect("start-up does not wait for Redis");
    assert_eq!(answers_promptly(&t).await.status, 401);
    redis_state(&t, "degraded").await;
}

/// The per-action throttles count across instances too: ten wrong passwords in total,
/// not ten per instance.
#[tokio::test]
async fn log_in_attempts_are_counted_across_instances_sharing_redis() {
    let Some(url) = test_redis_url() else {
        return;
    };
    let prefix = format!("test-{}", scooter_core::ids::new_id());
    let vars = [
        ("REDIS_URL", url.as_str()),
        ("REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let one = TestApp::with_env(&vars).await;
    let two = TestApp::with_env(&vars).await;
    redis_state(&one, "ok").await;
    redis_state(&two, "ok").await;
    let wrong = serde_json::json!({"email": "victim@example.com", "password": "not-the-password"});
    for i in 0..10 {
        let t = if i % 2 == 0 { &one } else { &two };
        let r = t.post("/auth/login", None, wrong.clone()).await;
        assert_eq!(r.status, 401, "attempt {i}: {:?}", r.body);
    }
    for t in [&one, &two] {
        t.post("/auth/login", None, wrong.clone())
            .await
            .assert_error(429, "rate_limited");
    }
}

/// The suite's shared Redis (`SCOOTER_TEST_REDIS_URL`, which scripts/test.sh sets and CI
/// must have); `None`, said once, when a developer runs without one.
fn test_redis_url() -> Option<String> {
    let url = std::env::var("SCOOTER_TEST_REDIS_URL").ok();
    if url.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must provide SCOOTER_TEST_REDIS_URL (scripts/test.sh does)"
        );
        eprintln!("skipped: SCOOTER_TEST_REDIS_URL is not set");
    }
    url
}
