//! `?limit=&cursor=` in, `{items, nextCursor}` out.

use scooter_core::page::{Limit, Page};
use serde::{Deserialize, Deserializer, Serialize};

/// Paging parameters of every list route.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size: default 20, at most 100 (larger is clamped).
    #[serde(default, deserialize_with = "documented_size")]
    pub limit: Option<u64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page size within what the document promises (an `int64` of at least 0): a larger
/// number is refused, not silently read, so the contract and the server agree.
pub fn documented_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<u64>::deserialize(d)? {
        Some(n) if i64::try_from(n).is_err() => {
            Err(serde::de::Error::custom("limit is out of range"))
        }
        other => Ok(other),
    }
}

impl PageQuery {
    /// The clamped page size.
    pub fn limit(&self) -> Limit {
        Limit::clamp(self.limit.map(|l| u32::try_from(l).unwrap_or(u32::MAX)))
    }
}

/// One page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Paged<T> {
    /// The items in list order.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Paged<T> {
    /// Converts a domain page, mapping each item to its response type.
    pub fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let page = page.map(f);
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}
