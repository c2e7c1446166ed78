//! The billing export against time worked by hand: each billable entry rounded up to the
//! increment, raised to the minimum, priced at the client's rate else the technician's else
//! the default; the amounts recomputed here from the rules, not read back.

use crate::fixture_at;
use chrono::{Duration, TimeZone, Utc};
use outpost_core::CoreError;
use outpost_proto::{BillingExportQuery, BillingRate, BillingSettings, NewTicket, NewTimeEntry};

#[tokio::test]
async fn billable_time_is_rounded_priced_and_exported_for_an_accounting_import() {
    let f = fixture_at(Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap()).await;
    let (_, admin) = f.admin().await;
    let tess = f.technician(&admin).await;
    let acme = f.client(&admin, "Acme").await;
    let borealis = f.client(&admin, "Borealis").await;
    let settings = BillingSettings {
        currency: "eur".into(),
        default_rate_cents: 9500,
        round_to_minutes: 15,
        minimum_minutes: 30,
        technician_rates: vec![BillingRate {
            subject_id: tess.user_id.unwrap(),
            name: String::new(),
            rate_cents: 8000,
        }],
        client_rates: vec![BillingRate {
            subject_id: acme,
            name: String::new(),
            rate_cents: 12000,
        }],
    };
    let saved = f
        .core
        .set_billing_settings(&admin, &settings)
        .await
        .unwrap();
    assert_eq!(saved.currency, "EUR");
    assert_eq!(saved.client_rates[0].name, "Acme");
    assert_eq!(saved.technician_rates[0].name, "Tess Tech");

    let ticket = |client, title: &'static str| {
        let core = &f.core;
        let admin = &admin;
        async move {
            core.create_ticket(
                admin,
                NewTicket {
                    title: title.into(),
                    client_id: client,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let a = ticket(acme, "=HYPERLINK(\"http://x\")").await;
    let b = ticket(borealis, "Backup failed").await;
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap());
    // (who, ticket, minutes, billable)
    let work = [
        (&admin, a.id, 20, true),
        (&tess, a.id, 50, true),
        (&tess, b.id, 7, true),
        (&admin, b.id, 95, true),
        (&admin, b.id, 60, false),
    ];
    for (n, (who, t, minutes, billable)) in work.iter().enumerate() {
        f.core
            .add_time_entry(
                who,
                *t,
                NewTimeEntry {
                    minutes: *minutes,
                    billable: Some(*billable),
                    started_at: Some(
                        Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).unwrap()
                            + Duration::hours(n as i64),
                    ),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let q = BillingExportQuery {
        from: "2026-11-01".into(),
        to: "2026-11-30".into(),
        client_id: None,
    };
    let (name, csv) = f.core.billing_export(&admin, &q).await.unwrap();
    assert_eq!(
        name,
        "All clients billable time 2026-11-01 to 2026-11-30.csv"
    );
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&csv[3..]);
    assert_eq!(&reader.headers().unwrap()[8], "Amount");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    // The rules, recomputed: round up to 15, at least 30; client rate, else technician's.
    let expect = |worked: i64, rate: i64| {
        let billed = ((worked + 14) / 15 * 15).max(30);
        let cents = (billed * rate * 2 + 60) / 120;
        (
            billed.to_string(),
            format!("{}.{:02}", rate / 100, rate % 100),
            format!("{}.{:02}", cents / 100, cents % 100),
        )
    };
    let got: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r[1].to_string(),
                r[6].to_string(),
                r[7].to_string(),
                r[8].to_string(),
            )
        })
        .collect();
    let want = |client: &str, (billed, rate, amount): (String, String, String)| {
        (client.to_string(), billed, rate, amount)
    };
    assert_eq!(
        got,
        vec![
            want("Acme", expect(20, 12000)),
            want("Acme", expect(50, 12000)),
            want("Borealis", expect(7, 8000)),
            want("Borealis", expect(95, 9500)),
        ],
        "the unbillable hour is not billed"
    );
    assert_eq!(&rows[3][8], "166.25");
    assert!(rows.iter().all(|r| &r[9] == "EUR"));
    assert_eq!(
        &rows[0][3], "'=HYPERLINK(\"http://x\")",
        "a formula stays text"
    );
    // One client: its rows only.
    let (name, one) = f
        .core
        .billing_export(
            &admin,
            &BillingExportQuery {
                client_id: Some(borealis),
                ..q.clone()
            },
        )
        .await
        .unwrap();
    assert!(name.starts_with("Borealis billable time"));
    assert_eq!(csv::Reader::from_reader(&one[3..]).records().count(), 2);

    // Bad settings are refused in words and change nothing; technicians may not export.
    for (bad, says) in [
        (
            BillingSettings {
                currency: "EURO".into(),
                ..settings.clone()
            },
            "three-letter",
        ),
        (
            BillingSettings {
                round_to_minutes: 0,
                ..settings.clone()
            },
            "round_to_minutes",
        ),
        (
            BillingSettings {
                default_rate_cents: -1,
                ..settings.clone()
            },
            "default_rate_cents",
        ),
    ] {
        let e = f.core.set_billing_settings(&admin, &bad).await.unwrap_err();
        assert!(e.to_string().contains(says), "{e}");
    }
    assert_eq!(
        f.core
            .billing_settings(&admin)
            .await
            .unwrap()
            .round_to_minutes,
        15
    );
    assert!(matches!(
        f.core.billing_export(&tess, &q).await,
        Err(CoreError::Forbidden(_))
    ));
}
