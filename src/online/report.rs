//! What one device measured ([`DeviceSummary`]) and what it may hand out ([`PrivateReport`]):
//! randomized response on each indicator bit, the report's ε split evenly over the bits.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::indicator::{Indicator, IndicatorBits};
use crate::error::{Error, Result};

/// The mechanism's name in a report.
pub const MECHANISM: &str = "randomized-response";
/// The report format's version: version 1 has the five bits of [`Indicator::ALL`], each
/// randomized with ε / 5.
pub const VERSION: u32 = 1;
/// The largest ε a report may state. Beyond it randomized response hardly randomizes (at ε = 20
/// each bit is kept with probability 0.982): such a report is close to the truth and should not
/// be called private.
pub const MAX_EPSILON: f64 = 20.0;
/// The longest variant name, in characters. The variant travels in the clear: it must be the
/// name of the arm the device was assigned to, not free text that could carry behaviour.
pub const MAX_VARIANT_LEN: usize = 64;

/// What one device measured over a reporting period, for the model variant (A/B arm) it was
/// assigned to. The browser produces it; it never leaves the device as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSummary {
    /// The model variant (A/B test arm), e.g. `sasrec`.
    pub variant: String,
    /// Sets of recommendations shown.
    pub impression_sets: u64,
    /// Clicks on a recommended item.
    pub clicks: u64,
    /// Add-to-carts after a recommendation.
    pub carts: u64,
    /// Purchases after a recommendation.
    pub purchases: u64,
    /// Shown sets whose top-k held the next real event.
    pub hits: u64,
}

/// What a device may hand out: one randomized bit per [`Indicator`], the variant in the clear
/// (the assignment is random and says nothing about behaviour), the total ε the report spends,
/// and the mechanism and its version.
///
/// JSON (camelCase), one line per report in a `.jsonl` file:
///
/// ```json
/// {"mechanism":"randomized-response","version":1,"variant":"sasrec","epsilon":2.0,
///  "bits":{"exposed":true,"clicked":false,"carted":false,"purchased":false,"hit":true}}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrivateReport {
    /// [`MECHANISM`].
    pub mechanism: String,
    /// [`VERSION`].
    pub version: u32,
    /// The model variant (A/B test arm) the device was assigned to.
    pub variant: String,
    /// The total ε of the report; each of the [`Indicator::ALL`] bits is randomized with
    /// [`epsilon_per_bit`]`(epsilon)`.
    pub epsilon: f64,
    /// The randomized bits: each is the device's true indicator with probability
    /// [`truth_probability`]`(`[`epsilon_per_bit`]`(epsilon))`, else its flip.
    pub bits: IndicatorBits,
}

/// Checks a report's total ε: finite, > 0 and at most [`MAX_EPSILON`].
pub fn check_epsilon(epsilon: f64) -> Result<()> {
    if !epsilon.is_finite() || epsilon <= 0.0 || epsilon > MAX_EPSILON {
        return Err(Error::invalid(
            "epsilon",
            format!("{epsilon} is not a privacy budget: it must be a finite number > 0 and at most {MAX_EPSILON}"),
        ));
    }
    Ok(())
}

/// Checks a variant name: not empty, at most [`MAX_VARIANT_LEN`] characters, no control characters.
pub fn check_variant(variant: &str) -> Result<()> {
    let problem = if variant.trim().is_empty() {
        "is empty".to_string()
    } else if variant.chars().count() > MAX_VARIANT_LEN {
        format!(
            "is {} characters long; the limit is {MAX_VARIANT_LEN} (it travels in the clear: the name of an A/B arm, not free text)",
            variant.chars().count()
        )
    } else if variant.chars().any(char::is_control) {
        "holds a control character".to_string()
    } else {
        return Ok(());
    };
    Err(Error::invalid("variant", format!("`{}` {problem}", variant.escape_debug())))
}

/// The ε each bit of a report spends: the total split evenly over the [`Indicator::ALL`] bits.
/// By sequential composition the report as a whole is then `epsilon`-differentially private.
pub fn epsilon_per_bit(epsilon: f64) -> f64 {
    epsilon / Indicator::ALL.len() as f64
}

/// The probability that randomized response with budget `epsilon_bit` reports a bit as it is:
/// p = e^ε / (1 + e^ε). At ε = ln 3, p = 0.75; at ε = 0.4, p = 0.599.
pub fn truth_probability(epsilon_bit: f64) -> f64 {
    1.0 / (1.0 + (-epsilon_bit).exp())
}

