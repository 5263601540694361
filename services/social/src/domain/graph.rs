//! Follow, unfollow, block, unblock, and my block list.

use crate::domain::visibility::{self, Visible};
use crate::error::SocialError;
use scooter_core::notification::NotificationType;
use scooter_core::page::{Limit, Page, decode_cursor};
use scooter_core::social::Relationship;
use scooter_core::user::User;
use scooter_core::{Handle, Timestamp, UserId};
use scooter_notifications::domain::compose::{self, About};
use scooter_store::{EdgeKey, FollowOutcome, Store};

/// How a request names the other user.
#[derive(Debug, Clone)]
pub enum Target {
    /// By id.
    Id(UserId),
    /// By handle.
    Handle(String),
}

impl Target {
    /// Exactly one of the two must be given.
    pub fn from_parts(
        user_id: Option<String>,
        handle: Option<String>,
    ) -> Result<Self, SocialError> {
        match (user_id, handle) {
            (Some(id), None) => UserId::parse(&id)
                .map(Target::Id)
                .ok_or(SocialError::UserNotFound),
            (None, Some(h)) => Ok(Target::Handle(h)),
            _ => Err(SocialError::AmbiguousTarget),
        }
    }

    fn is(&self, me: &User) -> bool {
        match self {
            Target::Id(id) => *id == me.id,
            Target::Handle(h) => {
                let h = Handle::parse(h).map(|h| h.lowercase()).ok();
                h.is_some() && h == me.handle.as_ref().map(Handle::lowercase)
            }
        }
    }
}

/// The other user, which must exist and be visible to `me`; never `me` themselves.
async fn other(store: &dyn Store, me: &User, target: &Target) -> Result<Visible, SocialError> {
    if target.is(me) {
        return Err(SocialError::SelfTarget);
    }
    let found = match target {
        Target::Id(id) => visibility::visible_by_id(store, me, id).await?,
        Target::Handle(h) => visibility::visible_by_handle(store, me, h).await?,
    };
    found.ok_or(SocialError::UserNotFound)
}

/// The user a target names, whatever their state.
async fn lookup(store: &dyn Store, target: &Target) -> Result<Option<User>, SocialError> {
    Ok(match target {
        Target::Id(id) => store.get_user(id).await?,
        Target::Handle(h) => match Handle::parse(h) {
            Ok(h) => store.user_by_handle(&h).await?,
            Err(_) => None,
        },
    })
}

/// The other user for a block or unblock: they must exist, not be suspended, and not
/// block me (their block already hides each from the other, and answering would reveal
/// them). My own block does not hide them here, so that I can lift it.
async fn existing(store: &dyn Store, me: &User, target: &Target) -> Result<User, SocialError> {
    if target.is(me) {
        return Err(SocialError::SelfTarget);
    }
    let user = lookup(store, target)
        .await?
        .filter(|u| !u.is_suspended())
        .ok_or(SocialError::UserNotFound)?;
    if store.relationship(&me.id, &user.id).await?.blocked_by {
        return Err(SocialError::UserNotFound);
    }
    Ok(user)
}

/// Follows another user (idempotent). Returns them and the relationship after.
pub async fn follow(
    store: &dyn Store,
    me: &User,
    target: &Target,
) -> Result<(User, Relationship), SocialError> {
    let Visible { user, mut rel } = other(store, me, target).await?;
    let dedupe = format!("follow:{}", me.id);
    let note = compose::notification(
        store,
        me,
        &user,
        NotificationType::Follow,
        About::default(),
        dedupe,
    )
    .await?;
    match store
        .follow(&me.id, &user.id, Timestamp::now(), note.as_ref())
        .await?
    {
        FollowOutcome::Followed | FollowOutcome::AlreadyFollowing => {
            rel.following = true;
            Ok((user, rel))
        }
        // A block or suspension that landed since the visibility check.
        FollowOutcome::Blocked | FollowOutcome::Unavailable => Err(SocialError::UserNotFound),
    }
}

/// Stops following (idempotent).
pub async fn unfollow(
    store: &dyn Store,
    me: &User,
    target: &Target,
) -> Result<(User, Relationship), SocialError> {
    let (user, mut rel) = match other(store, me, target).await {
        Ok(Visible { user, rel }) => (user, rel),
        // Hidden, but maybe followed: a suspended account must stay unfollowable (the
        // edge is mine, and would count again on unsuspension). Only an account I
        // follow is answered for, which tells me nothing I did not know.
        Err(SocialError::UserNotFound) => {
            let user = lookup(store, target)
                .await?
                .ok_or(SocialError::UserNotFound)?;
            let rel = store.relationship(&me.id, &user.id).await?;
            if !rel.following {
                return Err(SocialError::UserNotFound);
            }
            (user, rel)
        }
        Err(e) => return Err(e),
    };
    store.unfollow(&me.id, &user.id).await?;
    rel.following = false;
    Ok((user, rel))
}

/// Blocks another user (idempotent), removing follows both ways.
pub async fn block(store: &dyn Store, me: &User, target: &Target) -> Result<User, SocialError> {
    let user = existing(store, me, target).await?;
    store.block(&me.id, &user.id, Timestamp::now()).await?;
    Ok(user)
}

/// Removes my block (idempotent); follows are not restored.
pub async fn unblock(store: &dyn Store, me: &User, target: &Target) -> Result<User, SocialError> {
    let user = existing(store, me, target).await?;
    store.unblock(&me.id, &user.id).await?;
    Ok(user)
}

/// The users I block, newest first.
pub async fn blocked(
    store: &dyn Store,
    me: &UserId,
    limit: Limit,
    cursor: Option<&str>,
) -> Result<Page<User>, SocialError> {
    let after: Option<EdgeKey> = cursor.map(decode_cursor).transpose()?;
    let edges = store
        .list_blocked(me, after.as_ref(), limit.fetch())
        .await?;
    Ok(Page::from_rows(edges, limit, |e| e.key.clone()).map(|e| e.user))
}
