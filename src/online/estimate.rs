//! The server-side estimator: from many [`PrivateReport`]s, the share of devices with each
//! indicator per variant, with standard errors and 95% intervals, and the differences between
//! variants (the A/B comparison).

use serde::{Deserialize, Serialize};

use super::indicator::Indicator;
use super::report::{MECHANISM, PrivateReport, VERSION, epsilon_per_bit, truth_probability};
use crate::error::{Error, Result};
use crate::eval::stats::Ci;

/// The 97.5% quantile of the standard normal distribution: the half-width of a 95% interval in
/// standard errors.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The estimated share of a variant's devices with one indicator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndicatorEstimate {
    /// Which indicator.
    pub indicator: Indicator,
    /// Reports whose (randomized) bit is 1.
    pub reported_ones: u64,
    /// The share of reports whose bit is 1, ȳ: biased towards 1/2 by the randomization.
    pub reported_rate: f64,
    /// The unbiased estimate of the share of devices with the indicator: (ȳ − (1 − p)) / (2p − 1).
    /// It can fall outside [0, 1] when the true share is near 0 or 1 (it is not clipped, so that
    /// it stays unbiased and averages across periods stay right).
    pub rate: f64,
    /// Its standard error: √(ȳ(1 − ȳ) / n) / (2p − 1).
    pub se: f64,
    /// The normal 95% interval: rate ± 1.96 se.
    pub ci95: Ci,
}

/// The estimates of one variant (A/B arm).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantEstimate {
    /// The variant's name.
    pub variant: String,
    /// How many reports (devices) it has.
    pub reports: u64,
    /// The total ε of each of its reports.
    pub epsilon: f64,
    /// The ε of each bit: `epsilon` / 5.
    pub epsilon_per_bit: f64,
    /// p: the probability that a bit was reported as it is.
    pub truth_probability: f64,
    /// One estimate per indicator, in the order of [`Indicator::ALL`].
    pub indicators: Vec<IndicatorEstimate>,
}

impl VariantEstimate {
    /// The estimate of `indicator`.
    pub fn get(&self, indicator: Indicator) -> &IndicatorEstimate {
        self.indicators.iter().find(|e| e.indicator == indicator).expect("every variant estimates every indicator")
    }
}

/// The difference between two variants on one indicator: `variant` − `baseline`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Difference {
    /// Which indicator.
    pub indicator: Indicator,
    /// The variant compared against (the first variant of the reports).
    pub baseline: String,
    /// The variant compared.
    pub variant: String,
    /// `variant`'s rate minus `baseline`'s.
    pub difference: f64,
    /// Its standard error: √(se_a² + se_b²) (the two variants are different devices, independent).
    pub se: f64,
    /// The normal 95% interval: difference ± 1.96 se. Excluding 0: the variants differ at the 5% level.
    pub ci95: Ci,
}

/// Everything [`estimate`] finds in a set of reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Estimates {
    /// The reports' mechanism ([`MECHANISM`]).
    pub mechanism: String,
    /// The reports' version ([`VERSION`]).
    pub version: u32,
    /// One entry per variant, in the order of each variant's first report.
    pub variants: Vec<VariantEstimate>,
    /// Every variant after the first against the first, per indicator ([`compare`]).
    pub differences: Vec<Difference>,
}

/// The unbiased estimate of the share of devices whose bit is 1, from `ones` reports saying 1 out
/// of `n`, each bit randomized with budget `epsilon_bit`.
///
/// With p = e^ε/(1+e^ε), a device with the indicator reports 1 with probability p and one without
/// it with probability 1 − p, so E(ȳ) = (1 − p) + (2p − 1)·π and π̂ = (ȳ − (1 − p)) / (2p − 1) is
/// unbiased. The reported bits of different devices are independent Bernoulli(E(ȳ)) draws, so
/// Var(ȳ) = E(ȳ)(1 − E(ȳ)) / n, estimated by ȳ(1 − ȳ)/n; the interval is normal. (Where ȳ is 0
/// or 1, which happens only with very few reports, the standard error is 0: read such a row as
/// "too few reports".)
pub fn estimate_rate(indicator: Indicator, ones: u64, n: u64, epsilon_bit: f64) -> IndicatorEstimate {
    let p = truth_probability(epsilon_bit);
    let y = ones as f64 / n as f64;
    let k = 2.0 * p - 1.0;
    let rate = (y - (1.0 - p)) / k;
    let se = (y * (1.0 - y) / n as f64).sqrt() / k;
    IndicatorEstimate {
        indicator,
        reported_ones: ones,
        reported_rate: y,
        rate,
        se,
        ci95: Ci { lo: rate - Z95 * se, hi: rate + Z95 * se },
    }
}

