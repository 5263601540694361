//! Push devices: register and unregister.

use scooter_core::notification::{MAX_NATIVE_TOKEN, Platform, PushService};
use scooter_core::{Timestamp, UserId, ValidationError};
use scooter_store::{Store, StoreError};

/// Why a device call failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// This server does not deliver through the device's push service.
    #[error("push provider {} is not configured on this server", .0.as_str())]
    Unconfigured(PushService),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A device to register.
#[derive(Debug, Clone, Copy)]
pub struct NewDevice<'a> {
    /// The push service's token for it.
    pub token: &'a str,
    /// Its operating system.
    pub platform: Platform,
    /// The push service the token belongs to.
    pub service: PushService,
}

/// Registers my device (idempotent; the token moves to me if another account had it).
/// `configured` are the push services this server delivers through; a device of
/// another is refused, since nothing would ever reach it.
pub async fn register(
    store: &dyn Store,
    configured: &[PushService],
    me: &UserId,
    device: NewDevice<'_>,
) -> Result<(), DeviceError> {
    if !configured.contains(&device.service) {
        return Err(DeviceError::Unconfigured(device.service));
    }
    if !device.service.accepts_token(device.token) {
        let message = match device.service {
            PushService::Expo => "token must be an Expo push token (ExponentPushToken[…])",
            PushService::Fcm => "token must be an FCM registration token",
            PushService::Apns => "token must be an APNs device token in hex",
        };
        return Err(ValidationError::new("token", message).into());
    }
    store
        .register_device(
            me,
            device.token,
            device.platform,
            device.service,
            Timestamp::now(),
        )
        .await?;
    Ok(())
}

/// Unregisters my device; someone else's token is left alone.
pub async fn unregister(store: &dyn Store, me: &UserId, token: &str) -> Result<(), DeviceError> {
    if token.len() > MAX_NATIVE_TOKEN {
        return Err(ValidationError::new("token", "token is too long").into());
    }
    store.unregister_device(me, token).await?;
    Ok(())
}
