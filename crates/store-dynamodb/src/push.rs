//! `PushStore`: device tokens for push.
//!
//! Items (notifications table), both with `user_id`, `token`, `platform`, `provider`,
//! `created_at` (an item without `provider` predates it and is an Expo device):
//! - the device `DEV#token` / `_`: who owns the token now (the rule: one owner);
//! - its copy `U#user` / `DEV#token`: a user's devices are one base-table query.
//!
//! Registering moves a token: one transaction puts the device (conditioned on the
//! owner it was read with), puts the new owner's copy and deletes the old owner's.
//! A user keeps the newest [`MAX_DEVICES`] devices, like SQL.

use crate::DynamoStore;
use crate::db::Query;
use crate::item::{Item, ItemBuilder, get_n, get_s, s};
use crate::keys;
use crate::write::Write;
use async_trait::async_trait;
use scooter_core::notification::{Platform, PushDevice, PushService};
use scooter_core::{Timestamp, UserId};
use scooter_store::{PushStore, StoreError, StoreResult};

/// Devices kept per user.
const MAX_DEVICES: usize = 20;

/// What a device item holds besides its key.
struct Device<'a> {
    user: &'a str,
    token: &'a str,
    platform: Platform,
    service: PushService,
    at: i64,
}

fn device_item(pk: String, sk: &str, d: &Device<'_>) -> Item {
    ItemBuilder::key(pk, sk)
        .s("user_id", d.user)
        .s("token", d.token)
        .s("platform", d.platform.as_str())
        .s("provider", d.service.as_str())
        .n("created_at", d.at)
        .build()
}

impl DynamoStore {
    /// The device item of a token (strongly consistent).
    async fn device(&self, token: &str) -> StoreResult<Option<Item>> {
        self.db
            .get(&self.t.notifications, &keys::device(token), keys::ONE)
            .await
    }

    /// The copies under a user's partition (strongly consistent).
    async fn device_copies(&self, user: &str) -> StoreResult<Vec<Item>> {
        let q = Query::new(&self.t.notifications, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(keys::user(user)))
            .value(":p", s(keys::device("")));
        self.db.query_all(&q, None).await
    }

    /// Deletes the token if `owner` still owns it; `false` if not (moved or gone).
    async fn delete_device_of(&self, owner: &str, token: &str) -> StoreResult<bool> {
        let writes = vec![
            Write::delete(&self.t.notifications, &keys::device(token), keys::ONE)
                .cond("#user_id = :me")
                .value(":me", s(owner)),
            Write::delete(
                &self.t.notifications,
                &keys::user(owner),
                &keys::device(token),
            ),
        ];
        Ok(self.db.transact(writes).await?.is_ok())
    }

    /// Drops all but the newest [`MAX_DEVICES`] of a user's devices (newest by
    /// `created_at`, then token, as SQL orders them).
    async fn trim_devices(&self, user: &str) -> StoreResult<()> {
        let mut copies = self.device_copies(user).await?;
        if copies.len() <= MAX_DEVICES {
            return Ok(());
        }
        copies.sort_by(|a, b| {
            let key = |i: &Item| (get_n(i, "created_at"), get_s(i, "token").map(str::to_owned));
            key(b).cmp(&key(a))
        });
        for old in &copies[MAX_DEVICES..] {
            if let Some(token) = get_s(old, "token") {
                self.delete_device_of(user, token).await?;
            }
        }
        Ok(())
    }

    /// Forgets every device of a user (account deletion): resumable, each token
    /// removed only while still the user's.
    pub(crate) async fn forget_devices_of(&self, user: &str) -> StoreResult<()> {
        for copy in self.device_copies(user).await? {
            if let Some(token) = get_s(&copy, "token")
                && !self.delete_device_of(user, token).await?
            {
                // Not the user's (any more): only a stale copy is left.
                let w = Write::delete(
                    &self.t.notifications,
                    &keys::user(user),
                    &keys::device(token),
                );
                self.db.write(w, false).await?.ok();
            }
        }
        Ok(())
    }
}

#[async_trait]
impl PushStore for DynamoStore {
    async fn register_device(
        &self,
        user: &UserId,
        token: &str,
        platform: Platform,
        service: PushService,
        at: Timestamp,
    ) -> StoreResult<()> {
        let me = user.as_str();
        let device = Device {
            user: me,
            token,
            platform,
            service,
            at: at.millis(),
        };
        for _ in 0..crate::REPLANS {
            let old = self.device(token).await?;
            let item = device_item(keys::device(token), keys::ONE, &device);
            let mut put = Write::put(&self.t.notifications, item);
            let old_owner = old
                .as_ref()
                .and_then(|o| get_s(o, "user_id"))
                .map(str::to_owned);
            put = match &old_owner {
                Some(o) => put.cond("#user_id = :old").value(":old", s(o.clone())),
                None => put.cond("attribute_not_exists(#pk)"),
            };
            let copy = device_item(keys::user(me), &keys::device(token), &device);
            let mut writes = vec![put, Write::put(&self.t.notifications, copy)];
            if let Some(o) = old_owner.filter(|o| o != me) {
                writes.push(Write::delete(
                    &self.t.notifications,
                    &keys::user(&o),
                    &keys::device(token),
                ));
            }
            if self.db.transact(writes).await?.is_ok() {
                return self.trim_devices(me).await;
            }
        }
        Err(crate::kept_racing())
    }

    async fn unregister_device(&self, user: &UserId, token: &str) -> StoreResult<bool> {
        self.delete_device_of(user.as_str(), token).await
    }

    async fn devices_of(&self, user: &UserId) -> StoreResult<Vec<PushDevice>> {
        let mut copies = self.device_copies(user.as_str()).await?;
        copies.sort_by_key(|i| get_n(i, "created_at"));
        copies
            .iter()
            .map(|i| {
                let platform = get_s(i, "platform")
                    .and_then(Platform::from_stored)
                    .ok_or_else(|| StoreError::Backend("stored platform is malformed".into()))?;
                let service = match get_s(i, "provider") {
                    None => PushService::Expo,
                    Some(p) => PushService::from_stored(p).ok_or_else(|| {
                        StoreError::Backend("stored push provider is malformed".into())
                    })?,
                };
                Ok(PushDevice {
                    token: crate::item::req_s(i, "token")?,
                    user: user.clone(),
                    platform,
                    service,
                })
            })
            .collect()
    }

    async fn forget_device(&self, token: &str) -> StoreResult<()> {
        for _ in 0..crate::REPLANS {
            let Some(owner) = self
                .device(token)
                .await?
                .and_then(|d| get_s(&d, "user_id").map(str::to_owned))
            else {
                return Ok(());
            };
            if self.delete_device_of(&owner, token).await? {
                return Ok(());
            }
        }
        Err(crate::kept_racing())
    }
}
