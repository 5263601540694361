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
            DeviceError::Unconfigured(service) => ApiError {
                field: Some("provider".into()),
                ..ApiError::bad_request(
                    "provider_not_configured",
                    format!(
                        "this server does not deliver push through {}; register the device's \
                         token of a provider it does deliver through",
                        service.as_str()
                    ),
                )
            },
            DeviceError::Store(s) => s.into(),
        }
    }
}
