//! `scooterbooter timelines rebuild`: the operator's way to (re)make home timelines from
//! posts and follows, after a restore, a migration from another backend, or a seed.
//! Reads rebuild a missing timeline by themselves; this does it ahead of time.

use indicatif::{ProgressBar, ProgressStyle};
use scooter_core::{Timestamp, UserId};
use scooter_store::{Store, StoreError, TimelineSettings};

/// Users read per page of the walk.
const PAGE: u32 = 500;

/// Rebuilds the timeline of `user`, or of every user when `None`; with `lazy`, only
/// drops them all so each is rebuilt on its owner's next read. Returns how many were
/// rebuilt (or dropped).
pub async fn rebuild(
    store: &dyn Store,
    settings: TimelineSettings,
    user: Option<&UserId>,
    lazy: bool,
) -> Result<u64, StoreError> {
    if let Some(user) = user {
        store
            .rebuild_timeline(user, settings.keep, Timestamp::now())
            .await?;
        return Ok(1);
    }
    let dropped = store.drop_timelines().await?;
    if lazy {
        return Ok(dropped);
    }
    let style = ProgressStyle::with_template("timelines {human_pos} ({per_sec})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar = ProgressBar::no_length().with_style(style);
    let mut after: Option<UserId> = None;
    let mut done = 0;
    loop {
        let users = store.timeline_users(after.as_ref(), PAGE).await?;
        let Some(last) = users.last().cloned() else {
            break;
        };
        for u in &users {
            store
                .rebuild_timeline(u, settings.keep, Timestamp::now())
                .await?;
            done += 1;
            bar.inc(1);
        }
        after = Some(last);
    }
    bar.finish();
    Ok(done)
}
