//! Attention pooling: a light encoder that summarises a history by one causal attention step,
//! with the newest item as the query.
//!
//! ```text
//! x_t   = E_item[i_t] + P[t] (+ K[kind_t])            embeddings, N(0, 0.02); K starts at zero
//! x     = dropout(x) · not_pad                         padded positions are zero vectors
//! q_t   = W_q x_t                                      query from the item at t
//! a_t,j = softmax_j (q_t · x_j / √d)   over j ≤ t, j not padding
//! p_t   = Σ_j a_t,j x_j                                attention-weighted sum of the items ..=t
//! h_t   = LN(dropout(W_o p_t + b_o))                  (no residual: see below)
//! s(j)  = h_t · E_item[j]                              tied output weights
//! ```
//!
//! There is deliberately no residual `x_t +` around the pool: with the item table tied to the
//! output, a residual makes the newest item's own embedding dominate the user vector (on a toy
//! chain task the model then ranked the item two steps ahead first); the pool already contains
//! the newest item (`j = t`).
//!
//! Beyond the item table it has `max_len·d` position weights, two `d×d` matrices and `4d`
//! biases and norm weights (about 11k at `d` = 64, 50 positions): a fraction of SASRec's, and
//! one `[L, L]` attention map per history instead of one per block and head. Positions count
//! back from the newest item, as in [`crate::model::sasrec`], so a history's encoding does not
//! depend on the batch it is scored in. Training is [`crate::train`]'s: full-softmax
//! cross-entropy at every position.

use burn::config::Config;
use burn::module::Module;
use burn::nn::LinearConfig;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Int, Tensor};

use crate::error::{Error, Result};
use crate::model::neural::{EncoderConfig, SeqEncoder, item_table, keep_newest, kind_table, newest_anchored_positions};
use crate::model::registry::{EncoderOption, EncoderOptions};

/// Hyper-parameters of [`AttnPool`]. Build the model with [`AttnPoolConfig::init`].
#[derive(Config, Debug)]
pub struct AttnPoolConfig {
    /// Number of real items; the item table has `num_items + 1` rows (row 0 is padding).
    pub num_items: usize,
    /// Width of embeddings and hidden states.
    #[config(default = 64)]
    pub d_model: usize,
    /// Longest history the model reads (the number of position embeddings).
    #[config(default = 50)]
    pub max_len: usize,
    /// Dropout on the embeddings and on the pooled projection.
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Add a learned event-kind embedding (6 kinds, zero-initialised; `localrec train --kinds`).
    /// The model is then evaluated and served with each history's kinds. Bundles without the
    /// setting load with `false`.
    #[config(default = false)]
    pub use_kinds: bool,
    /// Standard deviation of the normal initialisation of the embeddings.
    #[config(default = 0.02)]
    pub init_std: f64,
}

impl EncoderConfig for AttnPoolConfig {
    type Model = AttnPool;
    const KIND: &'static str = "attnpool";
    const OPTIONS: &'static [EncoderOption] = &[EncoderOption::Dropout, EncoderOption::Kinds];

    fn from_options(num_items: usize, options: &EncoderOptions) -> Self {
        let mut c = AttnPoolConfig::new(num_items).with_d_model(options.d_model).with_max_len(options.max_len);
        c.dropout = options.dropout.unwrap_or(c.dropout);
        c.use_kinds = options.kinds;
        c
    }

    fn num_items(&self) -> usize {
        self.num_items
    }

    /// Checks the values and names the first wrong one.
    fn validate(&self) -> Result<()> {
        let bad = |field: &str, problem: String| Err(Error::invalid(format!("attnpool.{field}"), problem));
        if self.num_items == 0 {
            return bad("num_items", "the catalog is empty".into());
        }
        if self.d_model == 0 {
            return bad("d_model", "must be at least 1".into());
        }
        if self.max_len == 0 {
            return bad("max_len", "must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        if !(self.init_std.is_finite() && self.init_std > 0.0) {
            return bad("init_std", format!("{} is not a positive number", self.init_std));
        }
        Ok(())
    }

    /// A lower bound on the number of weights this config builds: the item and position tables
    /// and the two `d×d` matrices. Computed without overflow.
    fn min_weights(&self) -> u128 {
        let d = self.d_model as u128;
        let rows =
            (self.num_items as u128 + 1).saturating_add(self.max_len as u128).saturating_add(d.saturating_mul(2));
        rows.saturating_mul(d)
    }

    /// Builds a freshly initialised model on `device` (seed the device first for
    /// reproducible weights). Fails on an invalid configuration.
    fn init(&self, device: &Device) -> Result<AttnPool> {
        self.validate()?;
        let d = self.d_model;
        let normal = Initializer::Normal { mean: 0.0, std: self.init_std };
        Ok(AttnPool {
            item_emb: item_table(self.num_items, d, self.init_std, device),
            pos_emb: EmbeddingConfig::new(self.max_len, d).with_initializer(normal).init(device),
            kind_emb: self.use_kinds.then(|| kind_table(d, device)),
            query: LinearConfig::new(d, d).with_bias(false).init(device),
            out: LinearConfig::new(d, d).init(device),
            norm: LayerNormConfig::new(d).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            num_items: self.num_items,
            max_len: self.max_len,
            d_model: d,
        })
    }
}

/// The attention-pooling sequence encoder. Built by [`AttnPoolConfig::init`].
///
/// # Shapes
/// - input `items`: `[B, L]` item indices, **left-padded** with 0 (`L` ≤ `max_len`; longer
///   inputs keep their last `max_len` columns). Indices must be `0..=num_items`.
/// - input `kinds` (optional): `[B, L]` event-kind indices `0..6`
///   ([`crate::events::EventKind::index`]), used only when the model was built with
///   `use_kinds`.
/// - output of [`SeqEncoder::forward`]: `[B, L, d_model]`; row `t` encodes `items[.., ..=t]`.
///   Rows at padded positions are defined but meaningless.
/// - item table: `[num_items + 1, d_model]`; scores are `h · tableᵀ`, `[B, num_items + 1]`.
#[derive(Module, Debug)]
pub struct AttnPool {
    item_emb: Embedding,
    pos_emb: Embedding,
    kind_emb: Option<Embedding>,
    query: Linear,
    out: Linear,
    norm: LayerNorm,
    dropout: Dropout,
    num_items: usize,
    max_len: usize,
    d_model: usize,
}

impl SeqEncoder for AttnPool {
    fn num_items(&self) -> usize {
        self.num_items
    }

