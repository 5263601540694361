//! The seven tables, one per service, and creating the missing ones at start (the
//! DynamoDB counterpart of migrations).
//!
//! Every table has the same shape: string keys `pk`/`sk`, two overloaded global
//! secondary indexes `gsi1` (`gsi1pk`/`gsi1sk`) and `gsi2` (`gsi2pk`/`gsi2sk`) that
//! project whole items, on-demand billing, and TTL on the `ttl` attribute (a backstop:
//! reads never trust it, since TTL deletes up to days late). The jobs table also has a
//! stream of new images, so that on Lambda a job can start its worker.

use crate::db::built;
use crate::db::{Db, sdk_error};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification,
};
use scooter_store::{StoreError, StoreResult};
use std::time::Duration;

/// The names of the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    /// Profiles, handles, accounts, sessions, invites, search terms, idempotency keys.
    pub users: String,
    /// Follows, blocks, reports.
    pub social: String,
    /// Posts, comments, reactions, timelines.
    pub posts: String,
    /// Notifications and push devices.
    pub notifications: String,
    /// Uploads.
    pub media: String,
    /// Scoops and their views.
    pub scoops: String,
    /// The job outbox.
    pub jobs: String,
}

impl Tables {
    /// `{prefix}users`, `{prefix}social`, ….
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            users: format!("{prefix}users"),
            social: format!("{prefix}social"),
            posts: format!("{prefix}posts"),
            notifications: format!("{prefix}notifications"),
            media: format!("{prefix}media"),
            scoops: format!("{prefix}scoops"),
            jobs: format!("{prefix}jobs"),
        }
    }

    /// Every table, with whether it carries the job stream.
    pub fn all(&self) -> [(&str, bool); 7] {
        [
            (&self.users, false),
            (&self.social, false),
            (&self.posts, false),
            (&self.notifications, false),
            (&self.media, false),
            (&self.scoops, false),
            (&self.jobs, true),
        ]
    }
}

fn key(name: &str, kind: KeyType) -> StoreResult<KeySchemaElement> {
    built(
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build(),
    )
}

fn attr(name: &str) -> StoreResult<AttributeDefinition> {
    built(
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build(),
    )
}

fn gsi(n: u8) -> StoreResult<GlobalSecondaryIndex> {
    built(
        GlobalSecondaryIndex::builder()
            .index_name(format!("gsi{n}"))
            .key_schema(key(&format!("gsi{n}pk"), KeyType::Hash)?)
            .key_schema(key(&format!("gsi{n}sk"), KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build(),
    )
}

async fn exists(db: &Db, table: &str) -> StoreResult<Option<TableStatus>> {
    match db.client().describe_table().table_name(table).send().await {
        Ok(out) => Ok(Some(
            out.table
                .and_then(|t| t.table_status)
                .unwrap_or(TableStatus::Active),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(sdk_error(e)),
    }
}

/// Creates the tables that do not exist yet and waits until all are active. Tables
/// that exist are left as they are (a deployment's template owns its tables).
pub async fn ensure(db: &Db, tables: &Tables) -> StoreResult<()> {
    for (table, stream) in tables.all() {
        if exists(db, table).await?.is_some() {
            continue;
        }
        let mut create = db
            .client()
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi(1)?)
            .global_secondary_indexes(gsi(2)?);
        for a in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
            create = create.attribute_definitions(attr(a)?);
        }
        if stream {
            create = create.stream_specification(built(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewImage)
                    .build(),
            )?);
        }
        match create.send().await {
            Ok(_) => {}
            // Another process (a second service starting) created it first.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(sdk_error(e)),
        }
        wait_active(db, table).await?;
        db.client()
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(built(
                TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build(),
            )?)
            .send()
            .await
            .map_err(sdk_error)?;
        tracing::info!(table, "created DynamoDB table");
    }
    for (table, _) in tables.all() {
        wait_active(db, table).await?;
    }
    Ok(())
}

async fn wait_active(db: &Db, table: &str) -> StoreResult<()> {
    for _ in 0..600 {
        match exists(db, table).await? {
            Some(TableStatus::Active) => return Ok(()),
            Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            None => {
                return Err(StoreError::Backend(
                    format!("table {table} does not exist (DYNAMODB_CREATE_TABLES=false?)").into(),
                ));
            }
        }
    }
    Err(StoreError::Unavailable(
        format!("table {table} did not become active").into(),
    ))
}
