//! `AccountStore` on the users table: built-in accounts, refresh tokens, sessions,
//! barred addresses.
//!
//! Items (users table):
//! - account `E#address` / `_` (`email`, `user_id`, `password_hash`, `created_at`):
//!   one per address, the uniqueness rule of sign-up;
//! - refresh token `RT#hash` / `_` (`token_hash`, `family_id`, `user_id`, `issued_at`,
//!   `expires_at`, `spent_at`; `ttl` a week after expiry), `gsi1` `RTX#n` /
//!   `ts13(expires_at)#hash` (expired tokens, for the clean-up; 4 shards) and `gsi2`
//!   `RTF#family` / hash (a family's tokens);
//! - session = token family `U#user` / `S#family` (`id`, `user_id`, `created_at`,
//!   `last_used_at`, `client`, `expires_at` of its newest token, `revoked_at`); `gsi2`
//!   `SX#n` / `ts13(expires_at)#family` (sessions past use) and, once revoked, `gsi1`
//!   `RVK#n` / `ts13(revoked_at)#family`.
//! - barred address `BAR#digest` / `_` (`digest`, `barred_at`).
//!
//! SQL marks every token of a family revoked; here the family is revoked once, on its
//! session item: a token works only while its session exists unrevoked (ending a
//! session deletes that item). A rotation reads only the token: it spends it
//! conditioned on the spend it read, puts the next token and touches the session
//! conditioned on it being live, in one transaction; a reuse revokes the family only
//! if its session is live, so a dead session answers `Invalid` either way.

use crate::DynamoStore;
use crate::db::Query;
use crate::item::{Item, ItemBuilder, get_n, get_s, n, s, ts13, ttl_at};
use crate::keys;
use crate::users::{account_item, profile_item, user_id};
use crate::write::Write;
use async_trait::async_trait;
use scooter_core::invite::InviteCode;
use scooter_core::user::NewUser;
use scooter_core::{Email, Timestamp, UserId};
use scooter_store::{
    AccountStore, Credential, EndSessions, NewRefreshToken, RotateOutcome, SessionInfo,
    SignupOutcome, StoreError, StoreResult,
};

/// Shards of the clean-up indexes of tokens and sessions.
const SHARDS: u32 = 4;
/// How long expired or revoked sign-in items are kept (as SQL's clean-up).
const KEEP_MS: i64 = 7 * 24 * 3600 * 1000;
/// Token deletes in flight at once.
const TOKENS_IN_FLIGHT: usize = 8;

fn shard(s: &str) -> u32 {
    s.bytes()
        .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)))
        % SHARDS
}

/// `gsi1pk` of expiring tokens.
fn expiring_tokens(shard: u32) -> String {
    format!("RTX#{shard}")
}

/// `gsi2pk` of a family's tokens.
fn family_tokens(family: &str) -> String {
    format!("RTF#{family}")
}

/// `gsi2pk` of sessions by the expiry of their newest token.
fn expiring_sessions(shard: u32) -> String {
    format!("SX#{shard}")
}

/// `gsi1pk` of revoked sessions.
fn revoked_sessions(shard: u32) -> String {
    format!("RVK#{shard}")
}

fn token_item(hash: &str, family: &str, user: &str, issued: i64, expires: i64) -> Item {
    ItemBuilder::key(keys::refresh_token(hash), keys::ONE)
        .s("token_hash", hash)
        .s("family_id", family)
        .s("user_id", user)
        .n("issued_at", issued)
        .n("expires_at", expires)
        .set("ttl", ttl_at(expires.saturating_add(KEEP_MS)))
        .s("gsi1pk", expiring_tokens(shard(hash)))
        .s("gsi1sk", keys::at_then(expires, hash))
        .s("gsi2pk", family_tokens(family))
        .s("gsi2sk", hash)
        .build()
}

fn session_item(t: &NewRefreshToken) -> Item {
    let family = &t.family_id;
    ItemBuilder::key(keys::user(t.user_id.as_str()), keys::session(family))
        .s("id", family)
        .s("user_id", t.user_id.as_str())
        .n("created_at", t.issued_at.millis())
        .n("last_used_at", t.issued_at.millis())
        .opt_s("client", t.client.clone())
        .n("expires_at", t.expires_at.millis())
        .s("gsi2pk", expiring_sessions(shard(family)))
        .s("gsi2sk", keys::at_then(t.expires_at.millis(), family))
        .build()
}

