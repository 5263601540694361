//! `scooterbooter seed`: fills a store with a synthetic social graph for benchmarks and
//! demos, through the store's bulk loader (thousands of rows per statement).
//!
//! The graph is reproducible from `--seed` and the time it is made: user `i` has the
//! handle `rider{i}` and the email `rider{i}@example.com`, follows a fixed number of
//! distinct others picked at random (a third of them among the first 1% of users, so
//! some accounts are popular), and has posts spread over the last 90 days. Scoops, if
//! asked for, were posted within the last 20 hours and are all live.

use indicatif::{ProgressBar, ProgressStyle};
use scooter_auth::LocalIssuer;
use scooter_core::{Email, Handle, Timestamp, UserId};
use scooter_store::bulk::{SeedFollow, SeedPost, SeedScoop, SeedUser};
use scooter_store::{Store, StoreError};
use std::collections::HashSet;
use std::io::Write;
use std::time::Instant;

/// Rows handed to the store per call (one transaction each).
const ROWS_PER_CALL: usize = 10_000;
/// Posts are spread over this many days before now.
const POST_SPAN_DAYS: i64 = 90;
/// How long ago the oldest seeded scoop was posted.
const SCOOP_SPAN_HOURS: i64 = 20;
/// How long a seeded scoop lives.
const SCOOP_TTL_HOURS: i64 = 24;

const PHRASES: [&str; 8] = [
    "Morning ride along the river, no wind at all",
    "New grip tape on the deck, feels like a new scooter",
    "Who is up for a group ride on Saturday?",
    "Battery still at 40% after 25 km, not bad",
    "Found a smooth path through the park today",
    "Rain again. Fenders were worth every cent",
    "First time riding at night with the new light",
    "Tyre pressure check before the long trip",
];

