//! The `push` job: deliver one notification to its recipient's devices.

use crate::provider::{PushData, PushError, PushMessage, PushProvider, Ticket};
use async_trait::async_trait;
use scooter_core::Timestamp;
use scooter_core::notification::{Job, Notification, NotificationType};
use scooter_jobs::{JobError, JobHandler};
use scooter_store::Store;
use std::sync::Arc;

/// The job kind (the store writes it with each notification).
pub const KIND: &str = scooter_core::notification::PUSH_JOB_KIND;

/// Delivers push jobs through a provider.
pub struct PushJob {
    store: Arc<dyn Store>,
    provider: Arc<dyn PushProvider>,
}

impl PushJob {
    /// A handler sending through `provider`.
    pub fn new(store: Arc<dyn Store>, provider: Arc<dyn PushProvider>) -> Self {
        Self { store, provider }
    }
}

fn store_err(e: scooter_store::StoreError) -> JobError {
    JobError::Retry(e.to_string())
}

/// The text of a notification's message.
fn text(n: &Notification, actor: &str) -> String {
    match n.kind {
        NotificationType::Follow => format!("@{actor} followed you"),
        NotificationType::Comment => format!("@{actor} commented on your post"),
        NotificationType::Reaction => format!("@{actor} reacted to your post"),
        NotificationType::Mention => format!("@{actor} mentioned you"),
    }
}

#[async_trait]
impl JobHandler for PushJob {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        // Anything gone or already sent means there is nothing (more) to do.
        let Some(n) = self
            .store
            .get_notification(&job.payload)
            .await
            .map_err(store_err)?
        else {
            return Ok(());
        };
        if n.pushed_at.is_some() {
            return Ok(());
        }
        let Some(recipient) = self.store.get_user(&n.recipient).await.map_err(store_err)? else {
            return Ok(());
        };
        let wants_type = match n.kind {
            NotificationType::Follow => recipient.prefs.follow,
            NotificationType::Comment => recipient.prefs.comment,
            NotificationType::Reaction => recipient.prefs.reaction,
            NotificationType::Mention => recipient.prefs.mention,
        };
        if !recipient.prefs.push || !wants_type || recipient.is_suspended() {
            return Ok(());
        }
        // What changed since the notification was written counts: a block, or the
        // actor's suspension, silences it (as the in-app list hides it).
        let actor = self.store.get_user(&n.actor).await.map_err(store_err)?;
        let Some(actor) = actor.filter(|a| !a.is_suspended()) else {
            return Ok(());
        };
        if self
            .store
            .relationship(&recipient.id, &actor.id)
            .await
            .map_err(store_err)?
            .blocked_either_way()
        {
            return Ok(());
        }
        let devices = self
            .store
            .devices_of(&recipient.id)
            .await
            .map_err(store_err)?;
        if devices.is_empty() {
            return Ok(());
        }
        let handle = actor.handle.as_ref().map(ToString::to_string);
        let data = PushData {
            notification_id: n.id.clone(),
            kind: n.kind.as_str().to_owned(),
            post_id: n.post_id.clone(),
            comment_id: n.comment_id.clone(),
            actor_id: actor.id.to_string(),
            actor_handle: handle.clone(),
        };
        let body = text(&n, handle.as_deref().unwrap_or("someone"));
        // Read after this notification was written, so it counts it.
        let unread = self
            .store
            .unread_count(&recipient.id)
            .await
            .map_err(store_err)?;
        let badge = u32::try_from(unread.max(0)).unwrap_or(u32::MAX);
        let messages: Vec<PushMessage> = devices
            .iter()
            .map(|d| PushMessage {
                to: d.token.clone(),
                title: "ScooterBooter".into(),
                body: body.clone(),
                data: data.clone(),
                badge,
            })
            .collect();
        let tickets = self.provider.send(&messages).await.map_err(|e| match e {
            PushError::Unavailable(why) => JobError::Retry(why),
            PushError::Refused(why) => JobError::Fatal(why),
        })?;
        for (device, ticket) in devices.iter().zip(&tickets) {
            match ticket {
                Ticket::Ok => {}
                Ticket::DeviceNotRegistered => self
                    .store
                    .forget_device(&device.token)
                    .await
                    .map_err(store_err)?,
                Ticket::Refused(why) => {
                    tracing::warn!(notification = %n.id, error = %why, "push refused for a device")
                }
            }
        }
        self.store
            .mark_pushed(&n.id, Timestamp::now())
            .await
            .map_err(store_err)?;
        Ok(())
    }
}

/// Stands in for [`PushJob`] when push is off: the job is done, nothing is sent.
pub struct PushOff;

#[async_trait]
impl JobHandler for PushOff {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        Ok(())
    }
}
