//! Certificate pinning: a console or an agent trusts the one certificate whose fingerprint
//! it saved when it connected or enrolled (shown to a person first), not any certificate a
//! CA signed. A self-signed server certificate works, and a man in the middle with a
//! CA-signed certificate for the same name does not.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};

/// How Outpost shows a TLS certificate's identity (what consoles and agents pin): SHA-256
/// of the certificate (DER), upper-case hex pairs joined by colons, as `openssl x509
/// -fingerprint -sha256` prints it.
pub fn certificate_fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A fingerprint as a person typed or pasted it, in the form [`certificate_fingerprint`]
/// gives (case, spaces and the `SHA256:` prefix do not matter).
pub fn normalize_fingerprint(text: &str) -> Result<String, String> {
    let t = text.trim();
    let t = t
        .strip_prefix("SHA256:")
        .or_else(|| t.strip_prefix("sha256:"))
        .or_else(|| t.strip_prefix("SHA-256:"))
        .unwrap_or(t);
    let hex: String = t
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(
            "a certificate fingerprint is 32 bytes of SHA-256 in hex (64 digits, colons allowed), \
             as outpost-server prints it when it starts"
                .into(),
        );
    }
    Ok(hex
        .to_ascii_uppercase()
        .as_bytes()
        .chunks(2)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect::<Vec<_>>()
        .join(":"))
}

/// Marks our refusal in an error chain, so callers can tell it from a network failure.
pub const MISMATCH: &str = "certificate does not match the pinned fingerprint";

/// What a certificate must be: the pinned fingerprint, or (with None) anything, while the
/// fingerprint presented is recorded for a person to compare.
#[derive(Debug)]
pub struct Pin {
    expected: Option<String>,
    presented: Mutex<Option<String>>,
    provider: Arc<CryptoProvider>,
}

impl Pin {
    pub fn new(expected: Option<String>) -> Arc<Pin> {
        Arc::new(Pin {
            expected,
            presented: Mutex::new(None),
            provider: Arc::new(rustls::crypto::ring::default_provider()),
        })
    }

    /// The fingerprint of the last certificate a server presented.
    pub fn presented(&self) -> Option<String> {
        self.presented
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A TLS client configuration that trusts only this pin, speaking `alpn` (none for a
    /// WebSocket's plain HTTP/1.1 upgrade).
    pub fn client_config(self: &Arc<Pin>, alpn: &[&[u8]]) -> Result<rustls::ClientConfig, String> {
        let mut c = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(self.clone())
            .with_no_client_auth();
        c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(c)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pasted_fingerprint_reads_as_the_printed_form() {
        let printed = certificate_fingerprint(b"certificate");
        let pasted = format!("sha256:{}", printed.replace(':', "").to_lowercase());
        assert_eq!(normalize_fingerprint(&pasted).unwrap(), printed);
        assert!(normalize_fingerprint("AB:CD").is_err());
    }
}
