//! What each route costs in DynamoDB capacity units, the DynamoDB bill: a small world
//! (a reader following 20 riders with 5 posts each), then each route once, measured by
//! the units the store counted (computed from item sizes, crates/store-dynamodb
//! capacity.rs). Each figure must stay within its budget, so a change that reads a
//! partition per followed author again, or writes twice, fails here. Set
//! `CAPACITY_REPORT=<file>` to write the table (bench/RESULTS.md keeps the last one).
//! On the SQL backends the store reports no capacity, and this checks that it does not.

use crate::helpers::{TestApp, on_dynamodb};
use axum::http::Method;
use serde_json::{Value, json};

/// `(method, route, read units, write units)` budgets: about twice what was measured
/// when they were set, so noise in item sizes never trips them, a regression does.
const BUDGETS: &[(&str, &str, f64, f64)] = &[
    ("GET", "/me", 2.0, 0.0),
    ("PATCH", "/me", 2.0, 4.0),
    ("GET", "/u/{handle}", 14.0, 0.0),
    ("POST", "/follow", 38.0, 60.0),
    ("POST", "/unfollow", 22.0, 16.0),
    ("POST", "/posts", 9.0, 24.0),
    (
        "GET",
        "/feed (first read: builds the timeline)",
        116.0,
        210.0,
    ),
    ("GET", "/feed", 87.0, 0.0),
    ("GET", "/posts/{id}", 17.0, 0.0),
    ("POST", "/comments/{postId}", 26.0, 46.0),
    ("GET", "/comments/{postId}", 22.0, 0.0),
    ("PUT", "/reactions/{postId}/{type}", 32.0, 46.0),
    ("GET", "/u/{handle}/posts", 18.0, 0.0),
    ("GET", "/u/{handle}/followers", 19.0, 0.0),
    ("GET", "/search", 48.0, 0.0),
    ("GET", "/notifications", 11.0, 0.0),
    ("GET", "/notifications/unread-count", 11.0, 0.0),
    ("POST", "/notifications/read-all", 3.0, 12.0),
    ("GET", "/scoops/feed", 35.0, 0.0),
];

fn budget(method: &str, route: &str) -> (f64, f64) {
    BUDGETS
        .iter()
        .find(|(m, r, _, _)| *m == method && *r == route)
        .map(|(_, _, r, w)| (*r, *w))
        .unwrap_or_else(|| panic!("no budget for {method} {route}"))
}

struct Meter<'a> {
    app: &'a TestApp,
    rows: Vec<(String, String, f64, f64)>,
}

impl Meter<'_> {
    fn units(&self) -> (f64, f64) {
        self.app
            .app
            .store
            .consumed_capacity()
            .expect("DynamoDB counts capacity")
    }

    async fn measure(
        &mut self,
        method: Method,
        route: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Value {
        let before = self.units();
        let r = self
            .app
            .request(method.clone(), path, Some(token), body)
            .await;
        assert!(r.status.is_success(), "{method} {path}: {:?}", r.body);
        let after = self.units();
        self.rows.push((
            method.to_string(),
            route.to_owned(),
            after.0 - before.0,
            after.1 - before.1,
        ));
        r.body
    }
}

