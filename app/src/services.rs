//! The six services of the original by name: which of them a process mounts
//! (`scooterbooter serve users posts`, all six by default) and each one's time budget,
//! whose defaults are the original's Lambda timeouts.

use std::fmt;
use std::time::Duration;

/// One of the six services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Service {
    /// Accounts, sign-in, profile, handles, terms, invites, search.
    Users,
    /// Follows, blocks, public profiles, reports, moderation.
    Social,
    /// Feed, posts, comments, reactions.
    Posts,
    /// In-app notifications, push devices.
    Notifications,
    /// Uploads, files, video processing.
    Media,
    /// 24-hour stories.
    Scoops,
}

impl Service {
    /// All six, in the original's order.
    pub const ALL: [Service; 6] = [
        Self::Users,
        Self::Posts,
        Self::Social,
        Self::Media,
        Self::Notifications,
        Self::Scoops,
    ];

    /// The name used on the command line and in logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Social => "social",
            Self::Posts => "posts",
            Self::Notifications => "notifications",
            Self::Media => "media",
            Self::Scoops => "scoops",
        }
    }

    /// The variable overriding the service's request timeout, in seconds.
    pub fn timeout_var(self) -> &'static str {
        match self {
            Self::Users => "TIMEOUT_USERS_SECS",
            Self::Social => "TIMEOUT_SOCIAL_SECS",
            Self::Posts => "TIMEOUT_POSTS_SECS",
            Self::Notifications => "TIMEOUT_NOTIFICATIONS_SECS",
            Self::Media => "TIMEOUT_MEDIA_SECS",
            Self::Scoops => "TIMEOUT_SCOOPS_SECS",
        }
    }

    /// The original's Lambda timeout for the service, in seconds.
    pub fn default_timeout_secs(self) -> u64 {
        match self {
            Self::Users | Self::Social | Self::Notifications => 10,
            Self::Posts => 15,
            Self::Media => 60,
            Self::Scoops => 30,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Each service's request timeout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceTimeouts(Vec<(Service, Duration)>);

impl ServiceTimeouts {
    /// The timeouts given, services missing from `given` at their default.
    pub fn new(given: Vec<(Service, Duration)>) -> Self {
        Self(given)
    }

    /// The budget of `service`'s requests.
    pub fn of(&self, service: Service) -> Duration {
        self.0.iter().find(|(s, _)| *s == service).map_or(
            Duration::from_secs(service.default_timeout_secs()),
            |(_, d)| *d,
        )
    }
}
