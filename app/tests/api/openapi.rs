//! The OpenAPI document is the contract: every mounted route is in it, and every route
//! in it is mounted.

use crate::helpers::TestApp;
use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// Every route this build serves: all six lists of the seed's "API Routes" (users,
/// posts, social, media, notifications, scoops), moderation, the built-in sign-in, and
/// the system routes.
const MOUNTED: &[(&str, &str)] = &[
    ("GET", "/me"),
    ("PATCH", "/me"),
    ("DELETE", "/me"),
    ("GET", "/me/notification-preferences"),
    ("PATCH", "/me/notification-preferences"),
    ("POST", "/me/accept-terms"),
    ("GET", "/terms"),
    ("GET", "/me/sessions"),
    ("DELETE", "/me/sessions"),
    ("DELETE", "/me/sessions/{id}"),
    ("GET", "/push/devices"),
    ("GET", "/username/available"),
    ("GET", "/me/invite"),
    ("POST", "/me/invite"),
    ("POST", "/me/invite/redeem"),
    ("POST", "/username"),
    ("GET", "/search"),
    ("POST", "/follow"),
    ("POST", "/unfollow"),
    ("POST", "/block"),
    ("POST", "/unblock"),
    ("GET", "/blocked"),
    ("POST", "/report"),
    ("GET", "/u/{handle}"),
    ("GET", "/u/{handle}/followers"),
    ("GET", "/u/{handle}/following"),
    ("GET", "/feed"),
    ("POST", "/posts"),
    ("GET", "/posts/{id}"),
    ("DELETE", "/posts/{id}"),
    ("GET", "/comments/{postId}"),
    ("POST", "/comments/{postId}"),
    ("DELETE", "/comments/{postId}/{commentId}"),
    ("GET", "/reactions/{postId}"),
    ("POST", "/reactions/{postId}"),
    ("PUT", "/reactions/{postId}/{type}"),
    ("DELETE", "/reactions/{postId}/{type}"),
    ("GET", "/u/{handle}/posts"),
    ("GET", "/notifications"),
    ("GET", "/notifications/unread-count"),
    ("POST", "/notifications/read"),
    ("POST", "/notifications/read-all"),
    ("POST", "/push/register"),
    ("DELETE", "/push/unregister"),
    ("POST", "/me/avatar"),
    ("POST", "/upload-url"),
    ("POST", "/avatar-url"),
    ("PUT", "/uploads/{key}"),
    ("GET", "/files/{key}"),
    ("POST", "/process-video"),
    ("GET", "/media/{key}"),
    ("DELETE", "/media/{key}"),
    ("POST", "/media/{key}/complete"),
    ("POST", "/scoops"),
    ("GET", "/scoops/feed"),
    ("GET", "/scoops/me"),
    ("GET", "/scoops/user/{userId}"),
    ("GET", "/scoops/{id}"),
    ("DELETE", "/scoops/{id}"),
    ("POST", "/scoops/{id}/view"),
    ("GET", "/scoops/{id}/viewers"),
    ("GET", "/admin/reports"),
    ("POST", "/admin/reports/{id}/resolve"),
    ("POST", "/admin/users/{id}/suspend"),
    ("POST", "/admin/users/{id}/unsuspend"),
    ("POST", "/auth/signup"),
    ("POST", "/auth/login"),
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/redoc.standalone.js"),
];

fn documented(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.push((method.to_uppercase(), path.clone()));
        }
    }
    ops.sort();
    ops
}

