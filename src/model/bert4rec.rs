//! BERT4Rec: sequential recommendation with bidirectional encoder representations from
//! Transformer (Sun et al., 2019).
//!
//! ```text
//! x_t  = E[i_t] + P[t]                     E has num_items + 2 rows: 0 padding, 1..=n items,
//!                                          n + 1 the [MASK] token; N(0, 0.02)
//! x    = dropout(x) · not_pad
//! x    = x + dropout(MHA(LN(x), key-padding mask))   } N pre-LayerNorm blocks, no causal mask:
//! x    = x + dropout(FFN(LN(x)))                      } every position sees the whole history
//! h    = LN(GELU(W · LN(x) + b))                        BERT's output transform
//! s(j) = h_t · E[j],  j ∈ 0..=n                        tied output weights ([MASK] is no candidate)
//! ```
//!
//! **Training** is the cloze task ([`Objective::Cloze`], run by [`crate::train::fit`]): in every
//! training sequence each item is replaced by `[MASK]` with probability `mask_prob` (at least one
//! per sequence), and the states at the masked positions predict the hidden items with the
//! same full-softmax cross-entropy as the causal encoders. A share `last_only` of the sequences
//! gets only its newest item masked, which is exactly the inference situation.
//!
//! **Inference** ([`SeqEncoder::user_states`]): `[MASK]` is appended after the history (the
//! oldest item is dropped if the history already fills `max_len`) and its state is the user
//! vector. Positions count back from the newest column, as in [`crate::model::sasrec`], so the
//! mask always sits at position `max_len − 1` and a history's vector does not depend on the
//! padding of its batch.
//!
//! Differences from the paper: pre-LayerNorm blocks (as in our SASRec) instead of post-LN; no
//! per-item output bias (scores must stay `user · tableᵀ` for the browser runtime); the
//! "last item only" share of the training sequences.

use burn::config::Config;
use burn::module::Module;
use burn::nn::activation::ActivationConfig;
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Initializer, LayerNorm, LayerNormConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::gelu;
use burn::tensor::{Device, Int, Tensor};

use crate::error::{Error, Result};
use crate::model::init::LinearInit;
use crate::model::neural::{EncoderConfig, Objective, SeqEncoder, keep_newest, newest_anchored_positions};
use crate::model::registry::{EncoderOption, EncoderOptions};
use crate::model::sasrec::SasRecBlock;

/// Hyper-parameters of [`Bert4Rec`]. Build the model with [`Bert4RecConfig::init`].
///
/// Defaults follow RecBole's: `d_model` 64, 2 blocks of 2 heads, feed-forward width 256,
/// dropout 0.2, mask probability 0.2, 50 positions.
#[derive(Config, Debug)]
pub struct Bert4RecConfig {
    /// Number of real items; the table has `num_items + 2` rows (padding, items, `[MASK]`).
    pub num_items: usize,
    /// Width of embeddings and hidden states.
    #[config(default = 64)]
    pub d_model: usize,
    /// Number of Transformer blocks.
    #[config(default = 2)]
    pub n_blocks: usize,
    /// Attention heads per block (`d_model` must be a multiple).
    #[config(default = 2)]
    pub n_heads: usize,
    /// Width of the feed-forward hidden layer; `None` means `4 · d_model`.
    pub d_ff: Option<usize>,
    /// Longest input, `[MASK]` included (the number of position embeddings): inference reads the
    /// newest `max_len − 1` items of a history.
    #[config(default = 50)]
    pub max_len: usize,
    /// Dropout on embeddings, attention weights, residual branches and the feed-forward layer.
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Probability that a training position is masked.
    #[config(default = 0.2)]
    pub mask_prob: f64,
    /// Share of training sequences whose newest item is the only one masked.
    #[config(default = 0.1)]
    pub last_only: f64,
    /// Activation of the feed-forward layer.
    #[config(default = "ActivationConfig::Gelu")]
    pub activation: ActivationConfig,
    /// Standard deviation of the normal initialisation of the embeddings.
    #[config(default = 0.02)]
    pub init_std: f64,
}

