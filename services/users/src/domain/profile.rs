//! The caller's own profile: edits, handle, preferences, terms, deletion.

use crate::dto::{PatchMeRequest, PatchPreferencesRequest, Unavailable};
use crate::error::UsersError;
use scooter_core::handle::HandleProblem;
use scooter_core::media::{MediaPurpose, MediaStatus, is_valid_key};
use scooter_core::policy::AccountPolicy;
use scooter_core::text::{Bio, DisplayName};
use scooter_core::user::User;
use scooter_core::{Handle, Timestamp, UserId};
use scooter_store::{ProfilePatch, Store};

/// Validates and applies a profile patch.
pub async fn patch(
    store: &dyn Store,
    id: &UserId,
    req: PatchMeRequest,
) -> Result<User, UsersError> {
    let display_name = req
        .display_name
        .map(|v| {
            v.map(|s| DisplayName::parse(&s).map(DisplayName::into_inner))
                .transpose()
        })
        .transpose()?;
    let bio = req
        .bio
        .map(|v| {
            v.map(|s| Bio::parse(&s).map(Bio::into_option))
                .transpose()
                .map(Option::flatten)
        })
        .transpose()?;
    store
        .update_profile(id, ProfilePatch { display_name, bio })
        .await?
        .ok_or(UsersError::AccountGone)
}

/// Sets or changes the caller's handle; 409 when someone else holds it in any case.
pub async fn set_handle(store: &dyn Store, id: &UserId, handle: &str) -> Result<User, UsersError> {
    let handle = Handle::parse(handle)?;
    store
        .set_handle(id, &handle)
        .await?
        .ok_or(UsersError::AccountGone)
}

/// Whether a handle could be mine, and why not: `None` when it is free (or already
/// mine), else [`Unavailable`].
pub async fn handle_availability(
    store: &dyn Store,
    me: &UserId,
    handle: &str,
) -> Result<(String, Option<Unavailable>), UsersError> {
    let handle = match Handle::check(handle) {
        Ok(h) => h,
        Err(HandleProblem::Invalid) => return Ok((handle.to_owned(), Some(Unavailable::Invalid))),
        Err(HandleProblem::Reserved) => {
            return Ok((handle.to_owned(), Some(Unavailable::Reserved)));
        }
    };
    let holder = store.user_by_handle(&handle).await?;
    let taken = holder.is_some_and(|u| u.id != *me);
    Ok((
        handle.as_str().to_owned(),
        taken.then_some(Unavailable::Taken),
    ))
}

/// Applies a preferences patch to the caller's current preferences.
pub async fn patch_preferences(
    store: &dyn Store,
    user: &User,
    req: &PatchPreferencesRequest,
) -> Result<User, UsersError> {
    let prefs = req.apply(user.prefs);
    store
        .set_notification_prefs(&user.id, prefs)
        .await?
        .ok_or(UsersError::AccountGone)
}

/// Records acceptance of the current terms; another version is refused so that a stale
/// app cannot accept terms the user never saw.
pub async fn accept_terms(
    store: &dyn Store,
    policy: &AccountPolicy,
    id: &UserId,
    version: &str,
) -> Result<User, UsersError> {
    if version != policy.terms_version {
        return Err(UsersError::TermsVersionMismatch(
            policy.terms_version.clone(),
        ));
    }
    store
        .accept_terms(id, version, Timestamp::now())
        .await?
        .ok_or(UsersError::AccountGone)
}

/// Deletes the caller's account and everything that is its own. A suspended account's
/// address is barred first (only its digest is kept), so deleting does not end a
/// suspension by signing up again.
pub async fn delete_account(store: &dyn Store, me: &User) -> Result<(), UsersError> {
    let now = Timestamp::now();
    if me.is_suspended() {
        store
            .bar_address(&scooter_auth::address_digest(&me.email), now)
            .await?;
    }
    store.delete_user(&me.id, now).await?;
    Ok(())
}

/// Sets my avatar from my own finished avatar upload; its thumbnail is what others see.
pub async fn set_avatar(store: &dyn Store, me: &UserId, key: &str) -> Result<User, UsersError> {
    let media = if is_valid_key(key) {
        store.get_media(key).await?
    } else {
        None
    };
    let m = media
        .filter(|m| m.owner == *me && m.purpose == MediaPurpose::Avatar)
        .ok_or(UsersError::InvalidAvatar)?;
    match m.status {
        MediaStatus::Ready => {}
        MediaStatus::Pending | MediaStatus::Uploading | MediaStatus::Processing => {
            return Err(UsersError::AvatarNotReady);
        }
        MediaStatus::Failed | MediaStatus::Removed => return Err(UsersError::InvalidAvatar),
    }
    let thumb = m.thumb_key.unwrap_or(m.key);
    store
        .set_avatar(me, Some(&thumb))
        .await?
        .ok_or(UsersError::AccountGone)
}