#[tokio::test]
async fn the_document_lists_exactly_the_mounted_routes() {
    let app = TestApp::new().await;
    let r = app.get("/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut expected: Vec<(String, String)> = MOUNTED
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    expected.sort();
    assert_eq!(documented(&r.body), expected);
}

#[tokio::test]
async fn every_listed_route_is_really_mounted() {
    let app = TestApp::new().await;
    for (method, path) in MOUNTED {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let r = app.request(m, path, None, None).await;
        let unrouted = r.status == 404 && r.body["error"]["message"] == "no such route";
        assert!(!unrouted, "{method} {path} is not mounted: {:?}", r.body);
        assert_ne!(
            r.status, 405,
            "{method} {path} is not mounted: {:?}",
            r.body
        );
    }
}

#[tokio::test]
async fn the_document_generates_a_clean_typed_client() {
    // What client generators (openapi-typescript, openapi-generator) need: one name per
    // operation, a description on every response, described tags, binary uploads, and
    // a guide to read first.
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json", None).await.body;
    let mut ids = std::collections::BTreeMap::new();
    let mut bare = Vec::new();
    let mut tags_used = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            if let Some(before) = ids.insert(id.clone(), format!("{method} {path}")) {
                panic!("operationId {id:?} of {method} {path} is also {before}");
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if response["description"].as_str().is_none_or(str::is_empty) {
                    bare.push(format!("{method} {path} {status}"));
                }
            }
            for t in op["tags"].as_array().into_iter().flatten() {
                tags_used.insert(t.as_str().unwrap().to_owned());
            }
        }
    }
    assert!(bare.is_empty(), "responses without a description: {bare:?}");
    let described: std::collections::BTreeSet<String> = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["description"].as_str().is_some_and(|d| !d.is_empty()))
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        tags_used.is_subset(&described),
        "{tags_used:?} vs {described:?}"
    );
    let upload = &doc["paths"]["/uploads/{key}"]["put"]["requestBody"]["content"]["application/octet-stream"]
        ["schema"];
    assert_eq!(
        upload,
        &serde_json::json!({"type": "string", "format": "binary"})
    );
    let guide = doc["info"]["description"].as_str().unwrap();
    for topic in [
        "## Signing in",
        "## Onboarding",
        "## Photos and videos",
        "## Lists",
        "## Errors",
        "## Rate limits",
    ] {
        assert!(guide.contains(topic), "the guide covers {topic}");
    }
    // Request and response examples for the first calls an app makes.
    for schema in [
        "SignupRequest",
        "TokenResponse",
        "CreatePostRequest",
        "RegisterRequest",
    ] {
        assert!(
            doc["components"]["schemas"][schema]["examples"].is_array()
                || doc["components"]["schemas"][schema]["example"].is_object(),
            "{schema} has an example: {}",
            doc["components"]["schemas"][schema]
        );
    }
    let unauthorized = &doc["paths"]["/me"]["get"]["responses"]["401"]["description"];
    assert!(unauthorized.as_str().unwrap().contains("`token_expired`"));
}

#[tokio::test]
async fn created_resources_link_to_the_operations_on_them() {
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json", None).await.body;
    let mut ops = std::collections::BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.insert(
                op["operationId"].as_str().unwrap().to_owned(),
                (method.clone(), path.clone()),
            );
        }
    }
    let mut links = 0;
    for item in doc["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            for response in op["responses"].as_object().unwrap().values() {
                for (name, link) in response["links"].as_object().into_iter().flatten() {
                    links += 1;
                    let target = link["operationId"].as_str().unwrap();
                    let (_, path) = ops
                        .get(target)
                        .unwrap_or_else(|| panic!("{name} → {target}: no such operation"));
                    for param in link["parameters"].as_object().unwrap().keys() {
                        assert!(
                            path.contains(&format!("{{{param}}}")),
                            "{name}: {path} has no {param}"
                        );
                    }
                }
            }
        }
    }
    assert!(links >= 15, "{links} links");
    let post = &doc["paths"]["/posts"]["post"]["responses"]["201"]["links"]["GetPost"];
    assert_eq!(post["parameters"]["id"], "$response.body#/id");
}

#[tokio::test]
async fn errors_and_security_are_described() {
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json", None).await.body;
    assert!(doc["components"]["schemas"]["ErrorEnvelope"].is_object());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let me = &doc["paths"]["/me"]["get"];
    assert!(me["responses"]["401"].is_object());
    assert!(me["security"].is_array());
}

