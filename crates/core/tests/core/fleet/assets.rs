//! Assets: devices per client, edited in place, filtered, scoped and synced.

use crate::sync::{console, Link};
use crate::{fixture, Fixture};
use outpost_core::{Actor, CoreError};
use outpost_proto::{
    AssetKind, AssetQuery, LoginRequest, NewAsset, NewSite, NewUser, Role, UpdateAsset,
};
use uuid::Uuid;

fn new_asset(client: Uuid, name: &str, kind: AssetKind) -> NewAsset {
    NewAsset {
        client_id: client,
        site_id: None,
        name: name.into(),
        kind,
        os: None,
        serial: None,
        notes: None,
    }
}

async fn site(f: &Fixture, actor: &Actor, client: Uuid, name: &str) -> Uuid {
    f.core
        .create_site(
            actor,
            client,
            NewSite {
                name: name.into(),
                address: None,
                timezone: None,
            },
        )
        .await
        .unwrap()
        .id
}

fn names(page: &outpost_proto::AssetPage) -> Vec<&str> {
    page.items.iter().map(|a| a.name.as_str()).collect()
}

#[tokio::test]
async fn assets_are_recorded_filtered_and_edited_in_place() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let globex = f.client(&admin, "Globex").await;
    let hq = site(&f, &admin, acme, "HQ").await;
    let core = &f.core;
    let srv = core
        .create_asset(
            &admin,
            NewAsset {
                site_id: Some(hq),
                os: Some("Windows Server 2022".into()),
                serial: Some("CZ123_45%".into()),
                ..new_asset(acme, "ACME-SRV-01", AssetKind::Server)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (srv.client_name.as_str(), srv.site_name.as_deref()),
        ("Acme", Some("HQ"))
    );
    core.create_asset(
        &admin,
        new_asset(acme, "acme-ws-02", AssetKind::Workstation),
    )
    .await
    .unwrap();
    core.create_asset(&admin, new_asset(globex, "GLX-FW", AssetKind::Network))
        .await
        .unwrap();
    let all = core
        .list_assets(&admin, &AssetQuery::default())
        .await
        .unwrap();
    assert_eq!(all.total, 3);
    assert_eq!(names(&all), vec!["ACME-SRV-01", "acme-ws-02", "GLX-FW"]);
    let by_client = core
        .list_assets(
            &admin,
            &AssetQuery {
                client_id: Some(globex),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names(&by_client), vec!["GLX-FW"]);
    let by_kind = core
        .list_assets(
            &admin,
            &AssetQuery {
                kind: Some(AssetKind::Server),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names(&by_kind), vec!["ACME-SRV-01"]);
    // Search is a plain substring, wildcards in the text included.
    for (text, want) in [
        ("ws-0", 1),
        ("45%", 1),
        ("_", 1),
        ("server 2022", 1),
        ("nope", 0),
    ] {
        let found = core
            .list_assets(
                &admin,
                &AssetQuery {
                    q: Some(text.into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(found.total, want, "search {text:?}");
    }
    let paged = core
        .list_assets(
            &admin,
            &AssetQuery {
                limit: Some(2),
                offset: Some(2),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((paged.total, names(&paged)), (3, vec!["GLX-FW"]));

    // Edit in place; absent fields stay, the site can be cleared.
    let edited = core
        .update_asset(
            &admin,
            srv.id,
            UpdateAsset {
                os: Some("Windows Server 2025".into()),
                site_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (edited.os.as_str(), edited.site_id, edited.name.as_str()),
        ("Windows Server 2025", None, "ACME-SRV-01")
    );
    assert!(edited.updated_at >= srv.updated_at);
}

#[tokio::test]
async fn bad_asset_input_is_refused_and_changes_nothing() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let globex = f.client(&admin, "Globex").await;
    let globex_site = site(&f, &admin, globex, "Depot").await;
    let core = &f.core;
    let refused = [
        new_asset(acme, "  ", AssetKind::Laptop),
        new_asset(acme, &"x".repeat(201), AssetKind::Laptop),
        new_asset(acme, "two\nlines", AssetKind::Laptop),
        NewAsset {
            site_id: Some(globex_site),
            ..new_asset(acme, "wrong site", AssetKind::Laptop)
        },
        new_asset(Uuid::now_v7(), "no such client", AssetKind::Laptop),
    ];
    for req in refused {
        assert!(core.create_asset(&admin, req).await.is_err());
    }
    assert_eq!(
        core.list_assets(&admin, &AssetQuery::default())
            .await
            .unwrap()
            .total,
        0
    );
    let a = core
        .create_asset(&admin, new_asset(acme, "ACME-LT-01", AssetKind::Laptop))
        .await
        .unwrap();
    let bad_edit = UpdateAsset {
        name: Some("renamed".into()),
        site_id: Some(Some(globex_site)),
        ..Default::default()
    };
    assert!(matches!(
        core.update_asset(&admin, a.id, bad_edit).await,
        Err(CoreError::Validation(_))
    ));
    assert_eq!(
        core.get_asset(&admin, a.id).await.unwrap().name,
        "ACME-LT-01"
    );
    assert!(matches!(
        core.list_assets(
            &admin,
            &AssetQuery {
                limit: Some(0),
                ..Default::default()
            }
        )
        .await,
        Err(CoreError::Validation(_))
    ));
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM changes WHERE entity = 'asset'")
        .fetch_one(core.pool())
        .await
        .unwrap();
    assert_eq!(history, 1, "only the good create was recorded");
}

#[tokio::test]
async fn assets_follow_client_scopes_and_sync_to_consoles() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let globex = f.client(&admin, "Globex").await;
    let core = &f.core;
    let glx = core
        .create_asset(&admin, new_asset(globex, "GLX-SRV", AssetKind::Server))
        .await
        .unwrap();
    let tech = core
        .create_user(
            &admin,
            NewUser {
                username: "tess".into(),
                display_name: "Tess".into(),
                role: Role::Technician,
                password: "tess password".into(),
            },
        )
        .await
        .unwrap();
    core.set_user_clients(&admin, tech.id, Some(vec![acme]))
        .await
        .unwrap();
    let s = core
        .login(LoginRequest {
            username: "tess".into(),
            password: "tess password".into(),
        })
        .await
        .unwrap();
    let tess = core.authenticate(&s.token).await.unwrap();
    assert!(matches!(
        core.get_asset(&tess, glx.id).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(core
        .create_asset(&tess, new_asset(globex, "sneaky", AssetKind::Other))
        .await
        .is_err());
    assert_eq!(
        core.list_assets(&tess, &AssetQuery::default())
            .await
            .unwrap()
            .total,
        0
    );

    // Tess's console: records an Acme laptop offline; it reaches the server, and an admin
    // console sees it. Globex's server never reaches Tess's console.
    let tess_link = Link::new(core, &tess);
    let c = console(&tess_link).await;
    let me = c.core.actor_for(&c.core.current_user(&tess).await.unwrap());
    let laptop = c
        .core
        .create_asset(&me, new_asset(acme, "ACME-LT-07", AssetKind::Laptop))
        .await
        .unwrap();
    assert_eq!(
        c.core
            .list_assets(&Actor::system(), &AssetQuery::default())
            .await
            .unwrap()
            .total,
        1,
        "only Acme's assets on Tess's console"
    );
    c.core.sync_once(&tess_link, 50).await.unwrap();
    assert_eq!(
        core.get_asset(&admin, laptop.id).await.unwrap().name,
        "ACME-LT-07"
    );
    let admin_link = Link::new(core, &admin);
    let other = console(&admin_link).await;
    core.update_asset(
        &admin,
        laptop.id,
        UpdateAsset {
            serial: Some("5CG0001".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    other.core.sync_once(&admin_link, 50).await.unwrap();
    c.core.sync_once(&tess_link, 50).await.unwrap();
    for console_core in [&other.core, &c.core] {
        let a = console_core
            .get_asset(&Actor::system(), laptop.id)
            .await
            .unwrap();
        assert_eq!(
            (a.name.as_str(), a.serial.as_str()),
            ("ACME-LT-07", "5CG0001")
        );
    }
    assert_eq!(
        other
            .core
            .list_assets(&Actor::system(), &AssetQuery::default())
            .await
            .unwrap()
            .total,
        2
    );
    assert_eq!(
        c.core.verify_sync(&tess_link, 50).await.unwrap(),
        Vec::<String>::new()
    );
}
