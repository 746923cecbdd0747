//! `localrec start`: the first run. Fetches MovieLens-100k, trains the demo models once, compares
//! them with the baselines, builds the browser package and the demo's files, and serves the demo.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use localrec::bundle::Bundle;
use localrec::data::Phase;
use localrec::eval::EvalConfig;
use localrec::eval::report::EvalReport;
use localrec::model::registry::{self, EncoderOption};
use localrec::{Error, Result, model};

use crate::args::{EvalOpts, TrainArgs, flag, from_flags};
use crate::compare::run_compare;
use crate::data::load_split;
use crate::output::{to_json, write_file};
use crate::train::run_train;
use crate::ui::Ui;

/// The demo's models: (encoder, minutes of training, refit included, as a share of
/// `--max-minutes`).
const DEMO_MODELS: [(&str, f64); 2] = [("sasrec", 1.0), ("gru4rec", 0.5)];

/// `localrec start`: the default models on ml-100k (trained once), their comparison with the
/// baselines, the npm package, the demo's files, and the demo server.
pub fn run_start(
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
        return Err(Error::Setup(format!(
            "the demo storefront is not at {}: run `localrec start` from a clone of the localrec repository",
            www.display()
        )));
    }
    let out = out.unwrap_or_else(|| data_dir.join("reports").join("ml-100k"));
    // Built from flags as the command line builds them: what `start` does not choose here keeps
    // the command line's default.
    let opts: EvalOpts = from_flags([flag("data", "ml-100k"), flag("sampled", "uniform"), flag("out", &out)])?;
    // The models, trained once and kept as bundles; one this localrec cannot read (an older
    // format version) is trained anew.
    let mut bundles = Vec::new();
    for (kind, share) in DEMO_MODELS {
        let bundle = data_dir.join("models").join(format!("ml-100k-{kind}.lrec"));
        if !(bundle.is_file() && Bundle::load_file(&bundle).is_ok()) {
            ui.say(&format!("no usable {kind} model yet: training it on ml-100k into {}", bundle.display()));
            // Samples and dropout are chosen by the data (dense: sliding windows, dropout 0.2).
            // Half the time selects the epoch on validation; the other half refits the model
            // for that many epochs on everything before each user's test item, the data the
            // baselines are fit on for the test phase: the deployed model, and a like-for-like
            // comparison with them (the standard-protocol figure stays in the bundle's metrics).
            let mut flags = vec![
                flag("model", kind),
                flag("data", "ml-100k"),
                flag("out", &bundle),
                flag("patience", "5"),
                flag("batch-size", "128"),
                flag("max-minutes", (max_minutes * share / 2.0).to_string()),
                OsString::from("--refit"),
            ];
            if registry::options_of(kind).is_some_and(|o| o.contains(&EncoderOption::Categories)) {
                // The films' genres, fused into the item representation (in the browser too).
                flags.push(OsString::from("--categories"));
            }
            let train: TrainArgs = from_flags(flags)?;
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
    let split = load_split(&opts.data, data_dir, ui)?;
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
    let status = cmd.status().map_err(|e| Error::Setup(format!("could not run {name}: {e}")))?;
    if status.success() { Ok(()) } else { Err(Error::Setup(format!("{name} failed ({status})"))) }
}
