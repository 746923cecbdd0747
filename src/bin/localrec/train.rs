//! `localrec train`: train a neural encoder, show its progress, and write it as a model bundle.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};

use localrec::bundle::{EncoderSpec, TrainingInfo};
use localrec::data::Split;
use localrec::model::attnpool::AttnPoolConfig;
use localrec::model::bert4rec::Bert4RecConfig;
use localrec::model::gru4rec::Gru4RecConfig;
use localrec::model::lstm::LstmConfig;
use localrec::model::neural::EncoderConfig;
use localrec::model::sasrec::SasRecConfig;
use localrec::train::{Progress, TrainConfig, bundle_metrics, progress_line, train_encoder_with, trained_bundle};
use localrec::{Error, Result, model};

use crate::args::TrainArgs;
use crate::data::load_split;
use crate::output::{backend_label, command_line};
use crate::ui::Ui;

/// `localrec train`: checks the flags, loads the data and trains the chosen encoder.
pub fn run_train(a: &TrainArgs, data_dir: &Path, ui: &Ui) -> Result<()> {
    let cfg = a.train_config();
    cfg.validate()?;
    check_encoder_flags(a)?;
    let device = localrec::backend::device(&a.device)?;
    let split = load_split(&a.data, data_dir, ui)?;
    configure_and_train(a, &split, &cfg, data_dir, ui, &device)
}

// Per-encoder configuration: the one place that names each encoder, the flags it reads and its
// config built from them. (An encoder registry is to replace these two functions.)

/// Refuses the flags that only some encoders read when `--model` is another.
fn check_encoder_flags(a: &TrainArgs) -> Result<()> {
    let only = |flag: &str, given: bool, kinds: &[&str]| -> Result<()> {
        if given && !kinds.contains(&a.model.as_str()) {
            return Err(Error::invalid(flag, format!("applies to {}, not to {}", kinds.join(" and "), a.model)));
        }
        Ok(())
    };
    only("--heads", a.heads.is_some(), &["sasrec", "bert4rec"])?;
    only("--layers", a.layers.is_some(), &["gru4rec", "lstm"])?;
    only("--mask-prob", a.mask_prob.is_some(), &["bert4rec"])?;
    Ok(())
}

/// Builds the config of the encoder named by `--model` (for the items of `split`) from the flags,
/// each encoder's own defaults standing for the flags not given, and trains and saves it.
fn configure_and_train(
    a: &TrainArgs,
    split: &Split,
    cfg: &TrainConfig,
    data_dir: &Path,
    ui: &Ui,
    device: &Device,
) -> Result<()> {
    let n = split.dataset.num_items();
    match a.model.as_str() {
        "sasrec" => train_and_save(
            a,
            split,
            cfg,
            SasRecConfig::new(n)
                .with_d_model(a.dim)
                .with_n_blocks(a.blocks)
                .with_n_heads(a.heads.unwrap_or(1))
                .with_dropout(a.dropout.unwrap_or(0.5))
                .with_max_len(a.max_len),
            data_dir,
            ui,
            device,
        ),
        "gru4rec" => {
            let mut c = Gru4RecConfig::new(n).with_d_model(a.dim).with_max_len(a.max_len);
            c.n_layers = a.layers.unwrap_or(c.n_layers);
            c.dropout = a.dropout.unwrap_or(c.dropout);
            train_and_save(a, split, cfg, c, data_dir, ui, device)
        }
        "lstm" => {
            let mut c = LstmConfig::new(n).with_d_model(a.dim).with_max_len(a.max_len);
            c.n_layers = a.layers.unwrap_or(c.n_layers);
            c.dropout = a.dropout.unwrap_or(c.dropout);
            train_and_save(a, split, cfg, c, data_dir, ui, device)
        }
        "attnpool" => {
            let mut c = AttnPoolConfig::new(n).with_d_model(a.dim).with_max_len(a.max_len);
            c.dropout = a.dropout.unwrap_or(c.dropout);
            train_and_save(a, split, cfg, c, data_dir, ui, device)
        }
        "bert4rec" => {
            let mut c = Bert4RecConfig::new(n).with_d_model(a.dim).with_n_blocks(a.blocks).with_max_len(a.max_len);
            c.n_heads = a.heads.unwrap_or(c.n_heads);
            c.dropout = a.dropout.unwrap_or(c.dropout);
            c.mask_prob = a.mask_prob.unwrap_or(c.mask_prob);
            train_and_save(a, split, cfg, c, data_dir, ui, device)
        }
        m => {
            Err(Error::invalid("--model", format!("unknown encoder `{m}` (available: {})", model::ENCODERS.join(", "))))
        }
    }
}

