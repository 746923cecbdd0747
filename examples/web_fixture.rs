//! Writes the model bundles the browser tests and the benchmark page load, with the native
//! reference results the browser must reproduce.
//!
//! ```text
//! cargo run --release --example web_fixture -- OUT_DIR            # fixture.lrec + expected.json
//! cargo run --release --example web_fixture -- OUT_DIR --bench N  # bench-N.lrec: N synthetic items
//! ```
//!
//! The fixture is a small SASRec with seeded random weights over a synthetic catalogue (titles,
//! categories, popularity): the tests check plumbing and numerical agreement, which do not
//! need a trained model. `expected.json` holds, for a few event histories, the native top-10
//! (through [`localrec::model::from_bundle`], the CPU recommender the evaluation uses) and the
//! scores of a list of rerank candidates; the native evaluation of the bundle and of every
//! baseline on the held-out data.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use localrec::bundle::{Bundle, EncoderSpec, FORMAT_VERSION, Manifest, TrainedOn, weights_with};
use localrec::data::{Dataset, Phase, Split, SplitSpec};
use localrec::eval::EvalConfig;
use localrec::eval::report::EvalReport;
use localrec::events::{EventKind, ItemVocab, RawEvent, Sequence};
use localrec::item_table::TableFormat;
use localrec::model::Scorer;
use localrec::model::neural::{EncoderConfig, fill_kind_tables};
use localrec::model::sasrec::SasRecConfig;
use localrec::serve::{self, Catalog, EventLog, ExcludeRules, TrackedEvent};
use localrec::{Error, Result};
use serde_json::{Value, json};

const CATEGORIES: [&str; 4] = ["books", "music", "garden", "toys"];

fn manifest(n: usize, cfg: &SasRecConfig, half: bool) -> Manifest {
    Manifest {
        format_version: FORMAT_VERSION,
        localrec_version: env!("CARGO_PKG_VERSION").into(),
        created: "2026-11-23T00:00:00Z".into(),
        encoder: EncoderSpec { kind: "sasrec".into(), config: serde_json::to_value(cfg).unwrap_or(Value::Null) },
        items: (0..n).map(|k| format!("item-{k:04}")).collect(),
        titles: (0..n).map(|k| (k % 5 != 4).then(|| format!("Product {k}"))).collect(),
        categories: (0..n).map(|k| if k % 7 == 0 { vec![(k % 4) as u32, 3] } else { vec![(k % 4) as u32] }).collect(),
        category_names: CATEGORIES.iter().map(|c| c.to_string()).collect(),
        // A long-tailed, tie-free popularity: item k has (n - k) * 3 + k % 3 interactions.
        popularity: (0..n).map(|k| ((n - k) * 3 + k % 3) as u32).collect(),
        data: TrainedOn { name: "synthetic".into(), fingerprint: "0".repeat(16), users: 0, interactions: 0 },
        metrics: Default::default(),
        weights_sha256: String::new(),
        half_precision_items: half,
        item_table: None,
        training: None,
    }
}

fn bundle(n: usize, cfg: &SasRecConfig, seed: u64, half: bool, fingerprint: Option<String>) -> Result<Bundle> {
    let device = Device::flex();
    device.seed(seed);
    let model = cfg.init(&device)?;
    let mut m = manifest(n, cfg, half);
    if let Some(fp) = fingerprint {
        m.data.fingerprint = fp;
    }
    Ok(Bundle::new(m, weights_with(&model, half)?))
}

/// A held-out dataset over the fixture's catalogue (item ids in catalogue order): 150 users
/// with 3 to 14 interactions each, drawn by a fixed linear congruential generator.
fn held_out(n: usize) -> Result<Dataset> {
    let ids: Vec<String> = (0..n).map(|k| format!("item-{k:04}")).collect();
    let mut state: u64 = 2026;
    let mut next = move |m: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let mut users = Vec::new();
    let mut seqs = Vec::new();
    for u in 0..150 {
        let len = 3 + next(12) as usize;
        // Items drift through the catalogue so the sequences have some structure.
        let start = next(n as u64) as usize;
        let items: Vec<u32> = (0..len).map(|j| 1 + ((start + j * (1 + next(3) as usize)) % n) as u32).collect();
        let kinds = (0..len).map(|j| if j % 5 == 4 { EventKind::Cart } else { EventKind::View }).collect();
        let ts = (0..len as i64).map(|j| 1_767_225_600_000 + j * 60_000).collect();
        users.push(format!("user-{u:03}"));
        seqs.push(Sequence { items, kinds, ts });
    }
    Ok(Dataset {
        name: "synthetic".into(),
        items: ItemVocab::from_ids(ids)?,
        users,
        seqs,
        meta: Default::default(),
        has_timestamps: true,
    })
}

