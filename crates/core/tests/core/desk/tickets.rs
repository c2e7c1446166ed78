use crate::fixture;
use outpost_proto::{
    NewComment, NewSavedView, NewTicket, NewTimeEntry, Priority, TicketQuery, TicketSort,
    TicketStatus, UpdateTicket,
};
use uuid::Uuid;

async fn count(f: &crate::Fixture, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(f.core.pool())
        .await
        .unwrap()
}

fn new_ticket(title: &str, client: Uuid) -> NewTicket {
    NewTicket {
        title: title.into(),
        client_id: client,
        ..Default::default()
    }
}

#[tokio::test]
async fn tickets_get_increasing_numbers_and_keep_their_fields() {
    let f = fixture().await;
    let (s, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let a = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                title: "  Outlook asks for password  ".into(),
                client_id: client,
                priority: Some(Priority::High),
                description: Some("since the update".into()),
                assignee_id: Some(s.user.id),
                tags: Some(vec!["Email".into(), "m365".into(), "email".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let b = f
        .core
        .create_ticket(&admin, new_ticket("Second", client))
        .await
        .unwrap();
    assert_eq!(a.number, 1001);
    assert_eq!(b.number, 1002);
    assert_eq!(a.title, "Outlook asks for password");
    assert_eq!(a.tags, vec!["email", "m365"]);
    assert_eq!(a.assignee_name.as_deref(), Some("Ada Admin"));
    assert_eq!(a.client_name, "Acme");
    assert_eq!(a.status, TicketStatus::New);
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let changes_before = count(&f, "changes").await;
    let audit_before = count(&f, "audit_events").await;

    let empty = f
        .core
        .create_ticket(&admin, new_ticket("   ", client))
        .await
        .unwrap_err();
    assert_eq!(empty.code(), "validation");
    assert!(empty.to_string().contains("title"), "{empty}");
    let long = f
        .core
        .create_ticket(&admin, new_ticket(&"x".repeat(201), client))
        .await
        .unwrap_err();
    assert!(long.to_string().contains("200"), "{long}");
    let multiline = f
        .core
        .create_ticket(&admin, new_ticket("line one\nline two", client))
        .await
        .unwrap_err();
    assert!(multiline.to_string().contains("one line"), "{multiline}");
    let unknown = f
        .core
        .create_ticket(&admin, new_ticket("Valid", Uuid::now_v7()))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), "validation");
    assert!(unknown.to_string().contains("does not exist"), "{unknown}");
    let bad_assignee = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                assignee_id: Some(Uuid::now_v7()),
                ..new_ticket("Valid", client)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad_assignee.code(), "validation");

    // A failure after the number was drawn rolls the counter back too.
    assert_eq!(count(&f, "tickets").await, 0);
    assert_eq!(count(&f, "changes").await, changes_before);
    assert_eq!(count(&f, "audit_events").await, audit_before);
    let t = f
        .core
        .create_ticket(&admin, new_ticket("Valid", client))
        .await
        .unwrap();
    assert_eq!(t.number, 1001);
}

