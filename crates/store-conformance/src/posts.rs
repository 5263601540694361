//! Posts, the feed, comments and reactions: counters, paging, hiding, idempotency.

use crate::fixtures::{Db, user_with_handle};
use crate::media::upload;
use scooter_core::ids::new_id;
use scooter_core::post::{Attachment, Comment, Post, ReactionType};
use scooter_core::user::Suspension;
use scooter_core::{Timestamp, UserId};
use scooter_store::{Created, Idempotency, NewPost, PostMedia};

/// Stores a post and returns it.
pub async fn post(db: &Db, author: &UserId, text: &str) -> Post {
    let new = NewPost {
        id: new_id(),
        author: author.clone(),
        text: text.into(),
        mentions: vec![],
        media: vec![],
        created_at: Timestamp::now(),
    };
    match db.create_post(new, None, &[]).await.unwrap() {
        Created::New(p) => p,
        other => panic!("not created: {other:?}"),
    }
}

fn comment(post: &Post, author: &UserId, text: &str) -> Comment {
    Comment {
        id: new_id(),
        post_id: post.id.clone(),
        author: author.clone(),
        text: text.into(),
        created_at: Timestamp::now(),
    }
}

async fn posts_count(db: &Db, id: &UserId) -> i64 {
    db.get_user(id).await.unwrap().expect("user").posts_count
}

/// Every post of the home feed, paging `page` at a time. Only the last page may be
/// short: a client stops at a short page, so a short page with more behind it loses posts.
pub async fn whole_feed(db: &Db, user: &UserId, page: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let posts = db.home_feed(user, before.as_deref(), page).await.unwrap();
        let short = posts.len() < page as usize;
        before = posts.last().map(|p| p.id.clone()).or(before);
        out.extend(posts.into_iter().map(|p| p.id));
        if short {
            let after = db.home_feed(user, before.as_deref(), page).await.unwrap();
            assert!(
                after.is_empty(),
                "a short page of {page} had more behind it"
            );
            return out;
        }
    }
}

/// Creating counts the post on its author; deleting uncounts it and takes its comments
/// and reactions with it.
pub async fn posts_are_counted_and_deleted_with_their_children(db: Db) {
    let a = user_with_handle(&db, "poster").await;
    let b = user_with_handle(&db, "reader").await;
    let p = post(&db, &a, "hello").await;
    assert_eq!(posts_count(&db, &a).await, 1);
    assert_eq!(db.get_post(&p.id).await.unwrap(), Some(p.clone()));
    db.add_comment(comment(&p, &b, "hi"), vec![], None, &[])
        .await
        .unwrap();
    db.toggle_reaction(&p.id, &b, ReactionType::Fire, Timestamp::now(), None)
        .await
        .unwrap();
    assert!(db.delete_post(&p.id).await.unwrap());
    assert!(!db.delete_post(&p.id).await.unwrap());
    assert_eq!(posts_count(&db, &a).await, 0);
    assert_eq!(db.get_post(&p.id).await.unwrap(), None);
    assert!(
        db.my_reactions(&b, std::slice::from_ref(&p.id))
            .await
            .unwrap()
            .is_empty()
    );
}

/// The same idempotency key from the same author creates one post; another author's
/// identical key is independent.
pub async fn an_idempotency_key_creates_one_post(db: Db) {
    let a = user_with_handle(&db, "idem_a").await;
    let b = user_with_handle(&db, "idem_b").await;
    let make = |author: &UserId| NewPost {
        id: new_id(),
        author: author.clone(),
        text: "once".into(),
        mentions: vec![],
        media: vec![],
        created_at: Timestamp::now(),
    };
    let key = |fingerprint| {
        Some(Idempotency {
            key: "k1",
            fingerprint,
        })
    };
    let Created::New(first) = db.create_post(make(&a), key("f1"), &[]).await.unwrap() else {
        panic!("first")
    };
    assert_eq!(
        db.create_post(make(&a), key("f1"), &[]).await.unwrap(),
        Created::Replayed(first.id.clone())
    );
    // The same key for a different request makes nothing and says so.
    assert_eq!(
        db.create_post(make(&a), key("f2"), &[]).await.unwrap(),
        Created::KeyReused
    );
    assert!(matches!(
        db.create_post(make(&b), key("f2"), &[]).await.unwrap(),
        Created::New(_)
    ));
    assert_eq!(posts_count(&db, &a).await, 1);
}