fn ev(item: Option<&str>, kind: &str, ts: f64, query: Option<&str>) -> Value {
    json!({ "item": item, "type": kind, "ts": ts, "query": query })
}

/// The event histories of the parity cases.
fn cases() -> Vec<(&'static str, Vec<Value>)> {
    let t0 = 1_767_225_600_000.0; // 2026-01-01
    let id = |k: usize| format!("item-{k:04}");
    let short = vec![
        ev(Some(&id(3)), "view", t0, None),
        ev(Some(&id(17)), "view", t0 + 60_000.0, None),
        ev(Some(&id(42)), "cart", t0 + 120_000.0, None),
    ];
    // Longer than max_len, mixed kinds, a search without an item, out of time order.
    let mut long = Vec::new();
    for j in 0..30usize {
        let kind = ["view", "view", "cart", "purchase"][j % 4];
        long.push(ev(Some(&id((j * 37 + 11) % 300)), kind, t0 + (30 - j) as f64 * 1000.0, None));
    }
    long.push(ev(None, "search", t0 + 500.0, Some("garden hose")));
    // Repeats and equal timestamps (arrival order decides).
    let repeats = vec![
        ev(Some(&id(100)), "view", t0, None),
        ev(Some(&id(101)), "view", t0, None),
        ev(Some(&id(100)), "view", t0 + 1.0, None),
        ev(Some(&id(250)), "purchase", t0 + 2.0, None),
        ev(Some(&id(100)), "cart", t0 + 2.0, None),
    ];
    vec![("short", short), ("long", long), ("repeats", repeats)]
}

/// The events as the browser keeps them: validated, in time order.
fn tracked(events: &[Value]) -> Result<EventLog<()>> {
    let mut log = EventLog::new();
    for v in events {
        let raw: RawEvent = serde_json::from_value(v.clone()).map_err(|e| Error::Data(e.to_string()))?;
        log.insert((), TrackedEvent::from_raw(raw)?);
    }
    Ok(log)
}

fn fixture(out: &Path) -> Result<()> {
    let n = 300;
    let cfg = SasRecConfig::new(n)
        .with_d_model(32)
        .with_n_blocks(2)
        .with_n_heads(2)
        .with_max_len(20)
        .with_dropout(0.2)
        .with_init_std(0.3);
    let data = held_out(n)?;
    let b = bundle(n, &cfg, 2026, false, Some(data.fingerprint()))?;
    b.save_file(out.join("fixture.lrec"))?;
    let catalog = Catalog::from_manifest(&b.manifest)?;
    let rec = localrec::model::from_bundle(&b)?;
    let width = n + 1;
    let candidates: Vec<String> = (0..20).map(|j| format!("item-{:04}", (j * 13 + 5) % n)).collect();

    let mut out_cases = Vec::new();
    for (name, events) in cases() {
        let log = tracked(&events)?;
        let hist = log.model_history(&catalog, cfg.max_len);
        let items: Vec<u32> = hist.iter().map(|h| h.0).collect();
        let mut scores = vec![0.0f32; width];
        rec.score_batch(&[&items], &mut scores)?;
        // What `recommend()` leaves out by default: purchases and the newest 20 items.
        let seen = log.excluded(&catalog, &ExcludeRules::default());
        let top = serve::top_k_unseen(&scores, 10, &|_| false, &|i| seen.contains(&i), |_| Ok(true))?;
        // The browser's scores must agree within 1e-4; make sure the order cannot flip within that.
        let min_gap = top.windows(2).map(|w| w[0].score - w[1].score).fold(f32::INFINITY, f32::min);
        if min_gap < 1e-3 {
            eprintln!("warning: case {name}: two of the top-10 scores are only {min_gap:e} apart");
        }
        let rerank: Vec<Value> = candidates
            .iter()
            .map(|c| json!({ "item": c, "score": scores[catalog.index(c).unwrap_or(0) as usize] }))
            .collect();
        out_cases.push(json!({
            "name": name,
            "events": events,
            "history": items.iter().map(|&i| catalog.id(i)).collect::<Vec<_>>(),
            "top": top.iter().map(|r| json!({ "item": catalog.id(r.index), "score": r.score })).collect::<Vec<_>>(),
            "minGap": min_gap,
            "rerank": rerank,
        }));
    }
    let kinds_cases = kinds_fixture(out, n, &cfg)?;
    let compressed = compressed_fixture(out, &b, cfg.max_len)?;
    let pop = serve::top_k(&catalog.popularity_scores(), 10, &|_| false, |_| Ok(true))?;
    // The native evaluation of the fixture on the held-out data: what `rec.evaluate` must give.
    let data_path = out.join("dataset.json");
    std::fs::write(&data_path, data.to_json()?).map_err(|e| Error::io(&data_path, e))?;
    let split = Split::new(data, SplitSpec::LeaveOneOut)?;
    let cfg = EvalConfig::default();
    let run = localrec::eval::run(rec.as_ref(), &split, Phase::Test, &cfg, &|_, _| {})?;
    let report = EvalReport::build(&run, &split, Phase::Test, &cfg, 0.0);
    let evaluation =
        json!({ "dataset": "dataset.json", "cases": report.cases, "metrics": report.metrics, "ci95": report.ci95 });
    // The baselines on the same data, as `localrec eval --model NAME` evaluates them (fitted on
    // the test phase's training data): what `Recommender.evaluateBaseline` must give.
    let mut baselines = serde_json::Map::new();
    for name in localrec::model::BASELINES {
        let m = localrec::model::baseline(name, &split.train(Phase::Test))?;
        let run = localrec::eval::run(m.as_ref(), &split, Phase::Test, &cfg, &|_, _| {})?;
        let r = EvalReport::build(&run, &split, Phase::Test, &cfg, 0.0);
        baselines.insert(name.into(), json!({ "cases": r.cases, "metrics": r.metrics, "ci95": r.ci95 }));
    }
    let expected = json!({
        "bundle": "fixture.lrec",
        "items": n,
        "formatVersion": FORMAT_VERSION,
        "categories": CATEGORIES,
        "candidates": candidates,
        "popular": pop.iter().map(|r| json!({ "item": catalog.id(r.index), "score": r.score })).collect::<Vec<_>>(),
        "cases": out_cases,
        "kinds": { "bundle": "fixture-kinds.lrec", "cases": kinds_cases },
        "compressed": compressed,
        "evaluation": evaluation,
        "baselines": baselines,
    });
    let path = out.join("expected.json");
    std::fs::write(&path, serde_json::to_string_pretty(&expected).unwrap_or_default())
        .map_err(|e| Error::io(&path, e))?;
    println!("wrote {} and {}", out.join("fixture.lrec").display(), path.display());
    Ok(())
}

