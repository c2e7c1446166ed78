//! The audit view's filters and pages, and the chain's proof naming the first broken link.

use crate::fixture;
use chrono::Duration;
use outpost_core::clock::Clock;
use outpost_proto::{AuditQuery, NewComment, UpdateTicket};

#[tokio::test]
async fn admins_filter_the_audit_log_by_who_what_client_record_and_time() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let tess = f.technician(&admin).await;
    let acme = f.client(&admin, "Acme").await;
    let globex = f.client(&admin, "Globex").await;
    f.clock.advance(Duration::minutes(5));
    let start = f.clock.now();
    let a = f.ticket(&tess, acme, "Acme printer").await;
    let g = f.ticket(&tess, globex, "Globex mail").await;
    let comment = f
        .core
        .add_comment(
            &tess,
            a.id,
            NewComment {
                body: "Replaced the toner".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    f.clock.advance(Duration::minutes(5));
    let middle = f.clock.now();
    f.core
        .update_ticket(
            &admin,
            g.id,
            UpdateTicket {
                title: Some("Globex mail bounces".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let list = |q: AuditQuery| {
        let (core, admin) = (&f.core, admin.clone());
        async move { core.list_audit(&admin, &q).await.unwrap() }
    };

    let everything = list(AuditQuery::default()).await;
    let seqs: Vec<i64> = everything.items.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seqs:?}"
    );
    assert_eq!(everything.next_before_seq, None);

    // Who: Tess made two tickets and a comment.
    let by_tess = list(AuditQuery {
        actor_id: tess.user_id,
        ..Default::default()
    })
    .await;
    let actions: Vec<&str> = by_tess.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["comment.create", "ticket.create", "ticket.create"]
    );
    assert!(by_tess.items.iter().all(|e| e.actor_name == "Tess Tech"));

    // What: one action, or a kind with a trailing dot.
    let edits = list(AuditQuery {
        action: Some("ticket.update".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(edits.items.len(), 1);
    assert_eq!(edits.items[0].entity_id, g.id);
    assert_eq!(
        edits.items[0].before.as_ref().unwrap()["title"],
        "Globex mail"
    );
    assert_eq!(
        edits.items[0].after.as_ref().unwrap()["title"],
        "Globex mail bounces"
    );
    let tickets = list(AuditQuery {
        action: Some("ticket.".into()),
        ..Default::default()
    })
    .await;
    assert!(tickets
        .items
        .iter()
        .all(|e| e.action.starts_with("ticket.")));
    assert_eq!(tickets.items.len(), 3);

    // Client: Acme itself, its ticket and the comment on it; nothing of Globex.
    let of_acme = list(AuditQuery {
        client_id: Some(acme),
        ..Default::default()
    })
    .await;
    let ids: Vec<uuid::Uuid> = of_acme.items.iter().map(|e| e.entity_id).collect();
    assert!(
        ids.contains(&acme) && ids.contains(&a.id) && ids.contains(&comment.id),
        "{ids:?}"
    );
    assert!(!ids.contains(&g.id) && !ids.contains(&globex));

    // Record and time.
    let of_g = list(AuditQuery {
        entity_id: Some(g.id),
        ..Default::default()
    })
    .await;
    assert_eq!(of_g.items.len(), 2);
    let early = list(AuditQuery {
        from: Some(start),
        to: Some(middle),
        ..Default::default()
    })
    .await;
    assert_eq!(early.items.len(), 3, "the two tickets and the comment");

    // Pages: two at a time until the end, each event once.
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = list(AuditQuery {
            limit: Some(2),
            before_seq: before,
            ..Default::default()
        })
        .await;
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|e| e.seq));
        match page.next_before_seq {
            Some(b) => before = Some(b),
            None => break,
        }
    }
    assert_eq!(seen, seqs);

    // Refusals in words.
    let e = f
        .core
        .list_audit(&tess, &AuditQuery::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    for (q, words) in [
        (
            AuditQuery {
                limit: Some(0),
                ..Default::default()
            },
            "limit must be between 1 and 500",
        ),
        (
            AuditQuery {
                from: Some(middle),
                to: Some(start),
                ..Default::default()
            },
            "'to' must be after 'from'",
        ),
        (
            AuditQuery {
                action: Some("x".repeat(101)),
                ..Default::default()
            },
            "at most 100",
        ),
    ] {
        let e = f.core.list_audit(&admin, &q).await.unwrap_err();
        assert!(e.to_string().contains(words), "{e}");
    }
}

async fn five_events() -> (crate::Fixture, outpost_core::Actor) {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    for name in ["Acme", "Globex", "Initech", "Umbrella"] {
        f.client(&admin, name).await;
    }
    (f, admin)
}

async fn sql(f: &crate::Fixture, statement: &str) {
    sqlx::query(statement).execute(f.core.pool()).await.unwrap();
}

#[tokio::test]
async fn an_intact_chain_verifies_to_its_head() {
    let (f, admin) = five_events().await;
    let v = f.core.verify_audit(&admin).await.unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_events")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    let (seq, hash): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
            .fetch_one(f.core.pool())
            .await
            .unwrap();
    assert!(v.intact && v.broken.is_none());
    assert_eq!(
        (v.events, v.head_seq, v.head_hash),
        (count, Some(seq), Some(hash))
    );
}

#[tokio::test]
async fn an_edited_event_is_named() {
    let (f, admin) = five_events().await;
    sql(
        &f,
        "UPDATE audit_events SET after = '{\"name\":\"Evil Corp\"}' WHERE seq = 3",
    )
    .await;
    let v = f.core.verify_audit(&admin).await.unwrap();
    let b = v.broken.expect("broken");
    assert!(!v.intact);
    assert_eq!((b.seq, v.events), (3, 2), "two events before it verify");
    assert_eq!(b.reason, "its content was changed after it was written");
    assert_eq!(b.action, "client.create");
    assert_eq!(v.head_seq, Some(2));
}

#[tokio::test]
async fn a_deleted_event_in_the_middle_is_named() {
    let (f, admin) = five_events().await;
    sql(&f, "DELETE FROM audit_events WHERE seq = 3").await;
    let b = f.core.verify_audit(&admin).await.unwrap().broken.unwrap();
    assert_eq!(b.seq, 4);
    assert_eq!(b.reason, "event 3 before it is missing");
}

#[tokio::test]
async fn deleting_the_newest_events_is_noticed() {
    let (f, admin) = five_events().await;
    sql(&f, "DELETE FROM audit_events WHERE seq >= 4").await;
    let v = f.core.verify_audit(&admin).await.unwrap();
    let b = v.broken.unwrap();
    assert_eq!(b.seq, 4);
    assert_eq!(b.reason, "the newest events (4 to 5) were deleted");
    assert_eq!(v.events, 3);
}

#[tokio::test]
async fn a_chain_rehashed_after_an_edit_is_still_caught_where_it_was_relinked() {
    let (f, admin) = five_events().await;
    // Someone rewrote event 3's prev_hash to a hash of their own making.
    sql(
        &f,
        "UPDATE audit_events SET prev_hash = 'aaaa' WHERE seq = 3",
    )
    .await;
    let b = f.core.verify_audit(&admin).await.unwrap().broken.unwrap();
    assert_eq!(b.seq, 3);
    assert_eq!(
        b.reason,
        "it does not follow event 2: the chain was re-linked"
    );
    let tess = f.technician(&admin).await;
    assert_eq!(
        f.core.verify_audit(&tess).await.unwrap_err().code(),
        "forbidden"
    );
}
