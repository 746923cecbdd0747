//! Simulated devices for checking the estimator: what a device with given true rates measured.
//! Used by the simulation tests (`tests/online.rs`) and `examples/ab_reports.rs`; real devices
//! produce their [`DeviceSummary`] from their own metrics.

use rand::Rng;

use super::report::DeviceSummary;

/// One device's true summary for `variant`, given the share of devices with each indicator
/// (`rates`, in [`super::Indicator::ALL`] order: exposed, clicked, carted, purchased, hit):
/// exposed with its rate; given exposure, each other indicator with rate / exposed-rate (so its
/// share of all devices is the rate; nothing happens unexposed); counts of at least one where
/// the indicator holds.
pub fn simulated_device(variant: &str, rates: &[f64; 5], rng: &mut impl Rng) -> DeviceSummary {
    let exposed = rng.random_bool(rates[0]);
    let mut count = |rate: f64, most: u64| {
        if exposed && rng.random_bool(rate / rates[0]) { rng.random_range(1..=most) } else { 0 }
    };
    let clicks = count(rates[1], 5);
    let carts = count(rates[2], 3);
    let purchases = count(rates[3], 2);
    let hits = count(rates[4], 8);
    let impression_sets = if exposed { 1 + hits + rng.random_range(0..20) } else { 0 };
    DeviceSummary { variant: variant.to_string(), impression_sets, clicks, carts, purchases, hits }
}
