//! Training of the neural sequence encoders (native only: needs burn's autodiff and optim).
//!
//! **Data.** Model selection uses the data visible in [`Phase::Valid`]: every training
//! sequence is the part of a user's sequence before its validation target. Each sequence
//! contributes its newest `max_len + 1` items (or, with [`TrainConfig::window_stride`], sliding
//! windows of that size, see [`sliding_windows`]); the first `max_len` are the input and every
//! position predicts the next item.
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
//! devices the composed loss is used.) Validation scoring runs in parallel chunks too.
//!
//! **Optimiser.** AdamW (`weight_decay` 0 makes it Adam), linear warm-up over `warmup_steps`
//! steps, then a constant learning rate; optional gradient-norm clipping.
//!
//! **Selection and test.** Every `eval_every` epochs the model ranks the whole catalog for every
//! validation case (history items masked; [`rank_metrics`]); the best validation NDCG@10 is
//! kept, and training stops after `patience` evaluations without improvement. The best model
//! is then evaluated on [`Phase::Test`], whose histories include the validation item (the
//! standard leave-one-out protocol). A progress line per epoch goes to stderr when
//! [`TrainConfig::verbose`] is set.
//!
//! ```no_run
//! use localrec::data::{Split, SplitSpec};
//! use localrec::model::sasrec::SasRecConfig;
//! use localrec::train::{TrainConfig, train_sasrec};
//! # fn run(ds: localrec::data::Dataset) -> localrec::Result<()> {
//! let split = Split::new(ds, SplitSpec::LeaveOneOut)?;
//! let cfg = SasRecConfig::new(split.dataset.num_items());
//! let trained = train_sasrec(&split, &cfg, &TrainConfig::default())?;
//! println!("test NDCG@10 {:.4}", trained.test.ndcg10);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::bundle::{Bundle, EncoderSpec, Manifest, weights_with};
use crate::data::split::TrainSet;
use crate::data::{Dataset, Phase, Split};
use crate::error::{Error, Result};
use crate::events::sliding_windows;
use crate::model::Recommender;
use crate::model::neural::{EncoderConfig, NeuralRecommender, Objective, SeqEncoder, read_f32};
use crate::model::sasrec::{SasRec, SasRecConfig};

mod loss;
pub use loss::Loss;

/// Options of a training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// Most epochs to run.
    pub epochs: usize,
    /// Sequences per batch.
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
    /// `None`: one window per sequence (its newest `max_len + 1` items). `Some(s)`: sliding
    /// windows with stride `s` over long sequences.
    pub window_stride: Option<usize>,
    /// Build batches of similar length (less padding, same data per epoch).
    pub bucket_by_length: bool,
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
    /// leaves the last complete bundle). Needs the encoder's [`EncoderSpec`] ([`fit_with`]).
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
            batch_size: 128,
            lr: 1e-3,
            weight_decay: 0.0,
            warmup_steps: 100,
            max_len: 50,
            patience: 10,
            seed: 42,
            eval_every: 1,
            window_stride: None,
            bucket_by_length: true,
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
        self.loss.validate()
    }
}

/// Full-ranking accuracy over a set of cases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RankMetrics {
    /// Mean NDCG@10 (one relevant item: `1 / log2(rank + 1)` when rank ≤ 10).
    pub ndcg10: f64,
    /// Share of cases with the target in the top 10.
    pub hr10: f64,
    /// Share of cases with the target ranked first.
    pub hr1: f64,
    /// Mean reciprocal rank (0 for masked targets).
    pub mrr: f64,
    /// Number of cases.
    pub cases: usize,
}

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss (of [`TrainConfig::loss`], per position) over the epoch's batches.
    pub loss: f64,
    /// Wall time of the training part of the epoch.
    pub seconds: f64,
    /// Seconds in the forward pass and loss.
    pub forward_s: f64,
    /// Seconds in the backward pass.
    pub backward_s: f64,
    /// Seconds in the optimiser step.
    pub step_s: f64,
    /// Training sequences (windows) seen.
    pub sequences: usize,
    /// Predicted positions (targets) seen.
    pub positions: usize,
    /// Validation metrics, on epochs that were evaluated.
    pub valid: Option<RankMetrics>,
    /// Seconds spent evaluating.
    pub eval_s: f64,
    /// CPU seconds (all threads) of the training part, where the platform reports them
    /// (Linux); unlike `seconds`, this hardly depends on what else the machine runs.
    pub cpu_s: Option<f64>,
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

/// What [`fit_with`] reports while it trains, in this order per epoch: `EpochStart`, one
/// `Batch` per batch, then `Evaluating` and `Checkpoint` where they happen, then `EpochEnd`.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Epoch `epoch` (1-based) begins; it has `batches` batches.
    EpochStart {
        /// The epoch.
        epoch: usize,
        /// Batches in this epoch.
        batches: usize,
    },
    /// Batch `batch` (1-based) of `batches` is done; `loss` is the epoch's mean loss so far.
    Batch {
        /// The epoch.
        epoch: usize,
        /// Batches done in this epoch.
        batch: usize,
        /// Batches in this epoch.
        batches: usize,
        /// Mean loss over the epoch's batches so far.
        loss: f64,
    },
    /// The validation cases are being ranked.
    Evaluating {
        /// The epoch.
        epoch: usize,
    },
    /// The best model so far was written to [`TrainConfig::checkpoint`].
    Checkpoint {
        /// The epoch of the model written.
        epoch: usize,
        /// The file.
        path: PathBuf,
    },
    /// The epoch is over (its log; `valid` is set when it was evaluated).
    EpochEnd(EpochLog),
}

/// Initialises SASRec on `Device::flex().autodiff()` (seeded with `cfg.seed`) and trains it
/// with [`fit`].
pub fn train_sasrec(split: &Split, model_cfg: &SasRecConfig, cfg: &TrainConfig) -> Result<Trained<SasRec>> {
    train_encoder(split, model_cfg, cfg)
}

