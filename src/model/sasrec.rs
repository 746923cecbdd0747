//! SASRec: self-attentive sequential recommendation (Kang & McAuley, 2018), with the
//! improvements that have since become standard.
//!
//! ```text
//! x_t  = E_item[i_t] + P[t] (+ K[kind_t])              embeddings, N(0, 0.02)
//! x    = dropout(x) · not_pad                            padded positions are zero vectors
//! x    = x + dropout(MHA(LN(x), causal + key-padding mask))   } N pre-LayerNorm blocks
//! x    = x + dropout(FFN(LN(x)))                               }
//! h    = LN(x)
//! s(j) = h_t · E_item[j]                                  tied output weights
//! ```
//!
//! Differences from the 2018 paper, all of them the usual ones today:
//! - trained with full-softmax cross-entropy over the catalog (see [`crate::train`]) instead of
//!   one sampled negative with binary cross-entropy;
//! - pre-LayerNorm blocks with a final LayerNorm, GELU (or ReLU) in the feed-forward part;
//! - small initialisation of the embeddings, `N(0, 0.02)`. burn's default for
//!   [`EmbeddingConfig`] is `N(0, 1)`, far too large for an item table that is also the
//!   output layer;
//! - positions count back from the newest item (the newest is always position `max_len − 1`,
//!   as in the paper's left-padding to `max_len`), whatever the batch's padded width, so a
//!   history's encoding does not depend on the batch it is scored in, and the newest item,
//!   whose state becomes the user vector, always has the same, well-trained position
//!   embedding (counting from the oldest item left test histories, one item longer than the
//!   validation ones, on positions that training rarely reached);
//! - an optional event-kind embedding (view, cart, purchase, …), zero-initialised, so a model
//!   trained with kinds starts out identical to one without.
//!
//! The model is a plain burn [`Module`]: the backend is chosen by the [`Device`] it is built
//! on (`Device::flex()` for CPU inference, `Device::flex().autodiff()` for training, WebGPU in
//! the browser). [`crate::model::neural::NeuralScorer`] wraps a trained model as a
//! [`crate::model::Scorer`].

use burn::config::Config;
use burn::module::Module;
use burn::nn::activation::ActivationConfig;
use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::transformer::{PositionWiseFeedForward, PositionWiseFeedForwardConfig};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig};
use burn::tensor::{Bool, Device, Int, Tensor};

use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::model::categories::{CategoryFusion, CategoryLists};
use crate::model::init::LinearInit;
use crate::model::neural::{EncoderConfig, SeqEncoder, newest_anchored_positions};
use crate::model::registry::{EncoderOption, EncoderOptions};

/// Hyper-parameters of [`SasRec`]. Build the model with [`SasRecConfig::init`].
///
/// Defaults follow the usual settings for sparse data such as Amazon Beauty: `d_model` 64,
/// 2 blocks, 1 head, dropout 0.5, 50 positions. For denser data (MovieLens) use dropout 0.2
/// and longer histories (200).
#[derive(Config, Debug)]
pub struct SasRecConfig {
    /// Number of real items; the item table has `num_items + 1` rows (row 0 is padding).
    pub num_items: usize,
    /// Width of embeddings and hidden states.
    #[config(default = 64)]
    pub d_model: usize,
    /// Number of Transformer blocks.
    #[config(default = 2)]
    pub n_blocks: usize,
    /// Attention heads per block (`d_model` must be a multiple).
    #[config(default = 1)]
    pub n_heads: usize,
    /// Width of the feed-forward hidden layer; `None` means `d_model` (as in the 2018 paper).
    /// The default, 256, is 4 × the default width, the usual Transformer ratio
    /// ([`EncoderConfig::from_options`] keeps it at 4 × `d_model`).
    #[config(default = "Some(256)")]
    pub d_ff: Option<usize>,
    /// Longest history the model reads (the number of position embeddings).
    #[config(default = 50)]
    pub max_len: usize,
    /// Dropout on embeddings, attention weights, residual branches and the feed-forward layer.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Add a learned event-kind embedding (6 kinds, zero-initialised; `localrec train --kinds`).
    /// The model is then evaluated and served with each history's kinds. Bundles without the
    /// setting load with `false`.
    #[config(default = false)]
    pub use_kinds: bool,
    /// Activation of the feed-forward layer (`Gelu` or `Relu`).
    #[config(default = "ActivationConfig::Gelu")]
    pub activation: ActivationConfig,
    /// Standard deviation of the normal initialisation of the embeddings (and of the linear
    /// layers, with [`LinearInit::Normal`]).
    #[config(default = 0.02)]
    pub init_std: f64,
    /// How the attention and feed-forward linear layers start.
    #[config(default = "LinearInit::Normal")]
    pub linear_init: LinearInit,
    /// Number of item categories fused into the item representation (0: ids only); see
    /// [`crate::model::categories`].
    #[config(default = 0)]
    pub categories: usize,
    /// The items' category lists when `categories > 0` (not serialised: a bundle's catalogue
    /// holds them; [`EncoderConfig::set_categories`]).
    #[config(default = "CategoryLists::default()")]
    pub item_categories: CategoryLists,
}

