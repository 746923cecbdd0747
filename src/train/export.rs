//! Writing a trained model as a bundle: its metrics and the bundle itself.

use std::collections::BTreeMap;

use super::validation::RankMetrics;
use crate::bundle::{Bundle, EncoderSpec, Manifest, weights_with};
use crate::data::{Phase, Split};
use crate::error::Result;
use crate::model::neural::SeqEncoder;

/// The metrics a trained model's bundle records: `valid/…` and (when given) `test/…` NDCG@10,
/// HR@10, HR@1 and MRR, and `best_epoch`.
pub fn bundle_metrics(valid: &RankMetrics, test: Option<&RankMetrics>, best_epoch: usize) -> BTreeMap<String, f64> {
    let mut metrics = BTreeMap::new();
    for (phase, m) in std::iter::once(("valid", valid)).chain(test.map(|t| ("test", t))) {
        metrics.insert(format!("{phase}/ndcg@10"), m.ndcg10);
        metrics.insert(format!("{phase}/hr@10"), m.hr10);
        metrics.insert(format!("{phase}/hr@1"), m.hr1);
        metrics.insert(format!("{phase}/mrr"), m.mrr);
    }
    metrics.insert("best_epoch".into(), best_epoch as f64);
    metrics
}

/// The bundle of `model` (an `encoder`) trained on `split`: the dataset's items and metadata,
/// the popularity of the items in the test phase's training data (the cold-start fallback),
/// `metrics`, the creation time (`unix:SECONDS`) and the weights (item table in f16 with
/// `half_precision_items`).
pub fn trained_bundle<M: SeqEncoder>(
    model: &M,
    encoder: EncoderSpec,
    split: &Split,
    metrics: BTreeMap<String, f64>,
    half_precision_items: bool,
) -> Result<Bundle> {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| format!("unix:{}", d.as_secs()))
        .unwrap_or_default();
    let counts = split.train(Phase::Test).item_counts();
    let mut manifest = Manifest::from_dataset(&split.dataset, &counts, encoder, created);
    manifest.metrics = metrics;
    manifest.half_precision_items = half_precision_items;
    Ok(Bundle::new(manifest, weights_with(model, half_precision_items)?))
}

#[cfg(test)]
mod tests {
    use burn::tensor::{DType, TensorData};

    use super::*;
    use crate::model::Scorer;
    use crate::model::neural::NeuralScorer;
    use crate::train::TrainConfig;
    use crate::train::loss::Loss;
    use crate::train::tests::{chain_split, chain_training, train_quietly};

    #[test]
    fn exported_bundles_score_like_the_trained_model() {
        let _rng = crate::testing::rng_lock();
        use crate::bundle::{Bundle, weight_tensors};
        let split = chain_split();
        let (model_cfg, cfg) = chain_training(Loss::FullSoftmax);
        let t = train_quietly(&split, &model_cfg, &TrainConfig { epochs: 10, ..cfg }).unwrap();
        let spec = EncoderSpec::of("sasrec", &model_cfg).unwrap();
        let metrics = bundle_metrics(&t.valid, Some(&t.test), t.best_epoch);
        let bundle = trained_bundle(&t.model, spec, &split, metrics, false).unwrap();
        let ds = &split.dataset;
        let histories: Vec<&[u32]> = split.cases(Phase::Test).iter().map(|c| c.history(ds)).collect();
        let width = ds.num_items() + 1;
        let scores = |rec: &dyn Scorer| {
            let mut out = vec![0.0f32; histories.len() * width];
            rec.score_batch(&histories, &mut out).unwrap();
            out
        };
        let reference = scores(&NeuralScorer::new("sasrec", t.model));
        let load = |b: &Bundle| crate::model::from_bundle(&Bundle::from_bytes(&b.to_bytes()).unwrap()).unwrap();

        // f32: through bytes, and re-encoded without the model, the scores are bit for bit the same.
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&scores(load(&bundle).as_ref())), bits(&reference));
        let same = bundle.recoded(false).unwrap();
        assert_eq!(bits(&scores(load(&same).as_ref())), bits(&reference));
        assert_eq!(weight_tensors(&same.weights).unwrap(), weight_tensors(&bundle.weights).unwrap());

        // f16 item table: only that tensor changes, each value by at most 2^-11 of itself (round
        // to nearest; no value here is small enough for f16's subnormals), and the file shrinks.
        let half = bundle.recoded(true).unwrap();
        assert!(half.manifest.half_precision_items);
        let tensors = weight_tensors(&half.weights).unwrap();
        let table = tensors.iter().find(|t| t.item_table).unwrap();
        assert_eq!((table.name.as_str(), table.dtype.as_str()), ("item_emb.weight", "F16"));
        assert!(tensors.iter().filter(|t| !t.item_table).all(|t| t.dtype == "F32"));
        let d = model_cfg.d_model;
        assert!(half.weights.len() + width * d * 2 <= bundle.weights.len(), "the table takes 2 bytes a value");
        let table_of = |b: &Bundle| {
            let st = safetensors::SafeTensors::deserialize(&b.weights).unwrap();
            let v = st.tensor("item_emb.weight").unwrap();
            let dtype = if v.dtype() == safetensors::Dtype::F16 { DType::F16 } else { DType::F32 };
            let data = TensorData::from_bytes_vec(v.data().to_vec(), v.shape().to_vec(), dtype);
            data.convert_dtype(DType::F32).try_to_vec::<f32>().unwrap()
        };
        let (full_t, half_t) = (table_of(&bundle), table_of(&half));
        assert!(full_t.iter().all(|x| x.abs() > 6.2e-5), "normal f16 range");
        for (x, y) in full_t.iter().zip(&half_t) {
            assert!((x - y).abs() <= x.abs() * 2f32.powi(-11), "{x} became {y}");
        }
        // Scores from the f16 table (it is also the encoder's input): the largest error measured
        // here was 1.1e-4 of the largest |score| (5.8e-4 of 5.1); held to 2e-3, and they must
        // have moved at all.
        let got = scores(load(&half).as_ref());
        let range = reference.iter().filter(|x| x.is_finite()).fold(0.0f32, |m, x| m.max(x.abs()));
        let err = reference.iter().zip(&got).filter(|(x, _)| x.is_finite()).map(|(x, y)| (x - y).abs());
        let err = err.fold(0.0f32, f32::max);
        assert!(err > 0.0 && err <= 2e-3 * range, "max score error {err} for scores up to {range}");
        // Back to f32: exact (f16 → f32 loses nothing), so it scores like the f16 bundle.
        let back = half.recoded(false).unwrap();
        assert!(!back.manifest.half_precision_items);
        assert_eq!(bits(&scores(load(&back).as_ref())), bits(&got));
    }
}
