//! outpost-core: Outpost's domain, storage and services.
//!
//! Owns every business rule. Every operation is declared once in `api` (name, route, input,
//! output, who may call it, the core function); the desktop app (one Tauri command) and the
//! server (HTTP routes, OpenAPI) are made from that table and only move requests in and
//! answers out. Every synced record type is declared once by its module and listed in
//! `records`, which hands the list to every store it opens; the sync engine reads those
//! declarations. Layers import only downwards: clock/error < store < sync < domains
//! (clients < auth, fleet, desk < scripts < alerts < reports, notify) < records, demo < api
//! (`tests/core/layers.rs` checks it).
//! Must not depend on Tauri, axum or any transport.
//!
//! Modules own their tables and declare the records they sync: `desk` (tickets, tags,
//! comments, time entries, full-text search; SLA policy and deadlines; saved views), `fleet`
//! (devices per client), `auth` (users, sessions), `clients` (clients, sites, contacts),
//! `sync` (change log, versions, conflicts, push/pull/snapshot), `store` (database, audit
//! chain), `api` (the operation table), `demo` (sample data), `notify` (webhooks, mail out and
//! in, notifications: planned from the change log; see its README), `reports` (the dashboard's
//! figures for a period of days in the organisation's zone).

pub mod alerts;
pub mod api;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod clients;
pub mod clock;
pub mod demo;
pub mod desk;
pub mod error;
pub mod fleet;
pub mod notify;
pub mod operating;
pub mod records;
pub mod reports;
pub mod scripts;
pub mod store;
pub mod sync;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{CoreError, CoreResult};
pub use store::{Actor, Core};
