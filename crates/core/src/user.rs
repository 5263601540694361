//! The user record, as every service sees it, and what follows from it.

use crate::policy::AccountPolicy;
use crate::{Email, Handle, Timestamp, UserId};
use serde::{Deserialize, Serialize};

/// Which notifications a user wants. All on for a new account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationPrefs {
    /// Someone followed me.
    pub follow: bool,
    /// Someone commented on my post.
    pub comment: bool,
    /// Someone reacted to my post.
    pub reaction: bool,
    /// Someone mentioned me.
    pub mention: bool,
    /// Deliver notifications as push messages as well as in the app.
    pub push: bool,
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        Self {
            follow: true,
            comment: true,
            reaction: true,
            mention: true,
            push: true,
        }
    }
}

/// Why and since when an account is suspended by a moderator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suspension {
    /// The reason shown to the user.
    pub reason: String,
    /// When the suspension began.
    pub at: Timestamp,
}

/// A user, with everything the services need to decide and to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The identity provider's `sub`.
    pub id: UserId,
    /// The address the identity provider vouches for.
    pub email: Email,
    /// Whether the identity provider verified the address.
    pub email_verified: bool,
    /// The public handle, once chosen.
    pub handle: Option<Handle>,
    /// Name shown beside the handle.
    pub display_name: Option<String>,
    /// About me.
    pub bio: Option<String>,
    /// Storage key of the avatar image.
    pub avatar_key: Option<String>,
    /// When the profile was created.
    pub created_at: Timestamp,
    /// The last terms version accepted, and when.
    pub terms: Option<(String, Timestamp)>,
    /// When the account redeemed an invite.
    pub invited_at: Option<Timestamp>,
    /// Notification settings.
    pub prefs: NotificationPrefs,
    /// How many accounts follow this one.
    pub followers_count: i64,
    /// How many accounts this one follows.
    pub following_count: i64,
    /// How many posts this account has.
    pub posts_count: i64,
    /// Set while a moderator has suspended the account.
    pub suspension: Option<Suspension>,
}

/// What onboarding still asks of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Onboarding {
    /// No handle chosen yet.
    pub needs_handle: bool,
    /// The current terms version is not accepted.
    pub needs_terms: bool,
    /// Invites are required and none was redeemed.
    pub needs_invite: bool,
}

impl User {
    /// Whether this user is an administrator: a verified address listed by the operator.
    pub fn is_admin(&self, policy: &AccountPolicy) -> bool {
        self.email_verified && policy.is_admin_email(&self.email)
    }

    /// Whether the invite rule blocks this user. Administrators are never blocked, so an
    /// operator can always reach an invite-only deployment.
    pub fn needs_invite(&self, policy: &AccountPolicy) -> bool {
        policy.invite_only && self.invited_at.is_none() && !self.is_admin(policy)
    }

    /// Whether the account is suspended (hidden from others, read-only for itself).
    pub fn is_suspended(&self) -> bool {
        self.suspension.is_some()
    }

    /// What onboarding still asks of this user.
    pub fn onboarding(&self, policy: &AccountPolicy) -> Onboarding {
        let terms_ok = self
            .terms
            .as_ref()
            .is_some_and(|(v, _)| *v == policy.terms_version);
        Onboarding {
            needs_handle: self.handle.is_none(),
            needs_terms: !terms_ok,
            needs_invite: self.needs_invite(policy),
        }
    }
}

/// What is known of a user when their profile is first created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The identity provider's `sub`.
    pub id: UserId,
    /// Their address.
    pub email: Email,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// When.
    pub created_at: Timestamp,
}

impl NewUser {
    /// The full record of a freshly created user.
    pub fn into_user(self) -> User {
        User {
            id: self.id,
            email: self.email,
            email_verified: self.email_verified,
            handle: None,
            display_name: None,
            bio: None,
            avatar_key: None,
            created_at: self.created_at,
            terms: None,
            invited_at: None,
            prefs: NotificationPrefs::default(),
            followers_count: 0,
            following_count: 0,
            posts_count: 0,
            suspension: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(email: &str, verified: bool) -> User {
        NewUser {
            id: UserId::generate(),
            email: Email::from_stored(email.into()),
            email_verified: verified,
            created_at: Timestamp::now(),
        }
        .into_user()
    }

    fn policy() -> AccountPolicy {
        AccountPolicy {
            terms_version: "2".into(),
            terms_url: None,
            invite_only: true,
            invite_quota: 5,
            admin_emails: vec![Email::from_stored("boss@example.com".into())],
        }
    }

    #[test]
    fn only_a_verified_listed_address_is_an_admin() {
        assert!(user("boss@example.com", true).is_admin(&policy()));
        assert!(!user("boss@example.com", false).is_admin(&policy()));
        assert!(!user("rider@example.com", true).is_admin(&policy()));
    }

    #[test]
    fn a_new_terms_version_makes_terms_needed_again() {
        let mut u = user("rider@example.com", true);
        u.terms = Some(("1".into(), Timestamp::now()));
        assert!(u.onboarding(&policy()).needs_terms);
        u.terms = Some(("2".into(), Timestamp::now()));
        assert!(!u.onboarding(&policy()).needs_terms);
    }

    #[test]
    fn invite_only_blocks_uninvited_users_but_not_admins() {
        assert!(user("rider@example.com", true).needs_invite(&policy()));
        assert!(!user("boss@example.com", true).needs_invite(&policy()));
    }
}