/// The size of the data set to make.
#[derive(Debug, Clone, Copy)]
pub struct SeedPlan {
    /// Users to create.
    pub users: u32,
    /// Distinct accounts each user follows (capped at `users - 1`).
    pub follows_per_user: u32,
    /// Posts per user.
    pub posts_per_user: u32,
    /// Live scoops per user.
    pub scoops_per_user: u32,
    /// Random seed: the same seed gives the same graph.
    pub seed: u64,
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The store refused a batch.
    #[error("the store refused a batch: {0}")]
    Store(#[from] StoreError),
    /// The store already holds users, which a seed would collide with.
    #[error("the store already holds a data set (rider1 exists); use an empty data folder")]
    NotEmpty,
    /// A token could not be minted or written.
    #[error("cannot write the tokens file: {0}")]
    Tokens(String),
}

/// Handle of seeded user `i` (1-based).
pub fn handle_of(i: u32) -> String {
    format!("rider{i}")
}

fn email_of(i: u32) -> String {
    format!("rider{i}@example.com")
}

/// A UUIDv7 at `at` whose random bits come from `rng`, so ids are reproducible.
fn id_at(rng: &mut fastrand::Rng, at: Timestamp) -> String {
    let mut bytes = [0_u8; 10];
    rng.fill(&mut bytes);
    let millis = u64::try_from(at.millis()).unwrap_or_default();
    uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
        .into_uuid()
        .to_string()
}

fn bar(len: u64, what: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template(
        "{msg:>8} [{bar:40}] {human_pos}/{human_len} ({per_sec}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    let bar = ProgressBar::new(len).with_style(style);
    bar.set_message(what);
    bar
}

/// Rows collected for one bulk call, with the progress bar they advance.
struct Batch<T> {
    rows: Vec<T>,
    progress: ProgressBar,
}

impl<T> Batch<T> {
    fn new(len: u64, what: &'static str) -> Self {
        Self {
            rows: Vec::with_capacity(ROWS_PER_CALL),
            progress: bar(len, what),
        }
    }

    /// Adds a row; hands back a full batch to load.
    fn push(&mut self, row: T) -> Option<Vec<T>> {
        self.rows.push(row);
        (self.rows.len() == ROWS_PER_CALL).then(|| self.take())
    }

    /// The rows not loaded yet (possibly none).
    fn take(&mut self) -> Vec<T> {
        self.progress.inc(self.rows.len() as u64);
        std::mem::replace(&mut self.rows, Vec::with_capacity(ROWS_PER_CALL))
    }
}

impl<T> Drop for Batch<T> {
    fn drop(&mut self) {
        self.progress.finish();
    }
}

/// Whether a data set is already there (user `rider1` exists).
pub async fn present(store: &dyn Store) -> Result<bool, SeedError> {
    let Ok(handle) = Handle::parse(&handle_of(1)) else {
        return Ok(false);
    };
    Ok(store.user_by_handle(&handle).await?.is_some())
}

/// Loads the data set of `plan` into an empty store, then recounts the counters.
pub async fn load(
    store: &dyn Store,
    plan: &SeedPlan,
    terms_version: &str,
) -> Result<(), SeedError> {
    if present(store).await? {
        return Err(SeedError::NotEmpty);
    }
    let started = Instant::now();
    let now = Timestamp::now();
    let mut rng = fastrand::Rng::with_seed(plan.seed);
    let n = plan.users;
    // Users joined over the year before the oldest post.
    let joined = |rng: &mut fastrand::Rng| {
        now.plus_seconds(-(POST_SPAN_DAYS * 86_400) - rng.i64(0..365 * 86_400))
    };

    let joined_at: Vec<Timestamp> = (1..=n).map(|_| joined(&mut rng)).collect();
    let ids: Vec<UserId> = joined_at
        .iter()
        .map(|&at| UserId::parse(&id_at(&mut rng, at)).unwrap_or_else(UserId::generate))
        .collect();

    let mut batch = Batch::new(u64::from(n), "users");
    for ((i, id), &created_at) in (1..=n).zip(&ids).zip(&joined_at) {
        let full = batch.push(SeedUser {
            id: id.clone(),
            email: email_of(i),
            handle: handle_of(i),
            display_name: format!("Rider {i}"),
            terms_version: terms_version.to_owned(),
            created_at,
        });
        if let Some(rows) = full {
            store.load_users(&rows).await?;
        }
    }
    store.load_users(&batch.take()).await?;
    drop(batch);

    let per_user = plan.follows_per_user.min(n.saturating_sub(1));
    let popular = (n / 100).max(1);
    let mut batch = Batch::new(u64::from(n) * u64::from(per_user), "follows");
    let mut chosen = HashSet::new();
    for (i, follower) in ids.iter().enumerate() {
        chosen.clear();
        while chosen.len() < per_user as usize {
            let pick = if rng.u32(0..3) == 0 && chosen.len() < popular as usize {
                rng.u32(0..popular)
            } else {
                rng.u32(0..n)
            };
            if pick as usize != i {
                chosen.insert(pick);
            }
        }
        for &j in &chosen {
            let full = batch.push(SeedFollow {
                follower: follower.clone(),
                followee: ids[j as usize].clone(),
                created_at: now.plus_seconds(-rng.i64(0..POST_SPAN_DAYS * 86_400)),
            });
            if let Some(rows) = full {
                store.load_follows(&rows).await?;
            }
        }
    }
    store.load_follows(&batch.take()).await?;
    drop(batch);

    let mut batch = Batch::new(u64::from(n) * u64::from(plan.posts_per_user), "posts");
    for author in &ids {
        for k in 0..plan.posts_per_user {
            let at = now.plus_seconds(-rng.i64(1..POST_SPAN_DAYS * 86_400));
            let phrase = PHRASES[rng.usize(0..PHRASES.len())];
            let full = batch.push(SeedPost {
                id: id_at(&mut rng, at),
                author: author.clone(),
                text: format!("{phrase} (#{k})"),
                created_at: at,
            });
            if let Some(rows) = full {
                store.load_posts(&rows).await?;
            }
        }
    }
    store.load_posts(&batch.take()).await?;
    drop(batch);

    load_scoops(store, &ids, plan.scoops_per_user, &mut rng).await?;

    store.recount().await?;
    tracing::info!(
        users = n,
        follows = u64::from(n) * u64::from(per_user),
        posts = u64::from(n) * u64::from(plan.posts_per_user),
        scoops = u64::from(n) * u64::from(plan.scoops_per_user),
        seconds = started.elapsed().as_secs_f64(),
        "seeded"
    );
    Ok(())
}

/// Adds `per_user` fresh scoops to every seeded user of an existing data set, since the
/// ones seeded earlier expire (`seed --reuse`).
pub async fn top_up_scoops(store: &dyn Store, users: u32, per_user: u32) -> Result<(), SeedError> {
    let mut ids = Vec::with_capacity(users as usize);
    for i in 1..=users {
        let Ok(handle) = Handle::parse(&handle_of(i)) else {
            continue;
        };
        match store.user_by_handle(&handle).await? {
            Some(user) => ids.push(user.id),
            None => break,
        }
    }
    let mut rng = fastrand::Rng::new();
    load_scoops(store, &ids, per_user, &mut rng).await
}

async fn load_scoops(
    store: &dyn Store,
    authors: &[UserId],
    per_user: u32,
    rng: &mut fastrand::Rng,
) -> Result<(), SeedError> {
    if per_user == 0 {
        return Ok(());
    }
    let now = Timestamp::now();
    let mut batch = Batch::new(authors.len() as u64 * u64::from(per_user), "scoops");
    for author in authors {
        for _ in 0..per_user {
            let at = now.plus_seconds(-rng.i64(1..SCOOP_SPAN_HOURS * 3600));
            let id = id_at(rng, at);
            let full = batch.push(SeedScoop {
                media_key: format!("seed/{id}.jpg"),
                id,
                author: author.clone(),
                created_at: at,
                expires_at: at.plus_seconds(SCOOP_TTL_HOURS * 3600),
            });
            if let Some(rows) = full {
                store.load_scoops(&rows).await?;
            }
        }
    }
    store.load_scoops(&batch.take()).await?;
    Ok(())
}

/// Writes one line per seeded user `1..=count`: an access token, the handle of an
/// account they follow (or their own), and the id of the newest post in their feed
/// (or `-`), separated by spaces. Load generators read it to act as many users.
pub async fn write_tokens(
    store: &dyn Store,
    issuer: &LocalIssuer,
    count: u32,
    out: &mut impl Write,
) -> Result<u32, SeedError> {
    let mut written = 0;
    for i in 1..=count {
        let Ok(handle) = Handle::parse(&handle_of(i)) else {
            continue;
        };
        let Some(user) = store.user_by_handle(&handle).await? else {
            break;
        };
        let email = Email::parse(&email_of(i)).map_err(|e| SeedError::Tokens(e.to_string()))?;
        let token = issuer
            .issue(&user.id, &email, true, None)
            .map_err(|e| SeedError::Tokens(e.to_string()))?;
        let feed = store.home_feed(&user.id, None, 1).await?;
        let post = feed.first().map_or("-", |p| p.id.as_str());
        let other = match feed.first() {
            Some(p) if p.author != user.id => store
                .get_user(&p.author)
                .await?
                .and_then(|u| u.handle)
                .map(|h| h.to_string()),
            _ => None,
        }
        .unwrap_or_else(|| handle_of(i));
        writeln!(out, "{} {other} {post}", token.token)
            .map_err(|e| SeedError::Tokens(e.to_string()))?;
        written += 1;
    }
    Ok(written)
}
