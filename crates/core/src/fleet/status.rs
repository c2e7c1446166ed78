//! What consoles see of an endpoint: its status (online, last seen, latest health, the
//! inventory) and its inventory history. The gateway is the only writer; the row moves with
//! every heartbeat, but the change log (what consoles pull) carries it only when it matters:
//! a change of health or of being online, a new inventory, and every 15 minutes.

use crate::clock::from_ms;
use crate::error::CoreResult;
use crate::store::record::{ClientOf, Link, Merge, SyncedRecord};
use crate::store::{Op, WriteTx};
use outpost_proto::{EndpointHealth, HealthState};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::Row;
use uuid::Uuid;

const STATUS_FIELDS: &[&str] = &[
    "asset_id",
    "online",
    "last_seen",
    "agent_version",
    "cpu_pct",
    "memory_pct",
    "disk_pct",
    "pending_updates",
    "reboot_required",
    "health",
    "reasons",
    "clone_warning",
    "inventory",
    "inventory_at",
];

pub(crate) const ENDPOINT_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Parent {
        field: "asset_id",
        entity: "asset",
    },
    links: &[Link {
        field: "asset_id",
        entity: "asset",
        required: true,
    }],
    since: 3,
    server_only: true,
    // The row moves between publications, so a checksum would always differ.
    checked: false,
    stamps: &["created_at", "updated_at"],
    merge: &[
        ("asset_id", Merge::SetOnce),
        ("online", Merge::Latest),
        ("last_seen", Merge::Latest),
        ("agent_version", Merge::Latest),
        ("cpu_pct", Merge::Latest),
        ("memory_pct", Merge::Latest),
        ("disk_pct", Merge::Latest),
        ("pending_updates", Merge::Latest),
        ("reboot_required", Merge::Latest),
        ("health", Merge::Latest),
        ("reasons", Merge::Latest),
        ("clone_warning", Merge::Latest),
        ("inventory", Merge::Latest),
        ("inventory_at", Merge::Latest),
    ],
    ..SyncedRecord::table("endpoint", "endpoint_status", STATUS_FIELDS)
};

pub(crate) const INVENTORY_CHANGE_RECORD: SyncedRecord = SyncedRecord {
    client: ClientOf::Parent {
        field: "asset_id",
        entity: "asset",
    },
    links: &[Link {
        field: "asset_id",
        entity: "asset",
        required: true,
    }],
    since: 3,
    server_only: true,
    append_only: true,
    ..SyncedRecord::table(
        "inventory_change",
        "inventory_changes",
        &["asset_id", "at", "kind", "summary"],
    )
};

/// How often the change log carries an unchanged endpoint's health.
pub(crate) const PUBLISH_EVERY_MS: i64 = 15 * 60_000;

