//! Where files live. [`BlobStore`] is what the services use; [`LocalBlobs`] keeps files
//! in a folder (the all-in-one and test shapes), and `crate::s3::S3Blobs` (feature `s3`)
//! in an S3 bucket. Files are written to a staging name and made visible under their
//! key only when complete and checked, so a reader never sees half a file.
//!
//! Two upload routes lead to the same checks: the client sends the bytes through this
//! server (`stage`, the local shape), or straight to the store with a presigned URL
//! (`direct_upload`), where they wait under an upload name of their own until the
//! server has checked them (`peek_upload`, `stage_upload`): nothing a client wrote is
//! ever under a key that is served.

use crate::MediaError;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use scooter_core::media::{
    MediaPurpose, VARIANT_MAX_WIDTH, VARIANT_WIDTHS, is_valid_key, original_of_variant, variant_key,
};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A file written but not yet visible under its key.
#[derive(Debug)]
pub struct Staged {
    /// Its key once committed.
    pub key: String,
    /// Where it is now.
    pub path: PathBuf,
}

/// A byte stream from a request body.
pub type ByteStream = std::pin::Pin<Box<dyn Stream<Item = Result<Bytes, std::io::Error>> + Send>>;

/// Where and how a client sends an upload's bytes straight to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectUpload {
    /// The presigned URL to `PUT` to.
    pub url: String,
    /// The headers the signature covers, to send exactly.
    pub headers: Vec<(String, String)>,
}

/// How a stored file is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// From this server, out of a local file.
    File(PathBuf),
    /// From elsewhere: a short-lived presigned URL, or a CDN's.
    Redirect(String),
}

/// A readable local copy of a file, for the tools that need a path (FFmpeg). A copy
/// made for the purpose is removed when this is dropped.
#[derive(Debug)]
pub struct Fetched {
    path: PathBuf,
    temporary: bool,
}

impl Fetched {
    /// The file itself (nothing to remove afterwards).
    pub fn in_place(path: PathBuf) -> Self {
        Self {
            path,
            temporary: false,
        }
    }

    /// A copy, removed on drop.
    pub fn copy(path: PathBuf) -> Self {
        Self {
            path,
            temporary: true,
        }
    }

    /// Where to read it.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Fetched {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Storage of uploaded files.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Writes exactly `expected` bytes from `body` to a staging place; more or fewer is
    /// refused and nothing is kept.
    async fn stage(&self, key: &str, body: ByteStream, expected: u64)
    -> Result<Staged, MediaError>;

    /// Makes a staged file visible under its key.
    async fn commit(&self, staged: Staged) -> Result<(), MediaError>;

    /// Drops a staged file.
    async fn discard(&self, staged: Staged);

    /// Where a client sends the bytes of `key` itself, signed for exactly this type and
    /// size until `ttl` runs out; `None`: through this server (`PUT /uploads/{key}`).
    async fn direct_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        ttl: Duration,
    ) -> Result<Option<DirectUpload>, MediaError>;

    /// The size and first `n` bytes of a client's direct upload of `key`; `None` when
    /// none arrived (always, for a store without direct uploads).
    async fn peek_upload(&self, key: &str, n: usize) -> Result<Option<(u64, Vec<u8>)>, MediaError>;

    /// Copies a client's direct upload of `key` into staging, refusing more or fewer
    /// than `expected` bytes.
    async fn stage_upload(&self, key: &str, expected: u64) -> Result<Staged, MediaError>;

    /// Deletes a client's direct upload of `key` (checked and stored, or refused).
    async fn drop_upload(&self, key: &str) -> Result<(), MediaError>;

    /// A local copy of the uploaded bytes of `key` to process (a video's original).
    async fn fetch_upload(&self, key: &str) -> Result<Fetched, MediaError>;

    /// A fresh local path for a file the server makes for `key` (a transcode, a
    /// poster), to be stored with [`BlobStore::store_file`].
    fn scratch(&self, key: &str) -> Result<PathBuf, MediaError>;

    /// Stores the file at `path` (made by the server) under `key`, replacing what is
    /// there; the file at `path` is gone afterwards.
    async fn store_file(&self, key: &str, path: &Path) -> Result<(), MediaError>;

    /// Stores `bytes` under `key` (a thumbnail), durably, replacing what is there.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), MediaError>;

    /// How to serve the file at `key`.
    async fn locate(&self, key: &str) -> Result<Located, MediaError>;

    /// Deletes the file at `key` and its thumbnail (not a client's direct upload:
    /// [`BlobStore::drop_upload`]); missing files are fine.
    async fn delete(&self, key: &str) -> Result<(), MediaError>;

    /// Deletes every file of an account.
    async fn delete_owner(&self, owner: &str) -> Result<(), MediaError>;

    /// Removes staged files older than `older_than` (left by a process killed during an
    /// upload; no upload takes that long); returns how many.
    async fn sweep_staged(&self, older_than: std::time::Duration) -> Result<usize, MediaError>;
}

