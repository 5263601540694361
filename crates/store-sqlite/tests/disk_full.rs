//! A database that runs out of space mid-load: on a real filesystem that fills up (a
//! small tmpfs this test mounts, which needs root, as the project's CI and machines
//! have), and against the size cap (`SQLITE_MAX_SIZE_MB`). The store must never
//! acknowledge a write it did not commit, must say "storage full", and must write again
//! once space returns, without a restart.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use scooter_store::Store;
use scooter_store_conformance::faults::{Ledger, assert_ledger_holds, author, post_once};
use scooter_store_sqlite::{SqliteSettings, SqliteStore};
use std::path::Path;
use std::sync::Arc;

async fn open(path: &Path, max_size: Option<u64>) -> Arc<dyn Store> {
    let settings = SqliteSettings {
        max_size,
        ..SqliteSettings::default()
    };
    Arc::new(SqliteStore::open(path, &settings).await.expect("open"))
}

#[tokio::test]
async fn a_size_cap_refuses_writes_as_storage_full() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("full.db");
    let db = open(&path, None).await;
    let me = author(&db).await;
    db.close().await;
    let used = std::fs::metadata(&path).expect("size").len();

    // Room for a few hundred posts, then 2 KB posts until well past the first refusal,
    // with the occasional small one that may still fit in a half-empty page.
    let db = open(&path, Some(used + 512 * 1024)).await;
    let mut ledger = Ledger::default();
    for i in 0..1500 {
        let len = if i % 7 == 0 { 10 } else { 2048 };
        post_once(&db, &me, len, &mut ledger).await;
    }
    assert!(ledger.acked.len() > 50, "posts were written before the cap");
    assert!(
        ledger.refused.len() > 100,
        "the cap was reached: {} acknowledged, {} refused",
        ledger.acked.len(),
        ledger.refused.len()
    );
    // Read through the store while it runs (its readers see only what was committed)…
    assert_ledger_holds(&db, &me, &ledger).await;
    ledger.assert_all_full();
    db.close().await;

    // …and after a restart with space again: everything acknowledged is there, and
    // writes work.
    let db = open(&path, None).await;
    assert_ledger_holds(&db, &me, &ledger).await;
    let before = ledger.acked.len();
    post_once(&db, &me, 2048, &mut ledger).await;
    assert_eq!(ledger.acked.len(), before + 1, "writes work again");
    assert_ledger_holds(&db, &me, &ledger).await;
    db.close().await;
}

/// A tmpfs of a given size mounted on a temp dir, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` where this process may not mount (not root): the caller skips, except
    /// under CI, where the test must run.
    fn mount(size_kib: u64) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tmp");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_kib}k"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI must be able to mount a tmpfs for the disk-full test"
            );
            eprintln!("skipped: cannot mount a tmpfs here (not root?)");
            return None;
        }
        Some(Self { dir })
    }

    fn resize(&self, size_kib: u64) {
        let ok = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size_kib}k")])
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount the tmpfs");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test]
async fn a_full_disk_never_acknowledges_a_write_it_did_not_commit() {
    let Some(fs) = Tmpfs::mount(4096) else {
        return;
    };
    let path = fs.dir.path().join("full.db");
    let db = open(&path, None).await;
    let me = author(&db).await;

    // 2 KB posts until well past the disk filling up: the WAL's appends at commit are
    // what fail first, as on a real server's disk.
    let mut ledger = Ledger::default();
    for _ in 0..1500 {
        post_once(&db, &me, 2048, &mut ledger).await;
    }
    assert_ledger_holds(&db, &me, &ledger).await;
    assert!(
        ledger.acked.len() > 50,
        "posts were written before the disk filled"
    );
    assert!(
        ledger.refused.len() > 500,
        "the disk filled: {} acknowledged",
        ledger.acked.len()
    );
    ledger.assert_all_full();

    // Space returns: the same store writes again, and what it acknowledges is there.
    fs.resize(16 * 1024);
    let before = ledger.acked.len();
    for _ in 0..20 {
        post_once(&db, &me, 2048, &mut ledger).await;
    }
    assert_eq!(
        ledger.acked.len(),
        before + 20,
        "writes work again: {:?}",
        ledger.refused.last()
    );
    assert_ledger_holds(&db, &me, &ledger).await;
    db.close().await;

    // And after a restart.
    let db = open(&path, None).await;
    assert_ledger_holds(&db, &me, &ledger).await;
    db.close().await;
}
