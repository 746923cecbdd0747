//! `localrec ab-estimate`: per-variant rates and A/B differences from shoppers' private device
//! reports (local differential privacy; see `localrec::online`).

use std::collections::HashMap;
use std::path::Path;

use localrec::online::{self, Estimates, PrivateReport};
use localrec::{Error, Result};

use crate::args::AbEstimateArgs;
use crate::output::to_json;

pub fn run_ab_estimate(a: &AbEstimateArgs) -> Result<()> {
    let reports = read_reports(&a.reports)?;
    let est = online::estimate(&reports)?;
    if a.json {
        println!("{}", to_json(&est)?);
    } else {
        print!("{}", render(&a.reports, &est));
    }
    Ok(())
}

/// Reads one report per line (blank lines skipped). A line that is not a valid report, or a
/// variant whose reports state two ε, is an error naming the line.
fn read_reports(path: &Path) -> Result<Vec<PrivateReport>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut reports = Vec::new();
    // variant → (ε, line of its first report)
    let mut epsilons: HashMap<String, (f64, u64)> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        let r: PrivateReport =
            serde_json::from_str(line).map_err(|e| Error::parse(path, n, format!("not a private report: {e}")))?;
        r.validate().map_err(|e| Error::parse(path, n, e.to_string()))?;
        let (eps, first) = *epsilons.entry(r.variant.clone()).or_insert((r.epsilon, n));
        if eps != r.epsilon {
            return Err(Error::parse(
                path,
                n,
                format!(
                    "variant `{}` is at ε = {} here and at ε = {eps} on line {first}: estimate reports of different ε \
                     separately",
                    r.variant, r.epsilon
                ),
            ));
        }
        reports.push(r);
    }
    if reports.is_empty() {
        return Err(Error::EmptyFile { path: path.display().to_string() });
    }
    Ok(reports)
}

/// The tables: one row per variant and indicator, then each variant against the first.
fn render(path: &Path, est: &Estimates) -> String {
    let total: u64 = est.variants.iter().map(|v| v.reports).sum();
    let mut out = format!(
        "{}: {total} private reports ({} v{}), {} variant{}\n\
         rate: estimated share of devices; 95% CI: normal; ε: each report's total, split over 5 bits\n\n",
        path.display(),
        est.mechanism,
        est.version,
        est.variants.len(),
        if est.variants.len() == 1 { "" } else { "s" }
    );
    let w = est.variants.iter().map(|v| v.variant.chars().count()).max().unwrap_or(0).max("variant".len());
    out += &format!(
        "{:<w$}  {:<9}  {:>8}  {:>7}  {:<18}  ε (per bit, p)\n",
        "variant", "indicator", "reports", "rate", "95% CI"
    );
    for v in &est.variants {
        for e in &v.indicators {
            out += &format!(
                "{:<w$}  {:<9}  {:>8}  {:>7.4}  {:<18}  {} ({}, p = {:.3})\n",
                v.variant,
                e.indicator.name(),
                v.reports,
                e.rate,
                format!("[{:.4}, {:.4}]", e.ci95.lo, e.ci95.hi),
                v.epsilon,
                v.epsilon_per_bit,
                v.truth_probability
            );
        }
    }
    let mut pair = None;
    for d in &est.differences {
        if pair != Some((&d.variant, &d.baseline)) {
            pair = Some((&d.variant, &d.baseline));
            out += &format!("\n{} − {}  difference [95% CI]\n", d.variant, d.baseline);
        }
        let excludes_zero = d.ci95.lo > 0.0 || d.ci95.hi < 0.0;
        out += &format!(
            "  {:<9}  {:+.4} [{:+.4}, {:+.4}]{}\n",
            d.indicator.name(),
            d.difference,
            d.ci95.lo,
            d.ci95.hi,
            if excludes_zero { "  (excludes 0)" } else { "" }
        );
    }
    out
}
