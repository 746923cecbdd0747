//! Evaluation reports: one model ([`EvalReport`]) and several models on the same cases
//! ([`CompareReport`]), as JSON, Markdown and plain text.
//!
//! [`EvalReport`] is what `localrec eval --json` prints; its keys are stable. Every headline
//! number is in the flat `metrics` map (full-ranking accuracy means, `gauc`, `auc`,
//! beyond-accuracy means and aggregates) and, for every per-case metric, its bootstrap 95%
//! interval in `ci95`. Sampled metrics live apart, under `sampled`, with a label saying they
//! are not comparable with full ranking. Per-case values are not in the JSON: they come back
//! beside the report from [`EvalReport::build_with_cases`], for paired tests in [`compare`].
//!
//! A metric whose value is not a finite number is left out of `metrics` and `ci95` (JSON has
//! no NaN) and named in `notes`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::data::{Phase, Split};
use crate::error::{Error, Result};
use crate::eval::dynamic::{Dynamic, Group, dynamic};
use crate::eval::stats::{PairedTest, bootstrap_ci, holm, paired_test};
use crate::eval::{EvalConfig, EvalRun, NegativeSampling, PerCase, beyond, metrics, sampled};

/// How ties are broken, as the report states it.
pub const TIES: &str = "target ranked after items with equal score and smaller index";
/// What a masked target counts as, as the report states it.
pub const MASKED_TARGET: &str = "counts as a miss";
/// The label of sampled metrics with `negatives` negatives per case.
pub fn sampled_label(negatives: usize) -> String {
    format!("sampled metrics (target vs {negatives} sampled negatives); not comparable with full ranking")
}

/// The data a report was computed on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluatedOn {
    /// Dataset name.
    pub name: String,
    /// Users (sessions for session splits).
    pub users: usize,
    /// Items in the catalog.
    pub items: usize,
    /// Interactions.
    pub interactions: usize,
    /// Fingerprint of the interactions ([`crate::data::Dataset::fingerprint`]).
    pub fingerprint: String,
}

/// How the evaluation ranked and counted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Protocol {
    /// Always true: the target is ranked against the whole catalog.
    pub full_ranking: bool,
    /// Whether the case's history was removed from the candidates.
    pub history_masked: bool,
    /// The model saw at most this many of the latest history items.
    pub max_len: usize,
    /// Cut-offs of the @K metrics.
    pub ks: Vec<usize>,
    /// Tie rule ([`TIES`]).
    pub ties: String,
    /// What a masked target counts as ([`MASKED_TARGET`]).
    pub masked_target: String,
}

/// Sampled metrics, reported beside full ranking and never instead of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampledReport {
    /// Negatives per case.
    pub negatives: usize,
    /// How they were drawn.
    pub strategy: NegativeSampling,
    /// [`sampled_label`]: says the metrics are sampled and not comparable with full ranking.
    pub label: String,
    /// Means of the sampled metrics (`hr@k`, `ndcg@k`, `mrr@k`).
    pub metrics: BTreeMap<String, f64>,
    /// Bootstrap 95% intervals (absent when bootstrapping is off).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci95: BTreeMap<String, [f64; 2]>,
}

/// Wall-clock seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Fitting the model.
    pub fit_s: f64,
    /// Scoring the cases.
    pub eval_s: f64,
}

/// The evaluation of one model; see the module docs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The crate version that produced the report.
    pub localrec_version: String,
    /// Model name.
    pub model: String,
    /// The data.
    pub data: EvaluatedOn,
    /// The split, as a spec string (`loo`, `temporal:0.9:0.8`, ...).
    pub split: String,
    /// The phase evaluated.
    pub phase: Phase,
    /// How ranking and counting were done.
    pub protocol: Protocol,
    /// Number of evaluation cases.
    pub cases: usize,
    /// Every headline value by key (`ndcg@10`, `gauc`, `auc`, `coverage@10`, ...).
    pub metrics: BTreeMap<String, f64>,
    /// Bootstrap 95% interval `[lo, hi]` of every per-case metric; absent when bootstrapping
    /// is off.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci95: BTreeMap<String, [f64; 2]>,
    /// Sampled metrics, when configured.
    pub sampled: Option<SampledReport>,
    /// Accuracy by history length, activity, time and interest drift.
    pub dynamic: Dynamic,
    /// Timing.
    pub timing: Timing,
    /// What was left out and why.
    pub notes: Vec<String>,
}

