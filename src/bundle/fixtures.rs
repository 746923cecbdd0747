//! Test fixtures shared by the bundle tests: a tiny model with an item table, a manifest
//! for it, and a bundle of the two.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};

use super::{Bundle, EncoderSpec, FORMAT_VERSION, Manifest, TrainedOn, TrainingInfo, weights_of};

#[derive(Module, Debug)]
pub(super) struct Tiny {
    pub(super) item_emb: Embedding,
    pub(super) lin: Linear,
}

impl Tiny {
    pub(super) fn new(items: usize, dim: usize, out: usize, seed: u64) -> Tiny {
        let device = Device::flex();
        device.seed(seed);
        Tiny {
            item_emb: EmbeddingConfig::new(items, dim).init(&device),
            lin: LinearConfig::new(dim, out).init(&device),
        }
    }

    pub(super) fn forward(&self) -> Vec<f32> {
        let ids = Tensor::<2, Int>::from_ints([[1, 2, 3], [4, 0, 5]], &Device::flex());
        let out = self.lin.forward(self.item_emb.forward(ids));
        out.into_data().as_slice::<f32>().unwrap().to_vec()
    }
}

pub(super) fn manifest(n: usize) -> Manifest {
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
        item_table: None,
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

pub(super) fn tiny_bundle() -> (Tiny, Bundle) {
    let model = Tiny::new(6, 4, 3, 1);
    let weights = weights_of(&model).unwrap();
    (model, Bundle::new(manifest(5), weights))
}
