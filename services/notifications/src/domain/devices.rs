//! Push devices: register and unregister.

use scooter_core::notification::{Platform, is_expo_token};
use scooter_core::{Timestamp, UserId, ValidationError};
use scooter_store::{Store, StoreError};

/// Why a device call failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Input broke a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Registers my device (idempotent; the token moves to me if another account had it).
pub async fn register(
    store: &dyn Store,
    me: &UserId,
    token: &str,
    platform: Platform,
) -> Result<(), DeviceError> {
    if !is_expo_token(token) {
        return Err(ValidationError::new(
            "token",
            "token must be an Expo push token (ExponentPushToken[…])",
        )
        .into());
    }
    store
        .register_device(me, token, platform, Timestamp::now())
        .await?;
    Ok(())
}

/// Unregisters my device; someone else's token is left alone.
pub async fn unregister(store: &dyn Store, me: &UserId, token: &str) -> Result<(), DeviceError> {
    if token.len() > 255 {
        return Err(ValidationError::new("token", "token is too long").into());
    }
    store.unregister_device(me, token).await?;
    Ok(())
}