async fn fetch(app: &TestApp, path: &str) -> (u16, String, String) {
    let req = Request::get(path).body(Body::empty()).unwrap();
    let res = app.app.router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, kind, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn the_docs_page_needs_nothing_but_this_server() {
    let app = TestApp::new().await;
    let (status, kind, page) = fetch(&app, "/docs").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/html"));
    assert!(page.contains("<redoc spec-url=\"openapi.json\">"));
    assert!(page.contains("<script src=\"docs/redoc.standalone.js\">"));
    // Nothing is loaded from another origin: no absolute URL in the page at all.
    assert!(!page.contains("http"), "the page refers to another origin");
    let (status, kind, script) = fetch(&app, "/docs/redoc.standalone.js").await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/javascript"));
    assert!(
        script.len() > 500_000,
        "the vendored Redoc bundle is served whole"
    );
}

/// A string property's documented pattern, compiled.
fn pattern(doc: &Value, schema: &str, property: &str) -> regex::Regex {
    let p = doc["components"]["schemas"][schema]["properties"][property]["pattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{schema}.{property} has no pattern"));
    regex::Regex::new(p).unwrap()
}

/// What the document promises, the server takes: a client (or schemathesis) that keeps
/// to the documented patterns, enums and bounds is never refused for the shape of its
/// data, and the controls the server refuses are outside the patterns.
#[tokio::test]
async fn documented_constraints_match_the_servers_rules() {
    use scooter_core::media::{IMAGE_MAX_BYTES, MediaPurpose, VIDEO_MAX_BYTES, upload_type};
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json", None).await.body;
    let schemas = &doc["components"]["schemas"];

    // Upload types and sizes: every documented value is accepted at both ends of the range.
    for (schema, purpose, max) in [
        ("UploadUrlRequest", MediaPurpose::Post, VIDEO_MAX_BYTES),
        ("AvatarUrlRequest", MediaPurpose::Avatar, IMAGE_MAX_BYTES),
    ] {
        let props = &schemas[schema]["properties"];
        assert_eq!(props["size"]["minimum"], 1, "{schema}");
        assert_eq!(props["size"]["maximum"], max, "{schema}");
        let types = props["contentType"]["$ref"].as_str().unwrap();
        let types = schemas[types.rsplit('/').next().unwrap()]["enum"]
            .as_array()
            .unwrap();
        assert!(types.len() >= 4, "{schema}: {types:?}");
        for t in types {
            let t = t.as_str().unwrap();
            assert!(upload_type(t, 1, purpose).is_ok(), "{schema}: {t}");
            let top = if t.starts_with("image/") {
                IMAGE_MAX_BYTES
            } else {
                max
            };
            assert!(upload_type(t, top, purpose).is_ok(), "{schema}: {t}");
        }
    }

    // Reaction types: the path parameter's enum is the server's list.
    let reaction =
        doc["paths"]["/reactions/{postId}/{type}"]["put"]["parameters"][1]["schema"]["$ref"]
            .as_str()
            .unwrap();
    let kinds = schemas[reaction.rsplit('/').next().unwrap()]["enum"]
        .as_array()
        .unwrap();
    for k in kinds {
        let k: scooter_core::post::ReactionType = serde_json::from_value(k.clone()).unwrap();
        assert_eq!(serde_json::to_value(k).unwrap().as_str(), Some(k.as_str()));
    }
    assert_eq!(kinds.len(), 6);

    // Free text: whatever matches the pattern is accepted; controls other than newline
    // and tab (none at all in a caption but newline) never match.
    let samples = [
        "Nice route!",
        "two\nlines",
        "tab\there",
        "  padded  ",
        "سامي 🛴",
        "x",
        " ",
        "",
        "bell\u{7}",
        "\u{85}next",
        "nul\u{0}",
        "esc\u{1b}[31m",
        "c1\u{9b}",
        "cr\r\n",
    ];
    type Check = fn(&str) -> bool;
    let rules: [(&str, &str, Check); 8] = [
        ("CommentRequest", "text", |s| {
            scooter_core::post::parse_comment_text(s).is_ok()
        }),
        ("CreatePostRequest", "text", |s| {
            scooter_core::post::parse_post_text(s, true).is_ok()
        }),
        ("CreateScoopRequest", "caption", |s| {
            scooter_core::scoop::parse_caption(Some(s)).is_ok()
        }),
        ("CreateScoopRequest", "alt", |s| {
            scooter_core::post::parse_alt("alt", Some(s)).is_ok()
        }),
        ("MediaWithAlt", "alt", |s| {
            scooter_core::post::parse_alt("media", Some(s)).is_ok()
        }),
        ("ReportRequest", "details", |s| {
            scooter_core::report::parse_note("details", Some(s)).is_ok()
        }),
        ("ResolveRequest", "note", |s| {
            scooter_core::report::parse_note("note", Some(s)).is_ok()
        }),
        ("SuspendRequest", "reason", |s| {
            scooter_core::report::parse_note("reason", Some(s)).is_ok_and(|r| r.is_some())
        }),
    ];
    for (schema, property, server) in rules {
        let re = pattern(&doc, schema, property);
        for s in samples {
            if re.is_match(s) {
                assert!(
                    server(s),
                    "{schema}.{property}: documented {s:?} is refused"
                );
            }
        }
        for refused in [
            "bell\u{7}",
            "nul\u{0}",
            "esc\u{1b}[31m",
            "c1\u{9b}",
            "cr\r\n",
        ] {
            assert!(
                !re.is_match(refused),
                "{schema}.{property}: {refused:?} matches"
            );
        }
        assert!(re.is_match("two\nlines"), "{schema}.{property}");
    }

    // Addresses and invite codes.
    let email = pattern(&doc, "SignupRequest", "email");
    for s in [
        "sam@example.com",
        " Sam@Example.COM ",
        "a.b+c@mail.example.co.uk",
        "rider@dömain.de",
    ] {
        assert!(email.is_match(s), "{s:?}");
        assert!(scooter_core::email::Email::parse(s).is_ok(), "{s:?}");
    }
    for s in [
        "sam",
        "sam@example",
        "@example.com",
        "sam@.com",
        "s am@example.com",
        "sam@example.com.",
    ] {
        assert!(!email.is_match(s), "{s:?} matches");
    }
    let code = pattern(&doc, "RedeemRequest", "code");
    for s in ["HERZX2JNNK", "herzx2jnnk", "HERZX-2JNNK"] {
        assert!(code.is_match(s), "{s:?}");
        assert!(scooter_core::invite::InviteCode::parse(s).is_ok(), "{s:?}");
    }
    assert!(!code.is_match("HERZX0JNNK"), "0 is not in the alphabet");
}

