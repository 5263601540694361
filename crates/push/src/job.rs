//! The push jobs: `push` delivers one notification to its recipient's devices;
//! `push_device` sends it again to one device once that device's back-off is over.
//! Both queue a receipt check ([`crate::receipts`]) for the tickets that have one.

use crate::delivery::{Delivery, DeviceRetry, RETRY_KIND, store_err};
use crate::provider::{PushError, PushMessage, Ticket};
use crate::receipts::{self, ReceiptCheck, Sent};
use async_trait::async_trait;
use scooter_core::Timestamp;
use scooter_core::notification::Job;
use scooter_jobs::{JobError, JobHandler};
use std::sync::Arc;

/// The job kind (the store writes it with each notification).
pub const KIND: &str = scooter_core::notification::PUSH_JOB_KIND;

/// Delivers push jobs through a provider.
pub struct PushJob {
    delivery: Arc<Delivery>,
}

impl PushJob {
    /// A handler sending through `delivery`'s provider.
    pub fn new(delivery: Arc<Delivery>) -> Self {
        Self { delivery }
    }
}

/// Sends `messages` (one per device, `tries` throttles before) for notification `id`,
/// acts on each ticket and queues the receipt check.
async fn send(
    d: &Delivery,
    id: &str,
    messages: Vec<PushMessage>,
    tries: u32,
) -> Result<(), JobError> {
    let tickets = d.provider.send(&messages).await.map_err(|e| match e {
        PushError::Unavailable(why) => JobError::Retry(why),
        PushError::Refused(why) => JobError::Fatal(why),
    })?;
    let mut sent = Vec::new();
    for (m, ticket) in messages.into_iter().zip(tickets) {
        match ticket {
            Ticket::Accepted { receipt_id } => {
                d.accepted();
                if let Some(receipt) = receipt_id {
                    sent.push(Sent { receipt, to: m.to });
                }
            }
            Ticket::Failed(f) => {
                // Other messages may have been accepted: an error here must not make the
                // job run again and send them twice.
                if let Err(e) = d.failed(id, &m.to, &f, tries).await {
                    tracing::error!(notification = id, error = %e, "push: a refused message could not be recorded");
                }
            }
        }
    }
    if !sent.is_empty() {
        let check = ReceiptCheck {
            notification: id.to_owned(),
            sent_at: Timestamp::now().millis(),
            tickets: sent,
            tries,
        };
        // Receipt ids are new with each send, so a re-sent message gets its own check.
        if let Err(e) = receipts::queue(d, &check, None, d.settings.receipt_delay).await {
            tracing::error!(notification = id, error = %e, "push: the receipt check could not be queued; dead devices in it stay until their next push");
        }
    }
    Ok(())
}

#[async_trait]
impl JobHandler for PushJob {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let d = self.delivery.as_ref();
        let Some(p) = d.prepare(&job.payload).await? else {
            return Ok(());
        };
        let n = &p.notification;
        // Already sent means there is nothing more to do.
        if n.pushed_at.is_some() {
            return Ok(());
        }
        let mut messages = Vec::with_capacity(p.devices.len());
        for device in &p.devices {
            match d.backing_off(&device.token) {
                // A throttled device gets it when its back-off is over.
                Some(until) => d.retry_later(&n.id, &device.token, 0, until).await?,
                None => messages.push(PushMessage {
                    to: device.token.clone(),
                    service: device.service,
                    ..p.message.clone()
                }),
            }
        }
        if messages.is_empty() {
            d.store
                .mark_pushed(&n.id, Timestamp::now())
                .await
                .map_err(store_err)?;
            return Ok(());
        }
        send(d, &n.id, messages, 0).await?;
        // Sent: from here an error must not run the job (and send) again.
        if let Err(e) = d.store.mark_pushed(&n.id, Timestamp::now()).await {
            tracing::error!(notification = %n.id, error = %e, "push: sent, but not recorded as pushed");
        }
        Ok(())
    }
}

/// Sends a notification again to one device after its back-off.
pub struct DeviceRetryJob {
    delivery: Arc<Delivery>,
}

impl DeviceRetryJob {
    /// A handler sending through `delivery`'s provider.
    pub fn new(delivery: Arc<Delivery>) -> Self {
        Self { delivery }
    }
}

#[async_trait]
impl JobHandler for DeviceRetryJob {
    fn kind(&self) -> &'static str {
        RETRY_KIND
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let d = self.delivery.as_ref();
        let retry: DeviceRetry = serde_json::from_str(&job.payload)
            .map_err(|e| JobError::Fatal(format!("bad payload: {e}")))?;
        let Some(p) = d.prepare(&retry.notification).await? else {
            return Ok(());
        };
        // Forgotten, unregistered or moved to another account since: nothing to do.
        let Some(service) = p
            .devices
            .iter()
            .find(|dev| dev.token == retry.to)
            .map(|dev| dev.service)
        else {
            return Ok(());
        };
        // Throttled again meanwhile (by another message): wait for the new end.
        if let Some(until) = d.backing_off(&retry.to) {
            return d
                .retry_later(&retry.notification, &retry.to, retry.tries, until)
                .await;
        }
        let message = PushMessage {
            to: retry.to,
            service,
            ..p.message
        };
        send(d, &retry.notification, vec![message], retry.tries).await
    }
}

/// The handlers of every push job kind.
pub fn handlers(delivery: Arc<Delivery>) -> Vec<Arc<dyn JobHandler>> {
    vec![
        Arc::new(PushJob::new(delivery.clone())),
        Arc::new(DeviceRetryJob::new(delivery.clone())),
        Arc::new(receipts::ReceiptJob::new(delivery)),
    ]
}

/// Stands in for the push handlers when push is off: the jobs are done, nothing is sent.
pub struct PushOff(&'static str);

/// One [`PushOff`] per push job kind.
pub fn off() -> Vec<Arc<dyn JobHandler>> {
    [KIND, RETRY_KIND, receipts::KIND]
        .into_iter()
        .map(|k| Arc::new(PushOff(k)) as Arc<dyn JobHandler>)
        .collect()
}

#[async_trait]
impl JobHandler for PushOff {
    fn kind(&self) -> &'static str {
        self.0
    }

    async fn run(&self, _job: &Job) -> Result<(), JobError> {
        Ok(())
    }
}
