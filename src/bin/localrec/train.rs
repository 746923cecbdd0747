//! `localrec train`: train a neural encoder, show its progress, and write it as a model bundle.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use indicatif::{ProgressBar, ProgressStyle};

use localrec::bundle::{EncoderSpec, TrainingInfo};
use localrec::data::Split;
use localrec::model::ENCODERS;
use localrec::model::categories::CategoryLists;
use localrec::model::neural::EncoderConfig;
use localrec::model::registry::{self, EncoderOption, ForKind};
use localrec::train::{DataRecipe, Progress, TrainConfig, bundle_metrics, progress_line, train, trained_bundle};
use localrec::{Error, Result};

use crate::args::TrainArgs;
use crate::data::load_split;
use crate::output::{backend_label, command_line};
use crate::ui::Ui;

/// `localrec train`: checks the flags, loads the data and trains the chosen encoder.
pub fn run_train(a: &TrainArgs, data_dir: &Path, ui: &Ui) -> Result<()> {
    let mut cfg = a.train_config();
    cfg.validate()?;
    check_encoder_flags(a)?;
    let device = localrec::backend::device(&a.device)?;
    let split = load_split(&a.data, data_dir, ui)?;
    let recipe = DataRecipe::for_split(&split, a.max_len);
    if a.samples.is_none() {
        cfg.samples = recipe.samples;
    }
    ui.say(&format!(
        "{}: training histories of {:.1} items on average, {} max-len {}: {} data, samples {}{}",
        split.dataset.name,
        recipe.mean_len,
        if recipe.dense { "≥" } else { "<" },
        a.max_len,
        if recipe.dense { "dense" } else { "sparse" },
        cfg.samples,
        if a.samples.is_some() { " (as given)" } else { " (chosen by the data)" },
    ));
    configure_and_train(a, &split, &cfg, &recipe, data_dir, ui, &device)
}

/// Refuses the encoder settings that `--model` does not read (the registry says which read
/// what), naming the encoders that do.
fn check_encoder_flags(a: &TrainArgs) -> Result<()> {
    let reads = registry::options_of(&a.model).ok_or_else(|| unknown_encoder(&a.model))?;
    let given = a.encoder_options();
    for option in EncoderOption::ALL {
        if given.has(option) && !reads.contains(&option) {
            let kinds = registry::kinds_reading(option);
            return Err(Error::invalid(option.flag(), format!("applies to {}, not to {}", listed(&kinds), a.model)));
        }
    }
    Ok(())
}

/// `a`, `a and b`, `a, b and c`.
fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Builds the config of the encoder named by `--model` (for the items of `split`) from the flags,
/// each encoder's own defaults standing for the flags not given, and trains and saves it.
fn configure_and_train(
    a: &TrainArgs,
    split: &Split,
    cfg: &TrainConfig,
    recipe: &DataRecipe,
    data_dir: &Path,
    ui: &Ui,
    device: &Device,
) -> Result<()> {
    struct TrainKind<'a> {
        a: &'a TrainArgs,
        split: &'a Split,
        cfg: &'a TrainConfig,
        recipe: &'a DataRecipe,
        data_dir: &'a Path,
        ui: &'a Ui,
        device: &'a Device,
    }
    impl ForKind for TrainKind<'_> {
        type Out = Result<()>;
        fn run<C: EncoderConfig>(self) -> Result<()> {
            let ds = &self.split.dataset;
            let mut options = self.a.encoder_options();
            if options.dropout.is_none() && self.recipe.dense {
                options.dropout = C::DENSE_DROPOUT;
            }
            let mut model_cfg = C::from_options(ds.num_items(), &options);
            if options.categories {
                if !ds.meta.has_categories() {
                    return Err(Error::invalid(
                        "--categories",
                        format!("`{}` has no item categories to fuse", ds.name),
                    ));
                }
                model_cfg
                    .set_categories(ds.meta.category_names.len(), CategoryLists::of_items(&ds.meta, ds.num_items()));
            }
            if options.kinds {
                let kinds = ds.stats().kinds;
                if kinds.len() < 2 {
                    let only = kinds.keys().next().map_or("no", String::as_str);
                    self.ui.say(&format!(
                        "note: `{}` has only {only} events: --kinds learns one vector added to every item",
                        ds.name
                    ));
                }
            }
            train_and_save(self.a, self.split, self.cfg, model_cfg, self.data_dir, self.ui, self.device)
        }
    }
    let task = TrainKind { a, split, cfg, recipe, data_dir, ui, device };
    registry::for_kind(&a.model, task).unwrap_or_else(|| Err(unknown_encoder(&a.model)))
}

/// The error for a `--model` that names no registered encoder.
fn unknown_encoder(name: &str) -> Error {
    Error::invalid("--model", format!("unknown encoder `{name}` (available: {})", ENCODERS.join(", ")))
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
    model_cfg.validate()?;
    let out = a.out.clone().unwrap_or_else(|| {
        let stem = Path::new(&a.data.data).file_stem().and_then(|s| s.to_str()).unwrap_or("data").to_string();
        data_dir.join("models").join(format!("{stem}-{}.lrec", a.model))
    });
    let t = Instant::now();
    let mut progress = TrainProgress::new(ui);
    let trained = train(device, split, &model_cfg, cfg, &mut |p| progress.report(p));
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
