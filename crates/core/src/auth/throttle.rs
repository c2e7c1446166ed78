//! Failed-login throttling that slows guessing without locking anyone out.
//!
//! Failures are counted twice: per account *and* source address, and per source address
//! alone. Someone guessing ada's password from one address is soon made to wait there, but
//! ada logging in from her own address is not: her pair has no failures. An address that
//! fails across many accounts (password spraying) waits for every account. The counts live
//! in memory: a failed login writes nothing to the store (a flood of guesses must not become
//! a flood of writes), and a restart forgets them, which only an attacker with the server's
//! console could cause.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failures allowed per account from one address before it must wait.
pub const FREE_FAILURES_PER_ACCOUNT: u32 = 5;
/// Failures allowed from one address across all accounts (an office behind one NAT shares
/// it, so it is generous).
pub const FREE_FAILURES_PER_ADDRESS: u32 = 30;
/// The first wait per account and address; it doubles with each further failure.
const ACCOUNT_FIRST_WAIT_MS: i64 = 30_000;
const ACCOUNT_MAX_WAIT_MS: i64 = 15 * 60_000;
const ADDRESS_FIRST_WAIT_MS: i64 = 60_000;
const ADDRESS_MAX_WAIT_MS: i64 = 60 * 60_000;
/// A count not added to for this long is forgotten.
const ACCOUNT_FORGET_MS: i64 = 60 * 60_000;
const ADDRESS_FORGET_MS: i64 = 6 * 60 * 60_000;
/// Beyond this many remembered counts, forgotten ones are swept before adding.
const SWEEP_ABOVE: usize = 50_000;

/// Where a login came from: an address over the network, or this device (a console's own
/// offline login), which counts as one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    Address(IpAddr),
    ThisDevice,
}

impl Source {
    pub fn from(addr: Option<IpAddr>) -> Source {
        addr.map(|a| Source::Address(canonical(a)))
            .unwrap_or(Source::ThisDevice)
    }
}

/// An IPv4 address mapped into IPv6 is that IPv4 address; an IPv6 address is counted by its
/// /64, which one home or office holds whole (a guesser would otherwise walk through it).
fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

#[derive(Clone, Copy, Debug)]
struct Count {
    failures: u32,
    last_ms: i64,
    /// Refused until then (ms since the epoch).
    wait_until_ms: i64,
}

#[derive(Default)]
pub(crate) struct LoginThrottle {
    inner: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    accounts: HashMap<(String, Source), Count>,
    addresses: HashMap<Source, Count>,
}

/// Why a login must wait, and for how long.
pub(crate) struct Wait {
    pub secs: u64,
    /// Whether the address as a whole waits (many accounts failed from it).
    pub whole_address: bool,
}

fn wait_of(c: Option<&Count>, now_ms: i64) -> Option<i64> {
    c.map(|c| c.wait_until_ms - now_ms).filter(|&ms| ms > 0)
}

fn add_failure(c: &mut Count, now_ms: i64, forget_ms: i64, free: u32, first_ms: i64, max_ms: i64) {
    if now_ms - c.last_ms > forget_ms {
        *c = Count {
            failures: 0,
            last_ms: now_ms,
            wait_until_ms: 0,
        };
    }
    c.failures = c.failures.saturating_add(1);
    c.last_ms = now_ms;
    if c.failures >= free {
        let doublings = (c.failures - free).min(20);
        let wait = first_ms.saturating_mul(1 << doublings).min(max_ms);
        c.wait_until_ms = now_ms + wait;
    }
}

impl LoginThrottle {
    /// Whether this account may try a password from this source now.
    pub(crate) fn check(&self, username: &str, source: Source, now_ms: i64) -> Option<Wait> {
        let counts = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let address = wait_of(counts.addresses.get(&source), now_ms);
        let account = wait_of(counts.accounts.get(&(username.to_string(), source)), now_ms);
        let (ms, whole_address) = match (address, account) {
            (Some(a), Some(b)) if b > a => (b, false),
            (Some(a), _) => (a, true),
            (None, Some(b)) => (b, false),
            (None, None) => return None,
        };
        Some(Wait {
            secs: ((ms + 999) / 1000) as u64,
            whole_address,
        })
    }

