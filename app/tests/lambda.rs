//! The Lambda shape end to end: the real binary, started as the Lambda runtime starts
//! `bootstrap` (no arguments, `AWS_LAMBDA_RUNTIME_API` set), against a stand-in Runtime
//! API that hands it the committed API Gateway events of `deploy/aws/events/` one by
//! one and collects its answers.
#![cfg(feature = "aws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

const BIN: &str = env!("CARGO_BIN_EXE_scooterbooter");

/// What the function answered to one invocation.
#[derive(Debug)]
enum Answer {
    Response(Value),
    Error(Value),
}

/// A stand-in for the Lambda Runtime API: `next` hands out queued events (waiting
/// while there is none), `response` and `error` report back.
#[derive(Clone)]
struct Runtime {
    queue: Arc<Mutex<VecDeque<(String, Value)>>>,
    ready: Arc<Notify>,
    answers: mpsc::UnboundedSender<(String, Answer)>,
}

async fn next(State(rt): State<Runtime>) -> impl IntoResponse {
    loop {
        let waiting = rt.ready.notified();
        let popped = rt.queue.lock().unwrap().pop_front();
        if let Some((id, event)) = popped {
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 600_000;
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
            headers.insert(
                "lambda-runtime-deadline-ms",
                deadline.to_string().parse().unwrap(),
            );
            headers.insert(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:users"
                    .parse()
                    .unwrap(),
            );
            headers.insert("lambda-runtime-trace-id", "Root=1-test".parse().unwrap());
            return (headers, axum::Json(event));
        }
        waiting.await;
    }
}

async fn respond(
    State(rt): State<Runtime>,
    Path((id, what)): Path<(String, String)>,
    body: String,
) -> StatusCode {
    let value: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    let answer = if what == "response" {
        Answer::Response(value)
    } else {
        Answer::Error(value)
    };
    let _ = rt.answers.send((id, answer));
    StatusCode::ACCEPTED
}

async fn init_error(State(rt): State<Runtime>, body: String) -> StatusCode {
    let _ = rt
        .answers
        .send(("init".into(), Answer::Error(Value::String(body))));
    StatusCode::ACCEPTED
}

struct Function {
    child: Child,
    runtime: Runtime,
    answers: mpsc::UnboundedReceiver<(String, Answer)>,
    seq: u32,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Function {
    /// Starts the binary as a Lambda function with `env`, against a fresh stand-in.
    async fn start(data: &std::path::Path, env: &[(&str, &str)]) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let runtime = Runtime {
            queue: Arc::default(),
            ready: Arc::default(),
            answers: tx,
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/{what}", post(respond))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(runtime.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let mut cmd = Command::new(BIN);
        cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "scooterbooter-users")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/scooterbooter-users",
            )
            .env("SCOOTER_DATA_DIR", data)
            .env("RUST_LOG", "warn")
            .env_remove("DATABASE_URL")
            .env_remove("STORE")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self {
            child: cmd.spawn().expect("start the binary"),
            runtime,
            answers: rx,
            seq: 0,
        }
    }

    /// Invokes the function with `event` and waits for its answer.
    async fn invoke(&mut self, event: Value) -> Answer {
        self.seq += 1;
        let id = format!("invocation-{}", self.seq);
        self.runtime
            .queue
            .lock()
            .unwrap()
            .push_back((id.clone(), event));
        self.runtime.ready.notify_waiters();
        let (got, answer) = tokio::time::timeout(Duration::from_secs(60), self.answers.recv())
            .await
            .expect("the function answers within a minute")
            .expect("answer");
        assert_eq!(got, id, "answers come for the invocation asked: {answer:?}");
        answer
    }

    /// Invokes with a committed API Gateway event, the token put in its header.
    async fn request(&mut self, file: &str, token: &str) -> (u16, Value, Value) {
        let path = format!("{}/../deploy/aws/events/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect(file);
        let event: Value = serde_json::from_str(&text.replace("{{token}}", token)).unwrap();
        match self.invoke(event).await {
            Answer::Response(r) => {
                let status = u16::try_from(r["statusCode"].as_u64().unwrap()).unwrap();
                let body = r["body"].as_str().unwrap_or_default();
                let body = serde_json::from_str(body).unwrap_or(Value::Null);
                (status, r["headers"].clone(), body)
            }
            Answer::Error(e) => panic!("{file}: the function reported an error: {e}"),
        }
    }
}

/// A token for a local account, minted with the data folder the function will use.
fn token(data: &std::path::Path, email: &str) -> String {
    let out = Command::new(BIN)
        .args(["token", "--email", email])
        .env("SCOOTER_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("STORE")
        .output()
        .expect("token");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_mode_answers_api_gateway_events_for_its_services_only() {
    let dir = tempfile::tempdir().unwrap();
    let ann = token(dir.path(), "ann@example.com");
    let started = Instant::now();
    let mut f = Function::start(dir.path(), &[("SCOOTER_SERVICES", "users,posts")]).await;
    let (status, _, body) = f.request("apigw-get-healthz.json", "").await;
    eprintln!(
        "spawn to first answered invocation (debug build): {:?}",
        started.elapsed()
    );
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("ok")),
        "{body}"
    );
    let (status, headers, me) = f.request("apigw-get-me.json", &ann).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "ann@example.com");
    assert!(headers["x-request-id"].is_string(), "{headers}");
    // JSON bodies, as text and base64-encoded.
    let (status, _, body) = f.request("apigw-post-username-json.json", &ann).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = f.request("apigw-post-accept-terms-base64.json", &ann).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, post) = f.request("apigw-post-posts.json", &ann).await;
    assert_eq!(status, 201, "{post}");
    assert_eq!(post["author"]["handle"], "ann_lambda");
    // A query string.
    let (status, _, found) = f.request("apigw-get-search-query.json", &ann).await;
    assert_eq!(status, 200, "{found}");
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["handle"] == "ann_lambda"),
        "{found}"
    );
    // Another service's route: 404 in the envelope, as `serve users posts` answers.
    let (status, _, body) = f.request("apigw-get-other-service.json", &ann).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    // A forged token is refused here too, whatever the gateway in front checked.
    let (status, _, body) = f.request("apigw-get-me.json", &format!("{ann}x")).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_function_answers_stream_batches_and_schedules() {
    let dir = tempfile::tempdir().unwrap();
    token(dir.path(), "ann@example.com");
    let mut f = Function::start(dir.path(), &[("SCOOTER_LAMBDA", "worker")]).await;
    let path = format!(
        "{}/../deploy/aws/events/dynamodb-stream-jobs.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let batch: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    match f.invoke(batch).await {
        Answer::Response(r) => assert_eq!(r, serde_json::json!({"batchItemFailures": []})),
        Answer::Error(e) => panic!("{e}"),
    }
    let path = format!(
        "{}/../deploy/aws/events/schedule.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let tick: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    for (event, ran) in [
        // The stream batch's invocation ran everything due: nothing is left for the
        // minute's sweep.
        (tick, 0),
        // The hourly schedule queues the next hour's clean-up, due then, not now.
        (serde_json::json!({"task": "maintenance"}), 0),
    ] {
        match f.invoke(event).await {
            Answer::Response(r) => assert_eq!(r, serde_json::json!({ "ran": ran })),
            Answer::Error(e) => panic!("{e}"),
        }
    }
}
