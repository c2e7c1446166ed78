use crate::{fixture, fixture_at, monday_10};
use chrono::{Duration, TimeZone, Utc};
use outpost_core::desk::sla::{default_policy, BusinessCalendar};
use outpost_proto::{
    NewComment, NewTicket, Priority, SlaPolicy, SlaState, TicketStatus, UpdateTicket,
};

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn calendar(tz: &str) -> BusinessCalendar {
    BusinessCalendar::new(&SlaPolicy {
        timezone: tz.into(),
        ..default_policy()
    })
    .unwrap()
}

#[test]
fn friday_evening_ticket_continues_on_monday() {
    let cal = calendar("UTC");
    // Friday 2026-11-20 17:00: one hour left that day, three more on Monday.
    let due = cal.add_business_minutes(utc(2026, 11, 20, 17, 0), 4 * 60);
    assert_eq!(due, utc(2026, 11, 23, 11, 0));
}

#[test]
fn weekend_ticket_starts_counting_monday_morning() {
    let cal = calendar("UTC");
    let due = cal.add_business_minutes(utc(2026, 11, 21, 12, 0), 30);
    assert_eq!(due, utc(2026, 11, 23, 8, 30));
}

#[test]
fn ticket_opened_after_hours_starts_next_morning() {
    let cal = calendar("UTC");
    let due = cal.add_business_minutes(utc(2026, 11, 17, 20, 0), 60);
    assert_eq!(due, utc(2026, 11, 18, 9, 0));
    // Before opening time the same day counts from opening.
    let due = cal.add_business_minutes(utc(2026, 11, 18, 6, 0), 60);
    assert_eq!(due, utc(2026, 11, 18, 9, 0));
}

#[test]
fn target_ending_exactly_at_closing_time_stays_that_day() {
    let cal = calendar("UTC");
    let due = cal.add_business_minutes(utc(2026, 11, 16, 17, 0), 60);
    assert_eq!(due, utc(2026, 11, 16, 18, 0));
}

#[test]
fn business_hours_follow_daylight_saving_in_the_policy_zone() {
    let cal = calendar("Europe/Berlin");
    // Friday 27 March 2026, 17:00 CET (16:00 UTC); clocks go forward on Sunday 29 March.
    // One hour on Friday, one on Monday from 08:00 CEST (06:00 UTC): due 09:00 CEST.
    let due = cal.add_business_minutes(utc(2026, 3, 27, 16, 0), 120);
    assert_eq!(due, utc(2026, 3, 30, 7, 0));
}

#[test]
fn business_minutes_between_skips_nights_and_weekends() {
    let cal = calendar("UTC");
    // Friday 16:00 to Monday 09:00: two hours Friday, one hour Monday.
    assert_eq!(
        cal.business_minutes_between(utc(2026, 11, 20, 16, 0), utc(2026, 11, 23, 9, 0)),
        180
    );
    assert_eq!(
        cal.business_minutes_between(utc(2026, 11, 23, 9, 0), utc(2026, 11, 20, 16, 0)),
        0
    );
}

#[test]
fn invalid_policies_are_refused_with_reasons() {
    let bad_zone = SlaPolicy {
        timezone: "Mars/Olympus".into(),
        ..default_policy()
    };
    let err = BusinessCalendar::new(&bad_zone).unwrap_err().to_string();
    assert!(err.contains("time zone"), "{err}");
    let no_days = SlaPolicy {
        work_days: vec![],
        ..default_policy()
    };
    assert!(BusinessCalendar::new(&no_days).is_err());
    let inverted = SlaPolicy {
        day_start_minute: 18 * 60,
        day_end_minute: 8 * 60,
        ..default_policy()
    };
    assert!(BusinessCalendar::new(&inverted).is_err());
}

#[tokio::test]
async fn ticket_goes_on_track_then_at_risk_then_breached() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                title: "Server down".into(),
                client_id: client,
                priority: Some(Priority::Critical),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Critical: first response within 30 business minutes.
    assert_eq!(
        t.sla.first_response_due,
        Some(monday_10() + Duration::minutes(30))
    );
    assert_eq!(t.sla.state, SlaState::OnTrack);
    f.clock.advance(Duration::minutes(23));
    assert_eq!(
        f.core
            .get_ticket(&admin, t.id)
            .await
            .unwrap()
            .ticket
            .sla
            .state,
        SlaState::AtRisk
    );
    f.clock.advance(Duration::minutes(8));
    assert_eq!(
        f.core
            .get_ticket(&admin, t.id)
            .await
            .unwrap()
            .ticket
            .sla
            .state,
        SlaState::Breached
    );
}

