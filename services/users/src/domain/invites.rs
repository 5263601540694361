//! Invite codes: create within the quota, list, redeem once.

use crate::error::UsersError;
use scooter_core::invite::{Invite, InviteCode};
use scooter_core::policy::AccountPolicy;
use scooter_core::{Timestamp, UserId};
use scooter_store::{CreateInviteOutcome, RedeemOutcome, Store, StoreError};

/// My codes, newest first, and how many more I may create.
pub async fn list(
    store: &dyn Store,
    policy: &AccountPolicy,
    owner: &UserId,
) -> Result<(Vec<Invite>, u32), UsersError> {
    let invites = store.list_invites(owner).await?;
    let made = u32::try_from(invites.len()).unwrap_or(u32::MAX);
    Ok((invites, policy.invite_quota.saturating_sub(made)))
}

fn random_code() -> Result<InviteCode, UsersError> {
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| UsersError::Crypto(e.to_string()))?;
    Ok(InviteCode::from_random(bytes))
}

/// Creates a code unless the quota is used up. A (vanishingly rare) code collision is
/// retried with a fresh code.
pub async fn create(
    store: &dyn Store,
    policy: &AccountPolicy,
    owner: &UserId,
) -> Result<Invite, UsersError> {
    for _ in 0..3 {
        let code = random_code()?;
        match store
            .create_invite(owner, &code, policy.invite_quota, Timestamp::now())
            .await
        {
            Ok(CreateInviteOutcome::Created(invite)) => return Ok(invite),
            Ok(CreateInviteOutcome::QuotaExhausted) => {
                return Err(UsersError::InviteQuotaExhausted(policy.invite_quota));
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(UsersError::Crypto(
        "could not find an unused invite code".into(),
    ))
}

/// Redeems a code for the caller.
pub async fn redeem(store: &dyn Store, user: &UserId, code: &str) -> Result<(), UsersError> {
    let code = InviteCode::parse(code).map_err(|_| UsersError::InvalidInvite("code"))?;
    match store.redeem_invite(user, &code, Timestamp::now()).await? {
        RedeemOutcome::Redeemed => Ok(()),
        RedeemOutcome::Invalid => Err(UsersError::InvalidInvite("code")),
        RedeemOutcome::OwnCode => Err(UsersError::OwnInvite),
        RedeemOutcome::AlreadyInvited => Err(UsersError::AlreadyInvited),
    }
}
