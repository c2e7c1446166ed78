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

// ---------------------------------------------------------------- mail out

mod mail {
    use crate::fixture;
    use outpost_core::notify::mail::{mail_retry_delay, MailOutcome};
    use outpost_core::notify::vault;
    use outpost_core::CoreError;
    use outpost_proto::{
        MailStep, MailTemplateKind, NewTicket, OutboxQuery, OutboxState, PreviewMailTemplate,
        SetMailTemplate, SetSmtpSettings, SmtpSecurity,
    };
    use std::time::Duration;

    fn smtp() -> SetSmtpSettings {
        SetSmtpSettings {
            host: "smtp.acme-it.example".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: Some("desk".into()),
            password: Some("s3cret-pass".into()),
            from_address: "help@acme-it.example".into(),
            from_name: "Acme IT".into(),
        }
    }

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = vault::load_or_create_key(dir.path()).unwrap();
        assert_eq!(
            vault::load_or_create_key(dir.path()).unwrap(),
            key,
            "made once"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(vault::KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = vault::seal(&key, "s3cret").unwrap();
        assert!(!sealed.contains("s3cret"));
        assert_eq!(vault::open(&key, &sealed).unwrap(), "s3cret");
        assert!(vault::open(&[7u8; 32], &sealed).is_err());
        assert!(vault::open(&key, "not base64!").is_err());
    }

    #[test]
    fn retries_double_up_to_an_hour() {
        let base = Duration::from_secs(60);
        assert_eq!(mail_retry_delay(base, 1), Duration::from_secs(60));
        assert_eq!(mail_retry_delay(base, 3), Duration::from_secs(240));
        assert_eq!(mail_retry_delay(base, 9), Duration::from_secs(3600));
    }

    #[tokio::test]
    async fn the_password_is_sealed_in_the_store_and_never_shown() {
        let f = fixture().await;
        let (_, admin) = f.admin().await;
        let saved = f.core.set_smtp_settings(&admin, smtp()).await.unwrap();
        assert!(saved.configured && saved.password_set);
        let stored: String = sqlx::query_scalar("SELECT password_sealed FROM smtp_settings")
            .fetch_one(f.core.pool())
            .await
            .unwrap();
        assert!(!stored.contains("s3cret-pass"));
        let config = f.core.smtp_config().await.unwrap().unwrap();
        assert_eq!(config.password.as_deref(), Some("s3cret-pass"));
        assert!(
            !format!("{config:?}").contains("s3cret"),
            "not even in logs"
        );
        // The audit log has the change but not the password.
        let audit: Vec<String> = sqlx::query_scalar("SELECT coalesce(after, '') FROM audit_events")
            .fetch_all(f.core.pool())
            .await
            .unwrap();
        assert!(audit.iter().any(|a| a.contains("smtp.acme-it.example")));
        assert!(audit.iter().all(|a| !a.contains("s3cret")));
        let tech = f.technician(&admin).await;
        assert!(matches!(
            f.core.smtp_settings(&tech).await,
            Err(CoreError::Forbidden(_))
        ));
    }

    #[tokio::test]
    async fn templates_refuse_unknown_placeholders_and_preview_a_real_ticket() {
        let f = fixture().await;
        let (_, admin) = f.admin().await;
        let client = f.client(&admin, "Acme Dental").await;
        let t = f.ticket(&admin, client, "Printer offline").await;
        let e = f
            .core
            .set_mail_template(
                &admin,
                SetMailTemplate {
                    kind: MailTemplateKind::Resolved,
                    enabled: None,
                    subject: "[#{{ticket.number}}] done".into(),
                    body: "Hi {{contact.nmae}}".into(),
                },
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("{{contact.nmae}}"), "{e}");
        let e = f
            .core
            .set_mail_template(
                &admin,
                SetMailTemplate {
                    kind: MailTemplateKind::Reply,
                    enabled: Some(false),
                    subject: "x".into(),
                    body: "y".into(),
                },
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("cannot be turned off"), "{e}");
        let p = f
            .core
            .preview_mail_template(
                &admin,
                PreviewMailTemplate {
                    kind: MailTemplateKind::Acknowledgement,
                    subject: "[#{{ticket.number}}] {{ticket.title}} {{what}}".into(),
                    body: "For {{client.name}}".into(),
                    ticket_id: Some(t.id),
                },
            )
            .await
            .unwrap();
        assert_eq!(
            p.subject,
            format!("[#{}] Printer offline {{{{what}}}}", t.number)
        );
        assert_eq!(p.body, "For Acme Dental");
        assert_eq!(p.unknown, vec!["what"]);
        let templates = f.core.list_mail_templates(&admin).await.unwrap();
        assert_eq!(templates.len(), 3);
        assert!(templates.iter().all(|t| t.is_default && t.enabled));
    }

    #[tokio::test]
    async fn history_a_console_uploads_late_is_not_acknowledged() {
        let f = fixture().await;
        let (_, admin) = f.admin().await;
        f.core.set_smtp_settings(&admin, smtp()).await.unwrap();
        let client = f.client(&admin, "Acme Dental").await;
        let contact = f
            .contact(&admin, client, "Dana", "dana@dental.example")
            .await;
        let t = f
            .core
            .create_ticket(
                &admin,
                NewTicket {
                    title: "Old".into(),
                    client_id: client,
                    contact_id: Some(contact),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        f.core
            .add_comment(
                &admin,
                t.id,
                outpost_proto::NewComment {
                    body: "Written in the field".into(),
                    internal: None,
                },
            )
            .await
            .unwrap();
        // Planned two hours later (as if it arrived with a console's sync).
        f.clock.advance(chrono::Duration::hours(2));
        let round = f.core.plan_events().await.unwrap();
        assert_eq!(
            round.mails, 1,
            "the reply still goes, the acknowledgement does not"
        );
        let page = f
            .core
            .list_outbox(&admin, &OutboxQuery::default())
            .await
            .unwrap();
        assert_eq!(page.items[0].kind, MailTemplateKind::Reply);
    }

    #[tokio::test]
    async fn mail_is_planned_once_and_only_while_a_mail_server_is_set() {
        let f = fixture().await;
        let (_, admin) = f.admin().await;
        let client = f.client(&admin, "Acme Dental").await;
        let contact = f
            .contact(&admin, client, "Dana", "dana@dental.example")
            .await;
        let new_ticket = |title: &str| NewTicket {
            title: title.into(),
            client_id: client,
            contact_id: Some(contact),
            ..Default::default()
        };
        f.core
            .create_ticket(&admin, new_ticket("Before"))
            .await
            .unwrap();
        f.core.plan_events().await.unwrap();
        f.core.set_smtp_settings(&admin, smtp()).await.unwrap();
        f.core
            .create_ticket(&admin, new_ticket("After"))
            .await
            .unwrap();
        // A ticket without a contact mails nobody.
        f.ticket(&admin, client, "No contact").await;
        let round = f.core.plan_events().await.unwrap();
        assert_eq!(round.mails, 1, "{round:?}");
        assert_eq!(f.core.plan_events().await.unwrap().mails, 0);
        let page = f
            .core
            .list_outbox(&admin, &OutboxQuery::default())
            .await
            .unwrap();
        assert_eq!(page.total, 1);
        assert!(page.items[0].subject.ends_with("] After"));
        assert_eq!(page.items[0].to, vec!["dana@dental.example"]);

        // Claimed, failing for a passing reason: queued again with its reason; 5xx: failed.
        let due = f.core.claim_due_mails(10).await.unwrap();
        assert_eq!(due.len(), 1);
        assert!(
            f.core.claim_due_mails(10).await.unwrap().is_empty(),
            "claimed once"
        );
        let busy = MailOutcome::Failed {
            step: MailStep::Connect,
            permanent: false,
            message: "refused".into(),
        };
        let state = f
            .core
            .record_mail_try(due[0].id, &busy, Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(state, OutboxState::Queued);
        assert!(
            f.core.claim_due_mails(10).await.unwrap().is_empty(),
            "waits a minute"
        );
        f.clock.advance(chrono::Duration::seconds(60));
        let due = f.core.claim_due_mails(10).await.unwrap();
        assert_eq!(due[0].attempts, 1);
        // Caught mid-send by a stop, before the handover: sent again; after it: unsure.
        assert_eq!(f.core.recover_outbox().await.unwrap(), (1, 0));
        let due = f.core.claim_due_mails(10).await.unwrap();
        f.core.mark_handed_over(due[0].id).await.unwrap();
        assert_eq!(f.core.recover_outbox().await.unwrap(), (0, 1));
        assert!(f.core.claim_due_mails(10).await.unwrap().is_empty());
        let page = f
            .core
            .list_outbox(&admin, &OutboxQuery::default())
            .await
            .unwrap();
        assert_eq!((page.unsure, page.items[0].state), (1, OutboxState::Unsure));
    }
}

// ---------------------------------------------------------------- mail in

mod mail_in {
    use crate::fixture;
    use outpost_core::notify::mail_in::ImportOutcome;
    use outpost_proto::{IncomingMail, NewMailbox, TicketStatus, UpdateTicket};

    /// The organisation's mailbox (never connected to: the tests hand mail to the core).
    async fn mailbox(f: &crate::Fixture, admin: &outpost_core::Actor) -> outpost_proto::Mailbox {
        f.core
            .create_mailbox(
                admin,
                NewMailbox {
                    host: "imap.acme-it.example".into(),
                    port: 993,
                    tls: true,
                    username: "help".into(),
                    password: "pw".into(),
                    folder: "INBOX".into(),
                    client_id: None,
                },
            )
            .await
            .unwrap()
    }

    fn mail(from: &str, subject: &str, id: &str) -> IncomingMail {
        IncomingMail {
            message_id: id.into(),
            from_address: from.into(),
            subject: subject.into(),
            text: "Please have a look.".into(),
            size: 500,
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn the_right_client_or_none_and_no_strangers_on_a_ticket() {
        let f = fixture().await;
        let (_, admin) = f.admin().await;
        let dental = f.client(&admin, "Acme Dental").await;
        let law = f.client(&admin, "Law & Co").await;
        for (client, email) in [(dental, "dana@dental.example"), (law, "lee@gmail.com")] {
            f.contact(&admin, client, "x", email).await;
        }
        let mb = mailbox(&f, &admin).await;
        let mut uid = 0;
        let mut take = |m: IncomingMail| {
            uid += 1;
            let (core, id, uid) = (&f.core, mb.id, uid);
            async move { core.import_mail(id, 7, uid, &m).await.unwrap() }
        };
        let client_of = |o: &ImportOutcome| match o {
            ImportOutcome::NewTicket { ticket_id, .. } => *ticket_id,
            other => panic!("not a new ticket: {other:?}"),
        };
        // A colleague of a contact (same company domain): that client.
        let o = take(mail("boss@dental.example", "Invoice", "a@x")).await;
        let t = f
            .core
            .get_ticket(&admin, client_of(&o))
            .await
            .unwrap()
            .ticket;
        assert_eq!((t.client_id, t.contact_id), (dental, None));
        // Someone else at a free-mail domain: not Law & Co's, unsorted.
        let o = take(mail("stranger@gmail.com", "Hi", "b@x")).await;
        let t = f
            .core
            .get_ticket(&admin, client_of(&o))
            .await
            .unwrap()
            .ticket;
        assert_ne!(t.client_id, law);
        let number = {
            let o = take(mail("dana@dental.example", "Printer", "c@x")).await;
            let id = client_of(&o);
            f.core.get_ticket(&admin, id).await.unwrap().ticket
        };
        // A stranger typing its number does not write on it: a new ticket.
        let o = take(mail(
            "evil@other.example",
            &format!("Re: [#{}] Printer", number.number),
            "d@x",
        ))
        .await;
        assert!(matches!(o, ImportOutcome::NewTicket { .. }), "{o:?}");
        // Her colleague may.
        let o = take(mail(
            "boss@dental.example",
            &format!("Re: [#{}] Printer", number.number),
            "e@x",
        ))
        .await;
        assert!(matches!(o, ImportOutcome::Comment { .. }), "{o:?}");
        // The same mail again (a loop) and a too-big one: ignored with the reason.
        let o = take(mail(
            "boss@dental.example",
            &format!("Re: [#{}] Printer", number.number),
            "f@x",
        ))
        .await;
        assert!(
            matches!(&o, ImportOutcome::Ignored { reason } if reason.contains("loop")),
            "{o:?}"
        );
        let mut big = mail("dana@dental.example", "Scan", "g@x");
        big.size = 30 * 1024 * 1024;
        let o = take(big).await;
        assert!(
            matches!(&o, ImportOutcome::Ignored { reason } if reason.contains("MiB")),
            "{o:?}"
        );
        // A closed ticket is final: the answer to it is a follow-up ticket.
        for s in [TicketStatus::Resolved, TicketStatus::Closed] {
            f.core
                .update_ticket(
                    &admin,
                    number.id,
                    UpdateTicket {
                        status: Some(s),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
        }
        let o = take(mail(
            "dana@dental.example",
            &format!("Re: [#{}] Printer", number.number),
            "h@x",
        ))
        .await;
        let follow = f
            .core
            .get_ticket(&admin, client_of(&o))
            .await
            .unwrap()
            .ticket;
        assert!(follow.description.contains(&format!(
            "Follow-up to the closed ticket #{}",
            number.number
        )));
        // A UID taken before is not taken again.
        let again = f
            .core
            .import_mail(mb.id, 7, 1, &mail("x@y.example", "z", "zz@x"))
            .await
            .unwrap();
        assert_eq!(again, ImportOutcome::AlreadyTaken);
    }

    #[tokio::test]
    async fn a_mails_files_go_with_its_ticket_or_comment_and_oversized_ones_are_named() {
        use outpost_proto::{AttachmentSettings, IncomingAttachment};
        let f = fixture().await;
        let (_, admin) = f.admin().await;
        let dental = f.client(&admin, "Acme Dental").await;
        f.contact(&admin, dental, "Dana", "dana@dental.example")
            .await;
        f.core
            .set_attachment_settings(&admin, AttachmentSettings { max_file_mib: 1 })
            .await
            .unwrap();
        let mb = mailbox(&f, &admin).await;
        let mut m = mail("dana@dental.example", "Scanner", "s1@x");
        m.attachments = vec![
            IncomingAttachment {
                file_name: "../../etc/passwd".into(),
                bytes: b"root:x:0:0".to_vec(),
            },
            IncomingAttachment {
                file_name: "scan.pdf".into(),
                bytes: [b"%PDF-1.4".as_slice(), &vec![b'x'; 2 * 1024 * 1024]].concat(),
            },
        ];
        let o = f.core.import_mail(mb.id, 7, 1, &m).await.unwrap();
        let ImportOutcome::NewTicket { ticket_id, number } = o else {
            panic!("{o:?}")
        };
        let d = f.core.get_ticket(&admin, ticket_id).await.unwrap();
        let files: Vec<(&str, &str, Option<uuid::Uuid>)> = d
            .attachments
            .iter()
            .map(|a| (a.file_name.as_str(), a.source.as_str(), a.comment_id))
            .collect();
        assert_eq!(files, [("passwd", "mail", None)]);
        assert!(
            d.ticket
                .description
                .contains("Not kept: scan.pdf, 2.0 MiB, over the 1.0 MiB limit"),
            "{}",
            d.ticket.description
        );
        // A reply's files belong to its comment.
        let mut reply = mail(
            "dana@dental.example",
            &format!("Re: [#{number}] Scanner"),
            "s2@x",
        );
        reply.attachments = vec![IncomingAttachment {
            file_name: "attachment.png".into(),
            bytes: b"\x89PNG\r\n\x1a\nrest".to_vec(),
        }];
        f.core.import_mail(mb.id, 7, 2, &reply).await.unwrap();
        let d = f.core.get_ticket(&admin, ticket_id).await.unwrap();
        let comment = d.comments.last().unwrap().id;
        let last = d.attachments.last().unwrap();
        assert_eq!(
            (last.file_name.as_str(), last.comment_id, last.preview),
            ("attachment.png", Some(comment), true)
        );
    }
}

// ---------------------------------------------------------------- notifications

mod notifications {
    use crate::fixture;
    use outpost_proto::{
        MarkNotificationsRead, NewComment, NewTicket, NotificationKind, NotificationPrefs,
        OutboxQuery, Priority, SetSmtpSettings, SmtpSecurity, UpdateTicket,
    };

    #[tokio::test]
    async fn assigned_mentioned_and_sla_each_once_as_each_person_chose() {
        let f = fixture().await;
        let (_, admin) = f.admin().await;
        let tess = f.technician(&admin).await;
        let tess_id = tess.user_id.unwrap();
        let client = f.client(&admin, "Acme Dental").await;
        let t = f
            .core
            .create_ticket(
                &admin,
                NewTicket {
                    title: "Server down".into(),
                    client_id: client,
                    priority: Some(Priority::Critical),
                    assignee_id: Some(tess_id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // She takes another herself: not news to her.
        let own = f
            .core
            .create_ticket(
                &tess,
                NewTicket {
                    title: "Printer".into(),
                    client_id: client,
                    // Due long after the critical one (its SLA notifications come later).
                    priority: Some(Priority::Low),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        f.core
            .update_ticket(
                &tess,
                own.id,
                UpdateTicket {
                    assignee_id: Some(Some(tess_id)),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let comment = |body: &str, internal: bool| NewComment {
            body: body.into(),
            internal: Some(internal),
        };
        f.core
            .add_comment(
                &admin,
                t.id,
                comment("@tess can you check the RAID? mail ada@acme.example", true),
            )
            .await
            .unwrap();
        f.core
            .add_comment(
                &admin,
                t.id,
                comment("@tess public replies mention nobody", false),
            )
            .await
            .unwrap();
        f.core.plan_events().await.unwrap();
        f.core.plan_events().await.unwrap();
        let mine = f.core.list_notifications(&tess).await.unwrap();
        let kinds: Vec<NotificationKind> = mine.items.iter().map(|n| n.kind).collect();
        assert_eq!(
            kinds,
            vec![NotificationKind::Mentioned, NotificationKind::Assigned],
            "{mine:?}"
        );
        assert_eq!(mine.unread, 2);
        assert!(mine.items[1].title.contains("Server down"));
        assert_eq!(mine.items[1].ticket_id, Some(t.id));
        assert!(f
            .core
            .list_notifications(&admin)
            .await
            .unwrap()
            .items
            .is_empty());
        // Planned over a day after it was written (a console's late upload): not told.
        let old = f
            .core
            .create_ticket(
                &admin,
                NewTicket {
                    title: "Last week's".into(),
                    client_id: client,
                    priority: Some(Priority::Low),
                    assignee_id: Some(tess_id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        f.clock.advance(chrono::Duration::hours(25));
        f.core.plan_events().await.unwrap();
        f.clock.advance(chrono::Duration::hours(-25));
        let after = f.core.list_notifications(&tess).await.unwrap();
        assert!(
            after.items.iter().all(|n| n.ticket_id != Some(old.id)),
            "{after:?}"
        );

        // The public reply was the first response; resolution is due in 4 business hours:
        // at risk in its last hour, then breached, once each.
        assert_eq!(f.core.plan_sla_notifications().await.unwrap(), 0);
        f.clock.advance(chrono::Duration::minutes(185));
        assert_eq!(f.core.plan_sla_notifications().await.unwrap(), 1);
        f.clock.advance(chrono::Duration::minutes(60));
        assert_eq!(f.core.plan_sla_notifications().await.unwrap(), 1);
        assert_eq!(f.core.plan_sla_notifications().await.unwrap(), 0);
        let mine = f.core.list_notifications(&tess).await.unwrap();
        assert_eq!(mine.items[0].kind, NotificationKind::SlaBreached);
        assert_eq!(mine.items[1].kind, NotificationKind::SlaAtRisk);

        let read = f
            .core
            .mark_notifications_read(
                &tess,
                MarkNotificationsRead {
                    ids: Some(vec![mine.items[0].id]),
                },
            )
            .await
            .unwrap();
        assert_eq!(read.unread, 3);
        let read = f
            .core
            .mark_notifications_read(&tess, MarkNotificationsRead { ids: None })
            .await
            .unwrap();
        assert_eq!(read.unread, 0);

        // By mail only, once a mail server and her address are set.
        let e = f
            .core
            .set_notification_prefs(
                &tess,
                NotificationPrefs {
                    in_app: vec![],
                    by_mail: vec![NotificationKind::Assigned],
                    mail_to: String::new(),
                },
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("mail_to"), "{e}");
        f.core
            .set_notification_prefs(
                &tess,
                NotificationPrefs {
                    in_app: vec![],
                    by_mail: vec![NotificationKind::Assigned],
                    mail_to: "tess@acme-it.example".into(),
                },
            )
            .await
            .unwrap();
        f.core
            .set_smtp_settings(
                &admin,
                SetSmtpSettings {
                    host: "127.0.0.1".into(),
                    port: 25,
                    security: SmtpSecurity::None,
                    username: None,
                    password: None,
                    from_address: "help@acme-it.example".into(),
                    from_name: "Acme IT".into(),
                },
            )
            .await
            .unwrap();
        f.core
            .create_ticket(
                &admin,
                NewTicket {
                    title: "Backup failed".into(),
                    client_id: client,
                    assignee_id: Some(tess_id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        f.core.plan_events().await.unwrap();
        assert_eq!(
            f.core.list_notifications(&tess).await.unwrap().unread,
            0,
            "not in the app"
        );
        let outbox = f
            .core
            .list_outbox(&admin, &OutboxQuery::default())
            .await
            .unwrap();
        assert_eq!(outbox.total, 1, "{outbox:?}");
        assert_eq!(outbox.items[0].to, vec!["tess@acme-it.example"]);
        assert!(outbox.items[0].subject.contains("Backup failed"));
    }
}
