//! The console's link to its server: the session token in the OS keyring, and a background
//! task that syncs when there is something to send, every 15 s otherwise, and every 5 s
//! while the server cannot be reached (so it catches up soon after the network returns).

use outpost_core::sync::TransportError;
use outpost_core::Core;
use outpost_sync_client::HttpTransport;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

const KEYRING_SERVICE: &str = "com.outpost.console";
const PAGE: i64 = 200;

fn entry(server: &str) -> Result<keyring::Entry, String> {
    keyring::Entry::new(KEYRING_SERVICE, &format!("server-session@{server}"))
        .map_err(|e| format!("the OS keyring is not available: {e}"))
}

/// What a console keeps of its server in the OS keyring (never in a file): the session, and
/// the fingerprint of the server certificate it trusts (https).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServerCredential {
    pub token: String,
    #[serde(default)]
    pub fingerprint: Option<String>,
}

pub fn store_credential(server: &str, credential: &ServerCredential) -> Result<(), String> {
    let secret = serde_json::to_string(credential).map_err(|e| e.to_string())?;
    entry(server)?
        .set_password(&secret)
        .map_err(|e| format!("could not save the server session in the OS keyring: {e}"))
}

pub fn load_credential(server: &str) -> Option<ServerCredential> {
    let secret = entry(server).ok()?.get_password().ok()?;
    // Consoles connected before pinning kept the bare token.
    serde_json::from_str(&secret)
        .ok()
        .or(Some(ServerCredential {
            token: secret,
            fingerprint: None,
        }))
}

pub fn forget_token(server: &str) {
    if let Ok(e) = entry(server) {
        let _ = e.delete_credential();
    }
}

/// One series of an endpoint's metrics from the server, if this console is connected and
/// the server can be reached.
pub async fn fetch_metrics(
    core: &Core,
    asset: uuid::Uuid,
    q: &outpost_proto::MetricsQuery,
) -> Option<outpost_proto::MetricHistory> {
    let url = core.sync_status().await.ok()?.server_url?;
    let credential = load_credential(&url)?;
    let link =
        HttpTransport::new(&url, &credential.token, credential.fingerprint.as_deref()).ok()?;
    link.asset_metrics(asset, q).await.ok()
}

/// Runs one sync round now, with the stored token.
pub async fn sync_now(core: &Core) -> Result<(), String> {
    let status = core.sync_status().await.map_err(|e| e.to_string())?;
    let Some(url) = status.server_url else {
        return Ok(()); // standalone: nothing to do
    };
    let Some(credential) = load_credential(&url) else {
        let msg = "log in again to reconnect to the server (no saved session)";
        core.record_sync_error(msg)
            .await
            .map_err(|e| e.to_string())?;
        return Err(msg.into());
    };
    if let Err(e) = outpost_core::sync::require_pin(&url, credential.fingerprint.as_deref()) {
        let m = e.to_string();
        core.record_sync_error(&m)
            .await
            .map_err(|e| e.to_string())?;
        return Err(m);
    }
    let link = match HttpTransport::new(&url, &credential.token, credential.fingerprint.as_deref())
    {
        Ok(link) => link,
        Err(m) => {
            core.record_sync_error(&m)
                .await
                .map_err(|e| e.to_string())?;
            return Err(m);
        }
    };
    core.sync_once(&link, PAGE)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())?;
    // Files attached here go after the rows that name them.
    if let Err(e) = outpost_sync_client::upload_attachments(core, &link).await {
        let m = match e {
            TransportError::Offline(m) | TransportError::Other(m) => m,
            other => format!("{other:?}"),
        };
        let m = format!("a file attached here could not be sent to the server yet: {m}");
        core.record_sync_error(&m)
            .await
            .map_err(|e| e.to_string())?;
        return Err(m);
    }
    Ok(())
}

/// A file's bytes from the server, if this console is connected and the server answers;
/// the server's refusal in words otherwise.
pub async fn fetch_attachment(core: &Core, id: uuid::Uuid) -> Result<Vec<u8>, String> {
    let url = core
        .sync_status()
        .await
        .map_err(|e| e.to_string())?
        .server_url
        .ok_or("this console is not connected to a server")?;
    let credential = load_credential(&url).ok_or("log in again to reach the server")?;
    let link = HttpTransport::new(&url, &credential.token, credential.fingerprint.as_deref())?;
    link.attachment_bytes(id).await.map_err(|e| match e {
        TransportError::Offline(m) => {
            format!("the server cannot be reached ({m}); the file opens once it can")
        }
        TransportError::Other(m) => m,
        other => format!("{other:?}"),
    })
}

/// The background sync loop; `wake` makes it run at once (after a local change).
pub fn spawn(core: Arc<Core>, wake: Arc<Notify>, data_dir: std::path::PathBuf) {
    tauri::async_runtime::spawn(async move {
        let mut last_round = Instant::now() - Duration::from_secs(3600);
        let mut failing = false;
        loop {
            let due = match core.sync_status().await {
                Ok(s) if s.server_url.is_some() => {
                    s.pending > 0
                        || last_round.elapsed() >= Duration::from_secs(if failing { 5 } else { 15 })
                }
                _ => false,
            };
            if due {
                failing = sync_now(&core).await.is_err();
                last_round = Instant::now();
                if !failing {
                    // Runs signed while offline go once the server answers again.
                    crate::scripts::flush_outbox(&core, &data_dir).await;
                }
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The token really goes into the OS keyring and comes back. Needs a Secret Service:
    /// `cargo xtask test` runs it inside dbus-run-session with gnome-keyring unlocked.
    #[test]
    #[ignore = "needs an OS keyring; cargo xtask test runs it under dbus-run-session"]
    fn server_session_round_trips_through_the_os_keyring() {
        let server = format!("https://127.0.0.1:9/{}", uuid::Uuid::now_v7());
        assert_eq!(load_credential(&server), None);
        let credential = ServerCredential {
            token: "tok-123".into(),
            fingerprint: Some("AB:CD".into()),
        };
        store_credential(&server, &credential).unwrap();
        assert_eq!(load_credential(&server), Some(credential));
        forget_token(&server);
        assert_eq!(load_credential(&server), None);
    }
}
