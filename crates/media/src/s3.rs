//! Files in an S3 bucket (or any S3-compatible store): `BLOB_STORE=s3`.
//!
//! Layout, under the bucket and an optional prefix: `<key>` holds what the server made
//! (cleaned images, transcoded videos, thumbnails and posters), and only that;
//! `incoming/<key>` holds what a client sent with its presigned `PUT`, until the server
//! has checked it (`POST /media/{key}/complete`). A CDN in front of the bucket therefore
//! never serves a client's raw bytes, and a refused upload is deleted where it lies.
//!
//! Presigned `PUT`s sign the content type, the exact length and `If-None-Match: *`, so a
//! strict store refuses another size, another type, a second write and a late one; the
//! server's check at `complete` does not rely on that (emulators and some S3-compatible
//! stores accept any presigned request). Checksums are sent only where the API
//! requires them: several S3-compatible stores refuse the SDK's default trailers.

use crate::MediaError;
use crate::blobs::{
    BlobStore, ByteStream, DirectUpload, Fetched, Located, Staged, derived_keys, owner_folders,
    part_suffix, stored_type, write_exact,
};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use scooter_core::media::is_valid_key;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tokio::io::AsyncWriteExt;

/// Where direct uploads wait for their check, under the prefix.
const INCOMING: &str = "incoming/";

/// How long an unchecked direct upload may wait before the sweep deletes it. Longer
/// than any upload URL lives, so a client that uploaded may still complete.
const INCOMING_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// How long a presigned `GET` answered by `/files/{key}` stays valid.
const SERVE_TTL: Duration = Duration::from_secs(15 * 60);

/// S3 settings (`S3_BUCKET`, `S3_PREFIX`, `S3_FORCE_PATH_STYLE`, `AWS_ENDPOINT_URL`,
/// `MEDIA_BASE_URL`).
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// The bucket.
    pub bucket: String,
    /// Prepended to every object name (`media/`, or empty).
    pub prefix: String,
    /// Path-style URLs (`http://host/bucket/key`), which most S3-compatible servers need.
    pub force_path_style: bool,
    /// The endpoint of an S3-compatible server; AWS's own when unset.
    pub endpoint: Option<String>,
    /// A CDN (or public bucket) URL that serves the objects: files redirect there
    /// rather than to a presigned URL.
    pub public_base: Option<String>,
    /// A local folder for the copies processing reads and writes.
    pub scratch_dir: PathBuf,
}

/// Files in an S3 bucket.
#[derive(Clone)]
pub struct S3Blobs {
    client: Client,
    bucket: String,
    prefix: String,
    public_base: Option<String>,
    scratch_dir: PathBuf,
}

impl std::fmt::Debug for S3Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Blobs")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// An SDK failure, with its cause chain (the SDK's `Display` alone says "service error").
fn sdk(e: impl std::error::Error) -> MediaError {
    MediaError::Internal(format!("S3: {}", DisplayErrorContext(e)))
}

fn io(e: std::io::Error) -> MediaError {
    MediaError::io(&e)
}

