//! Online evaluation on the shopper's device: what happened after each recommendation, and
//! experiments between models without a server.
//!
//! | file | what |
//! |---|---|
//! | `attribution.rs` | [`Impression`]s (lists shown), attribution of later events, [`online_stats`] per variant and day |
//! | `assignment.rs` | [`assign`]: the sticky, seeded variant of a device in an experiment |

mod assignment;
mod attribution;

pub use assignment::assign;
pub use attribution::{AttributionRules, Impression, Metrics, OnlineStats, VariantStats, online_stats};