impl EncoderConfig for SasRecConfig {
    type Model = SasRec;
    const KIND: &'static str = "sasrec";
    const OPTIONS: &'static [EncoderOption] = &[
        EncoderOption::Blocks,
        EncoderOption::Heads,
        EncoderOption::Dropout,
        EncoderOption::FeedForward,
        EncoderOption::LinearInit,
        EncoderOption::Categories,
        EncoderOption::Kinds,
    ];
    const DENSE_DROPOUT: Option<f64> = Some(0.2);

    fn from_options(num_items: usize, options: &EncoderOptions) -> Self {
        let mut c = SasRecConfig::new(num_items).with_d_model(options.d_model).with_max_len(options.max_len);
        c.n_blocks = options.n_blocks.unwrap_or(c.n_blocks);
        c.n_heads = options.n_heads.unwrap_or(c.n_heads);
        c.dropout = options.dropout.unwrap_or(c.dropout);
        c.d_ff = Some(options.d_ff.unwrap_or(4 * options.d_model));
        c.linear_init = options.linear_init.unwrap_or(c.linear_init);
        c.use_kinds = options.kinds;
        c
    }

    fn num_items(&self) -> usize {
        self.num_items
    }

    /// Checks the values and names the first wrong one.
    fn validate(&self) -> Result<()> {
        let bad = |field: &str, problem: String| Err(Error::invalid(format!("sasrec.{field}"), problem));
        if self.num_items == 0 {
            return bad("num_items", "the catalog is empty".into());
        }
        if self.d_model == 0 {
            return bad("d_model", "must be at least 1".into());
        }
        if self.n_heads == 0 || self.d_model % self.n_heads != 0 {
            return bad("n_heads", format!("{} does not divide d_model = {}", self.n_heads, self.d_model));
        }
        if self.max_len == 0 {
            return bad("max_len", "must be at least 1".into());
        }
        if self.d_ff == Some(0) {
            return bad("d_ff", "must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        if !(self.init_std.is_finite() && self.init_std > 0.0) {
            return bad("init_std", format!("{} is not a positive number", self.init_std));
        }
        if self.categories > 0 {
            self.item_categories.validate("sasrec.item_categories", self.num_items, self.categories)?;
        }
        Ok(())
    }

    fn categories(&self) -> usize {
        self.categories
    }

    fn set_categories(&mut self, n: usize, lists: CategoryLists) {
        self.categories = n;
        self.item_categories = lists;
    }

    /// A lower bound on the number of weights this config builds: the item and position tables
    /// and each block's attention and feed-forward matrices (biases and norms left out).
    /// Computed without overflow, so an absurd config gives a huge number rather than a panic.
    fn min_weights(&self) -> u128 {
        let d = self.d_model as u128;
        let ff = self.d_ff.unwrap_or(self.d_model) as u128;
        let tables = (self.num_items as u128 + 1)
            .saturating_add(self.max_len as u128)
            .saturating_add(self.categories as u128)
            .saturating_mul(d);
        let block = d.saturating_mul(d).saturating_mul(4).saturating_add(d.saturating_mul(ff).saturating_mul(2));
        tables.saturating_add(block.saturating_mul(self.n_blocks as u128))
    }

    /// Builds a freshly initialised model on `device` (seed the device first for
    /// reproducible weights). Fails on an invalid configuration.
    fn init(&self, device: &Device) -> Result<SasRec> {
        self.validate()?;
        let d = self.d_model;
        let normal = Initializer::Normal { mean: 0.0, std: self.init_std };
        let blocks = (0..self.n_blocks)
            .map(|_| {
                let ff = self.d_ff.unwrap_or(d);
                SasRecBlock::new(
                    d,
                    self.n_heads,
                    ff,
                    self.dropout,
                    &self.activation,
                    self.linear_init,
                    self.init_std,
                    device,
                )
            })
            .collect();
        Ok(SasRec {
            item_emb: EmbeddingConfig::new(self.num_items + 1, d).with_initializer(normal.clone()).init(device),
            pos_emb: EmbeddingConfig::new(self.max_len, d).with_initializer(normal).init(device),
            kind_emb: self.use_kinds.then(|| {
                EmbeddingConfig::new(EventKind::ALL.len(), d).with_initializer(Initializer::Zeros).init(device)
            }),
            categories: (self.categories > 0)
                .then(|| CategoryFusion::new(&self.item_categories, self.categories, d, self.init_std, device)),
            emb_dropout: DropoutConfig::new(self.dropout).init(),
            blocks,
            final_norm: LayerNormConfig::new(d).init(device),
            num_items: self.num_items,
            max_len: self.max_len,
            d_model: d,
        })
    }
}

