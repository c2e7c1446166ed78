//! Telling the outside world what happened: webhooks (and, building on the same events,
//! mail and in-app notifications).
//!
//! The change log is the one source of events: a ticket a technician made here and one a
//! console pushed are both a change record. The planner ([`Core::plan_events`]) reads the
//! log past its cursor and turns each change into the deliveries it calls for, keyed by what
//! they came from, in the transaction that moves the cursor: planning twice, or after a
//! crash, adds nothing. Senders then work from those rows alone.

pub mod events;
pub mod mail;
pub mod mail_in;
pub mod notifications;
pub mod render;
pub mod signature;
pub mod vault;
pub mod webhooks;

pub use signature::{sign, verify};
