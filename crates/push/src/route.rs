//! Sends each message through its device's push service: a device registered with
//! `provider: "fcm"` is reached through FCM, `"apns"` through APNs, `"expo"` through
//! Expo. [`Routed`] is itself a [`PushProvider`], so the jobs see one provider.
//!
//! A call whose messages all go to one service fails or succeeds as that service's
//! call does (a failed Expo request is retried as a whole by the job, nothing having
//! been sent). When a call spans services and one of them fails while another took its
//! messages, the job must not run again (the others would get theirs twice): the
//! failed service's messages get per-message failures instead, and a busy service's
//! are sent again to each device after a back-off.

use crate::provider::{Failure, PushError, PushMessage, PushProvider, Receipt, Ticket};
use async_trait::async_trait;
use scooter_core::notification::PushService;
use std::collections::HashMap;
use std::sync::Arc;

/// The configured services, each behind its own provider.
#[derive(Default)]
pub struct Routed {
    providers: HashMap<PushService, Arc<dyn PushProvider>>,
}

impl std::fmt::Debug for Routed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut services: Vec<&str> = self.providers.keys().map(|s| s.as_str()).collect();
        services.sort_unstable();
        f.debug_struct("Routed")
            .field("services", &services)
            .finish()
    }
}

impl Routed {
    /// No service yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `service`'s messages through `provider`.
    #[must_use]
    pub fn with(mut self, service: PushService, provider: Arc<dyn PushProvider>) -> Self {
        self.providers.insert(service, provider);
        self
    }

    /// The services messages can go through.
    pub fn services(&self) -> Vec<PushService> {
        PushService::ALL
            .into_iter()
            .filter(|s| self.providers.contains_key(s))
            .collect()
    }
}

/// What became of one service's share of a call.
type Share = (PushService, Vec<usize>, Result<Vec<Ticket>, PushError>);

