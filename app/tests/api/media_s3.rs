//! Media in an S3 bucket (`BLOB_STORE=s3`), end to end: a presigned `PUT` straight to
//! the bucket, `complete`, the stored object cleaned, a post with it, the file served
//! by a redirect to the bucket; refusals from the attacker's side (more bytes than
//! declared, another type, another user's upload). On moto (AWS_TEST_ENDPOINT), which
//! accepts any presigned request, so the server's own check is what is tested; the
//! signature, expiry and length are proven against s3s-fs (S3S_TEST_ENDPOINT), which
//! enforces them as S3 does.

use crate::helpers::{Resp, TestApp};
use crate::media::{contains, ffmpeg_clip, jpeg_with_gps};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use scooter_media::s3::{S3Blobs, S3Settings};
use serde_json::{Value, json};
use tower::ServiceExt;

fn moto() -> String {
    std::env::var("AWS_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

/// A bucket of this test's own on `endpoint`, and an app storing files in it.
async fn app_on(endpoint: &str, extra: &[(&str, &str)]) -> (TestApp, S3Blobs) {
    let bucket = format!("t{}-{:08x}", std::process::id(), fastrand::u32(..));
    let settings = S3Settings {
        bucket: bucket.clone(),
        prefix: "media/".into(),
        force_path_style: true,
        endpoint: Some(endpoint.to_owned()),
        public_base: None,
        scratch_dir: std::env::temp_dir(),
    };
    let s3 = S3Blobs::connect(settings).await;
    s3.create_bucket_if_missing().await.expect("bucket");
    let mut vars = vec![
        ("BLOB_STORE", "s3"),
        ("S3_BUCKET", bucket.as_str()),
        ("S3_PREFIX", "media"),
        ("S3_FORCE_PATH_STYLE", "true"),
        ("AWS_ENDPOINT_URL_S3", endpoint),
    ];
    vars.extend_from_slice(extra);
    (TestApp::with_env(&vars).await, s3)
}

async fn ticket(app: &TestApp, token: &str, ct: &str, size: usize) -> Value {
    let r = app
        .post(
            "/upload-url",
            Some(token),
            json!({"contentType": ct, "size": size, "purpose": "post"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// PUTs `bytes` to the ticket's URL with its headers (all of them, or all but
/// Content-Length, which then follows the body).
async fn put_direct(t: &Value, bytes: Vec<u8>, skip: &[&str]) -> reqwest::Response {
    let mut req = reqwest::Client::new().put(t["uploadUrl"].as_str().unwrap());
    for (name, value) in t["headers"].as_object().unwrap() {
        if !skip.iter().any(|s| s.eq_ignore_ascii_case(name)) {
            req = req.header(name.as_str(), value.as_str().unwrap());
        }
    }
    req.body(bytes)
        .send()
        .await
        .expect("PUT reaches the bucket")
}

async fn complete(app: &TestApp, token: &str, key: &str) -> Resp {
    app.post(&format!("/media/{key}/complete"), Some(token), json!({}))
        .await
}

/// `GET /files/{key}`: the redirect's target, fetched as a client would.
async fn fetch_file(app: &TestApp, url: &str) -> (u16, Vec<u8>) {
    let res = app
        .app
        .router
        .clone()
        .oneshot(Request::get(url).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status != 307 {
        let body = res.into_body().collect().await.unwrap().to_bytes();
        return (status, body.to_vec());
    }
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let got = reqwest::get(&location).await.expect("GET the bucket");
    let status = got.status().as_u16();
    (status, got.bytes().await.unwrap().to_vec())
}

fn uploaded(key: &str) -> String {
    format!("media/incoming/{key}")
}

fn stored(key: &str) -> String {
    format!("media/{key}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_sent_to_the_bucket_is_checked_cleaned_posted_served_and_deleted() {
    let (app, s3) = app_on(&moto(), &[]).await;
    let ann = app.user_with_handle("ann").await;
    let photo = jpeg_with_gps();
    assert!(contains(&photo, b"Exif"), "the fixture carries EXIF GPS");
    let t = ticket(&app, &ann, "image/jpeg", photo.len()).await;
    let key = t["key"].as_str().unwrap().to_owned();
    assert!(
        t["uploadUrl"].as_str().unwrap().starts_with("http"),
        "an absolute presigned URL: {t:?}"
    );
    assert_eq!(t["headers"]["Content-Type"], "image/jpeg");
    assert_eq!(
        t["headers"]["Content-Length"],
        photo.len().to_string().as_str()
    );
    assert_eq!(t["headers"]["If-None-Match"], "*");
    // Not sent yet: complete refuses, the post too.
    complete(&app, &ann, &key)
        .await
        .assert_error(409, "media_not_ready");
    let put = put_direct(&t, photo.clone(), &[]).await;
    assert!(put.status().is_success(), "{}", put.status());
    // Nobody else may complete it (nor learn that it exists).
    let bob = app.user_with_handle("bob").await;
    complete(&app, &bob, &key)
        .await
        .assert_error(404, "not_found");
    let done = complete(&app, &ann, &key).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["status"], "ready");
    assert_eq!(done.body["width"], 64);
    // A repeat answers the same.
    assert_eq!(complete(&app, &ann, &key).await.body, done.body);
    // What is stored is the cleaned copy; the client's bytes are gone.
    let kept = s3
        .read_object(&stored(&key))
        .await
        .unwrap()
        .expect("stored");
    assert!(
        !contains(&kept, b"Exif"),
        "no EXIF (GPS) in the stored file"
    );
    assert!(image::load_from_memory(&kept).is_ok());
    assert!(
        s3.read_object(&uploaded(&key)).await.unwrap().is_none(),
        "the direct upload is deleted once checked"
    );
    let post = app
        .post(
            "/posts",
            Some(&ann),
            json!({"text": "ride", "media": [key]}),
        )
        .await;
    assert_eq!(post.status, 201, "{:?}", post.body);
    let url = post.body["media"][0]["url"].as_str().unwrap().to_owned();
    let (status, served) = fetch_file(&app, &url).await;
    assert_eq!(status, 200);
    assert_eq!(served, kept);
    let thumb = post.body["media"][0]["thumbnailUrl"].as_str().unwrap();
    let (status, small) = fetch_file(&app, thumb).await;
    assert_eq!(status, 200);
    assert!(image::load_from_memory(&small).is_ok());
    // Deleting the post removes its media, and the objects go with them.
    let post_id = post.body["id"].as_str().unwrap();
    let r = app.delete(&format!("/posts/{post_id}"), Some(&ann)).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    app.drain_jobs().await;
    assert!(s3.read_object(&stored(&key)).await.unwrap().is_none());
    assert!(
        s3.read_object(&format!("{}.thumb.jpg", stored(&key)))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(fetch_file(&app, &url).await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_upload_that_is_not_what_was_declared_is_refused_and_never_served() {
    let (app, s3) = app_on(&moto(), &[]).await;
    let ann = app.user_with_handle("ann").await;
    let photo = jpeg_with_gps();
    let html = b"<html><script>alert(1)</script></html>".repeat(4);
    // (declared type, declared size, bytes sent)
    let cases: Vec<(&str, usize, Vec<u8>)> = vec![
        // More bytes than declared (the emulator, like some stores, does not check).
        ("image/jpeg", photo.len() - 100, photo.clone()),
        // A JPEG declared as PNG.
        ("image/png", photo.len(), photo.clone()),
        // A page declared as a video.
        ("video/mp4", html.len(), html.clone()),
    ];
    for (ct, size, bytes) in cases {
        let t = ticket(&app, &ann, ct, size).await;
        let key = t["key"].as_str().unwrap().to_owned();
        let put = put_direct(&t, bytes, &["Content-Length"]).await;
        assert!(put.status().is_success(), "{}", put.status());
        complete(&app, &ann, &key)
            .await
            .assert_error(400, "invalid_media");
        let m = app.get(&format!("/media/{key}"), Some(&ann)).await;
        assert_eq!(m.body["status"], "failed", "{ct}: {:?}", m.body);
        assert!(m.body["url"].is_null());
        // Refused for good: a repeat says what it is, and nothing is kept anywhere.
        assert_eq!(complete(&app, &ann, &key).await.body["status"], "failed");
        assert!(s3.read_object(&uploaded(&key)).await.unwrap().is_none());
        assert!(s3.read_object(&stored(&key)).await.unwrap().is_none());
        assert_eq!(fetch_file(&app, &format!("/files/{key}")).await.0, 404);
        app.post("/posts", Some(&ann), json!({"text": "", "media": [key]}))
            .await
            .assert_error(400, "invalid_media");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_sent_to_the_bucket_is_transcoded_there_and_its_original_never_served() {
    let (app, s3) = app_on(&moto(), &[]).await;
    assert!(app.app.ctx.media.video.is_some(), "FFmpeg is installed");
    let ann = app.user_with_handle("ann").await;
    let clip = ffmpeg_clip(app.dir.path());
    let t = ticket(&app, &ann, "video/mp4", clip.len()).await;
    let key = t["key"].as_str().unwrap().to_owned();
    assert!(
        put_direct(&t, clip.clone(), &[])
            .await
            .status()
            .is_success()
    );
    let done = complete(&app, &ann, &key).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["status"], "processing");
    assert_eq!(fetch_file(&app, &format!("/files/{key}")).await.0, 404);
    assert!(s3.read_object(&stored(&key)).await.unwrap().is_none());
    app.drain_jobs().await;
    let m = app.get(&format!("/media/{key}"), Some(&ann)).await.body;
    assert_eq!(m["status"], "ready", "{m:?}");
    let (status, served) = fetch_file(&app, m["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(&served[4..8], b"ftyp");
    assert_ne!(served, clip, "the transcode is served, not the upload");
    let (status, poster) = fetch_file(&app, m["thumbnailUrl"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(image::load_from_memory(&poster).is_ok());
    assert!(s3.read_object(&uploaded(&key)).await.unwrap().is_none());
}

/// s3s-fs enforces what moto does not: the signature (and so the signed type and
/// length), the expiry, and `If-None-Match: *`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_store_refuses_what_the_presigned_url_did_not_allow() {
    let Ok(endpoint) = std::env::var("S3S_TEST_ENDPOINT") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI runs scripts/test.sh, which starts s3s-fs and sets S3S_TEST_ENDPOINT"
        );
        eprintln!("S3S_TEST_ENDPOINT is not set: scripts/test.sh starts s3s-fs; skipped");
        return;
    };
    let (app, s3) = app_on(&endpoint, &[]).await;
    let ann = app.user_with_handle("ann").await;
    let photo = jpeg_with_gps();
    let t = ticket(&app, &ann, "image/jpeg", photo.len()).await;
    let key = t["key"].as_str().unwrap().to_owned();
    // Another type than signed.
    let mut retyped = t.clone();
    retyped["headers"]["Content-Type"] = json!("text/html");
    assert_eq!(put_direct(&retyped, photo.clone(), &[]).await.status(), 403);
    // Another length than signed (the body's own length is sent).
    let mut longer = photo.clone();
    longer.extend([0u8; 64]);
    assert_eq!(
        put_direct(&t, longer, &["Content-Length"]).await.status(),
        403
    );
    // A signature changed in one character.
    let mut forged = t.clone();
    let url = t["uploadUrl"].as_str().unwrap();
    let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let mut chars: Vec<char> = url.chars().collect();
    chars[at] = if chars[at] == '0' { '1' } else { '0' };
    forged["uploadUrl"] = json!(chars.into_iter().collect::<String>());
    assert_eq!(put_direct(&forged, photo.clone(), &[]).await.status(), 403);
    assert!(s3.read_object(&uploaded(&key)).await.unwrap().is_none());
    // As signed: stored; the same URL again: refused by If-None-Match.
    assert!(
        put_direct(&t, photo.clone(), &[])
            .await
            .status()
            .is_success()
    );
    assert_eq!(put_direct(&t, photo.clone(), &[]).await.status(), 412);
    let done = complete(&app, &ann, &key).await;
    assert_eq!(done.body["status"], "ready", "{:?}", done.body);
    let (status, served) = fetch_file(&app, done.body["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert!(!contains(&served, b"Exif"));
    // An expired URL.
    let short = app
        .reopen_with(&[
            ("BLOB_STORE", "s3"),
            ("S3_BUCKET", s3.bucket()),
            ("S3_PREFIX", "media"),
            ("S3_FORCE_PATH_STYLE", "true"),
            ("AWS_ENDPOINT_URL_S3", endpoint.as_str()),
            ("UPLOAD_URL_TTL_SECS", "1"),
        ])
        .await;
    let t = ticket(&short, &ann, "image/jpeg", photo.len()).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(put_direct(&t, photo, &[]).await.status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_cdn_files_redirect_there_and_a_deleted_account_leaves_no_object() {
    let (app, s3) = app_on(&moto(), &[("MEDIA_BASE_URL", "https://cdn.example/")]).await;
    let ann = app.user_with_handle("ann").await;
    let photo = jpeg_with_gps();
    let mut keys = Vec::new();
    for _ in 0..2 {
        let t = ticket(&app, &ann, "image/jpeg", photo.len()).await;
        assert!(
            put_direct(&t, photo.clone(), &[])
                .await
                .status()
                .is_success()
        );
        keys.push(t["key"].as_str().unwrap().to_owned());
    }
    // One completed, one left waiting in incoming/.
    let done = complete(&app, &ann, &keys[0]).await;
    assert_eq!(done.body["status"], "ready", "{:?}", done.body);
    let res = app
        .app
        .router
        .clone()
        .oneshot(
            Request::get(done.body["url"].as_str().unwrap())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 307);
    assert_eq!(
        res.headers()["location"],
        format!("https://cdn.example/media/{}", keys[0]).as_str()
    );
    // Not ready, not redirected: the CDN is never pointed at an unchecked upload.
    let res = app
        .app
        .router
        .clone()
        .oneshot(
            Request::get(format!("/files/{}", keys[1]))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let r = app.delete("/me", Some(&ann)).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    app.drain_jobs().await;
    for key in &keys {
        assert!(s3.read_object(&stored(key)).await.unwrap().is_none());
        assert!(s3.read_object(&uploaded(key)).await.unwrap().is_none());
    }
}
