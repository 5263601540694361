//! One write to one item, usable alone (PutItem, UpdateItem, DeleteItem) or as one
//! action of a `TransactWriteItems`.
//!
//! Attribute names in expressions are always written `#name`: every `#word` in an
//! expression is mapped to the attribute `word`, so reserved words (`text`, `key`,
//! `status`, `size`, `ttl`, …) never need thinking about. Values are `:word`, given
//! with [`Write::value`].

use crate::db::built;
use crate::item::{Item, s};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update,
};
use scooter_store::StoreResult;
use std::collections::HashMap;

/// What the write does.
#[derive(Debug, Clone)]
pub enum Op {
    /// Replace (or create) the whole item.
    Put(Item),
    /// An update expression (`SET #a = :a ADD #n :one REMOVE #b`).
    Update(String),
    /// Remove the item.
    Delete,
    /// Change nothing; only the condition must hold (transactions only).
    Check,
}

/// One write, with its optional condition.
#[derive(Debug, Clone)]
pub struct Write {
    /// Table name.
    pub table: String,
    /// `pk` and `sk`.
    pub key: Item,
    /// What to do.
    pub op: Op,
    /// The condition expression, if any.
    pub cond: Option<String>,
    /// `:value` placeholders.
    pub values: Item,
    /// In a transaction: return the item as it was when the condition failed.
    pub old_on_fail: bool,
    /// A failed condition here means a read the plan was made from is stale (a dedupe
    /// marker appeared meanwhile): read again, plan again, try again.
    pub replan: bool,
}

/// Every `#word` placeholder in the expressions, mapped to `word`.
pub fn names_in<'a>(exprs: impl IntoIterator<Item = &'a str>) -> Option<HashMap<String, String>> {
    let mut names = HashMap::new();
    for e in exprs {
        let bytes = e.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'#' {
                let start = i + 1;
                let mut end = start;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                if end > start {
                    names.insert(e[i..end].to_owned(), e[start..end].to_owned());
                }
                i = end;
            } else {
                i += 1;
            }
        }
    }
    (!names.is_empty()).then_some(names)
}

fn key_of(pk: &str, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

impl Write {
    fn new(table: &str, key: Item, op: Op) -> Self {
        Self {
            table: table.to_owned(),
            key,
            op,
            cond: None,
            values: Item::new(),
            old_on_fail: false,
            replan: false,
        }
    }

    /// Puts `item` (which holds its `pk` and `sk`).
    pub fn put(table: &str, item: Item) -> Self {
        let key = item
            .iter()
            .filter(|(k, _)| k.as_str() == "pk" || k.as_str() == "sk")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Self::new(table, key, Op::Put(item))
    }

    /// Puts `item` unless an item with its key exists.
    pub fn put_new(table: &str, item: Item) -> Self {
        Self::put(table, item).cond("attribute_not_exists(pk)")
    }

    /// Updates one item with an update expression.
    pub fn update(table: &str, pk: &str, sk: &str, expr: impl Into<String>) -> Self {
        Self::new(table, key_of(pk, sk), Op::Update(expr.into()))
    }

    /// Deletes one item.
    pub fn delete(table: &str, pk: &str, sk: &str) -> Self {
        Self::new(table, key_of(pk, sk), Op::Delete)
    }

    /// Checks a condition on one item without writing it.
    pub fn check(table: &str, pk: &str, sk: &str, cond: impl Into<String>) -> Self {
        Self::new(table, key_of(pk, sk), Op::Check).cond(cond)
    }

    /// Sets the condition (replacing any earlier one).
    pub fn cond(mut self, cond: impl Into<String>) -> Self {
        self.cond = Some(cond.into());
        self
    }

    /// Binds a `:name` placeholder.
    pub fn value(mut self, name: &str, v: AttributeValue) -> Self {
        self.values.insert(name.to_owned(), v);
        self
    }

    /// Asks a transaction to return the item as it stood when this condition failed.
    pub fn old_on_fail(mut self) -> Self {
        self.old_on_fail = true;
        self
    }

    /// Marks a condition whose failure means "plan again" (see [`Write::replan`]).
    pub fn replan_on_fail(mut self) -> Self {
        self.replan = true;
        self
    }

    /// The `pk` of the item written.
    pub fn pk(&self) -> Option<&str> {
        match self.key.get("pk") {
            Some(AttributeValue::S(v)) => Some(v),
            _ => None,
        }
    }

    /// The `#name` map of this write's expressions.
    pub fn names(&self) -> Option<HashMap<String, String>> {
        let update = match &self.op {
            Op::Update(e) => Some(e.as_str()),
            _ => None,
        };
        names_in(update.into_iter().chain(self.cond.as_deref()))
    }

    fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// As one action of a transaction.
    pub fn into_transact(self) -> StoreResult<TransactWriteItem> {
        let names = self.names();
        let values = self.values();
        let on_fail = self
            .old_on_fail
            .then_some(ReturnValuesOnConditionCheckFailure::AllOld);
        let item = match self.op {
            Op::Put(item) => TransactWriteItem::builder().put(built(
                Put::builder()
                    .table_name(self.table)
                    .set_item(Some(item))
                    .set_condition_expression(self.cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(on_fail)
                    .build(),
            )?),
            Op::Update(expr) => TransactWriteItem::builder().update(built(
                Update::builder()
                    .table_name(self.table)
                    .set_key(Some(self.key))
                    .update_expression(expr)
                    .set_condition_expression(self.cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(on_fail)
                    .build(),
            )?),
            Op::Delete => TransactWriteItem::builder().delete(built(
                Delete::builder()
                    .table_name(self.table)
                    .set_key(Some(self.key))
                    .set_condition_expression(self.cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(on_fail)
                    .build(),
            )?),
            Op::Check => TransactWriteItem::builder().condition_check(built(
                ConditionCheck::builder()
                    .table_name(self.table)
                    .set_key(Some(self.key))
                    .condition_expression(self.cond.unwrap_or_default())
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .set_return_values_on_condition_check_failure(on_fail)
                    .build(),
            )?),
        };
        Ok(item.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hash_word_becomes_a_name() {
        let names =
            names_in(["SET #text = :t, #a_b = :x", "attribute_exists(#pk)"]).unwrap_or_default();
        assert_eq!(names.get("#text").map(String::as_str), Some("text"));
        assert_eq!(names.get("#a_b").map(String::as_str), Some("a_b"));
        assert_eq!(names.get("#pk").map(String::as_str), Some("pk"));
        assert_eq!(names.len(), 3);
        assert!(names_in(["SET a = :a"]).is_none());
    }
}
