//! The devices the MSP looks after: assets per client and site (`assets`), the agents that
//! report for them (`agents`: enrollment and credentials), what they report (`telemetry`,
//! `inventory`, `metrics`) and what consoles see of it (`status`).

pub mod agents;
pub mod assets;
pub mod inventory;
pub mod metrics;
pub mod runs;
pub mod status;
pub mod telemetry;
pub mod trust;
