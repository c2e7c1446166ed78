//! Metrics history: raw 1-minute rows for 7 days, 5-minute rollups for 30 days, hourly for
//! 13 months, each with min/avg/max and the number of samples, so a spike survives every
//! rollup. A chart asks for a range; the resolution follows from its length and age.

use crate::clock::to_ms;
use crate::error::{invalid, CoreResult};
use crate::store::{Actor, Core};
use chrono::{DateTime, Duration, TimeZone, Utc};
use outpost_proto::{
    ChartImage, ChartQuery, ChartTheme, MetricHistory, MetricPoint, MetricSeries, MetricsQuery,
    Stat,
};
use sqlx::Row;
use uuid::Uuid;

/// One bucket's numbers, as an agent's heartbeat gives them.
pub(crate) struct Bucket {
    pub cpu: Option<Stat>,
    pub memory: Option<Stat>,
    pub disk: Option<Stat>,
    pub net_in: Option<Stat>,
    pub net_out: Option<Stat>,
    pub temperature: Option<Stat>,
}

/// Percentages and degrees in tenths, throughput in whole bytes per second.
fn scale(series: MetricSeries) -> f64 {
    match series {
        MetricSeries::NetIn | MetricSeries::NetOut => 1.0,
        _ => 10.0,
    }
}

fn columns(series: MetricSeries) -> &'static str {
    match series {
        MetricSeries::Cpu => "cpu",
        MetricSeries::Memory => "mem",
        MetricSeries::Disk => "disk",
        MetricSeries::NetIn => "in",
        MetricSeries::NetOut => "out",
        MetricSeries::Temperature => "temp",
    }
}

/// The 18 stored values of a bucket, in column order (cpu, mem, disk, in, out, temp).
pub(crate) fn to_stored(b: &Bucket) -> [Option<i64>; 18] {
    let mut out = [None; 18];
    let parts = [
        (MetricSeries::Cpu, b.cpu),
        (MetricSeries::Memory, b.memory),
        (MetricSeries::Disk, b.disk),
        (MetricSeries::NetIn, b.net_in),
        (MetricSeries::NetOut, b.net_out),
        (MetricSeries::Temperature, b.temperature),
    ];
    for (i, (series, stat)) in parts.into_iter().enumerate() {
        if let Some(s) = stat {
            let k = scale(series);
            out[i * 3] = Some((s.min * k).round() as i64);
            out[i * 3 + 1] = Some((s.avg * k).round() as i64);
            out[i * 3 + 2] = Some((s.max * k).round() as i64);
        }
    }
    out
}

const RAW_KEEP: Duration = Duration::days(7);
const FIVE_KEEP: Duration = Duration::days(30);
const HOUR_KEEP: Duration = Duration::days(396);

/// (table, bucket seconds)
fn level_for(from: DateTime<Utc>, to: DateTime<Utc>, now: DateTime<Utc>) -> (&'static str, i64) {
    let span = to - from;
    if span <= Duration::hours(25) && from >= now - RAW_KEEP {
        ("metrics_1m", 60)
    } else if span <= Duration::days(8) && from >= now - FIVE_KEEP {
        ("metrics_5m", 300)
    } else {
        ("metrics_1h", 3600)
    }
}

fn rollup_sql(from: &str, to: &str, secs: i64) -> String {
    let mut cols = String::new();
    for c in ["cpu", "mem", "disk", "in", "out", "temp"] {
        cols.push_str(&format!(
            ", min({c}_lo), CAST(round(sum({c}_av * n) * 1.0 / \
             nullif(sum(CASE WHEN {c}_av IS NULL THEN 0 ELSE n END), 0)) AS INTEGER), max({c}_hi)"
        ));
    }
    format!(
        "INSERT OR REPLACE INTO {to} (asset_no, at, n, cpu_lo, cpu_av, cpu_hi, mem_lo, mem_av, \
         mem_hi, disk_lo, disk_av, disk_hi, in_lo, in_av, in_hi, out_lo, out_av, out_hi, \
         temp_lo, temp_av, temp_hi) SELECT asset_no, at - at % {secs}, sum(n){cols} FROM {from} \
         WHERE at >= ? AND at < ? GROUP BY asset_no, at - at % {secs}"
    )
}