/// [`train_encoder_with`] for SASRec.
pub fn train_sasrec_with(
    device: &Device,
    split: &Split,
    model_cfg: &SasRecConfig,
    cfg: &TrainConfig,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Trained<SasRec>> {
    train_encoder_with(device, split, model_cfg, cfg, on_progress)
}

/// Initialises the encoder of `model_cfg` (any [`EncoderConfig`]: SASRec, GRU4Rec, …) on
/// `Device::flex().autodiff()` (seeded with `cfg.seed`) and trains it with [`fit`].
pub fn train_encoder<C: EncoderConfig>(split: &Split, model_cfg: &C, cfg: &TrainConfig) -> Result<Trained<C::Model>> {
    train_encoder_with(&Device::flex(), split, model_cfg, cfg, &mut |_| {})
}

/// Initialises the encoder of `model_cfg` on `device` with autodiff (seeded with `cfg.seed`)
/// and trains it with [`fit_with`], reporting to `on_progress`; checkpoints (if configured)
/// are bundles of the encoder's kind.
pub fn train_encoder_with<C: EncoderConfig>(
    device: &Device,
    split: &Split,
    model_cfg: &C,
    cfg: &TrainConfig,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Trained<C::Model>> {
    let device = device.clone().autodiff();
    device.seed(cfg.seed);
    let model = model_cfg.build(&device)?;
    let spec = EncoderSpec::of(C::KIND, model_cfg)?;
    fit_with(model, &device, split, cfg, Some(&spec), on_progress)
}

/// Trains `model` (built on the autodiff `device`) on `split`, selecting the epoch by
/// validation NDCG@10, and tests the selected model. See the module docs. Same as [`fit_with`]
/// without an encoder spec (so without checkpoints) and without progress reports.
pub fn fit<M: SeqEncoder + Sync>(model: M, device: &Device, split: &Split, cfg: &TrainConfig) -> Result<Trained<M>> {
    fit_with(model, device, split, cfg, None, &mut |_| {})
}

/// [`fit`], reporting to `on_progress` as it goes ([`Progress`]) and writing checkpoints when
/// [`TrainConfig::checkpoint`] is set, as bundles of `encoder` (required then).
pub fn fit_with<M: SeqEncoder + Sync>(
    model: M,
    device: &Device,
    split: &Split,
    cfg: &TrainConfig,
    encoder: Option<&EncoderSpec>,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Trained<M>> {
    let initial = cfg.refit.then(|| model.clone());
    let mut selected = fit_phase(model, device, split, cfg, encoder, on_progress, None)?;
    if let Some(initial) = initial {
        // Same initial weights, seed and settings; the data now include each user's validation
        // item, as the baselines' test-phase fit does; as many epochs as the selection chose.
        let refit = fit_phase(initial, device, split, cfg, None, on_progress, Some(selected.best_epoch))?;
        if cfg.verbose {
            eprintln!(
                "refit on the test phase's training data for {} epochs: test NDCG@10 {:.4} HR@10 {:.4}",
                selected.best_epoch, refit.test.ndcg10, refit.test.hr10
            );
        }
        selected.refit_test = Some(refit.test);
        selected.model = refit.model;
        selected.epochs.extend(refit.epochs);
    }
    Ok(selected)
}

/// One training run. `refit_epochs: None` selects the epoch on validation NDCG@10 (training
/// data: [`Phase::Valid`]); `Some(n)` trains exactly `n` epochs on [`Phase::Test`]'s training
/// data without validating and tests the final model (its `valid` figures are then NaN).
fn fit_phase<M: SeqEncoder + Sync>(
    mut model: M,
    device: &Device,
    split: &Split,
    cfg: &TrainConfig,
    encoder: Option<&EncoderSpec>,
    on_progress: &mut dyn FnMut(Progress),
    refit_epochs: Option<usize>,
) -> Result<Trained<M>> {
    cfg.validate()?;
    if !device.is_autodiff() {
        return Err(Error::invalid("device", "training needs an autodiff device (`Device::flex().autodiff()`)"));
    }
    let ds = &split.dataset;
    let n_items = ds.num_items();
    if model.num_items() != n_items {
        return Err(Error::invalid(
            "num_items",
            format!("the model has {} items, the dataset `{}` has {n_items}", model.num_items(), ds.name),
        ));
    }
    if cfg.max_len > model.max_len() {
        return Err(Error::invalid(
            "train.max_len",
            format!("{} exceeds the model's max_len {}", cfg.max_len, model.max_len()),
        ));
    }
    let train = split.train(if refit_epochs.is_some() { Phase::Test } else { Phase::Valid });
    let windows = training_windows(&train, cfg.max_len, cfg.window_stride);
    if windows.is_empty() {
        return Err(Error::Data(format!(
            "`{}` has no training sequence with two or more items before its validation cut",
            ds.name
        )));
    }
    let checkpoint = match cfg.checkpoint.as_ref().filter(|_| refit_epochs.is_none()) {
        Some(path) => {
            let spec = encoder.ok_or_else(|| {
                Error::invalid("train.checkpoint", "a checkpoint bundle needs the encoder's spec (see `fit_with`)")
            })?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            Some((path, spec))
        }
        None => None,
    };
    let mut optim = {
        let mut c = AdamWConfig::new().with_weight_decay(cfg.weight_decay).with_epsilon(1e-8);
        if let Some(clip) = cfg.grad_clip_norm {
            c = c.with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(clip)));
        }
        c.init()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    // The cloze masks come from their own stream, so the causal encoders' batches stay as they were.
    let mut mask_rng = ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x636c_6f7a_6500);
    let objective = model.objective();
    if let Objective::Cloze { mask_prob, last_only } = objective {
        if !(mask_prob > 0.0 && mask_prob <= 1.0) {
            return Err(Error::invalid("mask_prob", format!("{mask_prob} is not in (0, 1]")));
        }
        if !(0.0..=1.0).contains(&last_only) {
            return Err(Error::invalid("last_only", format!("{last_only} is not in [0, 1]")));
        }
    }
    let mut losses = LossState::new(cfg.loss, device, ds, &windows, n_items, cfg.seed)?;
    let with_kinds = model.uses_kinds();
    let started = Instant::now();
    let mut step = 0usize;
    let mut logs = Vec::new();
    let mut best: Option<(M, usize, RankMetrics)> = None;
    let mut since_best = 0usize;

    for epoch in 1..=refit_epochs.unwrap_or(cfg.epochs) {
        let t0 = Instant::now();
        let cpu0 = process_cpu_seconds();
        let (mut fwd, mut bwd, mut stp) = (0.0, 0.0, 0.0);
        let (mut loss_sum, mut batches_n, mut positions) = (0.0f64, 0usize, 0usize);
        let epoch_batches = batches(&windows, cfg.batch_size, cfg.bucket_by_length, &mut rng);
        let n_batches = epoch_batches.len();
        on_progress(Progress::EpochStart { epoch, batches: n_batches });
        for (i, idx) in epoch_batches.into_iter().enumerate() {
            let b = match objective {
                Objective::Causal => Batch::new(ds, &windows, &idx, n_items, with_kinds),
                Objective::Cloze { mask_prob, last_only } => {
                    let masking = Masking { max_len: cfg.max_len, mask_prob, last_only };
                    Batch::cloze(ds, &windows, &idx, n_items, with_kinds, &masking, &mut mask_rng)
                }
            };
            if b.targets.is_empty() {
                on_progress(Progress::Batch {
                    epoch,
                    batch: i + 1,
                    batches: n_batches,
                    loss: mean(loss_sum, batches_n),
                });
                continue;
            }
            let t = Instant::now();
            let (value, objective) =
                losses.objective(&model, &b, device, &|p| b.window_items(ds, &windows, &idx, p))?;
            fwd += t.elapsed().as_secs_f64();
            if !value.is_finite() {
                return Err(Error::Data(format!("the training loss became {value} at epoch {epoch}, step {step}")));
            }
            let t = Instant::now();
            let grads = GradientsParams::from_grads(objective.backward(), &model);
            bwd += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let warm = if cfg.warmup_steps == 0 { 1.0 } else { ((step + 1) as f64 / cfg.warmup_steps as f64).min(1.0) };
            model = optim.step(cfg.lr * warm, model, grads);
            stp += t.elapsed().as_secs_f64();
            step += 1;
            loss_sum += value;
            batches_n += 1;
            positions += b.targets.len();
            on_progress(Progress::Batch { epoch, batch: i + 1, batches: n_batches, loss: mean(loss_sum, batches_n) });
        }
        let seconds = t0.elapsed().as_secs_f64();
        let cpu_s = process_cpu_seconds().zip(cpu0).map(|(b, a)| b - a);
        let out_of_time =
            refit_epochs.is_none() && cfg.max_seconds.is_some_and(|s| started.elapsed().as_secs_f64() >= s);
        let evaluate = refit_epochs.is_none() && (epoch % cfg.eval_every == 0 || epoch == cfg.epochs || out_of_time);
        let mut log = EpochLog {
            epoch,
            loss: mean(loss_sum, batches_n),
            seconds,
            forward_s: fwd,
            backward_s: bwd,
            step_s: stp,
            sequences: windows.len(),
            positions,
            valid: None,
            eval_s: 0.0,
            cpu_s,
        };
        let mut stop = out_of_time;
        if evaluate {
            on_progress(Progress::Evaluating { epoch });
            let t = Instant::now();
            let rec = NeuralRecommender::on(device, "valid", model.valid());
            let m = rank_metrics(&rec, split, Phase::Valid, 256)?;
            log.eval_s = t.elapsed().as_secs_f64();
            log.valid = Some(m);
            if best.as_ref().is_none_or(|(_, _, b)| m.ndcg10 > b.ndcg10) {
                let model = rec.into_model();
                if let Some((path, spec)) = checkpoint {
                    let metrics = bundle_metrics(&m, None, epoch);
                    trained_bundle(&model, spec.clone(), split, metrics, false)?.save_file(path)?;
                    on_progress(Progress::Checkpoint { epoch, path: path.clone() });
                }
                best = Some((model, epoch, m));
                since_best = 0;
            } else {
                since_best += 1;
                stop |= since_best >= cfg.patience.max(1);
            }
        }
        if cfg.verbose {
            eprintln!("{}", progress_line(&log));
        }
        on_progress(Progress::EpochEnd(log.clone()));
        logs.push(log);
        if stop {
            break;
        }
    }
    if let Some(n) = refit_epochs {
        let nan = RankMetrics { ndcg10: f64::NAN, hr10: f64::NAN, hr1: f64::NAN, mrr: f64::NAN, cases: 0 };
        best = Some((model.valid(), n, nan));
    }
    let (best_model, best_epoch, valid) =
        best.ok_or_else(|| Error::Data("training ended before any validation".into()))?;
    let rec = NeuralRecommender::on(device, "test", best_model);
    let test = rank_metrics(&rec, split, Phase::Test, 256)?;
    if cfg.verbose && refit_epochs.is_none() {
        eprintln!(
            "best epoch {best_epoch}: valid NDCG@10 {:.4} HR@10 {:.4} | test NDCG@10 {:.4} HR@10 {:.4} ({} cases)",
            valid.ndcg10, valid.hr10, test.ndcg10, test.hr10, test.cases
        );
    }
    Ok(Trained { model: rec.into_model(), best_epoch, valid, test, epochs: logs, refit_test: None })
}

fn mean(sum: f64, n: usize) -> f64 {
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// The metrics a trained model's bundle records: `valid/…` and (when given) `test/…` NDCG@10,
/// HR@10, HR@1 and MRR, and `best_epoch`.
pub fn bundle_metrics(valid: &RankMetrics, test: Option<&RankMetrics>, best_epoch: usize) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for (phase, m) in std::iter::once(("valid", valid)).chain(test.map(|t| ("test", t))) {
        metrics.insert(format!("{phase}/ndcg@10"), m.ndcg10);
        metrics.insert(format!("{phase}/hr@10"), m.hr10);
        metrics.insert(format!("{phase}/hr@1"), m.hr1);
        metrics.insert(format!("{phase}/mrr"), m.mrr);
    }
    metrics.insert("best_epoch".into(), best_epoch as f64);
    metrics
}

/// The bundle of `model` (an `encoder`) trained on `split`: the dataset's items and metadata,
/// the popularity of the items in the test phase's training data (the cold-start fallback),
/// `metrics`, the creation time (`unix:SECONDS`) and the weights (item table in f16 with
/// `half_precision_items`).
pub fn trained_bundle<M: SeqEncoder>(
    model: &M,
    encoder: EncoderSpec,
    split: &Split,
    metrics: BTreeMap<String, f64>,
    half_precision_items: bool,
) -> Result<Bundle> {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| format!("unix:{}", d.as_secs()))
        .unwrap_or_default();
    let counts = split.train(Phase::Test).item_counts();
    let mut manifest = Manifest::from_dataset(&split.dataset, &counts, encoder, created);
    manifest.metrics = metrics;
    manifest.half_precision_items = half_precision_items;
    Ok(Bundle::new(manifest, weights_with(model, half_precision_items)?))
}

