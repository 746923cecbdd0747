//! Online evaluation on the shopper's device: what happened after each recommendation,
//! experiments between models without a server, and the private reports a shop may collect.
//!
//! | file | what |
//! |---|---|
//! | `attribution.rs` | [`Impression`]s (lists shown), attribution of later events, [`online_stats`] per variant and day |
//! | `assignment.rs` | [`assign`]: the sticky, seeded variant of a device in an experiment |
//! | `indicator.rs`, `report.rs` | a device's [`DeviceSummary`] and the [`PrivateReport`] it may hand out |
//! | `estimate.rs` | the server-side [`estimate`] of many reports, and [`compare`] of two variants |
//! | `simulation.rs` | [`simulated_device`]: a device of given true rates, for simulations of the estimator |
//!
//! ## Private reports
//!
//! With local differential privacy: how recommendations perform on shoppers'
//! devices, per model variant (A/B arm), without any device handing out what it did.
//!
//! A device measures a [`DeviceSummary`] over a period (impression sets shown, clicks on a
//! recommended item, add-to-carts and purchases after a recommendation, hits: the next real
//! event was in the shown top-k). It never hands that out. What it may hand out is a
//! [`PrivateReport`] ([`DeviceSummary::privatize`]): five yes/no indicators ([`Indicator`]:
//! exposed, clicked, carted, purchased, hit), each through randomized response, plus the
//! variant in the clear (the assignment is random and carries no behaviour), the total ε, the
//! mechanism and a version. The library itself never sends anything.
//!
//! ## The mechanism and what one report reveals
//!
//! Randomized response on one bit with budget e: the true bit with probability
//! p = e^e / (1 + e^e), its flip otherwise. A report's total ε is split evenly over the five
//! bits (ε/5 each; sequential composition), each bit randomized independently. For any two
//! devices and any report r, P(r | device A) / P(r | device B) is the product of one factor per
//! bit, each 1 (same true bit) or p/(1−p) = e^(ε/5) (different), at most e^ε, reached when
//! all five bits differ. So whatever the server believed about a device before, one report
//! moves its odds by at most a factor e^ε. At ε = 2: 0.4 per bit, p = 0.599, a ratio of
//! at most e² ≈ 7.4 for the whole report and e^0.4 ≈ 1.49 for any single indicator.
//!
//! Why an even split: the indicators are not independent (clicked implies exposed), but
//! composition needs no independence. The alternative, one k-ary randomized response over the
//! 32 combinations at ε, keeps a marginal bit's signal at (e^ε − 1)/(e^ε + 31) = 0.166 at
//! ε = 2, below the split's 2p − 1 = 0.197; the split is better for ε below about 2.37 (k-ary
//! response wins above: 0.374 vs 0.291 at ε = 3), simpler to check, and each bit's noise is
//! independent of the others', which keeps the estimator per bit exact.
//!
//! Several reports from one device add up: k reports of one device spend kε. Counts beyond
//! one do not reach the report (only "at least one"), so a heavy shopper and a light one with the
//! same indicators are indistinguishable.
//!
//! ## The estimator
//!
//! [`estimate`]: per variant and indicator, with ȳ the share of reports saying 1,
//! π̂ = (ȳ − (1 − p)) / (2p − 1), unbiased for the share of devices with the indicator, its
//! standard error √(ȳ(1 − ȳ)/n) / (2p − 1) and the normal 95% interval; [`compare`]: the
//! difference between two variants, √(se_a² + se_b²), its interval. The noise costs a factor
//! 1/(2p − 1)² in variance: about 26× at ε = 2 (5.1× the interval width), 400× at ε = 0.5
//! (20× the width).
//! Rates conditional on exposure are not estimated (a ratio of two noisy estimates; estimate
//! both and divide, knowing that the interval is then not the one printed).

mod assignment;
mod attribution;
mod estimate;
mod indicator;
mod report;
mod simulation;

pub use assignment::assign;
pub use attribution::{AttributionRules, Impression, Metrics, OnlineStats, VariantStats, online_stats};
pub use estimate::{Difference, Estimates, IndicatorEstimate, VariantEstimate, Z95, compare, estimate, estimate_rate};
pub use indicator::{Indicator, IndicatorBits};
pub use report::{
    DeviceSummary, MAX_EPSILON, MAX_VARIANT_LEN, MECHANISM, PrivateReport, VERSION, check_epsilon, check_variant,
    epsilon_per_bit, report_probability, truth_probability,
};
pub use simulation::simulated_device;
