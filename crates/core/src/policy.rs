//! Account rules chosen by the operator through configuration.

use crate::Email;

/// Rules about onboarding and privileges.
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// The terms-of-service version users must have accepted (`TERMS_VERSION`).
    pub terms_version: String,
    /// Where that version's text is published (`TERMS_URL`), if the operator says.
    pub terms_url: Option<String>,
    /// Whether an account must redeem an invite before using the app (`INVITE_ONLY`).
    pub invite_only: bool,
    /// How many invite codes one account may create in all (`INVITE_QUOTA`).
    pub invite_quota: u32,
    /// Verified addresses that are administrators (`ADMIN_EMAILS`).
    pub admin_emails: Vec<Email>,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        Self {
            terms_version: "1".to_owned(),
            terms_url: None,
            invite_only: false,
            invite_quota: 5,
            admin_emails: Vec::new(),
        }
    }
}

impl AccountPolicy {
    /// Whether this address, if verified, belongs to an administrator.
    pub fn is_admin_email(&self, email: &Email) -> bool {
        self.admin_emails.iter().any(|a| a == email)
    }
}