/// The feed holds my posts and those of whom I follow, newest first, never a
/// suspended author's, and pages without repeats or gaps while new posts arrive.
pub async fn the_home_feed_is_mine_and_my_follows_newest_first(db: Db) {
    let me = user_with_handle(&db, "feeder").await;
    let friend = user_with_handle(&db, "friend").await;
    let stranger = user_with_handle(&db, "stranger").await;
    let banned = user_with_handle(&db, "banned_one").await;
    db.follow(&me, &friend, Timestamp::now(), None)
        .await
        .unwrap();
    db.follow(&me, &banned, Timestamp::now(), None)
        .await
        .unwrap();
    let mut expected = Vec::new();
    for i in 0..4 {
        expected.push(post(&db, &me, &format!("mine {i}")).await.id);
        expected.push(post(&db, &friend, &format!("theirs {i}")).await.id);
        post(&db, &stranger, "not for you").await;
        post(&db, &banned, "hidden").await;
    }
    db.set_suspension(
        &banned,
        Some(Suspension {
            reason: "x".into(),
            at: Timestamp::now(),
        }),
    )
    .await
    .unwrap();
    expected.reverse();
    assert_eq!(whole_feed(&db, &me, 3).await, expected);
    // New posts between pages land on top, never inside later pages.
    let first = db.home_feed(&me, None, 3).await.unwrap();
    post(&db, &friend, "breaking").await;
    let rest = db
        .home_feed(&me, first.last().map(|p| p.id.as_str()), 100)
        .await
        .unwrap();
    let seen: Vec<String> = first.into_iter().chain(rest).map(|p| p.id).collect();
    assert_eq!(seen, expected);
    let theirs = db.user_posts(&friend, None, 2).await.unwrap();
    assert_eq!(theirs.len(), 2);
    assert!(theirs[0].id > theirs[1].id);
}

/// Comments count on the post, list oldest first without hidden authors, and vanish
/// with their post; a comment on a missing post is refused.
pub async fn comments_are_counted_listed_and_hidden(db: Db) {
    let author = user_with_handle(&db, "op_user").await;
    let fan = user_with_handle(&db, "fan_user").await;
    let troll = user_with_handle(&db, "troll_user").await;
    let p = post(&db, &author, "ride report").await;
    let c1 = comment(&p, &fan, "first");
    db.add_comment(c1.clone(), vec![], None, &[]).await.unwrap();
    db.add_comment(comment(&p, &troll, "rude"), vec![], None, &[])
        .await
        .unwrap();
    let c3 = comment(&p, &fan, "third");
    let key = |fingerprint| {
        Some(Idempotency {
            key: "c-key",
            fingerprint,
        })
    };
    db.add_comment(c3.clone(), vec![], key("third"), &[])
        .await
        .unwrap();
    let replay = db
        .add_comment(comment(&p, &fan, "third"), vec![], key("third"), &[])
        .await
        .unwrap();
    assert_eq!(replay, Some(Created::Replayed(c3.id.clone())));
    let reused = db
        .add_comment(comment(&p, &fan, "fourth"), vec![], key("fourth"), &[])
        .await
        .unwrap();
    assert_eq!(reused, Some(Created::KeyReused));
    assert_eq!(
        db.get_post(&p.id)
            .await
            .unwrap()
            .expect("post")
            .comment_count,
        3
    );
    db.block(&author, &troll, Timestamp::now()).await.unwrap();
    let seen: Vec<String> = db
        .list_comments(&p.id, &author, None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.text)
        .collect();
    assert_eq!(seen, vec!["first", "third"]);
    let page = db
        .list_comments(&p.id, &fan, Some(&c1.id), 1)
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(),
        vec!["rude"]
    );
    assert!(db.delete_comment(&p.id, &c1.id).await.unwrap());
    assert!(!db.delete_comment(&p.id, &c1.id).await.unwrap());
    assert_eq!(db.get_comment(&p.id, &c3.id).await.unwrap(), Some(c3));
    assert_eq!(
        db.get_post(&p.id)
            .await
            .unwrap()
            .expect("post")
            .comment_count,
        2
    );
    let orphan = Comment {
        post_id: "no-such-post".into(),
        ..comment(&p, &fan, "lost")
    };
    assert_eq!(
        db.add_comment(orphan, vec![], None, &[]).await.unwrap(),
        None
    );
}

