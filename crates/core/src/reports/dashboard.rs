//! The dashboard: the desk and the fleet for a period, for every client the person may see
//! or one of them.

use super::Period;
use crate::error::{invalid, CoreError, CoreResult};
use crate::store::{parse_uuid, Actor, Core};
use outpost_chart::{render_bars, BarSeries, BarSpec};
use outpost_proto::{
    ChartRegion, ChartTheme, ClientFigures, Compliance, CountBy, Dashboard, DashboardChart,
    DashboardChartKind, DashboardChartQuery, DashboardChartsQuery, DashboardQuery,
    DashboardWithCharts, DayFigures, FleetHealth, Priority, PriorityCompliance, TechnicianHours,
    TicketStatus,
};
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

const TOP: usize = 10;
const DAY_MS: i64 = 86_400_000;
/// Every zone's offset is a whole number of quarter hours.
const QUARTER_MS: i64 = 900_000;

pub(crate) fn finish(mut c: Compliance) -> Compliance {
    let decided = c.met + c.missed;
    c.percent = (decided > 0).then(|| (c.met as f64 * 1000.0 / decided as f64).round() / 10.0);
    c
}

impl Core {
    /// The conditions limiting tickets (`t.client_id`) and endpoints (`a.client_id`) to the
    /// person's clients and the chosen one, which must exist.
    async fn client_scope(&self, actor: &Actor, client: Option<Uuid>) -> CoreResult<[String; 2]> {
        if let Some(c) = client {
            actor.require_client(c)?;
            let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM clients WHERE id = ?")
                .bind(c.to_string())
                .fetch_one(&self.pool)
                .await?;
            if exists == 0 {
                return Err(CoreError::NotFound(format!("client {c} does not exist")));
            }
        }
        Ok(["t.client_id", "a.client_id"].map(|column| {
            let cond = actor.client_condition(column);
            match client {
                // A parsed UUID: inlining it cannot inject SQL.
                Some(c) => format!("{cond} AND {column} = '{c}'"),
                None => cond,
            }
        }))
    }

    pub async fn dashboard(&self, actor: &Actor, q: &DashboardQuery) -> CoreResult<Dashboard> {
        let zone = self.organisation_zone().await?;
        let period = Period::parse(&q.from, &q.to, zone)?;
        self.dashboard_in(actor, &period, q.client_id).await
    }

