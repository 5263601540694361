//! Capacity units, computed from item sizes as DynamoDB bills them, since on DynamoDB
//! they are the bill, and the emulator's own figures are not usable (moto counts a 3 KB
//! put as 1 unit, a consistent 3 KB read as 0.5, and transactions as nothing).
//!
//! The rules (on-demand and provisioned alike): a strongly consistent read costs one
//! unit per 4 KB of item, at least one, half that when eventually consistent (index
//! reads); a query pays for the items it read, filtered or not, as one sum; a write costs
//! one unit per 1 KB, at least one, plus the same again for every index the item sits
//! in; a transaction pays every action twice; a write whose condition fails still pays.
//! Where the size of an item a write touches is not in hand (an update or a delete
//! inside a transaction), it counts as under 1 KB, the size of most items here, so the
//! figures are a close lower bound there.

use crate::item::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::atomic::{AtomicU64, Ordering};

/// Capacity units consumed since start, in thousandths (so that halves add up exactly).
#[derive(Debug, Default)]
pub struct Capacity {
    read_milli: AtomicU64,
    write_milli: AtomicU64,
}

impl Capacity {
    /// `(read units, write units)` so far.
    pub fn units(&self) -> (f64, f64) {
        (
            self.read_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            self.write_milli.load(Ordering::Relaxed) as f64 / 1000.0,
        )
    }

    /// A read of `bytes` in one request (a get, or a query's items together).
    pub(crate) fn read(&self, bytes: u64, consistent: bool) {
        let units = bytes.div_ceil(4096).max(1);
        let milli = if consistent { 1000 } else { 500 };
        self.read_milli.fetch_add(units * milli, Ordering::Relaxed);
    }

    /// A write of one item (its new image, or its old one for a delete); `None` when
    /// the item is not in hand (counted as one unit, no index).
    pub(crate) fn write(&self, item: Option<&Item>, transactional: bool) {
        let units = match item {
            Some(item) => item_size(item).div_ceil(1024).max(1) * (1 + indexes_of(item)),
            None => 1,
        };
        let factor = if transactional { 2 } else { 1 };
        self.write_milli
            .fetch_add(units * factor * 1000, Ordering::Relaxed);
    }
}

/// How many of the table's two indexes an item sits in.
fn indexes_of(item: &Item) -> u64 {
    ["gsi1pk", "gsi2pk"]
        .iter()
        .filter(|k| item.contains_key(**k))
        .count() as u64
}

/// An item's size as DynamoDB counts it: every attribute's name and value.
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, v)| name.len() as u64 + value_size(v))
        .sum()
}

fn value_size(v: &AttributeValue) -> u64 {
    match v {
        AttributeValue::S(s) => s.len() as u64,
        // Numbers take about one byte per two significant digits, plus one.
        AttributeValue::N(n) => (n.trim_start_matches('-').len() as u64).div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|x| 1 + value_size(x)).sum::<u64>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, x)| 1 + k.len() as u64 + value_size(x))
                .sum::<u64>()
        }
        AttributeValue::Ss(v) => v.iter().map(|s| s.len() as u64).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| n.len() as u64 / 2 + 1).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len() as u64).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ItemBuilder;

    #[test]
    fn reads_round_up_per_4_kb_and_index_reads_cost_half() {
        let c = Capacity::default();
        c.read(0, true);
        c.read(4096, true);
        c.read(4097, true);
        c.read(100, false);
        assert_eq!(c.units(), (1.0 + 1.0 + 2.0 + 0.5, 0.0));
    }

    #[test]
    fn writes_pay_per_kb_per_index_and_twice_in_transactions() {
        let c = Capacity::default();
        let small = ItemBuilder::key("a", "b").s("gsi1pk", "x").build();
        c.write(Some(&small), false);
        assert_eq!(c.units().1, 2.0, "the item and its one index");
        let big = ItemBuilder::key("a", "b").s("t", "x".repeat(3000)).build();
        c.write(Some(&big), true);
        assert_eq!(c.units().1, 2.0 + 3.0 * 2.0);
        c.write(None, true);
        assert_eq!(c.units().1, 8.0 + 2.0);
    }

    #[test]
    fn sizes_count_names_and_values() {
        let item = ItemBuilder::key("ab", "c")
            .n("n", 12345)
            .flag("f", true)
            .build();
        // pk+ab, sk+c, n + 3 digits-bytes+1, f + 1
        assert_eq!(item_size(&item), 2 + 2 + 2 + 1 + 1 + 4 + 1 + 1);
    }
}
