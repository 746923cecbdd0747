//! Training of the neural sequence encoders (native only: needs burn's autodiff and optim).
//!
//! **Data.** Model selection uses the data visible in [`Phase::Valid`](crate::data::Phase::Valid): every training
//! sequence is the part of a user's sequence before its validation target. [`TrainConfig::samples`]
//! ([`Samples`]) cuts the samples: by default each sequence contributes its newest `max_len + 1`
//! items, the first `max_len` are the input and every position predicts the next item;
//! alternatively every prefix is a sample with one target (the published recipe of the
//! FMLP-Rec family), or sliding windows of `max_len + 1` items.
//!
//! **Loss** ([`TrainConfig::loss`], [`Loss`]). By default full-softmax cross-entropy over the
//! whole catalog at every non-padded position, averaged over positions; alternatively a sampled
//! softmax over negatives shared by the batch (popularity-sampled, logQ-corrected: for large
//! catalogs) or SASRec's original binary cross-entropy with one uniform negative per position.
//! All three work on the hidden states gathered at the target positions: only the non-padded
//! positions are gathered before any logits are formed, and each batch is padded only to its
//! longest sequence; batches are drawn from length buckets (shuffled, then sorted by length within
//! groups of 16 batches) so little padding is computed at all. Shuffling is deterministic in
//! [`TrainConfig::seed`].
//!
//! **Speed.** On the CPU the softmax over the catalog costs far more than the encoder (Beauty:
//! ~128k positions × 12k items per epoch). That part is therefore computed outside burn's
//! autodiff graph, fused and in parallel blocks of rows (rayon): logits, then
//! `softmax − one_hot` in place, then the two gradient products; a surrogate scalar hands the
//! gradients back to the graph, so the encoder's backward pass is burn's. This is exact (a
//! test compares it with the composed `log_softmax` loss) and about 2–3× faster. (On other
//! devices the composed loss is used.)
//!
//! **Optimiser.** AdamW (`weight_decay` 0 makes it Adam), linear warm-up over `warmup_steps`
//! steps, then a constant learning rate; optional gradient-norm clipping.
//!
//! **Selection and test.** Every `eval_every` epochs the model ranks the whole catalog for every
//! validation case through the evaluation system itself ([`rank_metrics`]: [`crate::eval::run`]
//! with a cheap [`selection_config`], so the figure equals `localrec eval --phase valid` on the
//! saved model); the best validation NDCG@10 is kept, and training stops after `patience`
//! evaluations without improvement. The best model is then evaluated on
//! [`Phase::Test`](crate::data::Phase::Test), whose histories include the validation item (the
//! standard leave-one-out protocol). A progress line per epoch goes to stderr when
//! [`TrainConfig::verbose`] is set.
//!
//! | file | concept |
//! |---|---|
//! | `mod.rs` | [`TrainConfig`], [`Trained`], the entry points [`train`] (from an encoder config) and [`fit`] (a built model) |
//! | `batch.rs` | training windows, shuffled length-bucketed batches, causal and cloze batches |
//! | `head.rs` | the objective of a batch: the fused full softmax, and the composed losses |
//! | `loss.rs` | [`Loss`], the sampled softmax and BCE, the negative samplers |
//! | `fit.rs` | the epoch loop: `run_epoch`, the selection of the best epoch, checkpoints, refit |
//! | `validation.rs` | [`RankMetrics`]: validation and test figures through [`crate::eval`] |
//! | `recipe.rs` | [`DataRecipe`]: the settings chosen by the data (samples, dropout) |
//! | `progress.rs` | [`Progress`] events, [`EpochLog`] and its one-line summary |
//! | `export.rs` | the bundle of a trained model ([`trained_bundle`], [`bundle_metrics`]) |
//!
//! ```no_run
//! use burn::tensor::Device;
//! use localrec::data::{Split, SplitSpec};
//! use localrec::model::sasrec::SasRecConfig;
//! use localrec::train::{TrainConfig, train};
//! # fn run(ds: localrec::data::Dataset) -> localrec::Result<()> {
//! let split = Split::new(ds, SplitSpec::LeaveOneOut)?;
//! let cfg = SasRecConfig::new(split.dataset.num_items());
//! let trained = train(&Device::flex(), &split, &cfg, &TrainConfig::default(), &mut |_| {})?;
//! println!("test NDCG@10 {:.4}", trained.test.ndcg10);
//! # Ok(()) }
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod batch;
mod export;
mod fit;
mod head;
mod loss;
mod progress;
mod recipe;
mod validation;

pub use batch::{Batching, Samples};
pub use export::{bundle_metrics, trained_bundle};
pub use fit::{fit, train};
pub use loss::Loss;
pub use progress::{EpochLog, Progress, progress_line};
pub use recipe::DataRecipe;
pub use validation::{RankMetrics, rank_metrics, selection_config};

