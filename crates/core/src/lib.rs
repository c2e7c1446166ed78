//! outpost-core: Outpost's domain, storage and services.
//!
//! Owns every business rule. The desktop app (Tauri commands) and the server (HTTP routes)
//! are thin callers of [`Core`]'s methods; they parse input, call one method, map the error.
//! Must not depend on Tauri, axum or any transport.
//!
//! Modules own their tables: `assets` (devices per client), `auth` (users, sessions), `clients` (clients, sites, contacts),
//! `tickets` (tickets, tags, comments, time entries, full-text search), `sla` (policy and
//! deadlines), `views` (saved queue views), `store` (database, change log, audit chain),
//! `demo` (sample data).

pub mod api;
pub mod assets;
pub mod auth;
pub mod clients;
pub mod clock;
pub mod demo;
pub mod error;
pub mod records;
pub mod sla;
pub mod store;
pub mod sync;
pub mod tickets;
pub mod views;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{CoreError, CoreResult};
pub use store::{Actor, Core};
