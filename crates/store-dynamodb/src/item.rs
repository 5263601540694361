//! Items as attribute maps: building them, reading them with the record readers the SQL
//! backends share (`scooter_store_sql::rows`, through [`Rec`]), and the value encodings
//! keys rely on.
//!
//! Record attributes carry the SQL column names (`author_id`, `created_at`, …), so one
//! reader per record serves every backend. Absent attributes are SQL's `NULL`.

use aws_sdk_dynamodb::types::AttributeValue;
use scooter_store::{StoreError, StoreResult};
use scooter_store_sql::Get;
use std::collections::HashMap;

/// One item, as the SDK hands it over.
pub type Item = HashMap<String, AttributeValue>;

/// A string value.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number value.
pub fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A boolean value.
pub fn flag(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

/// A list of strings (ordered, unlike a string set, and allowed to be empty).
pub fn list(v: &[String]) -> AttributeValue {
    AttributeValue::L(v.iter().map(|x| s(x.clone())).collect())
}

/// A time in a sort key: milliseconds, zero-padded to 13 digits so that string order is
/// time order (until the year 2286).
pub fn ts13(ms: i64) -> String {
    format!("{:013}", ms.max(0))
}

/// Epoch seconds for the `ttl` attribute (DynamoDB's TTL reads seconds, not millis).
pub fn ttl_at(ms: i64) -> AttributeValue {
    n(ms.div_euclid(1000))
}

/// Builds an item attribute by attribute; `None` values are left out.
#[derive(Debug, Default, Clone)]
pub struct ItemBuilder(Item);

impl ItemBuilder {
    /// An item with its table keys.
    pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        let mut item = Item::new();
        item.insert("pk".into(), s(pk));
        item.insert("sk".into(), s(sk));
        Self(item)
    }

    /// Any value.
    pub fn set(mut self, name: &str, v: AttributeValue) -> Self {
        self.0.insert(name.to_owned(), v);
        self
    }

    /// A string attribute.
    pub fn s(self, name: &str, v: impl Into<String>) -> Self {
        self.set(name, s(v))
    }

    /// A string attribute, left out when `None`.
    pub fn opt_s<V: Into<String>>(self, name: &str, v: Option<V>) -> Self {
        match v {
            Some(v) => self.s(name, v),
            None => self,
        }
    }

    /// A number attribute.
    pub fn n(self, name: &str, v: i64) -> Self {
        self.set(name, n(v))
    }

    /// A number attribute, left out when `None`.
    pub fn opt_n(self, name: &str, v: Option<i64>) -> Self {
        match v {
            Some(v) => self.n(name, v),
            None => self,
        }
    }

    /// A boolean attribute.
    pub fn flag(self, name: &str, v: bool) -> Self {
        self.set(name, flag(v))
    }

    /// The item.
    pub fn build(self) -> Item {
        self.0
    }
}

fn bad(what: &str) -> StoreError {
    StoreError::Backend(format!("stored attribute {what} is missing or malformed").into())
}

/// The string attribute `name`, if present.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

/// The number attribute `name`, if present and an integer.
pub fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// The boolean attribute `name`, if present.
pub fn get_flag(item: &Item, name: &str) -> Option<bool> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Some(*v),
        _ => None,
    }
}

/// The list-of-strings attribute `name` (empty when absent).
pub fn get_list(item: &Item, name: &str) -> Vec<String> {
    match item.get(name) {
        Some(AttributeValue::L(v)) => v
            .iter()
            .filter_map(|x| match x {
                AttributeValue::S(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The string attribute `name`, which must be there.
pub fn req_s(item: &Item, name: &str) -> StoreResult<String> {
    get_s(item, name)
        .map(str::to_owned)
        .ok_or_else(|| bad(name))
}

/// `(pk, sk)` of an item.
pub fn key_of(item: &Item) -> Option<(String, String)> {
    Some((get_s(item, "pk")?.to_owned(), get_s(item, "sk")?.to_owned()))
}

/// The keys (`pk`, `sk`) of these items.
pub fn keys_of(items: &[Item]) -> Vec<(String, String)> {
    items.iter().filter_map(key_of).collect()
}

/// An item read through the shared record readers: `rows::user(&Rec(&item))`.
#[derive(Debug, Clone, Copy)]
pub struct Rec<'a>(pub &'a Item);

impl Get for Rec<'_> {
    fn text(&self, column: &str) -> StoreResult<String> {
        req_s(self.0, column)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        match self.0.get(column) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.clone())),
            Some(_) => Err(bad(column)),
        }
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        get_n(self.0, column).ok_or_else(|| bad(column))
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        match self.0.get(column) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v.parse().map(Some).map_err(|_| bad(column)),
            Some(_) => Err(bad(column)),
        }
    }

    fn flag(&self, column: &str) -> StoreResult<bool> {
        get_flag(self.0, column).ok_or_else(|| bad(column))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ts13_sorts_as_time() {
        assert!(ts13(999) < ts13(1000));
        assert_eq!(ts13(1_700_000_000_000).len(), 13);
    }

    #[test]
    fn records_read_absent_attributes_as_null() {
        let item = ItemBuilder::key("a", "b").s("x", "1").n("y", 2).build();
        let r = Rec(&item);
        assert_eq!(r.opt_text("z").ok(), Some(None));
        assert_eq!(r.int("y").ok(), Some(2));
        assert!(r.int("x").is_err());
    }
}
