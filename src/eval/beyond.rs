//! TODO (eval-core helper)
use crate::data::{Phase, Split};
use crate::eval::{EvalRun, PerCase};

/// What beyond-accuracy metrics need from the training data of a phase.
pub struct BeyondContext {}

impl BeyondContext {
    /// Built from the data visible to training in `phase`.
    pub fn new(_split: &Split, _phase: Phase) -> Self {
        todo!()
    }
}

/// Per-case beyond-accuracy metrics at every K (`avgpop@k`, `tail@k`, `novelty@k`,
/// `serendipity@k`, and `ild@k` when the data has categories).
pub fn per_case(_run: &EvalRun, _split: &Split, _ctx: &BeyondContext, _ks: &[usize]) -> Vec<PerCase> {
    todo!()
}

/// Aggregate beyond-accuracy metrics at every K: `coverage@k`, `gini@k`, `entropy@k`.
pub fn aggregate(_run: &EvalRun, _ctx: &BeyondContext, _ks: &[usize]) -> Vec<(String, f64)> {
    todo!()
}
