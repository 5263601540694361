//! `InviteStore` on the users table.
//!
//! Items: the code `I#code` / `_` (`code`, `created_by`, `created_at`, `used_by`,
//! `used_at`): the one-time rule of redemption; its owner's copy `U#owner` / `I#code`
//! (same attributes): the owner's list is one base-table query of their partition. The
//! profile's `invites_made` counter is raised with the insert in one transaction,
//! conditioned on being below the quota, so parallel requests cannot exceed it (SQL
//! counts the rows in its single writer; codes are never deleted but with their owner,
//! so the two agree).
//!
//! The redeemer's profile keeps the code it redeemed (`invite_code`, next to
//! `invited_at`): a user redeems at most one, and deleting the account unlinks it
//! ([`DynamoStore::forget_redeemer`]) as SQL's `ON DELETE SET NULL` on `used_by` does.
//! Profiles from before that attribute leave their code linked.

use crate::DynamoStore;
use crate::db::Query;
use crate::item::{Item, ItemBuilder, get_n, get_s, n, s};
use crate::keys;
use crate::write::Write;
use async_trait::async_trait;
use scooter_core::invite::{Invite, InviteCode};
use scooter_core::{Timestamp, UserId};
use scooter_store::{CreateInviteOutcome, InviteStore, RedeemOutcome, StoreError, StoreResult};

/// The code's writes when `user` redeems it at `at`: the code, conditioned on being
/// unused (action 0), and its owner's copy (action 1).
pub(crate) fn redeem_writes(
    table: &str,
    code: &str,
    owner: &str,
    user: &str,
    at: i64,
) -> Vec<Write> {
    let expr = "SET #used_by = :u, #used_at = :at";
    vec![
        Write::update(table, &keys::invite(code), keys::ONE, expr)
            .cond("attribute_exists(#pk) AND attribute_not_exists(#used_at)")
            .value(":u", s(user))
            .value(":at", n(at)),
        Write::update(table, &keys::user(owner), &keys::invite(code), expr)
            .cond("attribute_exists(#pk)")
            .value(":u", s(user))
            .value(":at", n(at)),
    ]
}

/// The redeemer's profile update: `invited_at` and the code redeemed (callers add the
/// condition).
pub(crate) fn invited_write(table: &str, user: &str, code: &str, at: i64) -> Write {
    Write::update(
        table,
        &keys::user(user),
        keys::PROFILE,
        "SET #invited_at = :at, #invite_code = :code",
    )
    .value(":at", n(at))
    .value(":code", s(code))
}

fn invite_item(pk: String, sk: &str, code: &str, owner: &str, at: i64) -> Item {
    ItemBuilder::key(pk, sk)
        .s("code", code)
        .s("created_by", owner)
        .n("created_at", at)
        .build()
}

fn invite_of(owner: &UserId, item: &Item) -> StoreResult<Invite> {
    let created_at = get_n(item, "created_at")
        .ok_or_else(|| StoreError::Backend("invite created_at is missing".into()))?;
    Ok(Invite {
        code: InviteCode::from_stored(crate::item::req_s(item, "code")?),
        created_by: owner.clone(),
        created_at: Timestamp::from_millis(created_at),
        used_at: get_n(item, "used_at").map(Timestamp::from_millis),
    })
}

#[async_trait]
impl InviteStore for DynamoStore {
    async fn list_invites(&self, owner: &UserId) -> StoreResult<Vec<Invite>> {
        let q = Query::new(&self.t.users, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(keys::user(owner.as_str())))
            .value(":p", s(keys::invite("")));
        let mut list: Vec<Invite> = self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .map(|i| invite_of(owner, i))
            .collect::<StoreResult<_>>()?;
        list.sort_by(|a, b| (b.created_at, b.code.as_str()).cmp(&(a.created_at, a.code.as_str())));
        Ok(list)
    }