/// The fixture's SASRec reading event kinds (its kind table filled with non-zero weights, as
/// training would leave it), written to `fixture-kinds.lrec`; and for each parity case the
/// native top-10 scored with the history's kinds (what the browser must give), and the top-10
/// of the same model scored without them (which it must not give where they differ).
fn kinds_fixture(out: &Path, n: usize, cfg: &SasRecConfig) -> Result<Vec<Value>> {
    let cfg = cfg.clone().with_use_kinds(true);
    let device = Device::flex();
    device.seed(2027);
    let (model, filled) = fill_kind_tables(cfg.init(&device)?, |i| ((i * 7 % 13) as f32 - 6.0) * 0.25);
    if filled != 1 {
        return Err(Error::invalid("fixture", "the SASRec kind table was not found"));
    }
    let b = Bundle::new(manifest(n, &cfg, false), weights_with(&model, false)?);
    b.save_file(out.join("fixture-kinds.lrec"))?;
    let catalog = Catalog::from_manifest(&b.manifest)?;
    let rec = localrec::model::from_bundle(&b)?;
    let mut cases_out = Vec::new();
    for (name, events) in cases() {
        let top_of = |with_kinds| native_top(rec.as_ref(), &catalog, &events, cfg.max_len, with_kinds);
        cases_out.push(json!({ "name": name, "top": top_of(true)?, "withoutKinds": top_of(false)? }));
    }
    Ok(cases_out)
}

/// What `recommend({ k: 10 })` must give for `events`: the native top-10 of the model history
/// (scored with its event kinds when `with_kinds`), leaving out what the browser leaves out by
/// default (purchases and the newest 20 items).
fn native_top(
    rec: &dyn Scorer,
    catalog: &Catalog,
    events: &[Value],
    max_len: usize,
    with_kinds: bool,
) -> Result<Vec<Value>> {
    let log = tracked(events)?;
    let hist = log.model_history(catalog, max_len);
    let items: Vec<u32> = hist.iter().map(|h| h.0).collect();
    let kinds: Vec<EventKind> = hist.iter().map(|h| h.1).collect();
    let seen = log.excluded(catalog, &ExcludeRules::default());
    let mut scores = vec![0.0f32; catalog.model_items() + 1];
    if with_kinds {
        rec.score_batch_with_kinds(&[&items], &[&kinds], &mut scores)?;
    } else {
        rec.score_batch(&[&items], &mut scores)?;
    }
    let top = serve::top_k_unseen(&scores, 10, &|_| false, &|i| seen.contains(&i), |_| Ok(true))?;
    Ok(top.iter().map(|r| json!({ "item": catalog.id(r.index), "score": r.score })).collect())
}

