//! Reports: the dashboard's figures for a period (and the client service reports built on
//! the same figures, so both say the same).
//!
//! A period is whole days in a time zone (the organisation's: the SLA policy's), turned into
//! instants at each local midnight, so a day of a DST change has 23 or 25 hours and still
//! counts once. Counting is done over indexed time columns; days are bucketed here, with the
//! midnights found once.

pub mod billing;
pub mod client;
mod csv;
pub mod dashboard;
pub mod schedule;

use crate::clock::midnight;
use crate::error::{invalid, CoreResult};
use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

/// The most days one period may have.
pub const MAX_DAYS: i64 = 400;

/// Whole days `from..=to` in a zone.
#[derive(Debug, Clone)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub zone: Tz,
    /// The instant each day starts, and after the last the instant the period ends (ms).
    pub midnights: Vec<i64>,
}

pub(crate) fn day(field: &str, raw: &str) -> CoreResult<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| {
        invalid(format!(
            "{field} '{raw}' is not a date; write it as YYYY-MM-DD (e.g. 2026-11-01)"
        ))
    })
}

impl Period {
    pub fn parse(from: &str, to: &str, zone: Tz) -> CoreResult<Period> {
        let (from, to) = (day("from", from)?, day("to", to)?);
        if to < from {
            return Err(invalid(format!(
                "the period ends ({to}) before it starts ({from}); swap the dates"
            )));
        }
        let days = (to - from).num_days() + 1;
        if days > MAX_DAYS {
            return Err(invalid(format!(
                "the period has {days} days; choose at most {MAX_DAYS}"
            )));
        }
        let midnights = (0..=days as u64)
            .map(|n| midnight(zone, from.checked_add_days(Days::new(n)).expect("in range")))
            .collect();
        Ok(Period {
            from,
            to,
            zone,
            midnights,
        })
    }

    pub fn start_ms(&self) -> i64 {
        self.midnights[0]
    }

    pub fn end_ms(&self) -> i64 {
        *self.midnights.last().expect("at least one day")
    }

    pub fn days(&self) -> usize {
        self.midnights.len() - 1
    }

    /// The day (index) an instant falls in, if inside the period.
    pub fn day_of(&self, ms: i64) -> Option<usize> {
        if ms < self.start_ms() || ms >= self.end_ms() {
            return None;
        }
        Some(self.midnights.partition_point(|m| *m <= ms) - 1)
    }

    pub fn day_label(&self, n: usize) -> String {
        self.from
            .checked_add_days(Days::new(n as u64))
            .expect("in range")
            .format("%Y-%m-%d")
            .to_string()
    }

    pub fn starts_after(&self, now: DateTime<Utc>) -> bool {
        self.start_ms() > now.timestamp_millis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_follow_the_zone_across_dst() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29: clocks go from 02:00 to 03:00 in Berlin (a 23-hour day).
        let p = Period::parse("2026-03-28", "2026-03-30", berlin).unwrap();
        let hours: Vec<i64> = p
            .midnights
            .windows(2)
            .map(|w| (w[1] - w[0]) / 3_600_000)
            .collect();
        assert_eq!(hours, [24, 23, 24]);
        assert_eq!(p.day_of(p.midnights[1]), Some(1));
        assert_eq!(p.day_of(p.midnights[1] - 1), Some(0));
        assert_eq!(p.day_of(p.end_ms()), None);
        assert_eq!(p.day_label(2), "2026-03-30");
    }

    #[test]
    fn bad_periods_are_refused_in_words() {
        let utc: Tz = "UTC".parse().unwrap();
        let msg = |f: &str, t: &str| Period::parse(f, t, utc).unwrap_err().to_string();
        assert!(msg("2026-13-01", "2026-12-01").contains("YYYY-MM-DD"));
        assert!(msg("2026-12-02", "2026-12-01").contains("before it starts"));
        assert!(msg("2024-01-01", "2026-01-01").contains("at most 400"));
    }
}
