//! The devices the MSP looks after: assets per client and site (`assets`). Agents,
//! inventory, metrics and alerts join them here.

pub mod assets;
