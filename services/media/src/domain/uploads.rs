//! Issuing upload URLs, receiving the bytes, and completing uploads.
//!
//! One flow in every shape: `POST /upload-url` answers where to `PUT` the bytes (this
//! server's `/uploads/{key}`, or a presigned URL of the bucket), then
//! `POST /media/{key}/complete` answers the checked Media. Bytes sent through this
//! server are checked as they arrive; bytes sent to the bucket are checked at
//! `complete` (size, declared type, the type the bytes show), because emulators and
//! some S3-compatible stores do not enforce a presigned URL's signature, length or type.

use crate::error::MediaServiceError as E;
use scooter_core::media::{
    Media, MediaKind, MediaPurpose, MediaStatus, is_valid_key, new_key, upload_type, variant_key,
};
use scooter_core::user::User;
use scooter_core::{Timestamp, UserId};
use scooter_http::MediaContext;
use scooter_media::blobs::{ByteStream, Staged, thumb_key};
use scooter_media::images;
use scooter_store::{MediaUpdate, Store};

/// What a client needs to upload.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// The key the file will have.
    pub key: String,
    /// Where to `PUT` it: relative to the API origin, or the bucket's presigned URL.
    pub url: String,
    /// The headers to send with it, exactly (the type and size, and what else the
    /// bucket's signature covers).
    pub headers: Vec<(String, String)>,
    /// When the URL stops working.
    pub expires_at: Timestamp,
}

/// Issues an upload URL under my own key prefix; the server picks the key.
pub async fn issue(
    store: &dyn Store,
    media: &MediaContext,
    me: &UserId,
    content_type: &str,
    size: u64,
    purpose: MediaPurpose,
) -> Result<Ticket, E> {
    let t = upload_type(content_type, size, purpose)?;
    if t.content_type == "image/heic" && media.heic.is_none() {
        let why = "HEIC is not supported on this server (libheif is not installed); send JPEG";
        return Err(scooter_core::ValidationError::new("contentType", why).into());
    }
    let key = new_key(purpose, me, t);
    let now = Timestamp::now();
    let expires_at = now.plus_seconds(i64::try_from(media.upload_ttl.as_secs()).unwrap_or(900));
    store
        .create_media(Media {
            key: key.clone(),
            owner: me.clone(),
            purpose,
            kind: t.kind,
            content_type: t.content_type.to_owned(),
            size,
            status: MediaStatus::Pending,
            width: None,
            height: None,
            duration_ms: None,
            thumb_key: None,
            blurhash: None,
            error: None,
            created_at: now,
        })
        .await?;
    let direct = media
        .blobs
        .direct_upload(&key, t.content_type, size, media.upload_ttl)
        .await?;
    let (url, headers) = match direct {
        Some(d) => (d.url, d.headers),
        None => {
            let sig = media
                .signer
                .sign(&key, t.content_type, size, expires_at.seconds());
            let url = format!(
                "/uploads/{key}?expires={}&signature={sig}",
                expires_at.seconds()
            );
            let headers = vec![
                ("Content-Type".to_owned(), t.content_type.to_owned()),
                ("Content-Length".to_owned(), size.to_string()),
            ];
            (url, headers)
        }
    };
    Ok(Ticket {
        key,
        url,
        headers,
        expires_at,
    })
}

/// An upload as it arrives.
pub struct Incoming {
    /// The key from the URL.
    pub key: String,
    /// `expires` from the URL.
    pub expires: i64,
    /// `signature` from the URL.
    pub signature: String,
    /// The request's `Content-Type`.
    pub content_type: String,
    /// The request's `Content-Length`.
    pub content_length: Option<u64>,
}

/// Receives the bytes of a signed upload, checks them and stores them. Images are
/// cleaned and thumbnailed here; videos wait for `POST /process-video`.
pub async fn receive(
    store: &dyn Store,
    media: &MediaContext,
    up: Incoming,
    body: ByteStream,
) -> Result<Media, E> {
    if !is_valid_key(&up.key) {
        return Err(E::NotFound);
    }
    let m = store.get_media(&up.key).await?.ok_or(E::NotFound)?;
    let ct = up
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !media
        .signer
        .verify(&m.key, &m.content_type, m.size, up.expires, &up.signature)
    {
        return Err(E::BadSignature);
    }
    if up.expires < Timestamp::now().seconds() {
        return Err(E::Expired);
    }
    // The URL was issued before a suspension: it is the account's, and a suspended
    // account publishes nothing (nor can a deleted one).
    match store.get_user(&m.owner).await? {
        Some(owner) if !owner.is_suspended() => {}
        Some(_) => return Err(E::OwnerSuspended),
        None => return Err(E::NotFound),
    }
    if ct != m.content_type {
        return Err(E::Rejected(format!(
            "Content-Type must be {} as signed",
            m.content_type
        )));
    }
    if up.content_length.is_some_and(|l| l != m.size) {
        return Err(E::Rejected(format!(
            "Content-Length must be {} as signed",
            m.size
        )));
    }
    let now = Timestamp::now();
    let stale_before =
        now.plus_seconds(-i64::try_from(media.upload_timeout.as_secs()).unwrap_or(i64::MAX));
    if !store.begin_upload(&m.key, now, stale_before).await? {
        return Err(E::AlreadyUploaded);
    }
    let staged = match media.blobs.stage(&m.key, body, m.size).await {
        Ok(s) => s,
        Err(e) => {
            // `stage` removed its partial file.
            store.abort_upload(&m.key).await?;
            return Err(e.into());
        }
    };
    let stored = store_upload(store, media, &m, staged).await;
    settle(store, media, &m, stored).await
}

