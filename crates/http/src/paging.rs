//! `?limit=&cursor=` in, `{items, nextCursor}` out.

use scooter_core::page::{Limit, Page};
use serde::{Deserialize, Deserializer, Serialize};

/// Paging parameters of every list route.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// Page size: default 20, at most 100 (larger is clamped).
    #[serde(default, deserialize_with = "documented_size")]
    pub limit: Option<u64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page size within what the document promises (an `int64` of at least 0): a larger
/// number is refused, not silently read, so the contract and the server agree. Read from
/// the text, so that `?limit=abc` is told what a limit is, not what Rust's parser said.
pub fn documented_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let wrong =
        || serde::de::Error::custom("limit must be a whole number (a page holds at most 100)");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(wrong());
    }
    match text.parse::<u64>() {
        Ok(n) if i64::try_from(n).is_ok() => Ok(Some(n)),
        _ => Err(serde::de::Error::custom("limit is out of range")),
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