    /// A wrong password (or an unknown account) from this source.
    pub(crate) fn failed(&self, username: &str, source: Source, now_ms: i64) {
        let mut counts = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if counts.accounts.len() + counts.addresses.len() > SWEEP_ABOVE {
            counts
                .accounts
                .retain(|_, c| now_ms - c.last_ms <= ACCOUNT_FORGET_MS);
            counts
                .addresses
                .retain(|_, c| now_ms - c.last_ms <= ADDRESS_FORGET_MS);
        }
        let fresh = Count {
            failures: 0,
            last_ms: now_ms,
            wait_until_ms: 0,
        };
        let account = counts
            .accounts
            .entry((username.to_string(), source))
            .or_insert(fresh);
        add_failure(
            account,
            now_ms,
            ACCOUNT_FORGET_MS,
            FREE_FAILURES_PER_ACCOUNT,
            ACCOUNT_FIRST_WAIT_MS,
            ACCOUNT_MAX_WAIT_MS,
        );
        let address = counts.addresses.entry(source).or_insert(fresh);
        add_failure(
            address,
            now_ms,
            ADDRESS_FORGET_MS,
            FREE_FAILURES_PER_ADDRESS,
            ADDRESS_FIRST_WAIT_MS,
            ADDRESS_MAX_WAIT_MS,
        );
    }

    /// The right password: this account's count from this source starts again. The
    /// address's count does not, or one valid account would let a guesser reset it.
    pub(crate) fn succeeded(&self, username: &str, source: Source) {
        let mut counts = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        counts.accounts.remove(&(username.to_string(), source));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Source {
        Source::from(Some(s.parse().unwrap()))
    }

    #[test]
    fn an_account_waits_only_at_the_address_that_guessed() {
        let t = LoginThrottle::default();
        let (a, b) = (addr("203.0.113.7"), addr("198.51.100.2"));
        for _ in 0..FREE_FAILURES_PER_ACCOUNT {
            assert!(t.check("ada", a, 0).is_none());
            t.failed("ada", a, 0);
        }
        let wait = t.check("ada", a, 1_000).expect("guessing address waits");
        assert_eq!((wait.secs, wait.whole_address), (29, false));
        assert!(
            t.check("ada", b, 1_000).is_none(),
            "her own address does not"
        );
        assert!(
            t.check("bob", a, 1_000).is_none(),
            "another account does not"
        );
        // Each further failure doubles the wait, up to 15 minutes.
        for _ in 0..12 {
            t.failed("ada", a, 40_000);
        }
        assert_eq!(t.check("ada", a, 40_000).unwrap().secs, 15 * 60);
        // Forgotten after an hour without failures.
        assert!(t.check("ada", a, 40_000 + 61 * 60_000).is_none());
        t.failed("ada", a, 40_000 + 61 * 60_000);
        assert!(t.check("ada", a, 40_000 + 61 * 60_000).is_none());
    }

    #[test]
    fn spraying_many_accounts_makes_the_address_wait_and_success_does_not_reset_it() {
        let t = LoginThrottle::default();
        let a = addr("203.0.113.7");
        for i in 0..FREE_FAILURES_PER_ADDRESS {
            t.failed(&format!("user{i}"), a, 0);
            t.succeeded("mallory", a);
        }
        let wait = t.check("mallory", a, 0).expect("the address waits");
        assert!(wait.whole_address);
        assert_eq!(wait.secs, 60);
        assert!(t.check("ada", addr("203.0.113.8"), 0).is_none());
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(addr("2001:db8:1:2:aaaa::1"), addr("2001:db8:1:2:bbbb::9"));
        assert_ne!(addr("2001:db8:1:2::1"), addr("2001:db8:1:3::1"));
        assert_eq!(addr("::ffff:192.0.2.1"), addr("192.0.2.1"));
    }
}
