//! How reports read for people: the Markdown of an [`EvalReport`] and of a [`CompareReport`],
//! the aligned terminal table of a comparison, and the table and cell helpers they share.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::eval::NegativeSampling;
use crate::eval::dynamic::Group;
use crate::eval::report::{CompareReport, EvalReport, LEADERBOARD_KEYS, RANK_KEY};

impl EvalReport {
    /// The cut-off the summary tables focus on: 10 when evaluated, else the first K.
    fn focus_k(&self) -> usize {
        if self.protocol.ks.contains(&10) { 10 } else { self.protocol.ks.first().copied().unwrap_or(10) }
    }

    /// A readable Markdown report: header, accuracy table (metric × K with the 95% interval at
    /// K = 10), beyond-accuracy table, dynamic tables, sampled metrics (labelled), notes.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let d = &self.data;
        let _ = writeln!(s, "# localrec evaluation: {}\n", self.model);
        let _ = writeln!(
            s,
            "**{}** on **{}** ({} users, {} items, {} interactions; fingerprint `{}`) · split `{}` · phase {} · \
             {} cases · localrec {}\n",
            self.model,
            d.name,
            d.users,
            d.items,
            d.interactions,
            d.fingerprint,
            self.split,
            self.phase,
            self.cases,
            self.localrec_version
        );
        let p = &self.protocol;
        let _ = writeln!(
            s,
            "Full ranking over the whole catalog; history masked: {}; max_len {}; ties: {}; a masked target {}.\n",
            if p.history_masked { "yes" } else { "no" },
            p.max_len,
            p.ties,
            p.masked_target
        );
        let focus = self.focus_k();

        let _ = writeln!(s, "## Accuracy (full ranking)\n");
        let rows = [
            ("HR", "hr"),
            ("Recall", "recall"),
            ("Precision", "precision"),
            ("F1", "f1"),
            ("NDCG", "ndcg"),
            ("MRR", "mrr"),
            ("MAP", "map"),
        ];
        s.push_str(&metric_by_k_table(&rows, &p.ks, &self.metrics, &self.ci95, focus));
        let extra: Vec<String> = ["gauc", "auc"]
            .iter()
            .filter_map(|k| {
                let v = self.metrics.get(*k)?;
                Some(format!("{} {}", k.to_uppercase(), cell(*v, self.ci95.get(*k))))
            })
            .collect();
        if !extra.is_empty() {
            let _ = writeln!(s, "\n{}", extra.join(" · "));
        }

        let beyond_rows = [
            ("Avg. popularity", "avgpop"),
            ("Tail share", "tail"),
            ("Novelty", "novelty"),
            ("Serendipity", "serendipity"),
            ("ILD", "ild"),
            ("Coverage", "coverage"),
            ("Gini", "gini"),
            ("Entropy", "entropy"),
        ];
        let present: Vec<(&str, &str)> = beyond_rows
            .iter()
            .copied()
            .filter(|(_, key)| p.ks.iter().any(|k| self.metrics.contains_key(&format!("{key}@{k}"))))
            .collect();
        if !present.is_empty() {
            let _ = writeln!(s, "\n## Beyond accuracy\n");
            s.push_str(&metric_by_k_table(&present, &p.ks, &self.metrics, &self.ci95, focus));
        }

        if let Some(sm) = &self.sampled {
            let _ = writeln!(s, "\n## Sampled metrics (not comparable with full ranking)\n");
            let _ = writeln!(s, "> {}; negatives drawn {}.\n", sm.label, strategy_name(sm.strategy));
            let rows = [("HR", "hr"), ("NDCG", "ndcg"), ("MRR", "mrr")];
            s.push_str(&metric_by_k_table(&rows, &p.ks, &sm.metrics, &sm.ci95, focus));
        }

        let dy = &self.dynamic;
        let cols: Vec<String> = ["hr", "ndcg", "mrr"].iter().map(|m| format!("{m}@{focus}")).collect();
        let _ = writeln!(s, "\n## Dynamic evaluation\n");
        let _ = writeln!(s, "### By history length\n");
        s.push_str(&group_table("history length", &dy.by_length, &cols));
        let _ = writeln!(s, "\n### By training activity\n");
        let _ = writeln!(s, "Interactions of the user visible to training (quantiles over the cases).\n");
        s.push_str(&group_table("activity", &dy.by_activity, &cols));
        if let Some(t) = &dy.by_time {
            let _ = writeln!(s, "\n### By target time\n");
            s.push_str(&group_table("time", t, &cols));
        }
        if let Some(dr) = &dy.drift {
            let _ = writeln!(s, "\n### Interest drift\n");
            let mut line = format!(
                "Jensen–Shannon divergence of the category mix of the early vs the late half of the history. \
                 Cases with a score: {:.1}%",
                100.0 * dr.share
            );
            if let Some(m) = dr.mean {
                let _ = write!(line, " · mean drift {m:.3}");
            }
            if let (Some(k), Some(r)) = (&dr.metric, dr.spearman) {
                let _ = write!(line, " · Spearman(drift, {k}) = {r:.3}");
            }
            let _ = writeln!(s, "{line}.\n");
            s.push_str(&group_table("drift", &dr.by_drift, &cols));
        }

