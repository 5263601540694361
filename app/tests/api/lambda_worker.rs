//! The worker functions of the Lambda shape, fed the committed DynamoDB stream and
//! schedule events of `deploy/aws/events/` in process, on the suite's backend (moto's
//! DynamoDB in the aws pass): a stream batch runs the jobs due, the video function
//! runs only transcodes, and an unreachable outbox reports every record for redelivery.

use crate::helpers::{TestApp, on_dynamodb};
use scooter_core::Timestamp;
use scooter_core::notification::NewJob;
use scooter_store::media::{PROCESS_VIDEO_JOB, PURGE_MEDIA_JOB};
use scooterbooter::lambda::{Mode, handle_jobs};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn event(file: &str) -> Value {
    let path = format!("{}/../deploy/aws/events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn job(kind: &str, payload: &str) -> NewJob {
    NewJob {
        id: uuid::Uuid::now_v7().to_string(),
        kind: kind.into(),
        payload: payload.into(),
        dedupe: None,
        run_at: Timestamp::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_batch_runs_the_due_jobs_and_the_video_function_only_transcodes() {
    let app = TestApp::new().await;
    let store = &app.app.ctx.store;
    // As a deletion and a video upload queue them (their files are long gone: both
    // handlers find nothing to do, and finish).
    store
        .enqueue_job(job(PURGE_MEDIA_JOB, "post/u1/gone.jpg"))
        .await
        .unwrap();
    store
        .enqueue_job(job(PROCESS_VIDEO_JOB, "post/u1/gone.mp4"))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    let (worker, config) = (&app.app.worker, &app.config);
    let batch = event("dynamodb-stream-jobs.json");
    let tick = event("schedule.json");
    assert_eq!(
        handle_jobs(worker, config, Mode::Worker, &batch, deadline).await,
        json!({"batchItemFailures": []})
    );
    // The purge ran; the transcode was left to the video function.
    assert_eq!(
        handle_jobs(worker, config, Mode::Worker, &tick, deadline).await,
        json!({"ran": 0})
    );
    assert_eq!(
        handle_jobs(worker, config, Mode::Video, &tick, deadline).await,
        json!({"ran": 1})
    );
    assert_eq!(
        handle_jobs(worker, config, Mode::Video, &batch, deadline).await,
        json!({"batchItemFailures": []})
    );
    assert_eq!(
        app.app.worker.run_once().await,
        0,
        "nothing left in the outbox"
    );
    // Too near the deadline, nothing is claimed: a job is never cut off by the end of
    // the invocation.
    store
        .enqueue_job(job(PURGE_MEDIA_JOB, "post/u1/late.jpg"))
        .await
        .unwrap();
    let soon = Instant::now() + Duration::from_secs(5);
    assert_eq!(
        handle_jobs(worker, config, Mode::Worker, &tick, soon).await,
        json!({"ran": 0})
    );
    assert_eq!(app.app.worker.run_once().await, 1);
    if !on_dynamodb() {
        // The outbox cannot be reached: every record of the batch is reported failed,
        // so Lambda delivers it again.
        app.app.store.close().await;
        assert_eq!(
            handle_jobs(worker, config, Mode::Worker, &batch, deadline).await,
            json!({"batchItemFailures": [
                {"itemIdentifier": "111100000000000000000001"},
                {"itemIdentifier": "111100000000000000000002"},
            ]})
        );
    }
}