    /// The dashboard's figures for a period in any zone (a client report counts in the
    /// client's), so the report's summary is the dashboard's, number for number.
    pub(crate) async fn dashboard_in(
        &self,
        actor: &Actor,
        period: &Period,
        client_id: Option<Uuid>,
    ) -> CoreResult<Dashboard> {
        let zone = period.zone;
        let now = self.now();
        if period.starts_after(now) {
            return Err(invalid(format!(
                "the period starts on {}, in the future: nothing has happened in it yet",
                period.from
            )));
        }
        let [tickets, assets] = self.client_scope(actor, client_id).await?;
        let (start, end, now_ms) = (period.start_ms(), period.end_ms(), now.timestamp_millis());
        // Every count at once: the store has several readers.
        let answered = "coalesce(t.first_response_at, t.resolved_at)";
        let in_period = |column: &str, index: &str, table: &str, cond: &str| {
            format!(
                "SELECT {column} / {QUARTER_MS} AS q, count(*) AS n FROM {table} INDEXED BY {index} \
                 WHERE {column} >= ?1 AND {column} < ?2 AND {cond} GROUP BY q"
            )
        };
        let sql_open = format!(
            "SELECT t.priority, t.status, count(*) AS n, \
               sum(t.created_at > ?1 - {DAY_MS}) AS d1, \
               sum(t.created_at <= ?1 - {DAY_MS} AND t.created_at > ?1 - 3 * {DAY_MS}) AS d3, \
               sum(t.created_at <= ?1 - 3 * {DAY_MS} AND t.created_at > ?1 - 7 * {DAY_MS}) AS d7, \
               sum(t.created_at <= ?1 - 7 * {DAY_MS} AND t.created_at > ?1 - 30 * {DAY_MS}) AS d30 \
             FROM tickets t INDEXED BY tickets_open_figures WHERE t.active = 1 AND {tickets} \
             GROUP BY t.priority, t.status"
        );
        let fut_open = sqlx::query(&sql_open).bind(now_ms).fetch_all(&self.pool);
        let sql_opened_per_quarter =
            in_period("t.created_at", "tickets_created", "tickets t", &tickets);
        let fut_opened_per_quarter = sqlx::query_as(&sql_opened_per_quarter)
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool);
        let sql_closed_per_quarter =
            in_period("t.resolved_at", "tickets_resolved", "tickets t", &tickets);
        let fut_closed_per_quarter = sqlx::query_as(&sql_closed_per_quarter)
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool);
        let sql_sla_rows = format!(
            "SELECT t.priority, t.client_id, count(*) AS n, \
               sum(t.fr_due IS NOT NULL AND {answered} <= t.fr_due) AS fr_met, \
               sum(t.fr_due IS NOT NULL AND ({answered} > t.fr_due \
                   OR ({answered} IS NULL AND t.fr_due < ?3))) AS fr_missed, \
               sum(t.fr_due IS NOT NULL AND {answered} IS NULL AND t.fr_due >= ?3) AS fr_pending, \
               sum(t.res_due IS NOT NULL AND t.resolved_at <= t.res_due) AS res_met, \
               sum(t.res_due IS NOT NULL AND (t.resolved_at > t.res_due OR (t.resolved_at IS NULL \
                   AND t.paused_since IS NULL AND t.res_due < ?3))) AS res_missed, \
               sum(t.res_due IS NOT NULL AND t.resolved_at IS NULL \
                   AND (t.paused_since IS NOT NULL OR t.res_due >= ?3)) AS res_pending, \
               sum(t.first_response_at - t.created_at) AS to_fr, count(t.first_response_at) AS fr_n, \
               sum(t.resolved_at - t.created_at) AS to_res, count(t.resolved_at) AS res_n \
             FROM tickets t INDEXED BY tickets_created \
             WHERE t.created_at >= ?1 AND t.created_at < ?2 AND {tickets} \
             GROUP BY t.priority, t.client_id"
        );
        let fut_sla_rows = sqlx::query(&sql_sla_rows)
            .bind(start)
            .bind(end)
            .bind(now_ms)
            .fetch_all(&self.pool);
        let fut_names = sqlx::query_as::<_, (String, String)>("SELECT id, name FROM clients")
            .fetch_all(&self.pool);
        let sql_time = format!(
            "SELECT e.technician_id, e.billable, t.client_id, sum(e.minutes) \
             FROM time_entries e INDEXED BY time_entries_started \
             JOIN tickets t INDEXED BY tickets_id_client ON t.id = e.ticket_id \
             WHERE e.started_at >= ? AND e.started_at < ? AND {tickets} \
             GROUP BY e.technician_id, e.billable, t.client_id"
        );
        let fut_time = sqlx::query_as(&sql_time)
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool);
        let fut_people =
            sqlx::query_as::<_, (String, String)>("SELECT id, display_name FROM users")
                .fetch_all(&self.pool);
        let sql_f = format!(
            "SELECT count(*) AS n, coalesce(sum(s.online), 0) AS online, \
               coalesce(sum(s.pending_updates > 0), 0) AS updates, \
               coalesce(sum(s.reboot_required), 0) AS reboot \
             FROM endpoint_status s JOIN assets a ON a.id = s.asset_id WHERE {assets}"
        );
        let fut_f = sqlx::query(&sql_f).fetch_one(&self.pool);
        let sql_with_open_alerts = format!(
            "SELECT count(DISTINCT al.asset_id) FROM alerts al INDEXED BY alerts_state \
             JOIN assets a ON a.id = al.asset_id WHERE al.state = 'firing' AND {assets}"
        );
        let fut_with_open_alerts = sqlx::query_scalar(&sql_with_open_alerts).fetch_one(&self.pool);
        let sql_alerts_per_quarter = format!(
            "SELECT al.opened_at / {QUARTER_MS} AS q, count(*) FROM alerts al INDEXED BY alerts_opened \
             JOIN assets a ON a.id = al.asset_id \
             WHERE al.opened_at >= ? AND al.opened_at < ? AND {assets} GROUP BY q"
        );
        let fut_alerts_per_quarter = sqlx::query_as(&sql_alerts_per_quarter)
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool);
        let (
            res_open,
            res_opened_per_quarter,
            res_closed_per_quarter,
            res_sla_rows,
            res_names,
            res_time,
            res_people,
            res_f,
            res_with_open_alerts,
            res_alerts_per_quarter,
        ) = tokio::try_join!(
            fut_open,
            fut_opened_per_quarter,
            fut_closed_per_quarter,
            fut_sla_rows,
            fut_names,
            fut_time,
            fut_people,
            fut_f,
            fut_with_open_alerts,
            fut_alerts_per_quarter
        )?;

        // Unfinished tickets now.
        let open = res_open;
        let mut by_priority: HashMap<String, i64> = HashMap::new();
        let mut by_status: HashMap<String, i64> = HashMap::new();
        let mut ages = [0i64; 5];
        for r in &open {
            let n: i64 = r.get("n");
            *by_priority.entry(r.get("priority")).or_default() += n;
            *by_status.entry(r.get("status")).or_default() += n;
            let buckets: [i64; 4] = [r.get("d1"), r.get("d3"), r.get("d7"), r.get("d30")];
            for (i, b) in buckets.iter().enumerate() {
                ages[i] += b;
            }
            ages[4] += n - buckets.iter().sum::<i64>();
        }
        let open_by_priority = [
            Priority::Critical,
            Priority::High,
            Priority::Normal,
            Priority::Low,
        ]
        .iter()
        .map(|p| CountBy {
            key: p.as_str().into(),
            count: by_priority.get(p.as_str()).copied().unwrap_or(0),
        })
        .collect();
        let open_by_status = TicketStatus::ALL
            .iter()
            .filter(|s| !matches!(s, TicketStatus::Resolved | TicketStatus::Closed))
            .map(|s| CountBy {
                key: s.as_str().into(),
                count: by_status.get(s.as_str()).copied().unwrap_or(0),
            })
            .collect();
        let backlog_age = ["under_1d", "1_3d", "3_7d", "7_30d", "over_30d"]
            .iter()
            .zip(ages)
            .map(|(k, count)| CountBy {
                key: (*k).into(),
                count,
            })
            .collect();

        // Tickets opened in the period, per day: counted per quarter hour in SQL (every
        // zone's midnight falls on one), the quarters put in their days here.
        let mut days: Vec<DayFigures> = (0..period.days())
            .map(|n| DayFigures {
                day: period.day_label(n),
                opened: 0,
                closed: 0,
                alerts: 0,
            })
            .collect();
        let quarters = |rows: Vec<(i64, i64)>| {
            rows.into_iter()
                .filter_map(|(q, n)| period.day_of(q * QUARTER_MS).map(|d| (d, n)))
                .collect::<Vec<_>>()
        };
        let opened_per_quarter: Vec<(i64, i64)> = res_opened_per_quarter;
        for (d, n) in quarters(opened_per_quarter) {
            days[d].opened += n;
        }
        let closed_per_quarter: Vec<(i64, i64)> = res_closed_per_quarter;
        for (d, n) in quarters(closed_per_quarter) {
            days[d].closed += n;
        }

        // Their SLA targets and times to answer, per priority (see `state_sql` for the rules:
        // an answer or a resolution by the due time is met; no answer past it is missed; a
        // ticket waiting on the client is not late on resolution while it waits).
        let sla_rows = res_sla_rows;
        let mut first_response = Compliance::default();
        let mut resolution = Compliance::default();
        let mut per_priority: HashMap<String, (Compliance, Compliance)> = HashMap::new();
        let mut per_client: Vec<(String, i64)> = Vec::new();
        let (mut to_fr, mut fr_n, mut to_res, mut res_n) = (0i64, 0i64, 0i64, 0i64);
        let mut opened = 0;
        for r in &sla_rows {
            let get = |k: &str| r.get::<Option<i64>, _>(k).unwrap_or(0);
            let fr = Compliance {
                met: get("fr_met"),
                missed: get("fr_missed"),
                pending: get("fr_pending"),
                percent: None,
            };
            let res = Compliance {
                met: get("res_met"),
                missed: get("res_missed"),
                pending: get("res_pending"),
                percent: None,
            };
            for (total, part) in [(&mut first_response, &fr), (&mut resolution, &res)] {
                total.met += part.met;
                total.missed += part.missed;
                total.pending += part.pending;
            }
            let p = per_priority.entry(r.get("priority")).or_default();
            for (total, part) in [(&mut p.0, &fr), (&mut p.1, &res)] {
                total.met += part.met;
                total.missed += part.missed;
                total.pending += part.pending;
            }
            per_client.push((r.get::<String, _>("client_id"), get("n")));
            opened += get("n");
            to_fr += get("to_fr");
            fr_n += get("fr_n");
            to_res += get("to_res");
            res_n += get("res_n");
        }
        let by_priority = [
            Priority::Critical,
            Priority::High,
            Priority::Normal,
            Priority::Low,
        ]
        .iter()
        .map(|p| {
            let (fr, res) = per_priority.remove(p.as_str()).unwrap_or_default();
            PriorityCompliance {
                priority: *p,
                first_response: finish(fr),
                resolution: finish(res),
            }
        })
        .collect();

        // Per client: tickets opened, minutes worked; per technician: hours.
        let names: HashMap<String, String> = res_names.into_iter().collect();
        let mut clients: HashMap<String, ClientFigures> = HashMap::new();
        let figures = |clients: &mut HashMap<String, ClientFigures>, id: &str| {
            clients
                .entry(id.to_string())
                .or_insert_with(|| ClientFigures {
                    client_id: parse_uuid(id).unwrap_or_default(),
                    client_name: names.get(id).cloned().unwrap_or_default(),
                    tickets: 0,
                    minutes: 0,
                })
                .clone()
        };
        for (id, n) in per_client {
            let mut c = figures(&mut clients, &id);
            c.tickets += n;
            clients.insert(id, c);
        }
        let time: Vec<(String, bool, String, i64)> = res_time;
        let people: HashMap<String, String> = res_people.into_iter().collect();
        let mut technicians: HashMap<String, TechnicianHours> = HashMap::new();
        for (tech, billable, client, minutes) in time {
            let t = technicians
                .entry(tech.clone())
                .or_insert_with(|| TechnicianHours {
                    user_id: parse_uuid(&tech).unwrap_or_default(),
                    name: people.get(&tech).cloned().unwrap_or_default(),
                    billable_minutes: 0,
                    other_minutes: 0,
                });
            if billable {
                t.billable_minutes += minutes;
            } else {
                t.other_minutes += minutes;
            }
            let mut c = figures(&mut clients, &client);
            c.minutes += minutes;
            clients.insert(client, c);
        }
        let mut technicians: Vec<TechnicianHours> = technicians.into_values().collect();
        technicians.sort_by(|a, b| {
            (b.billable_minutes + b.other_minutes)
                .cmp(&(a.billable_minutes + a.other_minutes))
                .then_with(|| a.name.cmp(&b.name))
        });
        let clients: Vec<ClientFigures> = clients.into_values().collect();
        let top = |key: fn(&ClientFigures) -> i64| {
            let mut list: Vec<ClientFigures> =
                clients.iter().filter(|c| key(c) > 0).cloned().collect();
            list.sort_by(|a, b| {
                key(b)
                    .cmp(&key(a))
                    .then_with(|| a.client_name.cmp(&b.client_name))
            });
            list.truncate(TOP);
            list
        };
        let top_clients_by_tickets = top(|c| c.tickets);
        let top_clients_by_hours = top(|c| c.minutes);
        let mean = |sum: i64, n: i64| {
            (n > 0).then(|| (sum as f64 / n as f64 / 60_000.0 * 10.0).round() / 10.0)
        };
        let closed: i64 = days.iter().map(|d| d.closed).sum();

        // The fleet now, and alerts in the period.
        let f = res_f;
        let with_open_alerts: i64 = res_with_open_alerts;
        let endpoints: i64 = f.get("n");
        let online: i64 = f.get("online");
        let fleet = FleetHealth {
            endpoints,
            online,
            offline: endpoints - online,
            with_open_alerts,
            pending_updates: f.get("updates"),
            reboot_needed: f.get("reboot"),
        };
        let alerts_per_quarter: Vec<(i64, i64)> = res_alerts_per_quarter;
        let mut alerts_opened = 0;
        for (d, n) in quarters(alerts_per_quarter) {
            days[d].alerts += n;
            alerts_opened += n;
        }

        Ok(Dashboard {
            from: period.from.to_string(),
            to: period.to.to_string(),
            time_zone: zone.name().to_string(),
            client_id,
            open_by_priority,
            open_by_status,
            backlog_age,
            opened,
            closed,
            days,
            first_response: finish(first_response),
            resolution: finish(resolution),
            by_priority,
            mean_first_response_minutes: mean(to_fr, fr_n),
            mean_resolution_minutes: mean(to_res, res_n),
            top_clients_by_tickets,
            top_clients_by_hours,
            technicians,
            fleet,
            alerts_opened,
        })
    }
}