        if !self.notes.is_empty() {
            let _ = writeln!(s, "\n## Notes\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        let _ = writeln!(s, "\nTiming: fit {:.2} s · eval {:.2} s", self.timing.fit_s, self.timing.eval_s);
        s
    }
}

fn strategy_name(s: NegativeSampling) -> &'static str {
    match s {
        NegativeSampling::Uniform => "uniformly",
        NegativeSampling::Popularity => "in proportion to training popularity",
    }
}

/// `0.0312` or `0.0312 [0.0298, 0.0327]`.
fn cell(v: f64, ci: Option<&[f64; 2]>) -> String {
    match ci {
        Some([lo, hi]) => format!("{v:.4} [{lo:.4}, {hi:.4}]"),
        None => format!("{v:.4}"),
    }
}

fn opt_cell(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "–".to_string())
}

/// A Markdown table of `rows` (title, key prefix) × K, with the interval at K = `focus`.
fn metric_by_k_table(
    rows: &[(&str, &str)],
    ks: &[usize],
    metrics: &BTreeMap<String, f64>,
    ci95: &BTreeMap<String, [f64; 2]>,
    focus: usize,
) -> String {
    let mut s = String::from("| metric |");
    for k in ks {
        let _ = write!(s, " @{k} |");
    }
    let _ = writeln!(s, " @{focus} 95% CI |");
    s.push_str("|---|");
    s.push_str(&"---:|".repeat(ks.len() + 1));
    s.push('\n');
    for (title, key) in rows {
        if !ks.iter().any(|k| metrics.contains_key(&format!("{key}@{k}"))) {
            continue;
        }
        let _ = write!(s, "| {title} |");
        for k in ks {
            let _ = write!(s, " {} |", opt_cell(metrics.get(&format!("{key}@{k}")).copied()));
        }
        let ci = ci95.get(&format!("{key}@{focus}"));
        let _ = writeln!(s, " {} |", ci.map(|[lo, hi]| format!("[{lo:.4}, {hi:.4}]")).unwrap_or_else(|| "–".into()));
    }
    s
}

/// A Markdown table of groups: label, cases and the `cols` metrics.
fn group_table(what: &str, groups: &[Group], cols: &[String]) -> String {
    let mut s = format!("| {what} | cases |");
    for c in cols {
        let _ = write!(s, " {c} |");
    }
    s.push_str("\n|---|---:|");
    s.push_str(&"---:|".repeat(cols.len()));
    s.push('\n');
    for g in groups {
        let _ = write!(s, "| {} | {} |", g.label, g.cases);
        for c in cols {
            let _ = write!(s, " {} |", opt_cell(g.metrics.get(c).copied()));
        }
        s.push('\n');
    }
    s
}

/// `p` as `0.0123`, or `<1e-4`.
fn fmt_p(p: f64) -> String {
    if p < 1e-4 { "<1e-4".to_string() } else { format!("{p:.4}") }
}

/// `-0.0123` or, for a t of ±f64::MAX (zero variance), `±inf`.
fn fmt_t(t: f64) -> String {
    if t.abs() >= f64::MAX { if t > 0.0 { "+inf".into() } else { "-inf".into() } } else { format!("{t:.3}") }
}