/// The estimates per variant and indicator, and each variant after the first against the first.
///
/// Every report must pass [`PrivateReport::validate`]. All reports of one variant must state the
/// same ε: the estimator inverts one known p per variant. A variant with reports at two ε is an
/// error naming both (estimate each ε's reports separately; pooling them would need weights that
/// the reports' different noise calls for, and a shop that changes ε mid-test has two tests).
/// Different variants may use different ε.
pub fn estimate(reports: &[PrivateReport]) -> Result<Estimates> {
    if reports.is_empty() {
        return Err(Error::Empty("no reports to estimate from".into()));
    }
    struct Tally<'a> {
        variant: &'a str,
        epsilon: f64,
        first: usize,
        n: u64,
        ones: [u64; Indicator::ALL.len()],
    }
    let mut tallies: Vec<Tally> = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        r.validate().map_err(|e| Error::Data(format!("report {}: {e}", i + 1)))?;
        let t = match tallies.iter_mut().position(|t| t.variant == r.variant) {
            Some(j) => &mut tallies[j],
            None => {
                tallies.push(Tally { variant: &r.variant, epsilon: r.epsilon, first: i, n: 0, ones: [0; 5] });
                tallies.last_mut().expect("just pushed")
            }
        };
        if t.epsilon != r.epsilon {
            return Err(Error::Mismatch(format!(
                "variant `{}` has reports at ε = {} (report {}) and at ε = {} (report {}): estimate reports of \
                 different ε separately",
                r.variant,
                t.epsilon,
                t.first + 1,
                r.epsilon,
                i + 1
            )));
        }
        t.n += 1;
        for (j, &ind) in Indicator::ALL.iter().enumerate() {
            t.ones[j] += u64::from(r.bits.get(ind));
        }
    }
    let variants: Vec<VariantEstimate> = tallies
        .iter()
        .map(|t| {
            let eb = epsilon_per_bit(t.epsilon);
            VariantEstimate {
                variant: t.variant.to_string(),
                reports: t.n,
                epsilon: t.epsilon,
                epsilon_per_bit: eb,
                truth_probability: truth_probability(eb),
                indicators: Indicator::ALL
                    .iter()
                    .zip(t.ones)
                    .map(|(&ind, ones)| estimate_rate(ind, ones, t.n, eb))
                    .collect(),
            }
        })
        .collect();
    let differences = variants[1..].iter().flat_map(|b| compare(&variants[0], b)).collect();
    Ok(Estimates { mechanism: MECHANISM.to_string(), version: VERSION, variants, differences })
}

