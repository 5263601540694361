//! The DynamoDB calls every module makes, with the two things each of them needs done
//! the same way: errors mapped to [`StoreError`] (throttling and timeouts are
//! `Unavailable`, the caller may retry), and capacity units counted from the items
//! read and written (`capacity`), since on DynamoDB they are the bill.
//!
//! Reads of the base table are strongly consistent; index reads cannot be (GSIs are
//! eventually consistent), so no rule is ever decided on an index read alone.

use crate::item::Item;
use crate::write::{Op, Write, names_in};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    DeleteRequest, KeysAndAttributes, PutRequest, ReturnValue, WriteRequest,
};
use scooter_store::{StoreError, StoreResult};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Most actions in one `TransactWriteItems`.
pub const MAX_TRANSACT: usize = 100;
/// Most keys in one `BatchGetItem`.
const MAX_BATCH_GET: usize = 100;
/// Most requests in one `BatchWriteItem`.
const MAX_BATCH_WRITE: usize = 25;
/// How often a call whose items came back unprocessed (throttled) is repeated.
const UNPROCESSED_RETRIES: u32 = 8;
/// How often a transaction that lost a race with another one is tried again.
const CONFLICT_RETRIES: u32 = 6;

pub use crate::capacity::Capacity;
use crate::capacity::item_size;

/// Maps an SDK error: throttling, timeouts and connection failures are `Unavailable`
/// (the caller may retry later); an item collection over its size limit is
/// `StorageFull`; anything else is `Backend`.
pub fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = e.code().unwrap_or_default().to_owned();
    let transient = matches!(
        e,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
    ) || matches!(
        code.as_str(),
        "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "LimitExceededException"
    );
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(DynamoError(
        aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
    ));
    if transient {
        StoreError::Unavailable(boxed)
    } else if code == "ItemCollectionSizeLimitExceededException" {
        StoreError::StorageFull(boxed)
    } else {
        StoreError::Backend(boxed)
    }
}

/// An SDK error as text (the SDK's own error types carry the raw response).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DynamoError(String);

fn is_condition_failure<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// An SDK builder's result: a missing required field is a bug here, not input.
pub(crate) fn built<T>(r: Result<T, aws_sdk_dynamodb::error::BuildError>) -> StoreResult<T> {
    r.map_err(|e| StoreError::Backend(Box::new(e)))
}

/// A single write whose condition did not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionFailed;

/// A transaction that was cancelled because conditions failed.
#[derive(Debug, Clone, Default)]
pub struct Cancelled {
    /// Per action, in order: the reason code (`None` where that action was fine), and
    /// the item as it stood when asked for with [`Write::old_on_fail`].
    pub reasons: Vec<(Option<String>, Option<Item>)>,
    /// A failed action was marked [`Write::replan_on_fail`]: the caller reads again and
    /// retries (see [`Db::transact`]).
    pub replan: bool,
}

impl Cancelled {
    /// Whether the condition of action `i` failed.
    pub fn failed(&self, i: usize) -> bool {
        self.reasons
            .get(i)
            .and_then(|(code, _)| code.as_deref())
            .is_some_and(|c| c == "ConditionalCheckFailed")
    }

    /// The index of the first action whose condition failed.
    pub fn first_failed(&self) -> Option<usize> {
        (0..self.reasons.len()).find(|&i| self.failed(i))
    }

    /// The item action `i` saw, when its condition failed and it asked for it.
    pub fn old_item(&self, i: usize) -> Option<&Item> {
        self.reasons.get(i).and_then(|(_, item)| item.as_ref())
    }
}

/// A query: key condition, optional index and filter, direction and page size.
#[derive(Debug, Clone)]
pub struct Query {
    table: String,
    index: Option<&'static str>,
    key: String,
    filter: Option<String>,
    values: Item,
    forward: bool,
    page_size: Option<i32>,
    projection: Option<String>,
}

impl Query {
    /// A query of `table` by a key condition (`#pk = :pk AND begins_with(#sk, :p)`).
    pub fn new(table: &str, key_condition: impl Into<String>) -> Self {
        Self {
            table: table.to_owned(),
            index: None,
            key: key_condition.into(),
            filter: None,
            values: Item::new(),
            forward: true,
            page_size: None,
            projection: None,
        }
    }

    /// Reads an index (`"gsi1"`, `"gsi2"`) instead of the table (eventually consistent).
    pub fn index(mut self, index: &'static str) -> Self {
        self.index = Some(index);
        self
    }

