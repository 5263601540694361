//! Push delivery. A notification that its recipient wants pushed gets a `push` job in
//! the outbox; [`job::PushJob`] runs it: it loads the notification and the recipient's
//! devices, asks the [`provider::PushProvider`] to send, acts on each ticket (forgets
//! devices the provider says are gone, backs off from throttled ones), queues a receipt
//! check for what was accepted, and records the notification as pushed so a re-run
//! sends nothing.
//!
//! - [`provider`]: the provider trait and message types.
//! - [`route`]: hands each message to its device's service (Expo, FCM, APNs).
//! - [`expo`]: Expo's push service over HTTPS: batched sends, receipts.
//! - [`fcm`]: Firebase Cloud Messaging HTTP v1, with the OAuth2 token exchange.
//! - [`apns`]: Apple's push service over HTTP/2 with a provider token.
//! - [`setup`]: the HTTP client and setup errors the providers share.
//! - [`batch`]: gathers concurrent callers' messages into shared requests.
//! - [`delivery`]: what the jobs share, and what each kind of failure leads to.
//! - [`job`]: the `push` and `push_device` jobs, and the stand-in used when push is off.
//! - [`receipts`]: the `push_receipts` job.

pub mod apns;
pub(crate) mod batch;
pub mod delivery;
pub mod expo;
pub mod fcm;
pub mod job;
pub mod provider;
pub mod receipts;
pub mod route;
pub mod setup;
