//! The desk: tickets, comments, time, SLA.

mod attachments;
mod sla;
mod tickets;