    /// Binds a `:name` placeholder.
    pub fn value(mut self, name: &str, v: aws_sdk_dynamodb::types::AttributeValue) -> Self {
        self.values.insert(name.to_owned(), v);
        self
    }

    /// A filter (applied after `Limit`: pages may come back short, even empty).
    pub fn filter(mut self, f: impl Into<String>) -> Self {
        self.filter = Some(f.into());
        self
    }

    /// Newest (highest sort key) first.
    pub fn backward(mut self) -> Self {
        self.forward = false;
        self
    }

    /// Items read per call.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = Some(i32::try_from(n.max(1)).unwrap_or(i32::MAX));
        self
    }

    /// Only these attributes (`#pk, #sk, #author_id`).
    pub fn project(mut self, p: impl Into<String>) -> Self {
        self.projection = Some(p.into());
        self
    }
}

/// The client, the counters, and the calls.
#[derive(Debug, Clone)]
pub struct Db {
    client: Client,
    capacity: Arc<Capacity>,
}

impl Db {
    /// Wraps a client.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            capacity: Arc::new(Capacity::default()),
        }
    }

    /// The SDK client, for calls this module does not wrap (table management).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Capacity consumed so far.
    pub fn capacity(&self) -> &Capacity {
        &self.capacity
    }

    /// One item by key, strongly consistent.
    pub async fn get(&self, table: &str, pk: &str, sk: &str) -> StoreResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key("pk", crate::item::s(pk))
            .key("sk", crate::item::s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        self.capacity
            .read(out.item.as_ref().map_or(0, item_size), true);
        Ok(out.item)
    }

    /// Many items of one table by key, strongly consistent, in as few calls as
    /// `BatchGetItem` allows (100 keys each, run concurrently). Missing items are left
    /// out; order is not kept. Duplicate keys are read once.
    pub async fn batch_get(
        &self,
        table: &str,
        keys: &[(String, String)],
    ) -> StoreResult<Vec<Item>> {
        let mut unique: Vec<&(String, String)> = keys.iter().collect();
        unique.sort();
        unique.dedup();
        let calls = unique.chunks(MAX_BATCH_GET).map(|chunk| {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|(pk, sk)| {
                    HashMap::from([
                        ("pk".to_owned(), crate::item::s(pk.clone())),
                        ("sk".to_owned(), crate::item::s(sk.clone())),
                    ])
                })
                .collect();
            self.batch_get_chunk(table, keys)
        });
        let pages = futures_util::future::try_join_all(calls).await?;
        Ok(pages.into_iter().flatten().collect())
    }

    async fn batch_get_chunk(&self, table: &str, mut keys: Vec<Item>) -> StoreResult<Vec<Item>> {
        let mut found = Vec::new();
        for attempt in 0..=UNPROCESSED_RETRIES {
            if keys.is_empty() {
                return Ok(found);
            }
            if attempt > 0 {
                backoff(attempt).await;
            }
            let asked = keys.len();
            let request = built(
                KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut keys)))
                    .consistent_read(true)
                    .build(),
            )?;
            let out = self
                .client
                .batch_get_item()
                .request_items(table, request)
                .send()
                .await
                .map_err(sdk_error)?;
            let items = out
                .responses
                .and_then(|mut r| r.remove(table))
                .unwrap_or_default();
            if let Some(k) = out.unprocessed_keys.and_then(|mut u| u.remove(table)) {
                keys = k.keys;
            }
            // Each key read pays on its own, found or not.
            for item in &items {
                self.capacity.read(item_size(item), true);
            }
            for _ in 0..asked.saturating_sub(items.len() + keys.len()) {
                self.capacity.read(0, true);
            }
            found.extend(items);
        }
        if keys.is_empty() {
            Ok(found)
        } else {
            Err(StoreError::Unavailable("reads stayed throttled".into()))
        }
    }

    /// One page of a query, starting after `start` (a `LastEvaluatedKey` this module
    /// handed out, never one from a client). Returns the items and where to go on.
    pub async fn query_page(
        &self,
        q: &Query,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let names = names_in(
            std::iter::once(q.key.as_str())
                .chain(q.filter.as_deref())
                .chain(q.projection.as_deref()),
        );
        let out = self
            .client
            .query()
            .table_name(&q.table)
            .set_index_name(q.index.map(str::to_owned))
            .key_condition_expression(&q.key)
            .set_filter_expression(q.filter.clone())
            .set_projection_expression(q.projection.clone())
            .set_expression_attribute_names(names)
            .set_expression_attribute_values((!q.values.is_empty()).then(|| q.values.clone()))
            .scan_index_forward(q.forward)
            .set_limit(q.page_size)
            .consistent_read(q.index.is_none())
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        let items = out.items.unwrap_or_default();
        // A query pays for what it read, before the filter and whatever it projected;
        // items the filter dropped are counted at the size of those it kept.
        let kept: u64 = items.iter().map(item_size).sum();
        let dropped = u64::try_from(out.scanned_count - out.count).unwrap_or(0);
        let average = if items.is_empty() {
            0
        } else {
            kept / items.len() as u64
        };
        self.capacity
            .read(kept + dropped * average, q.index.is_none());
        Ok((items, out.last_evaluated_key))
    }

    /// Every item a query matches, up to `max` (all when `None`), across as many pages
    /// as that takes.
    pub async fn query_all(&self, q: &Query, max: Option<usize>) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let (page, next) = self.query_page(q, start).await?;
            items.extend(page);
            if let Some(max) = max
                && items.len() >= max
            {
                items.truncate(max);
                return Ok(items);
            }
            match next {
                Some(n) => start = Some(n),
                None => return Ok(items),
            }
        }
    }

    /// One write on its own. `Err(ConditionFailed)` when its condition did not hold;
    /// with `returning`, the item as the write left it (`ALL_NEW` for puts and updates,
    /// `ALL_OLD` for deletes).
    pub async fn write(
        &self,
        w: Write,
        returning: bool,
    ) -> StoreResult<Result<Option<Item>, ConditionFailed>> {
        let names = w.names();
        let values = (!w.values.is_empty()).then(|| w.values.clone());
        // The written (or, for a delete, removed) item comes back whether asked for or
        // not: capacity is counted from its size, and returning it costs nothing.
        macro_rules! finish {
            ($sent:expr, $image:expr) => {
                match $sent {
                    Ok(out) => {
                        let image = $image(out);
                        self.capacity.write(image.as_ref(), false);
                        Ok(Ok(if returning { image } else { None }))
                    }
                    Err(e) if is_condition_failure(&e) => {
                        self.capacity.write(None, false);
                        Ok(Err(ConditionFailed))
                    }
                    Err(e) => Err(sdk_error(e)),
                }
            };
        }
        match w.op {
            Op::Put(item) => finish!(
                self.client
                    .put_item()
                    .table_name(w.table)
                    .set_item(Some(item.clone()))
                    .set_condition_expression(w.cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .send()
                    .await,
                |_| Some(item)
            ),
            Op::Update(expr) => finish!(
                self.client
                    .update_item()
                    .table_name(w.table)
                    .set_key(Some(w.key))
                    .update_expression(expr)
                    .set_condition_expression(w.cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values(ReturnValue::AllNew)
                    .send()
                    .await,
                |out: aws_sdk_dynamodb::operation::update_item::UpdateItemOutput| out.attributes
            ),
            Op::Delete => finish!(
                self.client
                    .delete_item()
                    .table_name(w.table)
                    .set_key(Some(w.key))
                    .set_condition_expression(w.cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .return_values(ReturnValue::AllOld)
                    .send()
                    .await,
                |out: aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput| out.attributes
            ),
            Op::Check => Err(StoreError::Backend(
                "a condition check is only valid inside a transaction".into(),
            )),
        }
    }

    /// All of `writes` or none: one `TransactWriteItems` (at most 100 actions, no item
    /// twice). A race lost to another transaction is retried; failed conditions come
    /// back as `Err(Cancelled)` with the reason for each action. A single write goes as
    /// a plain write (half the capacity of a transaction).
    pub async fn transact(&self, writes: Vec<Write>) -> StoreResult<Result<(), Cancelled>> {
        if writes.is_empty() {
            return Ok(Ok(()));
        }
        if writes.len() > MAX_TRANSACT {
            return Err(StoreError::Backend(
                format!(
                    "a transaction of {} actions exceeds the limit of {MAX_TRANSACT}",
                    writes.len()
                )
                .into(),
            ));
        }
        let replans: Vec<bool> = writes.iter().map(|w| w.replan).collect();
        if writes.len() == 1 && !matches!(writes[0].op, Op::Check) && !writes[0].old_on_fail {
            let replan = replans[0];
            let Some(w) = writes.into_iter().next() else {
                return Ok(Ok(()));
            };
            return Ok(match self.write(w, false).await? {
                Ok(_) => Ok(()),
                Err(ConditionFailed) => Err(Cancelled {
                    reasons: vec![(Some("ConditionalCheckFailed".to_owned()), None)],
                    replan,
                }),
            });
        }
        let images: Vec<Option<Item>> = writes
            .iter()
            .map(|w| match &w.op {
                Op::Put(item) => Some(item.clone()),
                _ => None,
            })
            .collect();
        let items = writes
            .into_iter()
            .map(Write::into_transact)
            .collect::<StoreResult<Vec<_>>>()?;
        for attempt in 0..=CONFLICT_RETRIES {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let sent = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            // Cancelled transactions pay too.
            for image in &images {
                self.capacity.write(image.as_ref(), true);
            }
            let e = match sent {
                Ok(_) => return Ok(Ok(())),
                Err(e) => e,
            };
            let reasons = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
                    .cancellation_reasons()
                    .iter()
                    .map(|r| {
                        let code = r.code().filter(|c| *c != "None").map(str::to_owned);
                        (code, r.item().cloned())
                    })
                    .collect::<Vec<_>>(),
                _ if e.code() == Some("TransactionInProgressException") => continue,
                _ => return Err(sdk_error(e)),
            };
            let mut cancelled = Cancelled {
                reasons,
                replan: false,
            };
            cancelled.replan = (0..replans.len()).any(|i| replans[i] && cancelled.failed(i));
            let conflict_only = cancelled.first_failed().is_none()
                && cancelled.reasons.iter().any(|(c, _)| {
                    c.as_deref()
                        .is_some_and(|c| c == "TransactionConflict" || c == "ThrottlingError")
                });
            if conflict_only {
                continue;
            }
            if cancelled.first_failed().is_none() {
                return Err(StoreError::Backend(
                    format!(
                        "transaction cancelled: {:?}",
                        cancelled.reasons.iter().map(|r| &r.0).collect::<Vec<_>>()
                    )
                    .into(),
                ));
            }
            return Ok(Err(cancelled));
        }
        Err(StoreError::Unavailable(
            "transaction kept conflicting with others".into(),
        ))
    }

    /// Puts and deletes without conditions, many at a time (`BatchWriteItem`, 25 a
    /// call, unprocessed ones retried): for bulk loads and idempotent clean-up, never
    /// for a rule.
    pub async fn batch_write(&self, table: &str, requests: Vec<WriteRequest>) -> StoreResult<()> {
        for chunk in requests.chunks(MAX_BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                if attempt > UNPROCESSED_RETRIES {
                    return Err(StoreError::Unavailable("writes stayed throttled".into()));
                }
                if attempt > 0 {
                    backoff(attempt).await;
                }
                attempt += 1;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(table, pending.clone())
                    .send()
                    .await
                    .map_err(sdk_error)?;
                let pending_before = std::mem::take(&mut pending);
                if let Some(mut u) = out.unprocessed_items {
                    pending = u.remove(table).unwrap_or_default();
                }
                for r in pending_before.iter().skip(pending.len()) {
                    let image = r.put_request().map(|p| &p.item);
                    self.capacity.write(image, false);
                }
            }
        }
        Ok(())
    }
}