/// The one-line summary of an epoch that [`fit`] prints.
pub fn progress_line(log: &EpochLog) -> String {
    let mut s = format!(
        "epoch {:>3}: loss {:.4}, {:.1} s ({:.0} seq/s; fwd {:.1} s, bwd {:.1} s, step {:.1} s",
        log.epoch,
        log.loss,
        log.seconds,
        log.sequences as f64 / log.seconds.max(1e-9),
        log.forward_s,
        log.backward_s,
        log.step_s
    );
    if let Some(c) = log.cpu_s {
        s.push_str(&format!("; cpu {c:.1} s"));
    }
    s.push(')');
    if let Some(v) = log.valid {
        s.push_str(&format!(", valid NDCG@10 {:.4} HR@10 {:.4} (eval {:.1} s)", v.ndcg10, v.hr10, log.eval_s));
    }
    s
}

/// The hidden states at the target positions of `b`, and the item table rows `1..=num_items`.
///
/// # Shapes
/// hidden `[B, L, d]` → gathered `[N, d]` (N = target positions); table `[num_items, d]`.
fn gathered_states<M: SeqEncoder>(model: &M, b: &Batch, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let items = Tensor::<2, Int>::from_data(TensorData::new(b.items.clone(), [b.rows, b.len]), device);
    let kinds =
        b.kinds.as_ref().map(|k| Tensor::<2, Int>::from_data(TensorData::new(k.clone(), [b.rows, b.len]), device));
    let h = model.forward(items, kinds);
    let [rows, len, d] = h.dims();
    let at = Tensor::<1, Int>::from_data(TensorData::new(b.positions.clone(), [b.targets.len()]), device);
    let h = h.reshape([rows * len, d]).select(0, at);
    let table = model.item_table();
    let [size, _] = table.dims();
    (h, table.narrow(0, 1, size - 1))
}

/// The loss of [`TrainConfig::loss`] and what it draws from: the popularity sampler of
/// [`Loss::SampledSoftmax`] and a random stream for the negatives, separate from the shuffling
/// stream (so the full softmax sees exactly the batches it saw before the other losses existed).
struct LossState {
    loss: Loss,
    sampler: Option<loss::PopularitySampler>,
    rng: ChaCha8Rng,
    /// Whether the full softmax uses the fused CPU head (on `flex`) or the composed loss.
    fused: bool,
    n_items: usize,
}

impl LossState {
    fn new(loss: Loss, device: &Device, ds: &Dataset, windows: &[Window], n_items: usize, seed: u64) -> Result<Self> {
        let sampler = match loss {
            Loss::SampledSoftmax { .. } => {
                // Frequencies of the items as training targets: every target has a count ≥ 1.
                let mut counts = vec![0u64; n_items];
                for w in windows {
                    for &y in &ds.seqs[w.seq as usize].items[w.start as usize + 1..w.end as usize] {
                        if y != 0 && (y as usize) <= n_items {
                            counts[y as usize - 1] += 1;
                        }
                    }
                }
                Some(loss::PopularitySampler::new(&counts).ok_or_else(|| {
                    Error::Data(format!("`{}` has no training target to sample negatives from", ds.name))
                })?)
            }
            _ => None,
        };
        Ok(LossState {
            loss,
            sampler,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_6761_7469_7665), // "negative"
            fused: device.clone().inner() == Device::flex(),
            n_items,
        })
    }

    /// The mean loss of batch `b` and a scalar to call `backward` on. `window_items(p)` gives the
    /// items of the training window of target position `p` (the negatives of BCE avoid them).
    fn objective<'a, M: SeqEncoder>(
        &mut self,
        model: &M,
        b: &Batch,
        device: &Device,
        window_items: &dyn Fn(usize) -> &'a [u32],
    ) -> Result<(f64, Tensor<1>)> {
        let composed = match self.loss {
            Loss::FullSoftmax if self.fused => return batch_objective(model, b, device),
            Loss::FullSoftmax => batch_loss(model, b, device),
            Loss::SampledSoftmax { negatives } => {
                let sampler = self.sampler.as_ref().ok_or_else(|| Error::Data("no negative sampler".into()))?;
                let (negs, neg_q) = sampler.draw(negatives, &mut self.rng);
                let target_q: Vec<f32> = b.targets.iter().map(|&t| sampler.log_q(t, negatives)).collect();
                let (h, table) = gathered_states(model, b, device);
                loss::sampled_softmax(h, table, &b.targets, &target_q, &negs, &neg_q)
            }
            Loss::Bce => {
                let negs = loss::uniform_negatives(self.n_items, b.targets.len(), window_items, &mut self.rng);
                let (h, table) = gathered_states(model, b, device);
                loss::bce(h, table, &b.targets, &negs)
            }
        };
        let value = read_f32(composed.clone(), "the loss")?.first().copied().unwrap_or(f32::NAN) as f64;
        Ok((value, composed))
    }
}

/// Rows of the fused cross-entropy head handled together: their logits (`rows × num_items`)
/// stay in cache between the three matrix products, and blocks run in parallel.
const HEAD_BLOCK: usize = 128;

