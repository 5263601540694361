//! The calls every module builds on, against the emulator: conditional transactions
//! report which action failed, queries page, batch reads dedupe, TTL is configured.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use scooter_store_dynamodb::db::Query;
use scooter_store_dynamodb::item::{ItemBuilder, get_n, n, s};
use scooter_store_dynamodb::testing;
use scooter_store_dynamodb::write::Write;

#[tokio::test]
async fn transactions_report_the_failed_condition_and_write_nothing() {
    let store = testing::fresh_store(false).await;
    let (db, t) = store.parts();
    let a = ItemBuilder::key("X#1", "_").n("count", 1).build();
    db.transact(vec![Write::put_new(&t.users, a.clone())])
        .await
        .unwrap()
        .unwrap();
    let b = ItemBuilder::key("X#2", "_").build();
    let out = db
        .transact(vec![
            Write::put_new(&t.users, b),
            Write::put_new(&t.users, a).replan_on_fail(),
        ])
        .await
        .unwrap();
    let cancelled = out.expect_err("the second put must fail");
    assert!(!cancelled.failed(0));
    assert!(cancelled.failed(1));
    assert!(cancelled.replan);
    assert!(db.get(&t.users, "X#2", "_").await.unwrap().is_none());
    // ADD with a condition on the same item, and a reserved word as attribute name.
    db.transact(vec![
        Write::update(&t.users, "X#1", "_", "ADD #count :one SET #text = :t")
            .cond("attribute_exists(#pk)")
            .value(":one", n(1))
            .value(":t", s("hi")),
        Write::put_new(&t.users, ItemBuilder::key("X#3", "_").build()),
    ])
    .await
    .unwrap()
    .unwrap();
    let item = db.get(&t.users, "X#1", "_").await.unwrap().unwrap();
    assert_eq!(get_n(&item, "count"), Some(2));
}

#[tokio::test]
async fn queries_page_past_their_limit_and_batch_reads_dedupe() {
    let store = testing::fresh_store(false).await;
    let (db, t) = store.parts();
    for i in 0..25 {
        let item = ItemBuilder::key("L#1", format!("{i:03}")).n("i", i).build();
        db.transact(vec![Write::put(&t.users, item)])
            .await
            .unwrap()
            .unwrap();
    }
    let q = Query::new(&t.users, "#pk = :pk AND #sk < :before")
        .value(":pk", s("L#1"))
        .value(":before", s("020"))
        .backward()
        .page_size(7);
    let all = db.query_all(&q, None).await.unwrap();
    assert_eq!(all.len(), 20);
    assert_eq!(get_n(&all[0], "i"), Some(19));
    let some = db.query_all(&q, Some(9)).await.unwrap();
    assert_eq!(some.len(), 9);
    let keys = vec![
        ("L#1".to_owned(), "001".to_owned()),
        ("L#1".to_owned(), "001".to_owned()),
        ("L#1".to_owned(), "999".to_owned()),
    ];
    assert_eq!(db.batch_get(&t.users, &keys).await.unwrap().len(), 1);
}
