//! `TestApp`: builds the app exactly as `serve` does, on a temp data folder, and makes
//! users and requests in one line each.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use scooter_store_postgres::testing::TestSchema;
use scooterbooter::config::{Config, Env, StoreConfig};
use scooterbooter::services::Service;
use serde_json::Value;
use tower::ServiceExt;

pub struct TestApp {
    pub app: scooterbooter::App,
    pub config: Config,
    // Removed when the test ends, even on panic.
    pub dir: tempfile::TempDir,
    // The PostgreSQL schema when the suite runs on PostgreSQL; dropped with the test.
    pub schema: Option<TestSchema>,
    // The table prefix when the suite runs on DynamoDB (the emulator is thrown away
    // with the run).
    pub dynamo_prefix: Option<String>,
}

/// Whether this run of the suite targets DynamoDB (`SCOOTER_TEST_BACKEND=dynamodb`,
/// the third pass of scripts/test.sh, built with `--features aws`).
pub fn on_dynamodb() -> bool {
    std::env::var("SCOOTER_TEST_BACKEND").is_ok_and(|b| b == "dynamodb")
}

/// Whether this run of the suite targets PostgreSQL (`SCOOTER_TEST_BACKEND=postgres`,
/// which scripts/test.sh sets for its second pass) instead of SQLite.
pub fn on_postgres() -> bool {
    std::env::var("SCOOTER_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The error code of an envelope.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("<no envelope>")
    }

    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.code(), code, "{:?}", self.body);
        let err = &self.body["error"];
        assert!(
            err["message"].is_string(),
            "envelope has a message: {:?}",
            self.body
        );
        assert!(
            err.get("field").is_some(),
            "envelope has a field key: {:?}",
            self.body
        );
        let rid = self
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok());
        assert_eq!(
            err["requestId"].as_str(),
            rid,
            "envelope carries the request id"
        );
    }
}

pub fn config_for(dir: &std::path::Path, vars: &[(&str, &str)]) -> Config {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let lookup = move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut config = Config::from_env(&Env(&lookup)).expect("config");
    config.data_dir = dir.to_path_buf();
    config
}

/// The service timeouts the DynamoDB pass raises (see `TestApp::config`).
const DYNAMO_TEST_TIMEOUTS: [&str; 6] = [
    "TIMEOUT_USERS_SECS",
    "TIMEOUT_SOCIAL_SECS",
    "TIMEOUT_POSTS_SECS",
    "TIMEOUT_NOTIFICATIONS_SECS",
    "TIMEOUT_MEDIA_SECS",
    "TIMEOUT_SCOOPS_SECS",
];

/// Points a DynamoDB `config` at the emulator.
#[cfg(feature = "aws")]
fn dynamo_endpoint(config: &mut Config) {
    if let StoreConfig::Dynamo(d) = &mut config.store {
        d.endpoint = Some(scooter_store_dynamodb::testing::endpoint());
    }
}

