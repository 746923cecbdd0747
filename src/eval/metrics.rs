//! TODO (eval-core helper)
use crate::eval::{EvalRun, PerCase};

/// Per-case accuracy metrics at every K: `hr@k`, `recall@k`, `precision@k`, `f1@k`,
/// `ndcg@k`, `mrr@k`, `map@k`, then `gauc` (per-case AUC; its mean is the GAUC).
pub fn per_case(_run: &EvalRun, _ks: &[usize]) -> Vec<PerCase> {
    todo!()
}

/// Pooled (global) AUC over all cases: target scores against the sampled negative scores.
pub fn pooled_auc(_run: &EvalRun) -> f64 {
    todo!()
}