/// The per-case pieces a report is assembled from.
struct Parts {
    accuracy: Vec<PerCase>,
    auc: f64,
    beyond: Vec<PerCase>,
    aggregates: Vec<(String, f64)>,
    sampled: Vec<PerCase>,
}

/// Inserts finite values; returns the keys of the others.
fn insert_finite(map: &mut BTreeMap<String, f64>, items: impl IntoIterator<Item = (String, f64)>) -> Vec<String> {
    let mut dropped = Vec::new();
    for (k, v) in items {
        if v.is_finite() {
            map.insert(k, v);
        } else {
            dropped.push(k);
        }
    }
    dropped
}

/// Bootstrap intervals of `per_case`, finite ones only.
fn intervals(per_case: &[PerCase], resamples: usize, seed: u64) -> BTreeMap<String, [f64; 2]> {
    if resamples == 0 {
        return BTreeMap::new();
    }
    per_case
        .iter()
        .zip(bootstrap_ci(per_case, resamples, seed))
        .filter(|(_, ci)| ci.lo.is_finite() && ci.hi.is_finite())
        .map(|(m, ci)| (m.key.clone(), [ci.lo, ci.hi]))
        .collect()
}

impl EvalReport {
    /// The report of `run` (a pass over the cases of `phase` of `split` with `cfg`).
    pub fn build(run: &EvalRun, split: &Split, phase: Phase, cfg: &EvalConfig, fit_s: f64) -> EvalReport {
        Self::build_with_cases(run, split, phase, cfg, fit_s).0
    }

    /// The report, and the per-case accuracy vectors ([`metrics::per_case`]) that
    /// [`compare`] needs for paired tests.
    pub fn build_with_cases(
        run: &EvalRun,
        split: &Split,
        phase: Phase,
        cfg: &EvalConfig,
        fit_s: f64,
    ) -> (EvalReport, Vec<PerCase>) {
        let ks = &cfg.ks;
        let ctx = beyond::BeyondContext::new(split, phase);
        let parts = Parts {
            accuracy: metrics::per_case(run, ks),
            auc: metrics::pooled_auc(run),
            beyond: beyond::per_case(run, split, &ctx, ks),
            aggregates: beyond::aggregate(run, &ctx, ks),
            sampled: if cfg.sampled.is_some() { sampled::per_case(run, ks) } else { Vec::new() },
        };
        Self::assemble(run, split, phase, cfg, fit_s, parts)
    }

