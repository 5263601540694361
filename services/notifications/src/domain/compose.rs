//! Who is notified of what. The services that cause notifications (social, posts) ask
//! here, and pass the result to the store call that makes the change, which writes it
//! in the same transaction. The rules: never for one's own actions, never across a
//! block in either direction, never to a suspended account, never for a type the
//! recipient turned off.

use scooter_core::ids::new_id;
use scooter_core::notification::{NewNotification, NotificationType};
use scooter_core::post::ReactionType;
use scooter_core::user::{NotificationPrefs, User};
use scooter_core::{Timestamp, UserId};
use scooter_store::{Store, StoreError};

/// What the notification is about.
#[derive(Debug, Clone, Default)]
pub struct About {
    /// The post.
    pub post_id: Option<String>,
    /// The comment.
    pub comment_id: Option<String>,
    /// The reaction.
    pub reaction: Option<ReactionType>,
}

fn wants(prefs: &NotificationPrefs, kind: NotificationType) -> bool {
    match kind {
        NotificationType::Follow => prefs.follow,
        NotificationType::Comment => prefs.comment,
        NotificationType::Reaction => prefs.reaction,
        NotificationType::Mention => prefs.mention,
    }
}

/// The notification `recipient` should get when `actor` does `kind`, if any.
/// `dedupe` names the event, so a repeat of it writes nothing.
pub async fn notification(
    store: &dyn Store,
    actor: &User,
    recipient: &User,
    kind: NotificationType,
    about: About,
    dedupe: String,
) -> Result<Option<NewNotification>, StoreError> {
    if actor.id == recipient.id || recipient.is_suspended() || !wants(&recipient.prefs, kind) {
        return Ok(None);
    }
    if store
        .relationship(&recipient.id, &actor.id)
        .await?
        .blocked_either_way()
    {
        return Ok(None);
    }
    Ok(Some(NewNotification {
        id: new_id(),
        recipient: recipient.id.clone(),
        kind,
        actor: actor.id.clone(),
        post_id: about.post_id,
        comment_id: about.comment_id,
        reaction: about.reaction,
        dedupe,
        created_at: Timestamp::now(),
    }))
}

/// Mention notifications for the users mentioned in a post or comment (`about` names
/// which; `key` is its id, to tell the events apart). One store call whatever the
/// number of mentions (the blocks among them).
pub async fn mentions(
    store: &dyn Store,
    actor: &User,
    mentioned: &[User],
    about: About,
    key: &str,
) -> Result<Vec<NewNotification>, StoreError> {
    let kind = NotificationType::Mention;
    let candidates: Vec<&User> = mentioned
        .iter()
        .filter(|u| u.id != actor.id && !u.is_suspended() && wants(&u.prefs, kind))
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<UserId> = candidates.iter().map(|u| u.id.clone()).collect();
    let blocked = store.blocked_either_way_among(&actor.id, &ids).await?;
    Ok(candidates
        .into_iter()
        .filter(|u| !blocked.contains(&u.id))
        .map(|u| NewNotification {
            id: new_id(),
            recipient: u.id.clone(),
            kind,
            actor: actor.id.clone(),
            post_id: about.post_id.clone(),
            comment_id: about.comment_id.clone(),
            reaction: about.reaction,
            dedupe: format!("mention:{key}"),
            created_at: Timestamp::now(),
        })
        .collect())
}