/// A random suffix for a staging name (`part-<hex>`), which the sweep recognises.
pub(crate) fn part_suffix() -> Result<String, MediaError> {
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| MediaError::Internal(e.to_string()))?;
    Ok(format!(
        "part-{}",
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Writes exactly `expected` bytes of `body` to `tmp`, synced; on any failure the file
/// is removed and the error returned.
pub(crate) async fn write_exact(
    tmp: &Path,
    mut body: ByteStream,
    expected: u64,
) -> Result<(), MediaError> {
    let mut file = tokio::fs::File::create(tmp).await.map_err(io)?;
    let mut written: u64 = 0;
    let result = async {
        while let Some(chunk) = body.next().await {
            let chunk =
                chunk.map_err(|e| MediaError::Rejected(format!("upload interrupted: {e}")))?;
            written += chunk.len() as u64;
            if written > expected {
                return Err(MediaError::Rejected(format!(
                    "the body is larger than the declared {expected} bytes"
                )));
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        if written != expected {
            return Err(MediaError::Rejected(format!(
                "the body has {written} bytes, not the declared {expected}"
            )));
        }
        // tokio's `sync_all` does not report an earlier write that failed in the
        // background (it keeps only its kind for the next write), so a full disk
        // would pass for a stored file: `flush` returns that error.
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(tmp).await;
    }
    result
}

/// Whether a file name is a staged upload's (`<name>.part-<hex>`).
fn is_staged(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.starts_with("part-"))
}

/// Removes staged files under `dir` last written before `cutoff`.
pub(crate) fn sweep_dir(dir: &Path, cutoff: std::time::SystemTime) -> std::io::Result<usize> {
    let mut removed = 0;
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            removed += sweep_dir(&path, cutoff)?;
        } else if kind.is_file() && is_staged(&path) && entry.metadata()?.modified()? < cutoff {
            std::fs::remove_file(&path)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Files under a local folder.
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    /// Files under `root` (created when needed).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The file of `key`, for a valid key.
    pub fn local_path(&self, key: &str) -> Option<PathBuf> {
        is_valid_key(key).then(|| self.root.join(key))
    }
}

fn io(e: std::io::Error) -> MediaError {
    MediaError::io(&e)
}

/// Writes `bytes` to `path` and syncs it to disk before answering, so that an upload
/// acknowledged as stored survives a crash; a full disk is an error, never a short file.
pub async fn write_durably(path: &Path, bytes: Vec<u8>) -> Result<(), MediaError> {
    let path = path.to_path_buf();
    let written = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut f = std::fs::File::create(&path)?;
        f.write_all(&bytes)?;
        f.sync_all()
    })
    .await
    .map_err(|e| MediaError::Internal(e.to_string()))?;
    written.map_err(io)
}

/// Syncs the folder holding `path`, so a rename into it survives a crash.
async fn sync_dir(path: &Path) -> Result<(), MediaError> {
    let Some(dir) = path.parent() else {
        return Ok(());
    };
    let dir = dir.to_path_buf();
    let synced = tokio::task::spawn_blocking(move || std::fs::File::open(&dir)?.sync_all())
        .await
        .map_err(|e| MediaError::Internal(e.to_string()))?;
    synced.map_err(io)
}

/// What a thumbnail's key adds to its original's.
pub const THUMB_SUFFIX: &str = ".thumb.jpg";

/// The key of the thumbnail (or poster frame) of `key`.
pub fn thumb_key(key: &str) -> String {
    format!("{key}{THUMB_SUFFIX}")
}

/// Every file the server may have made from upload `key` and stored beside it: its
/// thumbnail or poster and its smaller copies (deleting one that was never made is a
/// no-op).
pub fn derived_keys(key: &str) -> Vec<String> {
    std::iter::once(thumb_key(key))
        .chain(
            VARIANT_WIDTHS
                .iter()
                .chain(std::iter::once(&VARIANT_MAX_WIDTH))
                .map(|&w| variant_key(key, w)),
        )
        .collect()
}

/// The upload a stored file belongs to: itself, or the original of a thumbnail or a
/// smaller copy.
pub fn upload_of(key: &str) -> &str {
    original_of_thumb(key)
        .or_else(|| original_of_variant(key))
        .unwrap_or(key)
}

/// The folders (`post/<owner>/`, …) holding every file of an account; the owner id is
/// checked first, so it cannot name anything else.
pub fn owner_folders(owner: &str) -> Result<Vec<String>, MediaError> {
    if owner.is_empty()
        || !owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(MediaError::Rejected("invalid owner".into()));
    }
    Ok([
        MediaPurpose::Post,
        MediaPurpose::Scoop,
        MediaPurpose::Avatar,
    ]
    .iter()
    .map(|p| format!("{}/{owner}/", p.as_str()))
    .collect())
}

