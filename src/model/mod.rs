//! Models: the [`Scorer`] trait (a model that scores the whole catalogue for a history; the
//! browser package's `Recommender` class is the shopper-facing runtime around one) and the models
//! that implement it.
//!
//! Every model scores the whole catalog for a user's history: the evaluation system
//! ([`crate::eval`]) ranks all items from those scores (full ranking), and the browser runtime
//! takes its top-k. The baselines here are exact and cheap; they also serve as the cold-start
//! fallback of the neural encoders.
//!
//! | name | model |
//! |---|---|
//! | `pop` | [`pop::MostPopular`]: interaction counts over the visible training data |
//! | `markov` | [`markov::Markov`]: first-order item→item transition counts |
//! | `itemknn` | [`itemknn::ItemKnn`]: item co-occurrence within a window, cosine-normalised |
//! | `sasrec` | [`sasrec::SasRec`] served by [`neural::NeuralScorer`]: a trained Transformer encoder (see `crate::train`) |
//! | `gru4rec` | [`gru4rec::Gru4Rec`]: a masked GRU over the item embeddings (served and trained the same way) |
//! | `lstm` | [`lstm::Lstm`]: the same with a masked LSTM |
//! | `attnpool` | [`attnpool::AttnPool`]: one causal attention step pooling the history, queried by the newest item |
//! | `bert4rec` | [`bert4rec::Bert4Rec`]: a bidirectional Transformer trained on the cloze task; the user vector is the state of an appended `[MASK]` |
//!
//! A bundle's encoder can also be served with its item table on the host ([`hosted::Hosted`]):
//! scored by plain Rust on the CPU, and the only way to serve a compressed (int8, product
//! quantised) table, whose bundle holds no f32 item embedding.
//!
//! The neural encoder kinds are listed once, in [`registry`] (adding one is a new file and one
//! line there); the recurrent ones share the pieces in `rnn.rs`, all of them [`neural`]'s. The sparse
//! item→item relations of `markov` and `itemknn` are stored as [`sparse::SparseRows`].

use crate::data::split::TrainSet;
use crate::error::{Error, Result};
use crate::events::EventKind;

pub mod attnpool;
pub mod bert4rec;
pub mod categories;
pub mod gru4rec;
pub mod hosted;
pub mod init;
pub mod itemknn;
pub mod lstm;
pub mod markov;
pub mod neural;
pub mod pop;
pub mod registry;
mod rnn;
pub mod sasrec;
pub mod sparse;

/// A model that scores every item of the catalog for a history.
pub trait Scorer: Send + Sync {
    /// The model's short name (`pop`, `sasrec`, ...).
    fn name(&self) -> &str;

    /// Number of real items; score rows have `num_items() + 1` entries (index 0 = padding).
    fn num_items(&self) -> usize;

    /// Scores every item for each history (oldest item first). `out` holds
    /// `histories.len()` rows of `num_items() + 1` scores, row `r` for `histories[r]`; the
    /// value at index 0 is ignored. Higher is better. Histories are never empty.
    fn score_batch(&self, histories: &[&[u32]], out: &mut [f32]) -> Result<()>;

    /// Whether [`score_batch_with_kinds`](Scorer::score_batch_with_kinds) reads the event kinds
    /// (a neural encoder trained with kinds); `false` for the baselines.
    fn uses_kinds(&self) -> bool {
        false
    }

    /// [`score_batch`](Scorer::score_batch) for histories whose events have kinds (view, cart,
    /// purchase, …): `kinds[r]` holds one kind per item of `histories[r]`, oldest first. A model
    /// that [`uses_kinds`](Scorer::uses_kinds) reads them; the default checks them and scores
    /// the items alone. What [`crate::eval::run`] calls, so that a model trained with kinds is
    /// evaluated with them.
    ///
    /// Errors: [`Error::Mismatch`] when `kinds` does not have one kind per history item; any
    /// error of `score_batch`.
    fn score_batch_with_kinds(&self, histories: &[&[u32]], kinds: &[&[EventKind]], out: &mut [f32]) -> Result<()> {
        check_kinds(histories, kinds)?;
        self.score_batch(histories, out)
    }
}

