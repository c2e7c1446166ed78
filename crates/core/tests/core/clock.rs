use outpost_core::clock::{Hlc, HlcClock};
use proptest::prelude::*;
use uuid::Uuid;

proptest! {
    /// Whatever the wall clock does (stand still, jump, move back), readings strictly increase.
    #[test]
    fn hlc_strictly_increases_even_when_the_wall_clock_moves_back(
        start in 0i64..4_000_000_000_000,
        steps in proptest::collection::vec(-600_000i64..600_000, 1..200),
    ) {
        let mut clock = HlcClock::new(Uuid::now_v7(), None);
        let mut wall = start;
        let mut last = clock.tick(wall);
        for step in steps {
            wall = (wall + step).max(0);
            let next = clock.tick(wall);
            prop_assert!(next > last, "{next} not after {last}");
            prop_assert!(next.to_string() > last.to_string(), "text order must match value order");
            last = next;
        }
    }

    /// Readings received from other replicas are folded in: the next local reading is later.
    #[test]
    fn hlc_orders_after_observed_remote_readings(
        local_wall in 0i64..1_000_000, remote_wall in 0i64..2_000_000, counter in 0u32..1000,
    ) {
        let mut clock = HlcClock::new(Uuid::now_v7(), None);
        let before = clock.tick(local_wall);
        let remote = Hlc { wall_ms: remote_wall, counter, replica: Uuid::now_v7() };
        let seen = clock.observe(remote, local_wall);
        prop_assert!(seen > before);
        prop_assert!((seen.wall_ms, seen.counter) > (remote.wall_ms, remote.counter));
        prop_assert!(clock.tick(local_wall) > seen);
    }
}

#[test]
fn hlc_text_round_trips() {
    let h = Hlc {
        wall_ms: 1_763_000_000_000,
        counter: 7,
        replica: Uuid::now_v7(),
    };
    assert_eq!(h.to_string().parse::<Hlc>().unwrap(), h);
    assert!("garbage".parse::<Hlc>().is_err());
}

#[tokio::test]
async fn hlc_survives_a_restart_with_the_wall_clock_behind() {
    use crate::{fixture, monday_10};
    let f = fixture().await;
    let (_, admin) = f.admin().await;
    f.client(&admin, "Before restart").await;
    let last_before: String = sqlx::query_scalar("SELECT max(hlc) FROM changes")
        .fetch_one(f.core.pool())
        .await
        .unwrap();
    // Reopen the same file with the clock an hour behind: new changes still sort later.
    let dir = f._dir;
    drop(f.core);
    let clock = std::sync::Arc::new(outpost_core::ManualClock::new(
        monday_10() - chrono::Duration::hours(1),
    ));
    let core = outpost_core::Core::open_dir(dir.path(), clock)
        .await
        .unwrap();
    core.create_client(
        &admin,
        outpost_proto::NewClient {
            name: "After restart".into(),
            notes: None,
        },
    )
    .await
    .unwrap();
    let last_after: String = sqlx::query_scalar("SELECT max(hlc) FROM changes")
        .fetch_one(core.pool())
        .await
        .unwrap();
    assert!(last_after > last_before, "{last_after} <= {last_before}");
}
