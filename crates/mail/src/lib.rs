//! Mail protocols for Outpost.
