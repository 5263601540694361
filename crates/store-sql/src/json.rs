//! Records aggregated into JSON by the database, read with the row readers.
//!
//! A statement can return several kinds of record at once when each kind is folded into
//! a JSON array of objects (`json_group_array(json_object(…))` on SQLite,
//! `json_agg(json_build_object(…))` on PostgreSQL): one round trip instead of one per
//! kind. [`JsonRow`] gives such an object the [`Get`] interface, so the readers in
//! [`crate::rows`] read it exactly as they read a row.

use crate::Get;
use crate::rows;
use scooter_core::post::ReactionType;
use scooter_store::{PostContext, PostMedia, StoreError, StoreResult};
use serde_json::{Map, Value};

fn bad(column: &str) -> StoreError {
    StoreError::Backend(
        format!("aggregated column {column} is missing or of the wrong type").into(),
    )
}

/// One JSON object standing for a row; keys are the column names.
#[derive(Debug)]
pub struct JsonRow(pub Map<String, Value>);

impl JsonRow {
    fn value(&self, column: &str) -> &Value {
        self.0.get(column).unwrap_or(&Value::Null)
    }
}

impl Get for JsonRow {
    fn text(&self, column: &str) -> StoreResult<String> {
        self.opt_text(column)?.ok_or_else(|| bad(column))
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        match self.value(column) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(bad(column)),
        }
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        self.opt_int(column)?.ok_or_else(|| bad(column))
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        match self.value(column) {
            Value::Null => Ok(None),
            Value::Number(n) => n.as_i64().map(Some).ok_or_else(|| bad(column)),
            _ => Err(bad(column)),
        }
    }

    fn flag(&self, column: &str) -> StoreResult<bool> {
        // SQLite has no boolean type and stores flags as 0/1; PostgreSQL's are true/false.
        match self.value(column) {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => Ok(n.as_i64().ok_or_else(|| bad(column))? != 0),
            _ => Err(bad(column)),
        }
    }
}

/// Parses an aggregated column (a JSON array of objects; `NULL` or absent: empty) and
/// reads each object with `read`.
pub fn read_all<T>(
    aggregated: Option<&str>,
    read: impl Fn(&JsonRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let Some(text) = aggregated else {
        return Ok(Vec::new());
    };
    let objects: Vec<Map<String, Value>> =
        serde_json::from_str(text).map_err(|e| StoreError::Backend(Box::new(e)))?;
    objects.into_iter().map(|o| read(&JsonRow(o))).collect()
}

/// Parses one aggregated object (`NULL`: none) and reads it with `read`.
pub fn read_one<T>(
    aggregated: Option<&str>,
    read: impl Fn(&JsonRow) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    let Some(text) = aggregated else {
        return Ok(None);
    };
    let object: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| StoreError::Backend(Box::new(e)))?;
    read(&JsonRow(object)).map(Some)
}

/// The arguments of a JSON object constructor for a column list: `"users.id,
/// users.handle"` becomes `"'id', users.id, 'handle', users.handle"`, so the object's
/// keys are the names the row readers expect. Qualifiers are kept in the values and
/// dropped from the keys.
pub fn object_fields(columns: &str) -> String {
    columns
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            let key = c.rsplit('.').next().unwrap_or(c);
            format!("'{key}', {c}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The arguments of a JSON object of a user joined under the alias `alias` (the
/// columns [`rows::user`] reads), for a user beside another record in the same row,
/// whose column names would clash.
pub fn user_fields_as(alias: &str) -> String {
    object_fields(&rows::USER_COLUMNS.replace("users.", &format!("{alias}.")))
}

/// The keys of the media objects in a post context's `media` column, besides
/// [`rows::MEDIA_COLUMNS`]: the post, the media's place in it and its alt text there
/// (`pm_alt`, beside the media's own columns).
pub const POST_MEDIA_KEYS: &str =
    "'post_id', pm.post_id, 'position', pm.position, 'pm_alt', pm.alt";

/// Reads the three aggregated columns of a post context: `authors` (objects of
/// [`rows::USER_COLUMNS`]), `media` (objects of [`POST_MEDIA_KEYS`] and
/// [`rows::MEDIA_COLUMNS`]) and `mine` (objects with `post_id` and `type`).
pub fn post_context(
    authors: Option<&str>,
    media: Option<&str>,
    mine: Option<&str>,
) -> StoreResult<PostContext> {
    let mut media = read_all(media, |row| {
        Ok((
            (row.text("post_id")?, row.int("position")?),
            rows::media(row)?,
            row.opt_text("pm_alt")?,
        ))
    })?;
    media.sort_by(|a, b| a.0.cmp(&b.0));
    let my_reactions = read_all(mine, |row| {
        let kind = ReactionType::from_stored(&row.text("type")?)
            .ok_or_else(|| StoreError::Backend("stored reaction type is malformed".into()))?;
        Ok((row.text("post_id")?, kind))
    })?;
    Ok(PostContext {
        authors: read_all(authors, rows::user)?,
        media: media
            .into_iter()
            .map(|((post_id, _), media, alt)| PostMedia {
                post_id,
                media,
                alt,
            })
            .collect(),
        my_reactions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_keys_after_columns() {
        assert_eq!(
            object_fields("users.id, users.handle,n.read_at"),
            "'id', users.id, 'handle', users.handle, 'read_at', n.read_at"
        );
    }

    #[test]
    fn reads_both_dialects_flags_and_nulls() {
        let sqlite = r#"[{"key":"k","owner_id":"0199d6a4-0000-7000-8000-000000000001","purpose":"post","kind":"image","content_type":"image/jpeg","size":10,"status":"ready","width":null,"height":4,"duration_ms":null,"thumb_key":null,"error":null,"created_at":5}]"#;
        let media = read_all(Some(sqlite), rows::media).expect("reads");
        assert_eq!(media.len(), 1);
        assert_eq!(media[0].height, Some(4));
        assert_eq!(media[0].width, None);
        assert!(
            read_all(None, rows::media)
                .expect("null is empty")
                .is_empty()
        );
        let row = Map::from_iter([
            ("a".to_owned(), Value::from(1)),
            ("b".to_owned(), Value::Bool(false)),
        ]);
        let row = JsonRow(row);
        assert!(row.flag("a").expect("0/1 flag"));
        assert!(!row.flag("b").expect("bool flag"));
        assert!(row.text("a").is_err(), "a number is not text");
        assert!(row.int("missing").is_err());
        assert_eq!(row.opt_int("missing").expect("absent is null"), None);
    }
}
