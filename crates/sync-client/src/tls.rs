//! Certificate pinning: a console trusts the one certificate whose fingerprint it saved
//! when it connected (shown to the person first), not any certificate a CA signed. A
//! self-signed server certificate works, and a man in the middle with a CA-signed
//! certificate for the same name does not.

use outpost_core::sync::certificate_fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex};

/// What a certificate must be: the pinned fingerprint, or (with None) anything, while the
/// fingerprint presented is recorded for the person to compare.
#[derive(Debug)]
struct Pin {
    expected: Option<String>,
    presented: Mutex<Option<String>>,
    provider: Arc<CryptoProvider>,
}

/// Marks our refusal in the error chain, so callers can tell it from a network failure.
pub(crate) const MISMATCH: &str = "certificate does not match the pinned fingerprint";

impl ServerCertVerifier for Pin {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = certificate_fingerprint(end_entity);
        *self.presented.lock().unwrap_or_else(|p| p.into_inner()) = Some(presented.clone());
        match &self.expected {
            Some(pin) if *pin != presented => {
                Err(rustls::Error::General(format!("{MISMATCH}: {presented}")))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    // The handshake signatures are still checked: the server must hold the certificate's key.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn pin(expected: Option<String>) -> Arc<Pin> {
    Arc::new(Pin {
        expected,
        presented: Mutex::new(None),
        provider: Arc::new(rustls::crypto::ring::default_provider()),
    })
}

fn config(verifier: Arc<Pin>) -> rustls::ClientConfig {
    let provider = verifier.provider.clone();
    let mut c = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    c
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
    let presented = verifier
        .presented
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
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