/// The fixture with its item table product-quantised (8 sub-spaces, the 30 most popular items
/// exact), written to `fixture-pq.lrec`, with the native top-10 of each parity case (what the
/// browser must give); and copies whose table is damaged behind valid checksums (what a buggy
/// writer would make), written to `fixture-pq-*.lrec`, which the browser must refuse as
/// `BAD_BUNDLE`.
fn compressed_fixture(out: &Path, fixture: &Bundle, max_len: usize) -> Result<Value> {
    let b = fixture.with_item_format(TableFormat::Pq(8), 30, 1)?;
    b.save_file(out.join("fixture-pq.lrec"))?;
    let catalog = Catalog::from_manifest(&b.manifest)?;
    let rec = localrec::model::from_bundle(&b)?;
    let mut cases_out = Vec::new();
    for (name, events) in cases() {
        cases_out.push(json!({ "name": name, "top": native_top(rec.as_ref(), &catalog, &events, max_len, false)? }));
    }
    let mut bad = Vec::new();
    for (file, tensor, at, value, problem) in [
        ("fixture-pq-nan.lrec", "item_table.pq.centroids", 5, f32::NAN.to_le_bytes(), "centroid value 5 is NaN"),
        (
            "fixture-pq-range.lrec",
            "item_table.pq.exact_items",
            29,
            301u32.to_le_bytes(),
            "row 301 of a table of 301 rows",
        ),
    ] {
        let weights = edit_tensor(&b.weights, tensor, |bytes| bytes[at * 4..at * 4 + 4].copy_from_slice(&value))?;
        Bundle::new(b.manifest.clone(), weights).save_file(out.join(file))?;
        bad.push(json!({ "bundle": file, "problem": problem }));
    }
    let mut inconsistent = b.clone();
    if let Some(spec) = inconsistent.manifest.item_table.as_mut() {
        spec.subspaces = 16;
    }
    inconsistent.save_file(out.join("fixture-pq-shape.lrec"))?;
    bad.push(json!({ "bundle": "fixture-pq-shape.lrec", "problem": "expected U8 [301, 16]" }));
    Ok(json!({ "bundle": "fixture-pq.lrec", "format": "pq:8", "cases": cases_out, "bad": bad }))
}

/// Safetensors `weights` with the bytes of tensor `name` changed by `edit`.
fn edit_tensor(weights: &[u8], name: &str, edit: impl Fn(&mut Vec<u8>)) -> Result<Vec<u8>> {
    use safetensors::SafeTensors;
    use safetensors::tensor::TensorView;
    let bad = |e: safetensors::SafeTensorError| Error::invalid("fixture", e.to_string());
    let st = SafeTensors::deserialize(weights).map_err(bad)?;
    let mut tensors: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> =
        st.tensors().into_iter().map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec())).collect();
    for t in tensors.iter_mut().filter(|t| t.0 == name) {
        edit(&mut t.3);
    }
    let views = tensors
        .iter()
        .map(|(n, d, s, bytes)| Ok((n.as_str(), TensorView::new(*d, s.clone(), bytes).map_err(bad)?)))
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, None).map_err(bad)
}

fn bench(out: &Path, n: usize) -> Result<()> {
    let cfg = SasRecConfig::new(n).with_d_model(64).with_n_blocks(2).with_max_len(50).with_dropout(0.2);
    let b = bundle(n, &cfg, 7, true, None)?;
    let path = out.join(format!("bench-{n}.lrec"));
    b.save_file(&path)?;
    println!("wrote {} ({} bytes)", path.display(), std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0));
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let run = || -> Result<()> {
        let out = PathBuf::from(args.first().ok_or_else(|| Error::invalid("OUT_DIR", "missing"))?);
        std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
        match args.get(1).map(String::as_str) {
            None => fixture(&out),
            Some("--bench") => {
                let n = args.get(2).and_then(|s| s.parse().ok()).ok_or_else(|| Error::invalid("--bench", "needs N"))?;
                bench(&out, n)
            }
            Some(other) => Err(Error::invalid("argument", format!("unknown `{other}`"))),
        }
    };
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