#[async_trait]
impl PushProvider for Routed {
    async fn send(&self, messages: &[PushMessage]) -> Result<Vec<Ticket>, PushError> {
        let mut groups: Vec<(PushService, Vec<usize>)> = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            match groups.iter_mut().find(|(s, _)| *s == m.service) {
                Some((_, idx)) => idx.push(i),
                None => groups.push((m.service, vec![i])),
            }
        }
        let sends = groups.into_iter().map(|(service, idx)| async move {
            let result = match self.providers.get(&service) {
                Some(p) => {
                    let batch: Vec<PushMessage> =
                        idx.iter().map(|&i| messages[i].clone()).collect();
                    p.send(&batch).await
                }
                // Registered through a process that has the service set up, or while this
                // one had: not sent from here, but not dropped either. The message waits
                // in a per-device retry that a worker with the service (or this one, once
                // its settings come back) can send, and is given up, logged, after the
                // retries.
                None => Ok(vec![
                    Ticket::Failed(Failure::Unavailable(format!(
                        "{} is not configured on this worker",
                        service.as_str()
                    )));
                    idx.len()
                ]),
            };
            (service, idx, result)
        });
        let shares: Vec<Share> = futures_util::future::join_all(sends).await;
        let anything_sent = shares.iter().any(|(_, _, r)| r.is_ok());
        if !anything_sent {
            // Nothing went out: the whole call fails, and the job may run again. A busy
            // service wins over a refusing one, so the job is retried.
            let errors: Vec<PushError> =
                shares.into_iter().filter_map(|(_, _, r)| r.err()).collect();
            let pick = errors
                .iter()
                .position(|e| matches!(e, PushError::Unavailable(_)))
                .unwrap_or(0);
            return errors.into_iter().nth(pick).map_or(Ok(Vec::new()), Err);
        }
        let mut tickets = vec![Ticket::Failed(Failure::Other("no ticket".into())); messages.len()];
        for (service, idx, result) in shares {
            let per_message = match result {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(service = service.as_str(), error = %e, "a push service failed a share of a send; its messages are dealt with one by one");
                    let f = match e {
                        PushError::Unavailable(why) => Failure::Unavailable(why),
                        PushError::Refused(why) => Failure::Other(why),
                    };
                    vec![Ticket::Failed(f); idx.len()]
                }
            };
            for (i, t) in idx.into_iter().zip(per_message) {
                tickets[i] = t;
            }
        }
        Ok(tickets)
    }

    async fn receipts(&self, ids: &[String]) -> Result<HashMap<String, Receipt>, PushError> {
        // Only Expo has receipts.
        match self.providers.get(&PushService::Expo) {
            Some(p) => p.receipts(ids).await,
            None => Ok(HashMap::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{MessageOptions, PushData};
    use std::sync::Mutex;

    /// Answers every message with `answer`, remembering the tokens it was given.
    struct Stub {
        answer: Result<(), PushError>,
        got: Mutex<Vec<String>>,
    }

    impl Stub {
        fn new(answer: Result<(), PushError>) -> Arc<Self> {
            Arc::new(Self {
                answer,
                got: Mutex::new(Vec::new()),
            })
        }
    }

    #[async_trait]
    impl PushProvider for Stub {
        async fn send(&self, messages: &[PushMessage]) -> Result<Vec<Ticket>, PushError> {
            self.got
                .lock()
                .unwrap()
                .extend(messages.iter().map(|m| m.to.clone()));
            self.answer.clone()?;
            Ok(vec![Ticket::Accepted { receipt_id: None }; messages.len()])
        }
    }

    fn message(to: &str, service: PushService) -> PushMessage {
        PushMessage {
            to: to.into(),
            service,
            title: "t".into(),
            body: "b".into(),
            data: PushData {
                notification_id: "n".into(),
                kind: "follow".into(),
                post_id: None,
                comment_id: None,
                actor_id: "a".into(),
                actor_handle: None,
            },
            badge: 1,
            category: None,
            options: MessageOptions::default(),
        }
    }

    #[tokio::test]
    async fn each_message_goes_to_its_service_and_tickets_keep_their_order() {
        let (expo, fcm, apns) = (Stub::new(Ok(())), Stub::new(Ok(())), Stub::new(Ok(())));
        let routed = Routed::new()
            .with(PushService::Expo, expo.clone())
            .with(PushService::Fcm, fcm.clone())
            .with(PushService::Apns, apns.clone());
        let msgs = [
            message("a", PushService::Fcm),
            message("b", PushService::Expo),
            message("c", PushService::Apns),
            message("d", PushService::Fcm),
        ];
        let tickets = routed.send(&msgs).await.unwrap();
        assert_eq!(tickets.len(), 4);
        assert_eq!(*fcm.got.lock().unwrap(), ["a", "d"]);
        assert_eq!(*expo.got.lock().unwrap(), ["b"]);
        assert_eq!(*apns.got.lock().unwrap(), ["c"]);
    }

    #[tokio::test]
    async fn a_failed_service_beside_one_that_sent_fails_only_its_messages() {
        let busy = Stub::new(Err(PushError::Unavailable("HTTP 503".into())));
        let routed = Routed::new()
            .with(PushService::Expo, Stub::new(Ok(())))
            .with(PushService::Fcm, busy);
        let msgs = [
            message("a", PushService::Fcm),
            message("b", PushService::Expo),
        ];
        let tickets = routed.send(&msgs).await.unwrap();
        assert_eq!(
            tickets,
            vec![
                Ticket::Failed(Failure::Unavailable("HTTP 503".into())),
                Ticket::Accepted { receipt_id: None },
            ]
        );
    }

    #[tokio::test]
    async fn a_call_that_sent_nothing_fails_whole_so_the_job_retries() {
        let routed = Routed::new()
            .with(
                PushService::Fcm,
                Stub::new(Err(PushError::Refused("x".into()))),
            )
            .with(
                PushService::Apns,
                Stub::new(Err(PushError::Unavailable("y".into()))),
            );
        let msgs = [
            message("a", PushService::Fcm),
            message("b", PushService::Apns),
        ];
        assert!(matches!(
            routed.send(&msgs).await,
            Err(PushError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn a_device_of_a_service_not_set_up_is_not_sent_but_kept_for_a_retry() {
        let routed = Routed::new().with(PushService::Expo, Stub::new(Ok(())));
        let tickets = routed
            .send(&[message("a", PushService::Apns)])
            .await
            .unwrap();
        // Unavailable (retried later, per device), not a refusal that drops the message.
        assert!(matches!(
            &tickets[..],
            [Ticket::Failed(Failure::Unavailable(_))]
        ));
    }
}