/// The lines drawn across a chart: the limits the endpoint's health is judged by.
fn thresholds(series: MetricSeries) -> Vec<outpost_chart::Threshold> {
    use outpost_chart::{Severity, Threshold};
    let t = |value: f64, severity: Severity| Threshold {
        value,
        label: format!(
            "{} {}",
            if severity == Severity::Critical {
                "critical"
            } else {
                "warning"
            },
            outpost_chart::format_value(value, series.unit())
        ),
        severity,
    };
    match series {
        MetricSeries::Cpu => vec![t(85.0, Severity::Warning)],
        MetricSeries::Memory => vec![t(90.0, Severity::Warning), t(98.0, Severity::Critical)],
        MetricSeries::Disk => vec![t(90.0, Severity::Warning), t(95.0, Severity::Critical)],
        MetricSeries::Temperature => vec![t(80.0, Severity::Warning)],
        MetricSeries::NetIn | MetricSeries::NetOut => Vec::new(),
    }
}

fn title(series: MetricSeries) -> &'static str {
    match series {
        MetricSeries::Cpu => "CPU",
        MetricSeries::Memory => "Memory",
        MetricSeries::Disk => "Disk (fullest)",
        MetricSeries::NetIn => "Network in",
        MetricSeries::NetOut => "Network out",
        MetricSeries::Temperature => "Temperature",
    }
}

impl Core {
    /// One series of an endpoint's history drawn as a chart (SVG).
    pub async fn asset_chart(
        &self,
        actor: &Actor,
        asset_id: Uuid,
        q: &ChartQuery,
    ) -> CoreResult<ChartImage> {
        let width = q.width.unwrap_or(720);
        let height = q.height.unwrap_or(220);
        if !(200..=2400).contains(&width) || !(120..=1600).contains(&height) {
            return Err(invalid(
                "width must be 200..=2400 and height 120..=1600 pixels",
            ));
        }
        let h = self
            .asset_metrics(
                actor,
                asset_id,
                &MetricsQuery {
                    series: q.series,
                    from: q.from,
                    to: q.to,
                },
            )
            .await?;
        let points: Vec<outpost_chart::Point> = h
            .points
            .iter()
            .map(|p| outpost_chart::Point {
                at: p.at,
                min: p.min,
                avg: p.avg,
                max: p.max,
            })
            .collect();
        let summary = match (
            points.iter().map(|p| p.max).reduce(f64::max),
            points.is_empty(),
        ) {
            (Some(peak), false) => {
                let avg = points.iter().map(|p| p.avg).sum::<f64>() / points.len() as f64;
                format!(
                    "{}: average {}, peak {} over the range",
                    title(q.series),
                    outpost_chart::format_value(avg, q.series.unit()),
                    outpost_chart::format_value(peak, q.series.unit())
                )
            }
            _ => format!("{}: no data for this range", title(q.series)),
        };
        let svg = outpost_chart::render(&outpost_chart::Spec {
            title: title(q.series).into(),
            unit: q.series.unit().into(),
            from: h.from,
            to: h.to,
            step_secs: h.resolution_secs,
            points,
            thresholds: thresholds(q.series),
            percent: q.series.unit() == "%",
            theme: match q.theme.unwrap_or(ChartTheme::Light) {
                ChartTheme::Light => outpost_chart::Theme::Light,
                ChartTheme::Dark => outpost_chart::Theme::Dark,
            },
            width,
            height,
        })
        .map_err(crate::error::CoreError::Internal)?;
        Ok(ChartImage {
            svg,
            series: q.series,
            resolution_secs: h.resolution_secs,
            points: h.points.len() as i64,
            summary,
        })
    }

