//! Remote scripts: the library (`library`), making runs from signed requests (`runs`) and
//! runs signed ahead for a schedule or an alert (`automations`). Above fleet (agents, trust
//! material, run reports) and auth; below alerts, which start an automation's run when a
//! rule fires.

pub mod automations;
pub mod library;
pub mod runs;
