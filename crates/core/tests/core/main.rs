//! Integration tests of outpost-core on real SQLite files; modules mirror `src/`.

mod audit;
mod auth;
mod backup;
mod clients;
mod clock;
mod desk;
mod fleet;
mod layers;
mod notify;
mod reports;
mod scripts;
mod store;
mod sync;

use chrono::{DateTime, TimeZone, Utc};
use outpost_core::{Actor, Core, ManualClock};
use outpost_proto::{FirstAdminRequest, NewClient, Session};
use std::sync::Arc;

/// A store in a fresh temporary folder, with a hand-set clock.
pub struct Fixture {
    pub core: Core,
    pub clock: Arc<ManualClock>,
    pub _dir: tempfile::TempDir,
}

/// Monday 2026-11-16 10:00 UTC: inside default business hours (Mon-Fri 08-18 UTC).
pub fn monday_10() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 16, 10, 0, 0).unwrap()
}

pub async fn fixture_at(at: DateTime<Utc>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(at));
    let core = Core::open_dir(dir.path(), clock.clone()).await.unwrap();
    Fixture {
        core,
        clock,
        _dir: dir,
    }
}

pub async fn fixture() -> Fixture {
    fixture_at(monday_10()).await
}

impl Fixture {
    /// Creates the first admin and returns their session and actor.
    pub async fn admin(&self) -> (Session, Actor) {
        let s = self
            .core
            .create_first_admin(FirstAdminRequest {
                username: "ada".into(),
                display_name: "Ada Admin".into(),
                password: "correct horse".into(),
                load_demo: false,
            })
            .await
            .unwrap();
        let actor = self.core.authenticate(&s.token).await.unwrap();
        (s, actor)
    }

    /// A normal-priority ticket for `client`.
    pub async fn ticket(
        &self,
        actor: &Actor,
        client: uuid::Uuid,
        title: &str,
    ) -> outpost_proto::Ticket {
        self.core
            .create_ticket(
                actor,
                outpost_proto::NewTicket {
                    title: title.into(),
                    client_id: client,
                    ..Default::default()
                },
            )
            .await
            .unwrap()
    }

    /// A technician "tess" made by `admin`, logged in.
    pub async fn technician(&self, admin: &Actor) -> Actor {
        use outpost_proto::{LoginRequest, NewUser, Role};
        self.core
            .create_user(
                admin,
                NewUser {
                    username: "tess".into(),
                    display_name: "Tess Tech".into(),
                    role: Role::Technician,
                    password: "technician-1".into(),
                },
            )
            .await
            .unwrap();
        let s = self
            .core
            .login(LoginRequest {
                username: "tess".into(),
                password: "technician-1".into(),
            })
            .await
            .unwrap();
        self.core.authenticate(&s.token).await.unwrap()
    }

    /// A contact of `client` with a mail address.
    pub async fn contact(
        &self,
        actor: &Actor,
        client: uuid::Uuid,
        name: &str,
        email: &str,
    ) -> uuid::Uuid {
        self.core
            .create_contact(
                actor,
                client,
                outpost_proto::NewContact {
                    name: name.into(),
                    email: Some(email.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .id
    }

    pub async fn client(&self, actor: &Actor, name: &str) -> uuid::Uuid {
        self.core
            .create_client(
                actor,
                NewClient {
                    name: name.into(),
                    notes: None,
                },
            )
            .await
            .unwrap()
            .id
    }
}
