//! Event kinds end to end: a model trained with kinds (view, cart, purchase, …) is evaluated by
//! `eval::run` and served by `serve::Engine` / `serve::Evaluation` with the kinds of each history,
//! and every path gives the same scores.
//!
//! No public dataset we use has kinds that matter (ml-100k and Amazon are ratings, the Diginetica
//! sample views only), so the data here is synthetic: users whose events mix kinds, and two users
//! with the same items but different kinds. The kind table of a fresh model is zero (it starts as
//! a model without kinds), so the tests give it non-zero weights first.

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};

use localrec::bundle::{Bundle, EncoderSpec, Manifest, weights_of};
use localrec::data::{Dataset, DatasetBuilder, Phase, Split, SplitSpec};
use localrec::eval::{self, EvalConfig, EvalRun};
use localrec::events::{EventKind, SequenceOptions};
use localrec::model::gru4rec::{Gru4Rec, Gru4RecConfig};
use localrec::model::neural::{EncoderConfig, SeqEncoder, fill_kind_tables};
use localrec::serve::{Engine, Evaluation, block_on};

const ITEMS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

/// Eight users of six events over eight items, their kinds mixed (view, cart, purchase in turn,
/// each user starting elsewhere); and two more with the same items a b c d e, one only viewing,
/// the other only buying: their test histories differ in kinds alone.
fn dataset() -> Dataset {
    let mut b = DatasetBuilder::new("kinds");
    for u in 0..8 {
        for t in 0..6 {
            let kind = [EventKind::View, EventKind::Cart, EventKind::Purchase][(u + t) % 3];
            b.push(&format!("u{u}"), ITEMS[(u + t) % 8], kind, t as i64);
        }
    }
    for (user, kind) in [("twin-view", EventKind::View), ("twin-buy", EventKind::Purchase)] {
        for (t, item) in ITEMS[..5].iter().enumerate() {
            b.push(user, item, kind, t as i64);
        }
    }
    b.build(&SequenceOptions::default()).unwrap()
}

fn config(n: usize, kinds: bool) -> Gru4RecConfig {
    Gru4RecConfig::new(n).with_d_model(8).with_max_len(4).with_init_std(0.5).with_use_kinds(kinds)
}

/// A GRU4Rec over `ds` reading kinds, its kind table non-zero; and its bundle.
fn model_with_kinds(ds: &Dataset) -> (Gru4Rec, Bundle) {
    let device = Device::flex();
    device.seed(3);
    let cfg = config(ds.num_items(), true);
    let (model, filled) = fill_kind_tables(cfg.init(&device).unwrap(), |i| ((i * 7 % 13) as f32 - 6.0) * 0.15);
    assert_eq!(filled, 1, "the kind table was found");
    (model.clone().valid(), bundle_of(ds, &cfg, &model))
}

fn bundle_of<M: Module>(ds: &Dataset, cfg: &Gru4RecConfig, model: &M) -> Bundle {
    let encoder = EncoderSpec { kind: Gru4RecConfig::KIND.into(), config: serde_json::to_value(cfg).unwrap() };
    Bundle::new(Manifest::from_dataset(ds, &ds.item_counts(), encoder, String::new()), weights_of(model).unwrap())
}

/// The model's scores of every item for one history, computed by hand: `forward` (through
/// `user_states`) with or without the kinds, dotted with the item table.
fn forward_scores(model: &Gru4Rec, items: &[u32], kinds: Option<&[EventKind]>) -> Vec<f32> {
    let device = Device::flex();
    let l = items.len();
    let items =
        Tensor::<2, Int>::from_data(TensorData::new(items.iter().map(|&i| i as i64).collect(), [1, l]), &device);
    let kinds = kinds.map(|k| {
        Tensor::<2, Int>::from_data(TensorData::new(k.iter().map(|k| k.index() as i64).collect(), [1, l]), &device)
    });
    let scores = model.user_states(items, kinds).matmul(model.item_table().transpose());
    scores.try_into_vec_as::<f32>().unwrap()
}

fn cfg() -> EvalConfig {
    EvalConfig { ks: vec![1, 3], bootstrap: 0, mask_history: false, ..EvalConfig::default() }
}

fn native_run(bundle: &Bundle, split: &Split) -> EvalRun {
    let native = localrec::model::from_bundle(bundle).unwrap();
    eval::run(native.as_ref(), split, Phase::Test, &cfg(), &|_, _| {}).unwrap()
}

