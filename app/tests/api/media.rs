//! Media: signed uploads from the attacker's side, image cleaning, video processing,
//! file serving with ranges, media in posts, avatars, deletion.

use crate::helpers::{Resp, TestApp};
use axum::body::Body;
use axum::http::{Method, Request};
use http_body_util::BodyExt;
use image::{ImageFormat, RgbImage};
use serde_json::{Value, json};
use std::io::Cursor;
use tower::ServiceExt;

fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(w, h, image::Rgb([200, 30, 30]))
        .write_to(&mut out, ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// A JPEG carrying an EXIF block with a GPS latitude, like a phone photo.
pub(crate) fn jpeg_with_gps() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    RgbImage::from_pixel(64, 48, image::Rgb([10, 120, 200]))
        .write_to(&mut out, ImageFormat::Jpeg)
        .unwrap();
    let jpeg = out.into_inner();
    let mut tiff: Vec<u8> = b"MM\0*\0\0\0\x08".to_vec();
    tiff.extend([0, 1, 0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0]);
    tiff.extend([0, 1, 0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0, 0, 0, 0, 0]);
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff);
    let len = u16::try_from(payload.len() + 2).unwrap().to_be_bytes();
    let mut file = jpeg[..2].to_vec();
    file.extend([0xFF, 0xE1, len[0], len[1]]);
    file.extend(payload);
    file.extend(&jpeg[2..]);
    file
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A tiny PNG whose header claims 60000 × 60000 pixels (14 GB decoded).
fn png_bomb() -> Vec<u8> {
    let mut p = png(1, 1);
    p[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    p[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32(&p[12..29]).to_be_bytes();
    p[29..33].copy_from_slice(&crc);
    p
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

async fn ticket(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    let r = app.post(path, Some(token), body).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn put(app: &TestApp, url: &str, content_type: &str, bytes: Vec<u8>) -> Resp {
    let req = Request::put(url)
        .header("content-type", content_type)
        .header("content-length", bytes.len())
        .body(Body::from(bytes))
        .unwrap();
    app.send(req).await
}

async fn upload(
    app: &TestApp,
    token: &str,
    purpose: &str,
    ct: &str,
    bytes: Vec<u8>,
) -> (String, Resp) {
    let path = if purpose == "avatar" {
        "/avatar-url"
    } else {
        "/upload-url"
    };
    let mut body = json!({"contentType": ct, "size": bytes.len()});
    if purpose != "avatar" {
        body["purpose"] = json!(purpose);
    }
    let t = ticket(app, token, path, body).await;
    let r = put(app, t["uploadUrl"].as_str().unwrap(), ct, bytes).await;
    (t["key"].as_str().unwrap().to_owned(), r)
}

async fn raw_get(
    app: &TestApp,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let mut b = Request::get(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let res = app
        .app
        .router
        .clone()
        .oneshot(b.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (res.status().as_u16(), res.headers().clone());
    (
        status,
        headers,
        res.into_body().collect().await.unwrap().to_bytes().to_vec(),
    )
}

#[tokio::test]
async fn an_uploaded_photo_is_cleaned_of_gps_and_thumbnailed() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let photo = jpeg_with_gps();
    assert!(
        contains(&photo, b"Exif") && contains(&photo, &[0x88, 0x25]),
        "the fixture carries GPS"
    );
    let t = ticket(
        &app,
        &ann,
        "/upload-url",
        json!({"contentType": "image/jpeg", "size": photo.len(), "purpose": "post"}),
    )
    .await;
    let key = t["key"].as_str().unwrap();
    let me = app.get("/me", Some(&ann)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        key.starts_with(&format!("post/{me}/")),
        "the server picks a key under my prefix"
    );
    assert_eq!(t["method"], "PUT");
    assert_eq!(t["headers"]["Content-Type"], "image/jpeg");
    let r = put(&app, t["uploadUrl"].as_str().unwrap(), "image/jpeg", photo).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (
            r.body["status"].as_str(),
            r.body["width"].as_u64(),
            r.body["height"].as_u64()
        ),
        (Some("ready"), Some(64), Some(48))
    );
    let (status, headers, stored) = raw_get(&app, r.body["url"].as_str().unwrap(), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert!(!contains(&stored, b"Exif"), "no EXIF block after cleaning");
    assert!(
        !contains(&stored, &[0x88, 0x25]),
        "no GPS pointer after cleaning"
    );
    let (status, _, thumb) = raw_get(&app, r.body["thumbnailUrl"].as_str().unwrap(), &[]).await;
    assert_eq!(status, 200);
    assert!(image::load_from_memory(&thumb).is_ok());
    assert_eq!(
        app.get(&format!("/media/{key}"), Some(&ann)).await.body["status"],
        "ready"
    );
}

#[tokio::test]
async fn forged_expired_resized_retyped_and_repeated_uploads_are_refused() {
    let app = TestApp::with_env(&[("UPLOAD_URL_TTL_SECS", "1")]).await;
    let ann = app.user_with_handle("ann").await;
    let bytes = png(8, 8);
    let t = ticket(
        &app,
        &ann,
        "/upload-url",
        json!({"contentType": "image/png", "size": bytes.len(), "purpose": "post"}),
    )
    .await;
    let url = t["uploadUrl"].as_str().unwrap().to_owned();
    let forged = format!(
        "{}0000000000000000000000000000000000000000000000000000000000000000",
        &url[..url.len() - 64]
    );
    put(&app, &forged, "image/png", bytes.clone())
        .await
        .assert_error(403, "invalid_signature");
    put(&app, &url, "image/jpeg", bytes.clone())
        .await
        .assert_error(400, "invalid_media");
    let mut longer = bytes.clone();
    longer.push(0);
    put(&app, &url, "image/png", longer)
        .await
        .assert_error(400, "invalid_media");
    let req = Request::put(&url)
        .header("content-type", "image/png")
        .body(Body::from(bytes[..10].to_vec()))
        .unwrap();
    app.send(req).await.assert_error(400, "invalid_media");
    let other_key = url.replace("post/", "post/x");
    put(&app, &other_key, "image/png", bytes.clone())
        .await
        .assert_error(404, "not_found");
    assert_eq!(
        put(&app, &url, "image/png", bytes.clone()).await.status,
        200,
        "a broken upload may be retried"
    );
    put(&app, &url, "image/png", bytes.clone())
        .await
        .assert_error(409, "already_uploaded");
    let late = ticket(
        &app,
        &ann,
        "/upload-url",
        json!({"contentType": "image/png", "size": bytes.len(), "purpose": "post"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    put(
        &app,
        late["uploadUrl"].as_str().unwrap(),
        "image/png",
        bytes,
    )
    .await
    .assert_error(403, "upload_url_expired");
}

#[tokio::test]
async fn bad_upload_requests_and_hostile_images_are_refused() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    for body in [
        json!({"contentType": "image/gif", "size": 10, "purpose": "post"}),
        json!({"contentType": "image/png", "size": 16 * 1024 * 1024, "purpose": "post"}),
        json!({"contentType": "image/png", "size": 10, "purpose": "avatar"}),
        json!({"contentType": "image/png", "size": 10, "purpose": "post", "key": "post/me/chosen.png"}),
    ] {
        app.post("/upload-url", Some(&ann), body)
            .await
            .assert_error(400, "validation_failed");
    }
    app.post(
        "/avatar-url",
        Some(&ann),
        json!({"contentType": "video/mp4", "size": 10}),
    )
    .await
    .assert_error(400, "validation_failed");
    let (key, r) = upload(&app, &ann, "post", "image/png", png_bomb()).await;
    r.assert_error(400, "invalid_media");
    assert_eq!(
        app.get(&format!("/media/{key}"), Some(&ann)).await.body["status"],
        "failed"
    );
    let (_, r) = upload(
        &app,
        &ann,
        "post",
        "image/jpeg",
        b"this is not a picture at all".to_vec(),
    )
    .await;
    r.assert_error(400, "invalid_media");
}

pub(crate) fn ffmpeg_clip(dir: &std::path::Path) -> Vec<u8> {
    let out = dir.join("clip.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=320x240:rate=10",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-shortest",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-y",
        ])
        .arg(&out)
        .status()
        .expect("FFmpeg is needed for video tests: scripts/test.sh installs it");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_video_is_processed_to_ready_with_a_poster_and_seekable() {
    let app = TestApp::new().await;
    assert!(
        app.app.ctx.media.video.is_some(),
        "FFmpeg must be installed (scripts/test.sh does)"
    );
    let ann = app.user_with_handle("ann").await;
    let clip = ffmpeg_clip(app.dir.path());
    let (key, r) = upload(&app, &ann, "post", "video/mp4", clip).await;
    assert_eq!(r.body["status"], "processing", "{:?}", r.body);
    let p = app
        .post("/posts", Some(&ann), json!({"text": "", "media": [key]}))
        .await;
    p.assert_error(409, "media_not_ready");
    // Somebody else's upload is not theirs to process, nor even to know of.
    let bob = app.user_with_handle("bob").await;
    app.post("/process-video", Some(&bob), json!({"key": key}))
        .await
        .assert_error(404, "not_found");
    // The transcode was queued by the upload itself: no /process-video needed.
    app.drain_jobs().await;
    let m = app.get(&format!("/media/{key}"), Some(&ann)).await.body;
    assert_eq!(m["status"], "ready", "{m:?}");
    // The original's route still answers, and changes nothing on a ready video.
    let r = app
        .post("/process-video", Some(&ann), json!({"key": key}))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["status"].clone()),
        (202, json!("ready"))
    );
    assert!(
        m["durationMs"]
            .as_u64()
            .is_some_and(|d| (900..=1200).contains(&d)),
        "{m:?}"
    );
    assert!(m["thumbnailUrl"].is_string());
    // The placeholder comes from the poster frame; sizes are for images only.
    assert!(
        m["blurhash"].as_str().is_some_and(|h| h.len() == 28),
        "{m:?}"
    );
    assert_eq!(m["variants"], json!([]));
    let url = m["url"].as_str().unwrap();
    let (status, headers, part) = raw_get(&app, url, &[("range", "bytes=0-99")]).await;
    assert_eq!(status, 206);
    assert_eq!(part.len(), 100);
    assert!(
        headers["content-range"]
            .to_str()
            .unwrap()
            .starts_with("bytes 0-99/")
    );
    assert_eq!(headers["accept-ranges"], "bytes");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (status, _, _) = raw_get(&app, url, &[("if-none-match", &etag)]).await;
    assert_eq!(status, 304);
    let (status, _, _) = raw_get(&app, url, &[("range", "bytes=999999999-")]).await;
    assert_eq!(status, 416);
    let (status, _, poster) = raw_get(&app, m["thumbnailUrl"].as_str().unwrap(), &[]).await;
    assert_eq!(status, 200);
    assert!(image::load_from_memory(&poster).is_ok());
    let post = app
        .post("/posts", Some(&ann), json!({"text": "", "media": [key]}))
        .await;
    assert_eq!(post.status, 201, "{:?}", post.body);
    assert_eq!(post.body["media"][0]["kind"], "video");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_that_are_not_video_fail_processing_and_the_server_stays_up() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let (png_key, _) = upload(&app, &ann, "post", "video/mp4", png(16, 16)).await;
    let (txt_key, _) = upload(
        &app,
        &ann,
        "post",
        "video/mp4",
        b"#EXTM3U\n#EXT-X-TARGETDURATION:1\nhttp://example.com/x.ts\n".to_vec(),
    )
    .await;
    for key in [&png_key, &txt_key] {
        assert_eq!(
            app.post("/process-video", Some(&ann), json!({"key": key}))
                .await
                .status,
            202
        );
    }
    app.drain_jobs().await;
    for key in [&png_key, &txt_key] {
        let m = app.get(&format!("/media/{key}"), Some(&ann)).await.body;
        assert_eq!(m["status"], "failed", "{m:?}");
        assert_eq!(m["errorCode"], "unusable_media");
        // A plain message: no FFmpeg internals (container lists, memory addresses).
        let error = m["error"].as_str().unwrap();
        assert!(error.starts_with("not a usable video"), "{error}");
        assert!(!error.contains("0x") && !error.contains('['), "{error}");
    }
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

#[tokio::test]
async fn media_in_posts_must_be_my_own_ready_uploads() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let (mine, _) = upload(&app, &ann, "post", "image/png", png(4, 4)).await;
    let (theirs, _) = upload(&app, &bob, "post", "image/png", png(4, 4)).await;
    let (avatar, _) = upload(&app, &ann, "avatar", "image/png", png(4, 4)).await;
    for keys in [
        json!([theirs]),
        json!([avatar]),
        json!(["post/nobody/x.png"]),
        json!([mine, mine]),
    ] {
        let r = app
            .post("/posts", Some(&ann), json!({"text": "x", "media": keys}))
            .await;
        assert_eq!(r.status, 400, "{keys}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], "media");
    }
    let eleven: Vec<String> = (0..11).map(|_| mine.clone()).collect();
    app.post("/posts", Some(&ann), json!({"text": "x", "media": eleven}))
        .await
        .assert_error(400, "validation_failed");
    app.get(&format!("/media/{theirs}"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    app.delete(&format!("/media/{theirs}"), Some(&ann))
        .await
        .assert_error(404, "not_found");
    let p = app
        .post("/posts", Some(&ann), json!({"text": "", "media": [mine]}))
        .await;
    assert_eq!(p.status, 201, "{:?}", p.body);
    assert_eq!(p.body["media"][0]["status"], "ready");
    assert!(
        p.body["media"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/files/post/")
    );
    let id = p.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&format!("/media/{mine}"), Some(&ann))
            .await
            .status,
        204
    );
    let after = app.get(&format!("/posts/{id}"), Some(&ann)).await.body;
    assert_eq!(
        (
            after["media"][0]["status"].clone(),
            after["media"][0]["url"].clone()
        ),
        (json!("removed"), json!(null))
    );
    app.drain_jobs().await;
    let (status, _, _) = raw_get(&app, &format!("/files/{mine}"), &[]).await;
    assert_eq!(status, 404, "the file is gone");
}

#[tokio::test]
async fn an_avatar_shows_everywhere_my_summary_does_and_my_files_go_with_my_account() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bob = app.user_with_handle("bob").await;
    let (post_key, _) = upload(&app, &ann, "post", "image/png", png(4, 4)).await;
    app.post("/me/avatar", Some(&ann), json!({"key": post_key}))
        .await
        .assert_error(400, "invalid_media");
    let (bobs, _) = upload(&app, &bob, "avatar", "image/png", png(4, 4)).await;
    app.post("/me/avatar", Some(&ann), json!({"key": bobs}))
        .await
        .assert_error(400, "invalid_media");
    let (key, _) = upload(&app, &ann, "avatar", "image/png", png(40, 40)).await;
    let me = app
        .post("/me/avatar", Some(&ann), json!({"key": key}))
        .await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    let url = me.body["avatarUrl"].as_str().unwrap().to_owned();
    assert!(url.ends_with(".thumb.jpg"));
    let found = app.get("/search?q=ann", Some(&bob)).await.body;
    assert_eq!(found["items"][0]["avatarUrl"], url.as_str());
    // The full size beside the thumbnail, served, at the uploaded size.
    let full = me.body["avatarFullUrl"].as_str().unwrap().to_owned();
    assert_eq!(format!("{full}.thumb.jpg"), url);
    let profile = app.get("/u/ann", Some(&bob)).await.body;
    assert_eq!(profile["avatarFullUrl"], full.as_str());
    let (status, _, bytes) = raw_get(&app, &full, &[]).await;
    assert_eq!(status, 200);
    let img = image::load_from_memory(&bytes).expect("an image");
    assert_eq!((img.width(), img.height()), (40, 40));
    let dir = app
        .dir
        .path()
        .join("media")
        .join("avatar")
        .join(me.body["id"].as_str().unwrap());
    assert!(dir.exists());
    app.delete("/me", Some(&ann)).await;
    app.drain_jobs().await;
    assert!(!dir.exists(), "my files go with my account");
    assert_eq!(raw_get(&app, &url, &[]).await.0, 404);
    assert_eq!(raw_get(&app, &full, &[]).await.0, 404);
}

#[tokio::test]
async fn a_pending_key_cannot_be_used_and_unknown_routes_still_404() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let t = ticket(
        &app,
        &ann,
        "/upload-url",
        json!({"contentType": "image/png", "size": 10, "purpose": "post"}),
    )
    .await;
    let key = t["key"].as_str().unwrap();
    app.post("/posts", Some(&ann), json!({"text": "x", "media": [key]}))
        .await
        .assert_error(409, "media_not_ready");
    app.post("/process-video", Some(&ann), json!({"key": key}))
        .await
        .assert_error(400, "invalid_media");
    let (status, _, _) = raw_get(&app, "/files/../../etc/passwd", &[]).await;
    assert_eq!(status, 404);
    let r = app
        .request(Method::PUT, "/uploads/post/a/b.png", None, None)
        .await;
    assert_eq!(r.status, 400, "no signature: {:?}", r.body);
}

#[tokio::test]
async fn an_iphone_heic_photo_becomes_a_clean_jpeg() {
    let app = TestApp::new().await;
    assert!(
        app.app.ctx.media.heic.is_some(),
        "libheif must be installed (scripts/test.sh does)"
    );
    let ann = app.user_with_handle("ann").await;
    let jpeg = app.dir.path().join("in.jpg");
    let heic = app.dir.path().join("in.heic");
    std::fs::write(&jpeg, jpeg_with_gps()).unwrap();
    let ok = std::process::Command::new("heif-enc")
        .arg("-q")
        .arg("60")
        .arg("-o")
        .arg(&heic)
        .arg(&jpeg)
        .status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "heif-enc is needed (scripts/test.sh installs it)"
    );
    let (key, r) = upload(
        &app,
        &ann,
        "post",
        "image/heic",
        std::fs::read(&heic).unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["width"].as_u64(), r.body["height"].as_u64()),
        (Some(64), Some(48))
    );
    let (status, headers, stored) = raw_get(&app, &format!("/files/{key}"), &[]).await;
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (200, "image/jpeg")
    );
    assert!(image::load_from_memory_with_format(&stored, ImageFormat::Jpeg).is_ok());
    assert!(!contains(&stored, b"Exif"));
    let (_, r) = upload(&app, &ann, "post", "image/heic", png(4, 4)).await;
    r.assert_error(400, "invalid_media");
}

#[tokio::test]
async fn a_suspension_revokes_upload_urls_already_issued() {
    let app = TestApp::with_env(&[("ADMIN_EMAILS", "mod@example.com")]).await;
    let admin = app.token("mod@example.com").await;
    let troll = app.user_with_handle("troll").await;
    let troll_id = app.get("/me", Some(&troll)).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = png(4, 4);
    let t = ticket(
        &app,
        &troll,
        "/upload-url",
        json!({"contentType": "image/png", "size": bytes.len(), "purpose": "post"}),
    )
    .await;
    let r = app
        .post(
            &format!("/admin/users/{troll_id}/suspend"),
            Some(&admin),
            json!({"reason": "spam"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = t["uploadUrl"].as_str().unwrap();
    put(&app, url, "image/png", bytes.clone())
        .await
        .assert_error(403, "account_suspended");
    let key = t["key"].as_str().unwrap();
    let (status, _, _) = raw_get(&app, &format!("/files/{key}"), &[]).await;
    assert_eq!(status, 404, "nothing was stored or served");
    // Lifted: the same URL works again (it has not expired).
    app.post(
        &format!("/admin/users/{troll_id}/unsuspend"),
        Some(&admin),
        json!({}),
    )
    .await;
    assert_eq!(put(&app, url, "image/png", bytes).await.status, 200);
}

#[tokio::test]
async fn only_what_the_server_made_is_served_and_as_what_it_is() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    // PNG bytes under a JPEG grant: refused, not stored as a .jpg that is a PNG.
    let (liar, r) = upload(&app, &ann, "post", "image/jpeg", png(4, 4)).await;
    r.assert_error(400, "invalid_media");
    let m = app.get(&format!("/media/{liar}"), Some(&ann)).await.body;
    assert_eq!(m["status"], "failed");
    assert_eq!(raw_get(&app, &format!("/files/{liar}"), &[]).await.0, 404);
    // An HTML page under a video grant: never served as it was uploaded, neither while
    // it waits for processing nor after the transcode refused it.
    let page = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    let (html, r) = upload(&app, &ann, "post", "video/mp4", page).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(raw_get(&app, &format!("/files/{html}"), &[]).await.0, 404);
    app.drain_jobs().await;
    assert_eq!(raw_get(&app, &format!("/files/{html}"), &[]).await.0, 404);
    // What is served is marked as what it is, and cannot run as a page.
    let (photo, r) = upload(&app, &ann, "post", "image/png", png(4, 4)).await;
    assert_eq!(r.status, 200);
    let (status, headers, _) = raw_get(&app, &format!("/files/{photo}"), &[]).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let thumb = format!("/files/{photo}.thumb.jpg");
    assert_eq!(raw_get(&app, &thumb, &[]).await.0, 200);
}

#[tokio::test]
async fn an_upload_cut_off_by_a_crash_can_be_sent_again() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bytes = png(4, 4);
    let t = ticket(
        &app,
        &ann,
        "/upload-url",
        json!({"contentType": "image/png", "size": bytes.len(), "purpose": "post"}),
    )
    .await;
    let key = t["key"].as_str().unwrap().to_owned();
    let url = t["uploadUrl"].as_str().unwrap().to_owned();
    let store = app.app.ctx.store.clone();
    // Another request is sending the bytes right now: a second PUT is refused.
    let now = scooter_core::Timestamp::now();
    assert!(
        store
            .begin_upload(&key, now, now.plus_seconds(-600))
            .await
            .unwrap()
    );
    put(&app, &url, "image/png", bytes.clone())
        .await
        .assert_error(409, "already_uploaded");
    // The process died mid-upload an hour ago (the claim is older than any upload may
    // take): the same, still valid URL works.
    store.abort_upload(&key).await.unwrap();
    let hour_ago = now.plus_seconds(-3600);
    assert!(store.begin_upload(&key, hour_ago, hour_ago).await.unwrap());
    let r = put(&app, &url, "image/png", bytes).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "ready");
}

#[tokio::test]
async fn complete_answers_the_state_of_an_upload_sent_through_the_server() {
    // One flow in every shape: ticket, PUT, complete. Here the PUT checked the bytes.
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    let bytes = jpeg_with_gps();
    let t = ticket(
        &app,
        &ann,
        "/upload-url",
        json!({"contentType": "image/jpeg", "size": bytes.len(), "purpose": "post"}),
    )
    .await;
    let key = t["key"].as_str().unwrap().to_owned();
    let complete = t["completeUrl"].as_str().unwrap().to_owned();
    assert_eq!(complete, format!("/media/{key}/complete"));
    assert_eq!(t["headers"]["Content-Type"], "image/jpeg");
    // Nothing sent yet: not complete, and nothing changes.
    app.post(&complete, Some(&ann), json!({}))
        .await
        .assert_error(409, "media_not_ready");
    let r = put(&app, t["uploadUrl"].as_str().unwrap(), "image/jpeg", bytes).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let done = app.post(&complete, Some(&ann), json!({})).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body, r.body, "complete answers the stored upload");
    // A repeat answers the same; someone else learns nothing of it.
    assert_eq!(
        app.post(&complete, Some(&ann), json!({})).await.body,
        r.body
    );
    let bob = app.user_with_handle("bob").await;
    app.post(&complete, Some(&bob), json!({}))
        .await
        .assert_error(404, "not_found");
    app.post(&complete, None, json!({}))
        .await
        .assert_error(401, "missing_token");
    // Two paths share one catch-all route; each allows only its own methods.
    let r = app
        .post(&format!("/media/{key}"), Some(&ann), json!({}))
        .await;
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.headers["allow"], "GET,HEAD,DELETE");
    let r = app.get(&complete, Some(&ann)).await;
    r.assert_error(405, "method_not_allowed");
    assert_eq!(r.headers["allow"], "POST");
    let r = app.delete(&complete, Some(&ann)).await;
    assert_eq!(
        (r.status.as_u16(), &r.headers["allow"]),
        (405, &"POST".parse::<axum::http::HeaderValue>().unwrap())
    );
}