#[cfg(not(feature = "aws"))]
fn dynamo_endpoint(_config: &mut Config) {
    unreachable!("STORE=dynamodb is refused by a build without the aws feature");
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    pub async fn with_env(vars: &[(&str, &str)]) -> Self {
        Self::with_env_and_services(vars, &Service::ALL).await
    }

    /// A process mounting only `services`, like `scooterbooter serve users posts`.
    pub async fn with_env_and_services(vars: &[(&str, &str)], services: &[Service]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let schema = if on_postgres() {
            Some(TestSchema::create().await)
        } else {
            None
        };
        let dynamo_prefix =
            on_dynamodb().then(|| format!("h{}-{:08x}-", std::process::id(), fastrand::u32(..)));
        let mut config = Self::config(dir.path(), schema.as_ref(), dynamo_prefix.as_deref(), vars);
        config.services = services.to_vec();
        let app = scooterbooter::build(&config).await.expect("build app");
        Self {
            app,
            config,
            dir,
            schema,
            dynamo_prefix,
        }
    }

    fn config(
        dir: &std::path::Path,
        schema: Option<&TestSchema>,
        dynamo_prefix: Option<&str>,
        vars: &[(&str, &str)],
    ) -> Config {
        let mut config = match dynamo_prefix {
            // Through the real configuration path, so DynamoDB's defaults apply.
            Some(prefix) => {
                let mut all = vars.to_vec();
                all.extend([("STORE", "dynamodb"), ("DYNAMODB_TABLE_PREFIX", prefix)]);
                // The emulator answers one request at a time (scripts/moto_serial.py), so
                // beside a test's storm of concurrent requests another test's request
                // can wait seconds in its queue: the services' own limits (10 s for
                // users) are not what these tests are about, unless a test sets them.
                for var in DYNAMO_TEST_TIMEOUTS {
                    if !vars.iter().any(|(k, _)| *k == var) {
                        all.push((var, "120"));
                    }
                }
                let mut config = config_for(dir, &all);
                dynamo_endpoint(&mut config);
                config
            }
            None => config_for(dir, vars),
        };
        if let Some(schema) = schema {
            let mut pg = schema.settings.clone();
            // As `Config::from_env` does: the store writes timelines when the feed reads them.
            pg.timelines = config.timelines.enabled;
            config.store = StoreConfig::Postgres(pg);
        }
        config
    }

    /// The same data (folder or schema) opened again with other settings, like a restart.
    pub async fn reopen_with(self, vars: &[(&str, &str)]) -> Self {
        self.app.store.close().await;
        let config = Self::config(
            self.dir.path(),
            self.schema.as_ref(),
            self.dynamo_prefix.as_deref(),
            vars,
        );
        let app = scooterbooter::build(&config).await.expect("rebuild app");
        Self {
            app,
            config,
            dir: self.dir,
            schema: self.schema,
            dynamo_prefix: self.dynamo_prefix,
        }
    }

    /// A bearer token for a (verified, operator-made) local account.
    pub async fn token(&self, email: &str) -> String {
        let auth = self.app.ctx.local_auth.as_ref().expect("local auth");
        scooter_users::domain::accounts::operator_token(
            self.app.ctx.store.as_ref(),
            auth,
            &self.app.ctx.policy,
            email,
        )
        .await
        .expect("token")
    }

    /// A token for a new user who has chosen `handle`.
    pub async fn user_with_handle(&self, handle: &str) -> String {
        let token = self.token(&format!("{handle}@example.com")).await;
        let r = self
            .post(
                "/username",
                Some(&token),
                serde_json::json!({ "handle": handle }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        // Onboarded, as a rider who posts is: a handle and the current terms.
        let version = self.config.policy.terms_version.clone();
        let r = self
            .post(
                "/me/accept-terms",
                Some(&token),
                serde_json::json!({ "version": version }),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        token
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let res = self
            .app
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        };
        self.send(req.expect("request")).await
    }

    /// Uploads a small PNG through a signed URL and returns its key.
    pub async fn upload_png(&self, token: &str, purpose: &str) -> String {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::from_pixel(8, 8, image::Rgb([1, 2, 3]))
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        let bytes = out.into_inner();
        let (path, mut body) = if purpose == "avatar" {
            (
                "/avatar-url",
                serde_json::json!({"contentType": "image/png", "size": bytes.len()}),
            )
        } else {
            (
                "/upload-url",
                serde_json::json!({"contentType": "image/png", "size": bytes.len()}),
            )
        };
        if purpose != "avatar" {
            body["purpose"] = serde_json::json!(purpose);
        }
        let t = self.post(path, Some(token), body).await.body;
        let req = Request::put(t["uploadUrl"].as_str().unwrap())
            .header("content-type", "image/png")
            .body(Body::from(bytes))
            .unwrap();
        assert_eq!(self.send(req).await.status, 200);
        t["key"].as_str().unwrap().to_owned()
    }

    /// Runs the job worker until the outbox has nothing due.
    pub async fn drain_jobs(&self) {
        for _ in 0..20 {
            if self.app.worker.run_once().await == 0 {
                return;
            }
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::DELETE, path, token, None).await
    }
}