/// Moves a session's expiry (and its clean-up index entry) to `expires`, and its last
/// use to `used` when given.
fn session_touch(table: &str, user: &str, family: &str, expires: i64, used: Option<i64>) -> Write {
    let expr = if used.is_some() {
        "SET #expires_at = :e, #gsi2sk = :esk, #last_used_at = :used"
    } else {
        "SET #expires_at = :e, #gsi2sk = :esk"
    };
    let w = Write::update(table, &keys::user(user), &keys::session(family), expr)
        .value(":e", n(expires))
        .value(":esk", s(keys::at_then(expires, family)));
    match used {
        Some(at) => w.value(":used", n(at)),
        None => w,
    }
}

fn session_info(item: &Item) -> StoreResult<SessionInfo> {
    let num = |name: &str| {
        get_n(item, name).ok_or_else(|| StoreError::Backend(format!("session {name}").into()))
    };
    Ok(SessionInfo {
        id: crate::item::req_s(item, "id")?,
        created_at: Timestamp::from_millis(num("created_at")?),
        last_used_at: Timestamp::from_millis(num("last_used_at")?),
        client: get_s(item, "client").map(str::to_owned),
    })
}

/// What a presented token is, read before planning a rotation (its session is not
/// read: the rotation's conditions decide on it).
struct Presented {
    family: String,
    owner: String,
    spent_at: Option<i64>,
}

impl DynamoStore {
    /// The token with this hash, if it has not expired at `now`.
    async fn unexpired_token(&self, hash: &str, now: Timestamp) -> StoreResult<Option<Presented>> {
        let Some(t) = self
            .db
            .get(&self.t.users, &keys::refresh_token(hash), keys::ONE)
            .await?
        else {
            return Ok(None);
        };
        let (Some(family), Some(owner), Some(expires)) = (
            get_s(&t, "family_id"),
            get_s(&t, "user_id"),
            get_n(&t, "expires_at"),
        ) else {
            return Ok(None);
        };
        if expires <= now.millis() {
            return Ok(None);
        }
        Ok(Some(Presented {
            family: family.to_owned(),
            owner: owner.to_owned(),
            spent_at: get_n(&t, "spent_at"),
        }))
    }

    /// The built-in account of an address.
    async fn account_of(&self, email: &Email) -> StoreResult<Option<Item>> {
        self.db
            .get(&self.t.users, &keys::email(email.as_str()), keys::ONE)
            .await
    }

    /// Revokes a family on its session item; `false` when it is gone or revoked already.
    async fn revoke_family(&self, user: &str, family: &str, now: Timestamp) -> StoreResult<bool> {
        let w = Write::update(
            &self.t.users,
            &keys::user(user),
            &keys::session(family),
            "SET #revoked_at = :now, #gsi1pk = :rpk, #gsi1sk = :rsk",
        )
        .cond("attribute_exists(#pk) AND attribute_not_exists(#revoked_at)")
        .value(":now", n(now.millis()))
        .value(":rpk", s(revoked_sessions(shard(family))))
        .value(":rsk", s(keys::at_then(now.millis(), family)));
        Ok(self.db.write(w, false).await?.is_ok())
    }

    /// Deletes every refresh token of a family (a session that ended or an account
    /// that went); returns how many there were.
    pub(crate) async fn delete_family_tokens(&self, family: &str) -> StoreResult<u64> {
        let q = Query::new(&self.t.users, "#gsi2pk = :pk")
            .index("gsi2")
            .value(":pk", s(family_tokens(family)));
        self.delete_tokens(&self.db.query_all(&q, None).await?)
            .await
    }

