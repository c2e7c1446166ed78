//! Webhook signatures: `X-Outpost-Signature: t=UNIX,v1=HEX`, HEX being the HMAC-SHA256 of
//! `t.body` under the subscription's secret. The timestamp is signed too, so a receiver can
//! refuse old deliveries replayed by someone who recorded them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(t.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The header value for `body` sent at `t` (seconds since 1970).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!(
        "t={t},v1={}",
        hex::encode(mac(secret, t, body).finalize().into_bytes())
    )
}

/// Whether `header` signs `body` under `secret` and its time is within `tolerance_secs` of
/// `now` (what a receiver does; used by the tests and documented for integrators).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64, tolerance_secs: i64) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1.extend(hex::decode(v).ok()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    // verify_slice compares in constant time.
    v1.iter()
        .any(|sig| mac(secret, t, body).verify_slice(sig).is_ok())
}
