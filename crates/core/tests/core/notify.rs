//! Webhooks: subscriptions, planning from the change log, order, retries, dead letters.

use crate::fixture;
use outpost_core::notify::webhooks::DeliveryTry;
use outpost_core::notify::{sign, verify};
use outpost_core::CoreError;
use outpost_proto::{NewComment, NewWebhook, TicketStatus, UpdateTicket};
use serde_json::Value;
use std::time::Duration;

fn hook(url: &str, events: &[&str]) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        secret: None,
    }
}

fn failed() -> DeliveryTry {
    DeliveryTry {
        status: Some(503),
        response: Some("down for maintenance".into()),
        error: Some("answered 503 Service Unavailable".into()),
    }
}

fn ok() -> DeliveryTry {
    DeliveryTry {
        status: Some(200),
        ..Default::default()
    }
}

#[test]
fn signatures_verify_and_refuse_tampering_and_old_times() {
    let body = br#"{"event":"ticket.created"}"#;
    let header = sign("s3cret-s3cret-s3cret", 1_700_000_000, body);
    assert!(header.starts_with("t=1700000000,v1="));
    assert_eq!(header.len(), "t=1700000000,v1=".len() + 64);
    assert!(verify(
        "s3cret-s3cret-s3cret",
        &header,
        body,
        1_700_000_010,
        300
    ));
    assert!(!verify(
        "another-secret-here",
        &header,
        body,
        1_700_000_010,
        300
    ));
    assert!(!verify(
        "s3cret-s3cret-s3cret",
        &header,
        b"{}",
        1_700_000_010,
        300
    ));
    assert!(!verify(
        "s3cret-s3cret-s3cret",
        &header,
        body,
        1_700_001_000,
        300
    ));
    let moved = header.replace("t=1700000000", "t=1700000500");
    assert!(!verify(
        "s3cret-s3cret-s3cret",
        &moved,
        body,
        1_700_000_500,
        300
    ));
}

#[tokio::test]
async fn urls_that_cannot_receive_are_refused_in_words() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    f.core.set_own_addresses(vec![("127.0.0.1".into(), 8787)]);
    for (url, says) in [
        ("ftp://example.com/x", "http:// or https://"),
        ("example.com/hook", "https://host/path"),
        ("https://user:pw@example.com/", "user name or password"),
        (
            "http://localhost:8787/api/v1/tickets",
            "this Outpost server",
        ),
        ("http://[::1]:8787/", "this Outpost server"),
        ("https://example.com:99999/", "port"),
        ("https://ex ample.com/", "spaces"),
    ] {
        match f
            .core
            .create_webhook(&admin, hook(url, &["ticket.created"]))
            .await
        {
            Err(CoreError::Validation(m)) => assert!(m.contains(says), "{url}: {m}"),
            other => panic!("{url} was not refused: {other:?}"),
        }
    }
    let e = f
        .core
        .create_webhook(&admin, hook("https://example.com/", &["ticket.exploded"]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ticket.created"), "{e}");
    let e = f
        .core
        .create_webhook(&admin, hook("https://example.com/", &[]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("at least one event"), "{e}");
    // A receiver on this machine (another port) is fine.
    f.core
        .create_webhook(
            &admin,
            hook("http://127.0.0.1:9000/hook", &["ticket.created"]),
        )
        .await
        .unwrap();
    assert!(f.core.list_webhooks(&admin).await.unwrap().len() == 1);
}

#[tokio::test]
async fn the_secret_is_shown_once_and_a_url_is_subscribed_once() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let made = f
        .core
        .create_webhook(
            &admin,
            hook(
                "https://example.com/h",
                &["ticket.created", "ticket.created"],
            ),
        )
        .await
        .unwrap();
    let secret = made.secret.clone().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 30);
    assert_eq!(made.events, vec!["ticket.created"]);
    let listed = f.core.list_webhooks(&admin).await.unwrap();
    assert_eq!(listed[0].secret, None);
    let again = f
        .core
        .create_webhook(&admin, hook("https://example.com/h", &["comment.added"]))
        .await;
    assert!(matches!(again, Err(CoreError::Conflict(_))), "{again:?}");
    let short = f
        .core
        .create_webhook(
            &admin,
            NewWebhook {
                secret: Some("short".into()),
                ..hook("https://example.com/other", &["ticket.created"])
            },
        )
        .await;
    assert!(matches!(short, Err(CoreError::Validation(_))), "{short:?}");
}

