//! Reports: the dashboard and the client service report.

mod client;
mod dashboard;
