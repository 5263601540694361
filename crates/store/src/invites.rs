//! Access patterns over invite codes.

use crate::StoreResult;
use scooter_core::invite::{Invite, InviteCode};
use scooter_core::{Timestamp, UserId};

/// The outcome of creating an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateInviteOutcome {
    /// Created.
    Created(Invite),
    /// The owner has created `quota` codes already.
    QuotaExhausted,
}

/// The outcome of redeeming an invite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// The code is now used by this user.
    Redeemed,
    /// No such code, or it was used already (indistinguishable on purpose).
    Invalid,
    /// The code is the user's own.
    OwnCode,
    /// The user had already redeemed a code.
    AlreadyInvited,
}

/// Invite codes.
#[async_trait::async_trait]
pub trait InviteStore: Send + Sync {
    /// The codes a user created, newest first (at most the quota, so never unbounded).
    async fn list_invites(&self, owner: &UserId) -> StoreResult<Vec<Invite>>;

    /// Creates `code` for `owner` unless they already created `quota` codes; the count
    /// and the insert are one atomic step so parallel requests cannot exceed the quota.
    async fn create_invite(
        &self,
        owner: &UserId,
        code: &InviteCode,
        quota: u32,
        at: Timestamp,
    ) -> StoreResult<CreateInviteOutcome>;

    /// Uses `code` for `user`, once.
    async fn redeem_invite(
        &self,
        user: &UserId,
        code: &InviteCode,
        at: Timestamp,
    ) -> StoreResult<RedeemOutcome>;
}