    async fn create_invite(
        &self,
        owner: &UserId,
        code: &InviteCode,
        quota: u32,
        at: Timestamp,
    ) -> StoreResult<CreateInviteOutcome> {
        let me = owner.as_str();
        let c = code.as_str();
        let writes = vec![
            Write::update(
                &self.t.users,
                &keys::user(me),
                keys::PROFILE,
                "ADD #invites_made :one",
            )
            .cond(
                "attribute_exists(#pk) AND \
                     (attribute_not_exists(#invites_made) OR #invites_made < :quota)",
            )
            .value(":one", n(1))
            .value(":quota", n(i64::from(quota))),
            Write::put_new(
                &self.t.users,
                invite_item(keys::invite(c), keys::ONE, c, me, at.millis()),
            ),
            Write::put_new(
                &self.t.users,
                invite_item(keys::user(me), &keys::invite(c), c, me, at.millis()),
            ),
        ];
        match self.db.transact(writes).await? {
            Ok(()) => Ok(CreateInviteOutcome::Created(Invite {
                code: code.clone(),
                created_by: owner.clone(),
                created_at: at,
                used_at: None,
            })),
            Err(c) if c.failed(0) => match self.profile_of(me).await? {
                Some(_) => Ok(CreateInviteOutcome::QuotaExhausted),
                None => Err(StoreError::MissingReference),
            },
            Err(_) => Err(StoreError::Conflict("invite code")),
        }
    }

    async fn redeem_invite(
        &self,
        user: &UserId,
        code: &InviteCode,
        at: Timestamp,
    ) -> StoreResult<RedeemOutcome> {
        let me = user.as_str();
        let (profile_pk, code_pk) = (keys::user(me), keys::invite(code.as_str()));
        let wanted = [
            (profile_pk.clone(), keys::PROFILE.to_owned()),
            (code_pk.clone(), keys::ONE.to_owned()),
        ];
        for _ in 0..=crate::REPLANS {
            // The profile and the code in one round trip.
            let found = self.db.batch_get(&self.t.users, &wanted).await?;
            let pick = |pk: &str| found.iter().find(|i| get_s(i, "pk") == Some(pk));
            let profile = pick(&profile_pk);
            if profile.is_some_and(|p| p.contains_key("invited_at")) {
                return Ok(RedeemOutcome::AlreadyInvited);
            }
            let Some(invite) = pick(&code_pk).filter(|i| !i.contains_key("used_at")) else {
                return Ok(RedeemOutcome::Invalid);
            };
            let owner = crate::item::req_s(invite, "created_by")?;
            if owner == me {
                return Ok(RedeemOutcome::OwnCode);
            }
            if profile.is_none() {
                return Err(StoreError::MissingReference);
            }
            let mut writes = redeem_writes(&self.t.users, code.as_str(), &owner, me, at.millis());
            writes.push(
                invited_write(&self.t.users, me, code.as_str(), at.millis())
                    .cond("attribute_exists(#pk) AND attribute_not_exists(#invited_at)")
                    .replan_on_fail(),
            );
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(RedeemOutcome::Redeemed),
                // Used meanwhile, or its owner's account went with it.
                Err(c) if c.failed(0) || c.failed(1) => return Ok(RedeemOutcome::Invalid),
                // Invited or deleted meanwhile: read again.
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }
}

impl DynamoStore {
    /// The code `code` (and its owner's copy) forgets that `user` redeemed it; it stays
    /// used. Idempotent: a code gone with its owner, or unlinked already, is left.
    pub(crate) async fn forget_redeemer(&self, code: &str, user: &str) -> StoreResult<()> {
        let code_pk = keys::invite(code);
        let Some(invite) = self.db.get(&self.t.users, &code_pk, keys::ONE).await? else {
            return Ok(());
        };
        let Some(owner) = get_s(&invite, "created_by") else {
            return Ok(());
        };
        let unlink = |pk: &str, sk: &str| {
            Write::update(&self.t.users, pk, sk, "REMOVE #used_by")
                .cond("#used_by = :me")
                .value(":me", s(user))
        };
        let owner_pk = keys::user(owner);
        // A failed condition: that copy no longer names the user.
        let (_code, _copy) = tokio::try_join!(
            self.db.write(unlink(&code_pk, keys::ONE), false),
            self.db.write(unlink(&owner_pk, &code_pk), false),
        )?;
        Ok(())
    }
}
