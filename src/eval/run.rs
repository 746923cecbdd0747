//! TODO
use crate::data::{Phase, Split};
use crate::error::Result;
use crate::eval::{EvalConfig, EvalRun};
use crate::model::Recommender;

/// Scores every case of `phase` with `model` against the full catalog. `progress(done, total)`
/// is called after each batch.
pub fn run(
    _model: &dyn Recommender,
    _split: &Split,
    _phase: Phase,
    _cfg: &EvalConfig,
    _progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<EvalRun> {
    todo!()
}