/// Media go into posts as keys or `{key, alt}` (one of the two, documented as such) and
/// into scoops with `alt`; posts and scoops show each medium with its `alt`.
#[tokio::test]
async fn alt_text_is_documented_where_media_go_in_and_come_out() {
    let app = TestApp::new().await;
    let doc = app.get("/openapi.json", None).await.body;
    let schemas = &doc["components"]["schemas"];
    let name = |v: &Value| {
        v["$ref"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned()
    };
    let item = name(&schemas["CreatePostRequest"]["properties"]["media"]["items"]);
    let one_of = schemas[&item]["oneOf"].as_array().unwrap();
    assert_eq!(one_of.len(), 2, "{item}: {one_of:?}");
    assert_eq!(one_of[0]["type"], "string");
    let with_alt = &schemas[name(&one_of[1])];
    assert_eq!(with_alt["required"], serde_json::json!(["key"]));
    assert_eq!(with_alt["additionalProperties"], false);
    assert_eq!(with_alt["properties"]["alt"]["maxLength"], 1500);
    let scoop_alt = &schemas["CreateScoopRequest"]["properties"]["alt"];
    assert_eq!(scoop_alt["maxLength"], 1500);
    for (view, media) in [
        (
            "PostView",
            &schemas["PostView"]["properties"]["media"]["items"],
        ),
        ("ScoopView", &schemas["ScoopView"]["properties"]["media"]),
    ] {
        let shown = &schemas[name(media)];
        let parts = shown["allOf"].as_array().unwrap();
        assert_eq!(name(&parts[0]), "MediaView", "{view}");
        assert_eq!(
            parts[1]["properties"]["alt"]["type"],
            serde_json::json!(["string", "null"]),
            "{view}"
        );
    }
}