/// A photo of `w × h` with some detail (a gradient), as JPEG or PNG.
fn photo(w: u32, h: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn images_come_in_sizes_for_every_screen_with_a_placeholder() {
    let app = TestApp::new().await;
    let ann = app.user_with_handle("ann").await;
    for (format, ct, (w, h), expected) in [
        (
            ImageFormat::Jpeg,
            "image/jpeg",
            (2500, 1000),
            vec![(320_u64, 128_u64), (640, 256), (1080, 432), (2048, 819)],
        ),
        (
            ImageFormat::Png,
            "image/png",
            (700, 400),
            vec![(320, 183), (640, 366), (700, 400)],
        ),
    ] {
        let (key, r) = upload(&app, &ann, "post", ct, photo(w, h, format)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let media = app.get(&format!("/media/{key}"), Some(&ann)).await.body;
        let variants = media["variants"].as_array().unwrap();
        let sizes: Vec<(u64, u64)> = variants
            .iter()
            .map(|v| (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap()))
            .collect();
        assert_eq!(sizes, expected, "{ct}");
        // Each is served, as what it is and at the size listed; the original's entry
        // is the original itself.
        for v in variants {
            let url = v["url"].as_str().unwrap();
            let (status, headers, bytes) = raw_get(&app, url, &[]).await;
            assert_eq!(status, 200, "{url}");
            assert_eq!(headers["content-type"], ct, "{url}");
            let img = image::load_from_memory(&bytes).unwrap();
            assert_eq!(
                (u64::from(img.width()), u64::from(img.height())),
                (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap())
            );
        }
        if u64::from(w) <= 2048 {
            assert_eq!(variants.last().unwrap()["url"], media["url"]);
        }
        // The placeholder: a 4×3-component BlurHash (28 characters) that decodes, of
        // the picture's colours.
        let hash = media["blurhash"].as_str().unwrap();
        assert_eq!(hash.len(), 28, "{hash}");
        assert!(
            hash.chars()
                .all(|c| c.is_ascii_alphanumeric() || "#$%*+,-.:;=?@[]^_{|}~".contains(c)),
            "{hash}"
        );
        // Posts carry the same.
        let post = app
            .post("/posts", Some(&ann), json!({"text": "", "media": [key]}))
            .await;
        assert_eq!(post.status, 201, "{:?}", post.body);
        assert_eq!(post.body["media"][0]["variants"], media["variants"]);
        assert_eq!(post.body["media"][0]["blurhash"], media["blurhash"]);
        // Deleting the post's media takes every size with it.
        app.delete(
            &format!("/posts/{}", post.body["id"].as_str().unwrap()),
            Some(&ann),
        )
        .await;
        app.drain_jobs().await;
        for v in variants {
            let url = v["url"].as_str().unwrap();
            assert_eq!(
                raw_get(&app, url, &[]).await.0,
                404,
                "{url} outlived its post"
            );
        }
        let stem = key.rsplit('/').next().unwrap();
        let left = files_under(app.dir.path())
            .into_iter()
            .filter(|p| p.to_string_lossy().contains(stem))
            .collect::<Vec<_>>();
        assert!(left.is_empty(), "files left behind: {left:?}");
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
