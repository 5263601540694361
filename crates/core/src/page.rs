//! Keyset paging. A page request is a clamped limit plus an optional position after
//! which to continue; positions travel to clients as opaque cursors (base64url JSON),
//! so nothing about the key's shape becomes a promise to the app.

use crate::ValidationError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Page size when the client names none.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page size; larger requests are clamped, not refused.
pub const MAX_LIMIT: u32 = 100;
/// Longest cursor we will try to decode.
const MAX_CURSOR_LEN: usize = 512;

/// A clamped page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

impl Limit {
    /// Clamps a requested size into `1..=MAX_LIMIT`; `None` gives the default.
    pub fn clamp(requested: Option<u32>) -> Self {
        Self(requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT))
    }

    /// The size.
    pub fn get(self) -> u32 {
        self.0
    }

    /// How many rows to ask a store for: one more than the page, to learn whether
    /// another page follows without a second query.
    pub fn fetch(self) -> u32 {
        self.0 + 1
    }
}

/// Encodes a keyset position as an opaque cursor.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    // Serialising plain keys (strings, numbers, tuples) cannot fail.
    let json = serde_json::to_vec(key).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor made by [`encode_cursor`]; any tampering is a validation error.
pub fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, ValidationError> {
    let err = || ValidationError::new("cursor", "cursor is not valid; start again without one");
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(err());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| err())?;
    // A key never holds NUL (and some databases refuse it): such a cursor is forged.
    if bytes.windows(6).any(|w| w == br"\u0000") {
        return Err(err());
    }
    serde_json::from_slice(&bytes).map_err(|_| err())
}

/// One page of items and, when more follow, the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in order: the extra row, if
    /// present, only proves that another page exists and is dropped.
    pub fn from_rows<K: Serialize>(mut rows: Vec<T>, limit: Limit, key: impl Fn(&T) -> K) -> Self {
        let more = rows.len() > limit.get() as usize;
        rows.truncate(limit.get() as usize);
        let next_cursor = if more {
            rows.last().map(|last| encode_cursor(&key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    /// Maps the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_clamped_not_refused() {
        assert_eq!(Limit::clamp(None).get(), 20);
        assert_eq!(Limit::clamp(Some(0)).get(), 1);
        assert_eq!(Limit::clamp(Some(1000)).get(), 100);
    }

    #[test]
    fn cursors_round_trip_and_tampering_is_refused() {
        let c = encode_cursor(&(2u8, "abc".to_owned()));
        assert_eq!(decode_cursor::<(u8, String)>(&c), Ok((2, "abc".to_owned())));
        assert!(decode_cursor::<(u8, String)>("not-base64!").is_err());
        assert!(decode_cursor::<(u8, String)>(&encode_cursor(&"x")).is_err());
    }

    #[test]
    fn a_page_has_a_cursor_only_when_more_rows_exist() {
        let full = Page::from_rows(vec![1, 2, 3], Limit::clamp(Some(2)), |n| *n);
        assert_eq!(full.items, vec![1, 2]);
        assert_eq!(
            full.next_cursor.as_deref().map(decode_cursor::<i32>),
            Some(Ok(2))
        );
        let last = Page::from_rows(vec![1, 2], Limit::clamp(Some(2)), |n| *n);
        assert_eq!(last.next_cursor, None);
    }
}
