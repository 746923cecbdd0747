//! Online evaluation with local differential privacy, end to end: simulated devices with known
//! true rates privatize their summaries, the estimator recovers the rates within its intervals,
//! and the intervals cover the truth about 95% of the time.

use localrec::online::{Estimates, Indicator, PrivateReport, estimate, simulated_device};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The true share of devices with each indicator, in the order of `Indicator::ALL`.
type Rates = [f64; 5];

/// exposed, clicked, carted, purchased, hit.
const CONTROL: Rates = [0.90, 0.30, 0.12, 0.05, 0.40];
const TREATMENT: Rates = [0.90, 0.36, 0.15, 0.08, 0.45];

/// `n` devices per variant, privatized at `epsilon`, control and treatment interleaved.
fn simulate(n: usize, epsilon: f64, rng: &mut ChaCha8Rng) -> Vec<PrivateReport> {
    let mut reports = Vec::with_capacity(2 * n);
    for _ in 0..n {
        for (variant, rates) in [("sasrec", &CONTROL), ("gru4rec", &TREATMENT)] {
            reports.push(simulated_device(variant, rates, rng).privatize(epsilon, rng).unwrap());
        }
    }
    reports
}

fn truth(variant: &str) -> &'static Rates {
    if variant == "sasrec" { &CONTROL } else { &TREATMENT }
}

#[test]
fn ten_thousand_devices_per_variant_recover_the_true_rates_within_the_intervals() {
    for (epsilon, seed) in [(2.0, 2026), (0.5, 2027)] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let est = estimate(&simulate(10_000, epsilon, &mut rng)).unwrap();
        assert_eq!(est.variants.len(), 2);
        for v in &est.variants {
            assert_eq!(v.reports, 10_000);
            assert_eq!(v.epsilon, epsilon);
            for (e, &t) in v.indicators.iter().zip(truth(&v.variant)) {
                eprintln!(
                    "ε = {epsilon} (ε/bit {:.2}, p = {:.3}), {} devices, {} {}: true {t:.3}, estimate {:.3} [{:.3}, {:.3}]",
                    v.epsilon_per_bit,
                    v.truth_probability,
                    v.reports,
                    v.variant,
                    e.indicator,
                    e.rate,
                    e.ci95.lo,
                    e.ci95.hi
                );
                assert!(
                    e.ci95.lo <= t && t <= e.ci95.hi,
                    "ε = {epsilon}, {} {}: true {t} outside {:.4} [{:.4}, {:.4}]",
                    v.variant,
                    e.indicator,
                    e.rate,
                    e.ci95.lo,
                    e.ci95.hi
                );
                // The interval's width is what the noise costs: 2·1.96·√(ȳ(1−ȳ)/n)/(2p−1), with
                // ȳ near 1/2: at ε = 2 about 0.098, at ε = 0.5 about 0.39.
                let expected = 2.0 * 1.96 * 0.5 / (2.0 * v.truth_probability - 1.0) / 100.0;
                assert!(((e.ci95.hi - e.ci95.lo) / expected - 1.0).abs() < 0.05, "width {e:?}");
            }
        }
        for d in &est.differences {
            let t = TREATMENT[d.indicator as usize] - CONTROL[d.indicator as usize];
            assert_eq!((d.baseline.as_str(), d.variant.as_str()), ("sasrec", "gru4rec"));
            assert!(d.ci95.lo <= t && t <= d.ci95.hi, "ε = {epsilon}: difference {t} outside {d:?}");
        }
    }
}

/// The truth lies inside the printed 95% intervals in about 95% of repeated experiments: for
/// every variant and indicator, and for every difference, over 200 simulations of 1,000
/// devices per variant.
#[test]
fn intervals_cover_the_truth_about_95_percent_of_the_time() {
    let runs = 200;
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut covered = std::collections::HashMap::<String, u32>::new();
    for _ in 0..runs {
        let est: Estimates = estimate(&simulate(1_000, 2.0, &mut rng)).unwrap();
        for v in &est.variants {
            for (e, &t) in v.indicators.iter().zip(truth(&v.variant)) {
                *covered.entry(format!("{} {}", v.variant, e.indicator)).or_default() +=
                    u32::from(e.ci95.lo <= t && t <= e.ci95.hi);
            }
        }
        for d in &est.differences {
            let t = TREATMENT[d.indicator as usize] - CONTROL[d.indicator as usize];
            *covered.entry(format!("difference {}", d.indicator)).or_default() +=
                u32::from(d.ci95.lo <= t && t <= d.ci95.hi);
        }
    }
    assert_eq!(covered.len(), 15);
    let mut all = 0;
    for (what, c) in &covered {
        let share = f64::from(*c) / runs as f64;
        assert!((0.90..=0.99).contains(&share), "{what}: coverage {share}");
        all += c;
    }
    let overall = f64::from(all) / (15 * runs) as f64;
    let lowest = covered.iter().min_by_key(|(_, c)| **c).unwrap();
    eprintln!(
        "coverage of the 95% intervals over {runs} runs: {overall:.4} overall, lowest {:.3} ({})",
        f64::from(*lowest.1) / runs as f64,
        lowest.0
    );
    assert!((0.93..=0.97).contains(&overall), "overall coverage {overall}");
}

/// The estimate is unbiased: averaged over many small experiments it lands on the truth far
/// closer than one experiment's interval, even at ε = 0.5 where one report says almost nothing.
#[test]
fn the_estimate_is_unbiased_at_small_epsilon() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let runs = 100;
    let mut sum = [0.0; 5];
    for _ in 0..runs {
        let est = estimate(&simulate(2_000, 0.5, &mut rng)).unwrap();
        for (s, e) in sum.iter_mut().zip(&est.variants[0].indicators) {
            *s += e.rate;
        }
    }
    // One run's SE ≈ 0.5/0.05/√2000 = 0.224; the mean of 100 runs has SE 0.0224.
    for (i, s) in Indicator::ALL.iter().zip(sum) {
        let mean = s / runs as f64;
        let t = CONTROL[*i as usize];
        assert!((mean - t).abs() < 4.0 * 0.0224, "{i}: mean estimate {mean}, true {t}");
    }
}
