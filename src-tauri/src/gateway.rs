//! The console as a one-office MSP's server: it serves its own agents (enrollment and the
//! agent channel only, over TLS with a certificate it makes once and agents pin), so no
//! separate server is needed. Its settings live beside the store (`gateway.json`).

use outpost_core::Core;
use outpost_proto::{DesktopGateway, SetDesktopGateway};
use outpost_server::gateway::{Gateway, GatewayConfig};
use outpost_server::{agent_app, tls, AppState};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{oneshot, Mutex};

const SETTINGS: &str = "gateway.json";

#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    enabled: bool,
    listen: String,
}

struct Running {
    address: String,
    fingerprint: String,
    stop: oneshot::Sender<()>,
}

pub struct Standalone {
    dir: PathBuf,
    running: Mutex<Option<Running>>,
    error: std::sync::Mutex<Option<String>>,
}

fn saved(dir: &Path) -> Saved {
    std::fs::read(dir.join(SETTINGS))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Saved {
            enabled: false,
            listen: "0.0.0.0:8787".into(),
        })
}

/// The name agents reach this machine by.
fn host_name(addr: SocketAddr) -> String {
    if addr.ip().is_loopback() {
        return "127.0.0.1".into();
    }
    if !addr.ip().is_unspecified() {
        return addr.ip().to_string();
    }
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}

impl Standalone {
    pub fn new(dir: &Path) -> Standalone {
        Standalone {
            dir: dir.to_path_buf(),
            running: Mutex::new(None),
            error: std::sync::Mutex::new(None),
        }
    }

    /// Starts it at launch if it was on.
    pub async fn resume(&self, core: &Arc<Core>) {
        if saved(&self.dir).enabled {
            if let Err(e) = self.start(core).await {
                tracing::warn!(error = %e, "the agent gateway could not start");
            }
        }
    }

    async fn start(&self, core: &Arc<Core>) -> Result<(), String> {
        let settings = saved(&self.dir);
        let listen: SocketAddr = settings.listen.parse().map_err(|_| {
            format!(
                "'{}' is not an address to listen on; write it as 0.0.0.0:8787",
                settings.listen
            )
        })?;
        let mut running = self.running.lock().await;
        if let Some(r) = running.take() {
            let _ = r.stop.send(());
        }
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            let m = format!("cannot listen on {listen}: {e}; is another program using it?");
            *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(m.clone());
            m
        })?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let host = host_name(listen);
        let names = vec![host.clone(), "localhost".into(), "127.0.0.1".into()];
        let files = tls::self_signed(&self.dir, &names).map_err(|e| e.to_string())?;
        let (config, fingerprint) = tls::server_config(&files).map_err(|e| e.to_string())?;
        let address = format!("https://{host}:{port}");
        core.set_gateway(Some(address.clone()), Some(fingerprint.clone()));
        let gateway = Gateway::start(core.clone(), GatewayConfig::default());
        let router = agent_app(AppState::new(core.clone()), &gateway);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = tls::serve(listener, config, router, shutdown).await {
                tracing::warn!(error = %e, "the agent gateway stopped");
            }
            drop(gateway);
        });
        *running = Some(Running {
            address,
            fingerprint,
            stop,
        });
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(())
    }

    pub async fn status(&self, core: &Core) -> DesktopGateway {
        let settings = saved(&self.dir);
        let running = self.running.lock().await;
        DesktopGateway {
            enabled: settings.enabled,
            listen: settings.listen,
            running: running.is_some(),
            address: running.as_ref().map(|r| r.address.clone()),
            fingerprint: running.as_ref().map(|r| r.fingerprint.clone()),
            connected_agents: core.gateway_info().connected_agents,
            error: self.error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        }
    }

    /// Saves the setting and starts or stops the gateway to match.
    pub async fn set(
        &self,
        core: &Arc<Core>,
        req: SetDesktopGateway,
    ) -> Result<DesktopGateway, String> {
        let listen = req.listen.trim().to_string();
        listen.parse::<SocketAddr>().map_err(|_| {
            format!("'{listen}' is not an address to listen on; write it as 0.0.0.0:8787")
        })?;
        let bytes = serde_json::to_vec(&Saved {
            enabled: req.enabled,
            listen,
        })
        .map_err(|e| e.to_string())?;
        std::fs::write(self.dir.join(SETTINGS), bytes)
            .map_err(|e| format!("cannot save the gateway setting: {e}"))?;
        if req.enabled {
            self.start(core).await?;
        } else if let Some(r) = self.running.lock().await.take() {
            let _ = r.stop.send(());
            core.set_gateway(None, None);
        }
        Ok(self.status(core).await)
    }
}
