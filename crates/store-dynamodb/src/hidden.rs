//! Profiles by id, and who a viewer does not see: users with a block either way, and
//! suspended users. Lists read a page of candidates, drop the hidden ones and read on
//! until the page is full (a `Limit` applies before any filter, so a filter alone
//! would hand back short pages).

use crate::DynamoStore;
use crate::db::Query;
use crate::item::{Item, Rec, get_s, s};
use crate::keys;
use scooter_core::user::User;
use scooter_store::StoreResult;
use scooter_store_sql::rows;
use std::collections::{HashMap, HashSet};

impl DynamoStore {
    /// The profile items of these users that exist (strongly consistent).
    pub(crate) async fn profile_items(&self, ids: &[String]) -> StoreResult<Vec<Item>> {
        let keys: Vec<(String, String)> = ids
            .iter()
            .map(|id| (keys::user(id), keys::PROFILE.to_owned()))
            .collect();
        self.db.batch_get(&self.t.users, &keys).await
    }

    /// The users with these ids that exist, by id.
    pub(crate) async fn users_by_id(&self, ids: &[String]) -> StoreResult<HashMap<String, User>> {
        self.profile_items(ids)
            .await?
            .iter()
            .map(|i| rows::user(&Rec(i)).map(|u| (u.id.as_str().to_owned(), u)))
            .collect()
    }

    /// Those of `others` with a block either way with `viewer`. Both directions sit in
    /// the viewer's own partition (`B#` they block, `BB#` they are blocked by), so one
    /// consistent query on the `B` prefix reads them all: a rider blocks few, and a
    /// query finding nothing costs one unit where a batch read of two keys per
    /// candidate costs two per candidate, found or not.
    pub(crate) async fn blocked_among(
        &self,
        viewer: &str,
        others: &[String],
    ) -> StoreResult<HashSet<String>> {
        if others.is_empty() {
            return Ok(HashSet::new());
        }
        let q = Query::new(&self.t.social, "#pk = :pk AND begins_with(#sk, :b)")
            .value(":pk", s(keys::user(viewer)))
            .value(":b", s("B"))
            .project("#sk");
        let wanted: HashSet<&str> = others.iter().map(String::as_str).collect();
        Ok(self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter_map(|i| get_s(i, "sk"))
            .filter_map(|sk| sk.strip_prefix("BB#").or_else(|| sk.strip_prefix("B#")))
            .filter(|id| wanted.contains(id))
            .map(str::to_owned)
            .collect())
    }

    /// Those of `others` that `viewer` may see, by id: they exist, are not suspended
    /// and have no block either way with `viewer`.
    pub(crate) async fn visible_users(
        &self,
        viewer: &str,
        others: &[String],
    ) -> StoreResult<HashMap<String, User>> {
        let (users, blocked) =
            tokio::try_join!(self.users_by_id(others), self.blocked_among(viewer, others))?;
        Ok(users
            .into_iter()
            .filter(|(id, u)| u.suspension.is_none() && !blocked.contains(id))
            .collect())
    }

    /// Up to `limit` items of `q`, after `start`, whose user (the attribute `user_of`)
    /// `viewer` may see, each made by `make`. A `Limit` applies before any filter, so
    /// this reads on until the page is full or the items end.
    pub(crate) async fn visible_page<T>(
        &self,
        viewer: &str,
        q: &Query,
        mut start: Option<Item>,
        limit: u32,
        user_of: &str,
        make: impl Fn(&Item, &User) -> StoreResult<T>,
    ) -> StoreResult<Vec<T>> {
        let want = limit as usize;
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            let (items, next) = self.db.query_page(q, start).await?;
            let users = distinct(items.iter().filter_map(|i| get_s(i, user_of)));
            let visible = self.visible_users(viewer, &users).await?;
            for i in &items {
                if let Some(u) = get_s(i, user_of).and_then(|id| visible.get(id))
                    && out.len() < want
                {
                    out.push(make(i, u)?);
                }
            }
            match next {
                Some(n) => start = Some(n),
                None => break,
            }
        }
        Ok(out)
    }
}

/// Each of `ids` once, in order.
pub(crate) fn distinct<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: Vec<String> = ids.map(str::to_owned).collect();
    seen.sort_unstable();
    seen.dedup();
    seen
}
