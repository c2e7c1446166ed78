//! Reports: the dashboard and the client service report.

mod billing;
mod client;
mod dashboard;
