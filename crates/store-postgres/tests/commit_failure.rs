//! Writes whose COMMIT fails, and connections that die under write load: the store must
//! never acknowledge a write that is not committed, and must write again right after.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use scooter_store::{Store, StoreError};
use scooter_store_conformance::faults::{
    Ledger, Refusals, assert_ledger, assert_ledger_holds, author, post_once, post_text,
};
use scooter_store_postgres::PgStore;
use scooter_store_postgres::testing::{TestSchema, test_url};
use sqlx::{Connection, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

async fn admin(schema: &TestSchema) -> PgConnection {
    let mut conn = PgConnection::connect(&test_url()).await.expect("connect");
    let name = schema.settings.schema.clone().expect("schema");
    sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {name}")))
        .execute(&mut conn)
        .await
        .expect("search path");
    conn
}

#[tokio::test]
async fn a_commit_that_fails_acknowledges_nothing_and_the_next_write_works() {
    let schema = TestSchema::create().await;
    let db: Arc<dyn Store> = Arc::new(PgStore::open(&schema.settings).await.expect("open"));
    let me = author(&db).await;

    // A deferred constraint checked at COMMIT that refuses posts reading "full", with
    // the SQLSTATE of a full disk: the statements succeed, the COMMIT fails.
    let mut conn = admin(&schema).await;
    for sql in [
        "CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN IF NEW.text = 'full' THEN RAISE EXCEPTION 'no space' USING ERRCODE = 'disk_full'; \
         END IF; RETURN NEW; END $$",
        "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON posts \
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit()",
    ] {
        sqlx::query(sql).execute(&mut conn).await.expect("trigger");
    }

    let mut ledger = Ledger::default();
    for i in 0..120 {
        let text = if i % 3 == 0 {
            "full".to_owned()
        } else {
            format!("post {i}")
        };
        post_text(&db, &me, text, &mut ledger).await;
    }
    assert_eq!(ledger.refused.len(), 40, "{:?}", ledger.refused.first());
    assert_eq!(ledger.full(), 40, "a full disk reads as storage full");
    assert_eq!(ledger.acked.len(), 80);
    assert_ledger_holds(&db, &me, &ledger).await;
    db.close().await;
}

#[tokio::test]
async fn connections_killed_under_write_load_never_lose_an_acknowledged_write() {
    let schema = TestSchema::create().await;
    let db: Arc<dyn Store> = Arc::new(PgStore::open(&schema.settings).await.expect("open"));
    let me = author(&db).await;

    // Another session ends the store's connections every few milliseconds, mid-statement
    // or mid-commit as it happens, while posts are written.
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicUsize::new(0));
    let killer = {
        let (stop, killed) = (stop.clone(), killed.clone());
        let app = schema.settings.application_name.clone();
        tokio::spawn(async move {
            let mut conn = PgConnection::connect(&test_url()).await.expect("connect");
            while !stop.load(Ordering::Relaxed) {
                let n: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1 AND pid <> pg_backend_pid()) t",
                )
                .bind(&app)
                .fetch_one(&mut conn)
                .await
                .expect("terminate");
                killed.fetch_add(usize::try_from(n).unwrap(), Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(15)).await;
            }
        })
    };
    let mut ledger = Ledger::default();
    for _ in 0..120 {
        post_once(&db, &me, 64, &mut ledger).await;
    }
    stop.store(true, Ordering::Relaxed);
    killer.await.expect("killer");
    assert!(
        killed.load(Ordering::Relaxed) > 0,
        "connections were killed"
    );
    for (_, e) in &ledger.refused {
        assert!(
            matches!(e, StoreError::Unavailable(_)),
            "a dead connection reads as unavailable: {e:?}"
        );
    }
    // A COMMIT cut off mid-flight may have landed: only "acknowledged means stored" holds.
    assert_ledger(&db, &me, &ledger, Refusals::OutcomeUnknown).await;
    let before = ledger.acked.len();
    for _ in 0..5 {
        post_once(&db, &me, 64, &mut ledger).await;
    }
    assert_eq!(
        ledger.acked.len(),
        before + 5,
        "writes work again: {:?}",
        ledger.refused.last()
    );
    db.close().await;
}