/// `b` against `a` on every indicator: b's rate − a's, with standard error √(se_a² + se_b²) and
/// the normal 95% interval (the variants' devices are different, their estimates independent).
pub fn compare(a: &VariantEstimate, b: &VariantEstimate) -> Vec<Difference> {
    Indicator::ALL
        .iter()
        .map(|&ind| {
            let (ea, eb) = (a.get(ind), b.get(ind));
            let difference = eb.rate - ea.rate;
            let se = (ea.se * ea.se + eb.se * eb.se).sqrt();
            Difference {
                indicator: ind,
                baseline: a.variant.clone(),
                variant: b.variant.clone(),
                difference,
                se,
                ci95: Ci { lo: difference - Z95 * se, hi: difference + Z95 * se },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::IndicatorBits;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn report(variant: &str, epsilon: f64, bits: IndicatorBits) -> PrivateReport {
        PrivateReport { mechanism: MECHANISM.into(), version: VERSION, variant: variant.into(), epsilon, bits }
    }

    /// ε = 5 ln 3 gives ln 3 per bit: p = 0.75, 2p − 1 = 0.5.
    fn ln3_per_bit() -> f64 {
        5.0 * 3f64.ln()
    }

    #[test]
    fn hand_computed_estimate_p_three_quarters() {
        // 4 reports, 3 say 1: ȳ = 0.75 → (0.75 − 0.25) / 0.5 = 1.0, se = √(0.75·0.25/4)/0.5.
        let e = estimate_rate(Indicator::Clicked, 3, 4, 3f64.ln());
        assert!(close(e.reported_rate, 0.75, 1e-15));
        assert!(close(e.rate, 1.0, 1e-12), "{}", e.rate);
        let se = (0.75f64 * 0.25 / 4.0).sqrt() / 0.5;
        assert!(close(se, 0.433_012_701_892_219, 1e-12));
        assert!(close(e.se, se, 1e-12), "{}", e.se);
        assert!(close(e.ci95.lo, 1.0 - 1.959_963_984_540_054 * se, 1e-12));
        assert!(close(e.ci95.hi, 1.0 + 1.959_963_984_540_054 * se, 1e-12));
        // 1 of 4: ȳ = 0.25 → (0.25 − 0.25)/0.5 = 0 (the share a device without it reports).
        assert!(close(estimate_rate(Indicator::Hit, 1, 4, 3f64.ln()).rate, 0.0, 1e-12));
        // 2 of 4: ȳ = 0.5 → 0.5; se = √(0.25/4)/0.5 = 0.5.
        let half = estimate_rate(Indicator::Hit, 2, 4, 3f64.ln());
        assert!(close(half.rate, 0.5, 1e-12) && close(half.se, 0.5, 1e-12));
        // 0 of 4 is below what no device gives on average: the estimate is −0.5, not clipped.
        assert!(close(estimate_rate(Indicator::Hit, 0, 4, 3f64.ln()).rate, -0.5, 1e-12));
    }

    #[test]
    fn estimate_groups_by_variant_in_first_seen_order_and_compares_with_the_first() {
        let eps = ln3_per_bit();
        let yes = IndicatorBits::from_fn(|_| true);
        let no = IndicatorBits::default();
        let clicked_only = IndicatorBits { clicked: true, ..no };
        let mut reports = Vec::new();
        // variant b: 4 reports, 3 with every bit 1 → every rate 1.0.
        for bits in [yes, yes, no, yes] {
            reports.push(report("b", eps, bits));
        }
        // variant a (seen second): 4 reports, clicked 2 of 4 → 0.5, other bits 0 of 4 → −0.5.
        for bits in [clicked_only, no, clicked_only, no] {
            reports.push(report("a", eps, bits));
        }
        let est = estimate(&reports).unwrap();
        assert_eq!(est.mechanism, "randomized-response");
        let names: Vec<&str> = est.variants.iter().map(|v| v.variant.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        let (b, a) = (&est.variants[0], &est.variants[1]);
        assert_eq!((b.reports, a.reports), (4, 4));
        assert!(close(b.truth_probability, 0.75, 1e-12) && close(b.epsilon_per_bit, 3f64.ln(), 1e-12));
        for i in Indicator::ALL {
            assert!(close(b.get(i).rate, 1.0, 1e-12), "{i}");
            assert_eq!(b.get(i).reported_ones, 3);
        }
        assert!(close(a.get(Indicator::Clicked).rate, 0.5, 1e-12));
        assert!(close(a.get(Indicator::Purchased).rate, -0.5, 1e-12));
        // a − b on clicked: 0.5 − 1.0, se = √(0.4330² + 0.5²).
        assert_eq!(est.differences.len(), 5);
        let d = est.differences.iter().find(|d| d.indicator == Indicator::Clicked).unwrap();
        assert_eq!((d.baseline.as_str(), d.variant.as_str()), ("b", "a"));
        assert!(close(d.difference, -0.5, 1e-12));
        let se = (0.75f64 * 0.25 / 4.0 / 0.25 + 0.25 / 4.0 / 0.25).sqrt();
        assert!(close(d.se, se, 1e-12), "{} vs {se}", d.se);
        assert!(close(d.ci95.hi - d.ci95.lo, 2.0 * Z95 * se, 1e-12));
        // The JSON keeps the names.
        let v = serde_json::to_value(&est).unwrap();
        assert_eq!(v["variants"][0]["indicators"][1]["indicator"], "clicked");
        assert!(v["variants"][0]["epsilonPerBit"].is_number());
        assert!(v["differences"][0]["ci95"]["lo"].is_number());
    }

    #[test]
    fn one_variant_has_no_differences() {
        let est = estimate(&[report("a", 1.0, IndicatorBits::default())]).unwrap();
        assert_eq!(est.variants.len(), 1);
        assert!(est.differences.is_empty());
    }

    #[test]
    fn mixed_epsilon_within_a_variant_is_an_error_naming_both() {
        let bits = IndicatorBits::default();
        let reports = [report("a", 2.0, bits), report("b", 0.5, bits), report("a", 2.0, bits), report("a", 1.0, bits)];
        let e = estimate(&reports).unwrap_err().to_string();
        assert!(e.contains("variant `a`") && e.contains("ε = 2 (report 1)") && e.contains("ε = 1 (report 4)"), "{e}");
    }

    #[test]
    fn empty_and_invalid_reports_are_errors() {
        assert!(estimate(&[]).unwrap_err().to_string().contains("no reports"));
        let bad = [report("a", 1.0, IndicatorBits::default()), report("a", -1.0, IndicatorBits::default())];
        let e = estimate(&bad).unwrap_err().to_string();
        assert!(e.starts_with("report 2:") && e.contains("epsilon"), "{e}");
    }
}
