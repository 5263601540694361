//! `AUTH=cognito`. Against moto's Cognito (the `aws` build; `AWS_TEST_ENDPOINT`, default
//! `http://127.0.0.1:4566`): a pool with two app clients and a second pool, real tokens
//! from `AdminInitiateAuth`, the profile made from `GetUser` on the first request, admins
//! by group or address, and the tokens of the wrong kind, client or pool refused. The
//! refusals moto cannot produce (an expired token, another algorithm in the header, a
//! key the JWKS no longer has) use the stand-in issuer of `oidc.rs` with moto-shaped
//! claims, and run in every build.

use crate::helpers::TestApp;
use crate::oidc::{KID, StandIn, forgeries, now, rsa_jwk, sign};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
const STAND_IN_POOL: &str = "us-east-1_StandIn1";
const STAND_IN_CLIENT: &str = "standinclient1";

/// An app verifying the stand-in's tokens as a Cognito pool's (`COGNITO_JWKS_URL`
/// points at it); `GetUser` would go to a closed port, so tokens carry their address.
async fn stand_in_app(provider: &StandIn) -> TestApp {
    let jwks = provider.jwks_url();
    TestApp::with_env(&[
        ("AUTH", "cognito"),
        ("AWS_REGION", REGION),
        ("COGNITO_USER_POOL_ID", STAND_IN_POOL),
        ("COGNITO_CLIENT_ID", STAND_IN_CLIENT),
        ("COGNITO_JWKS_URL", jwks.as_str()),
        (
            "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
            "http://127.0.0.1:9",
        ),
    ])
    .await
}

/// The claims of a Cognito access token, as moto and Cognito write them (plus `email`,
/// which a pre-token-generation trigger may add, so no `GetUser` is needed here).
fn cognito_claims(sub: &str) -> Value {
    json!({
        "sub": sub,
        "iss": format!("https://cognito-idp.{REGION}.amazonaws.com/{STAND_IN_POOL}"),
        "client_id": STAND_IN_CLIENT, "token_use": "access",
        "scope": "aws.cognito.signin.user.admin", "auth_time": now(), "iat": now(),
        "exp": now() + 3600, "jti": format!("{sub}-{}", fastrand::u64(..)), "username": sub,
        "origin_jti": "o", "email": format!("{sub}@example.com"), "email_verified": true,
    })
}

#[tokio::test]
async fn expired_and_algorithm_forged_cognito_tokens_are_refused() {
    let provider = StandIn::start().await;
    let app = stand_in_app(&provider).await;
    let sub = "6b1f7a3e-1d2c-4e5f-8a9b-0c1d2e3f4a5b";
    let good = cognito_claims(sub);
    let r = app.get("/me", Some(&sign(&good, KID))).await;
    assert_eq!(
        (r.status.as_u16(), r.body["id"].as_str()),
        (200, Some(sub)),
        "{:?}",
        r.body
    );
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 600);
    app.get("/me", Some(&sign(&expired, KID)))
        .await
        .assert_error(401, "token_expired");
    for (what, token) in forgeries(&good, KID) {
        let r = app.get("/me", Some(&token)).await;
        assert_eq!(r.status, 401, "{what}: {:?}", r.body);
        r.assert_error(401, "invalid_token");
    }
}

