//! The desk: tickets, comments, time, SLA.

mod sla;
mod tickets;