/// One pre-LayerNorm Transformer block: masked (in SASRec causal) self-attention, then a position-wise
/// feed-forward layer, each on a residual branch with dropout.
#[derive(Module, Debug)]
pub struct SasRecBlock {
    norm_attn: LayerNorm,
    attn: MultiHeadAttention,
    norm_ff: LayerNorm,
    ff: PositionWiseFeedForward,
    dropout: Dropout,
}

impl SasRecBlock {
    /// A block of width `d` with `n_heads` heads and a feed-forward layer of width `d_ff`, its
    /// linear layers initialised by `init` (`std` for [`LinearInit::Normal`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        d: usize,
        n_heads: usize,
        d_ff: usize,
        dropout: f64,
        activation: &ActivationConfig,
        init: LinearInit,
        std: f64,
        device: &Device,
    ) -> SasRecBlock {
        let attn = MultiHeadAttentionConfig::new(d, n_heads).with_dropout(dropout);
        let ff = PositionWiseFeedForwardConfig::new(d, d_ff).with_dropout(dropout).with_activation(activation.clone());
        SasRecBlock {
            norm_attn: LayerNormConfig::new(d).init(device),
            attn: init.attention(attn, std, device),
            norm_ff: LayerNormConfig::new(d).init(device),
            ff: init.feed_forward(ff, std, device),
            dropout: DropoutConfig::new(dropout).init(),
        }
    }

    /// # Shapes
    /// - `x`: `[B, L, d]`
    /// - `mask`: `[B, L, L]`, `true` where query `i` must not see key `j`
    /// - output: `[B, L, d]`
    pub(crate) fn forward(&self, x: Tensor<3>, mask: Tensor<3, Bool>) -> Tensor<3> {
        let a = self.norm_attn.forward(x.clone());
        let a = self.attn.forward(MhaInput::self_attn(a).mask_attn(mask)).context;
        let x = x + self.dropout.forward(a);
        let f = self.ff.forward(self.norm_ff.forward(x.clone()));
        x + self.dropout.forward(f)
    }
}

/// The SASRec sequence encoder. Built by [`SasRecConfig::init`].
///
/// # Shapes
/// - input `items`: `[B, L]` item indices, **left-padded** with 0 (`L` ≤ `max_len`; longer
///   inputs keep their last `max_len` columns). Indices must be `0..=num_items`.
/// - input `kinds` (optional): `[B, L]` event-kind indices `0..6` ([`EventKind::index`]),
///   used only when the model was built with `use_kinds`.
/// - output of [`SeqEncoder::forward`]: `[B, L, d_model]`; row `t` encodes `items[.., ..=t]`.
///   Rows at padded positions are defined but meaningless.
/// - item table: `[num_items + 1, d_model]`; scores are `h · tableᵀ`, `[B, num_items + 1]`.
#[derive(Module, Debug)]
pub struct SasRec {
    item_emb: Embedding,
    pos_emb: Embedding,
    kind_emb: Option<Embedding>,
    categories: Option<CategoryFusion>,
    emb_dropout: Dropout,
    blocks: Vec<SasRecBlock>,
    final_norm: LayerNorm,
    num_items: usize,
    max_len: usize,
    d_model: usize,
}

