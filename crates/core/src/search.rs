//! User search terms, computed once here so every backend indexes the same words.
//! A user is found by a prefix of their handle or of any word of their display name.

use crate::ValidationError;

/// Kind of a term: the handle.
pub const KIND_HANDLE: u8 = 1;
/// Kind of a term: a display-name word.
pub const KIND_NAME_WORD: u8 = 2;
/// Rank of an exact handle match, before every prefix match.
pub const RANK_EXACT_HANDLE: u8 = 0;
/// Display-name words indexed per user, to bound the index.
const MAX_NAME_WORDS: usize = 10;
/// Longest query.
const MAX_QUERY_CHARS: usize = 50;

/// The terms to index for a user: `(term, kind)`, lower case, without duplicates.
pub fn index_terms(handle_lower: Option<&str>, display_name: Option<&str>) -> Vec<(String, u8)> {
    let mut terms: Vec<(String, u8)> = Vec::new();
    if let Some(h) = handle_lower {
        terms.push((h.to_owned(), KIND_HANDLE));
    }
    let words = display_name
        .unwrap_or_default()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase);
    for w in words.take(MAX_NAME_WORDS) {
        if !terms.iter().any(|(t, k)| *t == w && *k == KIND_NAME_WORD) {
            terms.push((w, KIND_NAME_WORD));
        }
    }
    terms
}

/// Normalises a search query: trimmed, lower case, one leading `@` dropped, 1–50
/// characters.
pub fn normalize_query(q: &str) -> Result<String, ValidationError> {
    let s = q.trim();
    let s = s.strip_prefix('@').unwrap_or(s).trim().to_lowercase();
    let n = s.chars().count();
    if n == 0 || n > MAX_QUERY_CHARS || s.chars().any(char::is_control) {
        return Err(ValidationError::new("q", "q must be 1-50 characters"));
    }
    Ok(s)
}

/// The smallest string above every string that starts with `prefix`, for range scans
/// (`term >= prefix AND term < upper`): U+10FFFF is the largest scalar value, so in
/// byte order nothing that starts with `prefix` sorts after `prefix` + U+10FFFF.
pub fn prefix_upper_bound(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_and_each_name_word_are_indexed_once() {
        let t = index_terms(Some("sam_rides"), Some("Sam  Sam O'Brien"));
        assert_eq!(
            t,
            vec![
                ("sam_rides".into(), KIND_HANDLE),
                ("sam".into(), KIND_NAME_WORD),
                ("o".into(), KIND_NAME_WORD),
                ("brien".into(), KIND_NAME_WORD),
            ]
        );
    }

    #[test]
    fn queries_are_normalised_and_bounded() {
        assert_eq!(normalize_query(" @Sam "), Ok("sam".into()));
        assert!(normalize_query("  ").is_err());
        assert!(normalize_query(&"x".repeat(51)).is_err());
    }

    #[test]
    fn the_upper_bound_sorts_after_every_extension() {
        let up = prefix_upper_bound("sa");
        for s in ["sa", "sam", "sazzz", "sa\u{FFFF}"] {
            assert!(s < up.as_str());
        }
        assert!("sb" > up.as_str());
    }
}
