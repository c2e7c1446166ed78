//! What an operator watches: the figures `GET /metrics` exports (sessions, queues, the
//! store's size, the audit chain's length), read in one snapshot.

use crate::clock::to_ms;
use crate::error::CoreResult;
use crate::store::Core;
use std::sync::atomic::Ordering;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperatingFigures {
    pub sessions_active: i64,
    pub agents_connected: i64,
    /// Mail in the outbox, by state.
    pub outbox: Vec<(String, i64)>,
    /// Webhook deliveries, by state.
    pub webhook_deliveries: Vec<(String, i64)>,
    /// Script runs, by state.
    pub runs: Vec<(String, i64)>,
    /// The store file and its write-ahead log.
    pub database_bytes: i64,
    pub audit_events: i64,
    /// The server log's length (sync).
    pub change_log: i64,
}

impl Core {
    pub async fn operating_figures(&self) -> CoreResult<OperatingFigures> {
        let mut tx = self.pool.begin().await?;
        let by_state = |table: &str| {
            format!("SELECT state, count(*) FROM {table} GROUP BY state ORDER BY state")
        };
        let sessions_active: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sessions WHERE expires_at > ?")
                .bind(to_ms(self.now()))
                .fetch_one(&mut *tx)
                .await?;
        let outbox = sqlx::query_as(&by_state("outbox"))
            .fetch_all(&mut *tx)
            .await?;
        let webhook_deliveries = sqlx::query_as(&by_state("webhook_deliveries"))
            .fetch_all(&mut *tx)
            .await?;
        let runs = sqlx::query_as(&by_state("runs"))
            .fetch_all(&mut *tx)
            .await?;
        let pages: i64 = sqlx::query_scalar(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
        )
        .fetch_one(&mut *tx)
        .await?;
        let audit_events: i64 =
            sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM audit_events")
                .fetch_one(&mut *tx)
                .await?;
        let change_log: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM changes")
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let wal = std::fs::metadata(self.data_dir.join(format!("{}-wal", crate::store::DB_FILE)))
            .map(|m| m.len() as i64)
            .unwrap_or(0);
        Ok(OperatingFigures {
            sessions_active,
            agents_connected: self.connected_agents.load(Ordering::Relaxed),
            outbox,
            webhook_deliveries,
            runs,
            database_bytes: pages + wal,
            audit_events,
            change_log,
        })
    }
}

impl Core {
    /// SQLite's quick check of the store: `ok`, or what is wrong.
    pub async fn quick_check(&self) -> CoreResult<String> {
        Ok(sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&self.pool)
            .await?)
    }

    /// The wall time (ms) of the newest change this store's clock issued: a machine clock
    /// behind it was set back.
    pub async fn newest_write_ms(&self) -> CoreResult<Option<i64>> {
        let hlc: Option<String> =
            sqlx::query_scalar("SELECT last_hlc FROM replica WHERE singleton = 1")
                .fetch_optional(&self.pool)
                .await?;
        Ok(hlc
            .as_deref()
            .and_then(|h| h.split('-').next())
            .and_then(|w| w.parse::<i64>().ok())
            .filter(|&w| w > 0))
    }
}