/// The mean full-softmax cross-entropy of `b` and a surrogate scalar with the same gradient.
///
/// The `[N, num_items]` part is done outside the autodiff graph, because composing it from
/// tensor operations (log-softmax, gather, and their backward passes) walks the large logits
/// matrix about ten times. Here, for each block of [`HEAD_BLOCK`] rows (blocks in parallel),
/// the logits are formed once, one pass per row turns them in place into
/// `G = (softmax − one_hot(target)) / N` (the gradient of the loss with respect to the
/// logits), and two matrix products give `∂L/∂h = G · E` and the block's share of
/// `∂L/∂E = Gᵀ · h`. The surrogate `Σ h ⊙ ∂L/∂h + Σ E ⊙ ∂L/∂E` (gradients held constant)
/// hands them to the graph: its backward pass yields exactly those gradients for the encoder
/// and the item table.
fn batch_objective<M: SeqEncoder>(model: &M, b: &Batch, device: &Device) -> Result<(f64, Tensor<1>)> {
    use rayon::prelude::*;
    type Acc = Result<(f64, Vec<(usize, Vec<f32>)>, Option<Tensor<2>>)>;

    let (h, table) = gathered_states(model, b, device);
    let (hc, tc) = (h.clone().inner(), table.clone().inner());
    let ([n, d], v) = (hc.dims(), tc.dims()[0]);
    let plain = hc.device();
    let hv = read_f32(hc, "hidden states")?;
    let inv_n = 1.0 / n.max(1) as f32;
    let block = |start: usize| -> Result<(f64, Vec<f32>, Tensor<2>)> {
        let end = (start + HEAD_BLOCK).min(n);
        let hb = Tensor::<2>::from_data(TensorData::new(hv[start * d..end * d].to_vec(), [end - start, d]), &plain);
        let logits = hb.clone().matmul(tc.clone().transpose());
        let mut data =
            logits.try_into_data().map_err(|e| Error::Data(format!("could not read the logits back: {e:?}")))?;
        let g = data.as_mut_slice::<f32>().map_err(|e| Error::Data(format!("logits are not f32: {e:?}")))?;
        let loss = softmax_xent_grad(g, v, &b.targets[start..end], inv_n);
        let g = Tensor::<2>::from_data(data, &plain);
        let grad_h = read_f32(g.clone().matmul(tc.clone()), "a gradient")?;
        Ok((loss, grad_h, g.transpose().matmul(hb)))
    };
    let empty = || -> Acc { Ok((0.0, Vec::new(), None)) };
    let (loss, parts, grad_table) = (0..n)
        .step_by(HEAD_BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .fold(empty, |acc: Acc, start| {
            let (loss, mut parts, sum) = acc?;
            let (l, gh, ge) = block(start)?;
            parts.push((start, gh));
            Ok((loss + l, parts, Some(sum.map_or(ge.clone(), |s| s + ge))))
        })
        .reduce(empty, |a, b| {
            let ((la, mut pa, sa), (lb, pb, sb)) = (a?, b?);
            pa.extend(pb);
            let sum = match (sa, sb) {
                (Some(x), Some(y)) => Some(x + y),
                (x, y) => x.or(y),
            };
            Ok((la + lb, pa, sum))
        })?;
    let mut grad_h = vec![0f32; n * d];
    for (start, gh) in parts {
        grad_h[start * d..start * d + gh.len()].copy_from_slice(&gh);
    }
    let grad_h = Tensor::<2>::from_data(TensorData::new(grad_h, [n, d]), &plain);
    let grad_table = grad_table.unwrap_or_else(|| Tensor::zeros([v, d], &plain));
    let surrogate = (h * grad_h).sum() + (table * grad_table).sum();
    Ok((loss * inv_n as f64, surrogate))
}

/// Turns `rows` (`targets.len()` rows of `v` logits) in place into the gradient of the
/// cross-entropy scaled by `scale`, `(softmax(row) − one_hot(target)) · scale`, and returns
/// the summed (unscaled) cross-entropy of the rows.
fn softmax_xent_grad(rows: &mut [f32], v: usize, targets: &[i64], scale: f32) -> f64 {
    if v == 0 {
        return 0.0;
    }
    let mut total = 0.0f64;
    for (row, &t) in rows.chunks_exact_mut(v).zip(targets) {
        let t = (t.max(0) as usize).min(v - 1);
        let z_t = row[t];
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f64;
        for x in row.iter_mut() {
            *x = (*x - m).exp();
            sum += *x as f64;
        }
        let k = (scale as f64 / sum) as f32;
        for x in row.iter_mut() {
            *x *= k;
        }
        row[t] -= scale;
        total += (m as f64 + sum.ln()) - z_t as f64;
    }
    total
}

/// CPU time of this process (user + system, all threads) in seconds, on Linux.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// Mean cross-entropy of the next item at every target position of `b`, composed of tensor
/// operations: the full softmax off the CPU (where the fused head's host round trips would
/// cost more than they save), and the reference for [`batch_objective`].
///
/// # Shapes
/// hidden `[B, L, d]` → gathered `[N, d]` (N = target positions) → logits `[N, num_items]`
/// against table rows `1..=num_items` (padding is never a candidate) → scalar `[1]`.
fn batch_loss<M: SeqEncoder>(model: &M, b: &Batch, device: &Device) -> Tensor<1> {
    use burn::tensor::activation::log_softmax;
    let (h, table) = gathered_states(model, b, device);
    let n = b.targets.len();
    let logits = h.matmul(table.transpose());
    let targets = Tensor::<2, Int>::from_data(TensorData::new(b.targets.clone(), [n, 1]), device);
    log_softmax(logits, 1).gather(1, targets).mean().neg()
}

/// A training window: `items[start..end]` of sequence `seq` (at least two items).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Window {
    seq: u32,
    start: u32,
    end: u32,
}

impl Window {
    fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
}

fn training_windows(train: &TrainSet<'_>, max_len: usize, stride: Option<usize>) -> Vec<Window> {
    let mut out = Vec::new();
    for s in 0..train.ends.len() {
        let n = train.seq(s).len();
        if n < 2 {
            continue;
        }
        let window = |start: usize, end: usize| Window { seq: s as u32, start: start as u32, end: end as u32 };
        match stride {
            None => out.push(window(n.saturating_sub(max_len + 1), n)),
            Some(st) => out.extend(sliding_windows(n, max_len, st).into_iter().map(|r| window(r.start, r.end))),
        }
    }
    out
}

/// Shuffled batches of window indices; with `bucket`, similar lengths share a batch.
fn batches(windows: &[Window], batch_size: usize, bucket: bool, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.shuffle(rng);
    if bucket {
        for group in order.chunks_mut(batch_size * 16) {
            group.sort_by_key(|&i| windows[i].len());
        }
    }
    let mut out: Vec<Vec<usize>> = order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    out.shuffle(rng);
    out
}

/// One batch on the host: inputs left-padded to the longest, and the flat positions and
/// targets (item index − 1) of every non-padded position.
struct Batch {
    items: Vec<i64>,
    kinds: Option<Vec<i64>>,
    rows: usize,
    len: usize,
    positions: Vec<i64>,
    targets: Vec<i64>,
}

impl Batch {
    fn new(ds: &Dataset, windows: &[Window], idx: &[usize], n_items: usize, with_kinds: bool) -> Batch {
        let len = idx.iter().map(|&i| windows[i].len() - 1).max().unwrap_or(1).max(1);
        let rows = idx.len();
        let mut items = vec![0i64; rows * len];
        let mut kinds = with_kinds.then(|| vec![0i64; rows * len]);
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        let valid = |i: u32| i != 0 && (i as usize) <= n_items;
        for (r, &w) in idx.iter().enumerate() {
            let w = windows[w];
            let seq = &ds.seqs[w.seq as usize];
            let (s, e) = (w.start as usize, w.end as usize);
            let input = &seq.items[s..e - 1];
            let offset = r * len + len - input.len();
            for (t, (&x, &y)) in input.iter().zip(&seq.items[s + 1..e]).enumerate() {
                items[offset + t] = if valid(x) { x as i64 } else { 0 };
                if let Some(k) = kinds.as_mut() {
                    k[offset + t] = seq.kinds.get(s + t).map_or(0, |k| k.index() as i64);
                }
                if valid(x) && valid(y) {
                    positions.push((offset + t) as i64);
                    targets.push(y as i64 - 1);
                }
            }
        }
        Batch { items, kinds, rows, len, positions, targets }
    }

    /// The items (input and targets) of the window behind target position `p`; `idx` and
    /// `windows` are what the batch was built from.
    fn window_items<'a>(&self, ds: &'a Dataset, windows: &[Window], idx: &[usize], p: usize) -> &'a [u32] {
        let row = self.positions[p] as usize / self.len.max(1);
        let w = windows[idx[row]];
        &ds.seqs[w.seq as usize].items[w.start as usize..w.end as usize]
    }
}

/// How [`Batch::cloze`] masks a training sequence.
struct Masking {
    /// Items per sequence (the newest of its window).
    max_len: usize,
    /// Probability that a position is masked.
    mask_prob: f64,
    /// Share of sequences whose newest item is the only one masked.
    last_only: f64,
}

impl Batch {
    /// A cloze batch ([`Objective::Cloze`]): the newest `max_len` items of every window,
    /// left-padded; the chosen positions are replaced by the mask index `n_items + 1`, and they
    /// are the targets (their original item − 1). With probability `last_only` a sequence gets
    /// only its newest item masked; otherwise every item is masked with probability
    /// `mask_prob`, and one uniformly chosen item if none was.
    fn cloze(
        ds: &Dataset,
        windows: &[Window],
        idx: &[usize],
        n_items: usize,
        with_kinds: bool,
        masking: &Masking,
        rng: &mut ChaCha8Rng,
    ) -> Batch {
        use rand::Rng;
        let spans: Vec<(usize, usize, usize)> = idx
            .iter()
            .map(|&i| {
                let w = windows[i];
                let (s, e) = (w.start as usize, w.end as usize);
                (w.seq as usize, e.saturating_sub(masking.max_len).max(s), e)
            })
            .collect();
        let len = spans.iter().map(|&(_, s, e)| e - s).max().unwrap_or(1).max(1);
        let rows = idx.len();
        let mut items = vec![0i64; rows * len];
        let mut kinds = with_kinds.then(|| vec![0i64; rows * len]);
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        let valid = |i: u32| i != 0 && (i as usize) <= n_items;
        let mask = n_items as i64 + 1;
        for (r, &(q, s, e)) in spans.iter().enumerate() {
            let seq = &ds.seqs[q];
            let input = &seq.items[s..e];
            let offset = r * len + len - input.len();
            for (t, &x) in input.iter().enumerate() {
                items[offset + t] = if valid(x) { x as i64 } else { 0 };
                if let Some(k) = kinds.as_mut() {
                    k[offset + t] = seq.kinds.get(s + t).map_or(0, |k| k.index() as i64);
                }
            }
            let real: Vec<usize> = (0..input.len()).filter(|&t| valid(input[t])).collect();
            let Some(&newest) = real.last() else { continue };
            let mut chosen = Vec::new();
            if rng.random::<f64>() < masking.last_only {
                chosen.push(newest);
            } else {
                chosen.extend(real.iter().copied().filter(|_| rng.random::<f64>() < masking.mask_prob));
                if chosen.is_empty() {
                    chosen.push(real[rng.random_range(0..real.len())]);
                }
            }
            for t in chosen {
                positions.push((offset + t) as i64);
                targets.push(input[t] as i64 - 1);
                items[offset + t] = mask;
            }
        }
        Batch { items, kinds, rows, len, positions, targets }
    }
}

