//! Load shedding: a bound on requests in flight, beyond which a new request waits a
//! short while for a place (`MAX_QUEUE_WAIT_MS`) and is then answered 503 `unavailable`
//! with `Retry-After`, instead of queueing behind all the others.
//!
//! Why a bound and not a queue: on two cores the server is saturated by a few dozen
//! concurrent requests; past that, every extra request only adds to everyone's latency
//! (1,000 connections gave a p50 of 1–2.4 s and 503s only at the 15 s time budget,
//! issue 25). Refusing the excess at once keeps admitted requests at their normal
//! latency and tells clients when to come back. Health checks (`/healthz`, `/readyz`)
//! are never refused, so an orchestrator does not restart a server that is merely busy;
//! uploads (`PUT /uploads/…`) are not counted, since a phone's upload is in flight for
//! minutes while costing little (the connection cap and the upload budget bound them).
//!
//! The waiting line is served newest first (LIFO, as in Facebook's "Fail at Scale"):
//! under overload the request that just arrived gets the next free place and keeps its
//! normal latency, while the oldest run out of their wait and are refused, instead of
//! every admitted request having waited the longest. The wait also bounds what clients
//! that retry at once (load generators, impatient apps) cost: refused at once, such a
//! client is back within microseconds, and at 3,000 of them refusals took the CPU from
//! the admitted requests (measured in bench/RESULTS.md).
//!
//! A refusal closes its connection (`Connection: close`), so that under the connection
//! cap the places rotate to clients waiting in the listen backlog, health checks among
//! them, rather than staying with the clients that retry at once.
//!
//! A request holds its slot until its response head is ready. A client that goes away
//! gets its request's future dropped by the server, which frees the slot and stops the
//! work at its next await.

use crate::error::ApiError;
use crate::request_id::RequestId;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// Seconds a refused client is asked to wait: short, since a burst passes quickly.
const RETRY_AFTER_SECS: u64 = 1;

/// How often at most the refusals are summed up in the log.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// The default bound for a machine: 32 requests per core (at least 16). On the
/// benchmark's two cores 32 connections already saturate the CPU with a p99 near
/// 20 ms; twice that is headroom for requests waiting on the disk or the writer.
pub fn default_max_in_flight() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    (cores * 32).max(16)
}

/// The places and the line of requests waiting for one.
#[derive(Debug, Default)]
struct Places {
    /// Requests holding a place.
    taken: usize,
    /// Requests waiting, oldest first; a place is handed to the newest.
    waiting: VecDeque<oneshot::Sender<Place>>,
    /// Length of the line after its last sweep of waiters that gave up.
    swept_len: usize,
}

/// The shared count of requests in flight.
#[derive(Debug)]
pub struct InFlight {
    bound: usize,
    wait: Duration,
    places: Mutex<Places>,
    refused: AtomicU64,
    last_log: Mutex<Option<Instant>>,
}

/// A request's place, given back (to the newest waiter, if any) when dropped. The
/// place itself travels to the waiter, so one handed to a waiter that goes away before
/// taking it is dropped with the channel and passed on again, never lost.
#[derive(Debug)]
struct Place {
    in_flight: Arc<InFlight>,
    /// False for a place that was only a vehicle and counts nothing.
    armed: bool,
}

impl Place {
    fn new(in_flight: &Arc<InFlight>) -> Self {
        Self {
            in_flight: in_flight.clone(),
            armed: true,
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let mut places = self.in_flight.places();
        // A waiter that gave up has closed its receiver: the place goes to the next.
        while let Some(next) = places.waiting.pop_back() {
            match next.send(Place::new(&self.in_flight)) {
                Ok(()) => return,
                Err(mut unsent) => unsent.armed = false,
            }
        }
        places.taken = places.taken.saturating_sub(1);
    }
}

impl InFlight {
    /// At most `bound` requests in flight; a request beyond it waits at most `wait`
    /// for a place (zero: it is refused at once).
    pub fn new(bound: usize, wait: Duration) -> Self {
        Self {
            bound,
            wait,
            places: Mutex::new(Places::default()),
            refused: AtomicU64::new(0),
            last_log: Mutex::new(None),
        }
    }

