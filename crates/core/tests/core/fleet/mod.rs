//! The fleet: devices per client and site.

mod assets;
mod metrics;
