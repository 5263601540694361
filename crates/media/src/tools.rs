//! Finding the external tools (FFmpeg, libheif) without running them: running
//! `ffmpeg -version` at start costs ~100 ms of dynamic linking, ten times the rest of a
//! cold start, so start-up only looks for an executable file and `verify` runs it later.
//! And running them so that they die with the server: a transcode left running after
//! a `kill -9` would go on beside the same job run again after the restart.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

/// util-linux's `setpriv`, when installed (Debian and most Linux systems have it).
static SETPRIV: LazyLock<Option<PathBuf>> = LazyLock::new(|| find_executable(Path::new("setpriv")));

/// A command running `tool` that the kernel kills when this process dies, however it
/// dies: `setpriv --pdeathsig KILL` sets the child's parent-death signal before it
/// becomes `tool` (the same as `PR_SET_PDEATHSIG`, without `unsafe` code here). The
/// signal follows the thread that spawned the child; tools are spawned from the async
/// runtime's worker threads, which live as long as the process. Without `setpriv` the
/// tool runs as is (and is still killed when its request or job is dropped).
pub fn tied_command(tool: &Path) -> tokio::process::Command {
    match SETPRIV.as_ref() {
        Some(setpriv) => {
            let mut cmd = tokio::process::Command::new(setpriv);
            cmd.args(["--pdeathsig", "KILL", "--"]).arg(tool);
            cmd
        }
        None => tokio::process::Command::new(tool),
    }
}

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

    /// Run as a child of the test below: spawns `sleep` through [`tied_command`], prints
    /// its pid, then waits to be killed.
    #[tokio::test]
    async fn tied_child_helper() {
        if std::env::var_os("SCOOTER_TIED_CHILD_HELPER").is_none() {
            return;
        }
        let child = tied_command(Path::new("sleep"))
            .arg("60")
            .spawn()
            .expect("sleep runs");
        println!("CHILD {}", child.id().expect("pid"));
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }

    #[test]
    fn a_tool_dies_with_the_process_that_ran_it_even_by_kill_9() {
        if SETPRIV.is_none() {
            eprintln!("setpriv is not installed: nothing to test here");
            return;
        }
        use std::io::{BufRead, BufReader};
        let mut parent = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "tools::tests::tied_child_helper",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("SCOOTER_TIED_CHILD_HELPER", "1")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("helper starts");
        let stdout = parent.stdout.take().expect("stdout");
        let pid: u32 = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| {
                // libtest prints its own "test … ..." before the helper's line.
                let at = l.find("CHILD ")?;
                l[at + 6..].trim().parse().ok()
            })
            .expect("the helper reports its child");
        let alive = |pid: u32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.split_whitespace().nth(2).is_none_or(|state| state != "Z"))
        };
        // Once `setpriv` became the tool its death signal is set (a parent dying in the
        // microseconds before that is the one window left open).
        let became_tool = (0..250).any(|_| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            comm.trim() == "sleep" || {
                std::thread::sleep(std::time::Duration::from_millis(4));
                false
            }
        });
        assert!(became_tool && alive(pid), "the tool runs");
        parent.kill().expect("kill -9 the parent");
        parent.wait().expect("reaped");
        let gone = (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(20));
            !alive(pid)
        });
        assert!(
            gone,
            "the tool {pid} outlived its parent: {:?}",
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
        );
    }

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
