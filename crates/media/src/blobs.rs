//! Where files live. [`BlobStore`] is what the services use; [`LocalBlobs`] keeps files
//! in a folder (the all-in-one and test shapes); an S3 implementation slots in behind
//! the same trait. Files are written to a staging name and renamed into place only when
//! complete and checked, so a reader never sees half a file.

use crate::MediaError;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use scooter_core::media::{MediaPurpose, is_valid_key};
use std::path::{Path, PathBuf};
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

    /// A local path to read the file at `key` (processing and serving).
    fn local_path(&self, key: &str) -> Option<PathBuf>;

    /// Deletes the file at `key` and its thumbnail; missing files are fine.
    async fn delete(&self, key: &str) -> Result<(), MediaError>;

    /// Deletes every file of an account.
    async fn delete_owner(&self, owner: &str) -> Result<(), MediaError>;

    /// Removes staged files older than `older_than` (left by a process killed during an
    /// upload; no upload takes that long); returns how many.
    async fn sweep_staged(&self, older_than: std::time::Duration) -> Result<usize, MediaError>;
}

/// Whether a file name is a staged upload's (`<name>.part-<hex>`).
fn is_staged(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.starts_with("part-"))
}

/// Removes staged files under `dir` last written before `cutoff`.
fn sweep_dir(dir: &Path, cutoff: std::time::SystemTime) -> std::io::Result<usize> {
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

/// The original of a thumbnail's key (an avatar is stored as its thumbnail's key).
pub fn original_of_thumb(thumb: &str) -> Option<&str> {
    thumb.strip_suffix(THUMB_SUFFIX)
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn stage(
        &self,
        key: &str,
        mut body: ByteStream,
        expected: u64,
    ) -> Result<Staged, MediaError> {
        let path = self
            .local_path(key)
            .ok_or_else(|| MediaError::Rejected("invalid key".into()))?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        let mut tag = [0u8; 8];
        getrandom::fill(&mut tag).map_err(|e| MediaError::Internal(e.to_string()))?;
        let tmp = path.with_extension(format!(
            "part-{}",
            tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        let mut file = tokio::fs::File::create(&tmp).await.map_err(io)?;
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
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
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

    fn local_path(&self, key: &str) -> Option<PathBuf> {
        is_valid_key(key).then(|| self.root.join(key))
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        for k in [key.to_owned(), thumb_key(key)] {
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
        if owner.is_empty()
            || !owner
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(MediaError::Rejected("invalid owner".into()));
        }
        for purpose in [
            MediaPurpose::Post,
            MediaPurpose::Scoop,
            MediaPurpose::Avatar,
        ] {
            let dir: PathBuf = [
                self.root.as_path(),
                Path::new(purpose.as_str()),
                Path::new(owner),
            ]
            .iter()
            .collect();
            match tokio::fs::remove_dir_all(&dir).await {
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
