//! The manifest: what a bundle's weights are and how to use them (encoder, item catalogue,
//! popularity, training data, metrics), and the checks that it agrees with itself.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{FORMAT_VERSION, bundle_err};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::events::ItemVocab;
use crate::item_table::TableSpec;

/// Which sequence encoder the weights belong to, and how to build it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EncoderSpec {
    /// The encoder's name: `"sasrec"`, `"gru4rec"`, ...
    pub kind: String,
    /// The encoder's `Config`, serialised as JSON; enough to build a model of the right shape
    /// before the weights are loaded into it.
    pub config: serde_json::Value,
}

impl EncoderSpec {
    /// The spec of an encoder called `kind` built from `config` (any serialisable config,
    /// e.g. [`SasRecConfig`](crate::model::sasrec::SasRecConfig)).
    pub fn of<C: Serialize>(kind: &str, config: &C) -> Result<EncoderSpec> {
        let config = serde_json::to_value(config)
            .map_err(|e| Error::Output(format!("could not serialise the {kind} config: {e}")))?;
        Ok(EncoderSpec { kind: kind.to_string(), config })
    }
}

/// The data a bundle's model was trained on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainedOn {
    /// Dataset name (`beauty`, `ml-100k`, a file stem).
    pub name: String,
    /// [`Dataset::fingerprint`] of the whole dataset.
    pub fingerprint: String,
    /// Number of users (sequences).
    pub users: u64,
    /// Number of interactions.
    pub interactions: u64,
}

/// What a bundle holds besides the weights. Serialised as JSON with these field names; they are
/// part of the file format and do not change within a [`FORMAT_VERSION`]. Unknown fields are
/// ignored when reading.
///
/// The per-item vectors (`items`, `titles`, `categories`, `popularity`) have one entry per
/// item, in index order: entry `k` describes item index `k + 1` (index 0 is padding and has no
/// entry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Bundle format version; equals the version in the file header.
    pub format_version: u32,
    /// Version of the localrec that wrote the bundle.
    pub localrec_version: String,
    /// When the bundle was made, as the caller wrote it (e.g. RFC 3339).
    pub created: String,
    /// The encoder the weights belong to.
    pub encoder: EncoderSpec,
    /// External item ids in index order (`items[k]` is item `k + 1`); unique, never empty.
    pub items: Vec<String>,
    /// Item titles, one per item (`None` when unknown). In a file with a compressed item
    /// table, absent when no item has a title.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub titles: Vec<Option<String>>,
    /// Each item's category indices into `category_names`, one list per item. In a file with a
    /// compressed item table, absent when no item has a category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<Vec<u32>>,
    /// Category names.
    pub category_names: Vec<String>,
    /// Training interaction count of each item, one per item: the cold-start fallback and the
    /// popularity ranking.
    pub popularity: Vec<u32>,
    /// The training data.
    pub data: TrainedOn,
    /// Evaluation results, e.g. `"test ndcg@10"`. JSON has no NaN: a non-finite value is
    /// written as `null` and read back as NaN.
    #[serde(default, deserialize_with = "metrics_with_nan")]
    pub metrics: BTreeMap<String, f64>,
    /// SHA-256 of the weights bytes, lower-case hex.
    pub weights_sha256: String,
    /// True when the item embedding table is stored as f16 (see [`weights_with`](super::weights_with)).
    #[serde(default)]
    pub half_precision_items: bool,
    /// How the weights were trained, when known (absent in bundles made by other tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingInfo>,
    /// A compressed item table (int8 or product quantisation, `localrec export --items`)
    /// stored in the weights in place of the model's item embedding; absent: the table is the
    /// model's own (f32, or f16 with `half_precision_items`). See [`crate::item_table`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_table: Option<TableSpec>,
}

/// How a bundle's model was trained: enough to reproduce it and to report it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingInfo {
    /// The command that trained it, e.g. `localrec train --model sasrec --data beauty`.
    pub command: String,
    /// The backend that ran the training, e.g. `cpu (flex)`.
    pub backend: String,
    /// The epoch whose weights were kept (best validation NDCG@10).
    pub best_epoch: usize,
    /// Epochs run while choosing the epoch (a refit runs `best_epoch` more).
    pub epochs: usize,
    /// Mean wall seconds of an epoch's training part (validation excluded).
    pub seconds_per_epoch: f64,
    /// Wall seconds of the whole run.
    pub seconds: f64,
    /// Whether the weights were retrained on the test phase's training data after the epoch
    /// was chosen on validation (`localrec train --refit`).
    #[serde(default)]
    pub refit: bool,
}

