//! The figures training selects and reports by, ranked by the evaluation system itself: the
//! validation and test cases go through [`crate::eval::run`] (full ranking, history masked,
//! the tie rule of [`crate::eval`]) and the metric types of [`crate::eval::metrics`], with a
//! cheap configuration (two cut-offs, no bootstrap, no AUC sampling), as RecBole's trainer
//! validates through its evaluator. So the validation NDCG@10 a training run reports is the
//! one `localrec eval --phase valid` reports for the saved model.

use serde::{Deserialize, Serialize};

use crate::data::{Phase, Split};
use crate::error::Result;
use crate::eval::metrics::{Hit, Mrr, Ndcg, RankMetric};
use crate::eval::{self, EvalConfig};
use crate::model::Scorer;

/// Full-ranking accuracy over a set of cases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RankMetrics {
    /// Mean NDCG@10 (one relevant item: `1 / log2(rank + 1)` when rank ≤ 10).
    pub ndcg10: f64,
    /// Share of cases with the target in the top 10.
    pub hr10: f64,
    /// Share of cases with the target ranked first.
    pub hr1: f64,
    /// Mean reciprocal rank over the whole ranking (0 for masked targets).
    pub mrr: f64,
    /// Number of cases.
    pub cases: usize,
}

impl RankMetrics {
    /// The means over cases of NDCG@10, HR@10, HR@1 and MRR (at no cut-off) of the targets'
    /// 1-based ranks (0 = masked, a miss), as [`crate::eval::metrics`] defines them; summed in
    /// case order, as the evaluation report sums them.
    pub fn from_ranks(ranks: &[u32]) -> RankMetrics {
        let mean = |metric: &dyn RankMetric, k: usize| {
            if ranks.is_empty() {
                return 0.0;
            }
            ranks.iter().map(|r| metric.value(std::slice::from_ref(r), k)).sum::<f64>() / ranks.len() as f64
        };
        RankMetrics {
            ndcg10: mean(&Ndcg, 10),
            hr10: mean(&Hit, 10),
            hr1: mean(&Hit, 1),
            mrr: mean(&Mrr, usize::MAX),
            cases: ranks.len(),
        }
    }
}

/// The evaluation options training ranks with: the model reads at most `max_len` items of each
/// history; cut-offs 1 and 10; history masked; no sampled metrics, AUC negatives or bootstrap.
pub fn selection_config(max_len: usize) -> EvalConfig {
    EvalConfig { ks: vec![1, 10], max_len, sampled: None, auc_negatives: 0, bootstrap: 0, ..EvalConfig::default() }
}

/// Full-ranking NDCG@10, HR@10, HR@1 and MRR of `rec` over the cases of `phase`, reading at most
/// `max_len` items of each history: [`crate::eval::run`] with [`selection_config`].
pub fn rank_metrics(rec: &dyn Scorer, split: &Split, phase: Phase, max_len: usize) -> Result<RankMetrics> {
    let run = eval::run(rec, split, phase, &selection_config(max_len), &|_, _| {})?;
    Ok(RankMetrics::from_ranks(&run.ranks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::EvalReport;
    use crate::model::pop::MostPopular;
    use crate::train::tests::chain_split;

    #[test]
    fn metrics_follow_hand_computed_ranks() {
        // Ranks 1, 3, 0 (masked), 12: NDCG@10 (1 + 1/log2 4) / 4, HR@10 2/4, HR@1 1/4,
        // MRR (1 + 1/3 + 1/12) / 4.
        let m = RankMetrics::from_ranks(&[1, 3, 0, 12]);
        assert!((m.ndcg10 - 1.5 / 4.0).abs() < 1e-15, "{m:?}");
        assert_eq!((m.hr10, m.hr1, m.cases), (0.5, 0.25, 4));
        assert!((m.mrr - (1.0 + 1.0 / 3.0 + 1.0 / 12.0) / 4.0).abs() < 1e-15, "{m:?}");
        assert_eq!(RankMetrics::from_ranks(&[]).cases, 0);
    }

    #[test]
    fn metrics_of_a_baseline_are_consistent() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        let pop = MostPopular::fit(&split.train(Phase::Test));
        let m = rank_metrics(&pop, &split, Phase::Test, 50).unwrap();
        assert_eq!(m.cases, 61);
        assert!(m.hr1 <= m.hr10 && m.ndcg10 <= m.hr10 && m.ndcg10 >= m.hr1);
        assert!(m.hr10 < 0.9, "popularity cannot solve the chain task: {m:?}");
    }

    #[test]
    fn training_figures_are_the_evaluation_reports() {
        // The same ranks as the full evaluation with its default options: equal figures.
        let split = chain_split();
        let pop = MostPopular::fit(&split.train(Phase::Valid));
        let m = rank_metrics(&pop, &split, Phase::Valid, 50).unwrap();
        let cfg = EvalConfig::default();
        let run = eval::run(&pop, &split, Phase::Valid, &cfg, &|_, _| {}).unwrap();
        let report = EvalReport::build(&run, &split, Phase::Valid, &cfg, 0.0);
        assert_eq!(m.ndcg10, report.metrics["ndcg@10"]);
        assert_eq!(m.hr10, report.metrics["hr@10"]);
        assert_eq!(m.hr1, report.metrics["hr@1"]);
        assert_eq!(m.cases, report.cases);
    }
}