/// Full-ranking NDCG@10, HR@10, HR@1 and MRR of `rec` over the cases of `phase`.
///
/// Every item of the case's history is masked (a target that occurs in its own history is a
/// miss), and the target ranks after items with an equal score and a smaller index: rank =
/// 1 + #(score > target's) + #(score = target's and index < target). Histories are passed
/// whole (the model trims them to what it reads), in order of length.
pub fn rank_metrics(rec: &dyn Recommender, split: &Split, phase: Phase, batch_size: usize) -> Result<RankMetrics> {
    use rayon::prelude::*;
    let ds = &split.dataset;
    let mut cases = split.cases(phase);
    // Similar lengths share a batch (less padding); the metrics do not depend on the order.
    cases.sort_by_key(|c| c.end - c.start);
    let n = rec.num_items();
    let width = n + 1;
    let sums = cases
        .par_chunks(batch_size.max(1))
        .map(|chunk| -> Result<[f64; 4]> {
            let histories: Vec<&[u32]> = chunk.iter().map(|c| c.history(ds)).collect();
            let mut rows = vec![0f32; chunk.len() * width];
            rec.score_batch(&histories, &mut rows)?;
            let mut masked = vec![false; width];
            let mut s = [0.0; 4];
            for ((c, h), row) in chunk.iter().zip(&histories).zip(rows.chunks_exact(width)) {
                let rank = target_rank(row, h, c.target(ds), &mut masked);
                if rank == 0 {
                    continue;
                }
                if rank <= 10 {
                    s[0] += 1.0 / (rank as f64 + 1.0).log2();
                    s[1] += 1.0;
                }
                if rank == 1 {
                    s[2] += 1.0;
                }
                s[3] += 1.0 / rank as f64;
            }
            Ok(s)
        })
        .try_reduce(|| [0.0; 4], |a, b| Ok([a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]))?;
    let c = cases.len().max(1) as f64;
    Ok(RankMetrics { ndcg10: sums[0] / c, hr10: sums[1] / c, hr1: sums[2] / c, mrr: sums[3] / c, cases: cases.len() })
}