#[tokio::test]
async fn status_moves_follow_the_rules() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f
        .core
        .create_ticket(&admin, new_ticket("Disk full", client))
        .await
        .unwrap();
    let set = |s: TicketStatus| UpdateTicket {
        status: Some(s),
        ..Default::default()
    };
    f.core
        .update_ticket(&admin, t.id, set(TicketStatus::InProgress))
        .await
        .unwrap();
    let back = f
        .core
        .update_ticket(&admin, t.id, set(TicketStatus::New))
        .await
        .unwrap_err();
    assert_eq!(back.code(), "validation");
    assert!(back.to_string().contains("cannot go back to new"), "{back}");
    let resolved = f
        .core
        .update_ticket(&admin, t.id, set(TicketStatus::Resolved))
        .await
        .unwrap();
    assert!(resolved.resolved_at.is_some());
    let reopened = f
        .core
        .update_ticket(&admin, t.id, set(TicketStatus::Open))
        .await
        .unwrap();
    assert_eq!(reopened.resolved_at, None);
    f.core
        .update_ticket(&admin, t.id, set(TicketStatus::Closed))
        .await
        .unwrap();
    let closed = f
        .core
        .update_ticket(&admin, t.id, set(TicketStatus::Open))
        .await
        .unwrap_err();
    assert_eq!(closed.code(), "conflict");
    let edit = f
        .core
        .update_ticket(
            &admin,
            t.id,
            UpdateTicket {
                priority: Some(Priority::Low),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        edit.code(),
        "conflict",
        "a closed ticket's fields are final"
    );
    // Notes and time can still be added after closing.
    f.core
        .add_comment(
            &admin,
            t.id,
            NewComment {
                body: "closing note".into(),
                internal: Some(true),
            },
        )
        .await
        .unwrap();
    let d = f.core.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(d.ticket.status, TicketStatus::Closed);
    assert_eq!(d.ticket.priority, Priority::Normal);
    // History shows each move with before and after.
    let moves: Vec<(String, String)> = d
        .history
        .iter()
        .flat_map(|h| h.changes.iter().filter(|c| c.field == "status"))
        .map(|c| (c.before.clone(), c.after.clone()))
        .collect();
    assert_eq!(
        moves,
        vec![
            ("new".into(), "in_progress".into()),
            ("in_progress".into(), "resolved".into()),
            ("resolved".into(), "open".into()),
            ("open".into(), "closed".into()),
        ]
    );
}

#[tokio::test]
async fn edits_can_clear_the_assignee_and_leave_other_fields_alone() {
    let f = fixture().await;
    let (s, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                assignee_id: Some(s.user.id),
                ..new_ticket("A", client)
            },
        )
        .await
        .unwrap();
    let u = f
        .core
        .update_ticket(
            &admin,
            t.id,
            UpdateTicket {
                assignee_id: Some(None),
                priority: Some(Priority::Low),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.assignee_id, None);
    assert_eq!(u.priority, Priority::Low);
    assert_eq!(u.title, "A");
}

#[tokio::test]
async fn time_entries_add_up_and_negative_durations_are_refused() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let t = f
        .core
        .create_ticket(&admin, new_ticket("Laptop", client))
        .await
        .unwrap();
    let log = |minutes: i64, billable: bool| NewTimeEntry {
        minutes,
        billable: Some(billable),
        note: Some("work".into()),
        ..Default::default()
    };
    f.core
        .add_time_entry(&admin, t.id, log(45, true))
        .await
        .unwrap();
    f.core
        .add_time_entry(&admin, t.id, log(30, false))
        .await
        .unwrap();
    let neg = f
        .core
        .add_time_entry(&admin, t.id, log(-15, true))
        .await
        .unwrap_err();
    assert_eq!(neg.code(), "validation");
    assert!(neg.to_string().contains("positive"), "{neg}");
    let zero = f
        .core
        .add_time_entry(&admin, t.id, log(0, true))
        .await
        .unwrap_err();
    assert_eq!(zero.code(), "validation");
    let d = f.core.get_ticket(&admin, t.id).await.unwrap();
    assert_eq!(d.ticket.total_minutes, 75);
    assert_eq!(d.ticket.billable_minutes, 45);
    assert_eq!(d.time_entries.len(), 2);
    let missing = f
        .core
        .add_time_entry(&admin, Uuid::now_v7(), log(10, true))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "not_found");
    assert_eq!(
        count(&f, "time_entries").await,
        2,
        "a refused entry leaves no row"
    );
}

