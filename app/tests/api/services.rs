//! One process, some services (`scooterbooter serve users posts`): only their routes
//! are mounted and documented, each verifies tokens itself, and each service has its
//! own time budget.

use crate::helpers::{TestApp, config_for};
use scooterbooter::services::Service;
use std::time::Duration;

#[tokio::test]
async fn a_process_serves_and_documents_only_its_services() {
    let t = TestApp::with_env_and_services(&[], &[Service::Users]).await;
    let token = t.token("only-users@example.com").await;
    assert_eq!(t.get("/me", Some(&token)).await.status, 200);
    // A route of another service sent to this process is a 404 in the envelope.
    let feed = t.get("/feed", Some(&token)).await;
    feed.assert_error(404, "not_found");
    assert_eq!(feed.body["error"]["message"], "no such route");
    let doc = t.get("/openapi.json", None).await.body;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.contains_key("/me"));
    assert!(paths.contains_key("/healthz"));
    assert!(!paths.contains_key("/feed"));
    assert!(!paths.contains_key("/scoops/feed"));
    // It checks tokens itself: a forged one is refused here as everywhere.
    let forged = format!("{token}x");
    t.get("/me", Some(&forged))
        .await
        .assert_error(401, "invalid_token");
}

#[tokio::test]
async fn two_services_in_one_process_answer_their_own_routes() {
    let t = TestApp::with_env_and_services(&[], &[Service::Posts, Service::Users]).await;
    let token = t.user_with_handle("two_services").await;
    assert_eq!(t.get("/feed", Some(&token)).await.status, 200);
    assert_eq!(t.get("/me", Some(&token)).await.status, 200);
    t.get("/notifications", Some(&token))
        .await
        .assert_error(404, "not_found");
}

#[test]
fn service_timeouts_default_to_the_originals_and_can_be_set() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), &[]);
    let secs = |s| config.service_timeouts.of(s).as_secs();
    assert_eq!(
        Service::ALL.map(secs),
        [10, 15, 10, 60, 10, 30],
        "users, posts, social, media, notifications, scoops as in the seed's table"
    );
    let config = config_for(dir.path(), &[("TIMEOUT_POSTS_SECS", "3")]);
    assert_eq!(
        config.service_timeouts.of(Service::Posts),
        Duration::from_secs(3)
    );
    assert_eq!(
        config.service_timeouts.of(Service::Users),
        Duration::from_secs(10)
    );
}

#[test]
fn a_zero_service_timeout_names_its_variable() {
    let vars = |k: &str| (k == "TIMEOUT_MEDIA_SECS").then(|| "0".to_owned());
    let err =
        scooterbooter::config::Config::from_env(&scooterbooter::config::Env(&vars)).unwrap_err();
    assert!(err.to_string().contains("TIMEOUT_MEDIA_SECS"), "{err}");
}
