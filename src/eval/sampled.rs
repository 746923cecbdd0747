//! TODO (eval-core helper)
use crate::eval::{EvalRun, PerCase};

/// Per-case sampled metrics (`hr@k`, `ndcg@k`, `mrr@k` for K <= negatives); empty when the
/// run has no sampled ranks.
pub fn per_case(_run: &EvalRun, _ks: &[usize]) -> Vec<PerCase> {
    todo!()
}