#[tokio::test]
async fn full_text_search_finds_titles_descriptions_and_comments() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    let printer = f
        .core
        .create_ticket(&admin, new_ticket("Printer offline", client))
        .await
        .unwrap();
    let vpn = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                description: Some("tunnel drops hourly".into()),
                ..new_ticket("VPN", client)
            },
        )
        .await
        .unwrap();
    let mail = f
        .core
        .create_ticket(&admin, new_ticket("Mailbox full", client))
        .await
        .unwrap();
    f.core
        .add_comment(
            &admin,
            mail.id,
            NewComment {
                body: "Archived to the quarantine folder".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    let search = |q: &str| TicketQuery {
        q: Some(q.into()),
        ..Default::default()
    };
    let ids = |p: outpost_proto::TicketPage| p.items.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(
        ids(f
            .core
            .list_tickets(&admin, &search("printer"))
            .await
            .unwrap()),
        vec![printer.id]
    );
    assert_eq!(
        ids(f
            .core
            .list_tickets(&admin, &search("tunnel"))
            .await
            .unwrap()),
        vec![vpn.id]
    );
    assert_eq!(
        ids(f
            .core
            .list_tickets(&admin, &search("quarant"))
            .await
            .unwrap()),
        vec![mail.id]
    );
    assert_eq!(
        ids(f.core.list_tickets(&admin, &search("#1002")).await.unwrap()),
        vec![vpn.id]
    );
    // FTS syntax in the input is just text, never an error.
    let odd = f
        .core
        .list_tickets(&admin, &search("\"printer* ("))
        .await
        .unwrap();
    assert_eq!(ids(odd), vec![printer.id]);
    assert_eq!(
        f.core
            .list_tickets(&admin, &search("nothing-like-this"))
            .await
            .unwrap()
            .total,
        0
    );
    // Renaming re-indexes the title.
    f.core
        .update_ticket(
            &admin,
            printer.id,
            UpdateTicket {
                title: Some("Scanner jam".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        f.core
            .list_tickets(&admin, &search("printer"))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        f.core
            .list_tickets(&admin, &search("scanner"))
            .await
            .unwrap()
            .total,
        1
    );
}

#[tokio::test]
async fn queue_filters_sort_and_pages() {
    let f = fixture().await;
    let (s, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let globex = f.client(&admin, "Globex").await;
    for i in 0..7 {
        let client = if i % 2 == 0 { acme } else { globex };
        let prio = if i == 3 {
            Priority::Critical
        } else {
            Priority::Normal
        };
        let t = f
            .core
            .create_ticket(
                &admin,
                NewTicket {
                    priority: Some(prio),
                    assignee_id: (i < 2).then_some(s.user.id),
                    tags: Some(vec![if i % 3 == 0 { "backup" } else { "network" }.into()]),
                    ..new_ticket(&format!("Ticket {i}"), client)
                },
            )
            .await
            .unwrap();
        if i == 6 {
            f.core
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
        }
    }
    let q = |q: TicketQuery| {
        let core = &f.core;
        let admin = admin.clone();
        async move { core.list_tickets(&admin, &q).await.unwrap() }
    };
    assert_eq!(
        q(TicketQuery {
            status: Some("active".into()),
            ..Default::default()
        })
        .await
        .total,
        6
    );
    assert_eq!(
        q(TicketQuery {
            client_id: Some(acme),
            ..Default::default()
        })
        .await
        .total,
        4
    );
    assert_eq!(
        q(TicketQuery {
            assignee: Some("me".into()),
            ..Default::default()
        })
        .await
        .total,
        2
    );
    assert_eq!(
        q(TicketQuery {
            assignee: Some("none".into()),
            ..Default::default()
        })
        .await
        .total,
        5
    );
    assert_eq!(
        q(TicketQuery {
            tag: Some("backup".into()),
            ..Default::default()
        })
        .await
        .total,
        3
    );
    assert_eq!(
        q(TicketQuery {
            priority: Some("critical,high".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    assert_eq!(
        q(TicketQuery {
            sla: Some("met".into()),
            ..Default::default()
        })
        .await
        .total,
        1
    );
    // Most urgent first: the critical ticket's 30-minute target comes before the others.
    let urgent = q(TicketQuery {
        status: Some("active".into()),
        sort: Some(TicketSort::SlaDue),
        ..Default::default()
    })
    .await;
    assert_eq!(urgent.items[0].title, "Ticket 3");
    // Paging: empty page, exact page, page + 1.
    let page = |offset, limit| TicketQuery {
        offset: Some(offset),
        limit: Some(limit),
        sort: Some(TicketSort::Number),
        ..Default::default()
    };
    let first = q(page(0, 3)).await;
    assert_eq!((first.items.len(), first.total), (3, 7));
    assert_eq!(first.items[0].number, 1007);
    assert_eq!(q(page(6, 3)).await.items.len(), 1);
    assert_eq!(q(page(7, 3)).await.items.len(), 0);
    assert_eq!(q(page(0, 7)).await.items.len(), 7);
    // Bad filters say what is allowed.
    let bad = f
        .core
        .list_tickets(
            &admin,
            &TicketQuery {
                status: Some("opne".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("unknown status 'opne'"), "{bad}");
    let bad_limit = f
        .core
        .list_tickets(
            &admin,
            &TicketQuery {
                limit: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad_limit.code(), "validation");
}

#[tokio::test]
async fn saved_views_are_personal_and_builtins_stay() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let builtins = f.core.list_views(&admin).await.unwrap();
    assert!(builtins.iter().any(|v| v.name == "My open tickets"));
    let v = f
        .core
        .create_view(
            &admin,
            NewSavedView {
                name: "Critical".into(),
                query: TicketQuery {
                    priority: Some("critical".into()),
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap();
    assert_eq!(
        f.core.list_views(&admin).await.unwrap().len(),
        builtins.len() + 1
    );
    let bad = f
        .core
        .create_view(
            &admin,
            NewSavedView {
                name: "Broken".into(),
                query: TicketQuery {
                    status: Some("nope".into()),
                    ..Default::default()
                },
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "validation");
    assert_eq!(
        f.core
            .delete_view(&admin, builtins[0].id)
            .await
            .unwrap_err()
            .code(),
        "conflict"
    );
    f.core.delete_view(&admin, v.id).await.unwrap();
    assert_eq!(
        f.core.list_views(&admin).await.unwrap().len(),
        builtins.len()
    );
}

#[tokio::test]
async fn demo_data_is_a_realistic_msp_and_only_loads_into_an_empty_store() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let s = f.core.load_demo(&admin).await.unwrap();
    assert_eq!((s.clients, s.tickets), (5, 300));
    assert!(s.comments > 200 && s.time_entries > 100, "{s:?}");
    let all = f
        .core
        .list_tickets(
            &admin,
            &TicketQuery {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.total, 300);
    for status in TicketStatus::ALL {
        assert!(
            all.items.iter().any(|t| t.status == status),
            "no demo ticket is {status:?}"
        );
    }
    // A healthy desk: most open tickets are within their SLA, a few have slipped.
    let open_in = |sla: &str| TicketQuery {
        status: Some("active".into()),
        sla: Some(sla.into()),
        limit: Some(1),
        ..Default::default()
    };
    let on_track = f
        .core
        .list_tickets(&admin, &open_in("on_track,at_risk,paused"))
        .await
        .unwrap()
        .total;
    let breached = f
        .core
        .list_tickets(&admin, &open_in("breached"))
        .await
        .unwrap()
        .total;
    assert!(
        breached > 0 && on_track > 2 * breached,
        "on track {on_track}, breached {breached}"
    );
    let again = f.core.load_demo(&admin).await.unwrap_err();
    assert_eq!(again.code(), "conflict");
    assert_eq!(
        f.core.verify_audit_chain().await.unwrap() as i64,
        count(&f, "audit_events").await
    );
}
