//! Secrets the server must use itself (the SMTP password) are kept sealed in the store with
//! ChaCha20-Poly1305 under a key file beside it (readable by the server's user only), so a
//! copy of the database alone — a backup, a support bundle — does not give them away.

use crate::error::{CoreError, CoreResult};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use rand::RngCore;
use std::path::Path;

pub const KEY_FILE: &str = "secrets.key";

/// The store's key, made on first use.
pub fn load_or_create_key(dir: &Path) -> CoreResult<[u8; 32]> {
    let path = dir.join(KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == 32 => {
            let mut key = [0u8; 32];
            key.copy_from_slice(&bytes);
            return Ok(key);
        }
        Ok(_) => {
            return Err(CoreError::Internal(format!(
                "{} is not a key file (it must hold 32 bytes); restore it from the backup it \
                 was made with, or delete it and enter the stored passwords again",
                path.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(CoreError::Internal(format!(
                "cannot read {}: {e}",
                path.display()
            )))
        }
    }
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    write_private(&path, &key).map_err(|e| {
        CoreError::Internal(format!("cannot write the key file {}: {e}", path.display()))
    })?;
    Ok(key)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Seals `plain` as text: base64 of the nonce and the ciphertext.
pub fn seal(key: &[u8; 32], plain: &str) -> CoreResult<String> {
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    let nonce: [u8; 12] = rand::random();
    let sealed = cipher
        .encrypt(&nonce.into(), plain.as_bytes())
        .map_err(|_| CoreError::Internal("sealing a secret failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend(sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// Opens what [`seal`] made with the same key.
pub fn open(key: &[u8; 32], sealed: &str) -> CoreResult<String> {
    let broken = || {
        CoreError::Internal(
            "a stored secret cannot be opened with this store's key file (was the key file \
             replaced?): enter the password again"
                .into(),
        )
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .map_err(|_| broken())?;
    if bytes.len() < 12 {
        return Err(broken());
    }
    let nonce: [u8; 12] = bytes[..12].try_into().map_err(|_| broken())?;
    let cipher = ChaCha20Poly1305::new(&(*key).into());
    let plain = cipher
        .decrypt(&nonce.into(), &bytes[12..])
        .map_err(|_| broken())?;
    String::from_utf8(plain).map_err(|_| broken())
}