    fn places(&self) -> std::sync::MutexGuard<'_, Places> {
        self.places.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place now, or within the wait; `None` when the wait ran out.
    async fn admit(self: &Arc<Self>) -> Option<Place> {
        let mut handed = {
            let mut places = self.places();
            if places.taken < self.bound {
                places.taken += 1;
                return Some(Place::new(self));
            }
            if self.wait.is_zero() {
                return None;
            }
            // Waiters that gave up stay in the line until a place passes them by;
            // sweep them whenever the line has doubled since the last sweep.
            if places.waiting.len() >= (2 * places.swept_len).max(64) {
                places.waiting.retain(|w| !w.is_closed());
                places.swept_len = places.waiting.len();
            }
            let (tx, rx) = oneshot::channel();
            places.waiting.push_back(tx);
            rx
        };
        tokio::select! {
            got = &mut handed => got.ok(),
            () = tokio::time::sleep(self.wait) => {
                // A place handed over just as the wait ran out is still ours.
                handed.close();
                handed.try_recv().ok()
            }
        }
    }

    /// Counts a refusal and, at most every [`LOG_EVERY`], logs how many there were.
    fn note_refusal(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let Ok(mut last) = self.last_log.try_lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < LOG_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let refused = self.refused.swap(0, Ordering::Relaxed);
        tracing::warn!(
            refused,
            max_in_flight = self.bound,
            "overloaded: requests refused with 503 since the last report"
        );
    }
}

/// Whether a request is outside the bound: health checks and uploads.
fn exempt(path: &str) -> bool {
    path == "/healthz" || path == "/readyz" || path.starts_with("/uploads/")
}

/// The middleware: runs the request once it has a place, else answers 503.
pub async fn limit(State(in_flight): State<Arc<InFlight>>, req: Request, next: Next) -> Response {
    if exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let Some(place) = in_flight.admit().await else {
        in_flight.note_refusal();
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        let busy = ApiError {
            retry_after: Some(RETRY_AFTER_SECS),
            message: "the server is busy; try again in a moment".into(),
            ..ApiError::unavailable()
        };
        let mut res = busy.render(request_id.as_deref());
        // The connection closes after the refusal: its place under the connection cap
        // goes to whoever waits in the listen backlog (a health check, a new client),
        // instead of staying with a client that retries at once.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return res;
    };
    let res = next.run(req).await;
    drop(place);
    res
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    async fn until_waiting(in_flight: &InFlight, n: usize) {
        while in_flight.places().waiting.len() < n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn a_freed_place_goes_to_the_newest_waiter() {
        let in_flight = Arc::new(InFlight::new(1, Duration::from_secs(60)));
        let first = in_flight.admit().await.expect("a free place");
        let older = tokio::spawn({
            let f = in_flight.clone();
            async move { f.admit().await }
        });
        until_waiting(&in_flight, 1).await;
        let newer = tokio::spawn({
            let f = in_flight.clone();
            async move { f.admit().await }
        });
        until_waiting(&in_flight, 2).await;

        drop(first);
        let place = newer.await.unwrap().expect("the newest got the place");
        assert!(!older.is_finished(), "the older one still waits");
        drop(place);
        let last = older.await.unwrap().expect("then the older one");
        assert_eq!(in_flight.places().taken, 1);
        drop(last);
        assert_eq!(in_flight.places().taken, 0);
    }

    #[tokio::test]
    async fn a_request_that_waited_out_its_wait_is_refused_and_takes_no_place() {
        let in_flight = Arc::new(InFlight::new(1, Duration::from_millis(20)));
        let first = in_flight.admit().await.expect("a free place");
        assert!(in_flight.admit().await.is_none(), "refused after the wait");
        drop(first);
        assert_eq!(
            in_flight.places().taken,
            0,
            "the place was not handed to it"
        );
        assert!(in_flight.admit().await.is_some());
    }

    #[tokio::test]
    async fn a_place_handed_to_a_waiter_that_went_away_is_not_lost() {
        let in_flight = Arc::new(InFlight::new(1, Duration::from_secs(60)));
        let first = in_flight.admit().await.expect("a free place");
        let waiter = tokio::spawn({
            let f = in_flight.clone();
            async move { f.admit().await }
        });
        until_waiting(&in_flight, 1).await;
        // Handed over, then the waiter's client hangs up before it runs again (this
        // runtime has one thread: the waiter cannot run in between).
        drop(first);
        waiter.abort();
        assert!(waiter.await.unwrap_err().is_cancelled());
        assert_eq!(in_flight.places().taken, 0, "the place came back");
    }

    #[tokio::test]
    async fn with_no_wait_a_request_beyond_the_bound_is_refused_at_once() {
        let in_flight = Arc::new(InFlight::new(1, Duration::ZERO));
        let _first = in_flight.admit().await.expect("a free place");
        assert!(in_flight.admit().await.is_none());
        assert!(in_flight.places().waiting.is_empty());
    }
}
