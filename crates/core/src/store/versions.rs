//! Versions of record fields (`hlc/change_id`), as every store keeps them beside its rows:
//! what the change log, the sync engine and the domains' own writes compare.

use crate::clock::Hlc;
use crate::error::CoreResult;
use serde_json::{Map, Value};
use sqlx::{Sqlite, Transaction};
use std::str::FromStr;
use uuid::Uuid;

/// The version of a field value: the writing change's HLC, then its id. The id breaks ties
/// between equal readings (a clock state restored from a backup can issue a reading twice),
/// so every replica orders any two writes the same way.
pub fn clock_key(hlc: &str, change_id: Uuid) -> String {
    format!("{hlc}/{change_id}")
}

/// The HLC part of a clock key.
pub(crate) fn key_hlc(key: &str) -> Option<Hlc> {
    key.split('/').next().and_then(|h| Hlc::from_str(h).ok())
}

pub(crate) type Clocks = Map<String, Value>;

/// Versions as stored: grouped by version, `{"hlc/change": ["title", "status", …]}`, since
/// most fields of a record share the version of its creation (a tenth of the bytes of one
/// entry per field, on every record of the store).
pub(crate) fn encode_clocks(clocks: &Clocks) -> String {
    let mut grouped: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (field, version) in clocks {
        if let Some(v) = version.as_str() {
            grouped.entry(v).or_default().push(field);
        }
    }
    serde_json::to_string(&grouped).unwrap_or_else(|_| "{}".into())
}

/// Reads stored versions, grouped (see [`encode_clocks`]) or one entry per field (stores
/// written before grouping).
pub(crate) fn decode_clocks(text: &str) -> Clocks {
    let Ok(Value::Object(stored)) = serde_json::from_str::<Value>(text) else {
        return Clocks::default();
    };
    let mut clocks = Clocks::new();
    for (key, value) in stored {
        match value {
            Value::Array(fields) => {
                for f in fields.iter().filter_map(Value::as_str) {
                    clocks.insert(f.to_string(), Value::String(key.clone()));
                }
            }
            Value::String(version) => {
                clocks.insert(key, Value::String(version));
            }
            _ => {}
        }
    }
    clocks
}

/// The versions of a record's fields (empty for a record never written here).
pub(crate) async fn load_clocks(
    tx: &mut Transaction<'static, Sqlite>,
    entity: &str,
    id: &str,
) -> CoreResult<Clocks> {
    let json: Option<String> =
        sqlx::query_scalar("SELECT clocks FROM record_clocks WHERE entity = ? AND entity_id = ?")
            .bind(entity)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(json.map(|j| decode_clocks(&j)).unwrap_or_default())
}

pub(crate) async fn store_clocks(
    tx: &mut Transaction<'static, Sqlite>,
    entity: &str,
    id: &str,
    clocks: &Clocks,
) -> CoreResult<()> {
    sqlx::query(
        "INSERT INTO record_clocks (entity, entity_id, clocks) VALUES (?, ?, ?) \
         ON CONFLICT(entity, entity_id) DO UPDATE SET clocks = excluded.clocks",
    )
    .bind(entity)
    .bind(id)
    .bind(encode_clocks(clocks))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
