//! The training loop: [`train`] builds an encoder from its config and [`fit`]s it; a run is
//! epochs of [`Run::run_epoch`], each followed (every `eval_every` epochs) by a validation
//! ranking, the [`Selection`] of the best epoch with early stopping, and a checkpoint of the
//! best model so far.

use std::path::Path;
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::batch::{Batch, Batching, Masking, Window, batches, training_windows};
use super::export::{bundle_metrics, trained_bundle};
use super::head::LossState;
use super::progress::{EpochLog, Progress, progress_line};
use super::validation::{RankMetrics, rank_metrics};
use super::{TrainConfig, Trained};
use crate::bundle::EncoderSpec;
use crate::data::{Phase, Split};
use crate::error::{Error, Result};
use crate::model::neural::{EncoderConfig, NeuralScorer, Objective, SeqEncoder};

/// Initialises the encoder of `model_cfg` (any [`EncoderConfig`]: SASRec, GRU4Rec, …) on
/// `device` with autodiff (seeded with `cfg.seed`) and trains it with [`fit`], reporting to
/// `on_progress`; checkpoints (if configured) are bundles of the encoder's kind.
pub fn train<C: EncoderConfig>(
    device: &Device,
    split: &Split,
    model_cfg: &C,
    cfg: &TrainConfig,
    on_progress: &mut dyn FnMut(Progress),
) -> Result<Trained<C::Model>> {
    let device = device.clone().autodiff();
    device.seed(cfg.seed);
    let model = model_cfg.init(&device)?;
    let spec = EncoderSpec::of(C::KIND, model_cfg)?;
    fit(model, &device, split, cfg, Some(&spec), on_progress)
}

