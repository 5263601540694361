//! The seed loader (`scooterbooter seed`): `BatchWriteItem`, 25 items a call, several
//! calls in flight, with the same item builders the use cases write, so a seeded data
//! set reads exactly like one made through the API. Counters are left to
//! [`BulkLoad::recount`], which walks every user once.

use crate::DynamoStore;
use crate::db::Query;
use crate::db::put_request;
use crate::item::{Item, get_s, n, s};
use crate::keys;
use crate::posts::post_item;
use crate::write::Write;
use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt, stream};
use scooter_core::media::{Media, MediaKind, MediaPurpose, MediaStatus};
use scooter_core::post::{Post, ReactionCounts};
use scooter_core::scoop::Scoop;
use scooter_store::StoreResult;
use scooter_store::bulk::{BulkLoad, SeedFollow, SeedPost, SeedScoop, SeedUser};

/// `BatchWriteItem` calls in flight at once.
const PARALLEL_WRITES: usize = 8;
/// Users recounted at once.
const PARALLEL_RECOUNTS: usize = 16;
/// The size recorded for a seeded scoop's image (no file is written), as on SQL.
const SEED_IMAGE_BYTES: u64 = 200_000;

impl DynamoStore {
    /// Writes items to one table in parallel batches.
    async fn load(&self, table: &str, items: Vec<Item>) -> StoreResult<()> {
        let requests = items
            .into_iter()
            .map(put_request)
            .collect::<StoreResult<Vec<_>>>()?;
        let chunks: Vec<Vec<_>> = requests.chunks(25 * 4).map(<[_]>::to_vec).collect();
        stream::iter(chunks)
            .map(|chunk| self.db.batch_write(table, chunk))
            .buffer_unordered(PARALLEL_WRITES)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// How many items a query finds, reading keys only.
    async fn count(&self, q: Query) -> StoreResult<i64> {
        let items = self.db.query_all(&q.project("#pk"), None).await?;
        Ok(i64::try_from(items.len()).unwrap_or(i64::MAX))
    }

    async fn recount_user(&self, id: String) -> StoreResult<()> {
        let edges = |prefix: &'static str| {
            Query::new(&self.t.social, "#pk = :pk AND begins_with(#sk, :p)")
                .value(":pk", s(keys::user(&id)))
                .value(":p", s(prefix))
        };
        let posts = Query::new(&self.t.posts, "#gsi1pk = :pk")
            .index("gsi1")
            .value(":pk", s(keys::author_posts(&id)));
        let (following, followers, posts) = tokio::try_join!(
            self.count(edges("F#")),
            self.count(edges("FR#")),
            self.count(posts)
        )?;
        let update = Write::update(
            &self.t.users,
            &keys::user(&id),
            keys::PROFILE,
            "SET #followers_count = :fr, #following_count = :fg, #posts_count = :p",
        )
        .cond("attribute_exists(#pk)")
        .value(":fr", n(followers))
        .value(":fg", n(following))
        .value(":p", n(posts));
        // A user deleted meanwhile has nothing to count.
        let _gone = self.db.write(update, false).await?;
        Ok(())
    }
}

#[async_trait]
impl BulkLoad for DynamoStore {
    async fn load_users(&self, users: &[SeedUser]) -> StoreResult<()> {
        let items = users
            .iter()
            .flat_map(crate::users::seed_user_items)
            .collect();
        self.load(&self.t.users, items).await
    }

    async fn load_follows(&self, follows: &[SeedFollow]) -> StoreResult<()> {
        let items = follows
            .iter()
            .flat_map(|f| {
                // Seeded users are never suspended: every edge counts on both sides.
                let (forward, reverse) = crate::social::follow_items(
                    f.follower.as_str(),
                    f.followee.as_str(),
                    f.created_at.millis(),
                    true,
                    true,
                );
                [forward, reverse]
            })
            .collect();
        self.load(&self.t.social, items).await
    }

    async fn load_posts(&self, posts: &[SeedPost]) -> StoreResult<()> {
        let items = posts
            .iter()
            .map(|p| {
                let post = Post {
                    id: p.id.clone(),
                    author: p.author.clone(),
                    text: p.text.clone(),
                    created_at: p.created_at,
                    comment_count: 0,
                    reactions: ReactionCounts::default(),
                };
                post_item(&post, &[], &[])
            })
            .collect();
        self.load(&self.t.posts, items).await
    }

    async fn load_scoops(&self, scoops: &[SeedScoop]) -> StoreResult<()> {
        let media = scoops
            .iter()
            .map(|sc| {
                crate::media::media_item(&Media {
                    key: sc.media_key.clone(),
                    owner: sc.author.clone(),
                    purpose: MediaPurpose::Scoop,
                    kind: MediaKind::Image,
                    content_type: "image/jpeg".into(),
                    size: SEED_IMAGE_BYTES,
                    status: MediaStatus::Ready,
                    width: Some(1080),
                    height: Some(1920),
                    duration_ms: None,
                    thumb_key: None,
                    blurhash: None,
                    error: None,
                    created_at: sc.created_at,
                })
            })
            .collect();
        self.load(&self.t.media, media).await?;
        let items = scoops
            .iter()
            .map(|sc| {
                crate::scoops::scoop_item(&Scoop {
                    id: sc.id.clone(),
                    author: sc.author.clone(),
                    media_key: sc.media_key.clone(),
                    media_alt: None,
                    caption: None,
                    created_at: sc.created_at,
                    expires_at: sc.expires_at,
                    view_count: 0,
                })
            })
            .collect();
        self.load(&self.t.scoops, items).await
    }

    async fn recount(&self) -> StoreResult<()> {
        let all = Query::new(&self.t.users, "#gsi1pk = :pk")
            .index("gsi1")
            .value(":pk", s(keys::ALL_USERS))
            .project("#id");
        let ids: Vec<String> = self
            .db
            .query_all(&all, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "id").map(str::to_owned))
            .collect();
        stream::iter(ids)
            .map(|id| self.recount_user(id))
            .buffer_unordered(PARALLEL_RECOUNTS)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}