/// Options of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Most epochs to run.
    pub epochs: usize,
    /// Samples per batch.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Decoupled (AdamW) weight decay; 0 is plain Adam.
    pub weight_decay: f32,
    /// Steps of linear learning-rate warm-up.
    pub warmup_steps: usize,
    /// Items of input per training sequence (must not exceed the model's `max_len`).
    pub max_len: usize,
    /// Evaluations without a better validation NDCG@10 before stopping.
    pub patience: usize,
    /// Seed for weights, dropout and shuffling.
    pub seed: u64,
    /// Evaluate on the validation cases every this many epochs.
    pub eval_every: usize,
    /// How samples are cut from each training sequence: all positions of its newest window
    /// (the default), every prefix with one target, or sliding windows.
    pub samples: Samples,
    /// How samples are grouped into batches and how each target position weighs
    /// ([`Batching`]; default: by length, every position weighing the same).
    pub batching: Batching,
    /// Clip the global gradient norm to this value.
    pub grad_clip_norm: Option<f32>,
    /// Stop (after evaluating) once this many seconds of training have passed.
    pub max_seconds: Option<f64>,
    /// Print a progress line per epoch to stderr.
    pub verbose: bool,
    /// The training objective (default: full softmax).
    pub loss: Loss,
    /// Write the best model so far to this model bundle file after every improvement of the
    /// validation NDCG@10 (atomically: a temporary file renamed over it, so an interrupted run
    /// leaves the last complete bundle). Needs the encoder's [`EncoderSpec`](crate::bundle::EncoderSpec) ([`fit`]'s `encoder`).
    pub checkpoint: Option<PathBuf>,
    /// After selecting the epoch on validation, retrain from the same initial weights on the
    /// test phase's training data (every item before each user's test item, as the baselines
    /// are fit for the test phase) for the selected number of epochs, and test that model.
    /// Both test figures are reported ([`Trained::test`], [`Trained::refit_test`]).
    pub refit: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 200,
            batch_size: 256,
            lr: 1e-3,
            weight_decay: 0.0,
            warmup_steps: 100,
            max_len: 50,
            patience: 10,
            seed: 42,
            eval_every: 1,
            samples: Samples::AllPositions,
            batching: Batching::LengthWeighted,
            grad_clip_norm: None,
            max_seconds: None,
            verbose: true,
            loss: Loss::FullSoftmax,
            checkpoint: None,
            refit: false,
        }
    }
}

impl TrainConfig {
    /// Checks the values and names the first wrong one.
    pub fn validate(&self) -> Result<()> {
        let bad = |field: &str, problem: String| Err(Error::invalid(format!("train.{field}"), problem));
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("{} is not a positive number", self.lr));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", format!("{} is not a non-negative number", self.weight_decay));
        }
        if self.max_len == 0 {
            return bad("max_len", "must be at least 1".into());
        }
        if self.eval_every == 0 {
            return bad("eval_every", "must be at least 1".into());
        }
        if let Some(c) = self.grad_clip_norm {
            if !(c.is_finite() && c > 0.0) {
                return bad("grad_clip_norm", format!("{c} is not a positive number"));
            }
        }
        if let Some(s) = self.max_seconds {
            if s.is_nan() || s < 0.0 {
                return bad("max_seconds", format!("{s} is not a non-negative number"));
            }
        }
        self.samples.validate()?;
        self.loss.validate()
    }
}

/// The outcome of training: the best model (inference mode, on the training device without
/// autodiff) and its figures.
#[derive(Clone, Debug)]
pub struct Trained<M> {
    /// The model of the best validation epoch, without autodiff and with dropout off.
    pub model: M,
    /// The epoch it comes from.
    pub best_epoch: usize,
    /// Its validation metrics.
    pub valid: RankMetrics,
    /// Its test metrics (histories include the validation item).
    pub test: RankMetrics,
    /// Every epoch run.
    pub epochs: Vec<EpochLog>,
    /// With [`TrainConfig::refit`]: the test metrics of the model retrained from the same
    /// initial weights on the test phase's training data for `best_epoch` epochs; `model` is
    /// then that retrained model.
    pub refit_test: Option<RankMetrics>,
}

/// Fixtures shared by the training tests.
#[cfg(test)]
pub(crate) mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::data::{DatasetBuilder, Split, SplitSpec};
    use crate::events::{EventKind, SequenceOptions};
    use crate::model::neural::{EncoderConfig, SeqEncoder};
    use crate::model::sasrec::SasRecConfig;

    /// 30 users over items "0".."19": each walks i, i+1, i+2, … (mod 20) for 6–9 steps.
    pub(crate) fn chain_split() -> Split {
        let mut b = DatasetBuilder::new("chain");
        // Intern ids in numeric order so item "k" has index k + 1.
        for k in 0..20 {
            b.push("init", &k.to_string(), EventKind::View, k);
        }
        for u in 0..60 {
            let start = (u * 7) % 20;
            let len = 6 + u % 4;
            for p in 0..len {
                b.push(&format!("u{u}"), &((start + p) % 20).to_string(), EventKind::View, p as i64);
            }
        }
        Split::new(b.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap()
    }

    /// The chain task's training settings (60 epochs, evaluated every 5).
    pub(crate) fn chain_training(loss: Loss) -> (SasRecConfig, TrainConfig) {
        let model_cfg = SasRecConfig::new(20).with_d_model(32).with_n_blocks(1).with_max_len(10).with_dropout(0.1);
        let cfg = TrainConfig {
            epochs: 60,
            batch_size: 16,
            lr: 5e-3,
            warmup_steps: 0,
            max_len: 10,
            patience: 60,
            eval_every: 5,
            verbose: false,
            loss,
            ..TrainConfig::default()
        };
        (model_cfg, cfg)
    }

    /// [`train`] on the CPU, without progress reports.
    pub(crate) fn train_quietly<C: EncoderConfig>(
        split: &Split,
        model_cfg: &C,
        cfg: &TrainConfig,
    ) -> Result<Trained<C::Model>> {
        train(&Device::flex(), split, model_cfg, cfg, &mut |_| {})
    }

    /// [`fit`] without an encoder spec (so without checkpoints) and without progress reports.
    pub(crate) fn fit_quietly<M: SeqEncoder + Sync>(
        model: M,
        device: &Device,
        split: &Split,
        cfg: &TrainConfig,
    ) -> Result<Trained<M>> {
        fit(model, device, split, cfg, None, &mut |_| {})
    }
}