impl Core {
    /// One of the dashboard's charts, drawn here (the same figures as [`Core::dashboard`]),
    /// with the regions a click on it opens.
    pub async fn dashboard_chart(
        &self,
        actor: &Actor,
        q: &DashboardChartQuery,
    ) -> CoreResult<DashboardChart> {
        let d = self
            .dashboard(
                actor,
                &DashboardQuery {
                    from: q.from.clone(),
                    to: q.to.clone(),
                    client_id: q.client_id,
                },
            )
            .await?;
        draw_chart(
            &d,
            q.chart,
            ChartStyle {
                theme: q.theme,
                width: q.width,
                height: q.height,
            },
        )
    }

    /// The dashboard with all its charts, from one count (what the console's page shows).
    pub async fn dashboard_charts(
        &self,
        actor: &Actor,
        q: &DashboardChartsQuery,
    ) -> CoreResult<DashboardWithCharts> {
        let dashboard = self
            .dashboard(
                actor,
                &DashboardQuery {
                    from: q.from.clone(),
                    to: q.to.clone(),
                    client_id: q.client_id,
                },
            )
            .await?;
        let style = ChartStyle {
            theme: q.theme,
            width: q.width,
            height: q.height,
        };
        let charts = [
            DashboardChartKind::TicketsPerDay,
            DashboardChartKind::SlaByPriority,
            DashboardChartKind::AlertsPerDay,
        ]
        .into_iter()
        .map(|kind| draw_chart(&dashboard, kind, style))
        .collect::<CoreResult<Vec<_>>>()?;
        Ok(DashboardWithCharts { dashboard, charts })
    }
}

