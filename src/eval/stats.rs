//! Statistics for evaluation reports: bootstrap confidence intervals, paired significance
//! tests, Holm–Bonferroni adjustment and Spearman rank correlation.
//!
//! - [`bootstrap_ci`]: percentile bootstrap 95% interval of the mean of every per-case metric.
//!   One set of resamples (case indices drawn with replacement) serves every metric, so the
//!   intervals of different metrics describe the same resampled case lists.
//! - [`paired_test`]: two models on the same cases — the mean difference, its paired bootstrap
//!   interval, and a two-sided paired t-test.
//! - [`holm`]: Holm–Bonferroni adjusted p-values for a family of tests.
//! - [`spearman`]: rank correlation with average ranks for ties.
//!
//! The Student-t distribution is computed here from the regularized incomplete beta function
//! (continued fraction evaluated with the modified Lentz method) and a Lanczos ln-gamma.
//!
//! Randomness is reproducible: replicate `r` of a bootstrap with seed `s` draws from a
//! ChaCha8 generator seeded with `s` on stream `r`, so results do not depend on the number of
//! threads or the order in which replicates run.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::PerCase;

/// A confidence interval `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ci {
    /// Lower bound.
    pub lo: f64,
    /// Upper bound.
    pub hi: f64,
}

/// Percentile bootstrap 95% confidence intervals of the mean of each metric.
///
/// Every replicate draws `n` case indices with replacement (`n` = number of values) and
/// computes the mean of every metric over the drawn cases; the interval is the 2.5th and
/// 97.5th percentile of the replicate means (linear interpolation between order statistics).
/// All metrics of the same length share the same drawn indices. Metrics of a length different
/// from the others are bootstrapped separately (with the same seed).
///
/// Edge cases: no cases gives `[0, 0]` (the mean of nothing is reported as 0); `resamples == 0`
/// gives the degenerate interval `[mean, mean]`; a metric holding a non-finite value gets
/// `[NaN, NaN]`.
pub fn bootstrap_ci(metrics: &[PerCase], resamples: usize, seed: u64) -> Vec<Ci> {
    let mut out = vec![Ci { lo: 0.0, hi: 0.0 }; metrics.len()];
    let mut lengths: Vec<usize> = metrics.iter().map(|m| m.values.len()).collect();
    lengths.sort_unstable();
    lengths.dedup();
    for n in lengths {
        let which: Vec<usize> = (0..metrics.len()).filter(|&j| metrics[j].values.len() == n).collect();
        let cols: Vec<&[f64]> = which.iter().map(|&j| metrics[j].values.as_slice()).collect();
        for (j, ci) in which.into_iter().zip(bootstrap_columns(&cols, n, resamples, seed)) {
            out[j] = ci;
        }
    }
    out
}

/// The bootstrap of [`bootstrap_ci`] for columns that all have length `n`.
fn bootstrap_columns(cols: &[&[f64]], n: usize, resamples: usize, seed: u64) -> Vec<Ci> {
    let m = cols.len();
    if n == 0 {
        return vec![Ci { lo: 0.0, hi: 0.0 }; m];
    }
    let finite: Vec<bool> = cols.iter().map(|c| c.iter().all(|v| v.is_finite())).collect();
    if resamples == 0 {
        return cols
            .iter()
            .zip(&finite)
            .map(|(c, &ok)| {
                let mean = if ok { c.iter().sum::<f64>() / n as f64 } else { f64::NAN };
                Ci { lo: mean, hi: mean }
            })
            .collect();
    }
    // Case-major table: drawing case `i` adds one contiguous row of `m` values.
    let mut table = vec![0.0f64; n * m];
    for (j, c) in cols.iter().enumerate() {
        for (i, &v) in c.iter().enumerate() {
            table[i * m + j] = v;
        }
    }
    let replicate = |r: usize| -> Vec<f64> {
        let mut rng = replicate_rng(seed, r);
        let mut sums = vec![0.0f64; m];
        for _ in 0..n {
            let i = rng.random_range(0..n);
            for (s, v) in sums.iter_mut().zip(&table[i * m..(i + 1) * m]) {
                *s += v;
            }
        }
        for s in &mut sums {
            *s /= n as f64;
        }
        sums
    };
    #[cfg(not(target_arch = "wasm32"))]
    let reps: Vec<Vec<f64>> = {
        use rayon::prelude::*;
        (0..resamples).into_par_iter().map(replicate).collect()
    };
    #[cfg(target_arch = "wasm32")]
    let reps: Vec<Vec<f64>> = (0..resamples).map(replicate).collect();

    let mut col = Vec::with_capacity(resamples);
    (0..m)
        .map(|j| {
            if !finite[j] {
                return Ci { lo: f64::NAN, hi: f64::NAN };
            }
            col.clear();
            col.extend(reps.iter().map(|r| r[j]));
            col.sort_unstable_by(f64::total_cmp);
            Ci { lo: quantile_sorted(&col, 0.025), hi: quantile_sorted(&col, 0.975) }
        })
        .collect()
}