/// Checks that `kinds` holds one list per history and one kind per history item; the error
/// names the first history that differs.
pub(crate) fn check_kinds(histories: &[&[u32]], kinds: &[&[EventKind]]) -> Result<()> {
    if kinds.len() != histories.len() {
        return Err(Error::Mismatch(format!("{} lists of event kinds for {} histories", kinds.len(), histories.len())));
    }
    if let Some((r, (h, k))) = histories.iter().zip(kinds).enumerate().find(|(_, (h, k))| h.len() != k.len()) {
        return Err(Error::Mismatch(format!("history {r} has {} items but {} event kinds", h.len(), k.len())));
    }
    Ok(())
}

/// Names accepted by [`baseline`].
pub const BASELINES: [&str; 3] = ["pop", "markov", "itemknn"];

/// Fits the baseline called `name` on `train`.
pub fn baseline(name: &str, train: &TrainSet<'_>) -> Result<Box<dyn Scorer>> {
    match name {
        "pop" | "mostpop" | "most-popular" => Ok(Box::new(pop::MostPopular::fit(train))),
        "markov" | "fpmc-free" | "mc" => Ok(Box::new(markov::Markov::fit(train))),
        "itemknn" | "item-knn" | "knn" => {
            Ok(Box::new(itemknn::ItemKnn::fit(train, &itemknn::ItemKnnConfig::default())))
        }
        _ => Err(Error::invalid("model", format!("unknown model `{name}` (available: {})", BASELINES.join(", ")))),
    }
}

/// The shared body of the baselines' [`Scorer::score_batch`]: checks that `out` holds
/// `histories.len()` rows of `model.num_items() + 1` scores (an error naming `model` if not,
/// with `out` untouched), then calls `score(history, row)` for every history and its row.
pub(crate) fn score_rows<M: Scorer + ?Sized>(
    model: &M,
    histories: &[&[u32]],
    out: &mut [f32],
    mut score: impl FnMut(&[u32], &mut [f32]),
) -> Result<()> {
    let width = pop::check_out(model.name(), histories.len(), model.num_items(), out.len())?;
    for (h, row) in histories.iter().zip(out.chunks_exact_mut(width)) {
        score(h, row);
    }
    Ok(())
}

pub use registry::ENCODERS;

/// The recommender stored in a model bundle, ready to score on the CPU backend.
///
/// The bundle's encoder kind picks the model type ([`registry`]); its config builds a model of
/// the right shape, into which the weights are loaded (a shape mismatch is an error, never a
/// panic).
pub fn from_bundle(bundle: &crate::bundle::Bundle) -> Result<Box<dyn Scorer>> {
    from_bundle_on(bundle, &burn::tensor::Device::flex())
}

/// [`from_bundle`], scoring on `device` (e.g. a GPU) instead of the CPU backend.
pub fn from_bundle_on(bundle: &crate::bundle::Bundle, device: &burn::tensor::Device) -> Result<Box<dyn Scorer>> {
    if bundle.manifest.item_table.is_some() {
        let hosted = hosted_from_bundle(bundle, device)?;
        return Ok(Box::new(hosted::HostedScorer::new(&bundle.manifest.encoder.kind, hosted, device)));
    }
    struct Serve<'a>(&'a crate::bundle::Bundle, &'a burn::tensor::Device);
    impl registry::ForKind for Serve<'_> {
        type Out = Result<Box<dyn Scorer>>;
        fn run<C: neural::EncoderConfig>(self) -> Self::Out {
            let model = load::<C>(self.0, self.1)?;
            Ok(Box::new(neural::NeuralScorer::on(self.1, C::KIND, model)))
        }
    }
    for_bundle_kind(bundle, Serve(bundle, device))
}

