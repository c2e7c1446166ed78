//! Remote scripts: the library (`library`) and making runs from signed requests (`runs`).
//! Above fleet (agents, trust material, run reports) and auth; below alerts, which will run
//! a named script when a rule fires.

pub mod library;
pub mod runs;