/// `localrec eval` (`eval::run` over the bundle's scorer) scores each case with its kinds: the
/// scores are the model's forward pass with the kinds, not without them.
#[test]
fn evaluation_scores_each_history_with_its_kinds() {
    let ds = dataset();
    let (model, bundle) = model_with_kinds(&ds);
    let split = Split::new(ds, SplitSpec::LeaveOneOut).unwrap();
    let ds = &split.dataset;
    assert!(localrec::model::from_bundle(&bundle).unwrap().uses_kinds());
    let run = native_run(&bundle, &split);
    assert_eq!(run.cases.len(), 10);
    let mut differ = 0;
    for (c, case) in run.cases.iter().enumerate() {
        let (items, kinds, target) = (case.history(ds), case.kinds(ds), case.target(ds) as usize);
        assert_eq!(items.len(), kinds.len());
        let with = forward_scores(&model, items, Some(kinds))[target];
        let without = forward_scores(&model, items, None)[target];
        let got = run.target_scores[c];
        assert!((got - with).abs() < 1e-5, "case {c}: eval {got} vs forward with kinds {with}");
        differ += ((with - without).abs() > 1e-3) as usize;
    }
    assert_eq!(differ, run.cases.len(), "the kinds change every case's score");

    // The two users with the same items and different kinds get different scores.
    let twin = |name: &str| {
        let seq = ds.users.iter().position(|u| u == name).unwrap() as u32;
        run.cases.iter().position(|c| c.seq == seq).unwrap()
    };
    let (v, p) = (twin("twin-view"), twin("twin-buy"));
    assert_eq!(run.cases[v].history(ds), run.cases[p].history(ds));
    assert!((run.target_scores[v] - run.target_scores[p]).abs() > 1e-3, "kinds tell the twins apart");
}

/// The browser's evaluation (`serve::Evaluation` over an `Engine`) equals `localrec eval` for a
/// model with kinds: histories that differ only in kinds are scored apart. For a model without
/// kinds they are scored once.
#[test]
fn browser_evaluation_equals_native_evaluation_with_kinds() {
    let ds = dataset();
    let (_, bundle) = model_with_kinds(&ds);
    let plain = {
        let cfg = config(ds.num_items(), false);
        let device = Device::flex();
        device.seed(3);
        bundle_of(&ds, &cfg, &cfg.init(&device).unwrap())
    };
    let split = Split::new(ds, SplitSpec::LeaveOneOut).unwrap();
    for (b, kinds, distinct) in [(&bundle, true, 10), (&plain, false, 9)] {
        let want = native_run(b, &split);
        for fixed in [false, true] {
            let mut engine = Engine::new(b, &Device::flex()).unwrap();
            if fixed {
                engine = engine.with_fixed_shape();
            }
            assert_eq!(engine.uses_kinds(), kinds);
            let mut ev = Evaluation::new(&engine, &split, Phase::Test, cfg()).unwrap();
            assert_eq!(ev.progress(), (0, distinct), "kinds {kinds}: distinct histories");
            while !ev.done() {
                block_on(ev.score_next(&engine, 4)).unwrap();
            }
            let got = ev.finish("gru4rec").unwrap();
            assert_eq!(got.ranks, want.ranks, "kinds {kinds} fixed {fixed}");
            assert_eq!(got.topk, want.topk, "kinds {kinds} fixed {fixed}");
            for (g, w) in got.target_scores.iter().zip(&want.target_scores) {
                assert!((g - w).abs() < 1e-5, "kinds {kinds} fixed {fixed}: {g} vs {w}");
            }
        }
    }
}