impl S3Blobs {
    /// A client for `settings`, with credentials and region from the standard AWS chain.
    /// Nothing is fetched here: the first request finds out whether the bucket answers.
    pub async fn connect(settings: S3Settings) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = &settings.endpoint {
            loader = loader.endpoint_url(url);
        }
        let shared = loader.load().await;
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.force_path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        Self {
            client: Client::from_conf(config),
            bucket: settings.bucket,
            prefix: settings.prefix,
            public_base: settings
                .public_base
                .map(|b| b.trim_end_matches('/').to_owned()),
            scratch_dir: settings.scratch_dir,
        }
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The bytes of an object by its full name, `None` when there is none (for tests
    /// and tools that look at the bucket directly).
    pub async fn read_object(&self, object: &str) -> Result<Option<Vec<u8>>, MediaError> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object)
            .send()
            .await
        {
            Ok(out) => Ok(Some(
                out.body.collect().await.map_err(sdk)?.into_bytes().to_vec(),
            )),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(sdk(e)),
        }
    }

    /// Creates the bucket when it does not exist (tests, and `migrate` against an
    /// emulator); a deployment's template normally makes it.
    pub async fn create_bucket_if_missing(&self) -> Result<(), MediaError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        match self
            .client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.code(),
                    Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk(e)),
        }
    }

    /// The object name of a stored file.
    pub fn object(&self, key: &str) -> Result<String, MediaError> {
        if !is_valid_key(key) {
            return Err(MediaError::Rejected("invalid key".into()));
        }
        Ok(format!("{}{key}", self.prefix))
    }

    /// The object name of a client's direct upload of `key`.
    pub fn incoming(&self, key: &str) -> Result<String, MediaError> {
        if !is_valid_key(key) {
            return Err(MediaError::Rejected("invalid key".into()));
        }
        Ok(format!("{}{INCOMING}{key}", self.prefix))
    }

    async fn scratch_file(&self) -> Result<PathBuf, MediaError> {
        tokio::fs::create_dir_all(&self.scratch_dir)
            .await
            .map_err(io)?;
        Ok(self.scratch_dir.join(format!("blob.{}", part_suffix()?)))
    }

    /// Downloads `object` to a fresh scratch file, refusing more than `limit` bytes.
    async fn download(&self, object: &str, limit: u64) -> Result<PathBuf, MediaError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(s) if s.is_no_such_key() => {
                    MediaError::Rejected("the file was not uploaded".into())
                }
                _ => sdk(e),
            })?;
        let path = self.scratch_file().await?;
        let mut body = out.body;
        let result = async {
            let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
            let mut written: u64 = 0;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(sdk)?;
                written += chunk.len() as u64;
                if written > limit {
                    return Err(MediaError::Rejected(format!(
                        "the file is larger than the declared {limit} bytes"
                    )));
                }
                file.write_all(&chunk).await.map_err(io)?;
            }
            file.flush().await.map_err(io)
        }
        .await;
        match result {
            Ok(()) => Ok(path),
            Err(e) => {
                let _ = tokio::fs::remove_file(&path).await;
                Err(e)
            }
        }
    }

    /// Stores `body` under `key`, typed by its name.
    async fn put_body(&self, key: &str, body: S3Body) -> Result<(), MediaError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object(key)?)
            .content_type(stored_type(key))
            // A key's content never changes: whatever serves it may keep it.
            .cache_control("public, max-age=31536000, immutable")
            .body(body)
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn upload_file(&self, key: &str, path: &Path) -> Result<(), MediaError> {
        let body = S3Body::from_path(path).await.map_err(sdk)?;
        self.put_body(key, body).await
    }

    async fn delete_object(&self, object: &str) -> Result<(), MediaError> {
        // S3 answers 204 for a missing object, so a repeat is fine.
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(object)
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// Every object under `prefix` last written before `before` (all when `None`).
    async fn list(
        &self,
        prefix: &str,
        before: Option<SystemTime>,
    ) -> Result<Vec<String>, MediaError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(sdk)?;
            for o in page.contents() {
                let old_enough = match (before, o.last_modified()) {
                    (None, _) => true,
                    (Some(cutoff), Some(t)) => {
                        SystemTime::try_from(*t).is_ok_and(|written| written < cutoff)
                    }
                    (Some(_), None) => false,
                };
                if old_enough && let Some(k) = o.key() {
                    found.push(k.to_owned());
                }
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn stage(
        &self,
        key: &str,
        body: ByteStream,
        expected: u64,
    ) -> Result<Staged, MediaError> {
        self.object(key)?;
        let path = self.scratch_file().await?;
        write_exact(&path, body, expected).await?;
        Ok(Staged {
            key: key.to_owned(),
            path,
        })
    }

    async fn commit(&self, staged: Staged) -> Result<(), MediaError> {
        let stored = self.upload_file(&staged.key, &staged.path).await;
        let _ = tokio::fs::remove_file(&staged.path).await;
        stored
    }

    async fn discard(&self, staged: Staged) {
        let _ = tokio::fs::remove_file(&staged.path).await;
    }

    async fn direct_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<Option<DirectUpload>, MediaError> {
        let length = i64::try_from(size).map_err(|e| MediaError::Rejected(e.to_string()))?;
        let presigning = PresigningConfig::expires_in(ttl).map_err(sdk)?;
        let signed = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.incoming(key)?)
            .content_type(content_type)
            .content_length(length)
            .if_none_match("*")
            .presigned(presigning)
            .await
            .map_err(sdk)?;
        let headers = signed
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
            .map(|(name, value)| (canonical_header(name), value.to_owned()))
            .collect();
        Ok(Some(DirectUpload {
            url: signed.uri().to_owned(),
            headers,
        }))
    }

    async fn peek_upload(&self, key: &str, n: usize) -> Result<Option<(u64, Vec<u8>)>, MediaError> {
        let object = self.incoming(key)?;
        let head = match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(&object)
            .send()
            .await
        {
            Ok(h) => h,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                return Ok(None);
            }
            Err(e) => return Err(sdk(e)),
        };
        let size = u64::try_from(head.content_length().unwrap_or(0)).unwrap_or(0);
        if size == 0 || n == 0 {
            return Ok(Some((size, Vec::new())));
        }
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object)
            .range(format!("bytes=0-{}", n - 1))
            .send()
            .await
            .map_err(sdk)?;
        let bytes = out.body.collect().await.map_err(sdk)?.into_bytes();
        // A server that ignores ranges sends it all: only the head is kept.
        let head = bytes[..bytes.len().min(n)].to_vec();
        Ok(Some((size, head)))
    }

    async fn stage_upload(&self, key: &str, expected: u64) -> Result<Staged, MediaError> {
        let path = self.download(&self.incoming(key)?, expected).await?;
        let got = tokio::fs::metadata(&path).await.map_err(io)?.len();
        if got != expected {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(MediaError::Rejected(format!(
                "the file has {got} bytes, not the declared {expected}"
            )));
        }
        Ok(Staged {
            key: key.to_owned(),
            path,
        })
    }

    async fn drop_upload(&self, key: &str) -> Result<(), MediaError> {
        self.delete_object(&self.incoming(key)?).await
    }

    async fn fetch_upload(&self, key: &str) -> Result<Fetched, MediaError> {
        // Videos are at most a few hundred megabytes (the upload limits); the download
        // is bounded by the largest upload accepted.
        let limit = scooter_core::media::VIDEO_MAX_BYTES;
        Ok(Fetched::copy(
            self.download(&self.incoming(key)?, limit).await?,
        ))
    }

    fn scratch(&self, key: &str) -> Result<PathBuf, MediaError> {
        self.object(key)?;
        std::fs::create_dir_all(&self.scratch_dir).map_err(io)?;
        Ok(self.scratch_dir.join(format!("out.{}", part_suffix()?)))
    }

    async fn store_file(&self, key: &str, path: &Path) -> Result<(), MediaError> {
        let stored = self.upload_file(key, path).await;
        let _ = tokio::fs::remove_file(path).await;
        stored
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), MediaError> {
        self.put_body(key, S3Body::from(bytes)).await
    }

    async fn locate(&self, key: &str) -> Result<Located, MediaError> {
        let object = self.object(key)?;
        if let Some(base) = &self.public_base {
            return Ok(Located::Redirect(format!("{base}/{object}")));
        }
        let presigning = PresigningConfig::expires_in(SERVE_TTL).map_err(sdk)?;
        let signed = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(object)
            .presigned(presigning)
            .await
            .map_err(sdk)?;
        Ok(Located::Redirect(signed.uri().to_owned()))
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        self.delete_object(&self.object(key)?).await?;
        for derived in derived_keys(key) {
            self.delete_object(&self.object(&derived)?).await?;
        }
        Ok(())
    }

    async fn delete_owner(&self, owner: &str) -> Result<(), MediaError> {
        for folder in owner_folders(owner)? {
            for prefix in [
                format!("{}{folder}", self.prefix),
                format!("{}{INCOMING}{folder}", self.prefix),
            ] {
                for object in self.list(&prefix, None).await? {
                    self.delete_object(&object).await?;
                }
            }
        }
        Ok(())
    }

    async fn sweep_staged(&self, older_than: Duration) -> Result<usize, MediaError> {
        // Direct uploads nobody completed, then local scratch files of a killed process.
        let cutoff = SystemTime::now()
            .checked_sub(older_than.max(INCOMING_MAX_AGE))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let stale = self
            .list(&format!("{}{INCOMING}", self.prefix), Some(cutoff))
            .await?;
        for object in &stale {
            self.delete_object(object).await?;
        }
        let scratch_cutoff = SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let dir = self.scratch_dir.clone();
        let local =
            tokio::task::spawn_blocking(move || crate::blobs::sweep_dir(&dir, scratch_cutoff))
                .await
                .map_err(|e| MediaError::Internal(e.to_string()))?
                .map_err(io)?;
        Ok(stale.len() + local)
    }
}

/// `content-type` → `Content-Type`: how the headers read in the ticket.
fn canonical_header(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            match c.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_headers_read_like_http_headers() {
        assert_eq!(canonical_header("content-type"), "Content-Type");
        assert_eq!(canonical_header("if-none-match"), "If-None-Match");
        assert_eq!(canonical_header("x-amz-acl"), "X-Amz-Acl");
    }
}
