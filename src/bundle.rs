//! Model bundles: one self-describing file that carries a trained model to the browser.
//!
//! A bundle holds everything inference needs and nothing it does not: the encoder's kind and
//! configuration, the item catalogue (external ids in index order, titles, categories), the
//! training popularity counts (the cold-start fallback and popularity ranking), where the model
//! came from (dataset name, fingerprint, size, metrics) and the weights. The core API works on
//! bytes only, so it is the same in native code and in WebAssembly; native code also has
//! [`Bundle::save_file`] and [`Bundle::load_file`].
//!
//! # File layout
//!
//! All integers are little-endian.
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `LRECBNDL` |
//! | 8 | 4 | format version, `u32` ([`FORMAT_VERSION`]) |
//! | 12 | 8 | manifest length `m`, `u64` |
//! | 20 | `m` | the [`Manifest`], UTF-8 JSON |
//! | 20 + `m` | 8 | weights length `w`, `u64` |
//! | 28 + `m` | `w` | the weights, a [safetensors](https://huggingface.co/docs/safetensors) file |
//!
//! Nothing follows the weights. The manifest comes first so that a reader can show what a
//! bundle is without touching the weights, and it is JSON so that a person (or `head -c`) can
//! read it; the weights are a standard safetensors file, so other tools can open them too. The
//! manifest records the SHA-256 of the weights ([`Manifest::weights_sha256`]), which
//! [`Bundle::from_bytes`] checks.
//!
//! # Example
//!
//! ```
//! use localrec::bundle::{Bundle, TrainedOn, EncoderSpec, Manifest};
//!
//! let manifest = Manifest {
//!     format_version: localrec::bundle::FORMAT_VERSION,
//!     localrec_version: env!("CARGO_PKG_VERSION").into(),
//!     created: "2026-11-23T12:00:00Z".into(),
//!     encoder: EncoderSpec { kind: "sasrec".into(), config: serde_json::json!({ "dim": 64 }) },
//!     items: vec!["tea".into(), "cups".into()],
//!     titles: vec![Some("Green tea".into()), None],
//!     categories: vec![vec![0], vec![]],
//!     category_names: vec!["kitchen".into()],
//!     popularity: vec![3, 1],
//!     data: TrainedOn { name: "shop".into(), fingerprint: "0123".into(), users: 2, interactions: 4 },
//!     metrics: Default::default(),
//!     weights_sha256: String::new(), // filled in by `Bundle::new`
//!     half_precision_items: false,
//!     training: None,
//! };
//! let bundle = Bundle::new(manifest, b"weights would go here".to_vec());
//! let bytes = bundle.to_bytes();
//! let back = Bundle::from_bytes(&bytes)?;
//! assert_eq!(back, bundle);
//! assert_eq!(back.manifest.vocab()?.lookup("cups")?, 2);
//! assert!(Bundle::from_bytes(b"PK\x03\x04 a zip file").is_err());
//! # Ok::<(), localrec::Error>(())
//! ```

use std::collections::{BTreeMap, HashSet};

use burn::module::Module;
use burn::store::{ApplyError, ModuleAdapter, ModuleContext, ModuleSnapshot, SafetensorsStore, bridge};
use burn::tensor::DType;
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::events::ItemVocab;

/// The first eight bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"LRECBNDL";

/// The bundle format version this localrec writes and reads.
///
/// - 2: position embeddings count back from the newest item (SASRec, BERT4Rec, attention
///   pooling); the manifest may carry `training`. Version-1 weights would be misread, so they
///   are refused: retrain.
/// - 1: first version.
pub const FORMAT_VERSION: u32 = 2;

/// Bytes before the manifest: magic, version, manifest length.
const HEADER_LEN: usize = 8 + 4 + 8;

