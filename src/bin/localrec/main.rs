//! `localrec`: the command-line tool. Thin: it parses arguments and calls the library.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use burn::tensor::Device;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use localrec::bundle::{Bundle, EncoderSpec, TrainingInfo};
use localrec::data::fetch::fetch_ml100k;
use localrec::data::format::{NAMED_DATASETS, Source, default_data_dir, find_shared_dir};
use localrec::data::loaders::{LoadOptions, load};
use localrec::data::{DataSpec, Dataset, Phase, Split, SplitSpec};
use localrec::eval::report::{CompareReport, EvalReport, compare};
use localrec::eval::results::{self, AccuracyEntry};
use localrec::eval::{EvalConfig, NegativeSampling, PerCase, SampledConfig, plot};
use localrec::model::attnpool::AttnPoolConfig;
use localrec::model::bert4rec::Bert4RecConfig;
use localrec::model::gru4rec::Gru4RecConfig;
use localrec::model::lstm::LstmConfig;
use localrec::model::neural::EncoderConfig;
use localrec::model::sasrec::SasRecConfig;
use localrec::train::{Loss, Progress, TrainConfig, bundle_metrics, progress_line, train_encoder_with, trained_bundle};
use localrec::{Error, Result, model};

mod args;

use args::{Cli, Command, DataArgs, DataCommand, EvalOpts, ExportArgs, LoadArgs, PhaseArg, SamplingArg, TrainArgs};

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        eprintln!("localrec: internal error (please report it): {info}");
    }));
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("localrec: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let ui = Ui { quiet: cli.quiet };
    match cli.command {
        Command::Data(DataCommand::Fetch { name: _, wheel }) => {
            let dir = fetch_ml100k(&data_dir, wheel.as_deref())?;
            println!("ml-100k is ready in {}", dir.display());
            Ok(())
        }
        Command::Data(DataCommand::List) => {
            list_datasets(&data_dir);
            Ok(())
        }
        Command::Data(DataCommand::Export { data, load, out }) => {
            let ds = load_data(&data, &load, &data_dir, &ui)?;
            write_file(&out, ds.to_json()?.as_bytes())?;
            ui.say(&format!(
                "{} ({} users, {} items, fingerprint {}) written to {}",
                ds.name,
                ds.seqs.len(),
                ds.num_items(),
                ds.fingerprint(),
                out.display()
            ));
            Ok(())
        }
        Command::Data(DataCommand::Stats { data, load, json }) => {
            let ds = load_data(&data, &load, &data_dir, &ui)?;
            let s = ds.stats();
            if json {
                println!("{}", to_json(&s)?);
            } else {
                print_stats(&s);
            }
            Ok(())
        }
        Command::Eval(a) => run_compare(&[a.model], &a.opts, &data_dir, &ui, false),
        Command::Compare(a) => run_compare(&a.models, &a.opts, &data_dir, &ui, true),
        Command::Train(a) => run_train(&a, &data_dir, &ui),
        Command::Export(a) => run_export(&a),
        Command::Results { file } => {
            let entries = results::read(&file)?;
            if entries.is_empty() {
                return Err(Error::Data(format!("{}: no accuracy entries", file.display())));
            }
            print!("{}", results::leaderboard_markdown(&entries));
            Ok(())
        }
        Command::Start { out, port, no_serve, max_minutes } => {
            run_start(out, port, no_serve, max_minutes, &data_dir, &ui)
        }
    }
}

/// The demo's models: (encoder, minutes of training as a share of `--max-minutes`).
const DEMO_MODELS: [(&str, f64); 2] = [("sasrec", 1.0), ("gru4rec", 0.4)];

