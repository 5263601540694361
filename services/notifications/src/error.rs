//! Mapping of this service's errors to API errors.

use crate::domain::devices::DeviceError;
use crate::domain::inbox::InboxError;
use scooter_http::ApiError;

impl From<InboxError> for ApiError {
    fn from(e: InboxError) -> Self {
        match e {
            InboxError::Invalid(v) => v.into(),
            InboxError::Store(s) => s.into(),
        }
    }
}

impl From<DeviceError> for ApiError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Invalid(v) => v.into(),
            DeviceError::Store(s) => s.into(),
        }
    }
}
