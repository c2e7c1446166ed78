//! Report schedules on a store with a hand-set clock and the real typesetter: a month's report
//! is made once when its day comes in the client's zone, never twice (not by a second round,
//! not by two rounds at once, not after a restart), and a host that was down catches up on
//! every month it missed. The report is kept, mailed with its PDF, and announced to webhooks.

use chrono::{TimeZone, Utc};
use outpost_core::{Actor, Core, ManualClock};
use outpost_proto::{
    FirstAdminRequest, NewClient, NewContact, NewSite, NewTicket, NewWebhook, SetReportSchedule,
    SetSmtpSettings, SmtpSecurity,
};
use std::sync::Arc;

async fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> Core {
    let core = Core::open_dir(dir, clock).await.unwrap();
    outpost_server::reports::install(&core);
    core
}

#[tokio::test]
async fn a_scheduled_report_is_made_once_per_month_across_restarts_and_catches_up_after_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap(),
    ));
    let core = open(dir.path(), clock.clone()).await;
    let session = core
        .create_first_admin(FirstAdminRequest {
            username: "ada".into(),
            display_name: "Ada Admin".into(),
            password: "correct horse".into(),
            load_demo: false,
        })
        .await
        .unwrap();
    let admin: Actor = core.authenticate(&session.token).await.unwrap();
    let client = core
        .create_client(
            &admin,
            NewClient {
                name: "Harbour Dental".into(),
                notes: None,
            },
        )
        .await
        .unwrap()
        .id;
    core.create_site(
        &admin,
        client,
        NewSite {
            name: "Main".into(),
            address: None,
            timezone: Some("Europe/Berlin".into()),
        },
    )
    .await
    .unwrap();
    let dana = core
        .create_contact(
            &admin,
            client,
            NewContact {
                name: "Dana Office".into(),
                site_id: None,
                email: Some("dana@harbour.example".into()),
                phone: None,
            },
        )
        .await
        .unwrap()
        .id;
    let no_mail = core
        .create_contact(
            &admin,
            client,
            NewContact {
                name: "Front Desk".into(),
                site_id: None,
                email: None,
                phone: None,
            },
        )
        .await
        .unwrap()
        .id;
    core.set_smtp_settings(
        &admin,
        SetSmtpSettings {
            host: "127.0.0.1".into(),
            port: 2525,
            security: SmtpSecurity::None,
            username: None,
            password: None,
            from_address: "desk@northwind.example".into(),
            from_name: "Northwind IT".into(),
        },
    )
    .await
    .unwrap();
    core.create_webhook(
        &admin,
        NewWebhook {
            url: "http://127.0.0.1:9/outpost".into(),
            events: vec!["report.ready".into()],
            secret: None,
        },
    )
    .await
    .unwrap();
    core.create_ticket(
        &admin,
        NewTicket {
            title: "Printer offline".into(),
            client_id: client,
            ..Default::default()
        },
    )
    .await
    .unwrap();

    // A recipient without an address is refused in words; a day past 28 too.
    let schedule = |day, recipients: Vec<uuid::Uuid>| SetReportSchedule {
        enabled: true,
        day_of_month: day,
        recipients,
    };
    let e = core
        .set_report_schedule(&admin, client, &schedule(1, vec![no_mail]))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("Front Desk has no email address"),
        "{e}"
    );
    let e = core
        .set_report_schedule(&admin, client, &schedule(31, vec![dana]))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("1 to 28"), "{e}");
    let s = core
        .set_report_schedule(&admin, client, &schedule(1, vec![dana]))
        .await
        .unwrap();
    assert_eq!(s.next.as_deref(), Some("November 2026, on 1 December 2026"));

    // Not due yet.
    assert!(core.run_report_schedules().await.unwrap().is_empty());
    // 30 Nov 23:30 UTC is 1 Dec 00:30 in Berlin: November's report is due.
    clock.set(Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap());
    let made = core.run_report_schedules().await.unwrap();
    assert_eq!(made.len(), 1);
    assert!(
        core.run_report_schedules().await.unwrap().is_empty(),
        "never twice"
    );

    // A restart changes nothing.
    drop(core);
    let core = open(dir.path(), clock.clone()).await;
    // (Ten days on, the session has expired: the system acts.)
    let admin = Actor::system();
    assert!(
        core.run_report_schedules().await.unwrap().is_empty(),
        "not again after a restart"
    );
    let history = core.list_report_history(&admin, client).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].period_label, "November 2026");
    assert_eq!(
        (history[0].from.as_str(), history[0].to.as_str()),
        ("2026-11-01", "2026-11-30")
    );
    assert!(history[0].by_schedule);
    assert_eq!(
        history[0].mailed_to,
        vec!["dana@harbour.example".to_string()]
    );
    assert_eq!(history[0].mail_state.as_deref(), Some("queued"));
    let (name, pdf) = core
        .report_history_file(&admin, history[0].id)
        .await
        .unwrap();
    assert_eq!(
        name,
        "Harbour Dental service report 2026-11-01 to 2026-11-30.pdf"
    );
    assert!(pdf.starts_with(b"%PDF-"));
    // The mail goes with the PDF attached; the webhook is told.
    let mails = core.claim_due_mails(10).await.unwrap();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].kind, "report");
    assert_eq!(mails[0].to, vec!["dana@harbour.example".to_string()]);
    assert_eq!(
        mails[0].subject,
        "Service report November 2026: Harbour Dental"
    );
    let attached = mails[0].attachment.as_ref().expect("the PDF is attached");
    assert_eq!(attached.bytes, pdf);
    assert_eq!(attached.content_type, "application/pdf");
    let deliveries: Vec<(String, String)> =
        sqlx::query_as("SELECT event, body FROM webhook_deliveries")
            .fetch_all(core.pool())
            .await
            .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].0, "report.ready");
    let body: serde_json::Value = serde_json::from_str(&deliveries[0].1).unwrap();
    assert_eq!(body["data"]["from"], "2026-11-01");
    assert_eq!(
        body["data"]["download"],
        format!("/api/v1/reports/history/{}", history[0].id)
    );

    // Down from December to March: December, January and February are made, once each, even
    // with two rounds running at once.
    clock.set(Utc.with_ymd_and_hms(2027, 3, 5, 9, 0, 0).unwrap());
    let (a, b) = tokio::join!(core.run_report_schedules(), core.run_report_schedules());
    let mut caught_up = a.unwrap();
    caught_up.extend(b.unwrap());
    assert_eq!(caught_up.len(), 3, "each missed month once");
    let periods: Vec<String> = core
        .list_report_history(&admin, client)
        .await
        .unwrap()
        .iter()
        .map(|h| h.from.clone())
        .collect();
    assert_eq!(
        periods,
        ["2027-02-01", "2027-01-01", "2026-12-01", "2026-11-01"]
    );
    assert!(core.run_report_schedules().await.unwrap().is_empty());
    let s = core.report_schedule(&admin, client).await.unwrap();
    assert_eq!(s.next.as_deref(), Some("March 2027, on 1 April 2027"));

    // Switched off: nothing more.
    core.set_report_schedule(
        &admin,
        client,
        &SetReportSchedule {
            enabled: false,
            day_of_month: 1,
            recipients: vec![],
        },
    )
    .await
    .unwrap();
    clock.set(Utc.with_ymd_and_hms(2027, 4, 2, 9, 0, 0).unwrap());
    assert!(core.run_report_schedules().await.unwrap().is_empty());
}