    fn assemble(
        run: &EvalRun,
        split: &Split,
        phase: Phase,
        cfg: &EvalConfig,
        fit_s: f64,
        parts: Parts,
    ) -> (EvalReport, Vec<PerCase>) {
        let ds = &split.dataset;
        let Parts { accuracy, auc, beyond, aggregates, sampled } = parts;
        let mut notes = Vec::new();
        if run.cases.is_empty() {
            notes.push("no evaluation cases: every mean is reported as 0".to_string());
        }

        let mut metrics = BTreeMap::new();
        let mut dropped = insert_finite(&mut metrics, accuracy.iter().map(|m| (m.key.clone(), m.mean())));
        dropped.extend(insert_finite(&mut metrics, [("auc".to_string(), auc)]));
        dropped.extend(insert_finite(&mut metrics, beyond.iter().map(|m| (m.key.clone(), m.mean()))));
        dropped.extend(insert_finite(&mut metrics, aggregates));

        let mut all = accuracy.clone();
        all.extend(beyond);
        let ci95 = intervals(&all, cfg.bootstrap, cfg.seed);

        let sampled = match cfg.sampled {
            None => None,
            Some(_) if sampled.is_empty() => {
                notes.push("sampled metrics were configured but the run has no sampled ranks: omitted".to_string());
                None
            }
            Some(sc) => {
                let mut m = BTreeMap::new();
                let bad = insert_finite(&mut m, sampled.iter().map(|p| (p.key.clone(), p.mean())));
                dropped.extend(bad.into_iter().map(|k| format!("sampled {k}")));
                Some(SampledReport {
                    negatives: sc.negatives,
                    strategy: sc.strategy,
                    label: sampled_label(sc.negatives),
                    metrics: m,
                    ci95: intervals(&sampled, cfg.bootstrap, cfg.seed),
                })
            }
        };
        if !dropped.is_empty() {
            notes.push(format!("not a finite number, omitted: {}", dropped.join(", ")));
        }
        if !ds.meta.has_categories() {
            notes.push("no categories: ild and drift omitted".to_string());
        }
        if !ds.has_timestamps {
            notes.push("no timestamps: by_time omitted".to_string());
        }
        if cfg.bootstrap == 0 {
            notes.push("bootstrap off: no confidence intervals".to_string());
        }

        let report = EvalReport {
            localrec_version: env!("CARGO_PKG_VERSION").to_string(),
            model: run.model.clone(),
            data: EvaluatedOn {
                name: ds.name.clone(),
                users: ds.num_users(),
                items: ds.num_items(),
                interactions: ds.num_interactions(),
                fingerprint: ds.fingerprint(),
            },
            split: split.spec.to_string(),
            phase,
            protocol: Protocol {
                full_ranking: true,
                history_masked: cfg.mask_history,
                max_len: cfg.max_len,
                ks: cfg.ks.clone(),
                ties: TIES.to_string(),
                masked_target: MASKED_TARGET.to_string(),
            },
            cases: run.cases.len(),
            metrics,
            ci95,
            sampled,
            dynamic: dynamic(run, split, phase, &accuracy),
            timing: Timing { fit_s, eval_s: run.seconds },
            notes,
        };
        (report, accuracy)
    }

    /// Pretty-printed JSON with stable keys.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

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

/// One model's line of the leaderboard.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LeaderRow {
    /// Model name.
    pub model: String,
    /// Headline values ([`LEADERBOARD_KEYS`], those the report has).
    pub metrics: BTreeMap<String, f64>,
    /// Their bootstrap 95% intervals, where available.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ci95: BTreeMap<String, [f64; 2]>,
    /// Seconds spent fitting.
    pub fit_s: f64,
    /// Seconds spent scoring.
    pub eval_s: f64,
}

/// One paired test of a model against the best one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignificanceRow {
    /// The model tested (A).
    pub model: String,
    /// The best model by the ranking metric (B).
    pub against: String,
    /// The test of A − B.
    #[serde(flatten)]
    pub test: PairedTest,
    /// Holm-adjusted p-value over every test of the comparison.
    pub p_holm: f64,
}

/// Several models evaluated on identical cases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompareReport {
    /// Every model's full report, in the order given.
    pub models: Vec<EvalReport>,
    /// One row per model, best `ndcg@10` first.
    pub leaderboard: Vec<LeaderRow>,
    /// Every other model against the best by `ndcg@10`, on `ndcg@10` and `hr@10`.
    pub significance: Vec<SignificanceRow>,
}

/// The metric models are ranked by.
pub const RANK_KEY: &str = "ndcg@10";
/// The metrics tested for significance.
pub const TESTED_KEYS: [&str; 2] = ["ndcg@10", "hr@10"];
/// The metrics a leaderboard row shows, when present.
pub const LEADERBOARD_KEYS: [&str; 10] =
    ["hr@10", "ndcg@10", "mrr@10", "recall@20", "ndcg@20", "coverage@10", "tail@10", "novelty@10", "gauc", "auc"];

