//! Finding the external tools (FFmpeg, libheif) without running them: running
//! `ffmpeg -version` at start costs ~100 ms of dynamic linking, ten times the rest of a
//! cold start, so start-up only looks for an executable file and `verify` runs it later.

use std::path::{Path, PathBuf};

/// `name` itself when it is a path (has a separator), else the first executable file of
/// that name on `PATH`. `None` when there is no such executable.
pub fn find_executable(name: &Path) -> Option<PathBuf> {
    if name.components().count() > 1 {
        return is_executable(name).then(|| name.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_tool_on_path_and_refuses_missing_or_non_executable_files() {
        assert!(find_executable(Path::new("sh")).is_some());
        assert!(find_executable(Path::new("no-such-tool-here")).is_none());
        assert!(find_executable(Path::new("/nonexistent/ffmpeg")).is_none());
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("ffmpeg");
        std::fs::write(&plain, b"#!/bin/sh\n").unwrap();
        assert!(find_executable(&plain).is_none(), "not executable");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_eq!(find_executable(&plain), Some(plain.clone()));
        }
    }
}
