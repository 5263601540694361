//! End to end: the real binary on a free port with a temp data folder, spoken to over
//! HTTP exactly as the README's curl walk-through does; then graceful shutdown with a
//! request in flight, and a kill -9 right after a 2xx.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use scooter_store_postgres::testing::TestSchema;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_scooterbooter");

/// Where the server under test keeps its data besides the data folder: nothing on
/// SQLite; a throw-away schema when the suite runs on PostgreSQL; tables of its own
/// on the emulator when it runs on DynamoDB.
struct Backend {
    schema: Option<TestSchema>,
    dynamo_prefix: Option<String>,
}

impl Backend {
    fn new() -> Self {
        let pg = std::env::var("SCOOTER_TEST_BACKEND").is_ok_and(|b| b == "postgres");
        let schema = pg.then(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(TestSchema::create())
        });
        let dynamo = std::env::var("SCOOTER_TEST_BACKEND").is_ok_and(|b| b == "dynamodb");
        let dynamo_prefix =
            dynamo.then(|| format!("e{}-{:08x}-", std::process::id(), fastrand::u32(..)));
        Self {
            schema,
            dynamo_prefix,
        }
    }

    /// Environment for a `scooterbooter` process using this backend.
    fn apply(&self, cmd: &mut Command) {
        cmd.env_remove("DATABASE_URL").env_remove("DATABASE_SCHEMA");
        if let Some(prefix) = &self.dynamo_prefix {
            let endpoint = std::env::var("DYNAMODB_TEST_ENDPOINT")
                .unwrap_or_else(|_| "http://127.0.0.1:4566".into());
            cmd.env("STORE", "dynamodb")
                .env("DYNAMODB_TABLE_PREFIX", prefix)
                .env("AWS_ENDPOINT_URL", endpoint);
            // The emulator answers one request at a time; beside other tests' storms
            // a request can wait in its queue longer than the services' own limits.
            for service in [
                "USERS",
                "SOCIAL",
                "POSTS",
                "NOTIFICATIONS",
                "MEDIA",
                "SCOOPS",
            ] {
                cmd.env(format!("TIMEOUT_{service}_SECS"), "120");
            }
        }
        if let Some(s) = &self.schema {
            cmd.env("DATABASE_URL", &s.settings.url);
            cmd.env(
                "DATABASE_SCHEMA",
                s.settings.schema.as_deref().unwrap_or_default(),
            );
        }
    }
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(data: &Path, backend: &Backend) -> Self {
        Self::start_services(data, backend, &[], &[])
    }

    /// `scooterbooter serve SERVICE…`: only those services (all when empty).
    fn start_services(
        data: &Path,
        backend: &Backend,
        services: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        // Ask the OS for a free port, release it, and hand it to the server.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .args(services)
            .args(["--listen", &addr.to_string(), "--data"])
            .arg(data)
            .env_remove("SCOOTER_LISTEN")
            .env_remove("SCOOTER_DATA_DIR")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        backend.apply(&mut cmd);
        cmd.envs(env.iter().copied());
        let child = cmd.spawn().unwrap();
        let server = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(addr).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not start on {addr}");
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Signs up and returns the access token.
    fn signup(&self, email: &str) -> String {
        let body = json!({"email": email, "password": "correct horse battery"});
        let (status, session) = self.call("POST", "/auth/signup", None, Some(body));
        assert_eq!(status, 201, "{session}");
        session["accessToken"].as_str().unwrap().to_owned()
    }

    /// One request with `Connection: close`; returns status and JSON body.
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut stream = TcpStream::connect(self.addr).unwrap();
        stream
            .write_all(request_head(method, path, token, body.as_ref()).as_bytes())
            .unwrap();
        if let Some(b) = &body {
            stream.write_all(b.to_string().as_bytes()).unwrap();
        }
        read_response(&mut stream)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn request_head(method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    if let Some(b) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.to_string().len()
        ));
    }
    head.push_str("\r\n");
    head
}

