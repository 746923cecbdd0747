//! Report skeletons for tests (of this module and of the plots).

use std::collections::BTreeMap;

use crate::data::Phase;
use crate::eval::PerCase;
use crate::eval::dynamic::{Dynamic, Group};
use crate::eval::report::{EvalReport, EvaluatedOn, MASKED_TARGET, Protocol, TIES, Timing};

/// A report skeleton for tests: `model` on a toy dataset (3 users, 5 items), leave-one-out,
/// K = 10 and 20, no cases and no metrics. Tests fill in what they look at.
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

/// One per-case metric.
pub(crate) fn pc(key: &str, values: &[f64]) -> PerCase {
    PerCase { key: key.into(), values: values.to_vec() }
}

/// A hand-built report with the given ndcg@10 / hr@10 means and intervals.
pub(crate) fn report(model: &str, ndcg: f64, hr: f64) -> EvalReport {
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