/// Records how a claimed upload ended: stored, refused (nothing kept, the upload
/// failed), or broken off on our side (what was written removed, the upload pending
/// again so the same URL, or `complete`, works once the fault is gone).
async fn settle(
    store: &dyn Store,
    media: &MediaContext,
    m: &Media,
    outcome: Result<Media, Undo>,
) -> Result<Media, E> {
    match outcome {
        Ok(ready) => {
            // The checked copy is stored: the client's bytes are not needed any more.
            if let Err(e) = media.blobs.drop_upload(&m.key).await {
                tracing::warn!(key = %m.key, error = %e, "could not delete a checked direct upload; the sweep will");
            }
            Ok(ready)
        }
        Err(Undo::Failed(e)) => {
            // The file itself is bad: nothing is kept and the upload is over.
            let _ = media.blobs.delete(&m.key).await;
            let _ = media.blobs.drop_upload(&m.key).await;
            let failed = MediaUpdate {
                status: Some(MediaStatus::Failed),
                error: Some(e.to_string()),
                ..MediaUpdate::default()
            };
            store.update_media(&m.key, failed).await?;
            Err(e)
        }
        Err(Undo::Retryable(e)) => {
            // What the server stored goes; a client's direct upload stays where it is
            // for the next `complete`.
            if let Err(del) = media.blobs.delete(&m.key).await {
                tracing::warn!(key = %m.key, error = %del, "could not remove a broken-off upload's files");
            }
            if let Err(abort) = store.abort_upload(&m.key).await {
                tracing::warn!(key = %m.key, error = %abort, "could not return an upload to pending");
            }
            Err(e)
        }
    }
}

/// The first bytes of an ISO media file (MP4, QuickTime): a box size, then its type.
fn looks_like_video(head: &[u8]) -> bool {
    const BOXES: [&[u8; 4]; 7] = [
        b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot",
    ];
    head.len() >= 8 && BOXES.iter().any(|b| &head[4..8] == *b)
}

/// How many first bytes `complete` reads to see what a direct upload is.
const SNIFF_BYTES: usize = 64;

/// Completes my upload: a direct upload to the bucket is checked (its size, then its
/// bytes against the declared type), images are cleaned and stored, videos queued for
/// their transcode. An upload already completed answers its current state, so a
/// repeat answers the same.
pub async fn complete(
    store: &dyn Store,
    media: &MediaContext,
    me: &UserId,
    key: &str,
) -> Result<Media, E> {
    let m = crate::domain::manage::mine(store, me, key).await?;
    match m.status {
        MediaStatus::Pending => {}
        MediaStatus::Uploading => return Err(E::WrongState("the upload is being received")),
        _ => return Ok(m),
    }
    // Only a video's first bytes are read here: an image is downloaded whole and
    // decoded below, which says what it is.
    let sniff = match m.kind {
        MediaKind::Video => SNIFF_BYTES,
        MediaKind::Image => 0,
    };
    let Some((size, head)) = media.blobs.peek_upload(&m.key, sniff).await? else {
        return Err(E::WrongState("the file was not uploaded yet"));
    };
    let now = Timestamp::now();
    let stale_before =
        now.plus_seconds(-i64::try_from(media.upload_timeout.as_secs()).unwrap_or(i64::MAX));
    if !store.begin_upload(&m.key, now, stale_before).await? {
        // Another `complete` of the same upload got there first.
        return Err(E::WrongState("the upload is being received"));
    }
    let outcome = async {
        if size != m.size {
            return Err(Undo::Failed(E::Rejected(format!(
                "the file has {size} bytes, not the declared {}",
                m.size
            ))));
        }
        match m.kind {
            MediaKind::Video => {
                if !looks_like_video(&head) {
                    return Err(Undo::Failed(E::Rejected(format!(
                        "the file is not a video, not the {} it was declared as",
                        m.content_type
                    ))));
                }
                let update = MediaUpdate {
                    status: Some(MediaStatus::Processing),
                    transcode: media.video.is_some(),
                    ..MediaUpdate::default()
                };
                store
                    .update_media(&m.key, update)
                    .await?
                    .ok_or(Undo::Retryable(E::NotFound))
            }
            MediaKind::Image => {
                let staged = media.blobs.stage_upload(&m.key, m.size).await?;
                store_upload(store, media, &m, staged).await
            }
        }
    }
    .await;
    match (m.kind, outcome) {
        // The video's original stays where the client put it until it is transcoded.
        (MediaKind::Video, Ok(processing)) => Ok(processing),
        (_, outcome) => settle(store, media, &m, outcome).await,
    }
}

