//! The evaluation system: full-ranking accuracy, beyond-accuracy, dynamic (by length,
//! activity, time and interest drift), sampled metrics beside full ranking, bootstrap
//! confidence intervals and paired significance tests, and reports (JSON, Markdown, SVG).
//!
//! Evaluation happens in two steps. [`run()`] scores every [`EvalCase`] against the whole
//! catalog once, masks the case's history (unless switched off), and keeps only what the
//! metrics need: the target's rank, the number of candidates and the top-`kmax` list. Every
//! metric is then a pure function of that [`EvalRun`] — so they are cheap, testable against
//! hand-computed values, and two models' runs over the same cases can be compared case by
//! case.
//!
//! **Ranks and ties.** The rank of the target is 1 + the number of candidates that score
//! strictly higher + the number that score equal and have a smaller item index. A target that
//! is masked (it occurs in the history and masking is on) gets rank 0: a miss for every
//! metric.

use serde::{Deserialize, Serialize};

use crate::data::Phase;
use crate::data::split::EvalCase;

pub mod beyond;
pub mod dynamic;
pub mod metrics;
pub mod plot;
pub mod report;
pub mod results;
pub mod sampled;
pub mod stats;

mod negatives;
mod run;
pub use run::run;

/// The cut-offs every report lists.
pub const DEFAULT_KS: [usize; 5] = [1, 5, 10, 20, 50];

/// How negatives are drawn for sampled metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NegativeSampling {
    /// Uniformly over the candidates.
    Uniform,
    /// In proportion to training popularity.
    Popularity,
}

/// Sampled metrics: the target ranked among `negatives` sampled items. Reported only beside
/// full ranking, and labelled as sampled.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampledConfig {
    /// Number of negatives per case (100 is the usual figure).
    pub negatives: usize,
    /// How they are drawn.
    pub strategy: NegativeSampling,
}

/// Options of an evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalConfig {
    /// Cut-offs for @K metrics.
    pub ks: Vec<usize>,
    /// Exclude the items of the case's history from the candidates.
    pub mask_history: bool,
    /// The model sees at most the last `max_len` items of the history.
    pub max_len: usize,
    /// Cases scored per call of [`crate::model::Scorer::score_batch`].
    pub batch_size: usize,
    /// Sampled metrics beside the full ranking, if wanted.
    pub sampled: Option<SampledConfig>,
    /// Negatives sampled per case for the pooled (global) AUC.
    pub auc_negatives: usize,
    /// Bootstrap resamples for confidence intervals (0 = none).
    pub bootstrap: usize,
    /// Seed for every random choice of the evaluation.
    pub seed: u64,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            ks: DEFAULT_KS.to_vec(),
            mask_history: true,
            max_len: 50,
            batch_size: 256,
            sampled: None,
            auc_negatives: 64,
            bootstrap: 1000,
            seed: 42,
        }
    }
}

impl EvalConfig {
    /// Checks the options that do not depend on the data (cut-offs, lengths, negatives), so a
    /// caller can reject bad options before loading anything. [`run()`] checks them again,
    /// with the catalog size.
    pub fn validate(&self) -> crate::Result<()> {
        run::validate(self, usize::MAX)
    }

    /// The largest cut-off.
    pub fn kmax(&self) -> usize {
        self.ks.iter().copied().max().unwrap_or(10)
    }
}

/// What one scoring pass over the cases produced; every metric is computed from this.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRun {
    /// Model name.
    pub model: String,
    /// Phase evaluated.
    pub phase: Phase,
    /// The cases, in order.
    pub cases: Vec<EvalCase>,
    /// Per case: 1-based rank of the target among the candidates, 0 if the target was masked.
    pub ranks: Vec<u32>,
    /// Per case: number of candidate items (catalog minus masked items).
    pub candidates: Vec<u32>,
    /// Length of each top list.
    pub kmax: usize,
    /// Top-`kmax` items per case, best first, flattened: case `c` is
    /// `topk[c * kmax..(c + 1) * kmax]` (shorter catalogs pad with 0).
    pub topk: Vec<u32>,
    /// Per case: 1-based rank among target + sampled negatives, when configured.
    pub sampled_ranks: Option<Vec<u32>>,
    /// The sampled-metrics configuration `sampled_ranks` was drawn with (None when none).
    #[serde(default)]
    pub sampled: Option<SampledConfig>,
    /// Scores of the targets (NaN where masked), for the pooled AUC.
    pub target_scores: Vec<f32>,
    /// Scores of the negatives sampled for the pooled AUC, flattened over cases.
    pub negative_scores: Vec<f32>,
    /// Wall-clock seconds of the pass.
    pub seconds: f64,
}

impl EvalRun {
    /// Case `c`'s top list.
    pub fn top(&self, c: usize) -> &[u32] {
        &self.topk[c * self.kmax..(c + 1) * self.kmax]
    }
}

/// One metric's value for every case; its mean is the headline figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerCase {
    /// Stable key, e.g. `ndcg@10`.
    pub key: String,
    /// One value per case, in case order.
    pub values: Vec<f64>,
}

impl PerCase {
    /// The mean over cases (0 when there are none).
    pub fn mean(&self) -> f64 {
        if self.values.is_empty() { 0.0 } else { self.values.iter().sum::<f64>() / self.values.len() as f64 }
    }
}
