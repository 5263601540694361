//! The verifier from the attacker's side: every forged, stale or misdirected token is
//! a 401 in the envelope, and a deleted account's token stops working at once.

use crate::helpers::TestApp;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use scooter_auth::SigningKey;
use serde_json::{Value, json};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Valid claims for the app's issuer, as a starting point to break.
fn claims(sub: &str) -> Value {
    json!({
        "sub": sub, "iss": "scooterbooter-local", "exp": now() + 600, "iat": now(),
        "jti": "t", "token_use": "access", "client_id": "scooterbooter-app",
        "email": format!("{sub}@example.com"), "email_verified": false,
    })
}

fn sign(key: &SigningKey, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key.kid().to_owned());
    jsonwebtoken::encode(&header, claims, key.encoding_key()).unwrap()
}

fn app_key(app: &TestApp) -> SigningKey {
    SigningKey::load_or_create(&app.config.keys_dir()).unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> (u16, String) {
    let r = app.get("/me", Some(token)).await;
    (r.status.as_u16(), r.code().to_owned())
}

#[tokio::test]
async fn a_well_formed_token_from_our_key_is_accepted() {
    let app = TestApp::new().await;
    let token = sign(&app_key(&app), &claims("rider-1"));
    assert_eq!(me_status(&app, &token).await.0, 200);
}

#[tokio::test]
async fn no_token_or_another_scheme_is_refused() {
    let app = TestApp::new().await;
    app.get("/me", None)
        .await
        .assert_error(401, "missing_token");
    let r = app
        .send(
            axum::http::Request::get("/me")
                .header("authorization", "Basic dXNlcjpwYXNz")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    r.assert_error(401, "missing_token");
}

#[tokio::test]
async fn a_token_in_the_query_string_is_ignored() {
    let app = TestApp::new().await;
    let token = app.token("q@example.com").await;
    app.get(&format!("/me?access_token={token}"), None)
        .await
        .assert_error(401, "missing_token");
}

#[tokio::test]
async fn expiry_is_enforced_with_a_30_second_leeway_at_both_edges() {
    let app = TestApp::new().await;
    let key = app_key(&app);
    let mut inside = claims("edge-in");
    inside["exp"] = json!(now() - 20);
    assert_eq!(me_status(&app, &sign(&key, &inside)).await.0, 200);
    let mut outside = claims("edge-out");
    outside["exp"] = json!(now() - 40);
    assert_eq!(
        me_status(&app, &sign(&key, &outside)).await,
        (401, "token_expired".into())
    );
}

#[tokio::test]
async fn not_before_is_enforced_with_the_same_leeway() {
    let app = TestApp::new().await;
    let key = app_key(&app);
    let mut soon = claims("nbf-in");
    soon["nbf"] = json!(now() + 20);
    assert_eq!(me_status(&app, &sign(&key, &soon)).await.0, 200);
    let mut later = claims("nbf-out");
    later["nbf"] = json!(now() + 40);
    assert_eq!(
        me_status(&app, &sign(&key, &later)).await,
        (401, "invalid_token".into())
    );
}

#[tokio::test]
async fn another_algorithm_in_the_header_is_refused_before_any_key_is_used() {
    let app = TestApp::new().await;
    let kid = app_key(&app).kid().to_owned();
    for alg in ["RS256", "RS384", "ES384", "EdDSA", "PS256"] {
        let header =
            URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT", "kid": kid}).to_string());
        let body = URL_SAFE_NO_PAD.encode(claims("alg").to_string());
        let token = format!("{header}.{body}.{}", URL_SAFE_NO_PAD.encode([7u8; 64]));
        assert_eq!(
            me_status(&app, &token).await,
            (401, "invalid_token".into()),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_refused_even_with_our_kid() {
    let app = TestApp::new().await;
    let ours = app_key(&app);
    let theirs = SigningKey::generate().unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(ours.kid().to_owned());
    let forged = jsonwebtoken::encode(&header, &claims("mallory"), theirs.encoding_key()).unwrap();
    assert_eq!(
        me_status(&app, &forged).await,
        (401, "invalid_token".into())
    );
    // And with its own kid, the key is simply unknown.
    assert_eq!(
        me_status(&app, &sign(&theirs, &claims("mallory"))).await,
        (401, "invalid_token".into())
    );
}

#[tokio::test]
async fn alg_none_is_refused() {
    let app = TestApp::new().await;
    let kid = app_key(&app).kid().to_owned();
    let header =
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims("nobody").to_string());
    for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert_eq!(me_status(&app, &token).await, (401, "invalid_token".into()));
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_refused() {
    let app = TestApp::new().await;
    let key = app_key(&app);
    let public = key.public_jwk().to_string();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid().to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &claims("confused"),
        &EncodingKey::from_secret(public.as_bytes()),
    )
    .unwrap();
    assert_eq!(me_status(&app, &token).await, (401, "invalid_token".into()));
}

#[tokio::test]
async fn an_unknown_kid_or_missing_kid_is_refused() {
    let app = TestApp::new().await;
    let key = app_key(&app);
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("not-a-key-we-have".into());
    let token = jsonwebtoken::encode(&header, &claims("kidless"), key.encoding_key()).unwrap();
    assert_eq!(me_status(&app, &token).await, (401, "invalid_token".into()));
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::ES256),
        &claims("kidless"),
        key.encoding_key(),
    )
    .unwrap();
    assert_eq!(me_status(&app, &token).await, (401, "invalid_token".into()));
}

#[tokio::test]
async fn wrong_issuer_client_token_use_or_missing_claims_are_refused() {
    let app = TestApp::new().await;
    let key = app_key(&app);
    let breakers: [(&str, Value); 5] = [
        (
            "iss",
            json!("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_other"),
        ),
        ("client_id", json!("another-app")),
        ("token_use", json!("id")),
        ("exp", Value::Null),
        ("sub", json!("has space")),
    ];
    for (claim, value) in breakers {
        let mut c = claims("breaker");
        if value.is_null() {
            c.as_object_mut().unwrap().remove(claim);
        } else {
            c[claim] = value;
        }
        assert_eq!(
            me_status(&app, &sign(&key, &c)).await,
            (401, "invalid_token".into()),
            "{claim}"
        );
    }
}

#[tokio::test]
async fn garbage_tokens_are_refused() {
    let app = TestApp::new().await;
    for t in ["x", "a.b.c", "....", &"A".repeat(9000)] {
        assert_eq!(me_status(&app, t).await.0, 401, "{t}");
    }
}

#[tokio::test]
async fn a_deleted_accounts_token_stops_working_and_cannot_recreate_it() {
    let app = TestApp::new().await;
    let token = app.token("leaver@example.com").await;
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
    assert_eq!(app.delete("/me", Some(&token)).await.status, 204);
    app.get("/me", Some(&token))
        .await
        .assert_error(401, "account_deleted");
    app.patch("/me", Some(&token), json!({"bio": "back"}))
        .await
        .assert_error(401, "account_deleted");
}
