//! Secret parameters, sealed to one agent so that the server, its logs and stored results
//! never hold them in clear. The agent's Ed25519 key is used in its X25519 (Montgomery)
//! form: an ephemeral X25519 key agrees a secret with it, HKDF-SHA256 turns that into a
//! ChaCha20-Poly1305 key used once, and the parameter's name is authenticated with it (a
//! sealed value cannot be moved to another parameter).
//!
//! Sealed bytes: ephemeral public key (32) || ciphertext with its 16-byte tag.

use crate::Refusal;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use curve25519_dalek::montgomery::MontgomeryPoint;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hkdf::Hkdf;
use sha2::Sha256;

pub const SEAL_INFO: &[u8] = b"outpost/secret-parameter/v1";

fn key(shared: &MontgomeryPoint, ephemeral: &[u8; 32], recipient: &[u8; 32]) -> [u8; 32] {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let hk = Hkdf::<Sha256>::new(Some(&salt), shared.as_bytes());
    let mut out = [0u8; 32];
    hk.expand(SEAL_INFO, &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

fn cipher(key: [u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(&key.into())
}

/// Seals `secret` for the agent whose public key is `agent`, bound to the parameter `name`.
pub fn seal(agent: &VerifyingKey, name: &str, secret: &[u8]) -> Vec<u8> {
    let recipient = agent.to_montgomery();
    let ephemeral_secret: [u8; 32] = rand::random();
    let ephemeral = MontgomeryPoint::mul_base_clamped(ephemeral_secret);
    let shared = recipient.mul_clamped(ephemeral_secret);
    let k = key(&shared, ephemeral.as_bytes(), recipient.as_bytes());
    // The key is used for this one message only, so a fixed nonce is safe.
    let sealed = cipher(k)
        .encrypt(
            &[0u8; 12].into(),
            Payload {
                msg: secret,
                aad: name.as_bytes(),
            },
        )
        .expect("sealing in memory does not fail");
    let mut out = ephemeral.as_bytes().to_vec();
    out.extend_from_slice(&sealed);
    out
}

/// Opens what [`seal`] made for this agent's key.
pub fn open(agent: &SigningKey, name: &str, sealed: &[u8]) -> Result<Vec<u8>, Refusal> {
    if sealed.len() < 32 + 16 {
        return Err(Refusal::SecretUnreadable);
    }
    let mut ephemeral = [0u8; 32];
    ephemeral.copy_from_slice(&sealed[..32]);
    let recipient = agent.verifying_key().to_montgomery();
    let shared = MontgomeryPoint(ephemeral).mul_clamped(agent.to_scalar_bytes());
    let k = key(&shared, &ephemeral, recipient.as_bytes());
    cipher(k)
        .decrypt(
            &[0u8; 12].into(),
            Payload {
                msg: &sealed[32..],
                aad: name.as_bytes(),
            },
        )
        .map_err(|_| Refusal::SecretUnreadable)
}
