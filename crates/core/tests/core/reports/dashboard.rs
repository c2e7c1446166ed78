//! The dashboard's figures against a small desk worked through by hand (UTC, business hours
//! 08–18 Mon–Fri, default targets): each figure is also recomputed here from the tickets as
//! the API shows them.

use crate::{fixture, monday_10};
use chrono::Duration;
use outpost_core::CoreError;
use outpost_proto::{
    DashboardQuery, NewComment, NewTimeEntry, Priority, Ticket, TicketStatus, UpdateTicket,
};

fn period(from: &str, to: &str, client: Option<uuid::Uuid>) -> DashboardQuery {
    DashboardQuery {
        from: from.into(),
        to: to.into(),
        client_id: client,
    }
}

/// The first-response and resolution outcomes of a ticket, from its public fields.
fn outcomes(t: &Ticket, now: chrono::DateTime<chrono::Utc>) -> (&'static str, &'static str) {
    let fr_due = t.sla.first_response_due.unwrap();
    let fr = match t.sla.first_response_at.or(t.resolved_at) {
        Some(at) if at <= fr_due => "met",
        Some(_) => "missed",
        None if fr_due < now => "missed",
        None => "pending",
    };
    let res_due = t.sla.resolution_due.unwrap();
    let res = match t.resolved_at {
        Some(at) if at <= res_due => "met",
        Some(_) => "missed",
        None if res_due < now => "missed",
        None => "pending",
    };
    (fr, res)
}