impl Bert4RecConfig {
    fn ff(&self) -> usize {
        self.d_ff.unwrap_or(self.d_model.saturating_mul(4))
    }
}

impl EncoderConfig for Bert4RecConfig {
    type Model = Bert4Rec;
    const KIND: &'static str = "bert4rec";
    const OPTIONS: &'static [EncoderOption] =
        &[EncoderOption::Blocks, EncoderOption::Heads, EncoderOption::Dropout, EncoderOption::MaskProb];

    fn from_options(num_items: usize, options: &EncoderOptions) -> Self {
        let mut c = Bert4RecConfig::new(num_items).with_d_model(options.d_model).with_max_len(options.max_len);
        c.n_blocks = options.n_blocks.unwrap_or(c.n_blocks);
        c.n_heads = options.n_heads.unwrap_or(c.n_heads);
        c.dropout = options.dropout.unwrap_or(c.dropout);
        c.mask_prob = options.mask_prob.unwrap_or(c.mask_prob);
        c
    }

    fn num_items(&self) -> usize {
        self.num_items
    }

    /// Checks the values and names the first wrong one.
    fn validate(&self) -> Result<()> {
        let bad = |field: &str, problem: String| Err(Error::invalid(format!("bert4rec.{field}"), problem));
        if self.num_items == 0 {
            return bad("num_items", "the catalog is empty".into());
        }
        if self.d_model == 0 {
            return bad("d_model", "must be at least 1".into());
        }
        if self.n_heads == 0 || self.d_model % self.n_heads != 0 {
            return bad("n_heads", format!("{} does not divide d_model = {}", self.n_heads, self.d_model));
        }
        if self.max_len < 2 {
            return bad("max_len", "must be at least 2 (one item and the mask)".into());
        }
        if self.d_ff == Some(0) {
            return bad("d_ff", "must be at least 1".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad("dropout", format!("{} is not in [0, 1)", self.dropout));
        }
        if !(self.mask_prob > 0.0 && self.mask_prob <= 1.0) {
            return bad("mask_prob", format!("{} is not in (0, 1]", self.mask_prob));
        }
        if !(0.0..=1.0).contains(&self.last_only) {
            return bad("last_only", format!("{} is not in [0, 1]", self.last_only));
        }
        if !(self.init_std.is_finite() && self.init_std > 0.0) {
            return bad("init_std", format!("{} is not a positive number", self.init_std));
        }
        Ok(())
    }

    /// A lower bound on the number of weights this config builds: the item and position tables,
    /// each block's attention and feed-forward matrices and the output transform (biases and
    /// norms left out). Computed without overflow.
    fn min_weights(&self) -> u128 {
        let d = self.d_model as u128;
        let ff = self.ff() as u128;
        let tables =
            (self.num_items as u128 + 2).saturating_add(self.max_len as u128).saturating_add(d).saturating_mul(d);
        let block = d.saturating_mul(d).saturating_mul(4).saturating_add(d.saturating_mul(ff).saturating_mul(2));
        tables.saturating_add(block.saturating_mul(self.n_blocks as u128))
    }

    /// Builds a freshly initialised model on `device` (seed the device first for
    /// reproducible weights). Fails on an invalid configuration.
    fn init(&self, device: &Device) -> Result<Bert4Rec> {
        self.validate()?;
        let d = self.d_model;
        let normal = Initializer::Normal { mean: 0.0, std: self.init_std };
        let blocks = (0..self.n_blocks)
            .map(|_| {
                SasRecBlock::new(
                    d,
                    self.n_heads,
                    self.ff(),
                    self.dropout,
                    &self.activation,
                    LinearInit::Uniform,
                    0.02,
                    device,
                )
            })
            .collect();
        Ok(Bert4Rec {
            item_emb: EmbeddingConfig::new(self.num_items + 2, d).with_initializer(normal.clone()).init(device),
            pos_emb: EmbeddingConfig::new(self.max_len, d).with_initializer(normal).init(device),
            emb_dropout: DropoutConfig::new(self.dropout).init(),
            blocks,
            final_norm: LayerNormConfig::new(d).init(device),
            head: LinearConfig::new(d, d).init(device),
            head_norm: LayerNormConfig::new(d).init(device),
            num_items: self.num_items,
            max_len: self.max_len,
            d_model: d,
            mask_prob: self.mask_prob,
            last_only: self.last_only,
        })
    }
}

/// The BERT4Rec encoder. Built by [`Bert4RecConfig::init`].
///
/// # Shapes
/// - input `items`: `[B, L]` item indices, **left-padded** with 0 (`L` ≤ `max_len`; longer
///   inputs keep their last `max_len` columns). Indices `0..=num_items + 1`; `num_items + 1` is
///   `[MASK]` ([`Bert4Rec::mask_index`]).
/// - input `kinds`: ignored (this encoder does not use event kinds).
/// - output of [`SeqEncoder::forward`]: `[B, L, d_model]`, bidirectional: row `t` reads every
///   non-padded position of its row. Rows at padded positions are defined but meaningless.
/// - [`SeqEncoder::user_states`]: `[B, d_model]`, the state of a `[MASK]` appended to each row.
/// - item table: `[num_items + 1, d_model]` (the `[MASK]` row is left out); scores are
///   `h · tableᵀ`, `[B, num_items + 1]`.
#[derive(Module, Debug)]
pub struct Bert4Rec {
    item_emb: Embedding,
    pos_emb: Embedding,
    emb_dropout: Dropout,
    blocks: Vec<SasRecBlock>,
    final_norm: LayerNorm,
    head: Linear,
    head_norm: LayerNorm,
    num_items: usize,
    max_len: usize,
    d_model: usize,
    mask_prob: f64,
    last_only: f64,
}

impl Bert4Rec {
    /// The index of the `[MASK]` token, `num_items + 1`.
    pub fn mask_index(&self) -> usize {
        self.num_items + 1
    }
}

impl SeqEncoder for Bert4Rec {
    fn num_items(&self) -> usize {
        self.num_items
    }