/// A put for [`Db::batch_write`] (idempotent writes only).
pub fn put_request(item: Item) -> StoreResult<WriteRequest> {
    let req = built(PutRequest::builder().set_item(Some(item)).build())?;
    Ok(WriteRequest::builder().put_request(req).build())
}

/// A delete by key for [`Db::batch_write`].
pub fn delete_request(pk: &str, sk: &str) -> StoreResult<WriteRequest> {
    let req = built(
        DeleteRequest::builder()
            .key("pk", crate::item::s(pk))
            .key("sk", crate::item::s(sk))
            .build(),
    )?;
    Ok(WriteRequest::builder().delete_request(req).build())
}

impl Db {
    /// Deletes items by key, unconditionally, each once (batched; for idempotent
    /// clean-up only, never for a rule).
    pub async fn delete_keys(&self, table: &str, keys: Vec<(String, String)>) -> StoreResult<()> {
        let mut seen = std::collections::HashSet::new();
        let requests = keys
            .iter()
            .filter(|k| seen.insert(*k))
            .map(|(pk, sk)| delete_request(pk, sk))
            .collect::<StoreResult<Vec<_>>>()?;
        if requests.is_empty() {
            return Ok(());
        }
        self.batch_write(table, requests).await
    }
}

/// Exponential backoff with full jitter: up to 25 ms × 2^attempt, capped at 1 s.
async fn backoff(attempt: u32) {
    let cap = (25u64 << attempt.min(6)).min(1000);
    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..=cap))).await;
}
