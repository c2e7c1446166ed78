use crate::fixture;
use chrono::Duration;
use outpost_core::auth::{FREE_LOGIN_FAILURES, SESSION_HOURS};
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
async fn repeated_failures_lock_the_account_for_a_while() {
    let f = fixture().await;
    f.admin().await;
    for _ in 0..FREE_LOGIN_FAILURES {
        assert_eq!(
            f.core.login(login("ada", "nope")).await.unwrap_err().code(),
            "unauthorized"
        );
    }
    // Even the right password is refused while locked.
    let locked = f
        .core
        .login(login("ada", "correct horse"))
        .await
        .unwrap_err();
    assert_eq!(locked.code(), "rate_limited");
    assert!(locked.to_string().contains("seconds"), "{locked}");
    f.clock.advance(Duration::minutes(2));
    assert!(f.core.login(login("ada", "correct horse")).await.is_ok());
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
