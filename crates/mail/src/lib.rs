//! Outpost's mail protocols, kept out of the core: SMTP out (driven step by step, so a
//! failure names the step it stopped at, and so the caller can record that a message is being
//! handed over before its last byte goes).

pub mod imap;
pub mod parse;
pub mod smtp;