/// The served type of a stored file, from its key: the server names every file it
/// makes (HEIC uploads are stored as JPEG, videos transcoded to MP4).
pub fn stored_type(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap_or_default() {
        "jpg" | "jpeg" | "heic" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "mp4" | "mov" => "video/mp4",
        _ => "application/octet-stream",
    }
}

/// The original of a thumbnail's key (an avatar is stored as its thumbnail's key).
pub fn original_of_thumb(thumb: &str) -> Option<&str> {
    thumb.strip_suffix(THUMB_SUFFIX)
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn stage(
        &self,
        key: &str,
        body: ByteStream,
        expected: u64,
    ) -> Result<Staged, MediaError> {
        let path = self
            .local_path(key)
            .ok_or_else(|| MediaError::Rejected("invalid key".into()))?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let tmp = path.with_extension(part_suffix()?);
        write_exact(&tmp, body, expected).await?;
        Ok(Staged {
            key: key.to_owned(),
            path: tmp,
        })
    }

    async fn commit(&self, staged: Staged) -> Result<(), MediaError> {
        let path = self
            .local_path(&staged.key)
            .ok_or_else(|| MediaError::Rejected("invalid key".into()))?;
        tokio::fs::rename(&staged.path, &path).await.map_err(io)?;
        sync_dir(&path).await
    }

    async fn discard(&self, staged: Staged) {
        let _ = tokio::fs::remove_file(&staged.path).await;
    }

    async fn direct_upload(
        &self,
        _key: &str,
        _content_type: &str,
        _size: u64,
        _ttl: Duration,
    ) -> Result<Option<DirectUpload>, MediaError> {
        Ok(None)
    }

    async fn peek_upload(
        &self,
        _key: &str,
        _n: usize,
    ) -> Result<Option<(u64, Vec<u8>)>, MediaError> {
        Ok(None)
    }

    async fn stage_upload(&self, _key: &str, _expected: u64) -> Result<Staged, MediaError> {
        Err(MediaError::Internal(
            "a local folder takes uploads through the server only".into(),
        ))
    }

    async fn drop_upload(&self, _key: &str) -> Result<(), MediaError> {
        Ok(())
    }

    async fn fetch_upload(&self, key: &str) -> Result<Fetched, MediaError> {
        // The upload was committed under its key; processing replaces it there.
        let path = self
            .local_path(key)
            .ok_or_else(|| MediaError::Rejected("invalid key".into()))?;
        Ok(Fetched::in_place(path))
    }

    fn scratch(&self, key: &str) -> Result<PathBuf, MediaError> {
        // Beside the key's file, so storing it is a rename on one file system; named as
        // staging, so a crash's leftovers are swept.
        let path = self
            .local_path(key)
            .ok_or_else(|| MediaError::Rejected("invalid key".into()))?;
        Ok(path.with_extension(format!("out.{}", part_suffix()?)))
    }

    async fn store_file(&self, key: &str, path: &Path) -> Result<(), MediaError> {
        let to = self
            .local_path(key)
            .ok_or_else(|| MediaError::Rejected("invalid key".into()))?;
        // The tools wrote without syncing; the file is synced before it replaces.
        let from = path.to_path_buf();
        let synced = tokio::task::spawn_blocking(move || std::fs::File::open(&from)?.sync_all())
            .await
            .map_err(|e| MediaError::Internal(e.to_string()))?;
        synced.map_err(io)?;
        tokio::fs::rename(path, &to).await.map_err(io)?;
        sync_dir(&to).await
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), MediaError> {
        let path = self
            .local_path(key)
            .ok_or_else(|| MediaError::Rejected("invalid key".into()))?;
        let tmp = path.with_extension(part_suffix()?);
        if let Err(e) = write_durably(&tmp, bytes).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        sync_dir(&path).await
    }

    async fn locate(&self, key: &str) -> Result<Located, MediaError> {
        self.local_path(key)
            .map(Located::File)
            .ok_or_else(|| MediaError::Rejected("invalid key".into()))
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        for k in std::iter::once(key.to_owned()).chain(derived_keys(key)) {
            if let Some(p) = self.local_path(&k) {
                match tokio::fs::remove_file(&p).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io(e)),
                }
            }
        }
        Ok(())
    }

    async fn delete_owner(&self, owner: &str) -> Result<(), MediaError> {
        for folder in owner_folders(owner)? {
            match tokio::fs::remove_dir_all(self.root.join(folder)).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    async fn sweep_staged(&self, older_than: std::time::Duration) -> Result<usize, MediaError> {
        let root = self.root.clone();
        let cutoff = std::time::SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(std::time::UNIX_EPOCH);
        tokio::task::spawn_blocking(move || sweep_dir(&root, cutoff))
            .await
            .map_err(|e| MediaError::Internal(e.to_string()))?
            .map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn staged_files_older_than_any_upload_are_swept_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = LocalBlobs::new(dir.path().to_path_buf());
        let user = dir.path().join("post").join("u1");
        std::fs::create_dir_all(&user).unwrap();
        let stale = user.join("a.part-0011aabb");
        let kept = user.join("a.jpg");
        std::fs::write(&stale, b"half").unwrap();
        std::fs::write(&kept, b"whole").unwrap();
        // Younger than the cut-off: an upload possibly in progress elsewhere stays.
        assert_eq!(
            blobs
                .sweep_staged(std::time::Duration::from_secs(600))
                .await
                .unwrap(),
            0
        );
        assert!(stale.exists());
        assert_eq!(
            blobs.sweep_staged(std::time::Duration::ZERO).await.unwrap(),
            1
        );
        assert!(!stale.exists() && kept.exists());
    }

    fn body(parts: Vec<&'static [u8]>) -> ByteStream {
        Box::pin(futures_util::stream::iter(
            parts.into_iter().map(|p| Ok(Bytes::from_static(p))),
        ))
    }

    #[tokio::test]
    async fn only_the_exact_declared_size_is_kept_and_only_after_commit() {
        let dir = tempfile::tempdir().expect("tmp");
        let blobs = LocalBlobs::new(dir.path().to_path_buf());
        let key = "post/u1/a.jpg";
        assert!(
            blobs
                .stage(key, body(vec![b"abc", b"def"]), 5)
                .await
                .is_err()
        );
        assert!(blobs.stage(key, body(vec![b"abc"]), 5).await.is_err());
        let staged = blobs
            .stage(key, body(vec![b"ab", b"cde"]), 5)
            .await
            .expect("stage");
        let final_path = blobs.local_path(key).expect("path");
        assert!(!final_path.exists());
        blobs.commit(staged).await.expect("commit");
        assert_eq!(std::fs::read(&final_path).expect("read"), b"abcde");
        let leftovers = std::fs::read_dir(final_path.parent().expect("dir"))
            .expect("ls")
            .count();
        assert_eq!(leftovers, 1, "no staging files left behind");
        assert!(blobs.local_path("../../etc/passwd").is_none());
        blobs.delete_owner("u1").await.expect("purge");
        assert!(!final_path.exists());
    }
}
