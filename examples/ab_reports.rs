//! Simulated shoppers' private reports for an A/B test with known true rates: what
//! `localrec ab-estimate` reads, to see what it recovers at a given ε and number of devices.
//!
//! ```text
//! cargo run --release --example ab_reports -- DEVICES_PER_VARIANT EPSILON SEED > reports.jsonl
//! cargo run --release --features cli -- ab-estimate reports.jsonl
//! ```
//!
//! Two variants, `sasrec` (control) and `gru4rec`, with these true shares of devices
//! (exposed, clicked, carted, purchased, hit): sasrec 0.90, 0.30, 0.12, 0.05, 0.40; gru4rec 0.90,
//! 0.36, 0.15, 0.08, 0.45. Each device's summary is drawn from them (exposed first; the others
//! only when exposed), privatized with `DeviceSummary::privatize` at EPSILON and written as one
//! JSON line. The true rates and the simulated devices' actual shares go to stderr.

use localrec::online::{Indicator, simulated_device};
use localrec::{Error, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const VARIANTS: [(&str, [f64; 5]); 2] =
    [("sasrec", [0.90, 0.30, 0.12, 0.05, 0.40]), ("gru4rec", [0.90, 0.36, 0.15, 0.08, 0.45])];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [devices, epsilon, seed] = args.as_slice() else {
        return Err(Error::invalid("arguments", "usage: ab_reports DEVICES_PER_VARIANT EPSILON SEED"));
    };
    let devices: usize = devices.parse().map_err(|_| Error::invalid("DEVICES_PER_VARIANT", devices.clone()))?;
    let epsilon: f64 = epsilon.parse().map_err(|_| Error::invalid("EPSILON", epsilon.clone()))?;
    let seed: u64 = seed.parse().map_err(|_| Error::invalid("SEED", seed.clone()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut actual = [[0u64; 5]; 2];
    for _ in 0..devices {
        for (v, (variant, rates)) in VARIANTS.iter().enumerate() {
            let summary = simulated_device(variant, rates, &mut rng);
            for (j, &i) in Indicator::ALL.iter().enumerate() {
                actual[v][j] += u64::from(summary.indicators().get(i));
            }
            let report = summary.privatize(epsilon, &mut rng)?;
            println!("{}", serde_json::to_string(&report).map_err(|e| Error::Output(e.to_string()))?);
        }
    }
    eprintln!("variant  indicator  true rate  simulated share");
    for (v, (variant, rates)) in VARIANTS.iter().enumerate() {
        for (j, &i) in Indicator::ALL.iter().enumerate() {
            eprintln!(
                "{variant:<8} {:<9}  {:>9.4}  {:>15.4}",
                i.name(),
                rates[j],
                actual[v][j] as f64 / devices as f64
            );
        }
    }
    Ok(())
}