/// The status row of an asset, made (offline, nothing reported) when it first gets an agent.
pub(crate) async fn ensure_status(w: &mut WriteTx<'_>, asset: Uuid) -> CoreResult<()> {
    let now = w.now_ms();
    let made = sqlx::query(
        "INSERT OR IGNORE INTO endpoint_status (id, asset_id, created_at, updated_at) \
         VALUES (?1, ?1, ?2, ?2)",
    )
    .bind(asset.to_string())
    .bind(now)
    .execute(&mut *w.tx)
    .await?;
    if made.rows_affected() > 0 {
        w.record_change(
            "endpoint",
            asset,
            Op::Insert,
            json!({"asset_id": asset.to_string(), "online": 0, "health": "offline",
                   "reasons": "[]", "reboot_required": 0, "agent_version": ""}),
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn set_clone_warning(
    w: &mut WriteTx<'_>,
    asset: Uuid,
    warning: Option<&str>,
) -> CoreResult<()> {
    let current: Option<Option<String>> =
        sqlx::query_scalar("SELECT clone_warning FROM endpoint_status WHERE id = ?")
            .bind(asset.to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
    let Some(current) = current else {
        return Ok(());
    };
    if current.as_deref() == warning {
        return Ok(());
    }
    sqlx::query("UPDATE endpoint_status SET clone_warning = ?, updated_at = ? WHERE id = ?")
        .bind(warning)
        .bind(w.now_ms())
        .bind(asset.to_string())
        .execute(&mut *w.tx)
        .await?;
    w.record_change(
        "endpoint",
        asset,
        Op::Update,
        json!({ "clone_warning": warning }),
    )
    .await?;
    if let Some(text) = warning {
        w.audit(
            "endpoint.clone_suspected",
            "asset",
            asset,
            None,
            Some(json!({ "warning": text })),
        )
        .await?;
    }
    Ok(())
}

/// Puts the endpoint's current health (and, with `inventory`, its inventory) in the change
/// log for consoles.
pub(crate) async fn publish(w: &mut WriteTx<'_>, asset: Uuid, inventory: bool) -> CoreResult<()> {
    let row = sqlx::query(
        "SELECT online, last_seen, agent_version, cpu_pct, memory_pct, disk_pct, \
         pending_updates, reboot_required, health, reasons, clone_warning, inventory, \
         inventory_at FROM endpoint_status WHERE id = ?",
    )
    .bind(asset.to_string())
    .fetch_optional(&mut *w.tx)
    .await?;
    let Some(r) = row else { return Ok(()) };
    let mut fields = json!({
        "online": r.get::<i64, _>("online"),
        "last_seen": r.get::<Option<i64>, _>("last_seen"),
        "agent_version": r.get::<String, _>("agent_version"),
        "cpu_pct": r.get::<Option<f64>, _>("cpu_pct"),
        "memory_pct": r.get::<Option<f64>, _>("memory_pct"),
        "disk_pct": r.get::<Option<f64>, _>("disk_pct"),
        "pending_updates": r.get::<Option<i64>, _>("pending_updates"),
        "reboot_required": r.get::<i64, _>("reboot_required"),
        "health": r.get::<String, _>("health"),
        "reasons": r.get::<String, _>("reasons"),
    });
    if inventory {
        fields["inventory"] = r
            .get::<Option<String>, _>("inventory")
            .map(Value::String)
            .unwrap_or(Value::Null);
        fields["inventory_at"] = json!(r.get::<Option<i64>, _>("inventory_at"));
    }
    let health: String = r.get("health");
    sqlx::query("UPDATE endpoint_status SET published_at = ?, published_health = ? WHERE id = ?")
        .bind(w.now_ms())
        .bind(&health)
        .bind(asset.to_string())
        .execute(&mut *w.tx)
        .await?;
    w.record_change("endpoint", asset, Op::Update, fields).await
}

/// The health columns of the endpoint status, as read with the asset (`e.` prefix).
pub(crate) const HEALTH_COLUMNS: &str = "e.online AS e_online, e.last_seen AS e_last_seen, \
    e.agent_version AS e_agent_version, e.cpu_pct AS e_cpu, e.memory_pct AS e_memory, \
    e.disk_pct AS e_disk, e.pending_updates AS e_updates, e.reboot_required AS e_reboot, \
    e.health AS e_health, e.reasons AS e_reasons, e.clone_warning AS e_clone, \
    e.id AS e_id, (SELECT count(*) FROM alerts al WHERE al.asset_id = e.id \
    AND al.state = 'firing') AS e_alerts";

/// (online, last seen, health) of an asset row read with [`HEALTH_COLUMNS`].
pub(crate) fn health_from_row(
    r: &SqliteRow,
) -> (
    bool,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<EndpointHealth>,
) {
    if r.get::<Option<String>, _>("e_id").is_none() {
        return (false, None, None);
    }
    let online = r.get::<Option<i64>, _>("e_online").unwrap_or(0) != 0;
    let last_seen = r.get::<Option<i64>, _>("e_last_seen").map(from_ms);
    let reasons: Vec<String> = r
        .get::<Option<String>, _>("e_reasons")
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let health = EndpointHealth {
        state: r
            .get::<Option<String>, _>("e_health")
            .as_deref()
            .and_then(HealthState::parse)
            .unwrap_or(HealthState::Offline),
        reasons,
        cpu_pct: r.get("e_cpu"),
        memory_pct: r.get("e_memory"),
        disk_pct: r.get("e_disk"),
        pending_updates: r.get("e_updates"),
        reboot_required: r.get::<Option<i64>, _>("e_reboot").unwrap_or(0) != 0,
        agent_version: r
            .get::<Option<String>, _>("e_agent_version")
            .unwrap_or_default(),
        clone_warning: r.get("e_clone"),
        open_alerts: r.get::<Option<i64>, _>("e_alerts").unwrap_or(0),
    };
    (online, last_seen, Some(health))
}

/// An endpoint's health from its latest numbers, with the reasons in words. Fixed limits
/// until alert rules say otherwise per client.
pub(crate) fn judge(
    online: bool,
    cpu: Option<f64>,
    memory: Option<f64>,
    disks: &[(String, f64)],
    reboot_required: bool,
) -> (HealthState, Vec<String>) {
    if !online {
        return (
            HealthState::Offline,
            vec!["the agent is not connected".into()],
        );
    }
    let mut state = HealthState::Healthy;
    let mut reasons = Vec::new();
    let mut worse = |s: HealthState, why: String, reasons: &mut Vec<String>| {
        if s == HealthState::Critical || state == HealthState::Healthy {
            state = s;
        }
        reasons.push(why);
    };
    for (mount, used) in disks {
        // Without a mount (only the fullest disk's use is kept), the reason says so.
        let disk = if mount.is_empty() {
            "the fullest disk".to_string()
        } else {
            format!("disk {mount}")
        };
        if *used >= 95.0 {
            worse(
                HealthState::Critical,
                format!("{disk} {used:.0} % full"),
                &mut reasons,
            );
        } else if *used >= 90.0 {
            worse(
                HealthState::Warning,
                format!("{disk} {used:.0} % full"),
                &mut reasons,
            );
        }
    }
    if let Some(m) = memory.filter(|m| *m >= 90.0) {
        let s = if m >= 98.0 {
            HealthState::Critical
        } else {
            HealthState::Warning
        };
        worse(s, format!("memory {m:.0} % used"), &mut reasons);
    }
    if let Some(c) = cpu.filter(|c| *c >= 85.0) {
        worse(
            HealthState::Warning,
            format!("CPU {c:.0} % busy"),
            &mut reasons,
        );
    }
    if reboot_required {
        worse(
            HealthState::Warning,
            "a reboot is pending".into(),
            &mut reasons,
        );
    }
    (state, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_reason_decides_and_every_reason_is_named() {
        let (s, r) = judge(true, Some(10.0), Some(40.0), &[("/".into(), 50.0)], false);
        assert_eq!((s, r.len()), (HealthState::Healthy, 0));
        let (s, r) = judge(
            true,
            Some(90.0),
            Some(40.0),
            &[("/".into(), 96.0), ("/home".into(), 91.0)],
            true,
        );
        assert_eq!(s, HealthState::Critical);
        assert_eq!(r.len(), 4, "{r:?}");
        assert!(r[0].contains("disk / 96 %"), "{r:?}");
        let (s, _) = judge(true, Some(90.0), None, &[], false);
        assert_eq!(s, HealthState::Warning);
        assert_eq!(judge(false, None, None, &[], false).0, HealthState::Offline);
    }
}