fn bundle_err(problem: impl Into<String>) -> Error {
    Error::Bundle { problem: problem.into() }
}

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
    /// Item titles, one per item (`None` when unknown).
    pub titles: Vec<Option<String>>,
    /// Each item's category indices into `category_names`, one list per item.
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
    /// True when the item embedding table is stored as f16 (see [`weights_with`]).
    #[serde(default)]
    pub half_precision_items: bool,
    /// How the weights were trained, when known (absent in bundles made by other tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingInfo>,
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
    /// crate. `metrics` is empty, `weights_sha256` is filled in by [`Bundle::new`].
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
    /// named and the checksum is 64 hex digits.
    pub fn validate(&self) -> Result<()> {
        let n = self.items.len();
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

/// A manifest and the weights it describes.
#[derive(Clone, Debug, PartialEq)]
pub struct Bundle {
    /// What the weights are and how to use them.
    pub manifest: Manifest,
    /// The weights, a safetensors file (see [`weights_of`]).
    pub weights: Vec<u8>,
}

impl Bundle {
    /// A bundle of `manifest` and `weights`; sets the manifest's `format_version` to
    /// [`FORMAT_VERSION`] and its `weights_sha256` to the checksum of `weights`.
    pub fn new(mut manifest: Manifest, weights: Vec<u8>) -> Bundle {
        manifest.format_version = FORMAT_VERSION;
        manifest.weights_sha256 = sha256_hex(&weights);
        Bundle { manifest, weights }
    }

    /// The bundle as one file (layout in the [module docs](self)). The header and manifest
    /// always state [`FORMAT_VERSION`] and the checksum of `self.weights`, whatever the fields
    /// say, so the output always reads back.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut manifest = self.manifest.clone();
        manifest.format_version = FORMAT_VERSION;
        manifest.weights_sha256 = sha256_hex(&self.weights);
        // A manifest is strings, numbers and maps with string keys: serialisation cannot fail.
        let json = serde_json::to_vec(&manifest).expect("a manifest always serialises to JSON");
        let mut out = Vec::with_capacity(HEADER_LEN + json.len() + 8 + self.weights.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&(self.weights.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.weights);
        out
    }

    /// Reads a bundle written by [`Bundle::to_bytes`]. Checks, in order: the magic, the format
    /// version, the lengths, the manifest JSON, the weights checksum, the manifest's
    /// consistency ([`Manifest::validate`]). The error names the first problem found. Never
    /// panics, whatever the input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Bundle> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bundle_err("not a localrec bundle (the file does not start with `LRECBNDL`)"));
        }
        let mut r = Reader { bytes, pos: MAGIC.len() };
        let version = u32::from_le_bytes(r.array("the format version")?);
        if version != FORMAT_VERSION {
            return Err(bundle_err(format!(
                "bundle format version {version}, this localrec reads version {FORMAT_VERSION}"
            )));
        }
        let manifest_len = r.length("manifest")?;
        let manifest_bytes = r.take(manifest_len, "manifest")?;
        let weights_len = r.length("weights")?;
        let weights = r.take(weights_len, "weights")?;
        if r.pos != bytes.len() {
            return Err(bundle_err(format!(
                "corrupted bundle: {} unexpected bytes after the weights",
                bytes.len() - r.pos
            )));
        }
        let manifest: Manifest = serde_json::from_slice(manifest_bytes)
            .map_err(|e| bundle_err(format!("the bundle manifest is not valid: {e}")))?;
        if manifest.format_version != version {
            return Err(bundle_err(format!(
                "inconsistent bundle: the header says format version {version}, the manifest {}",
                manifest.format_version
            )));
        }
        if !sha256_hex(weights).eq_ignore_ascii_case(&manifest.weights_sha256) {
            return Err(bundle_err("weights checksum mismatch: the bundle is corrupted or was modified"));
        }
        manifest.validate()?;
        Ok(Bundle { manifest, weights: weights.to_vec() })
    }

    /// Writes the bundle to `path` atomically: to a temporary file beside it, then renamed over
    /// it, so a reader never sees half a bundle.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn save_file(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        use std::io::Write;

        let path = path.as_ref();
        let name =
            path.file_name().ok_or_else(|| Error::invalid("path", format!("{} is not a file", path.display())))?;
        let tmp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.to_bytes())?;
            f.sync_all()
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::io(&tmp, e));
        }
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io(path, e)
        })
    }

    /// Reads a bundle from `path` (see [`Bundle::from_bytes`]); errors name the file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_file(path: impl AsRef<std::path::Path>) -> Result<Bundle> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Bundle::from_bytes(&bytes).map_err(|e| match e {
            Error::Bundle { problem } => bundle_err(format!("{}: {problem}", path.display())),
            other => other,
        })
    }
}

