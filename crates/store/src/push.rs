//! Access patterns of push devices.

use crate::StoreResult;
use scooter_core::notification::{Platform, PushDevice, PushService};
use scooter_core::{Timestamp, UserId};

/// Devices registered for push.
#[async_trait::async_trait]
pub trait PushStore: Send + Sync {
    /// Registers a device token of push service `service` for `user`; a token
    /// registered by another account moves to this one (the newest sign-in on the phone
    /// wins), and a registration again records the service given last.
    async fn register_device(
        &self,
        user: &UserId,
        token: &str,
        platform: Platform,
        service: PushService,
        at: Timestamp,
    ) -> StoreResult<()>;

    /// Removes the token if it is `user`'s; `false` otherwise (someone else's stays).
    async fn unregister_device(&self, user: &UserId, token: &str) -> StoreResult<bool>;

    /// A user's devices (a handful; bounded by what the user registered).
    async fn devices_of(&self, user: &UserId) -> StoreResult<Vec<PushDevice>>;

    /// Forgets a token the push service reported as no longer registered.
    async fn forget_device(&self, token: &str) -> StoreResult<()>;
}