#[tokio::test]
async fn the_dashboard_counts_what_the_desk_did_in_the_period() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let borealis = f.client(&admin, "Borealis").await;
    let new = |client, title: &'static str, priority| {
        let core = &f.core;
        let admin = &admin;
        async move {
            core.create_ticket(
                admin,
                outpost_proto::NewTicket {
                    title: title.into(),
                    client_id: client,
                    priority: Some(priority),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
        }
    };
    let reply = |id| {
        let core = &f.core;
        let admin = &admin;
        async move {
            core.add_comment(
                admin,
                id,
                NewComment {
                    body: "On it".into(),
                    internal: None,
                },
            )
            .await
            .unwrap();
        }
    };
    // Monday 10:00: three tickets; the critical one answered after 20 minutes.
    let t1 = new(acme, "Server down", Priority::Critical).await;
    let t2 = new(acme, "New starter laptop", Priority::Normal).await;
    let t3 = new(borealis, "Toner", Priority::Low).await;
    f.clock.advance(Duration::minutes(20));
    reply(t1.id).await;
    // Tuesday 10:00: a high one, answered after 30 minutes; the laptop is done.
    f.clock.set(monday_10() + Duration::days(1));
    let t4 = new(borealis, "VPN", Priority::High).await;
    f.core
        .update_ticket(
            &admin,
            t2.id,
            UpdateTicket {
                status: Some(TicketStatus::Resolved),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.clock.advance(Duration::minutes(30));
    reply(t4.id).await;
    // Wednesday 11:00: time logged.
    f.clock
        .set(monday_10() + Duration::days(2) + Duration::hours(1));
    for (ticket, minutes, billable) in [(t1.id, 60, true), (t3.id, 30, false)] {
        f.core
            .add_time_entry(
                &admin,
                ticket,
                NewTimeEntry {
                    minutes,
                    billable: Some(billable),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let now = monday_10() + Duration::days(2) + Duration::hours(1);

    let d = f
        .core
        .dashboard(&admin, &period("2026-11-16", "2026-11-18", None))
        .await
        .unwrap();
    assert_eq!((d.opened, d.closed, d.time_zone.as_str()), (4, 1, "UTC"));
    let per_day: Vec<(&str, i64, i64)> = d
        .days
        .iter()
        .map(|x| (x.day.as_str(), x.opened, x.closed))
        .collect();
    assert_eq!(
        per_day,
        [
            ("2026-11-16", 3, 0),
            ("2026-11-17", 1, 1),
            ("2026-11-18", 0, 0)
        ]
    );
    // By hand: first responses met by #1 and #4, missed by #2 (resolved a day later) and #3;
    // resolution met by #2, missed by #1 and #4, #3 still within its 48 hours.
    assert_eq!(
        (
            d.first_response.met,
            d.first_response.missed,
            d.first_response.pending
        ),
        (2, 2, 0)
    );
    assert_eq!(d.first_response.percent, Some(50.0));
    assert_eq!(
        (d.resolution.met, d.resolution.missed, d.resolution.pending),
        (1, 2, 1)
    );
    assert_eq!(d.resolution.percent, Some(33.3));
    // And recomputed from the tickets as the API shows them.
    let mut tally = std::collections::HashMap::new();
    for id in [t1.id, t2.id, t3.id, t4.id] {
        let t = f.core.get_ticket(&admin, id).await.unwrap().ticket;
        let (fr, res) = outcomes(&t, now);
        *tally.entry(("fr", fr)).or_insert(0) += 1;
        *tally.entry(("res", res)).or_insert(0) += 1;
        let p = d
            .by_priority
            .iter()
            .find(|p| p.priority == t.priority)
            .unwrap();
        let counted = |c: &outpost_proto::Compliance, o: &str| match o {
            "met" => c.met,
            "missed" => c.missed,
            _ => c.pending,
        };
        assert_eq!(counted(&p.first_response, fr), 1, "{:?}", t.priority);
        assert_eq!(counted(&p.resolution, res), 1, "{:?}", t.priority);
    }
    assert_eq!(tally[&("fr", "met")], d.first_response.met);
    assert_eq!(tally[&("res", "missed")], d.resolution.missed);
    // Means: (20 + 1440 + 30) / 3 minutes to a first response; 1440 to the one resolution.
    assert_eq!(d.mean_first_response_minutes, Some(496.7));
    assert_eq!(d.mean_resolution_minutes, Some(1440.0));
    let open: Vec<(&str, i64)> = d
        .open_by_priority
        .iter()
        .map(|c| (c.key.as_str(), c.count))
        .collect();
    assert_eq!(
        open,
        [("critical", 1), ("high", 1), ("normal", 0), ("low", 1)]
    );
    assert_eq!(
        d.backlog_age.iter().map(|c| c.count).collect::<Vec<_>>(),
        [0, 3, 0, 0, 0]
    );
    let hours: Vec<(&str, i64, i64)> = d
        .top_clients_by_hours
        .iter()
        .map(|c| (c.client_name.as_str(), c.minutes, c.tickets))
        .collect();
    assert_eq!(hours, [("Acme", 60, 2), ("Borealis", 30, 2)]);
    assert_eq!(
        (
            d.technicians[0].billable_minutes,
            d.technicians[0].other_minutes
        ),
        (60, 30)
    );
    assert_eq!(d.fleet.endpoints, 0);

    // One client: only its share.
    let b = f
        .core
        .dashboard(&admin, &period("2026-11-16", "2026-11-18", Some(borealis)))
        .await
        .unwrap();
    assert_eq!(
        (b.opened, b.first_response.met, b.first_response.missed),
        (2, 1, 1)
    );
    assert_eq!(b.top_clients_by_tickets.len(), 1);
    // A day without anything: zeros, not an error.
    let quiet = f
        .core
        .dashboard(&admin, &period("2026-11-01", "2026-11-01", None))
        .await
        .unwrap();
    assert_eq!((quiet.opened, quiet.first_response.percent), (0, None));

    // A technician limited to Borealis sees Borealis only, and not Acme by asking.
    let tess = f.technician(&admin).await;
    f.core
        .set_user_clients(&admin, tess.user_id.unwrap(), Some(vec![borealis]))
        .await
        .unwrap();
    let tess = f
        .core
        .authenticate(
            &f.core
                .login(outpost_proto::LoginRequest {
                    username: "tess".into(),
                    password: "technician-1".into(),
                })
                .await
                .unwrap()
                .token,
        )
        .await
        .unwrap();
    let mine = f
        .core
        .dashboard(&tess, &period("2026-11-16", "2026-11-18", None))
        .await
        .unwrap();
    assert_eq!(mine.opened, 2);
    assert!(mine
        .top_clients_by_tickets
        .iter()
        .all(|c| c.client_name == "Borealis"));
    assert!(matches!(
        f.core
            .dashboard(&tess, &period("2026-11-16", "2026-11-18", Some(acme)))
            .await,
        Err(CoreError::NotFound(_))
    ));
    // Bad periods, in words.
    let e = f
        .core
        .dashboard(&admin, &period("2026-12-01", "2026-12-31", None))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("in the future"), "{e}");
    let e = f
        .core
        .dashboard(&admin, &period("18.11.2026", "2026-11-18", None))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
}