fn read_response(stream: &mut TcpStream) -> (u16, Value) {
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn the_readme_walkthrough_works_over_http() {
    let data = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    let server = Server::start(data.path(), &backend);

    let token = server.signup("rider@example.com");

    let (status, me) = server.call("GET", "/me", Some(&token), None);
    assert_eq!(status, 200);
    assert_eq!(me["onboarding"]["needsHandle"], true);

    let (status, me) = server.call(
        "POST",
        "/username",
        Some(&token),
        Some(json!({"handle": "scooter_sam"})),
    );
    assert_eq!((status, me["handle"].as_str()), (200, Some("scooter_sam")));

    let (status, me) = server.call(
        "POST",
        "/me/accept-terms",
        Some(&token),
        Some(json!({"version": "1"})),
    );
    assert_eq!(
        (status, me["onboarding"]["needsTerms"].as_bool()),
        (200, Some(false))
    );

    let (status, found) = server.call("GET", "/search?q=scoot", Some(&token), None);
    assert_eq!(status, 200);
    assert_eq!(found["items"][0]["handle"], "scooter_sam");

    // The operator's token command, against the same data folder, while serving.
    let mut cmd = Command::new(BIN);
    cmd.args(["token", "--email", "ops@example.com", "--data"])
        .arg(data.path());
    backend.apply(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let op_token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let (status, me) = server.call("GET", "/me", Some(&op_token), None);
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some("ops@example.com"))
    );
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_then_exits_cleanly() {
    let data = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    let mut server = Server::start(data.path(), &backend);
    let body = json!({"email": "late@example.com", "password": "correct horse battery"});
    let text = body.to_string();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    // Send the head and half the body, so the request is in flight when SIGTERM lands.
    stream
        .write_all(request_head("POST", "/auth/signup", None, Some(&body)).as_bytes())
        .unwrap();
    stream
        .write_all(&text.as_bytes()[..text.len() / 2])
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.signal("-TERM");
    std::thread::sleep(Duration::from_millis(200));
    stream
        .write_all(&text.as_bytes()[text.len() / 2..])
        .unwrap();
    let (status, session) = read_response(&mut stream);
    assert_eq!(status, 201, "{session}");
    let exit = server.child.wait().unwrap();
    assert!(exit.success(), "clean exit after draining: {exit:?}");
    // New connections are refused once it has stopped.
    assert!(TcpStream::connect(server.addr).is_err());
}

#[test]
fn a_client_stalled_mid_headers_cannot_keep_sigterm_from_finishing() {
    let data = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    // The header timeout is long, so only the shutdown grace can end the wait.
    let mut server = Server::start_services(
        data.path(),
        &backend,
        &[],
        &[
            ("HEADER_READ_TIMEOUT_SECS", "120"),
            ("SHUTDOWN_GRACE_SECS", "2"),
        ],
    );
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    server.signal("-TERM");
    let deadline = asked + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 30 s after SIGTERM with a stalled client"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        exit.success(),
        "a clean exit after the grace period: {exit:?}"
    );
    drop(stalled);
}

#[test]
fn a_write_acknowledged_before_kill_9_survives_the_restart() {
    let data = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    let server = Server::start(data.path(), &backend);
    let token = server.signup("durable@example.com");
    let (status, _) = server.call(
        "POST",
        "/username",
        Some(&token),
        Some(json!({"handle": "durable"})),
    );
    assert_eq!(status, 200);
    server.signal("-KILL");
    drop(server);
    let server = Server::start(data.path(), &backend);
    let (status, me) = server.call("GET", "/me", Some(&token), None);
    assert_eq!((status, me["handle"].as_str()), (200, Some("durable")));
}

#[test]
fn migrate_runs_on_an_empty_folder_and_again_safely() {
    let data = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    for _ in 0..2 {
        let mut cmd = Command::new(BIN);
        cmd.args(["migrate", "--data"]).arg(data.path());
        backend.apply(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if backend.schema.is_none() && backend.dynamo_prefix.is_none() {
        assert!(data.path().join("scooterbooter.db").exists());
    }
}

#[test]
fn an_invalid_setting_names_its_variable_and_exits_non_zero() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["migrate", "--data"])
        .arg(data.path())
        .env("INVITE_QUOTA", "lots")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("INVITE_QUOTA"));
}

#[test]
fn two_server_processes_on_one_database_behave_as_one() {
    let data = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    let a = Server::start(data.path(), &backend);
    let b = Server::start(data.path(), &backend);
    let token = a.signup("shared@example.com");
    let (status, _) = b.call(
        "POST",
        "/username",
        Some(&token),
        Some(json!({"handle": "shared"})),
    );
    assert_eq!(status, 200);
    let (status, me) = a.call("GET", "/me", Some(&token), None);
    assert_eq!((status, me["handle"].as_str()), (200, Some("shared")));
    // A handle taken through one process is taken for the other.
    let other = b.signup("other@example.com");
    let (status, err) = a.call(
        "POST",
        "/username",
        Some(&other),
        Some(json!({"handle": "SHARED"})),
    );
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("handle_taken"))
    );
}