    fn max_len(&self) -> usize {
        self.max_len
    }

    fn d_model(&self) -> usize {
        self.d_model
    }

    fn uses_kinds(&self) -> bool {
        self.kind_emb.is_some()
    }

    fn item_table(&self) -> Tensor<2> {
        self.item_emb.weight.val()
    }

    fn forward(&self, items: Tensor<2, Int>, kinds: Option<Tensor<2, Int>>) -> Tensor<3> {
        let (items, kinds) = keep_newest(items, kinds, self.max_len);
        let [b, l] = items.dims();
        let device = items.device();
        let pad = items.clone().equal_elem(0); // [B, L]
        let mut x =
            self.item_emb.forward(items) + self.pos_emb.forward(newest_anchored_positions(b, l, self.max_len, &device));
        if let (Some(emb), Some(k)) = (&self.kind_emb, kinds) {
            x = x + emb.forward(k);
        }
        let keep = pad.clone().bool_not().float().reshape([b, l, 1]);
        let x = self.dropout.forward(x) * keep;

        // Query t may see key j only if j <= t and j is not padding. A padded query row may see
        // nothing: its scores are all the same large negative number, a harmless uniform average.
        let causal = Tensor::<2, Bool>::tril_mask([l, l], 0, &device).reshape([1, l, l]).expand([b, l, l]);
        let mask = pad.reshape([b, 1, l]).expand([b, l, l]).bool_or(causal);
        let scale = 1.0 / (self.d_model as f64).sqrt();
        let scores = self.query.forward(x.clone()).matmul(x.clone().swap_dims(1, 2)).mul_scalar(scale);
        let weights = softmax(scores.mask_fill(mask, -1.0e9), 2);
        let pooled = weights.matmul(x.clone());
        self.norm.forward(self.dropout.forward(self.out.forward(pooled)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::neural::contract::{self, items, read};

    fn model(use_kinds: bool) -> AttnPool {
        let device = Device::flex();
        device.seed(7);
        AttnPoolConfig::new(30).with_d_model(16).with_max_len(8).with_use_kinds(use_kinds).init(&device).unwrap()
    }

    #[test]
    fn shapes_follow_the_docs() {
        let _rng = crate::testing::rng_lock();
        contract::shapes(&model(true));
    }

    #[test]
    fn later_items_do_not_change_earlier_positions() {
        let _rng = crate::testing::rng_lock();
        contract::causal(&model(false));
    }

    #[test]
    fn left_padding_does_not_change_the_user_vector() {
        let _rng = crate::testing::rng_lock();
        contract::padding_invariant(&model(false));
        contract::padding_invariant(&model(true));
    }

    #[test]
    fn the_pool_reads_older_items() {
        let _rng = crate::testing::rng_lock();
        // The state at the newest item depends on the items before it, not just on it.
        let m = model(false);
        let a = read(m.user_states(items(&[&[4, 9, 5]]), None));
        let b = read(m.user_states(items(&[&[4, 12, 5]]), None));
        assert!(a.iter().zip(&b).map(|(x, y)| (x - y).abs()).sum::<f32>() > 1e-3);
        assert!(a.iter().chain(&b).all(|x| x.is_finite()));
        // A row of padding only is finite too.
        assert!(read(m.forward(items(&[&[0, 0, 0]]), None)).iter().all(|x| x.is_finite()));
    }

    #[test]
    fn embeddings_start_small_and_kinds_start_at_zero() {
        let _rng = crate::testing::rng_lock();
        let m = model(true);
        contract::small_item_table(&m);
        assert!(read(m.kind_emb.as_ref().unwrap().weight.val()).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn bad_configs_are_errors() {
        let _rng = crate::testing::rng_lock();
        let device = Device::flex();
        for (cfg, field) in [
            (AttnPoolConfig::new(0), "num_items"),
            (AttnPoolConfig::new(5).with_d_model(0), "d_model"),
            (AttnPoolConfig::new(5).with_max_len(0), "max_len"),
            (AttnPoolConfig::new(5).with_dropout(1.0), "dropout"),
            (AttnPoolConfig::new(5).with_init_std(f64::NAN), "init_std"),
        ] {
            let e = cfg.init(&device).unwrap_err().to_string();
            assert!(e.contains(&format!("attnpool.{field}")), "{e}");
        }
        let cfg = AttnPoolConfig::new(30).with_d_model(16).with_max_len(8);
        assert_eq!(cfg.min_weights(), (31 + 8 + 32) * 16);
        assert!(model(false).num_params() as u128 >= cfg.min_weights());
        assert_eq!(AttnPoolConfig::new(usize::MAX).with_d_model(usize::MAX).min_weights(), u128::MAX);
    }
}