    fn max_len(&self) -> usize {
        self.max_len
    }

    fn d_model(&self) -> usize {
        self.d_model
    }

    fn objective(&self) -> Objective {
        Objective::Cloze { mask_prob: self.mask_prob, last_only: self.last_only }
    }

    fn item_table(&self) -> Tensor<2> {
        self.item_emb.weight.val().narrow(0, 0, self.num_items + 1)
    }

    fn forward(&self, items: Tensor<2, Int>, _kinds: Option<Tensor<2, Int>>) -> Tensor<3> {
        let (items, _) = keep_newest(items, None, self.max_len);
        let [b, l] = items.dims();
        let device = items.device();
        let pad = items.clone().equal_elem(0); // [B, L]
        let x =
            self.item_emb.forward(items) + self.pos_emb.forward(newest_anchored_positions(b, l, self.max_len, &device));
        let keep = pad.clone().bool_not().float().reshape([b, l, 1]);
        let mut x = self.emb_dropout.forward(x) * keep;
        // Every query sees every non-padded key.
        let mask = pad.reshape([b, 1, l]).expand([b, l, l]);
        for block in &self.blocks {
            x = block.forward(x, mask.clone());
        }
        let x = self.final_norm.forward(x);
        self.head_norm.forward(gelu(self.head.forward(x)))
    }