/// The generator of bootstrap replicate `r`: reproducible per `(seed, r)`.
fn replicate_rng(seed: u64, r: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(r as u64);
    rng
}

/// The `q`-quantile of sorted values, interpolating linearly between order statistics
/// (position `q * (len - 1)`). 0 for no values.
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        len => {
            let h = q.clamp(0.0, 1.0) * (len - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(len - 1);
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

/// Two models compared case by case on one metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairedTest {
    /// The metric's key, e.g. `ndcg@10`.
    pub metric: String,
    /// Mean of model A.
    pub mean_a: f64,
    /// Mean of model B.
    pub mean_b: f64,
    /// `mean_a - mean_b`.
    pub diff: f64,
    /// Paired bootstrap 95% interval of the mean difference.
    pub ci: Ci,
    /// Paired t statistic (`±f64::MAX` when the differences have zero variance but a non-zero
    /// mean; 0 when they are all equal to 0 or there are fewer than 2 cases).
    pub t: f64,
    /// Two-sided p-value of the paired t-test with `n - 1` degrees of freedom.
    pub p_value: f64,
    /// Number of cases.
    pub n: usize,
}

/// Paired comparison of per-case values `a` and `b` (the same cases, in the same order).
///
/// The difference is `a - b`; its interval is a percentile bootstrap over cases (see
/// [`bootstrap_ci`]) and the p-value a two-sided paired t-test with `n - 1` degrees of freedom.
/// When the differences have zero variance, `p = 1` if they are all 0 and `p = 0` otherwise.
/// With fewer than two cases nothing can be tested: `t = 0` and `p = 1`.
///
/// Errors: the slices differ in length, or a value is not finite.
pub fn paired_test(key: &str, a: &[f64], b: &[f64], resamples: usize, seed: u64) -> Result<PairedTest> {
    if a.len() != b.len() {
        return Err(Error::invalid(
            "paired test",
            format!(
                "`{key}`: the two models have {} and {} cases; a paired test needs the same cases",
                a.len(),
                b.len()
            ),
        ));
    }
    if let Some(i) = a.iter().zip(b).position(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return Err(Error::invalid(
            "paired test",
            format!("`{key}`: case {i} has a value that is not a finite number"),
        ));
    }
    let n = a.len();
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let (mean_a, mean_b, diff) = (mean(a), mean(b), mean(&d));
    let ci = bootstrap_ci(&[PerCase { key: key.to_string(), values: d.clone() }], resamples, seed)
        .pop()
        .unwrap_or(Ci { lo: diff, hi: diff });
    let (t, p_value) = if n < 2 {
        (0.0, 1.0)
    } else {
        let var = d.iter().map(|x| (x - diff) * (x - diff)).sum::<f64>() / (n - 1) as f64;
        if var <= 0.0 {
            if diff == 0.0 { (0.0, 1.0) } else { (f64::MAX.copysign(diff), 0.0) }
        } else {
            let t = diff / (var / n as f64).sqrt();
            (t, t_two_sided_p(t, (n - 1) as f64))
        }
    };
    Ok(PairedTest { metric: key.to_string(), mean_a, mean_b, diff, ci, t, p_value, n })
}

/// Holm–Bonferroni adjusted p-values, in the order given.
///
/// With the `m` p-values sorted ascending, the `j`-th smallest (0-based) is multiplied by
/// `m - j`, capped at 1, and made non-decreasing along the sorted order. A NaN p-value is
/// treated as 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let clean: Vec<f64> = p.iter().map(|&x| if x.is_nan() { 1.0 } else { x.clamp(0.0, 1.0) }).collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| clean[i].total_cmp(&clean[j]));
    let mut out = vec![1.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let adj = ((m - rank) as f64 * clean[i]).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

/// Spearman rank correlation of `x` and `y`: the Pearson correlation of their ranks, ties
/// given the average of the ranks they span. Pairs where either value is not finite are
/// left out. `None` when the lengths differ, fewer than two pairs remain, or either side is
/// constant.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    if x.len() != y.len() {
        return None;
    }
    let (xs, ys): (Vec<f64>, Vec<f64>) =
        x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(&a, &b)| (a, b)).unzip();
    if xs.len() < 2 {
        return None;
    }
    pearson(&average_ranks(&xs), &average_ranks(&ys))
}