/// A cursor over the bundle bytes that never reads past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(bundle_err(format!(
                "truncated bundle: expected {n} bytes of {what}, found {}",
                self.remaining()
            )));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// A u64 length, which must fit in what is left of the input.
    fn length(&mut self, what: &str) -> Result<usize> {
        let n = u64::from_le_bytes(self.array(&format!("the {what} length"))?);
        let left = self.remaining();
        match usize::try_from(n) {
            Ok(n) if n <= left => Ok(n),
            _ => Err(bundle_err(format!("truncated bundle: expected {n} bytes of {what}, found {left}"))),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Weights

/// True for the item embedding table: a tensor whose name contains `item` and, after it, `emb`
/// (`item_emb.weight`, `items.embedding.weight`), case-insensitively.
fn is_item_table(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.find("item").is_some_and(|i| name[i + 4..].contains("emb"))
}

/// Casts tensors on their way into or out of safetensors. Saving (`save = true`): the item
/// table F32 → F16. Loading: every F16 tensor → F32 (the models compute in f32).
#[derive(Clone, Debug)]
struct HalfItems {
    save: bool,
}

impl ModuleAdapter for HalfItems {
    fn adapt(&self, tensor: burn::store::burn_pack::Tensor, _ctx: ModuleContext<'_>) -> burn::store::burn_pack::Tensor {
        let target = match (self.save, tensor.dtype) {
            (true, DType::F32) if is_item_table(&tensor.name) => DType::F16,
            (false, DType::F16) => DType::F32,
            _ => return tensor,
        };
        let (name, shape) = (tensor.name.clone(), tensor.shape.clone());
        bridge::map_data(tensor, name, target, shape, move |data| data.convert_dtype(target))
    }

    fn clone_box(&self) -> Box<dyn ModuleAdapter> {
        Box::new(self.clone())
    }
}

/// The weights of `model` as safetensors bytes, every tensor in its own dtype (f32).
///
/// Reads every tensor back from its device synchronously, which a browser does not allow:
/// export natively.
pub fn weights_of<M: Module>(model: &M) -> Result<Vec<u8>> {
    weights_with(model, false)
}

/// Like [`weights_of`]; with `half_precision_items`, the item embedding table (the tensor
/// whose name contains `item` followed by `emb`, e.g. `item_emb.weight`) is stored as f16,
/// which halves the largest part of most bundles. [`load_weights`] turns it back into f32.
/// Set [`Manifest::half_precision_items`] to match.
pub fn weights_with<M: Module>(model: &M, half_precision_items: bool) -> Result<Vec<u8>> {
    let mut store = SafetensorsStore::from_bytes(None);
    if half_precision_items {
        store = store.with_to_adapter(HalfItems { save: true });
    }
    model.save_into(&mut store).map_err(|e| bundle_err(format!("could not export the weights: {e}")))?;
    store.get_bytes().map_err(|e| bundle_err(format!("could not export the weights: {e}")))
}

/// The same weights with the item embedding table (the tensor [`weights_with`] would halve)
/// stored as f16 (`half_precision_items`) or as f32, every other tensor and the metadata
/// unchanged. Works on the safetensors bytes alone, whatever the encoder. Converting f32 to f16
/// rounds each value to nearest (relative error ≤ 2⁻¹¹ for normal values); f16 back to f32 is
/// exact, so it does not restore the precision the table lost.
#[cfg(not(target_arch = "wasm32"))]
pub fn recode_weights(weights: &[u8], half_precision_items: bool) -> Result<Vec<u8>> {
    use burn::tensor::TensorData;
    use safetensors::tensor::TensorView;
    use safetensors::{Dtype, SafeTensors};

    let bad = |e: safetensors::SafeTensorError| bundle_err(format!("the weights could not be read: {e}"));
    let (_, meta) = SafeTensors::read_metadata(weights).map_err(bad)?;
    let st = SafeTensors::deserialize(weights).map_err(bad)?;
    let convert = |view: &TensorView<'_>, from: DType, to: DType| -> Result<Vec<u8>> {
        let data = TensorData::try_from_bytes_vec(view.data().to_vec(), view.shape().to_vec(), from)
            .map_err(|e| bundle_err(format!("the weights could not be read: {e:?}")))?;
        Ok(data.convert_dtype(to).as_bytes().to_vec())
    };
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        let (dtype, bytes) = match (half_precision_items, view.dtype()) {
            (true, Dtype::F32) if is_item_table(&name) => (Dtype::F16, convert(&view, DType::F32, DType::F16)?),
            (false, Dtype::F16) if is_item_table(&name) => (Dtype::F32, convert(&view, DType::F16, DType::F32)?),
            (_, d) => (d, view.data().to_vec()),
        };
        tensors.push((name, dtype, view.shape().to_vec(), bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            Ok((name.as_str(), TensorView::new(*dtype, shape.clone(), bytes).map_err(bad)?))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, meta.metadata().clone())
        .map_err(|e| bundle_err(format!("could not write the weights: {e}")))
}

/// One tensor of a weights file: name, dtype (`F32`, `F16`, ...) and shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's path in the module, e.g. `item_emb.weight`.
    pub name: String,
    /// The stored element type, as safetensors names it.
    pub dtype: String,
    /// The shape.
    pub shape: Vec<usize>,
    /// Whether it is the item embedding table (what [`weights_with`] can store as f16).
    pub item_table: bool,
}

/// The tensors in safetensors `weights`, sorted by name.
#[cfg(not(target_arch = "wasm32"))]
pub fn weight_tensors(weights: &[u8]) -> Result<Vec<TensorInfo>> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(weights)
        .map_err(|e| bundle_err(format!("the weights could not be read: {e}")))?;
    let mut out: Vec<TensorInfo> = meta
        .tensors()
        .into_iter()
        .map(|(name, info)| TensorInfo {
            item_table: is_item_table(&name),
            dtype: format!("{:?}", info.dtype),
            shape: info.shape.clone(),
            name,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

impl Bundle {
    /// This bundle with its item table re-encoded by [`recode_weights`] (f16 with
    /// `half_precision_items`, f32 without), the manifest's flag and checksum to match.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn recoded(&self, half_precision_items: bool) -> Result<Bundle> {
        let mut manifest = self.manifest.clone();
        manifest.half_precision_items = half_precision_items;
        Ok(Bundle::new(manifest, recode_weights(&self.weights, half_precision_items)?))
    }
}

/// Loads safetensors `bytes` (from [`weights_of`] or [`weights_with`]) into `model`, a freshly
/// initialised model of the configuration the weights were trained with, and returns it. f16
/// tensors are converted to f32.
///
/// Every tensor of the model must be in the weights with the same shape, and the weights must
/// hold no other tensor; otherwise the error names the tensors that differ (usually the model
/// was built with another config).
pub fn load_weights<M: Module>(model: M, bytes: &[u8]) -> Result<M> {
    let mut model = model;
    let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec()))
        .validate(false)
        .allow_partial(true)
        .with_from_adapter(HalfItems { save: false });
    let result = model.load_from(&mut store).map_err(|e| bundle_err(format!("the weights could not be read: {e}")))?;
    if !result.errors.is_empty() {
        let problems: Vec<String> = result.errors.iter().map(describe_apply_error).collect();
        return Err(bundle_err(format!(
            "the weights do not fit the model (was it built with another config?): {}",
            problems.join("; ")
        )));
    }
    if !result.missing.is_empty() {
        let names: Vec<&str> = result.missing.iter().map(|(path, _)| path.as_str()).collect();
        return Err(bundle_err(format!(
            "the weights do not fit the model (was it built with another config?): missing tensors {}",
            names.join(", ")
        )));
    }
    if !result.unused.is_empty() {
        return Err(bundle_err(format!(
            "the weights do not fit the model (was it built with another config?): tensors the model does not have: {}",
            result.unused.join(", ")
        )));
    }
    Ok(model)
}