impl Manifest {
    /// A manifest for a model trained on `ds`: items, titles and categories from the dataset,
    /// popularity from `train_counts`, data info from the dataset, `localrec_version` from this
    /// crate. `metrics` is empty, `weights_sha256` is filled in by [`Bundle::new`](super::Bundle::new).
    ///
    /// `train_counts` is indexed by item index like [`Dataset::item_counts`] and
    /// [`MostPopular::counts`](crate::model::pop::MostPopular::counts): `num_items + 1` entries,
    /// entry 0 (padding) ignored; missing entries count as 0. Pass the counts of the data the
    /// model was trained on, not of the whole dataset, so that held-out items do not leak.
    pub fn from_dataset(ds: &Dataset, train_counts: &[u32], encoder: EncoderSpec, created: String) -> Manifest {
        let n = ds.num_items();
        let meta = &ds.meta;
        Manifest {
            format_version: FORMAT_VERSION,
            localrec_version: env!("CARGO_PKG_VERSION").to_string(),
            created,
            encoder,
            items: ds.items.ids().to_vec(),
            titles: (1..=n).map(|i| meta.titles.get(i).cloned().flatten()).collect(),
            categories: (1..=n).map(|i| meta.categories_of(i as u32).to_vec()).collect(),
            category_names: meta.category_names.clone(),
            popularity: (1..=n).map(|i| train_counts.get(i).copied().unwrap_or(0)).collect(),
            data: TrainedOn {
                name: ds.name.clone(),
                fingerprint: ds.fingerprint(),
                users: ds.num_users() as u64,
                interactions: ds.num_interactions() as u64,
            },
            metrics: BTreeMap::new(),
            weights_sha256: String::new(),
            half_precision_items: false,
            training: None,
            item_table: None,
        }
    }

    /// The manifest as written to a file: with a compressed item table (a bundle only this
    /// localrec or a later one reads), `titles` and `categories` are left out when no item has
    /// one, which saves 8 bytes per item (8 MB of a million-item catalogue).
    /// [`Manifest::expand_compact`] restores them on reading.
    pub(super) fn compact(&self) -> std::borrow::Cow<'_, Manifest> {
        let no_titles = self.titles.iter().all(Option::is_none);
        let no_categories = self.categories.iter().all(Vec::is_empty);
        if self.item_table.is_none() || !(no_titles || no_categories) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut m = self.clone();
        if no_titles {
            m.titles.clear();
        }
        if no_categories {
            m.categories.clear();
        }
        std::borrow::Cow::Owned(m)
    }

    /// Undoes [`Manifest::compact`]: a manifest with a compressed item table and no `titles` or
    /// `categories` gets one empty entry per item.
    pub(super) fn expand_compact(&mut self) {
        if self.item_table.is_some() {
            let n = self.items.len();
            if self.titles.is_empty() {
                self.titles = vec![None; n];
            }
            if self.categories.is_empty() {
                self.categories = vec![Vec::new(); n];
            }
        }
    }

    /// Number of items (padding excluded).
    pub fn num_items(&self) -> usize {
        self.items.len()
    }

    /// The item vocabulary: `items[k]` gets index `k + 1`.
    pub fn vocab(&self) -> Result<ItemVocab> {
        ItemVocab::from_ids(self.items.iter().cloned())
    }

    /// Popularity indexed by item index (`num_items() + 1` entries, entry 0 is 0), the layout
    /// the models use.
    pub fn popularity_by_index(&self) -> Vec<u32> {
        std::iter::once(0).chain(self.popularity.iter().copied()).collect()
    }

    /// Checks that the manifest agrees with itself: every per-item vector has one entry per
    /// item, item ids are non-empty and unique, category indices are in range, the encoder is
    /// named, the checksum is 64 hex digits and a compressed item table fits the catalogue.
    pub fn validate(&self) -> Result<()> {
        let n = self.items.len();
        if let Some(spec) = &self.item_table {
            spec.check(n)?;
        }
        for (field, len) in [
            ("titles", self.titles.len()),
            ("categories", self.categories.len()),
            ("popularity", self.popularity.len()),
        ] {
            if len != n {
                return Err(bundle_err(format!(
                    "inconsistent bundle manifest: {n} items but {len} entries in `{field}`"
                )));
            }
        }
        let mut seen = HashSet::with_capacity(n);
        for (k, id) in self.items.iter().enumerate() {
            if id.is_empty() {
                return Err(bundle_err(format!("inconsistent bundle manifest: item {} has an empty id", k + 1)));
            }
            if !seen.insert(id.as_str()) {
                return Err(bundle_err(format!("inconsistent bundle manifest: duplicate item id `{id}`")));
            }
        }
        let nc = self.category_names.len();
        for (k, cats) in self.categories.iter().enumerate() {
            if let Some(&c) = cats.iter().find(|&&c| c as usize >= nc) {
                return Err(bundle_err(format!(
                    "inconsistent bundle manifest: item `{}` has category {c}, but there are only {nc} categories",
                    self.items[k]
                )));
            }
        }
        if self.encoder.kind.trim().is_empty() {
            return Err(bundle_err("inconsistent bundle manifest: the encoder kind is empty"));
        }
        if self.weights_sha256.len() != 64 || !self.weights_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bundle_err(format!(
                "inconsistent bundle manifest: `weights_sha256` is `{}`, not 64 hex digits",
                self.weights_sha256
            )));
        }
        Ok(())
    }
}

