//! Gathers what concurrent callers hand in at the same moment into shared requests.
//!
//! The first caller to find the queue empty opens a window (a few milliseconds, or
//! until the queue holds a full request); whatever arrived by its end is packed into
//! requests of at most `max` items, each caller's items kept together in one request,
//! and sent with at most `parallel` requests in flight across the whole client. Each
//! caller gets back the answers for its own items, in order, or the error of the one
//! request that carried them, so a failed request fails (and its callers retry) only
//! the items it carried.

use crate::provider::PushError;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore, oneshot};

/// The future of one request.
pub(crate) type Sent<O> = Pin<Box<dyn Future<Output = Result<Vec<O>, PushError>> + Send>>;

/// Sends one request of at most `max` items; answers one output per item, in order.
pub(crate) type SendFn<I, O> = Arc<dyn Fn(Vec<I>) -> Sent<O> + Send + Sync>;

type Reply<O> = oneshot::Sender<Result<Vec<O>, PushError>>;

struct Waiting<I, O> {
    items: Vec<I>,
    reply: Reply<O>,
}

struct Queue<I, O> {
    waiting: Vec<Waiting<I, O>>,
    items: usize,
}

struct Inner<I, O> {
    queue: Mutex<Queue<I, O>>,
    full: Notify,
    gate: Arc<Semaphore>,
    window: Duration,
    max: usize,
    send: SendFn<I, O>,
}

/// A batching front for one kind of request.
pub(crate) struct Batcher<I, O> {
    inner: Arc<Inner<I, O>>,
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Requests of at most `max` items, `parallel` at once, gathered for `window`.
    pub(crate) fn new(max: usize, parallel: usize, window: Duration, send: SendFn<I, O>) -> Self {
        Self {
            inner: Arc::new(Inner {
                queue: Mutex::new(Queue {
                    waiting: Vec::new(),
                    items: 0,
                }),
                full: Notify::new(),
                gate: Arc::new(Semaphore::new(parallel.max(1))),
                window,
                max: max.max(1),
                send,
            }),
        }
    }

    /// Hands in `items` and waits for their answers.
    pub(crate) async fn submit(&self, mut items: Vec<I>) -> Result<Vec<O>, PushError> {
        // More than one request's worth (never for one notification: a user has at most
        // 20 devices) goes out as several parts.
        let mut parts = Vec::new();
        while items.len() > self.inner.max {
            let rest = items.split_off(self.inner.max);
            parts.push(self.enqueue(items));
            items = rest;
        }
        if !items.is_empty() {
            parts.push(self.enqueue(items));
        }
        let mut out = Vec::new();
        for part in parts {
            let answers = part
                .await
                .map_err(|_| PushError::Unavailable("the request was dropped".into()))??;
            out.extend(answers);
        }
        Ok(out)
    }

    fn enqueue(&self, items: Vec<I>) -> oneshot::Receiver<Result<Vec<O>, PushError>> {
        let (reply, rx) = oneshot::channel();
        let (opens_window, full) = {
            let mut q = self
                .inner
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let opens = q.waiting.is_empty();
            q.items += items.len();
            q.waiting.push(Waiting { items, reply });
            (opens, q.items >= self.inner.max)
        };
        if opens_window {
            // A task of its own, so a caller that gives up (a job's timeout) never
            // strands the others waiting in its window.
            tokio::spawn(self.inner.clone().close_window());
        }
        if full {
            self.inner.full.notify_one();
        }
        rx
    }
}

impl<I: Send + 'static, O: Send + 'static> Inner<I, O> {
    async fn close_window(self: Arc<Self>) {
        tokio::select! {
            () = tokio::time::sleep(self.window) => {}
            () = self.full.notified() => {}
        }
        let waiting = {
            let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            q.items = 0;
            std::mem::take(&mut q.waiting)
        };
        let mut requests: Vec<Vec<Waiting<I, O>>> = Vec::new();
        let mut size = 0;
        for w in waiting {
            match requests.last_mut() {
                Some(last) if size + w.items.len() <= self.max => {
                    size += w.items.len();
                    last.push(w);
                }
                _ => {
                    size = w.items.len();
                    requests.push(vec![w]);
                }
            }
        }
        for request in requests {
            tokio::spawn(self.clone().send_one(request));
        }
    }

