//! Evaluation reports: one model ([`EvalReport`]) and several models on the same cases
//! ([`CompareReport`]), as JSON, Markdown and plain text.
//!
//! [`EvalReport`] is what `localrec eval --json` prints; its keys are stable. Every headline
//! number is in the flat `metrics` map (full-ranking accuracy means, `gauc`, `auc`,
//! beyond-accuracy means and aggregates) and, for every per-case metric, its bootstrap 95%
//! interval in `ci95`. Sampled metrics live apart, under `sampled`, with a label saying they
//! are not comparable with full ranking. Per-case values are not in the JSON: they come back
//! beside the report from [`EvalReport::build_with_cases`], for paired tests in
//! [`compare`](fn@compare).
//!
//! A metric whose value is not a finite number is left out of `metrics` and `ci95` (JSON has
//! no NaN) and named in `notes`.
//!
//! **Layout.** `mod.rs` holds [`EvalReport`] and its parts, how it is built from an
//! [`EvalRun`], and its JSON. `compare.rs` holds [`CompareReport`] and
//! [`compare`](fn@compare) (leaderboard, paired tests, Holm adjustment); `render.rs` the
//! Markdown of both reports, the terminal table of a comparison and their table and cell
//! helpers. Everything public is re-exported here, so every item's path is
//! `crate::eval::report::*`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::{Phase, Split};
use crate::eval::dynamic::{Dynamic, dynamic};
use crate::eval::stats::bootstrap_ci;
use crate::eval::{EvalConfig, EvalRun, NegativeSampling, PerCase, beyond, metrics, sampled};

mod compare;
mod render;
#[cfg(test)]
mod testing;

pub use compare::{CompareReport, LEADERBOARD_KEYS, LeaderRow, RANK_KEY, SignificanceRow, TESTED_KEYS, compare};
#[cfg(test)]
pub(crate) use testing::toy_report;

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
    /// [`compare`](fn@compare) needs for paired tests.
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
}

#[cfg(test)]
mod tests {
    use super::testing::{pc, report};
    use super::*;
    use crate::data::split::SplitSpec;
    use crate::data::{DatasetBuilder, EvalCase};
    use crate::eval::SampledConfig;
    use crate::events::{EventKind, SequenceOptions};

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