#[tokio::test]
async fn only_admins_manage_webhooks() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let tech = f.technician(&admin).await;
    let e = f
        .core
        .create_webhook(&tech, hook("https://example.com/h", &["ticket.created"]))
        .await;
    assert!(matches!(e, Err(CoreError::Forbidden(_))), "{e:?}");
    assert!(matches!(
        f.core.list_dead_letters(&tech).await,
        Err(CoreError::Forbidden(_))
    ));
}

#[tokio::test]
async fn changes_become_events_once_for_the_subscribers_that_asked() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    // Written before any webhook existed: never sent.
    f.ticket(&admin, client, "Before").await;
    assert_eq!(f.core.plan_events().await.unwrap().deliveries, 0);

    let tickets = f
        .core
        .create_webhook(
            &admin,
            hook("https://a.example/", &["ticket.created", "ticket.updated"]),
        )
        .await
        .unwrap();
    let comments = f
        .core
        .create_webhook(&admin, hook("https://b.example/", &["comment.added"]))
        .await
        .unwrap();
    let t = f.ticket(&admin, client, "Printer offline").await;
    f.core
        .add_comment(
            &admin,
            t.id,
            NewComment {
                body: "Restarted the spooler".into(),
                // A public one would also set the first response (a ticket.updated).
                internal: Some(true),
            },
        )
        .await
        .unwrap();
    f.core
        .update_ticket(
            &admin,
            t.id,
            UpdateTicket {
                status: Some(TicketStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let round = f.core.plan_events().await.unwrap();
    assert_eq!(round.deliveries, 3, "{round:?}");
    // Planning again (a restart) adds nothing.
    assert_eq!(f.core.plan_events().await.unwrap().deliveries, 0);

    let due = f.core.due_webhook_deliveries().await.unwrap();
    assert_eq!(due.len(), 2, "one at a time per subscriber");
    let first = due.iter().find(|d| d.webhook_id == tickets.id).unwrap();
    assert_eq!(first.event, "ticket.created");
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body["event"], "ticket.created");
    assert_eq!(body["id"], first.id.to_string());
    assert_eq!(body["data"]["number"], t.number);
    assert_eq!(body["data"]["title"], "Printer offline");
    assert_eq!(body["data"]["client_id"], client.to_string());
    let c = due.iter().find(|d| d.webhook_id == comments.id).unwrap();
    let body: Value = serde_json::from_str(&c.body).unwrap();
    assert_eq!(body["data"]["body"], "Restarted the spooler");
    assert_eq!(body["data"]["ticket_id"], t.id.to_string());

    f.core
        .record_webhook_try(first.id, &ok(), Duration::from_secs(30))
        .await
        .unwrap();
    let due = f.core.due_webhook_deliveries().await.unwrap();
    let next = due.iter().find(|d| d.webhook_id == tickets.id).unwrap();
    assert_eq!(next.event, "ticket.updated");
    let body: Value = serde_json::from_str(&next.body).unwrap();
    assert_eq!(body["data"]["status"], "in_progress");
    assert!(body["data"]["changed"]
        .as_array()
        .unwrap()
        .contains(&Value::String("status".into())));
    let listed = f.core.list_webhooks(&admin).await.unwrap();
    let t_hook = listed.iter().find(|h| h.id == tickets.id).unwrap();
    assert_eq!((t_hook.delivered, t_hook.queued, t_hook.dead), (1, 1, 0));
    assert!(t_hook.last_delivered_at.is_some());
}

#[tokio::test]
async fn a_failing_delivery_is_retried_later_then_dead_and_holds_up_only_its_subscriber() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let h = f
        .core
        .create_webhook(&admin, hook("https://down.example/", &["ticket.created"]))
        .await
        .unwrap();
    let one = f.ticket(&admin, client, "One").await;
    let two = f.ticket(&admin, client, "Two").await;
    f.core.plan_events().await.unwrap();
    let base = Duration::from_secs(30);
    let first = f.core.due_webhook_deliveries().await.unwrap().remove(0);
    let number = |d: &outpost_core::notify::webhooks::DueDelivery| {
        serde_json::from_str::<Value>(&d.body).unwrap()["data"]["number"].clone()
    };
    assert_eq!(number(&first), one.number);

    // Waits 30 s, 2 min, 8 min between tries; the second ticket waits behind it.
    for (n, wait) in [(1, 30), (2, 120), (3, 480)] {
        let state = f
            .core
            .record_webhook_try(first.id, &failed(), base)
            .await
            .unwrap();
        assert_eq!(state, "queued", "after try {n}");
        assert!(f.core.due_webhook_deliveries().await.unwrap().is_empty());
        f.clock.advance(chrono::Duration::seconds(wait - 1));
        assert!(f.core.due_webhook_deliveries().await.unwrap().is_empty());
        f.clock.advance(chrono::Duration::seconds(1));
        let due = f.core.due_webhook_deliveries().await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].id, first.id);
        assert_eq!(due[0].attempts, n);
    }
    let state = f
        .core
        .record_webhook_try(first.id, &failed(), base)
        .await
        .unwrap();
    assert_eq!(state, "dead");
    let dead = f.core.list_dead_letters(&admin).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].id, first.id);
    assert_eq!(dead[0].attempts, 4);
    assert_eq!(dead[0].last_status, Some(503));
    assert_eq!(
        dead[0].last_response.as_deref(),
        Some("down for maintenance")
    );
    assert!(dead[0].last_error.as_deref().unwrap().contains("503"));
    assert_eq!(dead[0].url, h.url);

    // Now the second goes; a replay of the first goes after it.
    let due = f.core.due_webhook_deliveries().await.unwrap();
    assert_eq!(number(&due[0]), two.number);
    f.core.replay_dead_letter(&admin, first.id).await.unwrap();
    assert!(f.core.list_dead_letters(&admin).await.unwrap().is_empty());
    let due = f.core.due_webhook_deliveries().await.unwrap();
    assert_eq!(number(&due[0]), two.number, "the replay waits its turn");
    f.core
        .record_webhook_try(due[0].id, &ok(), base)
        .await
        .unwrap();
    let due = f.core.due_webhook_deliveries().await.unwrap();
    assert_eq!(due[0].id, first.id, "a replay keeps its delivery id");
    assert_eq!(due[0].attempts, 0);
    assert_eq!(
        f.core
            .record_webhook_try(due[0].id, &ok(), base)
            .await
            .unwrap(),
        "delivered"
    );
    let again = f.core.replay_dead_letter(&admin, first.id).await;
    assert!(matches!(again, Err(CoreError::Conflict(_))), "{again:?}");
    let missing = f
        .core
        .replay_dead_letter(&admin, uuid::Uuid::now_v7())
        .await;
    assert!(
        matches!(missing, Err(CoreError::NotFound(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_deleted_webhook_takes_its_queue_with_it() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let h = f
        .core
        .create_webhook(&admin, hook("https://a.example/", &["ticket.created"]))
        .await
        .unwrap();
    f.ticket(&admin, client, "One").await;
    f.core.plan_events().await.unwrap();
    let due = f.core.due_webhook_deliveries().await.unwrap();
    f.core.delete_webhook(&admin, h.id).await.unwrap();
    assert!(f.core.due_webhook_deliveries().await.unwrap().is_empty());
    // A try that was under way when it was deleted records nothing.
    assert_eq!(
        f.core
            .record_webhook_try(due[0].id, &ok(), Duration::from_secs(1))
            .await
            .unwrap(),
        "gone"
    );
    assert!(f.core.list_webhooks(&admin).await.unwrap().is_empty());
}
