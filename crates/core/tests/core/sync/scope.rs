//! Client scopes: a technician limited to some clients sees and changes only theirs, on the
//! server and in what their console receives.

use crate::sync::{console, Console, Link};
use crate::{fixture, Fixture};
use outpost_core::{Actor, Core, CoreError};
use outpost_proto::{
    LoginRequest, NewComment, NewContact, NewSite, NewTicket, NewUser, Role, TicketQuery,
    UpdateTicket,
};
use uuid::Uuid;

/// A server with two clients (a ticket with a comment each) and a technician.
struct Desk {
    f: Fixture,
    admin: Actor,
    tech_id: Uuid,
    acme: Uuid,
    globex: Uuid,
    acme_ticket: Uuid,
    globex_ticket: Uuid,
}

async fn desk() -> Desk {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let globex = f.client(&admin, "Globex").await;
    let acme_ticket = f.ticket(&admin, acme, "Acme printer").await.id;
    let globex_ticket = f.ticket(&admin, globex, "Globex VPN").await.id;
    for t in [acme_ticket, globex_ticket] {
        f.core
            .add_comment(
                &admin,
                t,
                NewComment {
                    body: "looking".into(),
                    internal: None,
                },
            )
            .await
            .unwrap();
    }
    let tech = f
        .core
        .create_user(
            &admin,
            NewUser {
                username: "tess".into(),
                display_name: "Tess Tech".into(),
                role: Role::Technician,
                password: "tess password".into(),
            },
        )
        .await
        .unwrap();
    Desk {
        f,
        admin,
        tech_id: tech.id,
        acme,
        globex,
        acme_ticket,
        globex_ticket,
    }
}

impl Desk {
    /// The technician as the server sees them now (their scope is read at each request).
    async fn tech(&self) -> Actor {
        let s = self
            .f
            .core
            .login(LoginRequest {
                username: "tess".into(),
                password: "tess password".into(),
            })
            .await
            .unwrap();
        self.f.core.authenticate(&s.token).await.unwrap()
    }

    async fn scope(&self, clients: Option<Vec<Uuid>>) {
        self.f
            .core
            .set_user_clients(&self.admin, self.tech_id, clients)
            .await
            .unwrap();
    }
}