/// How an upload that failed after its bytes arrived is undone.
enum Undo {
    /// The file is unusable: mark the upload failed.
    Failed(E),
    /// The failure is ours: the client may send the same bytes again.
    Retryable(E),
}

impl From<E> for Undo {
    fn from(e: E) -> Self {
        match e {
            E::Rejected(_) | E::Invalid(_) => Undo::Failed(e),
            other => Undo::Retryable(other),
        }
    }
}

impl From<scooter_media::MediaError> for Undo {
    fn from(e: scooter_media::MediaError) -> Self {
        E::from(e).into()
    }
}

impl From<scooter_store::StoreError> for Undo {
    fn from(e: scooter_store::StoreError) -> Self {
        Undo::Retryable(e.into())
    }
}

/// Checks and cleans the staged bytes, makes them visible, and records the result. Any
/// error leaves a staged file discarded; the caller removes committed files.
async fn store_upload(
    store: &dyn Store,
    media: &MediaContext,
    m: &Media,
    staged: Staged,
) -> Result<Media, Undo> {
    let update = match m.kind {
        MediaKind::Image => {
            let cleaned = clean_image(media, m, &staged).await;
            let p = match cleaned {
                Ok(p) => p,
                Err(e) => {
                    media.blobs.discard(staged).await;
                    return Err(e);
                }
            };
            media.blobs.commit(staged).await?;
            let thumb = thumb_key(&m.key);
            media.blobs.put(&thumb, p.thumbnail).await?;
            for (width, file) in p.variants {
                media.blobs.put(&variant_key(&m.key, width), file).await?;
            }
            MediaUpdate {
                status: Some(MediaStatus::Ready),
                content_type: Some(p.content_type.to_owned()),
                width: Some(p.width),
                height: Some(p.height),
                thumb_key: Some(thumb),
                blurhash: Some(p.blurhash),
                ..MediaUpdate::default()
            }
        }
        MediaKind::Video => {
            media.blobs.commit(staged).await?;
            MediaUpdate {
                status: Some(MediaStatus::Processing),
                // Straight to its transcode, in the same write: an app need not call
                // `/process-video` (kept for the original's API). Without FFmpeg the
                // video waits, and `/process-video` says why.
                transcode: media.video.is_some(),
                ..MediaUpdate::default()
            }
        }
    };
    Ok(store
        .update_media(&m.key, update)
        .await?
        .ok_or(E::NotFound)?)
}

/// Decodes, cleans and thumbnails an image, writing the cleaned bytes over the staged
/// file before anyone can read it.
async fn clean_image(
    media: &MediaContext,
    m: &Media,
    staged: &Staged,
) -> Result<images::ProcessedImage, Undo> {
    let bytes = match (&media.heic, m.content_type.as_str()) {
        // An iPhone photo becomes a JPEG first, then is cleaned like any image.
        (Some(heic), "image/heic") => heic.to_jpeg(&staged.path).await?,
        _ => tokio::fs::read(&staged.path)
            .await
            .map_err(|e| scooter_media::MediaError::io(&e))?,
    };
    // The memory this decode will take is reserved first (waiting while others hold
    // it), from the size the header declares.
    let (width, height) = images::declared_size(&bytes)?;
    let reserved = media.decode_budget.reserve(width, height).await?;
    let mut p = tokio::task::spawn_blocking(move || images::process(&bytes))
        .await
        .map_err(|e| E::Internal(e.to_string()))??;
    drop(reserved);
    // The type follows the bytes: a file is stored and served as what it is, so the
    // bytes must be what the URL was signed for (a HEIC upload is a JPEG by now).
    let declared = match m.content_type.as_str() {
        "image/heic" => "image/jpeg",
        other => other,
    };
    if p.content_type != declared {
        return Err(Undo::Failed(E::Rejected(format!(
            "the file is {}, not the {} it was declared as",
            p.content_type, m.content_type
        ))));
    }
    scooter_media::blobs::write_durably(&staged.path, std::mem::take(&mut p.bytes)).await?;
    Ok(p)
}

/// An upload of mine that is ready and meant for `purpose`, for attaching.
pub fn usable(m: &Media, me: &User, purpose: MediaPurpose) -> Result<(), E> {
    if m.owner != me.id || m.purpose != purpose {
        return Err(E::NotFound);
    }
    match m.status {
        MediaStatus::Ready => Ok(()),
        MediaStatus::Processing => Err(E::WrongState("the video is still processing")),
        MediaStatus::Pending | MediaStatus::Uploading => {
            Err(E::WrongState("the file was not uploaded yet"))
        }
        MediaStatus::Failed | MediaStatus::Removed => {
            Err(E::Rejected(format!("media {} cannot be used", m.key)))
        }
    }
}
