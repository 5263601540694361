//! Workers side by side, as the microservice shape runs them: each claims only the job
//! kinds it can run, and the hourly clean-up is queued once however many there are.

use crate::helpers::TestApp;
use scooter_core::Timestamp;
use scooter_core::notification::NewJob;
use scooter_store::JobKinds;
use scooter_store::media::PROCESS_VIDEO_JOB;
use std::time::{Duration, Instant};

fn job(kind: &str, payload: &str) -> NewJob {
    NewJob {
        id: scooter_core::ids::new_id(),
        kind: kind.into(),
        payload: payload.into(),
        dedupe: None,
        run_at: Timestamp::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_leaves_the_kinds_it_cannot_run_to_workers_that_can() {
    let app = TestApp::new().await;
    let store = &app.app.ctx.store;
    store.enqueue_job(job("push", "n-1")).await.unwrap();
    store
        .enqueue_job(job(PROCESS_VIDEO_JOB, "post/u1/gone.mp4"))
        .await
        .unwrap();
    // `scooterbooter worker` without EXPO_PUSH_URL (this configuration has none): it
    // does not take push jobs, and marks none sent.
    let lean = scooterbooter::wiring::standalone_worker(&app.config, &app.app.ctx).unwrap();
    assert!(
        !lean.kinds(None).contains(&"push"),
        "{:?}",
        lean.kinds(None)
    );
    let video = app.app.ctx.media.video.is_some();
    // It runs the transcode if it has FFmpeg (finding nothing to do), and nothing else.
    assert_eq!(lean.run_once().await, usize::from(video));
    assert_eq!(lean.run_once().await, 0);
    // The push job is still there for a worker that can run it: here the all-in-one
    // server's, which drops pushes as push is off for the whole deployment.
    assert!(app.app.worker.kinds(None).contains(&"push"));
    assert_eq!(app.app.worker.run_once().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hourly_clean_up_is_queued_once_for_all_workers_due_at_the_next_hour() {
    let app = TestApp::new().await;
    let one = scooterbooter::wiring::standalone_worker(&app.config, &app.app.ctx).unwrap();
    let two = scooterbooter::wiring::standalone_worker(&app.config, &app.app.ctx).unwrap();
    let soon = Instant::now() + Duration::from_secs(600);
    for w in [&one, &two, &one] {
        // Each worker queues the clean-up; none is due yet, so none runs.
        assert_eq!(w.drain(JobKinds::All, 4, true, soon).await.unwrap(), 0);
    }
    // At the top of the next hour exactly one is due.
    let next_hour = (Timestamp::now().seconds() / 3600 + 1) * 3_600_000 + 1_000;
    let due = app
        .app
        .ctx
        .store
        .claim_jobs_of(
            Timestamp::from_millis(next_hour),
            Duration::from_secs(60),
            10,
            JobKinds::Only(&["maintenance"]),
        )
        .await
        .unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
}
