//! Push delivery. A notification that its recipient wants pushed gets a `push` job in
//! the outbox; [`job::PushJob`] runs it: it loads the notification and the recipient's
//! devices, asks the [`provider::PushProvider`] to send, forgets devices the provider
//! says are gone, and records the notification as pushed so a re-run sends nothing.
//!
//! - [`provider`]: the provider trait and message types (FCM and APNs can follow).
//! - [`expo`]: Expo's push service over HTTPS.
//! - [`job`]: the job handler, and the stand-in used when push is off.

pub mod expo;
pub mod job;
pub mod provider;
