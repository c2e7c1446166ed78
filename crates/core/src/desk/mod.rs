//! The service desk: tickets with their comments, time and tags (`tickets`), SLA policy and
//! deadlines (`sla`), saved queue views (`views`).

pub mod attachments;
pub mod sla;
pub mod tickets;
pub mod views;
