//! Several models on the same cases: [`CompareReport`] and [`compare`](fn@compare) (the
//! leaderboard by `ndcg@10`, paired tests against the best model, Holm adjustment). The
//! Markdown and terminal renderings live in `render.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::eval::PerCase;
use crate::eval::report::EvalReport;
use crate::eval::stats::{PairedTest, holm, paired_test};

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

impl CompareReport {
    /// Pretty-printed JSON with stable keys.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Phase;
    use crate::eval::report::testing::{pc, report};

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
}