/// A toggle adds then removes; counts follow; my reactions come back in one batch.
pub async fn reactions_toggle_and_count(db: Db) {
    let author = user_with_handle(&db, "r_author").await;
    let fan = user_with_handle(&db, "r_fan").await;
    let p = post(&db, &author, "fire?").await;
    let q = post(&db, &author, "second").await;
    let on = db
        .toggle_reaction(&p.id, &fan, ReactionType::Fire, Timestamp::now(), None)
        .await
        .unwrap()
        .expect("post");
    assert!(on.reacted);
    assert_eq!(on.counts.fire, 1);
    db.toggle_reaction(&p.id, &fan, ReactionType::Like, Timestamp::now(), None)
        .await
        .unwrap();
    db.toggle_reaction(&q.id, &fan, ReactionType::Sad, Timestamp::now(), None)
        .await
        .unwrap();
    let mut mine = db
        .my_reactions(&fan, &[p.id.clone(), q.id.clone()])
        .await
        .unwrap();
    mine.sort();
    let mut expected = vec![
        (p.id.clone(), ReactionType::Fire),
        (p.id.clone(), ReactionType::Like),
        (q.id.clone(), ReactionType::Sad),
    ];
    expected.sort();
    assert_eq!(mine, expected);
    let listed = db.list_reactions(&p.id, &author, None, 10).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed[0].created_at >= listed[1].created_at);
    let off = db
        .toggle_reaction(&p.id, &fan, ReactionType::Fire, Timestamp::now(), None)
        .await
        .unwrap()
        .expect("post");
    assert!(!off.reacted);
    assert_eq!((off.counts.fire, off.counts.like), (0, 1));
    assert_eq!(
        db.toggle_reaction("missing", &fan, ReactionType::Fire, Timestamp::now(), None)
            .await
            .unwrap(),
        None
    );
}

/// Adding and removing are idempotent: a retried add or remove changes nothing, counts
/// stay exact, and they mix with toggles.
pub async fn reactions_can_be_set_idempotently(db: Db) {
    use scooter_store::ReactionChange::{Add, Remove, Toggle};
    let author = user_with_handle(&db, "ri_author").await;
    let fan = user_with_handle(&db, "ri_fan").await;
    let p = post(&db, &author, "like me once").await;
    let now = Timestamp::now();
    let set = |change| {
        let (db, id, fan) = (db.clone(), p.id.clone(), fan.clone());
        async move {
            db.react(&id, &fan, ReactionType::Like, change, now, None)
                .await
                .unwrap()
                .expect("post")
        }
    };
    for _ in 0..3 {
        let t = set(Add).await;
        assert!(t.reacted);
        assert_eq!(t.counts.like, 1, "a retried add counts once");
    }
    let t = set(Toggle).await;
    assert!(!t.reacted);
    assert_eq!(t.counts.like, 0);
    for _ in 0..3 {
        let t = set(Remove).await;
        assert!(!t.reacted);
        assert_eq!(t.counts.like, 0, "a retried remove never goes negative");
    }
    let t = set(Toggle).await;
    assert!(t.reacted);
    assert_eq!(t.counts.like, 1);
    assert_eq!(
        db.my_reactions(&fan, std::slice::from_ref(&p.id))
            .await
            .unwrap(),
        vec![(p.id.clone(), ReactionType::Like)]
    );
    for change in [Add, Remove, Toggle] {
        assert_eq!(
            db.react("missing", &fan, ReactionType::Like, change, now, None)
                .await
                .unwrap(),
            None
        );
    }
}