/// Reads metric values, taking `null` (how serde_json writes NaN and infinities) as NaN.
fn metrics_with_nan<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<BTreeMap<String, f64>, D::Error> {
    let m = BTreeMap::<String, Option<f64>>::deserialize(d)?;
    Ok(m.into_iter().map(|(k, v)| (k, v.unwrap_or(f64::NAN))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::fixtures::Tiny;
    use crate::bundle::{Bundle, weights_of};
    use crate::data::DatasetBuilder;
    use crate::events::{EventKind, SequenceOptions};

    #[test]
    fn from_dataset_and_vocab() {
        let _rng = crate::testing::rng_lock();
        let mut b = DatasetBuilder::new("shop");
        for (u, items) in [("ann", ["tea", "cups", "kettle"]), ("bob", ["tea", "kettle", "cups"])] {
            for (t, item) in items.iter().enumerate() {
                b.push(u, item, EventKind::View, t as i64);
            }
        }
        b.set_item_meta("cups", Some("Two cups".into()), &["kitchen"]);
        let ds = b.build(&SequenceOptions::default()).unwrap();
        let counts = ds.item_counts();
        let spec = EncoderSpec { kind: "sasrec".into(), config: serde_json::json!({}) };
        let m = Manifest::from_dataset(&ds, &counts, spec, "now".into());
        assert_eq!(m.items, ds.items.ids());
        assert_eq!(m.popularity, counts[1..]);
        assert_eq!(m.popularity_by_index(), counts);
        assert_eq!(m.data.users, 2);
        assert_eq!(m.data.interactions, 6);
        assert_eq!(m.data.fingerprint, ds.fingerprint());
        let cups = ds.items.lookup("cups").unwrap() as usize;
        assert_eq!(m.titles[cups - 1].as_deref(), Some("Two cups"));
        assert_eq!(m.categories[cups - 1].len(), 1);
        let vocab = m.vocab().unwrap();
        assert_eq!(vocab.ids(), ds.items.ids());

        // Through bytes and back, with weights; a NaN metric survives as NaN.
        let mut m = m;
        m.metrics.insert("test hr@10".into(), 0.5);
        let bundle = Bundle::new(m, weights_of(&Tiny::new(4, 2, 2, 5)).unwrap());
        assert_eq!(Bundle::from_bytes(&bundle.to_bytes()).unwrap(), bundle);
        let mut nan = bundle.clone();
        nan.manifest.metrics.insert("broken".into(), f64::NAN);
        let back = Bundle::from_bytes(&nan.to_bytes()).unwrap();
        assert!(back.manifest.metrics["broken"].is_nan());
        assert_eq!(back.manifest.metrics["test hr@10"], 0.5);
    }
}
