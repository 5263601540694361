//! The `push_receipts` job: asks the service what became of messages it accepted.
//!
//! An Expo ticket only says "accepted"; the outcome from Apple or Google comes later
//! in a receipt (usually within seconds, up to ~30 minutes under load). A check runs
//! `EXPO_RECEIPT_DELAY_SECS` after sending, carrying receipt id → device; lookups of
//! checks due together leave in shared requests of up to 1,000 ids. A dead device is
//! forgotten, a throttled one backed off from, the rest logged and counted; receipts
//! not there yet are asked for again later, and given up a day after sending.

use crate::delivery::{Delivery, store_err};
use crate::provider::PushError;
use async_trait::async_trait;
use scooter_core::Timestamp;
use scooter_core::notification::{Job, NewJob};
use scooter_jobs::{JobError, JobHandler};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The job kind.
pub const KIND: &str = "push_receipts";

/// How long after sending missing receipts are still waited for.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

/// One accepted message: its receipt id and the device it went to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sent {
    /// The ticket's receipt id.
    pub receipt: String,
    /// The device's token.
    pub to: String,
}

/// The input of a [`KIND`] job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReceiptCheck {
    /// The notification the messages carried.
    pub notification: String,
    /// When they were sent (milliseconds since the epoch).
    pub sent_at: i64,
    /// The messages whose receipts are still to read.
    pub tickets: Vec<Sent>,
    /// Times these messages were throttled before (for the device back-off).
    pub tries: u32,
}

/// Queues `check` to run after `delay`.
pub(crate) async fn queue(
    d: &Delivery,
    check: &ReceiptCheck,
    dedupe: Option<String>,
    delay: Duration,
) -> Result<(), JobError> {
    let payload = serde_json::to_string(check).map_err(|e| JobError::Fatal(e.to_string()))?;
    let delay = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
    d.store
        .enqueue_job(NewJob {
            id: scooter_core::ids::new_id(),
            kind: KIND.to_owned(),
            payload,
            dedupe,
            run_at: Timestamp::from_millis(Timestamp::now().millis().saturating_add(delay)),
        })
        .await
        .map_err(store_err)
}

/// Reads receipts.
pub struct ReceiptJob {
    delivery: Arc<Delivery>,
}

impl ReceiptJob {
    /// A handler reading receipts through `delivery`'s provider.
    pub fn new(delivery: Arc<Delivery>) -> Self {
        Self { delivery }
    }
}

#[async_trait]
impl JobHandler for ReceiptJob {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn run(&self, job: &Job) -> Result<(), JobError> {
        let d = self.delivery.as_ref();
        let check: ReceiptCheck = serde_json::from_str(&job.payload)
            .map_err(|e| JobError::Fatal(format!("bad payload: {e}")))?;
        let ids: Vec<String> = check.tickets.iter().map(|t| t.receipt.clone()).collect();
        let receipts = d.provider.receipts(&ids).await.map_err(|e| match e {
            PushError::Unavailable(why) => JobError::Retry(why),
            PushError::Refused(why) => JobError::Fatal(why),
        })?;
        let mut missing = Vec::new();
        for sent in check.tickets {
            match receipts.get(&sent.receipt) {
                Some(Ok(())) => d.delivered(&sent.to),
                Some(Err(f)) => {
                    d.failed(&check.notification, &sent.to, f, check.tries)
                        .await?
                }
                None => missing.push(sent),
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let age = Timestamp::now().millis().saturating_sub(check.sent_at);
        if u128::try_from(age).unwrap_or(0) >= GIVE_UP_AFTER.as_millis() {
            d.gave_up(missing.len() as u64);
            tracing::warn!(
                notification = %check.notification,
                missing = missing.len(),
                "push receipts still missing a day after sending; given up"
            );
            return Ok(());
        }
        let next = ReceiptCheck {
            tickets: missing,
            ..check
        };
        // Keyed by this job, so a re-run of it queues the follow-up once.
        let dedupe = Some(format!("{KIND}:after:{}", job.id));
        queue(d, &next, dedupe, d.settings.receipt_delay).await
    }
}