    fn user_states(&self, items: Tensor<2, Int>, _kinds: Option<Tensor<2, Int>>) -> Tensor<2> {
        let [b, l] = items.dims();
        let keep = l.min(self.max_len - 1);
        let items = items.narrow(1, l - keep, keep);
        let mask = Tensor::<2, Int>::full([b, 1], self.mask_index() as i64, &items.device());
        let h = self.forward(Tensor::cat(vec![items, mask], 1), None);
        h.narrow(1, keep, 1).reshape([b, self.d_model])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::neural::contract::{self, assert_close, items, read};

    fn model() -> Bert4Rec {
        let device = Device::flex();
        device.seed(7);
        Bert4RecConfig::new(30).with_d_model(16).with_max_len(8).init(&device).unwrap()
    }

    #[test]
    fn shapes_follow_the_docs() {
        let _rng = crate::testing::rng_lock();
        let m = model();
        contract::shapes(&m);
        assert_eq!(m.item_emb.weight.val().dims(), [32, 16], "the table has a `[MASK]` row");
        assert_eq!(m.mask_index(), 31);
        assert_eq!(m.objective(), Objective::Cloze { mask_prob: 0.2, last_only: 0.1 });
    }

    #[test]
    fn attention_is_bidirectional() {
        let _rng = crate::testing::rng_lock();
        let m = model();
        let a = read(m.forward(items(&[&[4, 9, 2, 7, 11, 5]]), None));
        let b = read(m.forward(items(&[&[4, 9, 2, 7, 11, 23]]), None));
        let first: f32 = a[..16].iter().zip(&b[..16]).map(|(x, y)| (x - y).abs()).sum();
        assert!(first > 1e-3, "the first position sees the last item");
    }

    #[test]
    fn the_user_vector_is_the_state_of_an_appended_mask() {
        let _rng = crate::testing::rng_lock();
        let m = model();
        let u = read(m.user_states(items(&[&[0, 4, 9, 2]]), None));
        let h = read(m.forward(items(&[&[0, 4, 9, 2, 31]]), None));
        assert_close(&u, &h[4 * 16..], 1e-6, "mask appended");
        // A full history drops its oldest item to make room for the mask.
        let full: Vec<i64> = (1..=8).collect();
        let u = read(m.user_states(items(&[&full]), None));
        let h = read(m.forward(items(&[&[2, 3, 4, 5, 6, 7, 8, 31]]), None));
        assert_close(&u, &h[7 * 16..], 1e-6, "oldest dropped");
    }

    #[test]
    fn left_padding_does_not_change_the_user_vector() {
        let _rng = crate::testing::rng_lock();
        contract::padding_invariant(&model());
    }

    #[test]
    fn embeddings_start_small() {
        let _rng = crate::testing::rng_lock();
        contract::small_item_table(&model());
    }

    #[test]
    fn bad_configs_are_errors() {
        let _rng = crate::testing::rng_lock();
        let device = Device::flex();
        for (cfg, field) in [
            (Bert4RecConfig::new(0), "num_items"),
            (Bert4RecConfig::new(5).with_d_model(10).with_n_heads(3), "n_heads"),
            (Bert4RecConfig::new(5).with_max_len(1), "max_len"),
            (Bert4RecConfig::new(5).with_d_ff(Some(0)), "d_ff"),
            (Bert4RecConfig::new(5).with_dropout(1.0), "dropout"),
            (Bert4RecConfig::new(5).with_mask_prob(0.0), "mask_prob"),
            (Bert4RecConfig::new(5).with_last_only(1.5), "last_only"),
            (Bert4RecConfig::new(5).with_init_std(-1.0), "init_std"),
        ] {
            let e = cfg.init(&device).unwrap_err().to_string();
            assert!(e.contains(&format!("bert4rec.{field}")), "{e}");
        }
        let cfg = Bert4RecConfig::new(30).with_d_model(16).with_max_len(8);
        assert_eq!(cfg.min_weights(), (32 + 8 + 16) * 16 + 2 * (4 * 16 * 16 + 2 * 16 * 64));
        assert!(model().num_params() as u128 >= cfg.min_weights());
        assert_eq!(Bert4RecConfig::new(usize::MAX).with_d_model(usize::MAX).min_weights(), u128::MAX);
    }
}