/// 1-based rank of `target` in `row` among the unmasked items `1..row.len()`; 0 when the
/// target is masked, out of range or has no score. `masked` is scratch space of `row.len()`
/// entries, all false on entry and on return.
fn target_rank(row: &[f32], history: &[u32], target: u32, masked: &mut [bool]) -> u32 {
    let t = target as usize;
    if t == 0 || t >= row.len() || row[t].is_nan() {
        return 0;
    }
    for &i in history {
        if let Some(x) = masked.get_mut(i as usize) {
            *x = true;
        }
    }
    let rank = if masked[t] {
        0
    } else {
        let st = row[t];
        let mut above = 0u32;
        for (j, (&s, &mk)) in row.iter().zip(masked.iter()).enumerate().skip(1) {
            if !mk && (s > st || (s == st && j < t)) {
                above += 1;
            }
        }
        above + 1
    };
    for &i in history {
        if let Some(x) = masked.get_mut(i as usize) {
            *x = false;
        }
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetBuilder, SplitSpec};
    use crate::events::{EventKind, SequenceOptions};
    use crate::model::pop::MostPopular;
    use burn::tensor::DType;

    /// 30 users over items "0".."19": each walks i, i+1, i+2, … (mod 20) for 6–9 steps.
    fn chain_split() -> Split {
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

    #[test]
    fn ranks_follow_the_tie_rule_and_mask_the_history() {
        let mut masked = vec![false; 6];
        //           pad   1    2    3    4    5
        let row = [9.0, 0.5, 0.9, 0.5, 0.1, 0.5];
        // target 3 (0.5): above it 2 (0.9) and, tied, 1 (smaller index) → rank 3
        assert_eq!(target_rank(&row, &[], 3, &mut masked), 3);
        // masking 2 and 1 lifts target 3 to the top; 5 (tied, larger index) stays below
        assert_eq!(target_rank(&row, &[2, 1, 2], 3, &mut masked), 1);
        assert!(masked.iter().all(|&m| !m), "scratch is cleared");
        assert_eq!(target_rank(&row, &[3], 3, &mut masked), 0, "a target in the history is a miss");
        assert_eq!(target_rank(&row, &[77], 5, &mut masked), 4, "unknown history ids are ignored");
        assert_eq!(target_rank(&row, &[], 0, &mut masked), 0);
        assert_eq!(target_rank(&row, &[], 6, &mut masked), 0);
    }

    #[test]
    fn metrics_of_a_baseline_are_consistent() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        let pop = MostPopular::fit(&split.train(Phase::Test));
        let m = rank_metrics(&pop, &split, Phase::Test, 7).unwrap();
        assert_eq!(m.cases, 61);
        assert!(m.hr1 <= m.hr10 && m.ndcg10 <= m.hr10 && m.ndcg10 >= m.hr1);
        assert!(m.hr10 < 0.9, "popularity cannot solve the chain task: {m:?}");
    }

    #[test]
    fn windows_and_batches_cover_the_data_deterministically() {
        let split = chain_split();
        let train = split.train(Phase::Valid);
        let w = training_windows(&train, 3, None);
        assert!(w.iter().all(|w| (2..=4).contains(&w.len())));
        assert_eq!(w.len(), train.sequences().filter(|s| s.len() >= 2).count());
        let slid = training_windows(&train, 3, Some(2));
        assert!(slid.len() > w.len());
        let (mut r1, mut r2) = (ChaCha8Rng::seed_from_u64(5), ChaCha8Rng::seed_from_u64(5));
        let b1 = batches(&w, 8, true, &mut r1);
        assert_eq!(b1, batches(&w, 8, true, &mut r2));
        let mut all: Vec<usize> = b1.concat();
        all.sort_unstable();
        assert_eq!(all, (0..w.len()).collect::<Vec<_>>(), "every window once per epoch");

        let b = Batch::new(&split.dataset, &w, &[0, 1], split.dataset.num_items(), false);
        assert_eq!(b.items.len(), b.rows * b.len);
        let real = b.items.iter().filter(|&&i| i != 0).count();
        assert_eq!(b.positions.len(), real, "one target per non-padded input");
        for (&p, &t) in b.positions.iter().zip(&b.targets) {
            let x = b.items[p as usize];
            // chain data: the next item is the next id (mod 20); item "k" has index k + 1
            assert_eq!((x - 1 + 1) % 20, t, "target of input {x} is {t}");
        }
    }

    #[test]
    fn fused_head_matches_autodiff_loss_and_gradients() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        let device = Device::flex().autodiff();
        device.seed(11);
        let m = SasRecConfig::new(split.dataset.num_items())
            .with_d_model(16)
            .with_max_len(6)
            .with_dropout(0.0)
            .init(&device)
            .unwrap();
        let w = training_windows(&split.train(Phase::Valid), 6, None);
        let all: Vec<usize> = (0..w.len()).collect();
        let b = Batch::new(&split.dataset, &w, &all, split.dataset.num_items(), false);
        assert!(b.targets.len() > 2 * HEAD_BLOCK, "several blocks of the fused head are exercised");
        let reference = batch_loss(&m, &b, &device);
        let ref_value = read_f32(reference.clone(), "loss").unwrap()[0] as f64;
        let g1 = reference.backward();
        let (value, surrogate) = batch_objective(&m, &b, &device).unwrap();
        let g2 = surrogate.backward();
        assert!((value - ref_value).abs() < 1e-4, "{value} vs {ref_value}");
        let table = m.item_table();
        let (a, c) = (table.grad(&g1).unwrap(), table.grad(&g2).unwrap());
        let (a, c) = (read_f32(a, "g").unwrap(), read_f32(c, "g").unwrap());
        let scale = a.iter().map(|x| x.abs()).fold(0.0f32, f32::max);
        assert!(scale > 0.0);
        for (x, y) in a.iter().zip(&c) {
            assert!((x - y).abs() <= 1e-4 * scale, "{x} vs {y}");
        }
        // The rows of a constant logit matrix: loss ln(v), gradient rows sum to zero.
        let mut rows = vec![0.5f32; 2 * 4];
        let l = softmax_xent_grad(&mut rows, 4, &[1, 3], 0.5);
        assert!((l - 2.0 * 4f64.ln()).abs() < 1e-6);
        assert!((rows[1] - (0.25 - 1.0) / 2.0).abs() < 1e-6 && (rows[0] - 0.125).abs() < 1e-6);
        assert!(rows[..4].iter().sum::<f32>().abs() < 1e-6);
    }

    /// A small SASRec on the chain data (autodiff, no dropout) and one batch of every window.
    fn chain_model_and_batch(split: &Split, device: &Device) -> (SasRec, Batch) {
        device.seed(11);
        let m = SasRecConfig::new(split.dataset.num_items())
            .with_d_model(16)
            .with_max_len(6)
            .with_dropout(0.0)
            .init(device)
            .unwrap();
        let w = training_windows(&split.train(Phase::Valid), 6, None);
        let all: Vec<usize> = (0..w.len()).collect();
        (m, Batch::new(&split.dataset, &w, &all, split.dataset.num_items(), false))
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn sampled_softmax_over_the_whole_catalog_is_the_full_softmax() {
        // With every item once as a negative and one correction for all (the logQ of a uniform
        // sample of the whole catalog is the same constant for every item, and a constant shift
        // of all logits leaves a softmax unchanged), the sampled softmax must be the full softmax
        // exactly — provided the copy of each row's target among the negatives is masked: counted
        // twice, the target would add e^{s_t} to the denominator and the loss would differ.
        let split = chain_split();
        let device = Device::flex().autodiff();
        let (m, b) = chain_model_and_batch(&split, &device);
        let v = split.dataset.num_items();
        let reference = batch_loss(&m, &b, &device);
        let ref_value = read_f32(reference.clone(), "loss").unwrap()[0];
        let g1 = reference.backward();
        let (h, table) = gathered_states(&m, &b, &device);
        let all: Vec<i64> = (0..v as i64).collect();
        let q = 0.7f32;
        let sampled = loss::sampled_softmax(h, table, &b.targets, &vec![q; b.targets.len()], &all, &vec![q; v]);
        let value = read_f32(sampled.clone(), "loss").unwrap()[0];
        assert!((value - ref_value).abs() < 1e-5, "{value} vs {ref_value}");
        let g2 = sampled.backward();
        let t = m.item_table();
        let (a, c) = (read_f32(t.grad(&g1).unwrap(), "g").unwrap(), read_f32(t.grad(&g2).unwrap(), "g").unwrap());
        let scale = a.iter().map(|x| x.abs()).fold(0.0f32, f32::max);
        assert!(scale > 0.0 && max_abs_diff(&a, &c) <= 1e-4 * scale);
    }

    #[test]
    fn popularity_sampler_follows_the_counts_and_is_seeded() {
        let s = loss::PopularitySampler::new(&[3, 0, 1]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (items, q) = s.draw(4000, &mut rng);
        assert!(items.iter().all(|&i| i == 0 || i == 2), "a zero-count item is never drawn");
        let share = items.iter().filter(|&&i| i == 0).count() as f64 / 4000.0;
        assert!((share - 0.75).abs() < 0.03, "item 0 drawn {share} of the time, expected 0.75");
        let expect0 = (4000.0f32 * 0.75).ln();
        assert!(items.iter().zip(&q).filter(|(i, _)| **i == 0).all(|(_, q)| (q - expect0).abs() < 1e-4));
        assert_eq!(s.draw(50, &mut ChaCha8Rng::seed_from_u64(9)), s.draw(50, &mut ChaCha8Rng::seed_from_u64(9)));
        assert_ne!(s.draw(50, &mut ChaCha8Rng::seed_from_u64(9)).0, s.draw(50, &mut ChaCha8Rng::seed_from_u64(8)).0);
        assert!(loss::PopularitySampler::new(&[0, 0]).is_none());

        // BCE negatives avoid the window's items and are seeded too.
        // (Up to 11 draws: a 1-in-5 window item survives them all with probability 2e-8.)
        let avoid: [u32; 1] = [2]; // item 1, 0-based
        let negs = loss::uniform_negatives(5, 300, |_| &avoid[..], &mut ChaCha8Rng::seed_from_u64(4));
        assert!(!negs.contains(&1) && (0..5).filter(|j| negs.contains(j)).count() == 4, "{negs:?}");
        assert_eq!(negs, loss::uniform_negatives(5, 300, |_| &avoid[..], &mut ChaCha8Rng::seed_from_u64(4)));
    }

    #[test]
    fn bce_matches_a_hand_computed_value() {
        let device = Device::flex();
        let h = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 2.0], [2, 2]), &device);
        let table = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, -1.0, 0.0], [3, 2]), &device);
        // Row 0: target 0 scores 1, negative 2 scores −1: 2·ln(1 + e^−1) = 0.626523.
        // Row 1: target 2 scores 0, negative 1 scores 2: ln 2 + ln(1 + e^2) = 2.820075.
        let l = read_f32(loss::bce(h, table, &[0, 2], &[2, 1]), "loss").unwrap()[0];
        assert!((l - (0.626_523_4 + 2.820_075_2) / 2.0).abs() < 1e-5, "{l}");
    }

    #[test]
    fn loss_settings_parse_print_and_serialise() {
        for (text, loss) in
            [("full", Loss::FullSoftmax), ("sampled:64", Loss::SampledSoftmax { negatives: 64 }), ("bce", Loss::Bce)]
        {
            assert_eq!(text.parse::<Loss>().unwrap(), loss);
            assert_eq!(loss.to_string(), text);
        }
        for bad in ["sampled:0", "sampled:", "sampled:x", "softmax:3", ""] {
            let e = bad.parse::<Loss>().unwrap_err().to_string();
            assert!(e.contains("sampled:N"), "{bad}: {e}");
        }
        let cfg = TrainConfig { loss: Loss::SampledSoftmax { negatives: 8 }, ..TrainConfig::default() };
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(json.contains(r#""loss":{"sampled_softmax":{"negatives":8}}"#), "{json}");
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), cfg);
        let bce: TrainConfig = serde_json::from_str(r#"{"loss": "bce"}"#).unwrap();
        assert_eq!(bce.loss, Loss::Bce);
        assert_eq!(serde_json::from_str::<TrainConfig>("{}").unwrap().loss, Loss::FullSoftmax);
        assert!(TrainConfig { loss: Loss::SampledSoftmax { negatives: 0 }, ..cfg }.validate().is_err());
    }

    /// The chain task's training settings (60 epochs, evaluated every 5).
    fn chain_training(loss: Loss) -> (SasRecConfig, TrainConfig) {
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

    #[test]
    fn sampled_softmax_and_bce_learn_the_chain() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        for loss in [Loss::SampledSoftmax { negatives: 5 }, Loss::Bce] {
            let (model_cfg, cfg) = chain_training(loss);
            // Half the epochs of the full softmax's test: both reach HR@1 = 1 by epoch 30.
            let t = train_sasrec(&split, &model_cfg, &TrainConfig { epochs: 30, ..cfg }).unwrap();
            assert!(t.valid.hr10 > 0.95 && t.valid.hr1 > 0.8, "{loss}: valid {:?}", t.valid);
            assert!(t.epochs.first().unwrap().loss > t.epochs.last().unwrap().loss, "{loss}");
        }
    }

    #[test]
    fn sampling_losses_are_deterministic_in_the_seed() {
        let _rng = crate::testing::rng_lock();
        // One initial model and no dropout: burn's random numbers (weights, dropout masks) come
        // from a generator that tests running in parallel share, so only the seeded shuffling
        // and negatives may differ between runs.
        let split = chain_split();
        let device = Device::flex().autodiff();
        for loss in [Loss::SampledSoftmax { negatives: 3 }, Loss::Bce] {
            let (model_cfg, cfg) = chain_training(loss);
            let model = model_cfg.with_dropout(0.0).init(&device).unwrap();
            let cfg = TrainConfig { epochs: 2, eval_every: 2, ..cfg };
            let losses = |seed| {
                let t = fit(model.clone(), &device, &split, &TrainConfig { seed, ..cfg.clone() }).unwrap();
                t.epochs.iter().map(|e| e.loss).collect::<Vec<_>>()
            };
            assert_eq!(losses(3), losses(3), "{loss}");
            assert_ne!(losses(3), losses(4), "{loss}");
        }
    }

    #[test]
    fn checkpoints_hold_the_best_model_and_progress_is_reported() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("models").join("best.lrec");
        let (model_cfg, cfg) = chain_training(Loss::FullSoftmax);
        let cfg = TrainConfig { epochs: 6, eval_every: 2, checkpoint: Some(path.clone()), ..cfg };
        let mut events = Vec::new();
        let t = train_sasrec_with(&Device::flex(), &split, &model_cfg, &cfg, &mut |p| events.push(p)).unwrap();

        // Per epoch: EpochStart, Batch 1..=n with the running mean loss, [Evaluating,
        // [Checkpoint]], EpochEnd with the epoch's log.
        let mut it = events.iter().peekable();
        let mut checkpoints = Vec::new();
        for log in &t.epochs {
            let Some(Progress::EpochStart { epoch, batches }) = it.next() else { panic!("{events:?}") };
            assert_eq!(*epoch, log.epoch);
            let mut last_loss = f64::NAN;
            for k in 1..=*batches {
                let Some(Progress::Batch { batch, loss, .. }) = it.next() else { panic!("batch {k}: {events:?}") };
                assert_eq!(*batch, k);
                last_loss = *loss;
            }
            assert_eq!(last_loss, log.loss);
            if log.valid.is_some() {
                assert_eq!(it.next(), Some(&Progress::Evaluating { epoch: log.epoch }));
                if let Some(Progress::Checkpoint { epoch, path: p }) = it.peek() {
                    assert_eq!((*epoch, p), (log.epoch, &path));
                    checkpoints.push(*epoch);
                    it.next();
                }
            }
            assert_eq!(it.next(), Some(&Progress::EpochEnd(log.clone())));
        }
        assert!(it.next().is_none());
        assert_eq!(checkpoints.first(), Some(&2), "the first evaluation is always an improvement");
        assert_eq!(checkpoints.last(), Some(&t.best_epoch), "the last checkpoint is the best epoch");

        // The file is the best model, as a bundle that scores exactly like it.
        let b = Bundle::load_file(&path).unwrap();
        assert_eq!(b.manifest.encoder.kind, "sasrec");
        assert_eq!(b.manifest.metrics["best_epoch"], t.best_epoch as f64);
        // (serde_json without its `float_roundtrip` feature may read a float back 1 ulp off.)
        assert!((b.manifest.metrics["valid/ndcg@10"] - t.valid.ndcg10).abs() < 1e-12);
        let loaded = crate::model::from_bundle(&b).unwrap();
        let trained = NeuralRecommender::new("sasrec", t.model);
        let hs: [&[u32]; 3] = [&[4, 5, 6], &[1], &[9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]];
        let (mut x, mut y) = (vec![0.0; 3 * 21], vec![0.0; 3 * 21]);
        loaded.score_batch(&hs, &mut x).unwrap();
        trained.score_batch(&hs, &mut y).unwrap();
        assert_eq!(x, y);
        let files: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(files.len(), 1, "no temporary file left: {files:?}");

        // Checkpoints need an encoder spec, and a place that can hold the file (checked first).
        let device = Device::flex().autodiff();
        let m = model_cfg.init(&device).unwrap();
        let e = fit(m.clone(), &device, &split, &cfg).unwrap_err();
        assert!(e.to_string().contains("checkpoint"), "{e}");
        let blocked = TrainConfig { checkpoint: Some(path.join("below-a-file.lrec")), ..cfg.clone() };
        let spec = EncoderSpec::of("sasrec", &model_cfg).unwrap();
        let mut calls = 0;
        let e = fit_with(m, &device, &split, &blocked, Some(&spec), &mut |_| calls += 1).unwrap_err();
        assert!(e.to_string().contains("best.lrec"), "{e}");
        assert_eq!(calls, 0, "refused before training");
    }

    #[test]
    fn exported_bundles_score_like_the_trained_model() {
        let _rng = crate::testing::rng_lock();
        use crate::bundle::{Bundle, weight_tensors};
        let split = chain_split();
        let (model_cfg, cfg) = chain_training(Loss::FullSoftmax);
        let t = train_sasrec(&split, &model_cfg, &TrainConfig { epochs: 10, ..cfg }).unwrap();
        let spec = EncoderSpec::of("sasrec", &model_cfg).unwrap();
        let metrics = bundle_metrics(&t.valid, Some(&t.test), t.best_epoch);
        let bundle = trained_bundle(&t.model, spec, &split, metrics, false).unwrap();
        let ds = &split.dataset;
        let histories: Vec<&[u32]> = split.cases(Phase::Test).iter().map(|c| c.history(ds)).collect();
        let width = ds.num_items() + 1;
        let scores = |rec: &dyn Recommender| {
            let mut out = vec![0.0f32; histories.len() * width];
            rec.score_batch(&histories, &mut out).unwrap();
            out
        };
        let reference = scores(&NeuralRecommender::new("sasrec", t.model));
        let load = |b: &Bundle| crate::model::from_bundle(&Bundle::from_bytes(&b.to_bytes()).unwrap()).unwrap();

        // f32: through bytes, and re-encoded without the model, the scores are bit for bit the same.
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&scores(load(&bundle).as_ref())), bits(&reference));
        let same = bundle.recoded(false).unwrap();
        assert_eq!(bits(&scores(load(&same).as_ref())), bits(&reference));
        assert_eq!(weight_tensors(&same.weights).unwrap(), weight_tensors(&bundle.weights).unwrap());

        // f16 item table: only that tensor changes, each value by at most 2^-11 of itself (round
        // to nearest; no value here is small enough for f16's subnormals), and the file shrinks.
        let half = bundle.recoded(true).unwrap();
        assert!(half.manifest.half_precision_items);
        let tensors = weight_tensors(&half.weights).unwrap();
        let table = tensors.iter().find(|t| t.item_table).unwrap();
        assert_eq!((table.name.as_str(), table.dtype.as_str()), ("item_emb.weight", "F16"));
        assert!(tensors.iter().filter(|t| !t.item_table).all(|t| t.dtype == "F32"));
        let d = model_cfg.d_model;
        assert!(half.weights.len() + width * d * 2 <= bundle.weights.len(), "the table takes 2 bytes a value");
        let table_of = |b: &Bundle| {
            let st = safetensors::SafeTensors::deserialize(&b.weights).unwrap();
            let v = st.tensor("item_emb.weight").unwrap();
            let dtype = if v.dtype() == safetensors::Dtype::F16 { DType::F16 } else { DType::F32 };
            let data = TensorData::from_bytes_vec(v.data().to_vec(), v.shape().to_vec(), dtype);
            data.convert_dtype(DType::F32).try_to_vec::<f32>().unwrap()
        };
        let (full_t, half_t) = (table_of(&bundle), table_of(&half));
        assert!(full_t.iter().all(|x| x.abs() > 6.2e-5), "normal f16 range");
        for (x, y) in full_t.iter().zip(&half_t) {
            assert!((x - y).abs() <= x.abs() * 2f32.powi(-11), "{x} became {y}");
        }
        // Scores from the f16 table (it is also the encoder's input): the largest error measured
        // here was 1.1e-4 of the largest |score| (5.8e-4 of 5.1); held to 2e-3, and they must
        // have moved at all.
        let got = scores(load(&half).as_ref());
        let range = reference.iter().filter(|x| x.is_finite()).fold(0.0f32, |m, x| m.max(x.abs()));
        let err = reference.iter().zip(&got).filter(|(x, _)| x.is_finite()).map(|(x, y)| (x - y).abs());
        let err = err.fold(0.0f32, f32::max);
        assert!(err > 0.0 && err <= 2e-3 * range, "max score error {err} for scores up to {range}");
        // Back to f32: exact (f16 → f32 loses nothing), so it scores like the f16 bundle.
        let back = half.recoded(false).unwrap();
        assert!(!back.manifest.half_precision_items);
        assert_eq!(bits(&scores(load(&back).as_ref())), bits(&got));
    }

    #[test]
    fn sasrec_learns_a_deterministic_chain() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        let model_cfg = SasRecConfig::new(split.dataset.num_items())
            .with_d_model(32)
            .with_n_blocks(1)
            .with_max_len(10)
            .with_dropout(0.1);
        let cfg = TrainConfig {
            epochs: 60,
            batch_size: 16,
            lr: 5e-3,
            warmup_steps: 0,
            max_len: 10,
            patience: 60,
            eval_every: 5,
            verbose: false,
            ..TrainConfig::default()
        };
        let t = train_sasrec(&split, &model_cfg, &cfg).unwrap();
        // Validation cases are learnt exactly. Test cases read one more item of history; how
        // well the model carries the chain over to them still depends on the initial weights
        // (seen between 0.61 and 1.0 HR@1 for different RNG states; an untrained model gets
        // about 0.05) — the same valid-versus-test gap SASRec shows on Amazon Beauty, left
        // for the tuning work. So the test phase is held to clear learning, not to perfection.
        assert!(t.valid.hr1 > 0.95, "valid {:?}", t.valid);
        assert!(t.test.hr10 > 0.95 && t.test.hr1 > 0.5, "test {:?}, valid {:?}", t.test, t.valid);
        assert!(t.epochs.first().unwrap().loss > t.epochs.last().unwrap().loss);
        // The returned model is ready for inference.
        let rec = NeuralRecommender::new("sasrec", t.model);
        let mut out = vec![0.0; 21];
        rec.score_batch(&[&[4, 5, 6]], &mut out).unwrap();
        let best = (1..21).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap();
        assert_eq!(best, 7, "after items 4, 5, 6 comes 7: {out:?}");
    }

    /// Training options of the small chain tests.
    fn chain_cfg(epochs: usize, lr: f64) -> TrainConfig {
        TrainConfig {
            epochs,
            batch_size: 16,
            lr,
            warmup_steps: 0,
            max_len: 10,
            patience: epochs,
            eval_every: 5,
            verbose: false,
            ..TrainConfig::default()
        }
    }

    /// The item a trained model ranks first after items 4, 5, 6 (the chain continues with 7).
    fn next_after_456<M: SeqEncoder + Sync>(model: M) -> usize {
        let rec = NeuralRecommender::new("m", model);
        let mut out = vec![0.0; 21];
        rec.score_batch(&[&[4, 5, 6]], &mut out).unwrap();
        (1..21).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap()
    }

    #[test]
    fn gru4rec_learns_a_deterministic_chain() {
        let _rng = crate::testing::rng_lock();
        use crate::model::gru4rec::Gru4RecConfig;
        let split = chain_split();
        let model_cfg =
            Gru4RecConfig::new(split.dataset.num_items()).with_d_model(32).with_max_len(10).with_dropout(0.1);
        let t = train_encoder(&split, &model_cfg, &chain_cfg(40, 1e-2)).unwrap();
        assert!(t.valid.hr1 > 0.95, "valid {:?}", t.valid);
        // Seen: valid and test HR@1 1.0, loss 2.99 → 0.006 (seed 42).
        assert!(t.test.hr1 > 0.95, "test {:?}", t.test);
        assert!(t.epochs.first().unwrap().loss > 10.0 * t.epochs.last().unwrap().loss);
        assert_eq!(next_after_456(t.model), 7);
    }

    #[test]
    fn lstm_learns_a_deterministic_chain() {
        let _rng = crate::testing::rng_lock();
        use crate::model::lstm::LstmConfig;
        let split = chain_split();
        let model_cfg = LstmConfig::new(split.dataset.num_items()).with_d_model(32).with_max_len(10).with_dropout(0.1);
        let t = train_encoder(&split, &model_cfg, &chain_cfg(40, 1e-2)).unwrap();
        // Seen (seed 42): valid HR@1 1.0; test HR@10 1.0, HR@1 0.85 (the valid/test gap of the
        // SASRec test above); loss 2.98 → 0.018.
        assert!(t.valid.hr1 > 0.95, "valid {:?}", t.valid);
        assert!(t.test.hr10 > 0.95 && t.test.hr1 > 0.5, "test {:?}", t.test);
        assert!(t.epochs.first().unwrap().loss > 10.0 * t.epochs.last().unwrap().loss);
        assert_eq!(next_after_456(t.model), 7);
    }

    #[test]
    fn attnpool_learns_a_deterministic_chain() {
        let _rng = crate::testing::rng_lock();
        use crate::model::attnpool::AttnPoolConfig;
        let split = chain_split();
        let model_cfg =
            AttnPoolConfig::new(split.dataset.num_items()).with_d_model(32).with_max_len(10).with_dropout(0.1);
        let t = train_encoder(&split, &model_cfg, &chain_cfg(40, 1e-2)).unwrap();
        // Seen (seed 42): valid and test HR@1 1.0, loss 2.99 → 0.006. (With a residual of the
        // newest item's embedding around the pool, test HR@1 fell to 0.02: the tied output
        // table then favours the newest item's own neighbourhood.)
        assert!(t.valid.hr1 > 0.95, "valid {:?}", t.valid);
        assert!(t.test.hr1 > 0.95, "test {:?}", t.test);
        assert!(t.epochs.first().unwrap().loss > 10.0 * t.epochs.last().unwrap().loss);
        // (The three-item history 4, 5, 6 is not a reliable probe here: depending on the
        // initial weights, which other tests running in parallel change through the shared
        // device RNG, the model ranks 7 or 8 first after it.)
    }

    #[test]
    fn cloze_batches_mask_and_target_the_hidden_items() {
        let split = chain_split();
        let n = split.dataset.num_items();
        let w = training_windows(&split.train(Phase::Valid), 6, None);
        let all: Vec<usize> = (0..w.len()).collect();
        let plain = Batch::new(&split.dataset, &w, &all, n, false);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let masking = Masking { max_len: 6, mask_prob: 0.2, last_only: 0.0 };
        let b = Batch::cloze(&split.dataset, &w, &all, n, false, &masking, &mut rng);
        assert_eq!(b.rows, all.len());
        assert!(b.len <= 6);
        let mask = n as i64 + 1;
        let mut per_row = vec![0usize; b.rows];
        for (&p, &t) in b.positions.iter().zip(&b.targets) {
            assert_eq!(b.items[p as usize], mask, "a target position holds the mask");
            assert!((0..n as i64).contains(&t));
            per_row[p as usize / b.len] += 1;
        }
        assert!(per_row.iter().all(|&k| k >= 1), "every sequence has a masked item");
        let masked = b.positions.len() as f64 / b.items.iter().filter(|&&i| i != 0).count() as f64;
        assert!((0.15..0.4).contains(&masked), "share masked {masked}");
        // Unmasking gives the newest `max_len` items of each window: the causal batch's inputs
        // plus the window's last item.
        let mut restored = b.items.clone();
        for (&p, &t) in b.positions.iter().zip(&b.targets) {
            restored[p as usize] = t + 1;
        }
        for r in 0..b.rows {
            let row: Vec<i64> = restored[r * b.len..(r + 1) * b.len].iter().copied().filter(|&i| i != 0).collect();
            let window = w[all[r]];
            let seq = &split.dataset.seqs[window.seq as usize].items[window.start as usize..window.end as usize];
            let expect: Vec<i64> = seq[seq.len().saturating_sub(6)..].iter().map(|&i| i as i64).collect();
            assert_eq!(row, expect);
            let causal: Vec<i64> =
                plain.items[r * plain.len..(r + 1) * plain.len].iter().copied().filter(|&i| i != 0).collect();
            assert_eq!(causal[..], seq[..seq.len() - 1].iter().map(|&i| i as i64).collect::<Vec<_>>()[..]);
        }
        // last_only = 1: exactly the newest item of every row, which is the last column.
        let only_last = Masking { last_only: 1.0, ..masking };
        let b = Batch::cloze(&split.dataset, &w, &all, n, false, &only_last, &mut rng);
        assert_eq!(b.positions, (0..b.rows).map(|r| (r * b.len + b.len - 1) as i64).collect::<Vec<_>>());
    }

    #[test]
    fn bert4rec_learns_a_deterministic_chain() {
        let _rng = crate::testing::rng_lock();
        use crate::model::bert4rec::Bert4RecConfig;
        let split = chain_split();
        let model_cfg = Bert4RecConfig::new(split.dataset.num_items())
            .with_d_model(32)
            .with_n_blocks(1)
            .with_max_len(10)
            .with_dropout(0.1);
        let device = Device::flex();
        device.seed(42);
        let untrained = NeuralRecommender::new("untrained", model_cfg.init(&device).unwrap());
        let before = rank_metrics(&untrained, &split, Phase::Valid, 64).unwrap();
        let t = train_encoder(&split, &model_cfg, &chain_cfg(60, 5e-3)).unwrap();
        // Seen (seed 42, run alone): valid HR@10 1.0, MRR 0.28, HR@1 0.0; test HR@10 1.0, MRR
        // 0.47; cloze loss 2.98 → 0.48. Chance level here is about HR@10 0.7, MRR 0.23 (13–16
        // candidates once the history is masked). So the target is always near the top but
        // rarely first: every user has one training window, always at the same
        // newest-anchored positions, and the bidirectional model memorises those rather than
        // the chain rule (still so after 200 epochs at training loss 0.14; dropout 0.3,
        // last_only 0.5 or 1.0 and mask_prob 0.4 were no better). Only the top 10 is held.
        assert!(t.valid.hr10 > 0.9 && t.valid.hr10 > before.hr10 + 0.1, "valid {:?}, untrained {before:?}", t.valid);
        assert!(t.test.hr10 > 0.85, "test {:?}", t.test);
        assert!(t.epochs.first().unwrap().loss > 3.0 * t.epochs.last().unwrap().loss);
    }

    #[test]
    fn bad_settings_are_errors() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        let device = Device::flex().autodiff();
        let m = SasRecConfig::new(split.dataset.num_items()).with_max_len(5).init(&device).unwrap();
        let cfg = TrainConfig { verbose: false, ..TrainConfig::default() };
        let e = fit(m.clone(), &device, &split, &cfg).unwrap_err();
        assert!(e.to_string().contains("max_len"), "{e}");
        let e = fit(m.clone(), &Device::flex(), &split, &TrainConfig { max_len: 5, ..cfg.clone() }).unwrap_err();
        assert!(e.to_string().contains("autodiff"), "{e}");
        let other = SasRecConfig::new(3).init(&device).unwrap();
        assert!(fit(other, &device, &split, &TrainConfig { max_len: 5, ..cfg.clone() }).is_err());
        assert!(TrainConfig { batch_size: 0, ..cfg.clone() }.validate().is_err());
        assert!(TrainConfig { lr: f64::NAN, ..cfg.clone() }.validate().is_err());
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), cfg);
        let partial: TrainConfig = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
        assert_eq!(partial.epochs, 3);
        assert_eq!(partial.batch_size, TrainConfig::default().batch_size);
    }
}