/// `localrec start`: the default models on ml-100k (trained once), their comparison with the
/// baselines, the npm package, the demo's files, and the demo server.
fn run_start(
    out: Option<PathBuf>,
    port: u16,
    no_serve: bool,
    max_minutes: f64,
    data_dir: &Path,
    ui: &Ui,
) -> Result<()> {
    if !(max_minutes > 0.0 && max_minutes.is_finite()) {
        return Err(Error::invalid(
            "--max-minutes",
            format!("must be a positive number of minutes, got {max_minutes}"),
        ));
    }
    // The demo lives in the repository (www/, src/web/npm/): find it before any long work.
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let www = repo.join("www");
    if !www.join("server.mjs").is_file() {
        return Err(Error::Data(format!(
            "the demo storefront is not at {}: run `localrec start` from a clone of the localrec repository",
            www.display()
        )));
    }
    let out = out.unwrap_or_else(|| data_dir.join("reports").join("ml-100k"));
    let data = DataArgs {
        data: "ml-100k".into(),
        load: LoadArgs { data_format: None, columns: None, k_core: None, dedupe: false },
        split: SplitSpec::LeaveOneOut,
    };
    let opts = EvalOpts {
        data: data.clone(),
        phase: PhaseArg::Test,
        no_mask: false,
        max_len: 50,
        ks: localrec::eval::DEFAULT_KS.to_vec(),
        sampled: Some(SamplingArg::Uniform),
        negatives: 100,
        bootstrap: 1000,
        seed: 42,
        json: false,
        out: Some(out),
        results: None,
        device: "cpu".into(),
    };
    // The models, trained once and kept as bundles; one this localrec cannot read (an older
    // format version) is trained anew.
    let mut bundles = Vec::new();
    for (kind, share) in DEMO_MODELS {
        let bundle = data_dir.join("models").join(format!("ml-100k-{kind}.lrec"));
        if !(bundle.is_file() && Bundle::load_file(&bundle).is_ok()) {
            ui.say(&format!("no usable {kind} model yet: training it on ml-100k into {}", bundle.display()));
            let sasrec = kind == "sasrec";
            let train = TrainArgs {
                model: kind.into(),
                data: data.clone(),
                out: Some(bundle.clone()),
                epochs: 200,
                patience: 5,
                max_minutes: Some(max_minutes * share),
                batch_size: 128,
                lr: 1e-3,
                dim: 64,
                blocks: 2,
                heads: sasrec.then_some(1),
                layers: None,
                mask_prob: None,
                dropout: sasrec.then_some(0.2),
                max_len: 50,
                seed: 42,
                loss: Loss::FullSoftmax,
                weight_decay: 0.0,
                warmup: 100,
                checkpoint: None,
                device: "cpu".into(),
                refit: false,
            };
            run_train(&train, data_dir, ui)?;
        }
        bundles.push((kind, bundle));
    }
    let mut models: Vec<String> = model::BASELINES.iter().map(|s| s.to_string()).collect();
    models.extend(bundles.iter().map(|(_, b)| b.display().to_string()));
    run_compare(&models, &opts, data_dir, ui, true)?;

    // The demo's files: the bundles, the held-out data and the native evaluation of each
    // model on it (what the browser's evaluation must reproduce).
    let gen_dir = www.join("generated");
    let split = load_split(&data, data_dir, ui)?;
    let data_file = "ml-100k.dataset.json";
    write_file(&gen_dir.join(data_file), split.dataset.to_json()?.as_bytes())?;
    let mut listed = Vec::new();
    for (kind, path) in &bundles {
        let file = format!("ml-100k-{kind}.lrec");
        let reference = format!("ml-100k-{kind}.eval.json");
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        write_file(&gen_dir.join(&file), &bytes)?;
        let b = Bundle::from_bytes(&bytes)?;
        let m = model::from_bundle(&b)?;
        let cfg = EvalConfig::default();
        let run = localrec::eval::run(m.as_ref(), &split, Phase::Test, &cfg, &|_, _| {})?;
        let report = EvalReport::build(&run, &split, Phase::Test, &cfg, 0.0);
        write_file(&gen_dir.join(&reference), report.to_json().as_bytes())?;
        ui.say(&format!(
            "{kind}: test NDCG@10 {:.4} (native, {} cases)",
            report.metrics.get("ndcg@10").copied().unwrap_or(f64::NAN),
            report.cases
        ));
        listed.push(serde_json::json!({ "name": kind, "file": file, "reference": reference }));
    }
    let demo = serde_json::json!({
        "dataset": { "name": split.dataset.name, "file": data_file },
        "models": listed,
    });
    write_file(&gen_dir.join("demo.json"), to_json(&demo)?.as_bytes())?;

    // The npm package (pkg/), and the demo's dependency on it (www/node_modules/localrec).
    ui.say("building the browser package (pkg/) ...");
    run_tool(
        std::process::Command::new("bash").arg(repo.join("src/web/npm/build.sh")).current_dir(&repo),
        "src/web/npm/build.sh",
    )?;
    run_tool(
        std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&www),
        "npm install (in www/)",
    )?;
    if no_serve {
        ui.say(&format!("demo ready in {}; serve it with `node www/server.mjs`", www.display()));
        return Ok(());
    }
    // Serves until interrupted; the server prints the URL.
    run_tool(
        std::process::Command::new("node").arg("server.mjs").arg(port.to_string()).current_dir(&www),
        "node www/server.mjs",
    )
}

