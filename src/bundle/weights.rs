//! The weights: a model's tensors as a [safetensors](https://huggingface.co/docs/safetensors)
//! file, optionally with the item embedding table in f16; loading them back into a model,
//! re-encoding the item table, and listing the tensors.

use burn::module::Module;
use burn::store::{ApplyError, ModuleAdapter, ModuleContext, ModuleSnapshot, SafetensorsStore, bridge};
use burn::tensor::DType;

use super::{Bundle, bundle_err};
use crate::error::Result;

/// True for the item embedding table: a tensor whose name contains `item` and, after it, `emb`
/// (`item_emb.weight`, `items.embedding.weight`), case-insensitively.
pub(super) fn is_item_table(name: &str) -> bool {
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
/// Set [`Manifest::half_precision_items`](super::Manifest::half_precision_items) to match.
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
    load_weights_with(model, bytes, false)
}

/// [`load_weights`] for a bundle with a compressed item table
/// ([`Manifest::item_table`](super::Manifest::item_table)): the weights hold no item embedding
/// (the model keeps the one it was built with; its rows come from the table at each request,
/// see [`crate::model::hosted`]), and the compressed table's `item_table.*` tensors are not the
/// model's.
pub fn load_weights_without_item_table<M: Module>(model: M, bytes: &[u8]) -> Result<M> {
    load_weights_with(model, bytes, true)
}

fn load_weights_with<M: Module>(model: M, bytes: &[u8], hosted: bool) -> Result<M> {
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
    let missing: Vec<&str> =
        result.missing.iter().map(|(path, _)| path.as_str()).filter(|p| !(hosted && is_item_table(p))).collect();
    if hosted && missing.len() == result.missing.len() {
        return Err(bundle_err(
            "the weights do not fit the model: a bundle with a compressed item table has no item embedding, \
             but this model has none to leave out",
        ));
    }
    if !missing.is_empty() {
        let names = missing;
        return Err(bundle_err(format!(
            "the weights do not fit the model (was it built with another config?): missing tensors {}",
            names.join(", ")
        )));
    }
    let unused: Vec<&str> = result
        .unused
        .iter()
        .map(String::as_str)
        .filter(|n| !(hosted && n.starts_with(crate::item_table::TABLE_TENSOR_PREFIX)))
        .collect();
    if !unused.is_empty() {
        return Err(bundle_err(format!(
            "the weights do not fit the model (was it built with another config?): tensors the model does not have: {}",
            unused.join(", ")
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

#[cfg(test)]
mod tests {
    use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
    use burn::tensor::Device;

    use super::*;
    use crate::bundle::fixtures::{Tiny, tiny_bundle};

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
}
