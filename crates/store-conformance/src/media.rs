//! Uploads: the upload state machine, post media, removal and purge jobs.

use crate::fixtures::{Db, user_with_handle};
use scooter_core::ids::new_id;
use scooter_core::media::{Media, MediaKind, MediaPurpose, MediaStatus};
use scooter_core::post::Attachment;
use scooter_core::{Timestamp, UserId};
use scooter_store::media::{PURGE_MEDIA_JOB, PURGE_USER_MEDIA_JOB};
use scooter_store::{Created, MediaUpdate, NewPost};
use std::time::Duration;

/// An upload of `owner` for posts, not yet stored.
pub(crate) fn upload(owner: &UserId, n: u32) -> Media {
    Media {
        key: format!("post/{owner}/{n}-{}.jpg", new_id()),
        owner: owner.clone(),
        purpose: MediaPurpose::Post,
        kind: MediaKind::Image,
        content_type: "image/jpeg".into(),
        size: 1234,
        status: MediaStatus::Pending,
        width: None,
        height: None,
        duration_ms: None,
        thumb_key: None,
        blurhash: None,
        error: None,
        created_at: Timestamp::now(),
    }
}

async fn job_kinds(db: &Db) -> Vec<(String, String)> {
    let jobs = db
        .claim_jobs(
            Timestamp::now().plus_seconds(5),
            Duration::from_secs(60),
            100,
        )
        .await
        .unwrap();
    jobs.into_iter().map(|j| (j.kind, j.payload)).collect()
}

/// pending → uploading (once) → ready; an aborted upload may be retried.
pub async fn an_upload_is_written_once_and_processed(db: Db) {
    let ann = user_with_handle(&db, "m_ann").await;
    let m = upload(&ann, 1);
    db.create_media(m.clone()).await.unwrap();
    assert_eq!(db.get_media(&m.key).await.unwrap(), Some(m.clone()));
    let now = Timestamp::now();
    let long_ago = now.plus_seconds(-3600);
    let claim = |at: Timestamp, stale_before: Timestamp| {
        let (db, key) = (db.clone(), m.key.clone());
        async move { db.begin_upload(&key, at, stale_before).await.unwrap() }
    };
    assert!(claim(now, long_ago).await);
    assert!(!claim(now, long_ago).await, "a second write is refused");
    db.abort_upload(&m.key).await.unwrap();
    assert!(
        claim(now, long_ago).await,
        "after a broken upload, try again"
    );
    // A claim cut off by a crash (older than any upload may take) is claimed again.
    let later_on = now.plus_seconds(700);
    assert!(
        !claim(later_on, later_on.plus_seconds(-800)).await,
        "a claim still in its time is left alone"
    );
    assert!(
        claim(later_on, later_on.plus_seconds(-600)).await,
        "a stale claim is taken over"
    );
    let update = MediaUpdate {
        status: Some(MediaStatus::Ready),
        width: Some(640),
        height: Some(480),
        thumb_key: Some(format!("{}.thumb.jpg", m.key)),
        blurhash: Some("LEHV6nWB2yk8pyo0adR*.7kCMdnj".into()),
        ..MediaUpdate::default()
    };
    let ready = db
        .update_media(&m.key, update)
        .await
        .unwrap()
        .expect("media");
    assert_eq!(
        (ready.status, ready.width, ready.height),
        (MediaStatus::Ready, Some(640), Some(480))
    );
    // The placeholder is kept, and a later update that does not carry one keeps it.
    let reread = db.get_media(&m.key).await.unwrap().expect("media");
    assert_eq!(
        reread.blurhash.as_deref(),
        Some("LEHV6nWB2yk8pyo0adR*.7kCMdnj")
    );
    let touched = db
        .update_media(&m.key, MediaUpdate::default())
        .await
        .unwrap()
        .expect("media");
    assert_eq!(touched.blurhash, reread.blurhash);
    assert!(
        !claim(later_on, later_on).await,
        "a ready upload is never claimed again"
    );
    let other = upload(&ann, 2);
    db.create_media(other.clone()).await.unwrap();
    let mut found: Vec<String> = db
        .media_by_keys(&[m.key.clone(), other.key.clone(), "post/x/y.jpg".into()])
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    found.sort();
    let mut expected = vec![m.key.clone(), other.key.clone()];
    expected.sort();
    assert_eq!(found, expected);
    assert!(db.remove_media(&m.key).await.unwrap());
    assert!(!db.remove_media(&m.key).await.unwrap());
    assert_eq!(
        db.get_media(&m.key).await.unwrap().map(|m| m.status),
        Some(MediaStatus::Removed)
    );
    assert_eq!(
        job_kinds(&db).await,
        vec![(PURGE_MEDIA_JOB.to_owned(), m.key.clone())]
    );
}