/// Runs a helper program, its output shown, and fails with its name if it does.
fn run_tool(cmd: &mut std::process::Command, name: &str) -> Result<()> {
    let status = cmd.status().map_err(|e| Error::Data(format!("could not run {name}: {e}")))?;
    if status.success() { Ok(()) } else { Err(Error::Data(format!("{name} failed ({status})"))) }
}

/// Writes `bytes` to `path` atomically (a temporary file, then a rename), creating folders.
fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

struct Ui {
    quiet: bool,
}

impl Ui {
    fn bar(&self, len: u64, msg: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template("{msg:>12} [{bar:30}] {human_pos}/{human_len} cases, eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_message(msg.to_string());
        pb
    }

    fn say(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

fn parse_k_core(s: &str) -> Result<(usize, usize)> {
    let bad = || Error::invalid("--k-core", format!("`{s}` is not `U,I` or one whole number"));
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    match parts.as_slice() {
        [k] => {
            let k = k.parse().map_err(|_| bad())?;
            Ok((k, k))
        }
        [u, i] => Ok((u.parse().map_err(|_| bad())?, i.parse().map_err(|_| bad())?)),
        _ => Err(bad()),
    }
}

fn load_data(spec: &str, args: &LoadArgs, data_dir: &Path, ui: &Ui) -> Result<Dataset> {
    let spec = DataSpec::parse(spec);
    if matches!(&spec, DataSpec::Named(n) if n == "ml-100k") && !data_dir.join("ml-100k").join("ml-100k.inter").exists()
    {
        ui.say("ml-100k is not in the data folder yet: fetching it from the recbole 1.2.1 wheel on PyPI ...");
        fetch_ml100k(data_dir, None)?;
    }
    let opts = LoadOptions {
        format: args.data_format,
        columns: args.columns.clone(),
        data_dir: data_dir.to_path_buf(),
        dedupe_consecutive: args.dedupe,
        k_core: args.k_core.as_deref().map(parse_k_core).transpose()?,
        ..LoadOptions::default()
    };
    let t = Instant::now();
    let ds = load(&spec, &opts)?;
    ui.say(&format!(
        "loaded {}: {} users, {} items, {} interactions in {:.1}s",
        ds.name,
        ds.num_users(),
        ds.num_items(),
        ds.num_interactions(),
        t.elapsed().as_secs_f64()
    ));
    Ok(ds)
}

fn load_split(d: &DataArgs, data_dir: &Path, ui: &Ui) -> Result<Split> {
    Split::new(load_data(&d.data, &d.load, data_dir, ui)?, d.split)
}

fn eval_config(o: &EvalOpts) -> EvalConfig {
    EvalConfig {
        ks: o.ks.clone(),
        mask_history: !o.no_mask,
        max_len: o.max_len,
        sampled: o.sampled.map(|s| SampledConfig {
            negatives: o.negatives,
            strategy: match s {
                SamplingArg::Uniform => NegativeSampling::Uniform,
                SamplingArg::Popularity => NegativeSampling::Popularity,
            },
        }),
        bootstrap: o.bootstrap,
        seed: o.seed,
        ..EvalConfig::default()
    }
}

fn run_compare(models: &[String], o: &EvalOpts, data_dir: &Path, ui: &Ui, is_compare: bool) -> Result<()> {
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
    let cfg = eval_config(o);
    cfg.validate()?;
    let device =
        if bundles.iter().any(Option::is_some) { localrec::backend::device(&o.device)? } else { Device::flex() };
    let phase = match o.phase {
        PhaseArg::Test => Phase::Test,
        PhaseArg::Valid => Phase::Valid,
    };
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
        let (report, cases) = EvalReport::build_with_cases(&run, &split, phase, &cfg, fit_s);
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
                }
            })
            .collect();
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

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Data(format!("could not write JSON: {e}")))
}