/// Many users toggling reactions and adding comments at once: counters equal rows.
pub async fn post_counters_stay_exact_under_a_storm(db: Db) {
    let author = user_with_handle(&db, "s_author").await;
    let p = post(&db, &author, "storm").await;
    let mut users = Vec::new();
    for i in 0..10 {
        users.push(user_with_handle(&db, &format!("s_user{i}")).await);
    }
    let tasks: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let (db, u, p) = (db.clone(), u.clone(), p.clone());
            tokio::spawn(async move {
                for _ in 0..(3 + i % 2) {
                    db.toggle_reaction(&p.id, &u, ReactionType::Like, Timestamp::now(), None)
                        .await
                        .unwrap();
                }
                db.add_comment(comment(&p, &u, "me too"), vec![], None, &[])
                    .await
                    .unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stored = db.get_post(&p.id).await.unwrap().expect("post");
    let rows = db
        .list_reactions(&p.id, &author, None, 100)
        .await
        .unwrap()
        .len() as i64;
    assert_eq!(
        rows, 5,
        "odd users toggle 4 times (off), even users 3 times (on)"
    );
    assert_eq!(stored.reactions.like, rows);
    assert_eq!(
        stored.comment_count,
        db.list_comments(&p.id, &author, None, 100)
            .await
            .unwrap()
            .len() as i64
    );
}

/// Deleting a user takes their comments and reactions out of other people's counters.
pub async fn deleting_a_user_uncounts_their_comments_and_reactions(db: Db) {
    let author = user_with_handle(&db, "keep_author").await;
    let leaver = user_with_handle(&db, "leaver_user").await;
    let p = post(&db, &author, "stays").await;
    let own = post(&db, &leaver, "goes").await;
    db.add_comment(comment(&p, &leaver, "bye"), vec![], None, &[])
        .await
        .unwrap();
    db.add_comment(comment(&p, &author, "ok"), vec![], None, &[])
        .await
        .unwrap();
    db.toggle_reaction(&p.id, &leaver, ReactionType::Sad, Timestamp::now(), None)
        .await
        .unwrap();
    db.toggle_reaction(&p.id, &leaver, ReactionType::Like, Timestamp::now(), None)
        .await
        .unwrap();
    db.toggle_reaction(&own.id, &author, ReactionType::Like, Timestamp::now(), None)
        .await
        .unwrap();
    db.delete_user(&leaver, Timestamp::now()).await.unwrap();
    let stored = db.get_post(&p.id).await.unwrap().expect("post");
    assert_eq!(
        (
            stored.comment_count,
            stored.reactions.sad,
            stored.reactions.like
        ),
        (1, 0, 0)
    );
    assert_eq!(db.get_post(&own.id).await.unwrap(), None);
    assert!(
        db.my_reactions(&author, &[own.id])
            .await
            .unwrap()
            .is_empty()
    );
}

/// With more followed authors than a page holds, each posting at different rates, every
/// page size walks the same feed: mine and my follows' posts, newest first, each once.
pub async fn the_feed_merges_many_authors_at_every_page_size(db: Db) {
    let me = user_with_handle(&db, "merger").await;
    let mut authors = vec![me.clone()];
    for i in 0..7 {
        let a = user_with_handle(&db, &format!("author_{i}")).await;
        db.follow(&me, &a, Timestamp::now(), None).await.unwrap();
        authors.push(a);
    }
    let outsider = user_with_handle(&db, "outsider").await;
    let mut expected = Vec::new();
    // A fixed interleaving: author k posts on steps where step % (k + 1) == 0, so early
    // authors post often and late ones rarely, and an outsider's posts are interleaved.
    for step in 0..24_usize {
        for (k, a) in authors.iter().enumerate() {
            if step % (k + 1) == 0 {
                expected.push(post(&db, a, &format!("{k}/{step}")).await.id);
            }
        }
        post(&db, &outsider, "not mine").await;
    }
    // Then one post each, so a first page holds the newest post of as many authors as
    // it has rows: a bound one author too high would lose one.
    for (k, a) in authors.iter().enumerate() {
        expected.push(post(&db, a, &format!("{k}/last")).await.id);
    }
    expected.reverse();
    for page in [1, 2, 3, 5, 8, 13, 100] {
        assert_eq!(
            whole_feed(&db, &me, page).await,
            expected,
            "page size {page}"
        );
    }
}

/// Each medium of a post keeps the alt text it was attached with, in the post's order,
/// through the media read and a page's context alike; a medium without alt text has
/// none.
pub async fn post_media_keep_their_alt_text(db: Db) {
    let ann = user_with_handle(&db, "alt_ann").await;
    let viewer = user_with_handle(&db, "alt_viewer").await;
    let (a, b, c) = (upload(&ann, 1), upload(&ann, 2), upload(&ann, 3));
    for m in [&a, &b, &c] {
        db.create_media(m.clone()).await.unwrap();
    }
    let alt = "Two scooters by the harbour\nat sunset — «Hafen» 🛴";
    let new = NewPost {
        id: new_id(),
        author: ann.clone(),
        text: "with alt".into(),
        mentions: vec![],
        media: vec![
            Attachment {
                key: c.key.clone(),
                alt: Some(alt.to_owned()),
            },
            Attachment::key(&a.key),
            Attachment {
                key: b.key.clone(),
                alt: Some("b".repeat(1500)),
            },
        ],
        created_at: Timestamp::now(),
    };
    let Created::New(p) = db.create_post(new, None, &[]).await.unwrap() else {
        panic!("replayed")
    };
    let bare = post(&db, &ann, "no media").await;
    let expected = vec![
        (c.key.clone(), Some(alt.to_owned())),
        (a.key.clone(), None),
        (b.key.clone(), Some("b".repeat(1500))),
    ];
    let read = |media: Vec<PostMedia>| {
        media
            .into_iter()
            .map(|m| {
                assert_eq!(m.post_id, p.id);
                (m.media.key, m.alt)
            })
            .collect::<Vec<_>>()
    };
    let ids = vec![p.id.clone(), bare.id.clone()];
    assert_eq!(read(db.media_for_posts(&ids).await.unwrap()), expected);
    let context = db
        .post_context(&viewer, &[p.clone(), bare.clone()])
        .await
        .unwrap();
    assert_eq!(read(context.media), expected);
}
