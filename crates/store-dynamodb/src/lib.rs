//! The DynamoDB backend: every store trait on seven tables, one per service, for the
//! AWS shape of ScooterBooter (Lambda functions, no server to run). Built only with the
//! binary's `aws` feature.
//!
//! Every atomic use case is one `TransactWriteItems` whose conditions carry the rules;
//! uniqueness lives in marker items, counters change by `ADD` in the same transaction,
//! rules read the base table with strongly consistent reads, and the domain's cursors
//! are sort keys. `docs/decisions.md` ("DynamoDB key design") records the layout.
//!
//! - [`open`](DynamoStore::open): settings, the client, creating missing tables.
//! - `item`, `write`, `db`: items, one write, the calls (errors, capacity, paging).
//! - `keys`: the key layout; `tables`: the tables and their creation.
//! - `outbox`: jobs and notifications written with the use case that causes them.
//! - `hidden`: who a viewer does not see (blocks either way, suspended users).
//! - `users`, `accounts`, `invites`, `social`, `moderation`, `posts`, `notifications`,
//!   `push`, `jobs`, `media`, `scoops`, `timelines`, `bulk`: one module per trait.

pub mod capacity;
pub mod db;
mod hidden;
pub mod item;
pub mod keys;
mod outbox;
pub mod tables;
pub mod testing;
pub mod write;

// ---- trait modules ----
mod accounts;
mod bulk;
mod invites;
mod jobs;
mod media;
mod moderation;
mod notifications;
mod posts;
mod push;
mod scoops;
mod social;
mod timelines;
mod users;

use async_trait::async_trait;
use db::Db;
use scooter_store::timelines::TimelineSettings;
use scooter_store::{StoreError, StoreResult};
pub use tables::Tables;

/// How often a transaction planned from reads that went stale meanwhile is planned
/// again (a dedupe marker written by a concurrent request) before giving up.
pub const REPLANS: u32 = 5;

/// Posts whose media keys are remembered (a few MB at most).
const POST_MEDIA_CACHE: usize = 50_000;

/// Settings of the DynamoDB backend.
#[derive(Debug, Clone)]
pub struct DynamoSettings {
    /// The table names (`DYNAMODB_TABLE_PREFIX` and per-table overrides).
    pub tables: Tables,
    /// Create missing tables at start (`DYNAMODB_CREATE_TABLES`, default on).
    pub create_tables: bool,
    /// Home timelines.
    pub timelines: TimelineSettings,
    /// The endpoint, for emulators (`AWS_ENDPOINT_URL` is honoured anyway; this wins).
    pub endpoint: Option<String>,
}

impl Default for DynamoSettings {
    fn default() -> Self {
        Self {
            tables: Tables::with_prefix("scooterbooter-"),
            create_tables: true,
            timelines: TimelineSettings::default(),
            endpoint: None,
        }
    }
}

/// The DynamoDB store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    pub(crate) db: Db,
    pub(crate) t: Tables,
    pub(crate) timelines: TimelineSettings,
    /// Set by [`scooter_store::Store::close`]: there is no connection to close, but a closed store
    /// must stop answering, as the SQL ones do (readiness turns 503 on shutdown).
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Post id → its media keys and alt text, which never change once the post is made
    /// (posts.rs `read_post`): saves a page of posts reading every post twice.
    pub(crate) post_media: std::sync::Arc<
        quick_cache::sync::Cache<String, std::sync::Arc<[scooter_core::post::Attachment]>>,
    >,
}

impl DynamoStore {
    /// Connects with the standard AWS configuration chain (environment, profile,
    /// container or instance role) and creates missing tables unless told not to.
    pub async fn open(settings: DynamoSettings) -> StoreResult<Self> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = &settings.endpoint {
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        Self::with_client(aws_sdk_dynamodb::Client::new(&config), settings).await
    }

    /// Uses a client configured by the caller (tests, the Lambda runtime).
    pub async fn with_client(
        client: aws_sdk_dynamodb::Client,
        settings: DynamoSettings,
    ) -> StoreResult<Self> {
        let store = Self {
            db: Db::new(client),
            t: settings.tables,
            timelines: settings.timelines,
            closed: Default::default(),
            post_media: std::sync::Arc::new(quick_cache::sync::Cache::new(POST_MEDIA_CACHE)),
        };
        if settings.create_tables {
            tables::ensure(&store.db, &store.t).await?;
        }
        Ok(store)
    }

    /// Creates the missing tables (`scooterbooter migrate`).
    pub async fn create_tables(&self) -> StoreResult<()> {
        tables::ensure(&self.db, &self.t).await
    }

