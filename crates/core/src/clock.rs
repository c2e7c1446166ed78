//! Time, passed in: the core never reads the wall clock behind a caller's back, so tests can
//! move it. Also the hybrid logical clock (HLC) that orders changes across replicas.

use chrono::{DateTime, TimeZone, Utc};
use std::fmt;
use std::sync::Mutex;

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests set by hand.
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        ManualClock(Mutex::new(at))
    }
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A hybrid logical clock reading: wall milliseconds, a counter for events within one
/// millisecond (or while the wall clock lags behind), and the replica that issued it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hlc {
    pub wall_ms: i64,
    pub counter: u32,
    pub replica: uuid::Uuid,
}

impl fmt::Display for Hlc {
    /// Fixed-width, so the text sorts exactly like the value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:015}-{:010}-{}",
            self.wall_ms,
            self.counter,
            self.replica.simple()
        )
    }
}

impl std::str::FromStr for Hlc {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '-');
        let (Some(w), Some(c), Some(r)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("'{s}' is not an HLC (wall-counter-replica)"));
        };
        Ok(Hlc {
            wall_ms: w
                .parse()
                .map_err(|_| format!("bad HLC wall time in '{s}'"))?,
            counter: c.parse().map_err(|_| format!("bad HLC counter in '{s}'"))?,
            replica: r.parse().map_err(|_| format!("bad HLC replica in '{s}'"))?,
        })
    }
}

/// Issues strictly increasing HLC readings for one replica, whatever the wall clock does.
#[derive(Debug, Clone)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    pub fn new(replica: uuid::Uuid, last: Option<Hlc>) -> Self {
        HlcClock {
            last: last.unwrap_or(Hlc {
                wall_ms: 0,
                counter: 0,
                replica,
            }),
        }
        .with_replica(replica)
    }

    fn with_replica(mut self, replica: uuid::Uuid) -> Self {
        self.last.replica = replica;
        self
    }

    /// A reading for a local event at wall time `now_ms`.
    pub fn tick(&mut self, now_ms: i64) -> Hlc {
        if now_ms > self.last.wall_ms {
            self.last.wall_ms = now_ms;
            self.last.counter = 0;
        } else {
            self.bump();
        }
        self.last
    }

    /// Folds in a reading received from another replica, so later local readings sort after it.
    pub fn observe(&mut self, remote: Hlc, now_ms: i64) -> Hlc {
        let wall = now_ms.max(self.last.wall_ms).max(remote.wall_ms);
        if wall == self.last.wall_ms && wall == remote.wall_ms {
            self.last.counter = self.last.counter.max(remote.counter);
            self.bump();
        } else if wall == self.last.wall_ms {
            self.bump();
        } else if wall == remote.wall_ms {
            self.last.wall_ms = wall;
            self.last.counter = remote.counter;
            self.bump();
        } else {
            self.last.wall_ms = wall;
            self.last.counter = 0;
        }
        self.last
    }

    fn bump(&mut self) {
        // A counter overflow moves the logical wall forward instead of wrapping.
        match self.last.counter.checked_add(1) {
            Some(c) => self.last.counter = c,
            None => {
                self.last.wall_ms += 1;
                self.last.counter = 0;
            }
        }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }
}

/// The first instant of a local day, in ms (a day that starts inside a DST gap starts at the
/// gap's end).
pub fn midnight(zone: chrono_tz::Tz, d: chrono::NaiveDate) -> i64 {
    use chrono::TimeZone;
    let mut t = d.and_hms_opt(0, 0, 0).expect("midnight exists");
    for _ in 0..4 {
        if let Some(at) = zone.from_local_datetime(&t).earliest() {
            return at.with_timezone(&Utc).timestamp_millis();
        }
        t += chrono::Duration::minutes(30);
    }
    Utc.from_utc_datetime(&t).timestamp_millis()
}
