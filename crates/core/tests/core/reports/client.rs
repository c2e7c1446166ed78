//! The client service report's model against a month worked through by hand for a client in
//! Berlin: every count, hour and breach is recomputed here from what was done, in the
//! client's zone (a ticket opened at 00:30 Berlin on 1 November is November's, though it is
//! still October in UTC).

use crate::fixture_at;
use crate::fleet::enroll;
use chrono::{Duration, TimeZone, Utc};
use outpost_core::fleet::telemetry::Arrival;
use outpost_core::CoreError;
use outpost_proto::{
    AgentMessage, ClientReportFileQuery, ClientReportQuery, Disk, Inventory, InventoryReport,
    NewComment, NewSite, NewTicket, NewTimeEntry, Priority, ReportFormat, ReportSection,
    ReportTable, SetClientReportSettings, Software, SystemInfo, TicketStatus, UpdateTicket,
};

fn november() -> ClientReportQuery {
    ClientReportQuery {
        from: "2026-11-01".into(),
        to: "2026-11-30".into(),
    }
}

#[tokio::test]
async fn a_client_month_is_counted_in_the_client_zone_and_matches_what_was_done() {
    // 2026-10-31 23:30 UTC = 2026-11-01 00:30 in Berlin (CET, +1).
    let first = Utc.with_ymd_and_hms(2026, 10, 31, 23, 30, 0).unwrap();
    let f = fixture_at(first).await;
    let (_, admin) = f.admin().await;
    let harbour = f.client(&admin, "Harbour Dental").await;
    let other = f.client(&admin, "Other Co").await;
    f.core
        .create_site(
            &admin,
            harbour,
            NewSite {
                name: "Main office".into(),
                address: None,
                timezone: Some("Europe/Berlin".into()),
            },
        )
        .await
        .unwrap();
    let ticket = |client, title: &str, priority| {
        let core = &f.core;
        let admin = &admin;
        let title = title.to_string();
        async move {
            core.create_ticket(
                admin,
                NewTicket {
                    title,
                    client_id: client,
                    priority: Some(priority),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    // 1 Nov 00:30 Berlin: a normal ticket (November's in Berlin, October's in UTC).
    let early = ticket(harbour, "=cmd|' /C calc'!A0", Priority::Normal).await;
    // 2 Nov 10:00 UTC (Monday): a critical ticket nobody answers, and a high one answered
    // in 10 minutes and resolved the same day.
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap());
    let ignored = ticket(harbour, "Server down", Priority::Critical).await;
    let answered = ticket(harbour, "VPN for #import \"x\"", Priority::High).await;
    ticket(other, "Not Harbour's", Priority::Low).await;
    f.clock.advance(Duration::minutes(10));
    f.core
        .add_comment(
            &admin,
            answered.id,
            NewComment {
                body: "On it".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    f.clock.advance(Duration::hours(2));
    f.core
        .update_ticket(
            &admin,
            answered.id,
            UpdateTicket {
                status: Some(TicketStatus::Resolved),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // 30 Nov 23:30 UTC = 1 Dec 00:30 Berlin: December's.
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 11, 30, 23, 30, 0).unwrap());
    ticket(harbour, "December's", Priority::Low).await;
    // An endpoint with a full disk and some software.
    let (_, session) = enroll(
        &f,
        &admin,
        harbour,
        "RECEPTION-PC",
        "Windows 11",
        &"cd".repeat(32),
    )
    .await;
    let inventory = Inventory {
        system: Some(SystemInfo {
            hostname: "RECEPTION-PC".into(),
            os_name: "Windows".into(),
            os_version: "11".into(),
            ..Default::default()
        }),
        disks: Some(vec![Disk {
            mount: "C:".into(),
            device: "disk0".into(),
            file_system: "NTFS".into(),
            total_bytes: 100 << 30,
            free_bytes: 5 << 30,
            removable: false,
        }]),
        software: Some(vec![
            Software {
                name: "Firefox".into(),
                version: "140".into(),
                source: "registry".into(),
            },
            Software {
                name: "Firefox".into(),
                version: "141".into(),
                source: "registry".into(),
            },
        ]),
        ..Default::default()
    };
    f.core
        .receive(&[Arrival::new(
            &session,
            AgentMessage::Inventory(Box::new(InventoryReport {
                seq: 1,
                at: f.core.now(),
                full: true,
                inventory,
            })),
        )])
        .await
        .unwrap();
    f.clock
        .set(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap());
    // Time: 90 billable and 45 other minutes in November, 30 in December (not counted).
    for (t, minutes, billable, day) in [
        (answered.id, 90, true, 2),
        (early.id, 45, false, 3),
        (early.id, 30, true, 31),
    ] {
        let at = Utc.with_ymd_and_hms(2026, 11, 1, 7, 0, 0).unwrap() + Duration::days(day - 1);
        f.core
            .add_time_entry(
                &admin,
                t,
                NewTimeEntry {
                    minutes,
                    billable: Some(billable),
                    started_at: Some(at),
                    note: Some("@SUM(1)".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let now = f.core.now();

    let r = f
        .core
        .client_report(&admin, harbour, &november())
        .await
        .unwrap();
    assert_eq!(r.client_name, "Harbour Dental");
    assert_eq!(r.period_label, "November 2026");
    assert_eq!(r.time_zone, "Europe/Berlin");
    assert_eq!(r.made_at, "2026-12-01 10:00", "made in Berlin time");
    assert_eq!(r.sections, ReportSection::ALL.to_vec());
    assert!(!r.empty);

    // Tickets: the three opened in Berlin's November, not the other client's or December's.
    let numbers: Vec<i64> = r.tickets.iter().map(|t| t.number).collect();
    assert_eq!(numbers, vec![early.number, ignored.number, answered.number]);
    assert_eq!(r.summary.opened, 3);
    assert_eq!(r.summary.closed, 1);
    assert_eq!(r.summary.days.len(), 30);
    assert_eq!(r.summary.days[0].opened, 1, "00:30 Berlin on the 1st");
    assert_eq!(r.summary.days[1].opened, 2);
    assert_eq!(r.summary.days[1].closed, 1);
    assert_eq!(r.tickets[0].opened, "2026-11-01 00:30");
    assert_eq!(
        r.tickets[2].resolved, "2026-11-02 13:10",
        "12:10 UTC in Berlin"
    );
    assert_eq!(r.tickets[2].minutes, 90);
    assert_eq!(
        r.tickets[0].minutes, 45,
        "December's 30 minutes are not November's"
    );

    // Time: recomputed from the entries above.
    assert_eq!(r.time.billable_minutes, 90);
    assert_eq!(r.time.other_minutes, 45);
    assert_eq!(r.time.entries.len(), 2);
    assert_eq!(r.time.technicians.len(), 1);
    assert_eq!(r.time.technicians[0].name, "Ada Admin");
    assert_eq!(
        (
            r.time.technicians[0].billable_minutes,
            r.time.technicians[0].other_minutes
        ),
        (90, 45)
    );
    assert_eq!(
        r.time.tickets[0].number, answered.number,
        "most billable first"
    );

    // SLA: the critical ticket's response and resolution are missed and still open, each
    // late by the time from its due time to now; the answered one met both.
    let ignored_now = f.core.get_ticket(&admin, ignored.id).await.unwrap();
    let fr_due = ignored_now.ticket.sla.first_response_due.unwrap();
    let res_due = ignored_now.ticket.sla.resolution_due.unwrap();
    let critical: Vec<_> = r
        .breaches
        .iter()
        .filter(|b| b.number == ignored.number)
        .collect();
    assert_eq!(critical.len(), 2, "{:?}", r.breaches);
    assert_eq!(critical[0].target, "first response");
    assert_eq!(critical[0].late_minutes, (now - fr_due).num_minutes());
    assert!(!critical[0].met_late);
    assert_eq!(critical[1].target, "resolution");
    assert_eq!(critical[1].late_minutes, (now - res_due).num_minutes());
    assert!(r.breaches.iter().all(|b| b.number != answered.number));
    let crit = r
        .summary
        .by_priority
        .iter()
        .find(|p| p.priority == Priority::Critical)
        .unwrap();
    assert_eq!(
        (crit.first_response.met, crit.first_response.missed),
        (0, 1)
    );

    // The endpoint as it is now.
    assert_eq!(r.endpoints.total, 1);
    assert_eq!(r.endpoints.by_os[0].key, "Windows 11");
    assert_eq!(r.endpoints.disks_near_full.len(), 1);
    assert_eq!(r.endpoints.disks_near_full[0].used_percent, 95.0);
    assert_eq!(r.endpoints.software[0].key, "Firefox");
    assert_eq!(
        r.endpoints.software[0].count, 1,
        "one endpoint, two versions"
    );
    assert_eq!(r.endpoints.endpoints[0].disk_used_percent, Some(95.0));

    // The time table as CSV: BOM, formulas neutralised, totals as above.
    let csv_of = |table| {
        let core = &f.core;
        let admin = &admin;
        async move {
            let q = ClientReportFileQuery {
                from: "2026-11-01".into(),
                to: "2026-11-30".into(),
                format: Some(ReportFormat::Csv),
                table: Some(table),
            };
            core.client_report_file(admin, harbour, &q).await.unwrap()
        }
    };
    let (name, kind, csv) = csv_of(ReportTable::Time).await;
    assert_eq!(
        name,
        "Harbour Dental service report 2026-11-01 to 2026-11-30 time.csv"
    );
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 2);
    let minutes: i64 = rows.iter().map(|r| r[4].parse::<i64>().unwrap()).sum();
    assert_eq!(minutes, 135);
    assert!(rows.iter().all(|r| &r[7] == "'@SUM(1)"), "{rows:?}");
    let tickets_csv = csv_of(ReportTable::Tickets).await.2;
    let text = String::from_utf8(tickets_csv[3..].to_vec()).unwrap();
    let first_row = text.lines().nth(1).unwrap();
    assert!(first_row.contains(",'=cmd|' /C calc'!A0,"), "{first_row}");

    // Sections switched off are left out; at least one must stay.
    f.core
        .set_client_report_settings(
            &admin,
            harbour,
            &SetClientReportSettings {
                sections: vec![ReportSection::Appendix, ReportSection::Summary],
            },
        )
        .await
        .unwrap();
    let r = f
        .core
        .client_report(&admin, harbour, &november())
        .await
        .unwrap();
    assert_eq!(
        r.sections,
        vec![ReportSection::Summary, ReportSection::Appendix]
    );
    let none = f
        .core
        .set_client_report_settings(
            &admin,
            harbour,
            &SetClientReportSettings { sections: vec![] },
        )
        .await
        .unwrap_err();
    assert!(none.to_string().contains("at least one"), "{none}");
}

#[tokio::test]
async fn a_quiet_client_gets_an_empty_report_and_bad_periods_are_refused_in_words() {
    let f = fixture_at(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()).await;
    let (_, admin) = f.admin().await;
    let quiet = f.client(&admin, "Quiet Ltd").await;
    let r = f
        .core
        .client_report(&admin, quiet, &november())
        .await
        .unwrap();
    assert!(r.empty);
    assert_eq!(r.time_zone, "UTC", "no site: the organisation's zone");
    assert_eq!(r.summary.opened, 0);
    assert_eq!(r.summary.first_response.percent, None);

    let refused = |from: &str, to: &str| {
        let core = &f.core;
        let admin = &admin;
        let q = ClientReportQuery {
            from: from.into(),
            to: to.into(),
        };
        async move {
            core.client_report(admin, quiet, &q)
                .await
                .unwrap_err()
                .to_string()
        }
    };
    assert!(refused("2027-01-01", "2027-01-31")
        .await
        .contains("in the future"));
    assert!(refused("2026-11-31", "2026-12-01")
        .await
        .contains("YYYY-MM-DD"));
    assert!(refused("2026-11-30", "2026-11-01")
        .await
        .contains("before it starts"));
    let unknown = f
        .core
        .client_report(&admin, uuid::Uuid::now_v7(), &november())
        .await
        .unwrap_err();
    assert!(matches!(unknown, CoreError::NotFound(_)), "{unknown}");
    let table_without_csv = f
        .core
        .client_report_file(
            &admin,
            quiet,
            &ClientReportFileQuery {
                from: "2026-11-01".into(),
                to: "2026-11-30".into(),
                format: None,
                table: Some(ReportTable::Alerts),
            },
        )
        .await
        .unwrap_err();
    assert!(table_without_csv.to_string().contains("format=csv"));
    // No typesetter in a bare core: said in words, not a crash.
    let pdf = f
        .core
        .client_report_file(
            &admin,
            quiet,
            &ClientReportFileQuery {
                from: "2026-11-01".into(),
                to: "2026-11-30".into(),
                format: None,
                table: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(pdf, CoreError::Unavailable(_)), "{pdf}");
}