#[tokio::test]
async fn public_reply_meets_first_response_and_resolution_meets_the_sla() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                title: "Printer offline".into(),
                client_id: client,
                priority: Some(Priority::High),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    f.clock.advance(Duration::minutes(10));
    // An internal note is not a response to the client.
    f.core
        .add_comment(
            &admin,
            t.id,
            NewComment {
                body: "checking logs".into(),
                internal: Some(true),
            },
        )
        .await
        .unwrap();
    let d = f.core.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(d.ticket.sla.first_response_at, None);
    f.core
        .add_comment(
            &admin,
            t.id,
            NewComment {
                body: "On it".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    let d = f.core.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(
        d.ticket.sla.first_response_at,
        Some(monday_10() + Duration::minutes(10))
    );
    // Long after the first-response target, still on track for resolution (8 business hours).
    f.clock.advance(Duration::hours(2));
    let d = f.core.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(d.ticket.sla.state, SlaState::OnTrack);
    let done = f
        .core
        .update_ticket(
            &admin,
            t.id,
            UpdateTicket {
                status: Some(TicketStatus::Resolved),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(done.sla.state, SlaState::Met);
}

#[tokio::test]
async fn waiting_on_client_pauses_the_resolution_clock() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f.ticket(&admin, client, "Slow PC").await;
    // Normal: 24 business hours. Mon 10-18 (8 h) + Tue (10 h) + Wed 08-14 (6 h).
    assert_eq!(t.sla.resolution_due, Some(utc(2026, 11, 18, 14, 0)));
    f.clock.advance(Duration::hours(2)); // Mon 12:00
    let waiting = f
        .core
        .update_ticket(
            &admin,
            t.id,
            UpdateTicket {
                status: Some(TicketStatus::WaitingOnClient),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(waiting.sla.state, SlaState::Paused);
    f.clock.set(utc(2026, 11, 17, 12, 0)); // Tue 12:00: paused 6 h Monday + 4 h Tuesday
    let back = f
        .core
        .update_ticket(
            &admin,
            t.id,
            UpdateTicket {
                status: Some(TicketStatus::Open),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // Due moves 10 business hours later: Wed 14:00 -> Thu 14:00.
    assert_eq!(back.sla.resolution_due, Some(utc(2026, 11, 19, 14, 0)));
    assert_ne!(back.sla.state, SlaState::Paused);
}

#[tokio::test]
async fn ticket_created_on_saturday_is_on_track_until_monday() {
    let f = fixture_at(utc(2026, 11, 21, 12, 0)).await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                title: "Weekend outage".into(),
                client_id: client,
                priority: Some(Priority::Critical),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(t.sla.first_response_due, Some(utc(2026, 11, 23, 8, 30)));
    f.clock.set(utc(2026, 11, 22, 23, 0)); // Sunday night
    let d = f.core.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(d.ticket.sla.state, SlaState::OnTrack);
}

#[tokio::test]
async fn changing_the_policy_recomputes_open_tickets_and_needs_an_admin() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f.ticket(&admin, client, "VPN").await;
    let mut policy = default_policy();
    for target in &mut policy.targets {
        target.first_response_minutes = 15;
    }
    f.core.set_sla_policy(&admin, policy.clone()).await.unwrap();
    let d = f.core.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(
        d.ticket.sla.first_response_due,
        Some(monday_10() + Duration::minutes(15))
    );
    let viewer = outpost_core::Actor {
        user_id: None,
        name: "v".into(),
        role: outpost_proto::Role::Viewer,
        clients: None,
    };
    assert_eq!(
        f.core
            .set_sla_policy(&viewer, policy)
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
}

#[tokio::test]
async fn absurd_or_incomplete_policies_are_refused_not_stored() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let mut huge = default_policy();
    huge.targets[0].resolution_minutes = i64::MAX;
    let err = f.core.set_sla_policy(&admin, huge).await.unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
    let mut none = default_policy();
    none.targets.clear();
    let err = f.core.set_sla_policy(&admin, none).await.unwrap_err();
    assert!(err.to_string().contains("exactly one target"), "{err}");
    let mut twice = default_policy();
    twice.targets.push(twice.targets[0].clone());
    assert_eq!(
        f.core
            .set_sla_policy(&admin, twice)
            .await
            .unwrap_err()
            .code(),
        "validation"
    );
    assert_eq!(
        f.core.sla_policy().await.unwrap(),
        default_policy(),
        "nothing stored"
    );
    // The calendar itself never panics, whatever it is asked.
    let cal = calendar("UTC");
    assert!(cal.add_business_minutes(utc(2026, 11, 16, 10, 0), i64::MAX) > utc(2100, 1, 1, 0, 0));
}