async fn client_names(core: &Core) -> Vec<String> {
    core.list_clients(&Actor::system())
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

async fn ticket_titles(core: &Core) -> Vec<String> {
    let mut t: Vec<String> = core
        .list_tickets(&Actor::system(), &TicketQuery::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|t| t.title)
        .collect();
    t.sort();
    t
}

async fn count(core: &Core, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(core.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_scoped_technician_sees_and_changes_only_their_clients() {
    let d = desk().await;
    d.scope(Some(vec![d.acme])).await;
    let tech = d.tech().await;
    assert_eq!(tech.clients, Some(vec![d.acme]));
    let core = &d.f.core;
    let names: Vec<String> = core
        .list_clients(&tech)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, vec!["Acme"]);
    let queue = core
        .list_tickets(&tech, &TicketQuery::default())
        .await
        .unwrap();
    assert_eq!(queue.total, 1);
    assert_eq!(queue.items[0].id, d.acme_ticket);
    // Another client's records read as absent, and cannot be changed or added to.
    assert!(matches!(
        core.get_ticket(&tech, d.globex_ticket).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        core.get_client(&tech, d.globex).await,
        Err(CoreError::NotFound(_))
    ));
    let edit = UpdateTicket {
        title: Some("mine now".into()),
        ..Default::default()
    };
    assert!(matches!(
        core.update_ticket(&tech, d.globex_ticket, edit.clone())
            .await,
        Err(CoreError::NotFound(_))
    ));
    let comment = NewComment {
        body: "hi".into(),
        internal: None,
    };
    assert!(core
        .add_comment(&tech, d.globex_ticket, comment.clone())
        .await
        .is_err());
    let new_ticket = |client| NewTicket {
        title: "New".into(),
        client_id: client,
        ..Default::default()
    };
    assert!(core
        .create_ticket(&tech, new_ticket(d.globex))
        .await
        .is_err());
    let site = NewSite {
        name: "HQ".into(),
        address: None,
        timezone: None,
    };
    assert!(core
        .create_site(&tech, d.globex, site.clone())
        .await
        .is_err());
    let contact = NewContact {
        name: "Bob".into(),
        ..Default::default()
    };
    assert!(core.create_contact(&tech, d.globex, contact).await.is_err());
    assert!(matches!(
        core.create_client(
            &tech,
            outpost_proto::NewClient {
                name: "Initech".into(),
                notes: None
            }
        )
        .await,
        Err(CoreError::Forbidden(_))
    ));
    assert_eq!(
        core.get_ticket(&d.admin, d.globex_ticket)
            .await
            .unwrap()
            .ticket
            .title,
        "Globex VPN",
        "nothing changed"
    );
    // Their own client works as before.
    core.update_ticket(&tech, d.acme_ticket, edit)
        .await
        .unwrap();
    core.add_comment(&tech, d.acme_ticket, comment)
        .await
        .unwrap();
    core.create_ticket(&tech, new_ticket(d.acme)).await.unwrap();
    core.create_site(&tech, d.acme, site).await.unwrap();
    assert_eq!(core.queue_counts(&tech).await.unwrap().unassigned, 2);
    assert_eq!(core.queue_counts(&d.admin).await.unwrap().unassigned, 3);
    // Every client again.
    d.scope(None).await;
    assert_eq!(core.list_clients(&d.tech().await).await.unwrap().len(), 2);
}

#[tokio::test]
async fn scopes_are_for_admins_to_set_and_bad_ones_are_refused() {
    let d = desk().await;
    let tech = d.tech().await;
    let core = &d.f.core;
    assert!(matches!(
        core.set_user_clients(&tech, d.tech_id, Some(vec![d.acme]))
            .await,
        Err(CoreError::Forbidden(_))
    ));
    let admin_id = d.admin.user_id.unwrap();
    assert!(matches!(
        core.set_user_clients(&d.admin, admin_id, Some(vec![d.acme]))
            .await,
        Err(CoreError::Validation(_))
    ));
    assert!(matches!(
        core.set_user_clients(&d.admin, d.tech_id, Some(vec![]))
            .await,
        Err(CoreError::Validation(_))
    ));
    assert!(matches!(
        core.set_user_clients(&d.admin, d.tech_id, Some(vec![d.acme, Uuid::now_v7()]))
            .await,
        Err(CoreError::Validation(_))
    ));
    assert_eq!(d.tech().await.clients, None, "nothing was half-applied");
    let users = core.list_users(&d.admin).await.unwrap();
    d.scope(Some(vec![d.globex, d.acme, d.acme])).await;
    let mut want = vec![d.acme, d.globex];
    want.sort();
    let listed = core.list_users(&d.admin).await.unwrap();
    let tess = listed.iter().find(|u| u.id == d.tech_id).unwrap();
    assert_eq!(tess.clients, Some(want));
    assert_eq!(listed.len(), users.len());
    core.verify_audit_chain().await.unwrap();
}

#[tokio::test]
async fn a_scoped_console_receives_only_its_clients() {
    let d = desk().await;
    d.scope(Some(vec![d.acme])).await;
    let link = Link::new(&d.f.core, &d.tech().await);
    let c = console(&link).await;
    assert_eq!(client_names(&c.core).await, vec!["Acme"]);
    assert_eq!(ticket_titles(&c.core).await, vec!["Acme printer"]);
    assert_eq!(count(&c.core, "comments").await, 1);
    // Later work on both clients: only Acme's arrives.
    let admin = &d.admin;
    d.f.core
        .update_ticket(
            admin,
            d.globex_ticket,
            UpdateTicket {
                title: Some("Globex VPN down".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    d.f.ticket(admin, d.globex, "Globex laptop").await;
    d.f.ticket(admin, d.acme, "Acme backup").await;
    c.core.sync_once(&link, 50).await.unwrap();
    assert_eq!(
        ticket_titles(&c.core).await,
        vec!["Acme backup", "Acme printer"]
    );
    // The console agrees with the server on everything it may see.
    assert_eq!(
        c.core.verify_sync(&link, 50).await.unwrap(),
        Vec::<String>::new()
    );
    // Its own work on its clients reaches the server.
    let me = console_tech(&c, &d).await;
    c.core
        .add_comment(
            &me,
            d.acme_ticket,
            NewComment {
                body: "fixed the tray".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    let report = c.core.sync_once(&link, 50).await.unwrap();
    assert_eq!((report.pushed, report.refused), (1, 0));
    let server = d.f.core.get_ticket(admin, d.acme_ticket).await.unwrap();
    assert!(server.comments.iter().any(|x| x.body == "fixed the tray"));
}

async fn console_tech(c: &Console, d: &Desk) -> Actor {
    // The technician's account reached the console with the snapshot.
    let u = c
        .core
        .list_users(&Actor::system())
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.id == d.tech_id)
        .unwrap();
    c.core.actor_for(&u)
}

#[tokio::test]
async fn narrowing_a_scope_drops_records_and_widening_brings_them_back() {
    let d = desk().await;
    d.scope(Some(vec![d.acme, d.globex])).await;
    d.f.core
        .create_asset(
            &d.admin,
            outpost_proto::NewAsset {
                client_id: d.globex,
                site_id: None,
                name: "GLX-SRV-01".into(),
                kind: outpost_proto::AssetKind::Server,
                os: None,
                serial: None,
                notes: None,
            },
        )
        .await
        .unwrap();
    let link = Link::new(&d.f.core, &d.tech().await);
    let c = console(&link).await;
    assert_eq!(client_names(&c.core).await, vec!["Acme", "Globex"]);
    assert_eq!(count(&c.core, "assets").await, 1);
    let me = console_tech(&c, &d).await;
    // Offline, the technician edits a Globex ticket and comments on an Acme one...
    c.core
        .update_ticket(
            &me,
            d.globex_ticket,
            UpdateTicket {
                title: Some("edited offline".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    c.core
        .add_comment(
            &me,
            d.acme_ticket,
            NewComment {
                body: "on site now".into(),
                internal: None,
            },
        )
        .await
        .unwrap();
    // ...while an admin takes Globex away from them.
    d.scope(Some(vec![d.acme])).await;
    let link = Link::new(&d.f.core, &d.tech().await);
    let report = c.core.sync_once(&link, 50).await.unwrap();
    assert_eq!(report.refused, 1, "the Globex edit is not taken over");
    assert_eq!(
        d.f.core
            .get_ticket(&d.admin, d.globex_ticket)
            .await
            .unwrap()
            .ticket
            .title,
        "Globex VPN"
    );
    let acme = d.f.core.get_ticket(&d.admin, d.acme_ticket).await.unwrap();
    assert!(acme.comments.iter().any(|x| x.body == "on site now"));
    // The console no longer holds anything of Globex.
    assert_eq!(client_names(&c.core).await, vec!["Acme"]);
    assert_eq!(ticket_titles(&c.core).await, vec!["Acme printer"]);
    assert_eq!(count(&c.core, "comments").await, 2);
    assert_eq!(count(&c.core, "assets").await, 0);
    let fts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ticket_fts WHERE ticket_fts MATCH 'Globex'")
            .fetch_one(c.core.pool())
            .await
            .unwrap();
    assert_eq!(fts, 0, "nor in its search index");
    assert_eq!(
        c.core.verify_sync(&link, 50).await.unwrap(),
        Vec::<String>::new()
    );
    // Every client again: a fresh snapshot brings Globex back as the server has it.
    d.scope(None).await;
    let link = Link::new(&d.f.core, &d.tech().await);
    c.core.sync_once(&link, 50).await.unwrap();
    assert_eq!(client_names(&c.core).await, vec!["Acme", "Globex"]);
    assert_eq!(
        ticket_titles(&c.core).await,
        vec!["Acme printer", "Globex VPN"]
    );
    assert_eq!(count(&c.core, "comments").await, 3);
    assert_eq!(count(&c.core, "assets").await, 1);
    assert_eq!(
        c.core.verify_sync(&link, 50).await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(c.core.sync_status().await.unwrap().pending, 0);
}

/// Tess's console (Acme and Globex) edits a Globex ticket offline, while an admin takes
/// Globex away from her.
async fn globex_edited_offline_then_taken_away(d: &Desk) -> Console {
    d.scope(Some(vec![d.acme, d.globex])).await;
    let link = Link::new(&d.f.core, &d.tech().await);
    let c = console(&link).await;
    let me = console_tech(&c, d).await;
    c.core
        .update_ticket(
            &me,
            d.globex_ticket,
            UpdateTicket {
                title: Some("edited offline".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    d.scope(Some(vec![d.acme])).await;
    c
}

#[tokio::test]
async fn a_retried_push_with_a_refused_change_is_not_taken_for_a_restored_console() {
    let d = desk().await;
    let c = globex_edited_offline_then_taken_away(&d).await;
    let link = Link::new(&d.f.core, &d.tech().await);
    // The server refuses the change and commits, but its answer is lost.
    link.drop_response.set(true);
    assert!(c.core.sync_once(&link, 50).await.is_err());
    let replica = c.core.replica_id();
    c.core.sync_once(&link, 50).await.unwrap();
    assert_eq!(
        c.core.replica_id(),
        replica,
        "the retry matched the refused change; no re-key"
    );
    assert_eq!(c.core.sync_status().await.unwrap().pending, 0);
}

#[tokio::test]
async fn the_top_bar_says_when_the_server_refused_changes() {
    let d = desk().await;
    let c = globex_edited_offline_then_taken_away(&d).await;
    let link = Link::new(&d.f.core, &d.tech().await);
    c.core.sync_once(&link, 50).await.unwrap();
    let status = c.core.sync_status().await.unwrap();
    let words = status.last_error.unwrap_or_default();
    assert!(words.contains("did not take 1 change"), "{words}");
}

#[tokio::test]
async fn a_connected_console_follows_the_scope_its_server_gave_it() {
    let d = desk().await;
    d.scope(Some(vec![d.acme])).await;
    let link = Link::new(&d.f.core, &d.tech().await);
    let c = console(&link).await;
    // Tess signs in on her console (the server checked the password; a local verifier is kept).
    let s = c
        .core
        .cache_login(
            d.tech_id,
            LoginRequest {
                username: "tess".into(),
                password: "tess password".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(s.user.clients, Some(vec![d.acme]));
    let tess = c.core.authenticate(&s.token).await.unwrap();
    assert_eq!(tess.clients, Some(vec![d.acme]));
    // So she cannot add a client here that the server would refuse.
    assert!(matches!(
        c.core
            .create_client(
                &tess,
                outpost_proto::NewClient {
                    name: "Initech".into(),
                    notes: None
                }
            )
            .await,
        Err(CoreError::Forbidden(_))
    ));
    // Scopes are the server's to set; a connected console does not pretend to change them.
    assert!(matches!(
        c.core
            .set_user_clients(&Actor::system(), d.tech_id, None)
            .await,
        Err(CoreError::Conflict(_))
    ));
}

#[tokio::test]
async fn a_push_cannot_link_a_record_to_another_clients_site() {
    let d = desk().await;
    d.scope(Some(vec![d.acme])).await;
    let tech = d.tech().await;
    let globex_site =
        d.f.core
            .create_site(
                &d.admin,
                d.globex,
                NewSite {
                    name: "Globex HQ".into(),
                    address: None,
                    timezone: None,
                },
            )
            .await
            .unwrap()
            .id;
    // A crafted push (no console would send it): Tess links her Acme ticket to Globex's site.
    let replica = Uuid::now_v7();
    let hlc = outpost_core::clock::Hlc {
        wall_ms: d.f.core.now().timestamp_millis() + 1000,
        counter: 0,
        replica,
    };
    let change = outpost_proto::ChangeRecord {
        change_id: Uuid::now_v7(),
        replica_id: replica,
        replica_seq: 1,
        hlc: hlc.to_string(),
        entity: "ticket".into(),
        entity_id: d.acme_ticket,
        op: "update".into(),
        fields: serde_json::json!({ "site_id": globex_site.to_string() }),
        base: serde_json::json!({}),
    };
    let answer =
        d.f.core
            .accept_push(
                &tech,
                outpost_proto::PushRequest {
                    replica_id: replica,
                    changes: vec![change],
                },
            )
            .await
            .unwrap();
    assert_eq!((answer.accepted_through, answer.refused), (1, 1));
    let t = d.f.core.get_ticket(&d.admin, d.acme_ticket).await.unwrap();
    assert_eq!(t.ticket.site_id, None);
}