fn describe_apply_error(e: &ApplyError) -> String {
    match e {
        ApplyError::ShapeMismatch { path, expected, found } => {
            format!("tensor `{path}` has shape {found} in the weights, the model expects {expected}")
        }
        ApplyError::DTypeMismatch { path, expected, found } => {
            format!("tensor `{path}` has dtype {found:?} in the weights, the model expects {expected:?}")
        }
        ApplyError::AdapterError { path, message } | ApplyError::LoadError { path, message } => {
            format!("tensor `{path}`: {message}")
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4, by the `sha2` crate)

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}

/// SHA-256 of `data` as 64 lower-case hex digits.
pub fn sha256_hex(data: &[u8]) -> String {
    sha256(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
    use burn::tensor::{Device, Int, Tensor};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::data::DatasetBuilder;
    use crate::events::{EventKind, SequenceOptions};

    #[derive(Module, Debug)]
    struct Tiny {
        item_emb: Embedding,
        lin: Linear,
    }

    impl Tiny {
        fn new(items: usize, dim: usize, out: usize, seed: u64) -> Tiny {
            let device = Device::flex();
            device.seed(seed);
            Tiny {
                item_emb: EmbeddingConfig::new(items, dim).init(&device),
                lin: LinearConfig::new(dim, out).init(&device),
            }
        }

        fn forward(&self) -> Vec<f32> {
            let ids = Tensor::<2, Int>::from_ints([[1, 2, 3], [4, 0, 5]], &Device::flex());
            let out = self.lin.forward(self.item_emb.forward(ids));
            out.into_data().as_slice::<f32>().unwrap().to_vec()
        }
    }

    fn manifest(n: usize) -> Manifest {
        Manifest {
            format_version: FORMAT_VERSION,
            localrec_version: env!("CARGO_PKG_VERSION").into(),
            created: "2026-11-23T12:00:00Z".into(),
            encoder: EncoderSpec { kind: "tiny".into(), config: serde_json::json!({ "items": n + 1, "dim": 4 }) },
            items: (1..=n).map(|i| format!("item-{i}")).collect(),
            titles: (1..=n).map(|i| (i % 2 == 0).then(|| format!("Title {i}"))).collect(),
            categories: (1..=n).map(|i| if i % 3 == 0 { vec![0, 1] } else { vec![] }).collect(),
            category_names: vec!["a".into(), "b".into()],
            popularity: (1..=n).map(|i| i as u32 * 7).collect(),
            data: TrainedOn { name: "test".into(), fingerprint: "00ff".into(), users: 3, interactions: 12 },
            metrics: [("test ndcg@10".to_string(), 0.25)].into_iter().collect(),
            weights_sha256: String::new(),
            half_precision_items: false,
            training: Some(TrainingInfo {
                command: "localrec train --data test".into(),
                backend: "cpu (flex)".into(),
                best_epoch: 3,
                epochs: 5,
                seconds_per_epoch: 0.5,
                seconds: 2.75,
                refit: false,
            }),
        }
    }

    fn tiny_bundle() -> (Tiny, Bundle) {
        let model = Tiny::new(6, 4, 3, 1);
        let weights = weights_of(&model).unwrap();
        (model, Bundle::new(manifest(5), weights))
    }

    fn err(bytes: &[u8]) -> String {
        Bundle::from_bytes(bytes).unwrap_err().to_string()
    }

    #[test]
    fn sha256_fips_vectors() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            sha256_hex(
                b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"
            ),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        );
        assert_eq!(
            sha256_hex(&vec![b'a'; 1_000_000]),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        );
    }

    #[test]
    fn model_round_trip_is_bit_identical() {
        let _rng = crate::testing::rng_lock();
        let (model, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        assert_eq!(&bytes[..8], b"LRECBNDL");
        let back = Bundle::from_bytes(&bytes).unwrap();
        assert_eq!(back, bundle);

        let fresh = Tiny::new(6, 4, 3, 99);
        let expected = model.forward();
        assert_ne!(fresh.forward(), expected, "the fresh model must start from other weights");
        let loaded = load_weights(fresh, &back.weights).unwrap();
        let got = loaded.forward();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&expected));
    }

    #[test]
    fn half_precision_item_table() {
        let _rng = crate::testing::rng_lock();
        let model = Tiny::new(200, 16, 3, 3);
        let full = weights_of(&model).unwrap();
        let half = weights_with(&model, true).unwrap();
        // The item table (200 x 16 f32 = 12.8 kB) shrinks by half.
        assert!(half.len() + 6000 < full.len(), "{} vs {}", half.len(), full.len());
        let loaded = load_weights(Tiny::new(200, 16, 3, 4), &half).unwrap();
        // The linear layer is stored exactly; the table within f16 precision.
        let w = |m: &Tiny| m.lin.weight.val().into_data().as_slice::<f32>().unwrap().to_vec();
        assert_eq!(w(&loaded), w(&model));
        let t = |m: &Tiny| m.item_emb.weight.val().into_data().as_slice::<f32>().unwrap().to_vec();
        let (a, b) = (t(&model), t(&loaded));
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 1e-3 * x.abs().max(1e-2)), "f16 error too large");
        assert_ne!(a, b, "the table went through f16");
        assert_eq!(loaded.item_emb.weight.val().dtype(), DType::F32);

        assert!(is_item_table("item_emb.weight") && is_item_table("encoder.Items.Embedding.weight"));
        assert!(!is_item_table("pos_emb.weight") && !is_item_table("emb_item.weight"));
    }

    #[test]
    fn wrong_config_is_an_error() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let e = load_weights(Tiny::new(7, 4, 3, 2), &bundle.weights).unwrap_err().to_string();
        assert!(e.contains("do not fit the model") && e.contains("item_emb.weight"), "{e}");
        let e = load_weights(Tiny::new(6, 5, 3, 2), &bundle.weights).unwrap_err().to_string();
        assert!(e.contains("shape"), "{e}");

        #[derive(Module, Debug)]
        struct Bigger {
            item_emb: Embedding,
            lin: Linear,
            extra: Linear,
        }
        let device = Device::flex();
        let bigger = Bigger {
            item_emb: EmbeddingConfig::new(6, 4).init(&device),
            lin: LinearConfig::new(4, 3).init(&device),
            extra: LinearConfig::new(3, 3).init(&device),
        };
        let e = load_weights(bigger, &bundle.weights).unwrap_err().to_string();
        assert!(e.contains("missing tensors") && e.contains("extra.weight"), "{e}");

        #[derive(Module, Debug)]
        struct Smaller {
            item_emb: Embedding,
        }
        let smaller = Smaller { item_emb: EmbeddingConfig::new(6, 4).init(&device) };
        let e = load_weights(smaller, &bundle.weights).unwrap_err().to_string();
        assert!(e.contains("does not have") && e.contains("lin.weight"), "{e}");

        let e = load_weights(Tiny::new(6, 4, 3, 2), b"not safetensors").unwrap_err().to_string();
        assert!(e.contains("could not be read"), "{e}");
    }

    #[test]
    fn header_errors() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        assert!(err(b"").contains("not a localrec bundle"));
        assert!(err(b"LRECBND").contains("not a localrec bundle"));
        assert!(err(b"PK\x03\x04\x14\x00\x00\x00\x08\x00").contains("not a localrec bundle"));

        let mut v7 = bytes.clone();
        v7[8..12].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(err(&v7), "bundle format version 7, this localrec reads version 2");

        let cut = &bytes[..bytes.len() - 10];
        let w = bundle.weights.len();
        assert_eq!(err(cut), format!("truncated bundle: expected {w} bytes of weights, found {}", w - 10));
        assert!(err(&bytes[..10]).starts_with("truncated bundle"));
        assert!(err(&bytes[..25]).starts_with("truncated bundle: expected"));

        let mut huge = bytes.clone();
        huge[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(err(&huge).starts_with("truncated bundle"), "{}", err(&huge));

        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(err(&trailing).contains("1 unexpected bytes after the weights"));
    }

    /// Builds bundle bytes from a raw manifest JSON and weights, bypassing `to_bytes`.
    fn raw(json: &[u8], weights: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(json);
        out.extend_from_slice(&(weights.len() as u64).to_le_bytes());
        out.extend_from_slice(weights);
        out
    }

    #[test]
    fn manifest_and_checksum_errors() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        assert!(err(&raw(b"{not json", &bundle.weights)).starts_with("the bundle manifest is not valid"));
        assert!(err(&raw(b"{}", &bundle.weights)).starts_with("the bundle manifest is not valid"));

        let mut bytes = bundle.to_bytes();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        assert_eq!(err(&bytes), "weights checksum mismatch: the bundle is corrupted or was modified");

        let check = |edit: &dyn Fn(&mut Manifest), expect: &str| {
            let mut m = bundle.manifest.clone();
            edit(&mut m);
            let e = err(&raw(&serde_json::to_vec(&m).unwrap(), &bundle.weights));
            assert!(e.contains(expect), "{e} should contain {expect}");
        };
        check(&|m| m.weights_sha256 = sha256_hex(b"other"), "checksum mismatch");
        check(&|m| m.format_version = 3, "the manifest 3");
        check(&|m| m.titles.pop().map(drop).unwrap_or(()), "5 items but 4 entries in `titles`");
        check(&|m| m.popularity.push(1), "5 items but 6 entries in `popularity`");
        check(&|m| m.categories.clear(), "5 items but 0 entries in `categories`");
        check(&|m| m.items[3] = "item-1".into(), "duplicate item id `item-1`");
        check(&|m| m.items[0] = String::new(), "item 1 has an empty id");
        check(&|m| m.categories[0] = vec![2], "only 2 categories");
        check(&|m| m.encoder.kind = " ".into(), "encoder kind is empty");
    }

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

    #[test]
    fn save_and_load_file() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.lrec");
        bundle.save_file(&path).unwrap();
        bundle.save_file(&path).unwrap(); // overwrite
        assert_eq!(Bundle::load_file(&path).unwrap(), bundle);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
        std::fs::write(&path, b"junk").unwrap();
        let e = Bundle::load_file(&path).unwrap_err().to_string();
        assert!(e.contains("model.lrec: not a localrec bundle"), "{e}");
    }

    #[test]
    fn fuzz_never_panics() {
        let _rng = crate::testing::rng_lock();
        let (_, bundle) = tiny_bundle();
        let bytes = bundle.to_bytes();
        let manifest_len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
        let manifest_range = HEADER_LEN..HEADER_LEN + manifest_len;

        // Every truncation.
        for n in 0..bytes.len() {
            assert!(Bundle::from_bytes(&bytes[..n]).is_err(), "truncation to {n} bytes was accepted");
        }
        // Every single-bit flip: an error outside the manifest; inside, whatever, but no panic.
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let r = Bundle::from_bytes(&b);
                if !manifest_range.contains(&i) {
                    assert!(r.is_err(), "flip of bit {bit} at byte {i} was accepted");
                }
            }
        }
        // Random bytes, plain and behind a valid header.
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for round in 0..2000 {
            let len = rng.random_range(0..200);
            let mut b: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if round % 2 == 0 {
                let mut h = MAGIC.to_vec();
                h.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
                if round % 4 == 0 {
                    h.extend_from_slice(&(rng.random_range(0..64u64)).to_le_bytes());
                }
                h.extend(b);
                b = h;
            }
            assert!(Bundle::from_bytes(&b).is_err());
        }
        // Truncated and bit-flipped weights into a model: errors, not panics.
        let model = Tiny::new(6, 4, 3, 1);
        for n in (0..bundle.weights.len()).step_by(7) {
            assert!(load_weights(model.clone(), &bundle.weights[..n]).is_err(), "weights cut at {n}");
        }
        let header_len = u64::from_le_bytes(bundle.weights[..8].try_into().unwrap()) as usize + 8;
        for i in (0..header_len).step_by(3) {
            let mut w = bundle.weights.clone();
            w[i] ^= 0x20;
            let _ = load_weights(model.clone(), &w);
        }
    }
}