/// The encoder stored in a model bundle, built on `device` (CPU flex or WebGPU) in inference
/// mode, behind a trait object: what the browser runtime ([`crate::serve`]) serves. Same checks
/// as [`from_bundle`].
/// A bundle with a compressed item table gives an error: its encoder has no item table (see
/// [`hosted_from_bundle`]).
pub fn encoder_from_bundle(bundle: &crate::bundle::Bundle, device: &burn::tensor::Device) -> Result<hosted::Encoder> {
    if let Some(spec) = &bundle.manifest.item_table {
        return Err(Error::Bundle {
            problem: format!("the bundle's item table is compressed ({}): serve it with its host table", spec.format),
        });
    }
    build_encoder(bundle, device, None)
}

/// The encoder stored in a bundle with its item table on the host ([`hosted::Hosted`]): for a
/// compressed table, a window model served from the table; otherwise the encoder with its own
/// table read back to the host (scored there instead of on `device`).
pub fn hosted_from_bundle(bundle: &crate::bundle::Bundle, device: &burn::tensor::Device) -> Result<hosted::Hosted> {
    match bundle.compressed_item_table()? {
        Some((table, extra)) => {
            let max_len = serde_json::from_value::<serde_json::Value>(bundle.manifest.encoder.config.clone())
                .ok()
                .and_then(|c| c.get("max_len").and_then(|v| v.as_u64()))
                .unwrap_or(50) as usize;
            let encoder = build_encoder(bundle, device, Some(hosted::Hosted::window_items(max_len)))?;
            hosted::Hosted::windowed(encoder, table, extra)
        }
        None => {
            let encoder = build_encoder(bundle, device, None)?;
            let values = crate::serve::block_on(neural::read_f32_async(encoder.table(), "the item table"))?;
            let table = crate::item_table::Dense::new(values, encoder.dim())?;
            hosted::Hosted::full(encoder, crate::item_table::ItemTable::Dense(table))
        }
    }
}

/// The bundle's encoder in inference mode; with `window`, built for that many items and
/// loaded without its item embedding (a compressed table's window model).
fn build_encoder(
    bundle: &crate::bundle::Bundle,
    device: &burn::tensor::Device,
    window: Option<usize>,
) -> Result<hosted::Encoder> {
    struct Encoder<'a>(&'a crate::bundle::Bundle, &'a burn::tensor::Device, Option<usize>);
    impl registry::ForKind for Encoder<'_> {
        type Out = Result<hosted::Encoder>;
        fn run<C: neural::EncoderConfig>(self) -> Self::Out {
            use burn::module::Module;
            Ok(Box::new(load_with::<C>(self.0, self.1, self.2)?.valid()))
        }
    }
    for_bundle_kind(bundle, Encoder(bundle, device, window))
}

/// Runs `task` for the bundle's encoder kind, or fails naming the kinds this localrec serves.
fn for_bundle_kind<T: registry::ForKind<Out = Result<R>>, R>(bundle: &crate::bundle::Bundle, task: T) -> Result<R> {
    let kind = bundle.manifest.encoder.kind.as_str();
    registry::for_kind(kind, task).unwrap_or_else(|| {
        Err(Error::Bundle {
            problem: format!("unknown encoder kind `{kind}` (this localrec serves: {})", ENCODERS.join(", ")),
        })
    })
}

/// The encoder of config type `C` stored in `bundle`, built on `device`: its config is checked
/// against the catalogue and the weights before anything is allocated.
fn load<C: neural::EncoderConfig>(bundle: &crate::bundle::Bundle, device: &burn::tensor::Device) -> Result<C::Model> {
    load_with::<C>(bundle, device, None)
}

