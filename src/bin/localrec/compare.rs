//! `localrec eval` and `localrec compare`: full-ranking evaluation of one or several models on the
//! same cases, the reports and plots they write, and `localrec results` (the leaderboard of an
//! accuracy file that `compare --results` writes).

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;

use localrec::bundle::Bundle;
use localrec::data::Phase;
use localrec::eval::report::{CompareReport, EvalReport, compare};
use localrec::eval::results::{self, AccuracyEntry};
use localrec::eval::{PerCase, plot};
use localrec::{Error, Result, model};

use crate::args::EvalOpts;
use crate::data::load_split;
use crate::output::{backend_label, command_line};
use crate::ui::Ui;

/// `localrec results`: prints the leaderboard (Markdown) of an accuracy file.
pub fn run_results(file: &Path) -> Result<()> {
    let entries = results::read(file)?;
    if entries.is_empty() {
        return Err(Error::Empty(format!("{}: no accuracy entries", file.display())));
    }
    print!("{}", results::leaderboard_markdown(&entries));
    Ok(())
}

pub fn run_compare(models: &[String], o: &EvalOpts, data_dir: &Path, ui: &Ui, is_compare: bool) -> Result<()> {
    // Check every model (and read every bundle) before any expensive work.
    let mut bundles = Vec::new();
    for m in models {
        if is_bundle_path(m) {
            bundles.push(Some(Bundle::load_file(m)?));
        } else if model::BASELINES.contains(&m.as_str()) {
            bundles.push(None);
        } else {
            return Err(Error::invalid(
                "--model",
                format!(
                    "unknown model `{m}` (available: {}, or a model bundle file from `localrec train`)",
                    model::BASELINES.join(", ")
                ),
            ));
        }
    }
    let cfg = o.eval_config();
    cfg.validate()?;
    let device =
        if bundles.iter().any(Option::is_some) { localrec::backend::device(&o.device)? } else { Device::flex() };
    let phase = Phase::from(o.phase);
    let split = load_split(&o.data, data_dir, ui)?;
    let mut runs: Vec<(EvalReport, Vec<PerCase>)> = Vec::new();
    for (name, bundle) in models.iter().zip(&bundles) {
        let t = Instant::now();
        let m = match bundle {
            Some(b) => {
                let fp = split.dataset.fingerprint();
                if b.manifest.data.fingerprint != fp {
                    return Err(Error::Bundle {
                        problem: format!(
                            "{name} was trained on `{}` (fingerprint {}), not on these data (`{}`, fingerprint {fp})",
                            b.manifest.data.name, b.manifest.data.fingerprint, split.dataset.name
                        ),
                    });
                }
                model::from_bundle_on(b, &device)?
            }
            None => model::baseline(name, &split.train(phase))?,
        };
        let fit_s = t.elapsed().as_secs_f64();
        let total = split.cases(phase).len();
        let pb = ui.bar(total as u64, name);
        let run = localrec::eval::run(m.as_ref(), &split, phase, &cfg, &|done, _| pb.set_position(done as u64))?;
        pb.finish_and_clear();
        let t = Instant::now();
        let (mut report, cases) = EvalReport::build_with_cases(&run, &split, phase, &cfg, fit_s);
        if let Some(b) = bundle {
            // Bundles of the same encoder kind are told apart by their file names.
            let kind = &b.manifest.encoder.kind;
            let same_kind = bundles.iter().flatten().filter(|o| &o.manifest.encoder.kind == kind).count();
            if same_kind > 1 {
                let stem = Path::new(name).file_stem().map_or(name.clone(), |s| s.to_string_lossy().into_owned());
                report.model = format!("{kind} ({stem})");
            }
        }
        ui.say(&format!(
            "{name}: {} cases scored in {:.1}s, metrics and CIs in {:.1}s",
            report.cases,
            run.seconds,
            t.elapsed().as_secs_f64()
        ));
        runs.push((report, cases));
    }
    if let Some(path) = &o.results {
        let here = command_line();
        let entries: Vec<AccuracyEntry> = runs
            .iter()
            .zip(&bundles)
            .map(|((r, _), b)| {
                let training = b.as_ref().and_then(|b| b.manifest.training.clone());
                AccuracyEntry {
                    model: b.as_ref().map_or(r.model.clone(), |b| {
                        let refit = training.as_ref().is_some_and(|t| t.refit);
                        format!("{}{}", b.manifest.encoder.kind, if refit { " (refit)" } else { "" })
                    }),
                    data: split.dataset.name.clone(),
                    backend: backend_label(&o.device),
                    command: training.as_ref().map_or(here.clone(), |t| t.command.clone()),
                    eval_command: training.is_some().then(|| here.clone()),
                    cases: r.cases,
                    metrics: r.metrics.clone(),
                    training,
                    seeds: Vec::new(),
                    sd: Default::default(),
                }
            })
            .collect();
        let entries = if o.seeds {
            // The bundles are seeds of one recipe: one row, their mean (baselines as they are).
            let (mut rows, mut trained) = (Vec::new(), Vec::new());
            for (e, b) in entries.into_iter().zip(&bundles) {
                if b.is_some() { trained.push(e) } else { rows.push(e) }
            }
            let mean = results::mean_of_seeds(&trained)?;
            ui.say(&format!(
                "{} on {}: NDCG@10 {:.4} ± {:.4} (mean ± sd of {} seeds)",
                mean.model,
                mean.data,
                mean.metrics.get("ndcg@10").copied().unwrap_or(f64::NAN),
                mean.sd.get("ndcg@10").copied().unwrap_or(f64::NAN),
                mean.seeds.len()
            ));
            rows.push(mean);
            rows
        } else {
            entries
        };
        results::upsert(path, &entries)?;
        ui.say(&format!("accuracy recorded in {}", path.display()));
    }
    let cmp = compare(runs, cfg.bootstrap, cfg.seed)?;
    if let Some(dir) = &o.out {
        write_outputs(dir, &cmp, is_compare)?;
        ui.say(&format!("report written to {}", dir.display()));
    }
    if o.json {
        if is_compare {
            println!("{}", cmp.to_json());
        } else if let Some(r) = cmp.models.first() {
            println!("{}", r.to_json());
        }
    } else {
        print!("{}", cmp.to_terminal());
    }
    Ok(())
}

fn write_outputs(dir: &Path, cmp: &CompareReport, is_compare: bool) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
    };
    if is_compare {
        write("compare.json", &cmp.to_json())?;
        write("compare.md", &cmp.to_markdown())?;
    }
    for r in &cmp.models {
        write(&format!("{}.json", r.model), &r.to_json())?;
        write(&format!("{}.md", r.model), &r.to_markdown())?;
    }
    let reports: Vec<&EvalReport> = cmp.models.iter().collect();
    write("ndcg_at_k.svg", &plot::metric_at_k(&reports, "ndcg")?)?;
    write("hr_at_k.svg", &plot::metric_at_k(&reports, "hr")?)?;
    write("ndcg10_by_length.svg", &plot::by_length(&reports, "ndcg@10")?)?;
    if reports.iter().any(|r| r.dynamic.drift.is_some()) {
        write("ndcg10_by_drift.svg", &plot::drift_vs_accuracy(&reports, "ndcg@10")?)?;
    }
    Ok(())
}

fn is_bundle_path(m: &str) -> bool {
    m.ends_with(".lrec") || Path::new(m).is_file()
}
