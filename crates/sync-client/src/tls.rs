//! Certificate pinning: a console trusts the one certificate whose fingerprint it saved
//! when it connected (shown to the person first), not any certificate a CA signed. A
//! self-signed server certificate works, and a man in the middle with a CA-signed
//! certificate for the same name does not.

use outpost_pin::{Pin, MISMATCH};
use std::sync::Arc;

fn pin(expected: Option<String>) -> Arc<Pin> {
    Pin::new(expected)
}

fn config(verifier: Arc<Pin>) -> rustls::ClientConfig {
    verifier
        .client_config(&[b"http/1.1"])
        .expect("ring supports the default protocol versions")
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(60))
}

/// An HTTP client for a server: pinned to `fingerprint` when given (https only), plain
/// CA validation otherwise. Never quietly anything else: a client that cannot be built
/// pinned is an error.
pub(crate) fn client(fingerprint: Option<&str>) -> Result<reqwest::Client, String> {
    let b = builder();
    let b = match fingerprint {
        Some(f) => b.use_preconfigured_tls(config(pin(Some(f.to_string())))),
        None => b,
    };
    b.build()
        .map_err(|e| format!("cannot set up the connection to the server: {e}"))
}

/// The fingerprint of the certificate a server presents, to show a person before they
/// trust it. Nothing but the TLS handshake and `/health` is sent.
pub async fn server_fingerprint(server_url: &str) -> Result<String, String> {
    if !server_url.trim().starts_with("https://") {
        return Err("only an https:// server has a certificate to trust".into());
    }
    let verifier = pin(None);
    let http = builder()
        .use_preconfigured_tls(config(verifier.clone()))
        .build()
        .map_err(|e| format!("cannot set up TLS: {e}"))?;
    let health = format!("{}/health", crate::api_root(server_url));
    let answered = http.get(&health).send().await;
    let presented = verifier.presented();
    // Only a server that completed the handshake with that certificate (so holds its key)
    // and answered counts.
    match (presented, answered) {
        (Some(f), Ok(r)) if r.status().is_success() => Ok(f),
        (Some(_), Ok(r)) => Err(format!(
            "{server_url} answered {} to /api/v1/health; is it an Outpost server?",
            r.status()
        )),
        (_, Err(e)) if e.is_connect() || e.is_timeout() => Err(format!(
            "cannot reach {server_url} over TLS; check the address and that the server runs"
        )),
        (_, Err(e)) => Err(format!("talking to {server_url} failed: {e}")),
        (None, Ok(_)) => Err(format!("{server_url} did not present a TLS certificate")),
    }
}

/// Whether a request failed because the server's certificate is not the pinned one; the
/// words a technician needs, if so.
pub(crate) fn mismatch(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        let text = s.to_string();
        if let Some(at) = text.find(MISMATCH) {
            let presented = text[at + MISMATCH.len()..].trim_start_matches(": ");
            return Some(format!(
                "the server's certificate has changed (it now presents {presented}); this \
                 console refuses it. If your administrator replaced the certificate, connect \
                 again in Settings to trust the new one; otherwise someone may be intercepting \
                 the connection"
            ));
        }
        if text.contains("invalid peer certificate") {
            return Some(format!(
                "the server's certificate is not trusted by this machine ({text}); a \
                 self-signed server is trusted by its fingerprint (--fingerprint, or connect \
                 from Settings to compare it)"
            ));
        }
        source = s.source();
    }
    None
}
