//! Sampled metrics: the target ranked among itself and `negatives` sampled candidates (see
//! [`crate::eval::run()`] for how they are drawn). They are reported only beside the full
//! ranking, and always labelled as sampled: sampled metrics can order models differently from
//! full ranking (Krichene & Rendle, 2020).
//!
//! With one target at sampled rank `r` (0 = masked): `hr@k` = 1 if `1 <= r <= k`;
//! `ndcg@k` = 1/log2(r + 1) if a hit; `mrr@k` = 1/r if a hit. Only cut-offs `k <= negatives`
//! are reported (beyond, every unmasked target is a hit).

use crate::eval::metrics::{Hit, Mrr, Ndcg, RankMetric};
use crate::eval::{EvalRun, PerCase};

/// Per-case sampled metrics (`hr@k`, `ndcg@k`, `mrr@k` for K <= negatives); empty when the
/// run has no sampled ranks.
pub fn per_case(run: &EvalRun, ks: &[usize]) -> Vec<PerCase> {
    let Some(ranks) = &run.sampled_ranks else {
        return Vec::new();
    };
    // Without the configuration the number of negatives is bounded by the largest sampled rank - 1.
    let negatives = match run.sampled {
        Some(s) => s.negatives,
        None => ranks.iter().max().map_or(0, |&r| r.saturating_sub(1) as usize),
    };
    let metrics: [&dyn RankMetric; 3] = [&Hit, &Ndcg, &Mrr];
    let mut out = Vec::new();
    for &k in ks.iter().filter(|&&k| k >= 1 && k <= negatives) {
        for m in metrics {
            let values = ranks.iter().map(|r| m.value(std::slice::from_ref(r), k)).collect();
            out.push(PerCase { key: m.key(k), values });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Phase;
    use crate::eval::{NegativeSampling, SampledConfig};

    fn run_with(sampled_ranks: Option<Vec<u32>>, negatives: usize) -> EvalRun {
        let n = sampled_ranks.as_ref().map_or(0, Vec::len);
        EvalRun {
            model: "m".into(),
            phase: Phase::Test,
            cases: Vec::new(),
            ranks: vec![0; n],
            candidates: vec![0; n],
            kmax: 1,
            topk: vec![0; n],
            sampled_ranks,
            sampled: Some(SampledConfig { negatives, strategy: NegativeSampling::Uniform }),
            target_scores: Vec::new(),
            negative_scores: Vec::new(),
            seconds: 0.0,
        }
    }

    #[test]
    fn hand_computed() {
        // Sampled ranks [1, 3, 0, 11] with 10 negatives; ks [1, 5, 10, 20] → 20 > 10 is dropped.
        let run = run_with(Some(vec![1, 3, 0, 11]), 10);
        let m = per_case(&run, &[1, 5, 10, 20]);
        let keys: Vec<&str> = m.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["hr@1", "ndcg@1", "mrr@1", "hr@5", "ndcg@5", "mrr@5", "hr@10", "ndcg@10", "mrr@10"]);
        // k = 1: only rank 1 hits.
        assert_eq!(m[0].values, vec![1.0, 0.0, 0.0, 0.0]);
        // k = 5: ranks 1 and 3 hit; ndcg 1 and 1/log2 4 = 0.5; mrr 1 and 1/3.
        assert_eq!(m[3].values, vec![1.0, 1.0, 0.0, 0.0]);
        assert_eq!(m[4].values, vec![1.0, 0.5, 0.0, 0.0]);
        assert_eq!(m[5].values, vec![1.0, 1.0 / 3.0, 0.0, 0.0]);
        // k = 10: rank 11 (last of 11) still misses; hr mean = 2/4.
        assert_eq!(m[6].mean(), 0.5);
        assert!(per_case(&run_with(None, 10), &[1]).is_empty());
    }
}
