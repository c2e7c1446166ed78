//! Endpoint metrics through the core: heartbeats stored per minute, rolled up without losing
//! the spikes, read back at the resolution a range needs, and cached by a console.

use crate::{fixture, Fixture};
use chrono::Duration;
use outpost_core::fleet::telemetry::Arrival;
use outpost_proto::{
    AgentMessage, ChartQuery, DiskUse, Heartbeat, MetricSeries, MetricsQuery, Stat,
};

async fn enrolled(f: &Fixture) -> outpost_core::fleet::agents::AgentSession {
    let (_, admin) = f.admin().await;
    let client = f.client(&admin, "Acme").await;
    super::enroll(
        f,
        &admin,
        client,
        "RECEPTION-PC",
        "Windows 11",
        &"cd".repeat(32),
    )
    .await
    .1
}

fn beat(seq: u64, at: chrono::DateTime<chrono::Utc>, cpu: f64) -> AgentMessage {
    let flat = |v: f64| Stat {
        min: v,
        avg: v,
        max: v,
    };
    AgentMessage::Heartbeat(Heartbeat {
        seq,
        at,
        window_secs: 60,
        samples: 12,
        cpu: Stat {
            min: cpu / 2.0,
            avg: cpu,
            max: (cpu * 1.5).min(100.0),
        },
        memory: flat(40.0),
        disks: vec![DiskUse {
            mount: "C:".into(),
            used_pct: 61.0,
        }],
        net_in: flat(1000.0),
        net_out: flat(500.0),
        temperature: None,
        top_processes: vec![],
    })
}

#[tokio::test]
async fn minutes_roll_up_keeping_their_spikes_and_read_back_by_range() {
    let f = fixture().await;
    let session = enrolled(&f).await;
    let start = f.core.now();
    // Ten minutes of heartbeats, CPU 10, 20, … 100 %.
    for i in 0..10u64 {
        f.clock.advance(Duration::minutes(1));
        let cpu = 10.0 * (i + 1) as f64;
        let report = f
            .core
            .receive(&[Arrival::new(&session, beat(i + 1, f.core.now(), cpu))])
            .await
            .unwrap();
        assert_eq!(report.stored, vec![true]);
    }
    // A replay of a stored number is not stored again.
    let again = f
        .core
        .receive(&[Arrival::new(&session, beat(3, f.core.now(), 99.0))])
        .await
        .unwrap();
    assert_eq!(again.stored, vec![false], "a replayed number is not new");
    let admin = outpost_core::Actor::system();
    let raw = f
        .core
        .asset_metrics(
            &admin,
            session.asset_id,
            &MetricsQuery {
                series: MetricSeries::Cpu,
                from: Some(start),
                to: Some(f.core.now() + Duration::minutes(1)),
            },
        )
        .await
        .unwrap();
    assert_eq!(raw.resolution_secs, 60);
    assert_eq!(raw.points.len(), 10, "{raw:?}");
    assert_eq!(
        raw.points.iter().map(|p| p.count).sum::<i64>(),
        10,
        "the replay is not counted"
    );
    assert_eq!(raw.points[9].max, 100.0);

    f.clock.advance(Duration::minutes(10));
    f.core.roll_up_metrics().await.unwrap();
    let week = f
        .core
        .asset_metrics(
            &admin,
            session.asset_id,
            &MetricsQuery {
                series: MetricSeries::Cpu,
                from: Some(f.core.now() - Duration::days(7)),
                to: Some(f.core.now()),
            },
        )
        .await
        .unwrap();
    assert_eq!(week.resolution_secs, 300);
    // Minutes 10:00-10:04 hold CPU 10..40 (the first beat lands at 10:00's bucket end).
    let n: i64 = week.points.iter().map(|p| p.count).sum();
    assert_eq!(n, 10);
    let spike = week.points.iter().map(|p| p.max).fold(0.0, f64::max);
    assert_eq!(
        spike, 100.0,
        "the highest minute survives the rollup: {week:?}"
    );
    let low = week.points.iter().map(|p| p.min).fold(100.0, f64::min);
    assert_eq!(low, 5.0);
    for p in &week.points {
        assert!(p.min <= p.avg && p.avg <= p.max, "{p:?}");
    }

    // A console caches what it fetched and reads (and draws) it with no server.
    let console = fixture().await;
    console.clock.set(f.core.now());
    let there = enrolled(&console).await.asset_id;
    console.core.cache_metrics(there, &week).await.unwrap();
    let cached = console
        .core
        .asset_metrics(
            &admin,
            there,
            &MetricsQuery {
                series: MetricSeries::Cpu,
                from: week.from.into(),
                to: week.to.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(cached.points, week.points);
    let chart = console
        .core
        .asset_chart(
            &admin,
            there,
            &ChartQuery {
                series: MetricSeries::Cpu,
                from: Some(week.from),
                to: Some(week.to),
                theme: None,
                width: None,
                height: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(chart.points, week.points.len() as i64);
    assert!(
        chart.svg.starts_with("<svg") && chart.summary.contains("peak 100 %"),
        "{}",
        chart.summary
    );
}