fn print_stats(s: &localrec::data::DatasetStats) {
    println!("dataset        {}", s.name);
    println!("users          {}", s.users);
    println!("items          {}", s.items);
    println!("interactions   {}", s.interactions);
    println!("density        {:.5}%", s.density * 100.0);
    println!("sequence len   min {}  median {}  mean {:.2}  max {}", s.min_len, s.median_len, s.mean_len, s.max_len);
    let kinds: Vec<String> = s.kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!("event kinds    {}", kinds.join(", "));
    match s.time_span_ms {
        Some((a, b)) => println!("time span      {} .. {} (ms since epoch)", a, b),
        None => println!("time span      none (the data has no timestamps; order by position)"),
    }
    println!("titles         {} items", s.items_with_title);
    println!("categories     {}", s.categories);
    println!("top-20% share  {:.1}% of interactions", s.top20_share * 100.0);
    println!("fingerprint    {}", s.fingerprint);
}

fn list_datasets(data_dir: &Path) {
    let shared = find_shared_dir();
    for d in NAMED_DATASETS {
        let status = match (&d.source, &shared) {
            (Source::Fetched { dir }, _) if data_dir.join(dir).is_dir() => "ready".to_string(),
            (Source::Fetched { .. }, _) => "fetched on first use".to_string(),
            (Source::Shared { path }, Some(s)) if s.join(path).is_file() => "ready".to_string(),
            (Source::Shared { .. }, _) => "needs ../shared/data".to_string(),
            (Source::Unavailable { .. }, _) => "unavailable".to_string(),
        };
        println!("{:<13} {:<22} {}", d.name, status, d.description);
    }
}

/// How a backend name of `--device` is reported (the CPU backend is burn's `flex`).
fn backend_label(device: &str) -> String {
    if device == "cpu" { "cpu (flex)".into() } else { device.into() }
}

/// This process's command line as `localrec <args>` (arguments with spaces quoted).
fn command_line() -> String {
    let mut s = String::from("localrec");
    for a in std::env::args().skip(1) {
        s.push(' ');
        if a.is_empty() || a.contains(char::is_whitespace) {
            s.push_str(&format!("'{a}'"));
        } else {
            s.push_str(&a);
        }
    }
    s
}

fn run_export(a: &ExportArgs) -> Result<()> {
    let bundle = Bundle::load_file(&a.model)?;
    // Loading the weights into the model proves they fit the config.
    model::from_bundle(&bundle)?;
    let Some(out) = &a.out else {
        print_bundle_summary(&a.model, &bundle)?;
        return Ok(());
    };
    let recoded = bundle.recoded(a.half)?;
    model::from_bundle(&recoded)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    recoded.save_file(out)?;
    println!(
        "{} ({}, item table {}) written to {}: {} bytes of weights, was {}",
        a.model.display(),
        recoded.manifest.encoder.kind,
        if a.half { "f16" } else { "f32" },
        out.display(),
        recoded.weights.len(),
        bundle.weights.len()
    );
    Ok(())
}

fn print_bundle_summary(path: &Path, b: &Bundle) -> Result<()> {
    let m = &b.manifest;
    let tensors = localrec::bundle::weight_tensors(&b.weights)?;
    let table = tensors.iter().find(|t| t.item_table);
    let config = serde_json::to_string(&m.encoder.config).unwrap_or_default();
    println!("bundle      {} ({} bytes)", path.display(), b.to_bytes().len());
    println!("format      {} (localrec {}, created {})", m.format_version, m.localrec_version, m.created);
    println!("encoder     {} {config}", m.encoder.kind);
    println!(
        "items       {} ({} with a title, {} categories)",
        m.num_items(),
        m.titles.iter().filter(|t| t.is_some()).count(),
        m.category_names.len()
    );
    match table {
        Some(t) => println!("item table  {} {:?}", t.dtype, t.shape),
        None => println!("item table  none found"),
    }
    println!(
        "weights     {} tensors, {} bytes, sha256 {} (checksum OK)",
        tensors.len(),
        b.weights.len(),
        m.weights_sha256
    );
    println!(
        "data        {}: {} users, {} interactions, fingerprint {}",
        m.data.name, m.data.users, m.data.interactions, m.data.fingerprint
    );
    let metrics: Vec<String> = m.metrics.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
    println!("metrics     {}", if metrics.is_empty() { "none".to_string() } else { metrics.join(", ") });
    println!("model       loads ({} weights fit the config)", m.encoder.kind);
    Ok(())
}