/// The exact probability that a device whose true indicators are `truth` hands out a report with
/// the bits `reported`, at total budget `epsilon`: the product over the bits of p (bit kept) or
/// 1 − p (bit flipped). The mechanism in one formula; the privacy tests walk it.
pub fn report_probability(truth: &IndicatorBits, reported: &IndicatorBits, epsilon: f64) -> f64 {
    let p = truth_probability(epsilon_per_bit(epsilon));
    Indicator::ALL.iter().map(|&i| if truth.get(i) == reported.get(i) { p } else { 1.0 - p }).product()
}

impl DeviceSummary {
    /// The device's true indicators: a count of at least one sets the bit.
    pub fn indicators(&self) -> IndicatorBits {
        IndicatorBits {
            exposed: self.impression_sets > 0,
            clicked: self.clicks > 0,
            carted: self.carts > 0,
            purchased: self.purchases > 0,
            hit: self.hits > 0,
        }
    }

    /// The report this device may hand out, at total budget `epsilon`: each indicator bit is
    /// kept with probability p = e^(ε/5) / (1 + e^(ε/5)) and flipped otherwise, independently,
    /// with the randomness of `rng` (on the device: a generator seeded from the system's
    /// entropy, never a fixed seed: whoever knows the seed can undo the randomization).
    ///
    /// For any two summaries and any report, the probabilities of that report differ by at most
    /// a factor e^ε. Errors: ε not finite, ≤ 0 or above [`MAX_EPSILON`]; a variant name that is
    /// empty, too long or holds control characters.
    pub fn privatize<R: Rng + ?Sized>(&self, epsilon: f64, rng: &mut R) -> Result<PrivateReport> {
        check_epsilon(epsilon)?;
        check_variant(&self.variant)?;
        let p = truth_probability(epsilon_per_bit(epsilon));
        let truth = self.indicators();
        let bits = IndicatorBits::from_fn(|i| if rng.random_bool(p) { truth.get(i) } else { !truth.get(i) });
        Ok(PrivateReport {
            mechanism: MECHANISM.to_string(),
            version: VERSION,
            variant: self.variant.clone(),
            epsilon,
            bits,
        })
    }
}