    /// The client and the table names (for tests of the building blocks).
    pub fn parts(&self) -> (&Db, &Tables) {
        (&self.db, &self.t)
    }

    /// A cheap round trip: the users table answers.
    pub async fn ping_tables(&self) -> StoreResult<()> {
        if self.closed.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(StoreError::Unavailable("the store was closed".into()));
        }
        self.db
            .client()
            .describe_table()
            .table_name(&self.t.users)
            .send()
            .await
            .map_err(db::sdk_error)?;
        Ok(())
    }
}

/// Job kind that finishes the unbounded part of a use case (deleting an account's rows,
/// recounting a suspended user's edges) after a crash. The use case writes it in its
/// atomic head, due a few minutes later, runs the tail at once, and deletes the job when
/// the tail is done; only a tail cut off by a crash is left for a worker to resume.
/// Payload: `op:arg`.
pub const TAIL_JOB: &str = scooter_store::jobs::STORE_TAIL_JOB;

/// How long a tail job waits before a worker may take it over from the request that
/// wrote it.
pub(crate) const TAIL_GRACE_SECS: i64 = 300;

/// The tail job of `op` on `arg` (one per pair, however often the head runs).
pub(crate) fn tail_job(
    op: &str,
    arg: &str,
    now: scooter_core::Timestamp,
) -> scooter_core::notification::NewJob {
    scooter_core::notification::NewJob {
        id: scooter_core::ids::new_id(),
        kind: TAIL_JOB.to_owned(),
        payload: format!("{op}:{arg}"),
        dedupe: Some(format!("tail:{op}:{arg}")),
        run_at: now.plus_seconds(TAIL_GRACE_SECS),
    }
}

impl DynamoStore {
    /// Deletes the tail job of `op` on `arg` and its dedupe marker: the tail is done,
    /// so nothing stays queued (a concurrent finisher reaching the same end is fine).
    pub(crate) async fn end_tail_job(&self, op: &str, arg: &str) -> StoreResult<()> {
        let marker = keys::job_dedupe(&format!("tail:{op}:{arg}"));
        let Some(m) = self.db.get(&self.t.jobs, &marker, keys::ONE).await? else {
            return Ok(());
        };
        let mut gone = vec![(marker, keys::ONE.to_owned())];
        if let Some(job) = item::get_s(&m, "job_id") {
            gone.push((keys::job(job), keys::ONE.to_owned()));
        }
        self.db.delete_keys(&self.t.jobs, gone).await
    }
}

/// Too many replans: something keeps writing the same markers.
pub(crate) fn kept_racing() -> StoreError {
    StoreError::Unavailable("the write kept racing with others; try again".into())
}

#[async_trait]
impl scooter_store::Store for DynamoStore {
    async fn ping(&self) -> StoreResult<()> {
        self.ping_tables().await
    }

    /// The three reads run at once: on DynamoDB each is its own round trip.
    async fn post_context(
        &self,
        viewer: &scooter_core::UserId,
        posts: &[scooter_core::post::Post],
    ) -> StoreResult<scooter_store::PostContext> {
        use scooter_store::{MediaStore, PostStore, UserStore};
        let mut authors: Vec<scooter_core::UserId> =
            posts.iter().map(|p| p.author.clone()).collect();
        authors.sort();
        authors.dedup();
        let ids: Vec<String> = posts.iter().map(|p| p.id.clone()).collect();
        let (authors, media, my_reactions) = tokio::try_join!(
            self.get_users(&authors),
            self.media_for_posts(&ids),
            self.my_reactions(viewer, &ids)
        )?;
        Ok(scooter_store::PostContext {
            authors,
            media,
            my_reactions,
        })
    }

    async fn resume_tail(&self, payload: &str) -> StoreResult<()> {
        let Some((op, arg)) = payload.split_once(':') else {
            return Err(StoreError::Backend(
                format!("malformed tail payload {payload:?}").into(),
            ));
        };
        match op {
            users::DELETE_USER_OP => self.tail_delete_user(arg).await,
            posts::DELETE_POST_OP => self.tail_delete_post(arg).await,
            moderation::RECOUNT_OP => self.tail_recount(arg).await,
            moderation::CLOSE_REPORTS_OP => self.tail_close_reports(arg).await,
            _ => Err(StoreError::Backend(format!("unknown tail {op:?}").into())),
        }
    }

    fn consumed_capacity(&self) -> Option<(f64, f64)> {
        Some(self.db.capacity().units())
    }

    async fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
