//! The root key's recovery file: the key's 32-byte seed encrypted under a passphrase
//! (Argon2id, then ChaCha20-Poly1305), so an admin whose machine dies can bring the root back
//! into a new keyring. Without the passphrase the file is useless.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use ed25519_dalek::SigningKey;
use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "outpost-root-recovery-v1";
/// Passphrases shorter than this are refused.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RecoveryFile {
    pub format: String,
    /// The root's fingerprint, so the admin can tell which root a file holds.
    pub fingerprint: String,
    /// Argon2id cost: memory in KiB, passes, lanes.
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
    pub salt: String,
    pub nonce: String,
    pub ciphertext: String,
}

fn derive(passphrase: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<[u8; 32], String> {
    let params = Params::new(m, t, p, Some(32)).map_err(|e| format!("recovery cost: {e}"))?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| format!("deriving the recovery key failed: {e}"))?;
    Ok(key)
}

/// The recovery file for `root`, under `passphrase`.
pub fn seal(root: &SigningKey, passphrase: &str) -> Result<RecoveryFile, String> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(format!(
            "the recovery passphrase must be at least {MIN_PASSPHRASE_CHARS} characters"
        ));
    }
    let (m, t, p) = (64 * 1024, 3, 1);
    let salt: [u8; 16] = rand::random();
    let nonce: [u8; 12] = rand::random();
    let key = derive(passphrase, &salt, m, t, p)?;
    let fingerprint = crate::fingerprint(&root.verifying_key().to_bytes());
    let ciphertext = ChaCha20Poly1305::new(&key.into())
        .encrypt(
            &nonce.into(),
            Payload {
                msg: &root.to_bytes(),
                aad: fingerprint.as_bytes(),
            },
        )
        .map_err(|_| "encrypting the recovery file failed".to_string())?;
    Ok(RecoveryFile {
        format: FORMAT.into(),
        fingerprint,
        m_cost: m,
        t_cost: t,
        p_cost: p,
        salt: B64.encode(salt),
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ciphertext),
    })
}

/// The root key back from its recovery file.
pub fn open(file: &RecoveryFile, passphrase: &str) -> Result<SigningKey, String> {
    if file.format != FORMAT {
        return Err(format!(
            "this is not an Outpost root recovery file ({})",
            file.format
        ));
    }
    if file.m_cost > 1024 * 1024 || file.t_cost > 16 || file.p_cost > 16 {
        return Err("the recovery file asks for an unreasonable cost".into());
    }
    let b = |s: &str| {
        B64.decode(s)
            .map_err(|_| "the recovery file is damaged".to_string())
    };
    let (salt, nonce, ct) = (b(&file.salt)?, b(&file.nonce)?, b(&file.ciphertext)?);
    let nonce: [u8; 12] = nonce
        .try_into()
        .map_err(|_| "the recovery file is damaged".to_string())?;
    let key = derive(passphrase, &salt, file.m_cost, file.t_cost, file.p_cost)?;
    let seed = ChaCha20Poly1305::new(&key.into())
        .decrypt(
            &nonce.into(),
            Payload {
                msg: &ct,
                aad: file.fingerprint.as_bytes(),
            },
        )
        .map_err(|_| "wrong passphrase, or the file was changed".to_string())?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| "the recovery file is damaged".to_string())?;
    let root = SigningKey::from_bytes(&seed);
    if crate::fingerprint(&root.verifying_key().to_bytes()) != file.fingerprint {
        return Err("the recovery file's key is not the root it names".into());
    }
    Ok(root)
}