#[test]
fn service_processes_share_one_store_and_verify_tokens_themselves() {
    let data = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    let users = Server::start_services(data.path(), &backend, &["users"], &[]);
    let posts = Server::start_services(data.path(), &backend, &["posts", "social"], &[]);
    let token = users.signup("split@example.com");
    let (status, _) = users.call(
        "POST",
        "/username",
        Some(&token),
        Some(json!({"handle": "split_rider"})),
    );
    assert_eq!(status, 200);
    users.call(
        "POST",
        "/me/accept-terms",
        Some(&token),
        Some(json!({"version": "1"})),
    );
    // The posts process checks the token issued by the users process on its own.
    let (status, post) = posts.call(
        "POST",
        "/posts",
        Some(&token),
        Some(json!({"text": "two processes"})),
    );
    assert_eq!(status, 201, "{post}");
    let (status, feed) = posts.call("GET", "/feed", Some(&token), None);
    assert_eq!(status, 200);
    assert_eq!(feed["items"][0]["id"], post["id"]);
    let (status, profile) = posts.call("GET", "/u/split_rider", Some(&token), None);
    assert_eq!((status, profile["postsCount"].clone()), (200, json!(1)));
    // Each process answers only its own routes.
    let (status, body) = users.call("GET", "/feed", Some(&token), None);
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("not_found"))
    );
    let (status, _) = posts.call("GET", "/me", Some(&token), None);
    assert_eq!(status, 404);
    let forged = format!("{token}x");
    let (status, _) = posts.call("GET", "/feed", Some(&forged), None);
    assert_eq!(status, 401, "each process verifies signatures itself");
}

/// `GET path` on `addr`, the raw body (the metrics are text, not JSON).
fn get_text(addr: SocketAddr, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    stream.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn metrics_are_served_on_their_own_listener_by_route_template() {
    let data = tempfile::tempdir().unwrap();
    let backend = Backend::new();
    let metrics = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let server = Server::start_services(
        data.path(),
        &backend,
        &[],
        &[("METRICS_LISTEN", &metrics.to_string())],
    );
    assert_eq!(server.call("GET", "/healthz", None, None).0, 200);
    let post = "/posts/0199d6a4-5b7e-7c3a-9f1e-2d4b6a8c0e12";
    assert_eq!(server.call("GET", post, None, None).0, 401);
    // Never on the public listener.
    assert_eq!(server.call("GET", "/metrics", None, None).0, 404);
    // A client cannot make labels of its own: paths no route matches count as one.
    let probe = "/wp-admin/0199d6a4-attacker-chosen";
    assert_eq!(server.call("GET", probe, None, None).0, 404);

    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        match get_text(metrics, "/metrics") {
            Some(t) if t.contains("http_requests_total") => break t,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            other => panic!("no metrics on {metrics}: {other:?}"),
        }
    };
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let line = |name: &str, labels: &[&str]| {
        text.lines()
            .find(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
            .map(str::to_owned)
    };
    let healthz = line(
        "http_requests_total{",
        &[r#"method="GET""#, r#"route="/healthz""#, r#"status="2xx""#],
    );
    assert!(
        healthz.as_deref().is_some_and(|l| l.ends_with(" 1")),
        "{text}"
    );
    // The route's template, never the raw id.
    assert!(
        line(
            "http_requests_total{",
            &[r#"route="/posts/{id}""#, r#"status="4xx""#]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        !text.contains("0199d6a4-5b7e"),
        "a raw id in a label: {text}"
    );
    assert!(
        !text.contains("attacker-chosen"),
        "a raw path in a label: {text}"
    );
    assert!(
        line("http_requests_total{", &[r#"route="unmatched""#]).is_some(),
        "{text}"
    );
    assert!(
        line(
            "http_request_duration_seconds_bucket{",
            &[r#"route="/healthz""#]
        )
        .is_some(),
        "{text}"
    );
    assert!(text.contains("scooterbooter_build_info"), "{text}");
}