impl CompareReport {
    /// The leaderboard (best `ndcg@10` first, cells `0.0312 [0.0298, 0.0327]`) and the
    /// significance table, in Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::from("# localrec comparison\n\n");
        if let Some(r) = self.models.first() {
            let _ = writeln!(
                s,
                "Data **{}** (fingerprint `{}`) · split `{}` · phase {} · {} cases · full ranking\n",
                r.data.name, r.data.fingerprint, r.split, r.phase, r.cases
            );
        }
        let keys: Vec<&str> = LEADERBOARD_KEYS
            .iter()
            .copied()
            .filter(|k| self.leaderboard.iter().any(|r| r.metrics.contains_key(*k)))
            .collect();
        let _ = writeln!(s, "## Leaderboard (by {RANK_KEY})\n");
        s.push_str("| # | model |");
        for k in &keys {
            let _ = write!(s, " {k} |");
        }
        s.push_str(" fit s | eval s |\n|---:|---|");
        s.push_str(&"---:|".repeat(keys.len() + 2));
        s.push('\n');
        for (i, row) in self.leaderboard.iter().enumerate() {
            let _ = write!(s, "| {} | {} |", i + 1, row.model);
            for k in &keys {
                let c = row.metrics.get(*k).map(|v| cell(*v, row.ci95.get(*k))).unwrap_or_else(|| "–".into());
                let _ = write!(s, " {c} |");
            }
            let _ = writeln!(s, " {:.2} | {:.2} |", row.fit_s, row.eval_s);
        }
        if !self.significance.is_empty() {
            let _ = writeln!(s, "\n## Significance against the best model\n");
            s.push_str(
                "Paired over cases: difference of means (A − B) with its bootstrap 95% interval, two-sided paired \
                 t-test, and Holm–Bonferroni adjustment over every test below.\n\n",
            );
            s.push_str("| model (A) | vs (B) | metric | A | B | A − B | 95% CI | t | p | p (Holm) |\n");
            s.push_str("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
            for r in &self.significance {
                let t = &r.test;
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {:.4} | {:.4} | {:+.4} | [{:+.4}, {:+.4}] | {} | {} | {} |",
                    r.model,
                    r.against,
                    t.metric,
                    t.mean_a,
                    t.mean_b,
                    t.diff,
                    t.ci.lo,
                    t.ci.hi,
                    fmt_t(t.t),
                    fmt_p(t.p_value),
                    fmt_p(r.p_holm)
                );
            }
        }
        s
    }

    /// An aligned plain-text table for a terminal: model, HR@10 and NDCG@10 with their 95%
    /// intervals, MRR@10, Cov@10 and evaluation time, best first; then one line per
    /// significance test.
    pub fn to_terminal(&self) -> String {
        let header = ["model", "HR@10 [95% CI]", "NDCG@10 [95% CI]", "MRR@10", "Cov@10", "eval s"];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
        for r in &self.leaderboard {
            let with_ci = |k: &str| r.metrics.get(k).map(|v| cell(*v, r.ci95.get(k))).unwrap_or_else(|| "–".into());
            let plain = |k: &str| opt_cell(r.metrics.get(k).copied());
            rows.push(vec![
                r.model.clone(),
                with_ci("hr@10"),
                with_ci("ndcg@10"),
                plain("mrr@10"),
                plain("coverage@10"),
                format!("{:.2}", r.eval_s),
            ]);
        }
        let widths: Vec<usize> =
            (0..header.len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
        let mut s = String::new();
        for row in &rows {
            let mut line = String::new();
            for (c, v) in row.iter().enumerate() {
                let pad = widths[c] - v.chars().count();
                if c == 0 {
                    // names left-aligned, numbers right-aligned
                    line.push_str(v);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(v);
                }
            }
            s.push_str(line.trim_end());
            s.push('\n');
        }
        if !self.significance.is_empty() {
            s.push('\n');
        }
        for r in &self.significance {
            let t = &r.test;
            let _ = writeln!(
                s,
                "{} vs {} on {}: {:+.4} [{:+.4}, {:+.4}], p = {}, Holm p = {}",
                r.model,
                r.against,
                t.metric,
                t.diff,
                t.ci.lo,
                t.ci.hi,
                fmt_p(t.p_value),
                fmt_p(r.p_holm)
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::testing::report;
    use crate::eval::report::{SampledReport, sampled_label};

    #[test]
    fn markdown_holds_the_tables() {
        let mut r = report("pop", 0.0312, 0.061);
        r.sampled = Some(SampledReport {
            negatives: 100,
            strategy: NegativeSampling::Uniform,
            label: sampled_label(100),
            metrics: [("hr@10".to_string(), 0.42)].into_iter().collect(),
            ci95: BTreeMap::new(),
        });
        let md = r.to_markdown();
        assert!(md.contains("# localrec evaluation: pop"), "{md}");
        assert!(md.contains("split `loo` · phase test · 4 cases"), "{md}");
        assert!(md.contains("| metric | @10 | @20 | @10 95% CI |"), "{md}");
        assert!(md.contains("| NDCG | 0.0312 | – | [0.0292, 0.0342] |"), "{md}");
        assert!(md.contains("| HR | 0.0610 | – | [0.0510, 0.0710] |"), "{md}");
        assert!(md.contains("| Recall | – | 0.0915 | – |"), "{md}");
        assert!(!md.contains("| Precision |"), "rows without any value are left out: {md}");
        assert!(md.contains("| Coverage | 0.2500 | – | – |"), "beyond table: {md}");
        assert!(md.contains("AUC 0.9000"), "{md}");
        assert!(md.contains("## Sampled metrics (not comparable with full ranking)"), "{md}");
        assert!(
            md.contains(
                "> sampled metrics (target vs 100 sampled negatives); not comparable with full ranking; \
                 negatives drawn uniformly."
            ),
            "{md}"
        );
        assert!(md.contains("| HR | 0.4200 | – | – |"), "sampled table: {md}");
        assert!(md.contains("| 3–5 | 4 | – | 0.0312 | – |"), "dynamic: {md}");
        assert!(md.contains("- no timestamps: by_time omitted"), "{md}");
    }
}