    /// Deletes these token items, a few at a time; returns how many were still there.
    async fn delete_tokens(&self, tokens: &[Item]) -> StoreResult<u64> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        let mut deletes = Vec::with_capacity(tokens.len());
        for pk in tokens.iter().filter_map(|t| get_s(t, "pk")) {
            deletes.push(Write::delete(&self.t.users, pk, keys::ONE).cond("attribute_exists(#pk)"));
        }
        stream::iter(deletes)
            .map(|w| self.db.write(w, false))
            .buffer_unordered(TOKENS_IN_FLIGHT)
            .try_fold(0, |gone, r| async move { Ok(gone + u64::from(r.is_ok())) })
            .await
    }

    /// The sign-in part of `purge_stale` (for the jobs module): tokens expired a week
    /// ago, families revoked a week ago (their tokens and session), and sessions
    /// whose newest token expired a week ago and which were last used before that.
    /// Returns how many tokens and sessions went, like SQL's row counts.
    pub(crate) async fn purge_stale_sign_ins(&self, now: Timestamp) -> StoreResult<u64> {
        let cutoff = now.millis().saturating_sub(KEEP_MS);
        let bound = ts13(cutoff);
        let mut gone = 0u64;
        for shard in 0..SHARDS {
            let q = Query::new(&self.t.users, "#gsi1pk = :pk AND #gsi1sk < :b")
                .index("gsi1")
                .value(":pk", s(expiring_tokens(shard)))
                .value(":b", s(bound.clone()));
            gone += self
                .delete_tokens(&self.db.query_all(&q, None).await?)
                .await?;
            let q = Query::new(&self.t.users, "#gsi1pk = :pk AND #gsi1sk < :b")
                .index("gsi1")
                .value(":pk", s(revoked_sessions(shard)))
                .value(":b", s(bound.clone()));
            for session in self.db.query_all(&q, None).await? {
                if let Some(family) = get_s(&session, "id") {
                    gone += self.delete_family_tokens(family).await?;
                }
                gone += self.delete_stale_session(&session, cutoff).await?;
            }
            let q = Query::new(&self.t.users, "#gsi2pk = :pk AND #gsi2sk < :b")
                .index("gsi2")
                .value(":pk", s(expiring_sessions(shard)))
                .value(":b", s(bound.clone()));
            for session in self.db.query_all(&q, None).await? {
                gone += self.delete_stale_session(&session, cutoff).await?;
            }
        }
        Ok(gone)
    }

    /// Deletes a session last used before `cutoff` (conditioned on that, so a refresh
    /// meanwhile keeps it); 1 when it went.
    async fn delete_stale_session(&self, session: &Item, cutoff: i64) -> StoreResult<u64> {
        let (Some(pk), Some(sk)) = (get_s(session, "pk"), get_s(session, "sk")) else {
            return Ok(0);
        };
        let w = Write::delete(&self.t.users, pk, sk)
            .cond("attribute_exists(#pk) AND #last_used_at < :c")
            .value(":c", n(cutoff));
        Ok(u64::from(self.db.write(w, false).await?.is_ok()))
    }

    /// The invite writes of a sign-up: the code used by `user` and its owner's copy.
    async fn signup_invite_writes(
        &self,
        code: &InviteCode,
        user: &str,
        at: i64,
    ) -> StoreResult<Option<Vec<Write>>> {
        let Some(invite) = self
            .db
            .get(&self.t.users, &keys::invite(code.as_str()), keys::ONE)
            .await?
        else {
            return Ok(None);
        };
        if invite.contains_key("used_at") {
            return Ok(None);
        }
        let Some(owner) = get_s(&invite, "created_by") else {
            return Ok(None);
        };
        Ok(Some(crate::invites::redeem_writes(
            &self.t.users,
            code.as_str(),
            owner,
            user,
            at,
        )))
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn create_password_account(
        &self,
        user: NewUser,
        password_hash: Option<&str>,
        invite: Option<&InviteCode>,
    ) -> StoreResult<SignupOutcome> {
        let id = user.id.as_str();
        let at = user.created_at.millis();
        for _ in 0..=crate::REPLANS {
            // The address and the invite, at once.
            let redeem = async {
                match invite {
                    Some(code) => self.signup_invite_writes(code, id, at).await.map(Some),
                    None => Ok(None),
                }
            };
            let (taken, redeem) = tokio::try_join!(self.account_of(&user.email), redeem)?;
            if taken.is_some() {
                return Ok(SignupOutcome::EmailTaken);
            }
            let mut created = user.clone().into_user();
            if invite.is_some() {
                created.invited_at = Some(user.created_at);
            }
            let mut profile = profile_item(&created);
            if let Some(code) = invite {
                profile.insert("invite_code".to_owned(), s(code.as_str()));
            }
            // Action 0: the address; 1: the profile; 2..: the invite.
            let mut writes = vec![
                Write::put_new(
                    &self.t.users,
                    account_item(user.email.as_str(), id, password_hash, user.created_at),
                ),
                Write::put_new(&self.t.users, profile).replan_on_fail(),
            ];
            match redeem {
                Some(Some(redeem)) => writes.extend(redeem),
                Some(None) => return Ok(SignupOutcome::InviteInvalid),
                None => {}
            }
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(SignupOutcome::Created(Box::new(created))),
                Err(c) if c.failed(0) => return Ok(SignupOutcome::EmailTaken),
                Err(c) if c.failed(2) || c.failed(3) => return Ok(SignupOutcome::InviteInvalid),
                Err(c) if c.failed(1) => {
                    // The id has a profile already (from another sign-in); SQL keeps it.
                    return self
                        .account_for_existing(&user, password_hash, invite)
                        .await;
                }
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    async fn credential_by_email(&self, email: &Email) -> StoreResult<Option<Credential>> {
        let Some(a) = self.account_of(email).await? else {
            return Ok(None);
        };
        let (Some(uid), Some(hash)) = (get_s(&a, "user_id"), get_s(&a, "password_hash")) else {
            return Ok(None);
        };
        Ok(Some(Credential {
            user_id: user_id(uid)?,
            password_hash: hash.to_owned(),
        }))
    }

    async fn user_id_by_email(&self, email: &Email) -> StoreResult<Option<UserId>> {
        self.account_of(email)
            .await?
            .as_ref()
            .and_then(|a| get_s(a, "user_id"))
            .map(user_id)
            .transpose()
    }

    async fn insert_refresh_token(&self, token: NewRefreshToken) -> StoreResult<()> {
        let user = token.user_id.as_str();
        let family = &token.family_id;
        let item = token_item(
            &token.token_hash,
            family,
            user,
            token.issued_at.millis(),
            token.expires_at.millis(),
        );
        for _ in 0..=crate::REPLANS {
            let session = self
                .db
                .get(&self.t.users, &keys::user(user), &keys::session(family))
                .await?;
            let mut writes = vec![Write::put_new(&self.t.users, item.clone())];
            match &session {
                // A new family: its session, unless a parallel insert made it.
                None => writes
                    .push(Write::put_new(&self.t.users, session_item(&token)).replan_on_fail()),
                // SQL keeps the session row; only its newest expiry moves on.
                Some(s) if get_n(s, "expires_at") < Some(token.expires_at.millis()) => writes.push(
                    session_touch(&self.t.users, user, family, token.expires_at.millis(), None)
                        .cond("attribute_exists(#pk)")
                        .replan_on_fail(),
                ),
                Some(_) => {}
            }
            match self.db.transact(writes).await? {
                Ok(()) => return Ok(()),
                Err(c) if c.failed(0) => return Err(StoreError::Conflict("refresh token")),
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &str,
        next_hash: &str,
        now: Timestamp,
        next_expires_at: Timestamp,
        grace: std::time::Duration,
    ) -> StoreResult<RotateOutcome> {
        let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        for _ in 0..=crate::REPLANS {
            let Some(p) = self.unexpired_token(presented_hash, now).await? else {
                return Ok(RotateOutcome::Invalid);
            };
            let repeated = p
                .spent_at
                .is_some_and(|at| at.saturating_add(grace_ms) > now.millis());
            if p.spent_at.is_some() && !repeated {
                // Not revoked now: the session was gone or revoked already.
                return Ok(if self.revoke_family(&p.owner, &p.family, now).await? {
                    RotateOutcome::Reused
                } else {
                    RotateOutcome::Invalid
                });
            }
            // A repeat keeps the first spend's time, so repeats cannot stretch the window.
            let spend = match p.spent_at {
                None => Write::update(
                    &self.t.users,
                    &keys::refresh_token(presented_hash),
                    keys::ONE,
                    "SET #spent_at = :now",
                )
                .cond("attribute_exists(#pk) AND attribute_not_exists(#spent_at)")
                .value(":now", n(now.millis())),
                Some(at) => Write::check(
                    &self.t.users,
                    &keys::refresh_token(presented_hash),
                    keys::ONE,
                    "#spent_at = :seen",
                )
                .value(":seen", n(at)),
            };
            let next = token_item(
                next_hash,
                &p.family,
                &p.owner,
                now.millis(),
                next_expires_at.millis(),
            );
            let touch = session_touch(
                &self.t.users,
                &p.owner,
                &p.family,
                next_expires_at.millis(),
                Some(now.millis()),
            )
            .cond("attribute_exists(#pk) AND attribute_not_exists(#revoked_at)");
            let writes = vec![
                spend.replan_on_fail(),
                Write::put_new(&self.t.users, next),
                touch,
            ];
            match self.db.transact(writes).await? {
                Ok(()) => {
                    return Ok(RotateOutcome::Rotated {
                        user: user_id(&p.owner)?,
                        session: p.family,
                    });
                }
                // The session is gone or revoked.
                Err(c) if c.failed(2) => return Ok(RotateOutcome::Invalid),
                Err(c) if c.failed(1) => return Err(StoreError::Conflict("refresh token")),
                // Spent by a parallel rotation: read again (a repeat or a reuse now).
                Err(_) => continue,
            }
        }
        Err(crate::kept_racing())
    }

    async fn revoke_refresh_family(&self, token_hash: &str) -> StoreResult<bool> {
        let Some(t) = self
            .db
            .get(&self.t.users, &keys::refresh_token(token_hash), keys::ONE)
            .await?
        else {
            return Ok(false);
        };
        let (Some(owner), Some(family)) = (get_s(&t, "user_id"), get_s(&t, "family_id")) else {
            return Ok(false);
        };
        self.revoke_family(owner, family, Timestamp::now()).await
    }

    async fn bar_address(&self, digest: &str, at: Timestamp) -> StoreResult<()> {
        let item = ItemBuilder::key(keys::barred(digest), keys::ONE)
            .s("digest", digest)
            .n("barred_at", at.millis())
            .build();
        // Barred already: the first time stays.
        let _first = self
            .db
            .write(Write::put_new(&self.t.users, item), false)
            .await?;
        Ok(())
    }

    async fn is_address_barred(&self, digest: &str) -> StoreResult<bool> {
        Ok(self
            .db
            .get(&self.t.users, &keys::barred(digest), keys::ONE)
            .await?
            .is_some())
    }

    async fn list_sessions(&self, user: &UserId, now: Timestamp) -> StoreResult<Vec<SessionInfo>> {
        let q = Query::new(&self.t.users, "#pk = :pk AND begins_with(#sk, :p)")
            .value(":pk", s(keys::user(user.as_str())))
            .value(":p", s(keys::session("")));
        let mut live: Vec<SessionInfo> = self
            .db
            .query_all(&q, None)
            .await?
            .iter()
            .filter(|s| !s.contains_key("revoked_at"))
            .filter(|s| get_n(s, "expires_at").is_some_and(|e| e > now.millis()))
            .map(session_info)
            .collect::<StoreResult<_>>()?;
        live.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(live)
    }

    async fn end_sessions(&self, user: &UserId, which: EndSessions<'_>) -> StoreResult<u64> {
        let pk = keys::user(user.as_str());
        let families: Vec<String> = match which {
            EndSessions::One(id) => vec![id.to_owned()],
            EndSessions::AllBut(keep) => {
                let q = Query::new(&self.t.users, "#pk = :pk AND begins_with(#sk, :p)")
                    .value(":pk", s(pk.clone()))
                    .value(":p", s(keys::session("")))
                    .project("#id");
                self.db
                    .query_all(&q, None)
                    .await?
                    .iter()
                    .filter_map(|s| get_s(s, "id"))
                    .filter(|id| Some(*id) != keep)
                    .map(str::to_owned)
                    .collect()
            }
        };
        let mut ended = 0;
        for family in families {
            // Only this user's partition is touched: another's session id ends nothing.
            let w = Write::delete(&self.t.users, &pk, &keys::session(&family))
                .cond("attribute_exists(#pk)");
            if self.db.write(w, false).await?.is_ok() {
                ended += 1;
                self.delete_family_tokens(&family).await?;
            }
        }
        Ok(ended)
    }
}

impl DynamoStore {
    /// Sign-up for an id that has a profile already: the account is added and the
    /// invite redeemed onto the existing profile, like SQL's insert-or-keep.
    async fn account_for_existing(
        &self,
        user: &NewUser,
        password_hash: Option<&str>,
        invite: Option<&InviteCode>,
    ) -> StoreResult<SignupOutcome> {
        let id = user.id.as_str();
        let at = user.created_at.millis();
        let mut writes = vec![Write::put_new(
            &self.t.users,
            account_item(user.email.as_str(), id, password_hash, user.created_at),
        )];
        if let Some(code) = invite {
            let Some(redeem) = self.signup_invite_writes(code, id, at).await? else {
                return Ok(SignupOutcome::InviteInvalid);
            };
            writes.extend(redeem);
            writes.push(
                crate::invites::invited_write(&self.t.users, id, code.as_str(), at)
                    .cond("attribute_exists(#pk)"),
            );
        }
        match self.db.transact(writes).await? {
            Ok(()) => {}
            Err(c) if c.failed(0) => return Ok(SignupOutcome::EmailTaken),
            Err(_) => return Ok(SignupOutcome::InviteInvalid),
        }
        let profile = self.profile_of(id).await?;
        match profile {
            Some(p) => Ok(SignupOutcome::Created(Box::new(
                scooter_store_sql::rows::user(&crate::item::Rec(&p))?,
            ))),
            None => Err(StoreError::MissingReference),
        }
    }
}
