use crate::fixture;
use outpost_proto::UpdateTicket;

#[tokio::test]
async fn every_write_appends_a_change_record_and_a_chained_audit_event() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f.ticket(&admin, client, "A").await;
    f.core
        .update_ticket(
            &admin,
            t.id,
            UpdateTicket {
                title: Some("B".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT op, fields, replica_id FROM changes WHERE entity = 'ticket' AND entity_id = ? ORDER BY seq",
    )
    .bind(t.id.to_string())
    .fetch_all(f.core.pool())
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, "insert");
    assert_eq!(rows[1].0, "update");
    assert_eq!(
        rows[1].1, r#"{"title":"B"}"#,
        "an update records only the changed fields"
    );
    assert_eq!(rows[0].2, f.core.replica_id().to_string());
    let audit: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT actor_name, before, after FROM audit_events WHERE entity_id = ? ORDER BY seq",
    )
    .bind(t.id.to_string())
    .fetch_all(f.core.pool())
    .await
    .unwrap();
    assert_eq!(audit[1].0, "Ada Admin");
    assert_eq!(audit[1].1.as_deref(), Some(r#"{"title":"A"}"#));
    assert_eq!(audit[1].2.as_deref(), Some(r#"{"title":"B"}"#));
    assert!(f.core.verify_audit_chain().await.unwrap() >= 4);
}

#[tokio::test]
async fn tampering_with_the_audit_log_is_detected() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    f.client(&admin, "Acme").await;
    f.client(&admin, "Globex").await;
    sqlx::query("UPDATE audit_events SET actor_name = 'mallory' WHERE seq = 2")
        .execute(f.core.pool())
        .await
        .unwrap();
    let err = f.core.verify_audit_chain().await.unwrap_err().to_string();
    assert!(err.contains("event 2"), "{err}");
}

#[tokio::test]
async fn the_store_runs_in_wal_mode_with_foreign_keys_on() {
    let f = fixture().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
}