/// [`load`]; with `window`, the model is built for `window` items and the weights loaded
/// without the item embedding (a bundle with a compressed item table, see [`hosted`]).
fn load_with<C: neural::EncoderConfig>(
    bundle: &crate::bundle::Bundle,
    device: &burn::tensor::Device,
    window: Option<usize>,
) -> Result<C::Model> {
    let m = &bundle.manifest;
    let kind = C::KIND;
    // Settings added after a bundle was written are missing from its config: they take the
    // encoder's defaults, which every such setting keeps equal to the behaviour before it
    // existed (e.g. sasrec's `categories` 0, ids only).
    let mut config = serde_json::to_value(C::from_options(m.num_items(), &registry::EncoderOptions::default()))
        .map_err(|e| Error::Bundle { problem: format!("could not build the default {kind} config: {e}") })?;
    match (&mut config, &m.encoder.config) {
        (serde_json::Value::Object(defaults), serde_json::Value::Object(given)) => {
            defaults.extend(given.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        _ => config = m.encoder.config.clone(),
    }
    let mut cfg: C = serde_json::from_value(config)
        .map_err(|e| Error::Bundle { problem: format!("the bundle's {kind} config is not valid: {e}") })?;
    if cfg.categories() > 0 {
        // A model trained with categories takes the items' lists from the catalogue.
        cfg.set_categories(cfg.categories(), categories::CategoryLists::from_catalogue(&m.categories));
    }
    if cfg.num_items() != m.num_items() {
        return Err(Error::Bundle {
            problem: format!(
                "the encoder is configured for {} items but the bundle lists {}",
                cfg.num_items(),
                m.num_items()
            ),
        });
    }
    // The weights the size check below counts: a window model's item embedding is not in the
    // weights (its rows come from the compressed table at each request), so it is counted
    // with one item; the window itself is bounded by `max_len`, which the check covers.
    let mut counted = None;
    if let Some(w) = window {
        if cfg.categories() > 0 {
            return Err(Error::Bundle {
                problem: "a compressed item table cannot serve an encoder that fuses item categories".into(),
            });
        }
        let with_items = |n: usize| -> Result<C> {
            let mut value = serde_json::to_value(&cfg)
                .map_err(|e| Error::Bundle { problem: format!("could not rebuild the {kind} config: {e}") })?;
            value["num_items"] = serde_json::json!(n);
            serde_json::from_value(value)
                .map_err(|e| Error::Bundle { problem: format!("could not rebuild the {kind} config: {e}") })
        };
        counted = Some(with_items(1)?.min_weights());
        cfg = with_items(w)?;
    }
    // Check the config against the weights before allocating anything: a tampered manifest
    // must not make the model ask for gigabytes (an allocation failure aborts, and in the
    // browser that kills the module). Every weight takes at least 2 bytes (f16 item table), so
    // a genuine bundle always passes.
    let needed = counted.unwrap_or_else(|| cfg.min_weights()).saturating_mul(2);
    if needed > bundle.weights.len() as u128 {
        return Err(Error::Bundle {
            problem: format!(
                "the {kind} config needs at least {needed} bytes of weights, the bundle holds {}",
                bundle.weights.len()
            ),
        });
    }
    cfg.validate().map_err(|e| Error::Bundle { problem: format!("the bundle's {kind} config: {e}") })?;
    let model = cfg.init(device)?;
    match window {
        None => crate::bundle::load_weights(model, &bundle.weights),
        Some(_) => crate::bundle::load_weights_without_item_table(model, &bundle.weights),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{Bundle, EncoderSpec, Manifest, weights_of};
    use crate::data::DatasetBuilder;
    use crate::events::{EventKind, SequenceOptions};
    use crate::model::neural::EncoderConfig;

    fn sasrec_bundle(config: serde_json::Value, weights: Vec<u8>) -> Bundle {
        bundle_of("sasrec", config, weights)
    }

    fn bundle_of(kind: &str, config: serde_json::Value, weights: Vec<u8>) -> Bundle {
        let mut b = DatasetBuilder::new("tiny");
        for (t, item) in ["a", "b", "c", "d"].iter().enumerate() {
            b.push("u", item, EventKind::View, t as i64);
        }
        let ds = b.build(&SequenceOptions::default()).unwrap();
        let encoder = EncoderSpec { kind: kind.into(), config };
        Bundle::new(Manifest::from_dataset(&ds, &ds.item_counts(), encoder, String::new()), weights)
    }

    #[test]
    fn bundles_load_and_oversized_configs_are_refused_before_allocating() {
        let _rng = crate::testing::rng_lock();
        let cfg = sasrec::SasRecConfig::new(4).with_d_model(8).with_max_len(5);
        let model = cfg.init(&burn::tensor::Device::flex()).unwrap();
        let weights = weights_of(&model).unwrap();
        let config = serde_json::to_value(&cfg).unwrap();
        let rec = from_bundle(&sasrec_bundle(config.clone(), weights.clone())).unwrap();
        assert_eq!((rec.name(), rec.num_items()), ("sasrec", 4));

        // The same weights under a config of 2^40-wide embeddings: refused by the size check
        // (an attempt to build the model would abort on allocation instead).
        let mut huge = config.clone();
        huge["d_model"] = serde_json::json!(1u64 << 40);
        let e = from_bundle(&sasrec_bundle(huge, weights.clone())).err().unwrap();
        assert!(e.to_string().contains("needs at least"), "{e}");

        // A config that fits the byte count but not the tensors is still an error.
        let mut wider = config;
        wider["d_model"] = serde_json::json!(4);
        assert!(from_bundle(&sasrec_bundle(wider, weights)).is_err());
    }

    /// Exports a freshly built model of `cfg` (4 items) into a bundle, loads it back, and checks
    /// the scores are those of the original model; then the oversized-config guard.
    fn round_trip<C: neural::EncoderConfig>(cfg: C) {
        let device = burn::tensor::Device::flex();
        device.seed(5);
        let model = cfg.init(&device).unwrap();
        let original = neural::NeuralScorer::new("original", model);
        let weights = weights_of(original.model()).unwrap();
        let config = serde_json::to_value(&cfg).unwrap();
        let loaded = from_bundle(&bundle_of(C::KIND, config.clone(), weights.clone())).unwrap();
        assert_eq!((loaded.name(), loaded.num_items()), (C::KIND, 4));
        let histories: [&[u32]; 4] = [&[1, 2, 3], &[4], &[2, 2, 1, 4, 3], &[3, 1]];
        let (mut a, mut b) = (vec![0.0; 4 * 5], vec![0.0; 4 * 5]);
        original.score_batch(&histories, &mut a).unwrap();
        loaded.score_batch(&histories, &mut b).unwrap();
        assert_eq!(a, b, "{}: the loaded model scores as the exported one", C::KIND);
        assert!(a[1..5].iter().zip(&a[6..10]).any(|(x, y)| x != y), "histories are told apart");

        let mut huge = config;
        huge["d_model"] = serde_json::json!(1u64 << 40);
        let e = from_bundle(&bundle_of(C::KIND, huge, weights)).err().unwrap();
        assert!(e.to_string().contains("needs at least"), "{e}");
    }

    /// A SASRec that fuses categories takes its lists from the bundle's catalogue: it scores
    /// as the exported model, the fusion changes the scores, and a catalogue whose lists do not
    /// fit the model is refused as a bad bundle.
    #[test]
    fn category_fusion_round_trips_through_the_catalogue() {
        let _rng = crate::testing::rng_lock();
        let mut b = DatasetBuilder::new("tiny");
        for (t, item) in ["a", "b", "c", "d"].iter().enumerate() {
            b.push("u", item, EventKind::View, t as i64);
        }
        b.set_item_meta("a", None, &["x"]);
        b.set_item_meta("c", None, &["x", "y"]);
        let ds = b.build(&SequenceOptions::default()).unwrap();
        let lists = categories::CategoryLists::of_items(&ds.meta, 4);
        let mut cfg = sasrec::SasRecConfig::new(4).with_d_model(8).with_d_ff(Some(16)).with_max_len(5);
        let device = burn::tensor::Device::flex();
        device.seed(5);
        let plain = neural::NeuralScorer::new("plain", cfg.init(&device).unwrap());
        cfg.set_categories(2, lists);
        device.seed(5);
        let fused = neural::NeuralScorer::new("fused", cfg.init(&device).unwrap());
        let weights = weights_of(fused.model()).unwrap();
        let config = serde_json::to_value(&cfg).unwrap();
        assert_eq!(
            (config["categories"].clone(), config["item_categories"].clone()),
            (2.into(), serde_json::Value::Null)
        );
        let encoder = EncoderSpec { kind: "sasrec".into(), config };
        let bundle = Bundle::new(Manifest::from_dataset(&ds, &ds.item_counts(), encoder, String::new()), weights);
        let loaded = from_bundle(&bundle).unwrap();
        let histories: [&[u32]; 2] = [&[1, 2, 3], &[4]];
        let (mut a, mut b, mut c) = (vec![0.0; 10], vec![0.0; 10], vec![0.0; 10]);
        fused.score_batch(&histories, &mut a).unwrap();
        loaded.score_batch(&histories, &mut b).unwrap();
        plain.score_batch(&histories, &mut c).unwrap();
        assert_eq!(a, b, "the loaded fused model scores as the exported one");
        assert_ne!(a, c, "the categories change the scores");

        let mut other = bundle.clone();
        other.manifest.categories[2] = vec![5];
        let e = from_bundle(&other).err().unwrap();
        assert!(matches!(e, Error::Bundle { .. }), "{e}");
        let mut none = bundle;
        none.manifest.categories.pop();
        assert!(matches!(from_bundle(&none).err().unwrap(), Error::Bundle { .. }));
    }

    /// A bundle written before a setting existed has no entry for it: it loads, the setting
    /// taking the default that reproduces the model it was (here sasrec's `linear_init`,
    /// `categories` and `item_categories`, added after bundles of format 1 were written).
    #[test]
    fn bundles_written_before_a_setting_existed_still_load() {
        let _rng = crate::testing::rng_lock();
        let cfg = sasrec::SasRecConfig::new(4).with_d_model(8).with_d_ff(None).with_max_len(5);
        let model = cfg.init(&burn::tensor::Device::flex()).unwrap();
        let weights = weights_of(&model).unwrap();
        let mut config = serde_json::to_value(&cfg).unwrap();
        for key in ["linear_init", "categories", "item_categories"] {
            config.as_object_mut().unwrap().remove(key).unwrap();
        }
        let rec = from_bundle(&sasrec_bundle(config, weights)).unwrap();
        assert_eq!(rec.num_items(), 4);
    }

    #[test]
    fn every_encoder_kind_round_trips_through_a_bundle() {
        let _rng = crate::testing::rng_lock();
        round_trip(sasrec::SasRecConfig::new(4).with_d_model(8).with_max_len(5));
        round_trip(gru4rec::Gru4RecConfig::new(4).with_d_model(8).with_max_len(5).with_n_layers(2));
        round_trip(lstm::LstmConfig::new(4).with_d_model(8).with_max_len(5).with_d_hidden(Some(6)));
        round_trip(attnpool::AttnPoolConfig::new(4).with_d_model(8).with_max_len(5).with_use_kinds(true));
        round_trip(bert4rec::Bert4RecConfig::new(4).with_d_model(8).with_max_len(5));
        let e = from_bundle(&bundle_of("gpt", serde_json::json!({}), vec![])).err().unwrap();
        assert!(e.to_string().contains("bert4rec"), "{e}");
    }
}