#[tokio::test]
async fn each_route_stays_within_its_capacity_budget() {
    let app = TestApp::new().await;
    if !on_dynamodb() {
        assert!(app.app.store.consumed_capacity().is_none());
        return;
    }
    let reader = app.user_with_handle("reader").await;
    let mut riders = Vec::new();
    for i in 0..20 {
        let t = app.user_with_handle(&format!("rider{i:02}")).await;
        for p in 0..5 {
            let r = app
                .post(
                    "/posts",
                    Some(&t),
                    json!({"text": format!("ride {p} of {i}")}),
                )
                .await;
            assert_eq!(r.status, 201, "{:?}", r.body);
        }
        let r = app
            .post(
                "/follow",
                Some(&reader),
                json!({"handle": format!("rider{i:02}")}),
            )
            .await;
        assert!(r.status.is_success(), "{:?}", r.body);
        riders.push(t);
    }
    let key = app.upload_png(&riders[0], "scoop").await;
    let r = app
        .post("/scoops", Some(&riders[0]), json!({"mediaKey": key}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let newcomer = app.user_with_handle("newcomer").await;
    app.drain_jobs().await;

    let mut m = Meter {
        app: &app,
        rows: Vec::new(),
    };
    m.measure(Method::GET, "/me", "/me", &reader, None).await;
    m.measure(
        Method::PATCH,
        "/me",
        "/me",
        &reader,
        Some(json!({"bio": "daily rider"})),
    )
    .await;
    m.measure(Method::GET, "/u/{handle}", "/u/rider00", &reader, None)
        .await;
    m.measure(
        Method::POST,
        "/follow",
        "/follow",
        &newcomer,
        Some(json!({"handle": "rider00"})),
    )
    .await;
    m.measure(
        Method::POST,
        "/unfollow",
        "/unfollow",
        &newcomer,
        Some(json!({"handle": "rider00"})),
    )
    .await;
    let post = m
        .measure(
            Method::POST,
            "/posts",
            "/posts",
            &riders[1],
            Some(json!({"text": "new"})),
        )
        .await;
    let post_id = post["id"].as_str().expect("post id").to_owned();
    app.drain_jobs().await;
    m.measure(
        Method::GET,
        "/feed (first read: builds the timeline)",
        "/feed",
        &reader,
        None,
    )
    .await;
    let feed = m
        .measure(Method::GET, "/feed", "/feed", &reader, None)
        .await;
    assert_eq!(
        feed["items"].as_array().map(Vec::len),
        Some(20),
        "a full page"
    );
    m.measure(
        Method::GET,
        "/posts/{id}",
        &format!("/posts/{post_id}"),
        &reader,
        None,
    )
    .await;
    m.measure(
        Method::POST,
        "/comments/{postId}",
        &format!("/comments/{post_id}"),
        &reader,
        Some(json!({"text": "nice"})),
    )
    .await;
    m.measure(
        Method::GET,
        "/comments/{postId}",
        &format!("/comments/{post_id}"),
        &reader,
        None,
    )
    .await;
    m.measure(
        Method::PUT,
        "/reactions/{postId}/{type}",
        &format!("/reactions/{post_id}/like"),
        &reader,
        None,
    )
    .await;
    m.measure(
        Method::GET,
        "/u/{handle}/posts",
        "/u/rider01/posts",
        &reader,
        None,
    )
    .await;
    m.measure(
        Method::GET,
        "/u/{handle}/followers",
        "/u/rider01/followers",
        &reader,
        None,
    )
    .await;
    m.measure(Method::GET, "/search", "/search?q=rider", &reader, None)
        .await;
    m.measure(
        Method::GET,
        "/notifications",
        "/notifications",
        &riders[1],
        None,
    )
    .await;
    m.measure(
        Method::GET,
        "/notifications/unread-count",
        "/notifications/unread-count",
        &riders[1],
        None,
    )
    .await;
    m.measure(
        Method::POST,
        "/notifications/read-all",
        "/notifications/read-all",
        &riders[1],
        Some(json!({})),
    )
    .await;
    m.measure(Method::GET, "/scoops/feed", "/scoops/feed", &reader, None)
        .await;

    let mut table = String::from("| route | read units | write units |\n|---|---:|---:|\n");
    for (method, route, read, write) in &m.rows {
        table.push_str(&format!("| {method} {route} | {read} | {write} |\n"));
    }
    println!("{table}");
    if let Ok(path) = std::env::var("CAPACITY_REPORT") {
        std::fs::write(&path, &table).expect("write the capacity report");
    }
    for (method, route, read, write) in &m.rows {
        let (max_read, max_write) = budget(method, route);
        assert!(
            *read <= max_read && *write <= max_write,
            "{method} {route}: {read} RCU / {write} WCU, budget {max_read} / {max_write}\n{table}"
        );
    }
}