fn find<'a>(cases: &'a [PerCase], key: &str) -> Option<&'a PerCase> {
    cases.iter().find(|p| p.key == key)
}

/// Compares models evaluated on the same cases: a leaderboard sorted by `ndcg@10`, and paired
/// tests (bootstrap interval of the mean difference, paired t-test) of every model against the
/// best one on `ndcg@10` and `hr@10`, with Holm–Bonferroni adjustment over all those tests.
///
/// Each entry is a report and its per-case accuracy vectors
/// ([`EvalReport::build_with_cases`]). Errors when there is nothing to compare, when the
/// reports were not made on identical case lists (same data fingerprint, split, phase and
/// number of cases), or when a model lacks the per-case `ndcg@10`.
pub fn compare(
    reports_and_cases: Vec<(EvalReport, Vec<PerCase>)>,
    resamples: usize,
    seed: u64,
) -> Result<CompareReport> {
    let Some((first, _)) = reports_and_cases.first() else {
        return Err(Error::invalid("compare", "nothing to compare: give at least one evaluation report"));
    };
    for (r, cases) in &reports_and_cases {
        let differs = if r.data.fingerprint != first.data.fingerprint {
            Some(format!("data (fingerprint {} vs {})", r.data.fingerprint, first.data.fingerprint))
        } else if r.split != first.split {
            Some(format!("split (`{}` vs `{}`)", r.split, first.split))
        } else if r.phase != first.phase {
            Some(format!("phase ({} vs {})", r.phase, first.phase))
        } else if r.cases != first.cases {
            Some(format!("number of cases ({} vs {})", r.cases, first.cases))
        } else {
            None
        };
        if let Some(what) = differs {
            return Err(Error::invalid(
                "compare",
                format!(
                    "`{}` and `{}` were not evaluated on the same cases: different {what}; \
                     evaluate every model on the same data, split and phase",
                    r.model, first.model
                ),
            ));
        }
        match find(cases, RANK_KEY) {
            None => {
                return Err(Error::invalid(
                    "compare",
                    format!("`{}` has no per-case `{RANK_KEY}`; evaluate with 10 among the cut-offs", r.model),
                ));
            }
            Some(p) if p.values.len() != r.cases => {
                return Err(Error::invalid(
                    "compare",
                    format!("`{}` has {} per-case values for {} cases", r.model, p.values.len(), r.cases),
                ));
            }
            Some(_) => {}
        }
    }

    // Rank by the mean of the per-case values (the report's own figure).
    let score = |i: usize| find(&reports_and_cases[i].1, RANK_KEY).map(PerCase::mean).unwrap_or(f64::NAN);
    let mut order: Vec<usize> = (0..reports_and_cases.len()).collect();
    order.sort_by(|&a, &b| {
        let (sa, sb) = (score(a), score(b));
        // NaN sorts last; otherwise descending, ties in input order.
        sa.is_nan().cmp(&sb.is_nan()).then(sb.partial_cmp(&sa).unwrap_or(std::cmp::Ordering::Equal))
    });
    let best = order[0];

    let leaderboard: Vec<LeaderRow> = order
        .iter()
        .map(|&i| {
            let r = &reports_and_cases[i].0;
            let pick = |k: &&str| r.metrics.get(*k).map(|v| (k.to_string(), *v));
            let pick_ci = |k: &&str| r.ci95.get(*k).map(|v| (k.to_string(), *v));
            LeaderRow {
                model: r.model.clone(),
                metrics: LEADERBOARD_KEYS.iter().filter_map(pick).collect(),
                ci95: LEADERBOARD_KEYS.iter().filter_map(pick_ci).collect(),
                fit_s: r.timing.fit_s,
                eval_s: r.timing.eval_s,
            }
        })
        .collect();

    let (best_report, best_cases) = &reports_and_cases[best];
    let mut tests = Vec::new();
    for &i in order.iter().skip(1) {
        let (r, cases) = &reports_and_cases[i];
        for key in TESTED_KEYS {
            let (Some(a), Some(b)) = (find(cases, key), find(best_cases, key)) else { continue };
            let test = paired_test(key, &a.values, &b.values, resamples, seed)?;
            tests.push(SignificanceRow {
                model: r.model.clone(),
                against: best_report.model.clone(),
                test,
                p_holm: 1.0,
            });
        }
    }
    let adjusted = holm(&tests.iter().map(|t| t.test.p_value).collect::<Vec<_>>());
    for (t, p) in tests.iter_mut().zip(adjusted) {
        t.p_holm = p;
    }
    Ok(CompareReport {
        models: reports_and_cases.into_iter().map(|(r, _)| r).collect(),
        leaderboard,
        significance: tests,
    })
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
    /// Pretty-printed JSON with stable keys.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }

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

/// A report skeleton for tests: `model` on a toy dataset (3 users, 5 items), leave-one-out,
/// K = 10 and 20, no cases and no metrics. Tests fill in what they look at.
#[cfg(test)]
pub(crate) fn toy_report(model: &str) -> EvalReport {
    EvalReport {
        localrec_version: "0.1.0".into(),
        model: model.into(),
        data: EvaluatedOn { name: "toy".into(), users: 3, items: 5, interactions: 12, fingerprint: "00ff".into() },
        split: "loo".into(),
        phase: Phase::Test,
        protocol: Protocol {
            full_ranking: true,
            history_masked: true,
            max_len: 50,
            ks: vec![10, 20],
            ties: TIES.into(),
            masked_target: MASKED_TARGET.into(),
        },
        cases: 0,
        metrics: BTreeMap::new(),
        ci95: BTreeMap::new(),
        sampled: None,
        dynamic: Dynamic::default(),
        timing: Timing { fit_s: 0.0, eval_s: 0.0 },
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::split::SplitSpec;
    use crate::data::{DatasetBuilder, EvalCase};
    use crate::eval::SampledConfig;
    use crate::events::{EventKind, SequenceOptions};

    fn pc(key: &str, values: &[f64]) -> PerCase {
        PerCase { key: key.into(), values: values.to_vec() }
    }

    /// A hand-built report with the given ndcg@10 / hr@10 means and intervals.
    fn report(model: &str, ndcg: f64, hr: f64) -> EvalReport {
        let metrics: BTreeMap<String, f64> = [
            ("hr@10", hr),
            ("ndcg@10", ndcg),
            ("mrr@10", ndcg * 0.8),
            ("recall@20", hr * 1.5),
            ("coverage@10", 0.25),
            ("auc", 0.9),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), *v))
        .collect();
        let ci95 = [("hr@10", [hr - 0.01, hr + 0.01]), ("ndcg@10", [ndcg - 0.002, ndcg + 0.003])]
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        EvalReport {
            cases: 4,
            metrics,
            ci95,
            dynamic: Dynamic {
                by_length: vec![Group {
                    label: "3–5".into(),
                    lo: 3.0,
                    hi: 5.0,
                    cases: 4,
                    metrics: [("ndcg@10".to_string(), ndcg)].into_iter().collect(),
                }],
                ..Default::default()
            },
            timing: Timing { fit_s: 0.5, eval_s: 1.25 },
            notes: vec!["no timestamps: by_time omitted".into()],
            ..toy_report(model)
        }
    }

    #[test]
    fn json_keys_are_stable_and_round_trip() {
        let r = report("pop", 0.0312, 0.061);
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        for key in [
            "localrec_version",
            "model",
            "data",
            "split",
            "phase",
            "protocol",
            "cases",
            "metrics",
            "ci95",
            "sampled",
            "dynamic",
            "timing",
            "notes",
        ] {
            assert!(v.get(key).is_some(), "missing `{key}`");
        }
        assert_eq!(v["metrics"]["ndcg@10"], 0.0312);
        assert_eq!(v["ci95"]["ndcg@10"][1], 0.0312 + 0.003);
        assert_eq!(v["phase"], "test");
        assert_eq!(v["data"]["fingerprint"], "00ff");
        assert_eq!(v["protocol"]["ties"], TIES);
        assert_eq!(v["protocol"]["full_ranking"], true);
        assert_eq!(v["timing"]["eval_s"], 1.25);
        assert_eq!(v["dynamic"]["by_length"][0]["label"], "3–5");
        assert!(v["dynamic"]["by_time"].is_null() && v["sampled"].is_null());
        let back: EvalReport = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(back, r);
        // no intervals: the key is left out, and it still parses
        let mut bare = r.clone();
        bare.ci95.clear();
        let v: serde_json::Value = serde_json::from_str(&bare.to_json()).unwrap();
        assert!(v.get("ci95").is_none());
        assert_eq!(serde_json::from_str::<EvalReport>(&bare.to_json()).unwrap(), bare);
    }

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

    #[test]
    fn compare_rejects_different_cases() {
        let a = (report("a", 0.1, 0.2), vec![pc("ndcg@10", &[0.0; 4])]);
        type Change = fn(&mut EvalReport);
        let changes: [(&str, Change); 4] = [
            ("data", |r| r.data.fingerprint = "beef".into()),
            ("split", |r| r.split = "temporal:0.9:0.8".into()),
            ("phase", |r| r.phase = Phase::Valid),
            ("number of cases", |r| r.cases = 5),
        ];
        for (what, change) in changes {
            let mut b = a.clone();
            b.0.model = "b".into();
            change(&mut b.0);
            let e = compare(vec![a.clone(), b], 10, 1).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("not evaluated on the same cases") && msg.contains(what), "{msg}");
        }
        assert!(compare(Vec::new(), 10, 1).is_err());
        let no_ndcg = (report("c", 0.1, 0.2), vec![pc("hr@10", &[0.0; 4])]);
        assert!(compare(vec![a.clone(), no_ndcg], 10, 1).unwrap_err().to_string().contains("ndcg@10"));
        let short = (report("d", 0.1, 0.2), vec![pc("ndcg@10", &[0.0; 3])]);
        assert!(compare(vec![a, short], 10, 1).is_err());
    }

    #[test]
    fn compare_ranks_tests_and_adjusts() {
        // Per-case vectors over 4 cases. best: ndcg mean 0.5, hr mean 0.75.
        // mid: ndcg d = mid - best = [1,0,2,3] / 10 - ... use the hand-checked t-test:
        // ndcg_mid - ndcg_best = [-.1, 0, -.2, -.3] → mean -0.15, t = -√5.4, p = 0.1027281.
        let best = vec![pc("ndcg@10", &[0.4, 0.5, 0.6, 0.5]), pc("hr@10", &[1.0, 1.0, 1.0, 0.0])];
        let mid = vec![pc("ndcg@10", &[0.3, 0.5, 0.4, 0.2]), pc("hr@10", &[1.0, 1.0, 1.0, 0.0])];
        let low = vec![pc("ndcg@10", &[0.0, 0.0, 0.0, 0.0]), pc("hr@10", &[0.0, 0.0, 0.0, 0.0])];
        let c = compare(
            vec![(report("mid", 0.35, 0.75), mid), (report("low", 0.0, 0.0), low), (report("best", 0.5, 0.75), best)],
            200,
            5,
        )
        .unwrap();
        let names: Vec<&str> = c.leaderboard.iter().map(|r| r.model.as_str()).collect();
        assert_eq!(names, ["best", "mid", "low"]);
        assert_eq!(c.models.len(), 3);
        assert_eq!(c.models[0].model, "mid", "reports keep the order given");
        assert_eq!(c.leaderboard[0].metrics["ndcg@10"], 0.5);
        assert_eq!(c.leaderboard[0].ci95["ndcg@10"], [0.5 - 0.002, 0.5 + 0.003]);
        assert!(!c.leaderboard[0].metrics.contains_key("ndcg@20"), "absent keys stay absent");

        let tests: Vec<(&str, &str, &str)> =
            c.significance.iter().map(|s| (s.model.as_str(), s.against.as_str(), s.test.metric.as_str())).collect();
        assert_eq!(
            tests,
            [
                ("mid", "best", "ndcg@10"),
                ("mid", "best", "hr@10"),
                ("low", "best", "ndcg@10"),
                ("low", "best", "hr@10")
            ]
        );
        let s = &c.significance;
        assert!((s[0].test.diff + 0.15).abs() < 1e-12);
        assert!((s[0].test.t + 5.4f64.sqrt()).abs() < 1e-9);
        assert!((s[0].test.p_value - 0.102_728_078_858).abs() < 1e-9);
        // mid's hr equals best's case by case: p = 1
        assert_eq!((s[1].test.diff, s[1].test.p_value), (0.0, 1.0));
        // low vs best on ndcg: d = [-.4, -.5, -.6, -.5], mean -.5, sd √(0.02/3) → t = -12.247, df 3;
        // on hr: d = [-1, -1, -1, 0], mean -.75, sd .5 → t = -3, df 3; the t(3) closed form
        // with u = √3 gives p = 2 (1 - (½ + (√3/4 + π/3) / π)) = 0.0576689
        assert!((s[3].test.t + 3.0).abs() < 1e-12);
        assert!((s[3].test.p_value - 0.057_668_885_622).abs() < 1e-9, "{}", s[3].test.p_value);
        // Holm over p = [0.10273, 1, p_low_ndcg, 0.05767]: sorted ascending, p_low_ndcg × 4,
        // 0.05767 × 3 = 0.17301, 0.10273 × 2 = 0.20546, 1 × 1 = 1.
        assert!(s[2].test.p_value < 0.01);
        assert!((s[2].p_holm - 4.0 * s[2].test.p_value).abs() < 1e-12);
        assert!((s[3].p_holm - 3.0 * s[3].test.p_value).abs() < 1e-12);
        assert!((s[0].p_holm - 2.0 * s[0].test.p_value).abs() < 1e-12);
        assert_eq!(s[1].p_holm, 1.0);

        let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(json["significance"][0]["metric"], "ndcg@10");
        assert!(json["significance"][0]["p_holm"].is_f64() && json["significance"][0]["ci"]["lo"].is_f64());
        // parses back into the same structure (serde_json's default float parsing may move a
        // value by one ulp, so compare through the same parser)
        let back: CompareReport = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        assert_eq!(back.significance.len(), 4);

        let md = c.to_markdown();
        assert!(md.contains("| 1 | best | 0.7500 [0.7400, 0.7600] | 0.5000 [0.4980, 0.5030] |"), "{md}");
        assert!(md.contains("| mid | best | ndcg@10 | 0.3500 | 0.5000 | -0.1500 |"), "{md}");

        let term = c.to_terminal();
        let lines: Vec<&str> = term.lines().collect();
        assert!(lines[0].starts_with("model") && lines[0].contains("NDCG@10 [95% CI]"), "{term}");
        assert!(lines[1].starts_with("best ") && lines[1].contains("0.5000 [0.4980, 0.5030]"), "{term}");
        assert!(lines[3].starts_with("low "), "{term}");
        // columns align: every table line is as long as the header
        let width = lines[0].chars().count();
        assert!(lines[1..4].iter().all(|l| l.chars().count() == width), "{term}");
        assert!(term.contains("mid vs best on ndcg@10: -0.1500"), "{term}");
    }

    #[test]
    fn one_model_compares_without_tests() {
        let c = compare(vec![(report("solo", 0.1, 0.2), vec![pc("ndcg@10", &[0.1; 4])])], 10, 1).unwrap();
        assert_eq!(c.leaderboard.len(), 1);
        assert!(c.significance.is_empty());
        assert!(!c.to_markdown().contains("Significance"));
    }

    /// The report assembled from hand-made per-case metrics over a real split.
    #[test]
    fn assemble_fills_metrics_intervals_dynamic_and_notes() {
        let _rng = crate::testing::rng_lock();
        let mut b = DatasetBuilder::new("toy");
        b.has_timestamps = false;
        for (u, n) in [("u0", 3), ("u1", 4), ("u2", 5)] {
            for p in 0..n {
                b.push(u, &format!("i{p}"), EventKind::View, p);
            }
        }
        let split = Split::new(b.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap();
        let cases = split.cases(Phase::Test);
        assert_eq!(
            cases,
            [
                EvalCase { seq: 0, start: 0, end: 2 },
                EvalCase { seq: 1, start: 0, end: 3 },
                EvalCase { seq: 2, start: 0, end: 4 }
            ]
        );
        // built from JSON so that fields added to `EvalRun` with serde defaults need no change
        let run: EvalRun = serde_json::from_value(serde_json::json!({
            "model": "hand",
            "phase": "test",
            "cases": cases,
            "ranks": [1, 3, 0],
            "candidates": [3, 2, 1],
            "kmax": 1,
            "topk": [1, 2, 3],
            "sampled_ranks": null,
            "target_scores": [1.0, 0.5, 0.0],
            "negative_scores": [],
            "seconds": 2.5,
        }))
        .unwrap();
        let cfg = EvalConfig {
            ks: vec![10],
            bootstrap: 100,
            sampled: Some(SampledConfig { negatives: 100, strategy: NegativeSampling::Uniform }),
            ..EvalConfig::default()
        };
        let parts = Parts {
            // hr@10 [1, 1, 0] → 2/3; ndcg@10 [1, 0.5, 0] → 0.5
            accuracy: vec![pc("hr@10", &[1.0, 1.0, 0.0]), pc("ndcg@10", &[1.0, 0.5, 0.0])],
            auc: f64::NAN,
            beyond: vec![pc("novelty@10", &[2.0, 4.0, 6.0])],
            aggregates: vec![("coverage@10".into(), 0.6)],
            sampled: Vec::new(),
        };
        let (r, acc) = EvalReport::assemble(&run, &split, Phase::Test, &cfg, 0.75, parts);
        assert_eq!(acc.len(), 2, "the accuracy vectors come back for paired tests");
        assert_eq!((r.model.as_str(), r.cases, r.split.as_str()), ("hand", 3, "loo"));
        assert_eq!((r.data.users, r.data.items, r.data.interactions), (3, 5, 12));
        assert_eq!(r.data.fingerprint, split.dataset.fingerprint());
        assert!((r.metrics["hr@10"] - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(r.metrics["ndcg@10"], 0.5);
        assert_eq!(r.metrics["novelty@10"], 4.0);
        assert_eq!(r.metrics["coverage@10"], 0.6);
        assert!(!r.metrics.contains_key("auc"), "NaN is left out");
        // intervals for every per-case metric, none for aggregates; within the value range
        let [lo, hi] = r.ci95["novelty@10"];
        assert!((2.0..=4.0).contains(&lo) && (4.0..=6.0).contains(&hi) && lo < hi);
        assert!(r.ci95.contains_key("hr@10") && r.ci95.contains_key("ndcg@10"));
        assert!(!r.ci95.contains_key("coverage@10"));
        assert!(r.sampled.is_none());
        assert_eq!(r.timing, Timing { fit_s: 0.75, eval_s: 2.5 });
        // history lengths 2, 3, 4: 1–2 holds ndcg 1.0, 3–5 holds (0.5 + 0) / 2
        assert_eq!(r.dynamic.by_length[0].metrics["ndcg@10"], 1.0);
        assert_eq!(r.dynamic.by_length[1].metrics["ndcg@10"], 0.25);
        assert!(!r.dynamic.by_length[0].metrics.contains_key("novelty@10"), "dynamic covers accuracy only");
        for note in [
            "not a finite number, omitted: auc",
            "no categories: ild and drift omitted",
            "no timestamps: by_time omitted",
            "sampled metrics were configured but the run has no sampled ranks: omitted",
        ] {
            assert!(r.notes.iter().any(|n| n == note), "{note}: {:?}", r.notes);
        }
    }
}