#[derive(Clone, Copy)]
pub(crate) struct ChartStyle {
    pub theme: Option<ChartTheme>,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// One chart of a dashboard's figures, with the parts a click opens.
pub(crate) fn draw_chart(
    d: &Dashboard,
    kind: DashboardChartKind,
    style: ChartStyle,
) -> CoreResult<DashboardChart> {
    let short = |day: &str| {
        chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(|d| d.format("%d %b").to_string())
            .unwrap_or_else(|_| day.to_string())
    };
    let days: Vec<String> = d.days.iter().map(|x| short(&x.day)).collect();
    let (title, categories, keys, series, percent, labels, summary) = match kind {
        DashboardChartKind::TicketsPerDay => (
            "Tickets per day",
            days,
            d.days.iter().map(|x| x.day.clone()).collect::<Vec<_>>(),
            vec![
                BarSeries {
                    name: "Opened".into(),
                    values: d.days.iter().map(|x| x.opened as f64).collect(),
                },
                BarSeries {
                    name: "Resolved".into(),
                    values: d.days.iter().map(|x| x.closed as f64).collect(),
                },
            ],
            false,
            d.days
                .iter()
                .map(|x| format!("{}: {} opened, {} resolved", x.day, x.opened, x.closed))
                .collect::<Vec<_>>(),
            format!(
                "{} tickets opened and {} resolved from {} to {}",
                d.opened, d.closed, d.from, d.to
            ),
        ),
        DashboardChartKind::AlertsPerDay => (
            "Alerts per day",
            days,
            d.days.iter().map(|x| x.day.clone()).collect(),
            vec![BarSeries {
                name: "Alerts".into(),
                values: d.days.iter().map(|x| x.alerts as f64).collect(),
            }],
            false,
            d.days
                .iter()
                .map(|x| format!("{}: {} alerts", x.day, x.alerts))
                .collect(),
            format!(
                "{} alerts opened from {} to {}",
                d.alerts_opened, d.from, d.to
            ),
        ),
        DashboardChartKind::SlaByPriority => {
            let pct = |c: &outpost_proto::Compliance| c.percent.unwrap_or(0.0);
            (
                "SLA met by priority",
                d.by_priority
                    .iter()
                    .map(|p| capitalised(p.priority.as_str()))
                    .collect(),
                d.by_priority
                    .iter()
                    .map(|p| p.priority.as_str().to_string())
                    .collect(),
                vec![
                    BarSeries {
                        name: "First response".into(),
                        values: d
                            .by_priority
                            .iter()
                            .map(|p| pct(&p.first_response))
                            .collect(),
                    },
                    BarSeries {
                        name: "Resolution".into(),
                        values: d.by_priority.iter().map(|p| pct(&p.resolution)).collect(),
                    },
                ],
                true,
                d.by_priority
                    .iter()
                    .map(|p| {
                        format!(
                            "{}: first response {} of {} met, resolution {} of {} met",
                            capitalised(p.priority.as_str()),
                            p.first_response.met,
                            p.first_response.met + p.first_response.missed,
                            p.resolution.met,
                            p.resolution.met + p.resolution.missed
                        )
                    })
                    .collect(),
                format!(
                    "SLA met: first response {}, resolution {}",
                    percent_text(d.first_response.percent),
                    percent_text(d.resolution.percent)
                ),
            )
        }
    };
    let spec = BarSpec {
        title: title.into(),
        unit: if percent { "%".into() } else { String::new() },
        categories,
        series,
        percent,
        theme: match style.theme.unwrap_or(ChartTheme::Light) {
            ChartTheme::Light => outpost_chart::Theme::Light,
            ChartTheme::Dark => outpost_chart::Theme::Dark,
        },
        width: style.width.unwrap_or(720),
        height: style.height.unwrap_or(240),
    };
    let (svg, regions) = render_bars(&spec).map_err(CoreError::Internal)?;
    Ok(DashboardChart {
        kind,
        svg,
        summary,
        regions: regions
            .into_iter()
            .map(|r| ChartRegion {
                key: keys[r.index].clone(),
                label: labels[r.index].clone(),
                x: r.x,
                y: r.y,
                w: r.w,
                h: r.h,
            })
            .collect(),
    })
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn percent_text(p: Option<f64>) -> String {
    p.map(|p| format!("{p} %"))
        .unwrap_or_else(|| "not measured yet".into())
}