/// A post's media come back in order in one batch; deleting the post removes them and
/// queues their files for deletion; deleting the account queues the rest.
pub async fn post_media_keep_their_order_and_go_with_the_post(db: Db) {
    let ann = user_with_handle(&db, "pm_ann").await;
    let (a, b) = (upload(&ann, 1), upload(&ann, 2));
    db.create_media(a.clone()).await.unwrap();
    db.create_media(b.clone()).await.unwrap();
    let new = NewPost {
        id: new_id(),
        author: ann.clone(),
        text: String::new(),
        mentions: vec![],
        media: vec![Attachment::key(&b.key), Attachment::key(&a.key)],
        created_at: Timestamp::now(),
    };
    let Created::New(p) = db.create_post(new, None, &[]).await.unwrap() else {
        panic!("replayed")
    };
    let got: Vec<String> = db
        .media_for_posts(std::slice::from_ref(&p.id))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.media.key)
        .collect();
    assert_eq!(got, vec![b.key.clone(), a.key.clone()]);
    db.delete_post(&p.id).await.unwrap();
    let mut jobs = job_kinds(&db).await;
    jobs.retain(|(kind, _)| kind != scooter_store::timelines::FAN_OUT_JOB);
    jobs.sort();
    let mut expected = vec![
        (PURGE_MEDIA_JOB.to_owned(), a.key.clone()),
        (PURGE_MEDIA_JOB.to_owned(), b.key.clone()),
    ];
    expected.sort();
    assert_eq!(jobs, expected);
    let u = db
        .set_avatar(&ann, Some("avatar/x/y.jpg"))
        .await
        .unwrap()
        .expect("user");
    assert_eq!(u.avatar_key.as_deref(), Some("avatar/x/y.jpg"));
    db.delete_user(&ann, Timestamp::now()).await.unwrap();
    assert_eq!(
        job_kinds(&db).await,
        vec![(PURGE_USER_MEDIA_JOB.to_owned(), ann.to_string())]
    );
    assert_eq!(db.get_media(&a.key).await.unwrap(), None);
}

/// A page's context in one call reads exactly what the separate reads do: authors
/// (nulls, flags and counters included), media in each post's order, and only the
/// viewer's own reactions.
pub async fn a_post_context_matches_the_separate_reads(db: Db) {
    use scooter_core::post::ReactionType;
    let ann = user_with_handle(&db, "ctx_ann").await;
    let bob = user_with_handle(&db, "ctx_bob").await;
    let viewer = user_with_handle(&db, "ctx_viewer").await;
    db.set_avatar(&bob, Some("avatar/b/1.jpg")).await.unwrap();
    let (a, b) = (upload(&ann, 1), upload(&ann, 2));
    db.create_media(a.clone()).await.unwrap();
    db.create_media(b.clone()).await.unwrap();
    let mut posts = Vec::new();
    for (author, media) in [
        (&ann, vec![Attachment::key(&b.key), Attachment::key(&a.key)]),
        (&bob, vec![]),
        (&ann, vec![]),
    ] {
        let new = NewPost {
            id: new_id(),
            author: author.clone(),
            text: "ctx".into(),
            mentions: vec![],
            media,
            created_at: Timestamp::now(),
        };
        let Created::New(p) = db.create_post(new, None, &[]).await.unwrap() else {
            panic!("replayed")
        };
        posts.push(p);
    }
    let now = Timestamp::now();
    for kind in [ReactionType::Fire, ReactionType::Like] {
        db.toggle_reaction(&posts[0].id, &viewer, kind, now, None)
            .await
            .unwrap();
    }
    db.toggle_reaction(&posts[1].id, &ann, ReactionType::Wow, now, None)
        .await
        .unwrap();

    let got = db.post_context(&viewer, &posts).await.unwrap();
    let ids: Vec<String> = posts.iter().map(|p| p.id.clone()).collect();
    let mut authors = got.authors.clone();
    authors.sort_by(|x, y| x.id.cmp(&y.id));
    let mut expected = db.get_users(&[ann.clone(), bob.clone()]).await.unwrap();
    expected.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(authors, expected);
    assert_eq!(got.media, db.media_for_posts(&ids).await.unwrap());
    assert_eq!(
        got.media
            .iter()
            .map(|m| m.media.key.clone())
            .collect::<Vec<_>>(),
        vec![b.key.clone(), a.key.clone()]
    );
    let mut mine = got.my_reactions.clone();
    mine.sort_by(|x, y| x.1.as_str().cmp(y.1.as_str()));
    assert_eq!(
        mine,
        vec![
            (posts[0].id.clone(), ReactionType::Fire),
            (posts[0].id.clone(), ReactionType::Like),
        ]
    );
    let empty = db.post_context(&viewer, &[]).await.unwrap();
    assert!(empty.authors.is_empty() && empty.media.is_empty());
}

/// Marking a video processing can queue its transcode in the same write (once per key,
/// however often); without the flag nothing is queued.
pub async fn a_video_marked_processing_gets_its_transcode_job(db: Db) {
    use scooter_store::media::PROCESS_VIDEO_JOB;
    let ann = user_with_handle(&db, "tx_ann").await;
    let mut video = upload(&ann, 1);
    video.kind = MediaKind::Video;
    video.content_type = "video/mp4".into();
    db.create_media(video.clone()).await.unwrap();
    let processing = |transcode| MediaUpdate {
        status: Some(MediaStatus::Processing),
        transcode,
        ..MediaUpdate::default()
    };
    db.update_media(&video.key, processing(false))
        .await
        .unwrap();
    assert!(job_kinds(&db).await.is_empty());
    for _ in 0..2 {
        let m = db
            .update_media(&video.key, processing(true))
            .await
            .unwrap()
            .expect("media");
        assert_eq!(m.status, MediaStatus::Processing);
    }
    db.queue_video(&video.key).await.unwrap();
    assert_eq!(
        job_kinds(&db).await,
        vec![(PROCESS_VIDEO_JOB.to_owned(), video.key.clone())]
    );
    // A missing upload queues nothing.
    assert!(
        db.update_media("post/none/x.mp4", processing(true))
            .await
            .unwrap()
            .is_none()
    );
    assert!(job_kinds(&db).await.is_empty());
}