/// Trains `model` (built on the autodiff `device`) on `split`, selecting the epoch by
/// validation NDCG@10, and tests the selected model (see the [module docs](super)); with
/// [`TrainConfig::refit`], then retrains from the same start on the test phase's data.
/// Reports to `on_progress` as it goes ([`Progress`]) and writes checkpoints when
/// [`TrainConfig::checkpoint`] is set, as bundles of `encoder` (required then).
pub fn fit<M: SeqEncoder + Sync>(
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
    let phase = if refit_epochs.is_some() { Phase::Test } else { Phase::Valid };
    let windows = training_data(&model, device, split, cfg, phase)?;
    let checkpoint = match cfg.checkpoint.as_ref().filter(|_| refit_epochs.is_none()) {
        Some(path) => Some(Checkpoint::prepare(path, encoder)?),
        None => None,
    };
    let mut run = Run::new(&model, device, split, cfg, windows)?;
    let max_len = model.max_len();
    let started = Instant::now();
    let mut logs = Vec::new();
    let mut selection = Selection { best: None, since_best: 0, patience: cfg.patience.max(1) };

    for epoch in 1..=refit_epochs.unwrap_or(cfg.epochs) {
        let (trained, mut log) = run.run_epoch(model, epoch, on_progress)?;
        model = trained;
        let out_of_time =
            refit_epochs.is_none() && cfg.max_seconds.is_some_and(|s| started.elapsed().as_secs_f64() >= s);
        let evaluate = refit_epochs.is_none() && (epoch % cfg.eval_every == 0 || epoch == cfg.epochs || out_of_time);
        let mut stop = out_of_time;
        if evaluate {
            on_progress(Progress::Evaluating { epoch });
            let t = Instant::now();
            let rec = NeuralScorer::on(device, "valid", model.valid());
            let m = rank_metrics(&rec, split, Phase::Valid, max_len)?;
            log.eval_s = t.elapsed().as_secs_f64();
            log.valid = Some(m);
            match selection.offer(rec.into_model(), epoch, m) {
                Some(best) => {
                    if let Some(c) = &checkpoint {
                        c.write(best, split, epoch, &m)?;
                        on_progress(Progress::Checkpoint { epoch, path: c.path.to_path_buf() });
                    }
                }
                None => stop |= selection.exhausted(),
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
        selection.best = Some((model.valid(), n, nan));
    }
    let (best_model, best_epoch, valid) =
        selection.best.ok_or_else(|| Error::Training("training ended before any validation".into()))?;
    let rec = NeuralScorer::on(device, "test", best_model);
    let test = rank_metrics(&rec, split, Phase::Test, max_len)?;
    if cfg.verbose && refit_epochs.is_none() {
        eprintln!(
            "best epoch {best_epoch}: valid NDCG@10 {:.4} HR@10 {:.4} | test NDCG@10 {:.4} HR@10 {:.4} ({} cases)",
            valid.ndcg10, valid.hr10, test.ndcg10, test.hr10, test.cases
        );
    }
    Ok(Trained { model: rec.into_model(), best_epoch, valid, test, epochs: logs, refit_test: None })
}

/// Checks the settings against `model` and the data, and cuts the training windows of
/// `phase`'s training data.
fn training_data<M: SeqEncoder>(
    model: &M,
    device: &Device,
    split: &Split,
    cfg: &TrainConfig,
    phase: Phase,
) -> Result<Vec<Window>> {
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
    let windows = training_windows(&split.train(phase), cfg.max_len, cfg.samples);
    if windows.is_empty() {
        return Err(Error::Empty(format!(
            "`{}` has no training sequence with two or more items before its validation cut",
            ds.name
        )));
    }
    Ok(windows)
}

/// What a training run keeps from epoch to epoch: its data, objective, loss, optimiser and
/// random streams.
struct Run<'a> {
    device: &'a Device,
    split: &'a Split,
    cfg: &'a TrainConfig,
    windows: Vec<Window>,
    losses: LossState,
    optim: ModuleOptimizer,
    /// Shuffling.
    rng: ChaCha8Rng,
    /// The cloze masks, from their own stream so the causal encoders' batches stay as they were.
    mask_rng: ChaCha8Rng,
    objective: Objective,
    with_kinds: bool,
    /// With [`Batching::LengthWeighted`] causal batches: the mean number of target positions
    /// per batch over an epoch (the same every epoch); a batch's mean loss is scaled by its
    /// positions over this, so every position weighs the same.
    mean_targets: Option<f64>,
    /// Optimiser steps taken (for the warm-up).
    step: usize,
}

impl<'a> Run<'a> {
    /// The optimiser, random streams and loss of a run of `model` over `windows`; checks the
    /// cloze settings.
    fn new<M: SeqEncoder>(
        model: &M,
        device: &'a Device,
        split: &'a Split,
        cfg: &'a TrainConfig,
        windows: Vec<Window>,
    ) -> Result<Self> {
        let optim = {
            let mut c = AdamWConfig::new().with_weight_decay(cfg.weight_decay).with_epsilon(1e-8);
            if let Some(clip) = cfg.grad_clip_norm {
                c = c.with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(clip)));
            }
            c.init()
        };
        let objective = model.objective();
        if let Objective::Cloze { mask_prob, last_only } = objective {
            if !(mask_prob > 0.0 && mask_prob <= 1.0) {
                return Err(Error::invalid("mask_prob", format!("{mask_prob} is not in (0, 1]")));
            }
            if !(0.0..=1.0).contains(&last_only) {
                return Err(Error::invalid("last_only", format!("{last_only} is not in [0, 1]")));
            }
        }
        let losses = LossState::new(cfg.loss, device, &split.dataset, &windows, model.num_items(), cfg.seed)?;
        let mean_targets = match (cfg.batching, objective) {
            (Batching::LengthWeighted, Objective::Causal) => {
                let total: usize = windows.iter().map(|w| w.targets(&split.dataset).len()).sum();
                let batches = windows.len().div_ceil(cfg.batch_size.max(1)).max(1);
                Some(total as f64 / batches as f64)
            }
            _ => None,
        };
        Ok(Run {
            device,
            split,
            cfg,
            windows,
            losses,
            optim,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            mask_rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x636c_6f7a_6500),
            objective,
            with_kinds: model.uses_kinds(),
            mean_targets,
            step: 0,
        })
    }

    /// One pass over the shuffled training batches: forward, loss, backward and optimiser
    /// step per batch. Returns the updated model and the epoch's log (not yet validated).
    fn run_epoch<M: SeqEncoder>(
        &mut self,
        mut model: M,
        epoch: usize,
        on_progress: &mut dyn FnMut(Progress),
    ) -> Result<(M, EpochLog)> {
        let run = self;
        let (cfg, ds, device) = (run.cfg, &run.split.dataset, run.device);
        let n_items = ds.num_items();
        let t0 = Instant::now();
        let cpu0 = process_cpu_seconds();
        let (mut fwd, mut bwd, mut stp) = (0.0, 0.0, 0.0);
        let (mut loss_sum, mut batches_n, mut positions) = (0.0f64, 0usize, 0usize);
        let epoch_batches = batches(&run.windows, cfg.batch_size, cfg.batching.by_length(), &mut run.rng);
        let n_batches = epoch_batches.len();
        let windows = &run.windows;
        on_progress(Progress::EpochStart { epoch, batches: n_batches });
        for (i, idx) in epoch_batches.into_iter().enumerate() {
            let b = match run.objective {
                Objective::Causal => Batch::new(ds, windows, &idx, n_items, run.with_kinds),
                Objective::Cloze { mask_prob, last_only } => {
                    let masking = Masking { max_len: cfg.max_len, mask_prob, last_only };
                    Batch::cloze(ds, windows, &idx, n_items, run.with_kinds, &masking, &mut run.mask_rng)
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
                run.losses.objective(&model, &b, device, &|p| b.window_items(ds, windows, &idx, p))?;
            let objective = match run.mean_targets {
                Some(m) if m > 0.0 => objective.mul_scalar(b.targets.len() as f64 / m),
                _ => objective,
            };
            fwd += t.elapsed().as_secs_f64();
            if !value.is_finite() {
                return Err(Error::Training(format!(
                    "the training loss became {value} at epoch {epoch}, step {}",
                    run.step
                )));
            }
            let t = Instant::now();
            let grads = GradientsParams::from_grads(objective.backward(), &model);
            bwd += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let warm =
                if cfg.warmup_steps == 0 { 1.0 } else { ((run.step + 1) as f64 / cfg.warmup_steps as f64).min(1.0) };
            model = run.optim.step(cfg.lr * warm, model, grads);
            stp += t.elapsed().as_secs_f64();
            run.step += 1;
            loss_sum += value;
            batches_n += 1;
            positions += b.targets.len();
            on_progress(Progress::Batch { epoch, batch: i + 1, batches: n_batches, loss: mean(loss_sum, batches_n) });
        }
        let log = EpochLog {
            epoch,
            loss: mean(loss_sum, batches_n),
            seconds: t0.elapsed().as_secs_f64(),
            forward_s: fwd,
            backward_s: bwd,
            step_s: stp,
            sequences: windows.len(),
            positions,
            valid: None,
            eval_s: 0.0,
            cpu_s: process_cpu_seconds().zip(cpu0).map(|(b, a)| b - a),
        };
        Ok((model, log))
    }
}

/// The best model so far by validation NDCG@10, and the count of evaluations since it, for
/// early stopping.
struct Selection<M> {
    best: Option<(M, usize, RankMetrics)>,
    since_best: usize,
    patience: usize,
}

impl<M> Selection<M> {
    /// Keeps `model` (of `epoch`, validated at `m`) when it beats the best so far (the first
    /// one always does) and returns it; otherwise counts one more evaluation without
    /// improvement and returns `None`.
    fn offer(&mut self, model: M, epoch: usize, m: RankMetrics) -> Option<&M> {
        if self.best.as_ref().is_none_or(|(_, _, b)| m.ndcg10 > b.ndcg10) {
            self.since_best = 0;
            self.best = Some((model, epoch, m));
            self.best.as_ref().map(|(model, _, _)| model)
        } else {
            self.since_best += 1;
            None
        }
    }

    /// Whether `patience` evaluations in a row brought no improvement.
    fn exhausted(&self) -> bool {
        self.since_best >= self.patience
    }
}

/// Where the best model so far is kept, as a bundle of its encoder.
struct Checkpoint<'a> {
    path: &'a Path,
    spec: &'a EncoderSpec,
}