/// 1-based ranks, ties sharing the mean of the ranks they span. Values must be finite.
fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        // positions i..=j (0-based) hold ranks i+1..=j+1; their mean is (i + j) / 2 + 1
        let r = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = r;
        }
        i = j + 1;
    }
    ranks
}

fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some((sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// CDF of Student's t distribution with `df` degrees of freedom at `t`.
///
/// Uses `P(|T| > |t|) = I_{df / (df + t²)}(df / 2, 1 / 2)`. NaN for NaN input or `df <= 0`.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    let tail = 0.5 * t_two_sided_p(t, df);
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// Two-sided p-value `P(|T| >= |t|)` of Student's t with `df` degrees of freedom.
fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    // df / (df + t²), written to stay accurate for huge t.
    let x = 1.0 / (1.0 + (t / df.sqrt()).powi(2));
    reg_inc_beta(df / 2.0, 0.5, x).clamp(0.0, 1.0)
}

/// Natural log of the gamma function for `x > 0` (Lanczos approximation, g = 7, 9 terms;
/// reflection below 0.5).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Γ(x) Γ(1 - x) = π / sin(πx)
        let s = (std::f64::consts::PI * x).sin().abs();
        return std::f64::consts::PI.ln() - s.ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    for (i, &c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, `x` in `[0, 1]`.
///
/// Evaluates the continued fraction for `I_x(a, b)` directly when `x < (a + 1) / (a + b + 2)`
/// (where it converges fast) and through `1 - I_{1-x}(b, a)` otherwise.
pub fn reg_inc_beta(a: f64, b: f64, x: f64) -> f64 {
    if x.is_nan() || a.is_nan() || b.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    // x^a (1-x)^b / B(a, b)
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (-x).ln_1p();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction `1 / (1 + d1 / (1 + d2 / (1 + ...)))` of the incomplete beta
/// function, with `d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1))` and
/// `d_{2m} = m (b-m) x / ((a+2m-1)(a+2m))`, evaluated by the modified Lentz method.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    const MAX_TERMS: usize = 100_000;
    let nonzero = |v: f64| if v.abs() < TINY { TINY } else { v };
    // f = 1 / (1 + d1 / (1 + d2 / ...)); start Lentz at the leading "1 /".
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 - (a + b) * x / (a + 1.0));
    let mut f = d;
    for m in 1..=MAX_TERMS {
        let m = m as f64;
        // even step d_{2m}
        let num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 / nonzero(1.0 + num * d);
        c = nonzero(1.0 + num / c);
        f *= d * c;
        // odd step d_{2m+1}
        let num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 / nonzero(1.0 + num * d);
        c = nonzero(1.0 + num / c);
        let delta = d * c;
        f *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn ln_gamma_matches_factorials_and_sqrt_pi() {
        // Γ(n) = (n-1)!: Γ(5) = 24, Γ(10) = 362880; Γ(1/2) = √π
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-12));
        assert!(close(ln_gamma(10.0), 362_880f64.ln(), 1e-11));
        assert!(close(ln_gamma(0.5), std::f64::consts::PI.sqrt().ln(), 1e-12));
        assert!(close(ln_gamma(1.0), 0.0, 1e-13));
        // Γ(0.1) = 9.513507698668732 (reflection branch)
        assert!(close(ln_gamma(0.1), 9.513_507_698_668_732f64.ln(), 1e-11));
    }

    #[test]
    fn incomplete_beta_known_values() {
        // I_x(1, 1) = x; I_x(2, 1) = x²; I_x(1, b) = 1 - (1-x)^b
        assert!(close(reg_inc_beta(1.0, 1.0, 0.3), 0.3, 1e-13));
        assert!(close(reg_inc_beta(2.0, 1.0, 0.6), 0.36, 1e-13));
        assert!(close(reg_inc_beta(1.0, 3.0, 0.2), 1.0 - 0.8f64.powi(3), 1e-13));
        // symmetry: I_x(a, b) = 1 - I_{1-x}(b, a), both branches of the evaluation
        let (a, b) = (2.5, 7.0);
        for x in [0.05, 0.2, 0.5, 0.9] {
            assert!(close(reg_inc_beta(a, b, x), 1.0 - reg_inc_beta(b, a, 1.0 - x), 1e-12), "{x}");
        }
        assert_eq!(reg_inc_beta(2.0, 3.0, 0.0), 0.0);
        assert_eq!(reg_inc_beta(2.0, 3.0, 1.0), 1.0);
        assert!(reg_inc_beta(-1.0, 3.0, 0.5).is_nan());
    }

    #[test]
    fn t_distribution_matches_tables_and_closed_forms() {
        assert!(close(t_cdf(2.0, 10.0), 0.963_306, 1e-6));
        assert!(close(t_cdf(-1.5, 5.0), 0.0969, 1e-4));
        assert!(close(t_cdf(0.0, 7.0), 0.5, 1e-12));
        // df = 1 is Cauchy: 1/2 + atan(t)/π; df = 2: 1/2 + t / (2 √(2 + t²))
        assert!(close(t_cdf(2.0, 1.0), 0.5 + 2f64.atan() / std::f64::consts::PI, 1e-10));
        assert!(close(t_cdf(1.0, 2.0), 0.5 + 1.0 / (2.0 * 3f64.sqrt()), 1e-10));
        // the 97.5% quantile of t(10) is 2.228 → two-sided p ≈ 0.05
        assert!(close(t_two_sided_p(2.228, 10.0), 0.05, 2e-4));
        // huge df ≈ normal: P(|Z| > 1.96) = 0.0499958
        assert!(close(t_two_sided_p(1.96, 1e6), 0.049_996, 1e-5));
        assert!(close(t_two_sided_p(-1.96, 1e6), t_two_sided_p(1.96, 1e6), 1e-15));
        assert_eq!(t_two_sided_p(f64::INFINITY, 3.0), 0.0);
        assert!(t_cdf(f64::NAN, 3.0).is_nan());
    }

    fn pc(key: &str, values: &[f64]) -> PerCase {
        PerCase { key: key.to_string(), values: values.to_vec() }
    }

    #[test]
    fn bootstrap_is_deterministic_shared_and_brackets_the_mean() {
        let a: Vec<f64> = (0..200).map(|i| (i % 7) as f64 / 7.0).collect();
        let b: Vec<f64> = a.iter().map(|x| 2.0 * x + 1.0).collect();
        let ms = [pc("a", &a), pc("b", &b)];
        let ci = bootstrap_ci(&ms, 300, 9);
        assert_eq!(ci, bootstrap_ci(&ms, 300, 9), "same seed, same intervals");
        assert_ne!(ci, bootstrap_ci(&ms, 300, 10), "another seed, other resamples");
        let mean_a = ms[0].mean();
        assert!(ci[0].lo < mean_a && mean_a < ci[0].hi, "{ci:?} {mean_a}");
        // b = 2a + 1 case by case, and the same indices are drawn for both: every replicate
        // mean of b is 2 × that of a + 1, so the percentiles are too.
        assert!(close(ci[1].lo, 2.0 * ci[0].lo + 1.0, 1e-12));
        assert!(close(ci[1].hi, 2.0 * ci[0].hi + 1.0, 1e-12));
        // a constant metric has a zero-width interval at its value
        let c = bootstrap_ci(&[pc("c", &[0.25; 50])], 100, 1);
        assert!(close(c[0].lo, 0.25, 1e-15) && close(c[0].hi, 0.25, 1e-15));
    }

    #[test]
    fn bootstrap_percentiles_of_a_two_point_metric() {
        // values 0 and 1, one case each: a replicate mean is 0 (p = 1/4), 0.5 (1/2) or 1 (1/4).
        // With many replicates the 2.5% and 97.5% percentiles are 0 and 1.
        let ci = bootstrap_ci(&[pc("x", &[0.0, 1.0])], 2000, 3);
        assert_eq!((ci[0].lo, ci[0].hi), (0.0, 1.0));
    }

    #[test]
    fn bootstrap_edge_cases() {
        assert!(bootstrap_ci(&[], 10, 1).is_empty());
        assert_eq!(bootstrap_ci(&[pc("e", &[])], 10, 1), vec![Ci { lo: 0.0, hi: 0.0 }]);
        // no resamples: the degenerate interval at the mean (1 + 2 + 6) / 3 = 3
        assert_eq!(bootstrap_ci(&[pc("m", &[1.0, 2.0, 6.0])], 0, 1), vec![Ci { lo: 3.0, hi: 3.0 }]);
        let nan = bootstrap_ci(&[pc("n", &[1.0, f64::NAN]), pc("ok", &[1.0, 1.0])], 20, 1);
        assert!(nan[0].lo.is_nan() && nan[0].hi.is_nan());
        assert_eq!(nan[1], Ci { lo: 1.0, hi: 1.0 });
        // different lengths are bootstrapped separately, each around its own mean
        let mixed = bootstrap_ci(&[pc("short", &[2.0; 3]), pc("long", &[5.0; 8])], 20, 1);
        assert_eq!(mixed, vec![Ci { lo: 2.0, hi: 2.0 }, Ci { lo: 5.0, hi: 5.0 }]);
    }

    #[test]
    fn quantile_interpolates() {
        // position 0.25 * 4 = 1 → 20; 0.1 * 4 = 0.4 → 10 + 0.4 * 10 = 14
        let v = [10.0, 20.0, 30.0, 40.0, 50.0];
        assert_eq!(quantile_sorted(&v, 0.25), 20.0);
        assert!(close(quantile_sorted(&v, 0.1), 14.0, 1e-12));
        assert_eq!(quantile_sorted(&[], 0.5), 0.0);
    }

    #[test]
    fn paired_t_test_by_hand() {
        // d = a - b = [1, 0, 2, 3]: mean 1.5, sample variance ((.25 + 2.25 + .25 + 2.25) / 3) = 5/3,
        // t = 1.5 / sqrt(5/3 / 4) = sqrt(5.4) = 2.32379; df = 3, and the closed form of the
        // t(3) CDF, 1/2 + (u/(1+u²) + atan u)/π with u = t/√3, gives p = 0.1027281.
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [0.0, 2.0, 1.0, 1.0];
        let t = paired_test("ndcg@10", &a, &b, 500, 7).unwrap();
        assert_eq!(t.metric, "ndcg@10");
        assert_eq!((t.mean_a, t.mean_b, t.diff, t.n), (2.5, 1.0, 1.5, 4));
        assert!(close(t.t, 5.4f64.sqrt(), 1e-12));
        assert!(close(t.p_value, 0.102_728_078_858, 1e-9), "{}", t.p_value);
        // the bootstrap interval of the mean difference lies within [min d, max d] = [0, 3]
        assert!(0.0 <= t.ci.lo && t.ci.lo < 1.5 && 1.5 < t.ci.hi && t.ci.hi <= 3.0, "{:?}", t.ci);
        // swapping the models flips the sign, not the p-value
        let s = paired_test("ndcg@10", &b, &a, 500, 7).unwrap();
        assert!(close(s.t, -t.t, 1e-12) && close(s.p_value, t.p_value, 1e-12));
    }

    #[test]
    fn paired_test_degenerate_inputs() {
        let e = paired_test("hr@10", &[1.0, 2.0], &[1.0], 10, 1).unwrap_err();
        assert!(e.to_string().contains("2 and 1 cases"), "{e}");
        assert!(paired_test("hr@10", &[1.0, f64::NAN], &[1.0, 1.0], 10, 1).is_err());
        // identical: zero variance, zero difference → p = 1
        let same = paired_test("hr@10", &[0.5, 1.0, 0.0], &[0.5, 1.0, 0.0], 10, 1).unwrap();
        assert_eq!((same.diff, same.t, same.p_value), (0.0, 0.0, 1.0));
        // a constant non-zero difference (each a = b + 1): zero variance → p = 0
        let shifted = paired_test("hr@10", &[1.0, 2.0, 3.0], &[0.0, 1.0, 2.0], 10, 1).unwrap();
        assert_eq!((shifted.diff, shifted.p_value), (1.0, 0.0));
        assert_eq!(shifted.t, f64::MAX);
        // one case: nothing to test
        let one = paired_test("hr@10", &[1.0], &[0.0], 10, 1).unwrap();
        assert_eq!((one.diff, one.p_value, one.n), (1.0, 1.0, 1));
        let none = paired_test("hr@10", &[], &[], 10, 1).unwrap();
        assert_eq!((none.diff, none.p_value, none.n), (0.0, 1.0, 0));
    }

    #[test]
    fn holm_by_hand() {
        // sorted: 0.005 (#3) ×4 = 0.02; 0.01 (#0) ×3 = 0.03; 0.03 (#2) ×2 = 0.06;
        // 0.04 (#1) ×1 = 0.04 → raised to the running maximum 0.06
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!(close(*a, w, 1e-12), "{adj:?}");
        }
        // capped at 1; NaN counts as 1
        assert_eq!(holm(&[0.6, 0.7]), vec![1.0, 1.0]);
        assert_eq!(holm(&[f64::NAN, 0.1]), vec![1.0, 0.2]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn spearman_by_hand() {
        // y ranks: 5→1, 6→2, 7,7→3.5,3.5, 8→5. Centered: dx = [-2,-1,0,1,2], dy = [-2,-1,.5,2,.5];
        // Σdxdy = 8, Σdx² = 10, Σdy² = 9.5 → r = 8 / √95 = 0.8207827
        let r = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 6.0, 7.0, 8.0, 7.0]).unwrap();
        assert!(close(r, 8.0 / 95f64.sqrt(), 1e-12), "{r}");
        // monotone but not linear → 1; reversed → -1
        assert!(close(spearman(&[1.0, 2.0, 3.0], &[1.0, 10.0, 100.0]).unwrap(), 1.0, 1e-12));
        assert!(close(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]).unwrap(), -1.0, 1e-12));
        // NaN pairs are dropped: what remains is the perfectly ordered [1,2,3] vs [1,2,3]
        let with_nan = spearman(&[1.0, f64::NAN, 2.0, 3.0], &[1.0, 5.0, 2.0, 3.0]).unwrap();
        assert!(close(with_nan, 1.0, 1e-12));
        assert_eq!(spearman(&[1.0, 2.0], &[1.0]), None);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]), None, "constant side");
        assert_eq!(spearman(&[1.0], &[1.0]), None);
    }
}