#[tokio::test]
async fn a_key_the_jwks_no_longer_has_is_refused() {
    let provider = StandIn::start().await;
    // The pool rotated: the old kid is gone, the same material is now under a new one.
    provider.publish(vec![rsa_jwk("rotated-in")]);
    let app = stand_in_app(&provider).await;
    let claims = cognito_claims("rotated-user");
    app.get("/me", Some(&sign(&claims, KID)))
        .await
        .assert_error(401, "invalid_token");
    let r = app.get("/me", Some(&sign(&claims, "rotated-in"))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn only_rs256_keys_count_under_cognito() {
    // An EC key in the set (not Cognito's) verifies nothing, even for a well-signed token.
    let provider = StandIn::start().await;
    let ec = scooter_auth::SigningKey::generate().unwrap();
    provider.publish(vec![rsa_jwk(KID), ec.public_jwk()]);
    let app = stand_in_app(&provider).await;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(ec.kid().to_owned());
    let token =
        jsonwebtoken::encode(&header, &cognito_claims("ec-user"), ec.encoding_key()).unwrap();
    app.get("/me", Some(&token))
        .await
        .assert_error(401, "invalid_token");
}

#[tokio::test]
async fn under_cognito_the_built_in_sign_in_and_its_keys_are_gone() {
    let provider = StandIn::start().await;
    let app = stand_in_app(&provider).await;
    for path in ["/auth/login", "/auth/signup"] {
        app.post(
            path,
            None,
            json!({"email": "a@example.com", "password": "correct horse battery"}),
        )
        .await
        .assert_error(404, "not_found");
    }
    app.get("/.well-known/jwks.json", None)
        .await
        .assert_error(404, "not_found");
    // And a token of the built-in issuer is not Cognito's.
    let local = TestApp::new().await;
    let token = local.token("local@example.com").await;
    app.get("/me", Some(&token))
        .await
        .assert_error(401, "invalid_token");
}

/// Against moto's Cognito: real pools, clients, users and tokens.
#[cfg(feature = "aws")]
mod moto {
    use super::*;
    use crate::helpers::Resp;

    fn endpoint() -> String {
        std::env::var("AWS_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
    }

    const PASSWORD: &str = "Scooter-Rider-42!";

    /// One Cognito API call, unsigned (moto takes any credentials and none).
    async fn call(op: &str, body: Value) -> Value {
        let res = reqwest::Client::new()
            .post(endpoint())
            .header(
                "X-Amz-Target",
                format!("AWSCognitoIdentityProviderService.{op}"),
            )
            .header("Content-Type", "application/x-amz-json-1.1")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = res.status();
        let value: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{op}: {status} {value}");
        value
    }

    fn unique(what: &str) -> String {
        format!("{what}-{}-{:08x}", std::process::id(), fastrand::u32(..))
    }

    async fn create_pool() -> String {
        let out = call("CreateUserPool", json!({"PoolName": unique("pool")})).await;
        out["UserPool"]["Id"].as_str().unwrap().to_owned()
    }

    async fn client(pool: &str) -> String {
        let out = call(
            "CreateUserPoolClient",
            json!({
                "UserPoolId": pool, "ClientName": unique("app"),
                "ExplicitAuthFlows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            }),
        )
        .await;
        out["UserPoolClient"]["ClientId"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A confirmed user with this address; returns the username.
    async fn user(pool: &str, email: &str, verified: bool) -> String {
        let username = unique("rider");
        call(
            "AdminCreateUser",
            json!({
                "UserPoolId": pool, "Username": username, "MessageAction": "SUPPRESS",
                "UserAttributes": [
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": if verified { "true" } else { "false" }},
                ],
            }),
        )
        .await;
        call(
            "AdminSetUserPassword",
            json!({"UserPoolId": pool, "Username": username, "Password": PASSWORD, "Permanent": true}),
        )
        .await;
        username
    }

    /// (access token, ID token) from signing in.
    async fn sign_in(pool: &str, client: &str, username: &str) -> (String, String) {
        let out = call(
            "AdminInitiateAuth",
            json!({
                "UserPoolId": pool, "ClientId": client, "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                "AuthParameters": {"USERNAME": username, "PASSWORD": PASSWORD},
            }),
        )
        .await;
        let result = &out["AuthenticationResult"];
        (
            result["AccessToken"].as_str().unwrap().to_owned(),
            result["IdToken"].as_str().unwrap().to_owned(),
        )
    }

    /// A token's claims, unverified (to learn its `sub`).
    fn claims_of(token: &str) -> Value {
        use base64::Engine;
        let body = token.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// The app for `pool`, accepting `clients`.
    async fn app(pool: &str, clients: &str, extra: &[(&str, &str)]) -> TestApp {
        let endpoint = endpoint();
        let jwks = format!("{endpoint}/{pool}/.well-known/jwks.json");
        let mut vars = vec![
            ("AUTH", "cognito"),
            ("AWS_REGION", REGION),
            ("COGNITO_USER_POOL_ID", pool),
            ("COGNITO_CLIENT_ID", clients),
            ("COGNITO_JWKS_URL", jwks.as_str()),
            (
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
                endpoint.as_str(),
            ),
        ];
        vars.extend_from_slice(extra);
        TestApp::with_env(&vars).await
    }

    async fn me(app: &TestApp, token: &str) -> Resp {
        app.get("/me", Some(token)).await
    }

    #[tokio::test]
    async fn a_cognito_access_token_from_moto_reads_me_with_the_profile_made() {
        let pool = create_pool().await;
        let client = client(&pool).await;
        let email = format!("{}@example.com", unique("cog"));
        let username = user(&pool, &email, true).await;
        let (access, _) = sign_in(&pool, &client, &username).await;
        let sub = claims_of(&access)["sub"].as_str().unwrap().to_owned();
        let app = app(&pool, &client, &[]).await;
        let r = me(&app, &access).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        // The id is Cognito's sub (a UUID); the address came from GetUser.
        assert_eq!(r.body["id"], sub.as_str());
        assert_eq!(r.body["email"], email.as_str());
        assert_eq!(r.body["isAdmin"], false);
        assert_eq!(r.body["onboarding"]["needsHandle"], true);
        // The profile is there now: onboarding goes on as with the built-in issuer.
        let handle = format!("cog_{:08x}", fastrand::u32(..));
        let r = app
            .post("/username", Some(&access), json!({ "handle": handle }))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(me(&app, &access).await.status, 200);
    }

    #[tokio::test]
    async fn admins_are_the_admin_group_or_a_listed_verified_address() {
        let pool = create_pool().await;
        let client = client(&pool).await;
        call(
            "CreateGroup",
            json!({"UserPoolId": pool, "GroupName": "admins"}),
        )
        .await;
        let grouped = user(&pool, &format!("{}@example.com", unique("g")), true).await;
        call(
            "AdminAddUserToGroup",
            json!({"UserPoolId": pool, "Username": grouped, "GroupName": "admins"}),
        )
        .await;
        let boss = format!("{}@example.com", unique("boss"));
        let listed = user(&pool, &boss, true).await;
        let unverified_boss = format!("{}@example.com", unique("fake"));
        let unverified = user(&pool, &unverified_boss, false).await;
        let rider = user(&pool, &format!("{}@example.com", unique("r")), true).await;
        let admins = format!("{boss},{unverified_boss}");
        let app = app(&pool, &client, &[("ADMIN_EMAILS", admins.as_str())]).await;
        for (username, admin) in [
            (&grouped, true),
            (&listed, true),
            (&unverified, false),
            (&rider, false),
        ] {
            let (access, _) = sign_in(&pool, &client, username).await;
            let r = me(&app, &access).await;
            assert_eq!(
                (r.status.as_u16(), r.body["isAdmin"].as_bool()),
                (200, Some(admin)),
                "{username}: {:?}",
                r.body
            );
            let r = app.get("/admin/reports", Some(&access)).await;
            if admin {
                assert_eq!(r.status, 200, "{username}: {:?}", r.body);
            } else {
                r.assert_error(403, "admin_only");
            }
        }
    }

    #[tokio::test]
    async fn tokens_of_another_kind_client_or_pool_are_refused() {
        let pool_id = create_pool().await;
        let pool = pool_id.as_str();
        let ours = client(pool).await;
        let theirs = client(pool).await;
        let username = user(pool, &format!("{}@example.com", unique("k")), true).await;
        // A second pool: moto signs every pool with one key, so only `iss` tells.
        let other_pool = create_pool().await;
        let other_client = client(&other_pool).await;
        let other_user = user(&other_pool, &format!("{}@example.com", unique("o")), true).await;
        let app = app(pool, &ours, &[]).await;

        let (access, id_token) = sign_in(pool, &ours, &username).await;
        let (their_access, _) = sign_in(pool, &theirs, &username).await;
        let (other_pool_access, _) = sign_in(&other_pool, &other_client, &other_user).await;
        for (what, token) in [
            ("the ID token", &id_token),
            ("another app client's access token", &their_access),
            ("another pool's access token", &other_pool_access),
        ] {
            let r = me(&app, token).await;
            assert_eq!(r.status, 401, "{what}: {:?}", r.body);
            r.assert_error(401, "invalid_token");
        }
        assert_eq!(me(&app, &access).await.status, 200);
        // Both clients listed: the other client's token is welcome too.
        let both = format!("{ours}, {theirs}");
        let app = self::app(pool, &both, &[]).await;
        assert_eq!(me(&app, &their_access).await.status, 200);
    }

    #[tokio::test]
    async fn a_token_cognito_has_revoked_makes_no_profile() {
        let pool = create_pool().await;
        let client = client(&pool).await;
        let username = user(&pool, &format!("{}@example.com", unique("gone")), true).await;
        let (access, _) = sign_in(&pool, &client, &username).await;
        call(
            "AdminUserGlobalSignOut",
            json!({"UserPoolId": pool, "Username": username}),
        )
        .await;
        let app = app(&pool, &client, &[]).await;
        me(&app, &access).await.assert_error(401, "invalid_token");
    }
}