impl<'a> Checkpoint<'a> {
    /// Checks that there is an encoder spec to write bundles of, and creates the file's folder
    /// (before any training, so a bad place fails at once).
    fn prepare(path: &'a Path, encoder: Option<&'a EncoderSpec>) -> Result<Self> {
        let spec = encoder.ok_or_else(|| {
            Error::invalid("train.checkpoint", "a checkpoint bundle needs the encoder's spec (see `fit`)")
        })?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(Checkpoint { path, spec })
    }

    /// Writes `model` of `epoch` (validated at `m`) over the checkpoint (atomically).
    fn write<M: SeqEncoder>(&self, model: &M, split: &Split, epoch: usize, m: &RankMetrics) -> Result<()> {
        let metrics = bundle_metrics(m, None, epoch);
        trained_bundle(model, self.spec.clone(), split, metrics, false)?.save_file(self.path)
    }
}

fn mean(sum: f64, n: usize) -> f64 {
    if n == 0 { f64::NAN } else { sum / n as f64 }
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

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::bundle::Bundle;
    use crate::model::Scorer;
    use crate::model::sasrec::SasRecConfig;
    use crate::train::loss::Loss;
    use crate::train::tests::{chain_split, chain_training, fit_quietly, train_quietly};

    #[test]
    fn sampled_softmax_and_bce_learn_the_chain() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        for loss in [Loss::SampledSoftmax { negatives: 5 }, Loss::Bce] {
            let (model_cfg, cfg) = chain_training(loss);
            // Half the epochs of the full softmax's test: both reach HR@1 = 1 by epoch 30.
            let t = train_quietly(&split, &model_cfg, &TrainConfig { epochs: 30, ..cfg }).unwrap();
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
                let t = fit_quietly(model.clone(), &device, &split, &TrainConfig { seed, ..cfg.clone() }).unwrap();
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
        let t = train(&Device::flex(), &split, &model_cfg, &cfg, &mut |p| events.push(p)).unwrap();

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
        let trained = NeuralScorer::new("sasrec", t.model);
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
        let e = fit_quietly(m.clone(), &device, &split, &cfg).unwrap_err();
        assert!(e.to_string().contains("checkpoint"), "{e}");
        let blocked = TrainConfig { checkpoint: Some(path.join("below-a-file.lrec")), ..cfg.clone() };
        let spec = EncoderSpec::of("sasrec", &model_cfg).unwrap();
        let mut calls = 0;
        let e = fit(m, &device, &split, &blocked, Some(&spec), &mut |_| calls += 1).unwrap_err();
        assert!(e.to_string().contains("best.lrec"), "{e}");
        assert_eq!(calls, 0, "refused before training");
    }

    #[test]
    fn sasrec_learns_a_deterministic_chain() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        let (model_cfg, cfg) = chain_training(Loss::FullSoftmax);
        let t = train_quietly(&split, &model_cfg, &cfg).unwrap();
        // Validation cases are learnt exactly. Test cases read one more item of history; how
        // well the model carries the chain over to them still depends on the initial weights
        // (seen between 0.61 and 1.0 HR@1 for different RNG states; an untrained model gets
        // about 0.05) — the same valid-versus-test gap SASRec shows on Amazon Beauty, left
        // for the tuning work. So the test phase is held to clear learning, not to perfection.
        assert!(t.valid.hr1 > 0.95, "valid {:?}", t.valid);
        assert!(t.test.hr10 > 0.95 && t.test.hr1 > 0.5, "test {:?}, valid {:?}", t.test, t.valid);
        assert!(t.epochs.first().unwrap().loss > t.epochs.last().unwrap().loss);
        // The returned model is ready for inference.
        let rec = NeuralScorer::new("sasrec", t.model);
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
        let rec = NeuralScorer::new("m", model);
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
        let t = train_quietly(&split, &model_cfg, &chain_cfg(40, 1e-2)).unwrap();
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
        let t = train_quietly(&split, &model_cfg, &chain_cfg(40, 1e-2)).unwrap();
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
        let t = train_quietly(&split, &model_cfg, &chain_cfg(40, 1e-2)).unwrap();
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
        let untrained = NeuralScorer::new("untrained", model_cfg.init(&device).unwrap());
        let before = rank_metrics(&untrained, &split, Phase::Valid, 10).unwrap();
        let t = train_quietly(&split, &model_cfg, &chain_cfg(60, 5e-3)).unwrap();
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
        let e = fit_quietly(m.clone(), &device, &split, &cfg).unwrap_err();
        assert!(e.to_string().contains("max_len"), "{e}");
        let e =
            fit_quietly(m.clone(), &Device::flex(), &split, &TrainConfig { max_len: 5, ..cfg.clone() }).unwrap_err();
        assert!(e.to_string().contains("autodiff"), "{e}");
        let other = SasRecConfig::new(3).init(&device).unwrap();
        assert!(fit_quietly(other, &device, &split, &TrainConfig { max_len: 5, ..cfg.clone() }).is_err());
        assert!(TrainConfig { batch_size: 0, ..cfg.clone() }.validate().is_err());
        assert!(TrainConfig { lr: f64::NAN, ..cfg.clone() }.validate().is_err());
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), cfg);
        let partial: TrainConfig = serde_json::from_str(r#"{"epochs": 3}"#).unwrap();
        assert_eq!(partial.epochs, 3);
        assert_eq!(partial.batch_size, TrainConfig::default().batch_size);
    }
}
