//! `evaluate(dataset, options)`: full-ranking evaluation of the loaded model on a held-out
//! dataset in the page, a batch of histories at a time (progress reported between batches),
//! measured by [`crate::serve::Evaluation`], the same code as `localrec eval`; and
//! `Recommender.evaluateBaseline(name, dataset, options)`: a baseline fitted and evaluated in
//! the page by [`crate::serve::BaselineEvaluation`], also the code of `localrec eval`.

use wasm_bindgen::JsValue;

use super::device::Failed;
use super::download;
use super::js::{self, code};
use super::options::{self, BaselineOptions, EvaluateOptions};
use super::session::Session;
use crate::data::{Dataset, Phase, Split, SplitSpec};
use crate::eval::{EvalConfig, report::EvalReport};
use crate::serve;

impl Session {
    /// `evaluate(dataset, options)`: resolves to the report of `localrec eval --json`.
    pub async fn evaluate(&self, dataset: JsValue, options: Option<JsValue>) -> Result<JsValue, JsValue> {
        const M: &str = "evaluate";
        let opts: EvaluateOptions = options::read(M, options)?;
        let ks = opts.ks.unwrap_or_else(|| EvalConfig::default().ks);
        let batch = opts.batch_size.unwrap_or(64);
        let split_spec = opts.split.unwrap_or(SplitSpec::LeaveOneOut);
        let report_progress = |phase: &str, done: usize, total: usize| {
            js::call_quietly(
                opts.on_progress.as_ref(),
                &js::object(&[
                    ("phase", phase.into()),
                    ("done", (done as f64).into()),
                    ("total", (total as f64).into()),
                ]),
            );
        };

        let bytes = download::bytes(&download::DATASET, &dataset, &|_: f64, _: Option<f64>| {}).await?;
        report_progress("parse", 0, 0);
        let bad = |why: String| js::error(code::BAD_DATASET, format!("{M}: {why}"));
        let ds = Dataset::from_json(&bytes).map_err(|e| bad(e.to_string()))?;
        drop(bytes);
        let fp = ds.fingerprint();
        if fp != self.fingerprint {
            return Err(bad(format!(
                "the dataset `{}` (fingerprint {fp}) is not the one the model was trained on (fingerprint {})",
                ds.name, self.fingerprint
            )));
        }
        let same_items = {
            let c = self.catalog.borrow();
            let n = c.model_items();
            ds.num_items() == n && (1..=n as u32).all(|i| ds.items.id(i) == Some(c.id(i)))
        };
        if !same_items {
            return Err(bad("the dataset's items are not the bundle's catalogue, in the same order".into()));
        }
        let split = Split::new(ds, split_spec).map_err(|e| bad(e.to_string()))?;
        let cfg = EvalConfig { ks, ..EvalConfig::default() };
        let name = js::get(&self.info, "encoder").as_string().unwrap_or_else(|| "model".into());

        let t0 = js_sys::Date::now();
        let (split, cfg, name, report_progress) = (&split, &cfg, &name, &report_progress);
        // Scores every history; on a GPU failure, all of them again on the CPU.
        let mut run = self
            .runtime
            .with_fallback("evaluating", Some(M), |engine| async move {
                let other = |e: crate::Error| Failed::Other(js::from_error(M, &e));
                let mut ev = serve::Evaluation::new(&engine, split, Phase::Test, cfg.clone()).map_err(other)?;
                while !ev.done() {
                    ev.score_next(&engine, batch).await?;
                    let (done, total) = ev.progress();
                    report_progress("scoring", done, total);
                    js::next_tick().await;
                }
                ev.finish(name).map_err(other)
            })
            .await?;
        report_progress("metrics", 0, 0);
        js::next_tick().await;
        run.seconds = (js_sys::Date::now() - t0) / 1000.0;
        let report = EvalReport::build(&run, split, Phase::Test, cfg, 0.0);
        let out = js_sys::JSON::parse(&report.to_json()).map_err(|e| {
            js::error(code::INFERENCE, format!("{M}: could not convert the report: {}", js::message_of(&e)))
        })?;
        report_progress("done", run.cases.len(), run.cases.len());
        Ok(out)
    }
}

/// `Recommender.evaluateBaseline(name, dataset, options)`: resolves to the report of
/// `localrec eval --model NAME --json` on the same data. Needs no bundle: the baseline is fitted
/// on the split's training data for the test phase, here.
pub async fn baseline(name: JsValue, dataset: JsValue, options: Option<JsValue>) -> Result<JsValue, JsValue> {
    const M: &str = "Recommender.evaluateBaseline";
    // The arguments are checked before the dataset is read.
    let Some(name) = js::opt_string("name", &name).map_err(|e| js::invalid(M, e))? else {
        return Err(js::invalid(
            M,
            format!("the baseline's name is missing (one of {})", crate::model::BASELINES.join(", ")),
        ));
    };
    serve::check_baseline(&name).map_err(|e| js::from_error(M, &e))?;
    let opts: BaselineOptions = options::read(M, options)?;
    let cfg = EvalConfig { ks: opts.ks.unwrap_or_else(|| EvalConfig::default().ks), ..EvalConfig::default() };
    let split_spec = opts.split.unwrap_or(SplitSpec::LeaveOneOut);
    let report_progress = |phase: &str, done: usize, total: usize| {
        js::call_quietly(
            opts.on_progress.as_ref(),
            &js::object(&[("phase", phase.into()), ("done", (done as f64).into()), ("total", (total as f64).into())]),
        );
    };

    let bytes = download::bytes(&download::BASELINE_DATASET, &dataset, &|_: f64, _: Option<f64>| {}).await?;
    report_progress("parse", 0, 0);
    js::next_tick().await;
    let bad = |why: String| js::error(code::BAD_DATASET, format!("{M}: {why}"));
    let ds = Dataset::from_json(&bytes).map_err(|e| bad(e.to_string()))?;
    drop(bytes);
    let split = Split::new(ds, split_spec).map_err(|e| bad(e.to_string()))?;

    report_progress("fit", 0, 0);
    js::next_tick().await;
    let t0 = js_sys::Date::now();
    let ev = serve::BaselineEvaluation::fit(&name, &split, Phase::Test, cfg).map_err(|e| match e {
        crate::Error::InvalidValue { .. } => js::from_error(M, &e),
        _ => bad(e.to_string()),
    })?;
    let fit_s = (js_sys::Date::now() - t0) / 1000.0;

    let total = ev.cases();
    report_progress("scoring", 0, total);
    js::next_tick().await;
    let t0 = js_sys::Date::now();
    let mut run = ev.run().map_err(|e| js::from_error(M, &e))?;
    run.seconds = (js_sys::Date::now() - t0) / 1000.0;
    report_progress("scoring", total, total);
    report_progress("metrics", 0, 0);
    js::next_tick().await;
    let report = ev.report(&run, fit_s);
    let out = js_sys::JSON::parse(&report.to_json()).map_err(|e| {
        js::error(code::INFERENCE, format!("{M}: could not convert the report: {}", js::message_of(&e)))
    })?;
    report_progress("done", total, total);
    Ok(out)
}