    /// One series of an endpoint's history over a range.
    pub async fn asset_metrics(
        &self,
        actor: &Actor,
        asset_id: Uuid,
        q: &MetricsQuery,
    ) -> CoreResult<MetricHistory> {
        self.get_asset(actor, asset_id).await?;
        let now = self.now();
        let to = q.to.unwrap_or(now);
        let from = q.from.unwrap_or(to - Duration::days(1));
        if from >= to {
            return Err(invalid("from must be before to"));
        }
        if to - from > Duration::days(400) {
            return Err(invalid("a metrics range may span at most 400 days"));
        }
        let (table, secs) = level_for(from, to, now);
        let c = columns(q.series);
        let k = scale(q.series);
        let no: Option<i64> = sqlx::query_scalar("SELECT no FROM metric_assets WHERE asset_id = ?")
            .bind(asset_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let mut points = Vec::new();
        if let Some(no) = no {
            let sql = format!(
                "SELECT at, n, {c}_lo AS lo, {c}_av AS av, {c}_hi AS hi FROM {table} \
                 WHERE asset_no = ? AND at >= ? AND at < ? AND {c}_av IS NOT NULL ORDER BY at"
            );
            let from_s = from.timestamp() - from.timestamp().rem_euclid(secs);
            for r in sqlx::query(&sql)
                .bind(no)
                .bind(from_s)
                .bind(to.timestamp())
                .fetch_all(&self.pool)
                .await?
            {
                let at: i64 = r.get("at");
                points.push(MetricPoint {
                    at: Utc.timestamp_opt(at, 0).single().unwrap_or(from),
                    min: r.get::<i64, _>("lo") as f64 / k,
                    avg: r.get::<i64, _>("av") as f64 / k,
                    max: r.get::<i64, _>("hi") as f64 / k,
                    count: r.get("n"),
                });
            }
        }
        Ok(MetricHistory {
            series: q.series,
            unit: q.series.unit().into(),
            from,
            to,
            resolution_secs: secs,
            points,
        })
    }

    /// Keeps a series a console fetched from its server, so the chart still shows offline.
    /// Only the fetched series is written; the other series of those buckets stay as they
    /// were cached.
    pub async fn cache_metrics(&self, asset_id: Uuid, h: &MetricHistory) -> CoreResult<()> {
        let table = match h.resolution_secs {
            60 => "metrics_1m",
            300 => "metrics_5m",
            3600 => "metrics_1h",
            other => return Err(invalid(format!("no metrics are kept at {other} s"))),
        };
        if h.points.len() > 50_000 {
            return Err(invalid("too many points to cache at once"));
        }
        let no = self.metric_asset_no(asset_id).await?;
        let c = columns(h.series);
        let k = scale(h.series);
        let sql = format!(
            "INSERT INTO {table} (asset_no, at, n, {c}_lo, {c}_av, {c}_hi) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (asset_no, at) DO UPDATE SET n = excluded.n, {c}_lo = excluded.{c}_lo, \
             {c}_av = excluded.{c}_av, {c}_hi = excluded.{c}_hi"
        );
        let _guard = self.write_lock_only().await;
        let mut tx = self.pool.begin().await?;
        for p in &h.points {
            if ![p.min, p.avg, p.max].iter().all(|v| v.is_finite()) {
                continue;
            }
            sqlx::query(&sql)
                .bind(no)
                .bind(p.at.timestamp())
                .bind(p.count.max(1))
                .bind((p.min * k).round() as i64)
                .bind((p.avg * k).round() as i64)
                .bind((p.max * k).round() as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rolls finished minutes into 5-minute and hourly buckets (again over late data), and
    /// forgets what is past its keeping time. Run every minute by the gateway's host.
    pub async fn roll_up_metrics(&self) -> CoreResult<()> {
        let now = self.now().timestamp();
        for (level, from, to, secs) in [
            ("5m", "metrics_1m", "metrics_5m", 300),
            ("1h", "metrics_5m", "metrics_1h", 3600),
        ] {
            let _guard = self.write_lock_only().await;
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "INSERT OR IGNORE INTO metric_rollups (level, done_until) \
                 VALUES (?, coalesce((SELECT min(at) FROM metrics_1m), 0))",
            )
            .bind(level)
            .execute(&mut *tx)
            .await?;
            let done: i64 =
                sqlx::query_scalar("SELECT done_until FROM metric_rollups WHERE level = ?")
                    .bind(level)
                    .fetch_one(&mut *tx)
                    .await?;
            let start = done - done.rem_euclid(secs);
            // A bucket is rolled while it fills, and again once it is complete.
            let end = now - now.rem_euclid(secs) + secs;
            if start < end {
                sqlx::query(&rollup_sql(from, to, secs))
                    .bind(start)
                    .bind(end)
                    .execute(&mut *tx)
                    .await?;
                // The bucket still filling is done again next time.
                let finished = (now - 120) - (now - 120).rem_euclid(secs);
                sqlx::query("UPDATE metric_rollups SET done_until = ? WHERE level = ?")
                    .bind(finished.max(start))
                    .bind(level)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Forgets metrics past their keeping time (hourly is often enough). Deletes by asset,
    /// so each is a range of the primary key, not a scan of the table.
    pub async fn forget_old_metrics(&self) -> CoreResult<()> {
        let now = self.now();
        let _guard = self.write_lock_only().await;
        for (table, keep) in [
            ("metrics_1m", RAW_KEEP),
            ("metrics_5m", FIVE_KEEP),
            ("metrics_1h", HOUR_KEEP),
        ] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE asset_no IN (SELECT no FROM metric_assets) AND at < ?"
            ))
            .bind(to_ms(now - keep) / 1000)
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resolution_follows_the_range() {
        let now = Utc::now();
        assert_eq!(level_for(now - Duration::hours(1), now, now).1, 60);
        assert_eq!(level_for(now - Duration::days(7), now, now).1, 300);
        assert_eq!(level_for(now - Duration::days(30), now, now).1, 3600);
        // Raw minutes are gone after a week: an old day comes from the 5-minute rollup.
        let old = now - Duration::days(10);
        assert_eq!(level_for(old - Duration::hours(2), old, now).1, 300);
    }
}