/// The engine scores a history with kinds as the native scorer does, drops an unknown item
/// with its kind, and refuses kinds that are not one per item; baselines ignore kinds.
#[test]
fn engine_scores_with_kinds_equal_the_native_scorer() {
    use EventKind::{Cart, Purchase, View};
    let ds = dataset();
    let n = ds.num_items();
    let (_, bundle) = model_with_kinds(&ds);
    let native = localrec::model::from_bundle(&bundle).unwrap();
    let engine = Engine::new(&bundle, &Device::flex()).unwrap();
    let fixed = Engine::new(&bundle, &Device::flex()).unwrap().with_fixed_shape();
    block_on(engine.warm_up()).unwrap();
    let histories: [&[u32]; 3] = [&[1, 3, 2], &[4, 0, 5, 99, 6, 7, 8], &[2]];
    let kinds: [&[EventKind]; 3] =
        [&[Cart, View, Purchase], &[View, Purchase, Cart, Purchase, View, Cart, Cart], &[Cart]];
    let mut want = vec![0.0; 3 * (n + 1)];
    native.score_batch_with_kinds(&histories, &kinds, &mut want).unwrap();
    let mut without = vec![0.0; 3 * (n + 1)];
    native.score_batch(&histories, &mut without).unwrap();
    for (r, (h, k)) in histories.iter().zip(&kinds).enumerate() {
        let row = &want[r * (n + 1)..(r + 1) * (n + 1)];
        for e in [&engine, &fixed] {
            let got = block_on(e.scores(h, Some(k))).unwrap();
            assert_eq!(got[0], f32::NEG_INFINITY);
            for (a, w) in got.iter().zip(row).skip(1) {
                assert!((a - w).abs() < 1e-5, "{h:?}: {a} vs {w}");
            }
            let plain = block_on(e.scores(h, None)).unwrap();
            let other = &without[r * (n + 1)..(r + 1) * (n + 1)];
            for (a, w) in plain.iter().zip(other).skip(1) {
                assert!((a - w).abs() < 1e-5, "{h:?} without kinds: {a} vs {w}");
            }
            let moved: f32 = got.iter().zip(&plain).skip(1).map(|(a, b)| (a - b).abs()).sum();
            assert!(moved > 1e-3, "{h:?}: the kinds change the scores");
        }
    }
    // The unknown ids 0 and 99 are dropped with their kinds (Purchase, Purchase): the same
    // scores as the history without them.
    let clean = block_on(engine.scores(&[4, 5, 6, 7, 8], Some(&[View, Cart, View, Cart, Cart]))).unwrap();
    let batch = block_on(engine.scores_batch(&histories[1..2], Some(&kinds[1..2]))).unwrap();
    for (a, b) in clean.iter().zip(&batch).skip(1) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // Kinds that are not one per item: an error, not a panic or a silent mismatch.
    let e = block_on(engine.scores(&[1, 2], Some(&[View]))).unwrap_err();
    assert!(e.to_string().contains("2 items but 1 event kinds"), "{e}");
    let mut out = vec![0.0; n + 1];
    let e = native.score_batch_with_kinds(&[&[1, 2]], &[&[View]], &mut out).unwrap_err();
    assert!(e.to_string().contains("2 items but 1 event kinds"), "{e}");

    // A baseline reads no kinds: the same scores either way.
    let split = Split::new(ds, SplitSpec::LeaveOneOut).unwrap();
    let pop = localrec::model::baseline("markov", &split.train(Phase::Test)).unwrap();
    assert!(!pop.uses_kinds());
    let (mut a, mut b) = (vec![0.0; 3 * (n + 1)], vec![0.0; 3 * (n + 1)]);
    pop.score_batch(&histories, &mut a).unwrap();
    pop.score_batch_with_kinds(&histories, &kinds, &mut b).unwrap();
    assert_eq!(a, b);
}

/// A bundle written before kinds existed has no `use_kinds` in its config: it loads as a model
/// without kinds.
#[test]
fn bundles_without_the_kinds_setting_load_without_kinds() {
    let ds = dataset();
    let cfg = config(ds.num_items(), false);
    let device = Device::flex();
    device.seed(3);
    let mut bundle = bundle_of(&ds, &cfg, &cfg.init(&device).unwrap());
    let removed = bundle.manifest.encoder.config.as_object_mut().unwrap().remove("use_kinds");
    assert_eq!(removed, Some(serde_json::Value::Bool(false)));
    let native = localrec::model::from_bundle(&bundle).unwrap();
    assert!(!native.uses_kinds());
    let engine = Engine::new(&bundle, &Device::flex()).unwrap();
    assert!(!engine.uses_kinds());
    // Kinds that are not one per item are refused even by a model that does not read them.
    let e = block_on(engine.scores(&[1, 2], Some(&[EventKind::View]))).unwrap_err();
    assert!(e.to_string().contains("2 items but 1 event kinds"), "{e}");
    let e = block_on(engine.scores_batch(&[&[1, 2]], Some(&[]))).unwrap_err();
    assert!(e.to_string().contains("0 lists of event kinds for 1 histories"), "{e}");
}