fn is_bundle_path(m: &str) -> bool {
    m.ends_with(".lrec") || Path::new(m).is_file()
}

fn run_train(a: &TrainArgs, data_dir: &Path, ui: &Ui) -> Result<()> {
    let cfg = TrainConfig {
        epochs: a.epochs,
        batch_size: a.batch_size,
        lr: a.lr,
        max_len: a.max_len,
        patience: a.patience,
        seed: a.seed,
        max_seconds: a.max_minutes.map(|m| m * 60.0),
        verbose: false, // the progress callback below reports instead
        loss: a.loss,
        weight_decay: a.weight_decay,
        warmup_steps: a.warmup,
        checkpoint: a.checkpoint.clone(),
        refit: a.refit,
        ..TrainConfig::default()
    };
    cfg.validate()?;
    // Options that only some encoders read are refused for the others.
    let only = |flag: &str, given: bool, kinds: &[&str]| -> Result<()> {
        if given && !kinds.contains(&a.model.as_str()) {
            return Err(Error::invalid(flag, format!("applies to {}, not to {}", kinds.join(" and "), a.model)));
        }
        Ok(())
    };
    only("--heads", a.heads.is_some(), &["sasrec", "bert4rec"])?;
    only("--layers", a.layers.is_some(), &["gru4rec", "lstm"])?;
    only("--mask-prob", a.mask_prob.is_some(), &["bert4rec"])?;
    let device = localrec::backend::device(&a.device)?;
    let split = load_split(&a.data, data_dir, ui)?;
    let n = split.dataset.num_items();
    match a.model.as_str() {
        "sasrec" => train_and_save(
            a,
            &split,
            &cfg,
            SasRecConfig::new(n)
                .with_d_model(a.dim)
                .with_n_blocks(a.blocks)
                .with_n_heads(a.heads.unwrap_or(1))
                .with_dropout(a.dropout.unwrap_or(0.5))
                .with_max_len(a.max_len),
            data_dir,
            ui,
            &device,
        ),
        "gru4rec" => {
            let mut c = Gru4RecConfig::new(n).with_d_model(a.dim).with_max_len(a.max_len);
            c.n_layers = a.layers.unwrap_or(c.n_layers);
            c.dropout = a.dropout.unwrap_or(c.dropout);
            train_and_save(a, &split, &cfg, c, data_dir, ui, &device)
        }
        "lstm" => {
            let mut c = LstmConfig::new(n).with_d_model(a.dim).with_max_len(a.max_len);
            c.n_layers = a.layers.unwrap_or(c.n_layers);
            c.dropout = a.dropout.unwrap_or(c.dropout);
            train_and_save(a, &split, &cfg, c, data_dir, ui, &device)
        }
        "attnpool" => {
            let mut c = AttnPoolConfig::new(n).with_d_model(a.dim).with_max_len(a.max_len);
            c.dropout = a.dropout.unwrap_or(c.dropout);
            train_and_save(a, &split, &cfg, c, data_dir, ui, &device)
        }
        "bert4rec" => {
            let mut c = Bert4RecConfig::new(n).with_d_model(a.dim).with_n_blocks(a.blocks).with_max_len(a.max_len);
            c.n_heads = a.heads.unwrap_or(c.n_heads);
            c.dropout = a.dropout.unwrap_or(c.dropout);
            c.mask_prob = a.mask_prob.unwrap_or(c.mask_prob);
            train_and_save(a, &split, &cfg, c, data_dir, ui, &device)
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
