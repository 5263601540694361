//! HEIC (the iPhone's photo format) through libheif's `heif-convert`: the bytes must be
//! an HEIF container, the conversion runs with a wall-clock limit, and the JPEG it makes
//! then goes through the ordinary image pipeline (so its metadata is dropped too).

use crate::MediaError;
use crate::tools::{find_executable, tied_command};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

/// Whether the bytes start like an HEIF file (`ftyp` box with an HEIF brand).
pub fn looks_like_heif(bytes: &[u8]) -> bool {
    let brands: [&[u8]; 6] = [b"heic", b"heix", b"hevc", b"heim", b"mif1", b"msf1"];
    bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && brands.contains(&&bytes[8..12])
}

/// The converter.
#[derive(Debug, Clone)]
pub struct HeicTool {
    convert: PathBuf,
    timeout: Duration,
}

impl HeicTool {
    /// Finds `heif-convert` (`HEIF_CONVERT_PATH`, else on `PATH`); `None` when it is
    /// missing: HEIC uploads are then refused with a clear message. Only looks for the
    /// file; [`HeicTool::verify`] runs it.
    pub fn find(path: Option<PathBuf>, timeout: Duration) -> Option<Self> {
        let wanted = path.unwrap_or_else(|| PathBuf::from("heif-convert"));
        let convert = find_executable(&wanted)?;
        Some(Self { convert, timeout })
    }

    /// Whether the converter starts at all (it has no `--version`; without arguments it
    /// prints its usage).
    pub async fn verify(&self) -> Result<(), String> {
        Command::new(&self.convert)
            .output()
            .await
            .map(|_| ())
            .map_err(|e| format!("{} does not run: {e}", self.convert.display()))
    }

    /// Converts an HEIC file to JPEG bytes.
    pub async fn to_jpeg(&self, input: &Path) -> Result<Vec<u8>, MediaError> {
        let head = tokio::fs::read(input)
            .await
            .map_err(|e| MediaError::io(&e))?;
        if !looks_like_heif(&head) {
            return Err(MediaError::Rejected("not a HEIC image".into()));
        }
        let output = input.with_extension("converted.jpg");
        let run = tied_command(&self.convert)
            .arg("-q")
            .arg("92")
            .arg(input)
            .arg(&output)
            .kill_on_drop(true)
            .output();
        let out = tokio::time::timeout(self.timeout, run)
            .await
            .map_err(|_| MediaError::Rejected("HEIC conversion took too long".into()))?
            .map_err(|e| MediaError::io(&e))?;
        let result = if out.status.success() {
            tokio::fs::read(&output)
                .await
                .map_err(|e| MediaError::io(&e))
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(MediaError::from_tool(&err, || {
                "not a usable HEIC image".into()
            }))
        };
        let _ = tokio::fs::remove_file(&output).await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heif_is_recognised_by_its_ftyp_box() {
        assert!(looks_like_heif(b"\0\0\0\x1cftypheic\0\0\0\0"));
        assert!(!looks_like_heif(b"\x89PNG\r\n\x1a\n\0\0\0\0"));
        assert!(!looks_like_heif(b"\0\0\0\x1cftypisom\0\0\0\0"));
    }
}