impl SeqEncoder for SasRec {
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
        let ids = self.item_emb.weight.val();
        match &self.categories {
            Some(c) => c.fuse(ids),
            None => ids,
        }
    }

    fn forward(&self, items: Tensor<2, Int>, kinds: Option<Tensor<2, Int>>) -> Tensor<3> {
        let [b, l_in] = items.dims();
        // Keep the newest `max_len` columns.
        let (items, kinds, l) = if l_in > self.max_len {
            let from = l_in - self.max_len;
            (items.narrow(1, from, self.max_len), kinds.map(|k| k.narrow(1, from, self.max_len)), self.max_len)
        } else {
            (items, kinds, l_in)
        };
        let device = items.device();
        let pad = items.clone().equal_elem(0); // [B, L]

        // Positions count back from the newest item: the newest is always `max_len - 1`, as if
        // every row were left-padded to `max_len`, so the batch's width does not move them.
        let pos = newest_anchored_positions(b, l, self.max_len, &device);
        let items_emb = match &self.categories {
            // The batch's rows of the fused table (what scores the items too).
            Some(c) => {
                self.item_emb.forward(items.clone()) + c.rows(items.reshape([b * l])).reshape([b, l, self.d_model])
            }
            None => self.item_emb.forward(items),
        };
        let mut x = items_emb + self.pos_emb.forward(pos);
        if let (Some(emb), Some(k)) = (&self.kind_emb, kinds) {
            x = x + emb.forward(k);
        }
        let x = self.emb_dropout.forward(x);
        let keep = pad.clone().bool_not().float().reshape([b, l, 1]);
        let mut x = x * keep;

        // Query i may see key j only if j <= i and j is not padding.
        let causal = Tensor::<2, Bool>::tril_mask([l, l], 0, &device).reshape([1, l, l]).expand([b, l, l]);
        let mask = pad.reshape([b, 1, l]).expand([b, l, l]).bool_or(causal);
        for block in &self.blocks {
            x = block.forward(x, mask.clone());
        }
        self.final_norm.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::neural::contract::{self, read};

    fn model(use_kinds: bool) -> SasRec {
        let device = Device::flex();
        device.seed(7);
        SasRecConfig::new(30)
            .with_d_model(16)
            .with_n_heads(2)
            .with_max_len(8)
            .with_use_kinds(use_kinds)
            .init(&device)
            .unwrap()
    }

    #[test]
    fn shapes_follow_the_docs() {
        let _rng = crate::testing::rng_lock();
        contract::shapes(&model(true));
        contract::shapes(&model(false));
    }

    #[test]
    fn later_items_do_not_change_earlier_positions() {
        let _rng = crate::testing::rng_lock();
        contract::causal(&model(false));
        contract::causal(&model(true));
    }

    #[test]
    fn left_padding_does_not_change_the_user_vector() {
        let _rng = crate::testing::rng_lock();
        contract::padding_invariant(&model(false));
    }

    #[test]
    fn embeddings_start_small_and_kinds_start_at_zero() {
        let _rng = crate::testing::rng_lock();
        let m = model(true);
        contract::small_item_table(&m);
        assert!(read(m.kind_emb.as_ref().unwrap().weight.val()).iter().all(|&x| x == 0.0));
    }

    /// A forward pass with fixed weights against the formula computed by hand (in f64, below):
    /// queries and keys zero (so attention is uniform over the visible, non-padded keys),
    /// values and output the identity, the feed-forward branch zero:
    /// `x_t = E[i_t] + P[t]`, `y_t = x_t + mean_{j ≤ t} LN(x_j)`, `h_t = LN(y_t)`, with the
    /// newest item on the last position embedding. Checks the embedding sum, the newest-anchored
    /// positions, the causal and padding masks, the pre-LN residual wiring and the final norm.
    #[test]
    fn fixed_weight_forward_pass_matches_the_hand_computed_one() {
        use burn::module::Param;
        use burn::tensor::TensorData;
        let _rng = crate::testing::rng_lock();
        let device = Device::flex();
        let (d, n, max_len) = (4usize, 3usize, 4usize);
        let cfg = SasRecConfig::new(n).with_d_model(d).with_d_ff(Some(4 * d)).with_n_blocks(1).with_max_len(max_len);
        let mut m = cfg.init(&device).unwrap();
        let e: Vec<f32> = (0..(n + 1) * d).map(|k| ((k * 7 % 11) as f32 - 5.0) / 10.0).collect();
        let p: Vec<f32> = (0..max_len * d).map(|k| ((k * 5 % 13) as f32 - 6.0) / 20.0).collect();
        let t2 = |v: Vec<f32>, r: usize, c: usize| {
            Param::from_tensor(Tensor::<2>::from_data(TensorData::new(v, [r, c]), &device))
        };
        let eye = |k: usize| (0..k * k).map(|i| if i % (k + 1) == 0 { 1.0 } else { 0.0 }).collect::<Vec<f32>>();
        m.item_emb.weight = t2(e.clone(), n + 1, d);
        m.pos_emb.weight = t2(p.clone(), max_len, d);
        let zero_d = || Param::from_tensor(Tensor::<1>::zeros([d], &device));
        let b = &mut m.blocks[0];
        b.attn.query.weight = t2(vec![0.0; d * d], d, d);
        b.attn.key.weight = t2(vec![0.0; d * d], d, d);
        b.attn.value.weight = t2(eye(d), d, d);
        b.attn.output.weight = t2(eye(d), d, d);
        for l in [&mut b.attn.query, &mut b.attn.key, &mut b.attn.value, &mut b.attn.output] {
            l.bias = Some(zero_d());
        }
        b.ff.linear_outer.weight = t2(vec![0.0; 4 * d * d], 4 * d, d);
        b.ff.linear_outer.bias = Some(zero_d());

        let ln = |v: &[f64]| -> Vec<f64> {
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
            v.iter().map(|x| (x - mean) / (var + 1e-5).sqrt()).collect()
        };
        // History [2, 3, 1] left-padded to 4: positions 1, 2, 3 (the newest on max_len − 1).
        let history = [2usize, 3, 1];
        let x: Vec<Vec<f64>> = history
            .iter()
            .enumerate()
            .map(|(t, &i)| (0..d).map(|c| (e[i * d + c] + p[(t + 1) * d + c]) as f64).collect())
            .collect();
        let a: Vec<Vec<f64>> = x.iter().map(|v| ln(v)).collect();
        let expect: Vec<Vec<f64>> = (0..history.len())
            .map(|t| {
                let y: Vec<f64> =
                    (0..d).map(|c| x[t][c] + (0..=t).map(|j| a[j][c]).sum::<f64>() / (t + 1) as f64).collect();
                ln(&y)
            })
            .collect();
        let items = Tensor::<2, Int>::from_data(TensorData::new(vec![0i64, 2, 3, 1], [1, 4]), &device);
        let h = read(m.forward(items, None));
        for (t, row) in expect.iter().enumerate() {
            for c in 0..d {
                let got = h[(t + 1) * d + c] as f64;
                assert!((got - row[c]).abs() < 1e-4, "position {t}, dim {c}: {got} vs {}", row[c]);
            }
        }
    }

    #[test]
    fn the_recipe_defaults_are_the_pytorch_ones() {
        let _rng = crate::testing::rng_lock();
        let c = SasRecConfig::from_options(10, &EncoderOptions::default());
        assert_eq!(
            (c.d_model, c.n_blocks, c.n_heads, c.d_ff, c.linear_init),
            (64, 2, 1, Some(256), LinearInit::Normal)
        );
        let wide = SasRecConfig::from_options(10, &EncoderOptions { d_model: 32, ..EncoderOptions::default() });
        assert_eq!(wide.d_ff, Some(128));
    }

    #[test]
    fn bad_configs_are_errors() {
        let _rng = crate::testing::rng_lock();
        let device = Device::flex();
        assert!(SasRecConfig::new(0).init(&device).is_err());
        let e = SasRecConfig::new(5).with_d_model(10).with_n_heads(3).init(&device).unwrap_err();
        assert!(e.to_string().contains("n_heads"), "{e}");
        assert!(SasRecConfig::new(5).with_dropout(1.0).init(&device).is_err());
        assert!(SasRecConfig::new(5).with_max_len(0).init(&device).is_err());
    }
}
