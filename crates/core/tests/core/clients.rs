use crate::fixture;
use outpost_proto::{
    NewClient, NewContact, NewSite, NewTicket, UpdateClient, UpdateContact, UpdateSite,
};

#[tokio::test]
async fn clients_sites_and_contacts() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let dup = f
        .core
        .create_client(
            &admin,
            NewClient {
                name: "ACME".into(),
                notes: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(dup.code(), "conflict");
    let site = f
        .core
        .create_site(
            &admin,
            acme,
            NewSite {
                name: "HQ".into(),
                address: Some("1 Main St".into()),
                timezone: Some("Europe/Berlin".into()),
            },
        )
        .await
        .unwrap();
    let bad_tz = f
        .core
        .create_site(
            &admin,
            acme,
            NewSite {
                name: "Moon".into(),
                address: None,
                timezone: Some("Moon/Base".into()),
            },
        )
        .await
        .unwrap_err();
    assert!(bad_tz.to_string().contains("time zone"), "{bad_tz}");
    f.core
        .create_contact(
            &admin,
            acme,
            NewContact {
                name: "Jo".into(),
                site_id: Some(site.id),
                email: Some("jo@acme.test".into()),
                phone: None,
            },
        )
        .await
        .unwrap();
    let bad_mail = f
        .core
        .create_contact(
            &admin,
            acme,
            NewContact {
                name: "Al".into(),
                email: Some("not-an-email".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad_mail.code(), "validation");
    let other = f.client(&admin, "Globex").await;
    let foreign_site = f
        .core
        .create_ticket(
            &admin,
            NewTicket {
                title: "x".into(),
                client_id: other,
                site_id: Some(site.id),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        foreign_site.to_string().contains("another client"),
        "{foreign_site}"
    );

    f.core
        .create_ticket(
            &admin,
            NewTicket {
                title: "x".into(),
                client_id: acme,
                site_id: Some(site.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let d = f.core.get_client(&admin, acme).await.unwrap();
    assert_eq!(d.sites.len(), 1);
    assert_eq!(d.contacts.len(), 1);
    assert_eq!(d.client.open_tickets, 1);
    let renamed = f
        .core
        .update_client(
            &admin,
            acme,
            UpdateClient {
                name: Some("Acme Ltd".into()),
                notes: Some("VIP".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.notes.as_str()),
        ("Acme Ltd", "VIP")
    );
    let clash = f
        .core
        .update_client(
            &admin,
            acme,
            UpdateClient {
                name: Some("globex".into()),
                notes: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(clash.code(), "conflict");
}

#[tokio::test]
async fn sites_and_contacts_can_be_edited() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let acme = f.client(&admin, "Acme").await;
    let hq = f
        .core
        .create_site(
            &admin,
            acme,
            NewSite {
                name: "HQ".into(),
                address: None,
                timezone: None,
            },
        )
        .await
        .unwrap();
    let jo = f
        .core
        .create_contact(
            &admin,
            acme,
            NewContact {
                name: "Jo".into(),
                site_id: Some(hq.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let moved = f
        .core
        .update_site(
            &admin,
            hq.id,
            UpdateSite {
                timezone: Some("Europe/Paris".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (moved.name.as_str(), moved.timezone.as_str()),
        ("HQ", "Europe/Paris")
    );
    let bad = f
        .core
        .update_site(
            &admin,
            hq.id,
            UpdateSite {
                timezone: Some("Nowhere/Land".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(bad.code(), "validation");
    let c = f
        .core
        .update_contact(
            &admin,
            jo.id,
            UpdateContact {
                email: Some("jo@acme.test".into()),
                site_id: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((c.email.as_str(), c.site_id), ("jo@acme.test", None));
    let d = f.core.get_client(&admin, acme).await.unwrap();
    assert_eq!(d.sites[0].timezone, "Europe/Paris");
    assert_eq!(d.contacts[0].email, "jo@acme.test");
    let missing = f
        .core
        .update_contact(&admin, uuid::Uuid::now_v7(), UpdateContact::default())
        .await
        .unwrap_err();
    assert_eq!(missing.code(), "not_found");
    // Edits are changes that sync: only the fields that changed.
    let fields: String =
        sqlx::query_scalar("SELECT fields FROM changes WHERE entity = 'contact' AND op = 'update'")
            .fetch_one(f.core.pool())
            .await
            .unwrap();
    assert_eq!(fields, r#"{"email":"jo@acme.test","site_id":null}"#);
}
