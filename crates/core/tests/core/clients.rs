use crate::fixture;
use outpost_proto::{NewClient, NewContact, NewSite, NewTicket, UpdateClient};

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
