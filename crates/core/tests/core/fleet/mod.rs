//! The fleet: devices per client and site.

mod assets;
mod metrics;

use crate::Fixture;
use outpost_core::fleet::agents::AgentSession;
use outpost_core::Actor;
use outpost_proto::{EnrollRequest, EnrollResponse, NewEnrollmentToken};

/// An agent enrolled for `client` the way the agent does it (a token, then the request), and
/// the session it would get when it connects.
pub(crate) async fn enroll(
    f: &Fixture,
    admin: &Actor,
    client: uuid::Uuid,
    hostname: &str,
    os: &str,
    public_key: &str,
) -> (EnrollResponse, AgentSession) {
    let t = f
        .core
        .create_enrollment_token(
            admin,
            NewEnrollmentToken {
                client_id: client,
                site_id: None,
                expires_in_hours: 1,
                max_uses: 1,
            },
        )
        .await
        .unwrap();
    let e = f
        .core
        .enroll_agent(EnrollRequest {
            token: t.token,
            machine_fingerprint: "ab".repeat(32),
            public_key: public_key.into(),
            hostname: hostname.into(),
            os: os.into(),
            agent_version: "0.1.0".into(),
            root_fingerprint: None,
        })
        .await
        .unwrap();
    let session = f
        .core
        .agent_session(&e.agent_id.to_string(), &e.credential)
        .await
        .unwrap();
    (e, session)
}