    async fn send_one(self: Arc<Self>, request: Vec<Waiting<I, O>>) {
        let Ok(_permit) = self.gate.clone().acquire_owned().await else {
            return;
        };
        let mut items = Vec::new();
        let mut replies = Vec::with_capacity(request.len());
        for w in request {
            replies.push((w.items.len(), w.reply));
            items.extend(w.items);
        }
        let expected = items.len();
        let outcome = (self.send)(items).await.and_then(|answers| {
            if answers.len() == expected {
                Ok(answers)
            } else {
                Err(PushError::Unavailable(format!(
                    "{} answers for {expected} items",
                    answers.len()
                )))
            }
        });
        match outcome {
            Ok(answers) => {
                let mut answers = answers.into_iter();
                for (n, reply) in replies {
                    // A caller that went away no longer needs its answer.
                    let _ = reply.send(Ok(answers.by_ref().take(n).collect()));
                }
            }
            Err(e) => {
                for (_, reply) in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A sender that records request sizes and the most requests in flight at once,
    /// fails requests holding item 0, and answers each item doubled.
    fn recorder(sizes: Arc<Mutex<Vec<usize>>>, peak: Arc<AtomicUsize>) -> SendFn<u32, u32> {
        let now = Arc::new(AtomicUsize::new(0));
        Arc::new(move |items: Vec<u32>| {
            let (sizes, peak, now) = (sizes.clone(), peak.clone(), now.clone());
            Box::pin(async move {
                let inflight = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(inflight, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                sizes.lock().unwrap().push(items.len());
                if items.contains(&0) {
                    return Err(PushError::Unavailable("HTTP 429".into()));
                }
                Ok(items.into_iter().map(|i| i * 2).collect())
            })
        })
    }

    #[tokio::test]
    async fn callers_at_the_same_moment_share_requests_of_at_most_max_and_at_most_parallel_fly() {
        let (sizes, peak) = (Arc::default(), Arc::new(AtomicUsize::new(0)));
        let batcher = Arc::new(Batcher::new(
            10,
            3,
            Duration::from_millis(50),
            recorder(Arc::clone(&sizes), peak.clone()),
        ));
        // 40 callers of 2 items each: items 2k and 2k+1; the caller holding item 0 fails.
        let calls: Vec<_> = (0..40u32)
            .map(|k| {
                let b = batcher.clone();
                tokio::spawn(async move { (k, b.submit(vec![2 * k, 2 * k + 1]).await) })
            })
            .collect();
        let mut failed = Vec::new();
        for c in calls {
            let (k, answer) = c.await.unwrap();
            match answer {
                Ok(a) => assert_eq!(a, vec![4 * k, 4 * k + 2], "caller {k} gets its own answers"),
                Err(_) => failed.push(k),
            }
        }
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 80);
        assert!(sizes.iter().all(|n| *n <= 10), "{sizes:?}");
        assert!(sizes.len() <= 9, "{sizes:?}");
        assert!(peak.load(Ordering::SeqCst) <= 3);
        // Only the callers whose items shared the failed request failed.
        assert!(!failed.is_empty() && failed.len() <= 5, "{failed:?}");
        assert!(failed.contains(&0));
    }

    #[tokio::test]
    async fn more_than_one_request_of_items_goes_out_in_parts() {
        let (sizes, peak) = (Arc::default(), Arc::new(AtomicUsize::new(0)));
        let batcher = Batcher::new(
            10,
            6,
            Duration::from_millis(1),
            recorder(Arc::clone(&sizes), peak),
        );
        let answer = batcher.submit((1..=25).collect()).await.unwrap();
        assert_eq!(answer, (1..=25).map(|i| i * 2).collect::<Vec<_>>());
        let mut sizes = sizes.lock().unwrap().clone();
        sizes.sort_unstable();
        assert_eq!(sizes, vec![5, 10, 10]);
    }
}
