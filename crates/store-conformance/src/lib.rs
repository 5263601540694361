//! The behaviour every store backend must show, written once. A backend runs the whole
//! suite with [`conformance_tests!`], giving an expression that opens a fresh, empty,
//! migrated store; a backend is done when every test passes unchanged.
//!
//! - `users`: profiles, handles, preferences, terms, search, deletion.
//! - `accounts`: password accounts and refresh-token families.
//! - `invites`: quotas and one-time redemption.
//! - `social`: follows, blocks, counters, lists.
//! - `moderation`: reports.
//! - `posts`: posts, the feed, comments, reactions.
//! - `notifications`: notifications, push devices, the job outbox.
//! - `media`: uploads, post media, purge jobs.
//! - `scoops`: expiry, views, the scoops feed, purging.
//! - `timelines`: home timelines: fan-out, filtering at read, horizons, pulled authors.
//! - `bulk`: the seed loader.
//! - [`faults`]: helpers for a backend's own fault tests (writes that fail).

// This crate is test code that backends run; a failed expectation should panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accounts;
mod bulk;
pub mod faults;
mod fixtures;
mod invites;
mod media;
mod moderation;
mod notifications;
mod posts;
mod scoops;
mod social;
mod timelines;
mod users;

pub use accounts::*;
pub use bulk::*;
pub use invites::*;
pub use media::*;
pub use moderation::*;
pub use notifications::*;
pub use posts::*;
pub use scoops::*;
pub use social::*;
pub use timelines::*;
pub use users::*;

/// Generates one `#[tokio::test]` per conformance test. `$make` is an async expression
/// evaluating to `(guard, Arc<dyn Store>)`; the guard (a temp dir, a throw-away
/// database) lives until the test ends.
#[macro_export]
macro_rules! conformance_tests {
    ($make:expr) => {
        $crate::conformance_tests!(@each $make;
            ensure_user_creates_a_profile_once,
            a_deleted_user_is_never_recreated,
            users_are_fetched_in_one_batch,
            handles_are_unique_ignoring_case,
            a_freed_handle_can_be_taken_again,
            two_users_racing_for_a_handle_yield_one_winner,
            profile_patches_change_only_named_fields,
            preferences_and_terms_are_recorded,
            search_ranks_exact_then_handle_prefix_then_name_words,
            search_pages_do_not_repeat_or_skip,
            search_skips_users_without_a_handle_and_deleted_users,
            a_password_account_is_created_once_per_email,
            an_account_without_a_password_has_no_credential,
            a_bad_invite_at_signup_creates_nothing,
            an_invite_at_signup_is_redeemed,
            refresh_tokens_rotate_and_reuse_revokes_the_family,
            a_refresh_repeated_within_the_grace_window_keeps_the_session,
            sessions_are_listed_and_ended_by_their_owner,
            barred_addresses_are_remembered,
            expired_and_revoked_refresh_tokens_are_invalid,
            deleting_a_user_removes_credentials_and_tokens,
            invites_respect_the_quota_even_in_parallel,
            an_invite_is_redeemed_once,
            own_code_and_second_redemption_are_refused,
            follow_is_idempotent_and_counted_once,
            a_block_cuts_follows_both_ways,
            follower_lists_page_newest_first,
            lists_hide_suspended_and_blocked_users,
            suspension_moves_a_user_out_of_counts_and_back,
            deleting_a_user_corrects_connected_counts,
            an_edge_to_a_missing_user_is_a_missing_reference,
            edges_with_equal_times_page_without_repeats,
            counters_stay_exact_under_a_follow_storm,
            search_hides_suspended_and_blocked_users,
            one_open_report_per_reporter_and_target,
            resolution_closes_all_open_reports_on_the_target,
            a_suspension_from_a_report_is_atomic,
            reports_page_newest_first,
            deletion_removes_own_reports_and_keeps_reports_about_the_user,
            posts_are_counted_and_deleted_with_their_children,
            an_idempotency_key_creates_one_post,
            post_media_keep_their_alt_text,
            the_home_feed_is_mine_and_my_follows_newest_first,
            the_feed_merges_many_authors_at_every_page_size,
            comments_are_counted_listed_and_hidden,
            reactions_toggle_and_count,
            reactions_can_be_set_idempotently,
            post_counters_stay_exact_under_a_storm,
            deleting_a_user_uncounts_their_comments_and_reactions,
            notifications_are_written_with_their_cause_once,
            hidden_actors_and_deleted_posts_leave_no_notifications,
            push_jobs_follow_the_recipients_preference,
            claims_take_only_the_kinds_asked_for,
            jobs_are_leased_retried_and_buried,
            parallel_claims_never_share_a_job,
            stale_rows_are_purged,
            push_devices_move_and_only_their_owner_removes_them,
            push_devices_carry_their_service,
            an_upload_is_written_once_and_processed,
            post_media_keep_their_order_and_go_with_the_post,
            a_post_context_matches_the_separate_reads,
            a_video_marked_processing_gets_its_transcode_job,
            scoops_expire_without_clean_up_and_count_views_once,
            the_scoop_feed_puts_me_then_unseen_then_seen,
            deleted_and_expired_scoops_are_purged,
            a_single_scoop_is_read_with_its_visibility_in_one_call,
            a_scoop_keeps_its_alt_text,
            mentions_resolve_users_and_blocks_in_one_call_each,
            bulk_loaded_rows_are_counted_and_found,
            a_timeline_is_built_from_follows_and_posts,
            a_post_reaches_followers_through_its_fan_out,
            hidden_content_leaves_the_timeline_at_once,
            a_follow_backfills_the_followees_posts,
            authors_with_many_followers_are_merged_at_read,
            pages_below_the_horizon_are_pulled_without_gaps,
            timelines_can_be_dropped_and_walked,
            follow_storms_and_fan_outs_converge,
            a_long_timeline_is_built_in_pages,
            idle_timelines_expire_and_stop_receiving_fan_outs,
        );
    };
    (@each $make:expr; $($name:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, store) = $make;
                $crate::$name(store).await;
            }
        )+
    };
}
