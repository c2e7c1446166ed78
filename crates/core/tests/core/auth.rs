use crate::fixture;
use chrono::Duration;
use outpost_core::auth::throttle::FREE_FAILURES_PER_ACCOUNT;
use outpost_core::auth::SESSION_HOURS;
use outpost_proto::{FirstAdminRequest, LoginRequest, NewUser, Role};

fn login(u: &str, p: &str) -> LoginRequest {
    LoginRequest {
        username: u.into(),
        password: p.into(),
    }
}

#[tokio::test]
async fn first_run_creates_one_admin_and_then_refuses() {
    let f = fixture().await;
    assert!(f.core.setup_state().await.unwrap().needs_admin);
    let (s, _) = f.admin().await;
    assert_eq!(s.user.role, Role::Admin);
    assert!(!f.core.setup_state().await.unwrap().needs_admin);
    let again = f
        .core
        .create_first_admin(FirstAdminRequest {
            username: "eve".into(),
            display_name: "Eve".into(),
            password: "takeover123".into(),
            load_demo: false,
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), "conflict");
}

#[tokio::test]
async fn passwords_are_argon2id_hashed_and_checked() {
    let f = fixture().await;
    f.admin().await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'ada'")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
    assert!(
        f.core.login(login("ADA", "correct horse")).await.is_ok(),
        "usernames ignore case"
    );
    let wrong = f.core.login(login("ada", "wrong")).await.unwrap_err();
    assert_eq!(wrong.code(), "unauthorized");
    let unknown = f
        .core
        .login(login("nobody", "whatever1"))
        .await
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        wrong.to_string(),
        "no hint which part was wrong"
    );
}

#[tokio::test]
async fn failures_slow_the_guessing_address_and_never_lock_the_account() {
    let f = fixture().await;
    f.admin().await;
    let guesser = Some("203.0.113.7".parse().unwrap());
    let ada_desk = Some("198.51.100.20".parse().unwrap());
    for _ in 0..FREE_FAILURES_PER_ACCOUNT {
        let e = f
            .core
            .login_from(login("ada", "nope"), guesser, None)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "unauthorized");
    }
    // The guessing address waits, even with the right password (it learns nothing)...
    let waiting = f
        .core
        .login_from(login("ada", "correct horse"), guesser, None)
        .await
        .unwrap_err();
    assert_eq!(waiting.code(), "rate_limited");
    assert_eq!(
        waiting.to_string(),
        "too many failed logins for this account from this address; try again in 30 seconds"
    );
    // ...Ada from her own desk, and this device's own login, do not.
    assert!(f
        .core
        .login_from(login("ada", "correct horse"), ada_desk, None)
        .await
        .is_ok());
    assert!(f.core.login(login("ada", "correct horse")).await.is_ok());
    // After the wait the guessing address may try again.
    f.clock.advance(Duration::seconds(31));
    assert!(f
        .core
        .login_from(login("ada", "correct horse"), guesser, None)
        .await
        .is_ok());
    // Unknown accounts count too: spraying names from one address makes it wait for all.
    let sprayer = Some("192.0.2.50".parse().unwrap());
    for i in 0..30 {
        let _ = f
            .core
            .login_from(login(&format!("user{i}"), "password1"), sprayer, None)
            .await;
    }
    let e = f
        .core
        .login_from(login("ada", "correct horse"), sprayer, None)
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "too many failed logins from this address; try again in 60 seconds"
    );
}

#[tokio::test]
async fn sessions_expire() {
    let f = fixture().await;
    let (s, _) = f.admin().await;
    assert!(f.core.authenticate(&s.token).await.is_ok());
    assert_eq!(
        f.core.authenticate("not-a-token").await.unwrap_err().code(),
        "unauthorized"
    );
    f.clock
        .advance(Duration::hours(SESSION_HOURS) + Duration::seconds(1));
    assert_eq!(
        f.core.authenticate(&s.token).await.unwrap_err().code(),
        "unauthorized"
    );
}

#[tokio::test]
async fn logout_ends_the_session() {
    let f = fixture().await;
    let (s, _) = f.admin().await;
    f.core.logout(&s.token).await.unwrap();
    assert!(f.core.authenticate(&s.token).await.is_err());
}

#[tokio::test]
async fn only_admins_create_users_and_viewers_cannot_write() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let viewer = f
        .core
        .create_user(
            &admin,
            NewUser {
                username: "vic".into(),
                display_name: "Vic".into(),
                role: Role::Viewer,
                password: "viewer123".into(),
            },
        )
        .await
        .unwrap();
    let vs = f.core.login(login("vic", "viewer123")).await.unwrap();
    let v = f.core.authenticate(&vs.token).await.unwrap();
    assert_eq!(v.role, Role::Viewer);
    assert_eq!(viewer.role, Role::Viewer);
    let denied = f
        .core
        .create_client(
            &v,
            outpost_proto::NewClient {
                name: "X".into(),
                notes: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(denied.code(), "forbidden");
    let denied = f
        .core
        .create_user(
            &v,
            NewUser {
                username: "x".into(),
                display_name: "X".into(),
                role: Role::Admin,
                password: "12345678".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(denied.code(), "forbidden");
    let short = f
        .core
        .create_user(
            &admin,
            NewUser {
                username: "tom".into(),
                display_name: "Tom".into(),
                role: Role::Technician,
                password: "short".into(),
            },
        )
        .await
        .unwrap_err();
    assert!(short.to_string().contains("at least 8"), "{short}");
    let dup = f
        .core
        .create_user(
            &admin,
            NewUser {
                username: "VIC".into(),
                display_name: "Vic 2".into(),
                role: Role::Technician,
                password: "password1".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(dup.code(), "conflict");
}

#[tokio::test]
async fn an_api_key_expires_and_says_so() {
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    let made = f
        .core
        .create_api_key(
            &admin,
            outpost_proto::NewApiKey {
                name: "Nightly export".into(),
                role: Role::Viewer,
                clients: vec![],
                expires_in_days: Some(1),
                rate_per_minute: None,
            },
        )
        .await
        .unwrap();
    let actor = f.core.authenticate(&made.key).await.unwrap();
    assert_eq!(
        (actor.name.as_str(), actor.role),
        ("API key: Nightly export", Role::Viewer)
    );
    assert_eq!(made.api_key.rate_per_minute, 1000);
    let stored: String = sqlx::query_scalar("SELECT key_hash FROM api_keys")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    assert!(!stored.contains(&made.key[4..]), "only a hash is kept");
    f.clock.advance(Duration::days(1) + Duration::seconds(1));
    let e = f.core.authenticate(&made.key).await.unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(e.to_string().contains("'Nightly export' expired on"), "{e}");
    // Its last use was recorded.
    let listed = f.core.list_api_keys(&admin).await.unwrap();
    assert!(listed[0].last_used_at.is_some());
}