/// Trains the encoder of `model_cfg` on `split` and writes its bundle.
fn train_and_save<C: EncoderConfig>(
    a: &TrainArgs,
    split: &Split,
    cfg: &TrainConfig,
    model_cfg: C,
    data_dir: &Path,
    ui: &Ui,
    device: &Device,
) -> Result<()> {
    model_cfg.check()?;
    let out = a.out.clone().unwrap_or_else(|| {
        let stem = Path::new(&a.data.data).file_stem().and_then(|s| s.to_str()).unwrap_or("data").to_string();
        data_dir.join("models").join(format!("{stem}-{}.lrec", a.model))
    });
    let t = Instant::now();
    let mut progress = TrainProgress::new(ui);
    let trained = train_encoder_with(device, split, &model_cfg, cfg, &mut |p| progress.report(p));
    progress.finish();
    let trained = trained?;
    let secs = t.elapsed().as_secs_f64();
    let mut metrics = bundle_metrics(&trained.valid, Some(&trained.test), trained.best_epoch);
    metrics.insert("train_seconds".into(), secs);
    if let Some(r) = &trained.refit_test {
        metrics.insert("refit/test/ndcg@10".into(), r.ndcg10);
        metrics.insert("refit/test/hr@10".into(), r.hr10);
    }
    let mut bundle = trained_bundle(&trained.model, EncoderSpec::of(&a.model, &model_cfg)?, split, metrics, false)?;
    let train_s: f64 = trained.epochs.iter().map(|e| e.seconds).sum();
    bundle.manifest.training = Some(TrainingInfo {
        command: command_line(),
        backend: backend_label(&a.device),
        best_epoch: trained.best_epoch,
        // Epochs of the selection run (a refit adds `best_epoch` more).
        epochs: trained.epochs.len() - if trained.refit_test.is_some() { trained.best_epoch } else { 0 },
        seconds_per_epoch: train_s / trained.epochs.len().max(1) as f64,
        seconds: secs,
        refit: trained.refit_test.is_some(),
    });
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    bundle.save_file(&out)?;
    println!(
        "{}: best epoch {} of {}, valid NDCG@10 {:.4} HR@10 {:.4}, test NDCG@10 {:.4} HR@10 {:.4} ({} cases), {:.0} s",
        a.model,
        trained.best_epoch,
        trained.epochs.len(),
        trained.valid.ndcg10,
        trained.valid.hr10,
        trained.test.ndcg10,
        trained.test.hr10,
        trained.test.cases,
        secs
    );
    if let Some(r) = &trained.refit_test {
        println!(
            "{}: refit for {} epochs on the test phase's training data: test NDCG@10 {:.4} HR@10 {:.4} (the bundle's model)",
            a.model, trained.best_epoch, r.ndcg10, r.hr10
        );
    }
    println!("bundle written to {}", out.display());
    Ok(())
}

/// Training progress on stderr: on a terminal, a bar per epoch (batches, running loss, elapsed
/// time, ETA) with the epoch lines printed above it; otherwise (logs going to a file) only the
/// epoch lines. Nothing with --quiet.
struct TrainProgress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl TrainProgress {
    fn new(ui: &Ui) -> Self {
        let bar = (!ui.quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = ProgressBar::new(0);
            pb.set_style(
                ProgressStyle::with_template(
                    "{msg:<28} [{bar:30}] {pos}/{len} batches, {elapsed_precise} elapsed, eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            pb
        });
        TrainProgress { bar, quiet: ui.quiet }
    }

    fn report(&mut self, p: Progress) {
        match (p, &self.bar) {
            (Progress::EpochStart { epoch, batches }, Some(pb)) => {
                pb.reset();
                pb.set_length(batches as u64);
                pb.set_message(format!("epoch {epoch}"));
            }
            (Progress::Batch { epoch, batch, loss, .. }, Some(pb)) => {
                pb.set_position(batch as u64);
                pb.set_message(format!("epoch {epoch}: loss {loss:.4}"));
            }
            (Progress::Evaluating { epoch }, Some(pb)) => pb.set_message(format!("epoch {epoch}: validating")),
            (Progress::EpochEnd(log), Some(pb)) => pb.println(progress_line(&log)),
            (Progress::EpochEnd(log), None) if !self.quiet => eprintln!("{}", progress_line(&log)),
            (Progress::Checkpoint { epoch, path }, Some(pb)) => {
                pb.println(format!("checkpoint: epoch {epoch} written to {}", path.display()))
            }
            (Progress::Checkpoint { epoch, path }, None) if !self.quiet => {
                eprintln!("checkpoint: epoch {epoch} written to {}", path.display())
            }
            _ => {}
        }
    }

    fn finish(&self) {
        if let Some(pb) = &self.bar {
            pb.finish_and_clear();
        }
    }
}