impl PrivateReport {
    /// Checks what a report states: the mechanism and version this library knows, a valid ε and
    /// variant name. The estimator relies on them.
    pub fn validate(&self) -> Result<()> {
        if self.mechanism != MECHANISM {
            return Err(Error::invalid(
                "mechanism",
                format!("`{}` is not a known mechanism (expected `{MECHANISM}`)", self.mechanism.escape_debug()),
            ));
        }
        if self.version != VERSION {
            return Err(Error::invalid(
                "version",
                format!("report version {} is not known (this library reads version {VERSION})", self.version),
            ));
        }
        check_epsilon(self.epsilon)?;
        check_variant(&self.variant)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn truth_probability_hand_values() {
        assert!(close(truth_probability(3f64.ln()), 0.75, 1e-15));
        // ε = 2 split over 5 bits: 0.4 per bit, p = e^0.4 / (1 + e^0.4) = 1.49182 / 2.49182.
        assert!(close(epsilon_per_bit(2.0), 0.4, 1e-15));
        assert!(close(truth_probability(0.4), 0.598_687_660_112_452, 1e-12));
        assert!(close(truth_probability(0.0), 0.5, 1e-15));
    }

    /// The guarantee: for any two true indicator vectors and any report, the probabilities of
    /// that report differ by at most e^ε; the worst case (every bit different) reaches it.
    #[test]
    fn likelihood_ratio_is_at_most_e_to_the_epsilon_over_every_combination() {
        let n = 1u32 << Indicator::ALL.len();
        for epsilon in [0.1, 0.5, 3f64.ln(), 2.0, 5.0, MAX_EPSILON] {
            let bound = epsilon.exp();
            let mut worst: f64 = 0.0;
            for r in 0..n {
                let reported = IndicatorBits::from_mask(r);
                let mut total = 0.0;
                for a in 0..n {
                    let pa = report_probability(&IndicatorBits::from_mask(a), &reported, epsilon);
                    for b in 0..n {
                        let pb = report_probability(&IndicatorBits::from_mask(b), &reported, epsilon);
                        worst = worst.max(pa / pb);
                    }
                }
                for a in 0..n {
                    total += report_probability(&IndicatorBits::from_mask(r), &IndicatorBits::from_mask(a), epsilon);
                }
                assert!(close(total, 1.0, 1e-12), "report probabilities of one truth sum to {total}");
            }
            assert!(worst <= bound * (1.0 + 1e-12), "ε = {epsilon}: ratio {worst} > e^ε = {bound}");
            assert!(
                close(worst, bound, bound * 1e-12),
                "ε = {epsilon}: the worst ratio {worst} should reach e^ε = {bound}"
            );
        }
    }

    /// Summaries reach the mechanism only through their indicators: two summaries with the same
    /// indicators give the same reports from the same randomness, whatever their counts.
    #[test]
    fn counts_beyond_one_do_not_change_the_report() {
        let a = DeviceSummary { variant: "a".into(), impression_sets: 1, clicks: 1, carts: 0, purchases: 0, hits: 1 };
        let b = DeviceSummary { impression_sets: 90, clicks: 40, hits: 7, ..a.clone() };
        for seed in 0..50 {
            let ra = a.privatize(1.0, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            let rb = b.privatize(1.0, &mut ChaCha8Rng::seed_from_u64(seed)).unwrap();
            assert_eq!(ra, rb);
        }
    }

    #[test]
    fn each_bit_is_kept_with_probability_p() {
        let s = DeviceSummary { variant: "a".into(), impression_sets: 3, clicks: 1, ..Default::default() };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 40_000;
        let mut kept = [0u32; 5];
        for _ in 0..n {
            let r = s.privatize(2.0, &mut rng).unwrap();
            for (j, &i) in Indicator::ALL.iter().enumerate() {
                kept[j] += u32::from(r.bits.get(i) == s.indicators().get(i));
            }
        }
        let p = truth_probability(0.4);
        let sd = (p * (1.0 - p) / n as f64).sqrt();
        for (j, k) in kept.iter().enumerate() {
            let share = *k as f64 / n as f64;
            assert!(close(share, p, 4.0 * sd), "{}: kept {share}, expected {p}", Indicator::ALL[j]);
        }
    }

    #[test]
    fn report_states_mechanism_version_variant_and_epsilon() {
        let s = DeviceSummary { variant: "gru4rec".into(), ..Default::default() };
        let r = s.privatize(2.0, &mut ChaCha8Rng::seed_from_u64(1)).unwrap();
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["mechanism"], "randomized-response");
        assert_eq!(v["version"], 1);
        assert_eq!(v["variant"], "gru4rec");
        assert_eq!(v["epsilon"], 2.0);
        assert_eq!(v["bits"].as_object().unwrap().len(), 5);
        let back: PrivateReport = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
        back.validate().unwrap();
    }

    #[test]
    fn bad_epsilon_is_rejected_by_name() {
        let s = DeviceSummary { variant: "a".into(), ..Default::default() };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 20.5] {
            let e = s.privatize(bad, &mut rng).unwrap_err().to_string();
            assert!(e.contains("epsilon") && e.contains("privacy budget"), "{bad}: {e}");
        }
        assert!(s.privatize(MAX_EPSILON, &mut rng).is_ok());
    }

    #[test]
    fn bad_variant_is_rejected_by_name() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for (bad, why) in
            [("", "empty"), (" ", "empty"), ("a\nb", "control"), (&"x".repeat(65) as &str, "65 characters")]
        {
            let s = DeviceSummary { variant: bad.to_string(), ..Default::default() };
            let e = s.privatize(1.0, &mut rng).unwrap_err().to_string();
            assert!(e.contains("variant") && e.contains(why), "{bad:?}: {e}");
        }
    }

    #[test]
    fn unknown_mechanism_version_and_fields_are_rejected() {
        let good = r#"{"mechanism":"randomized-response","version":1,"variant":"a","epsilon":1.0,"bits":{"exposed":true,"clicked":false,"carted":false,"purchased":false,"hit":false}}"#;
        serde_json::from_str::<PrivateReport>(good).unwrap().validate().unwrap();
        let other = good.replace("randomized-response", "laplace");
        let e = serde_json::from_str::<PrivateReport>(&other).unwrap().validate().unwrap_err().to_string();
        assert!(e.contains("`laplace` is not a known mechanism"), "{e}");
        let v2 = good.replace("\"version\":1", "\"version\":2");
        let e = serde_json::from_str::<PrivateReport>(&v2).unwrap().validate().unwrap_err().to_string();
        assert!(e.contains("version 2"), "{e}");
        let extra = good.replace("\"hit\":false", "\"hit\":false,\"userId\":\"u1\"");
        let e = serde_json::from_str::<PrivateReport>(&extra).unwrap_err().to_string();
        assert!(e.contains("userId"), "{e}");
        let missing = good.replace(",\"hit\":false", "");
        assert!(serde_json::from_str::<PrivateReport>(&missing).unwrap_err().to_string().contains("hit"));
    }
}
