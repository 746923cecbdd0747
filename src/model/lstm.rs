//! An LSTM sequence encoder (Hochreiter & Schmidhuber, 1997), set up like
//! [`crate::model::gru4rec`]: the recurrent baseline with a cell state.
//!
//! ```text
//! x_t  = E_item[i_t] (+ K[kind_t])                  embeddings, N(0, 0.02); K starts at zero
//! x    = dropout(x)
//! (h_t, c_t) = LSTM(x_t, h_{t−1}, c_{t−1})   at real items    } n_layers masked LSTM layers,
//! (h_t, c_t) = (h_{t−1}, c_{t−1})            at padding       } dropout(hidden_dropout) after each
//! u_t  = W h_t + b           when d_hidden ≠ d_model (or `dense`)
//! s(j) = u_t · E_item[j]                             tied output weights
//! ```
//!
//! The cell is PyTorch's:
//!
//! ```text
//! [i | f | g | o] = W_i x + b_i + W_h h + b_h
//! c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)     h' = σ(o) ⊙ tanh(c')
//! ```
//!
//! written over [`Linear`] layers so that the recurrence can be **masked**: at a padded step
//! both states are carried unchanged, so a history's user vector does not depend on the padding
//! of its batch. Gate weights start as PyTorch's, `U(−1/√fan_in, 1/√fan_in)`; the forget-gate
//! bias starts at 1 (a common choice that keeps the cell state early in training). Training is
//! [`crate::train`]'s: full-softmax cross-entropy at every position.

use burn::config::Config;
use burn::module::Module;
use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Embedding, Linear, LinearConfig};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Distribution, Int, Tensor};

use crate::error::Result;
use crate::model::neural::{EncoderConfig, SeqEncoder, item_table, keep_newest, kind_table};
use crate::model::registry::{EncoderOption, EncoderOptions};
use crate::model::rnn::{check_rates, check_rnn, keep_mask, rnn_weights, step};

/// Hyper-parameters of [`Lstm`]. Build the model with [`LstmConfig::init`].
///
/// Defaults are the usual good settings for sparse data such as Amazon Beauty: `d_model` 64,
/// one LSTM layer as wide as the embeddings, dropout 0.3 on the embeddings, 50 positions.
#[derive(Config, Debug)]
pub struct LstmConfig {
    /// Number of real items; the item table has `num_items + 1` rows (row 0 is padding).
    pub num_items: usize,
    /// Width of the item embeddings and of the user vector.
    #[config(default = 64)]
    pub d_model: usize,
    /// Width of the LSTM state; `None` means `d_model`.
    pub d_hidden: Option<usize>,
    /// Number of stacked LSTM layers.
    #[config(default = 1)]
    pub n_layers: usize,
    /// Longest history the model reads.
    #[config(default = 50)]
    pub max_len: usize,
    /// Dropout on the input embeddings.
    #[config(default = 0.3)]
    pub dropout: f64,
    /// Dropout on the output of every LSTM layer.
    #[config(default = 0.0)]
    pub hidden_dropout: f64,
    /// Project the LSTM state to `d_model` with a dense layer even when the widths agree (it is
    /// always there when they differ).
    #[config(default = false)]
    pub dense: bool,
    /// Add a learned event-kind embedding (6 kinds, zero-initialised; `localrec train --kinds`).
    /// The model is then evaluated and served with each history's kinds. Bundles without the
    /// setting load with `false`.
    #[config(default = false)]
    pub use_kinds: bool,
    /// Standard deviation of the normal initialisation of the embeddings.
    #[config(default = 0.02)]
    pub init_std: f64,
}

impl LstmConfig {
    fn hidden(&self) -> usize {
        self.d_hidden.unwrap_or(self.d_model)
    }

    fn has_dense(&self) -> bool {
        self.dense || self.hidden() != self.d_model
    }
}

impl EncoderConfig for LstmConfig {
    type Model = Lstm;
    const KIND: &'static str = "lstm";
    const OPTIONS: &'static [EncoderOption] = &[EncoderOption::Layers, EncoderOption::Dropout, EncoderOption::Kinds];

    fn from_options(num_items: usize, options: &EncoderOptions) -> Self {
        let mut c = LstmConfig::new(num_items).with_d_model(options.d_model).with_max_len(options.max_len);
        c.n_layers = options.n_layers.unwrap_or(c.n_layers);
        c.dropout = options.dropout.unwrap_or(c.dropout);
        c.use_kinds = options.kinds;
        c
    }

    fn num_items(&self) -> usize {
        self.num_items
    }

    /// Checks the values and names the first wrong one.
    fn validate(&self) -> Result<()> {
        check_rnn("lstm", self.num_items, self.d_model, self.d_hidden, self.n_layers, self.max_len)?;
        check_rates("lstm", self.dropout, self.hidden_dropout, self.init_std)
    }

    /// A lower bound on the number of weights this config builds: the item table, the gate
    /// matrices of every layer and the dense layer (biases left out). Computed without
    /// overflow, so an absurd config gives a huge number rather than a panic.
    fn min_weights(&self) -> u128 {
        rnn_weights(self.num_items, self.d_model, self.hidden(), self.n_layers, 4, self.has_dense())
    }

    /// Builds a freshly initialised model on `device` (seed the device first for
    /// reproducible weights). Fails on an invalid configuration.
    fn init(&self, device: &Device) -> Result<Lstm> {
        self.validate()?;
        let (d, h) = (self.d_model, self.hidden());
        let layers = (0..self.n_layers).map(|k| MaskedLstm::new(if k == 0 { d } else { h }, h, device)).collect();
        Ok(Lstm {
            item_emb: item_table(self.num_items, d, self.init_std, device),
            kind_emb: self.use_kinds.then(|| kind_table(d, device)),
            emb_dropout: DropoutConfig::new(self.dropout).init(),
            layers,
            hidden_dropout: DropoutConfig::new(self.hidden_dropout).init(),
            dense: self.has_dense().then(|| LinearConfig::new(h, d).init(device)),
            num_items: self.num_items,
            max_len: self.max_len,
            d_model: d,
        })
    }
}

/// One LSTM layer whose hidden and cell states are carried unchanged over padded steps.
#[derive(Module, Debug)]
pub struct MaskedLstm {
    /// Input projection to the four gates `[i | f | g | o]`.
    input: Linear,
    /// Hidden-state projection to the four gates.
    hidden: Linear,
    d_hidden: usize,
}

impl MaskedLstm {
    /// A layer from `d_in` to `h`, PyTorch's initialisation, forget-gate bias 1.
    fn new(d_in: usize, h: usize, device: &Device) -> MaskedLstm {
        // PyTorch's U(−1/√d_in, 1/√d_in), as burn's default for the weights; drawn afresh (a
        // parameter's own value cannot be edited in place on an autodiff device).
        let k = 1.0 / (d_in as f64).sqrt();
        let bias = Tensor::<1>::random([4 * h], Distribution::Uniform(-k, k), device)
            .slice_assign(h..2 * h, Tensor::ones([h], device));
        let mut input = LinearConfig::new(d_in, 4 * h).with_bias(false).init(device);
        input.bias = Some(Param::from_tensor(bias));
        MaskedLstm { input, hidden: LinearConfig::new(h, 4 * h).init(device), d_hidden: h }
    }

    /// # Shapes
    /// - `x`: `[B, L, d_in]`; `keep`: `[B, L, 1]` (1 at real items, 0 at padding)
    /// - output: `[B, L, d_hidden]`, the hidden state after every step (zero before the first
    ///   item)
    fn forward(&self, x: Tensor<3>, keep: &Tensor<3>) -> Tensor<3> {
        let [b, l, _] = x.dims();
        let h = self.d_hidden;
        let xi = self.input.forward(x);
        let mut state = Tensor::<2>::zeros([b, h], &xi.device());
        let mut cell = state.clone();
        let mut out = Vec::with_capacity(l);
        for t in 0..l {
            let gates = step(&xi, t) + self.hidden.forward(state.clone());
            let ifo = sigmoid(gates.clone().narrow(1, 0, 2 * h));
            let (i, f) = (ifo.clone().narrow(1, 0, h), ifo.narrow(1, h, h));
            let g = tanh(gates.clone().narrow(1, 2 * h, h));
            let o = sigmoid(gates.narrow(1, 3 * h, h));
            let new_cell = f * cell.clone() + i * g;
            let new_state = o * tanh(new_cell.clone());
            // Taken only at real items.
            let k = step(keep, t);
            cell = cell.clone() + k.clone() * (new_cell - cell);
            state = state.clone() + k * (new_state - state);
            out.push(state.clone().reshape([b, 1, h]));
        }
        Tensor::cat(out, 1)
    }
}

/// The LSTM sequence encoder. Built by [`LstmConfig::init`].
///
/// # Shapes
/// - input `items`: `[B, L]` item indices, **left-padded** with 0 (`L` ≤ `max_len`; longer
///   inputs keep their last `max_len` columns). Indices must be `0..=num_items`.
/// - input `kinds` (optional): `[B, L]` event-kind indices `0..6` ([`crate::events::EventKind::index`]),
///   used only when the model was built with `use_kinds`.
/// - output of [`SeqEncoder::forward`]: `[B, L, d_model]`; row `t` encodes `items[.., ..=t]`.
///   At padded positions before the first item the recurrent state is zero.
/// - item table: `[num_items + 1, d_model]`; scores are `h · tableᵀ`, `[B, num_items + 1]`.
#[derive(Module, Debug)]
pub struct Lstm {
    item_emb: Embedding,
    kind_emb: Option<Embedding>,
    emb_dropout: Dropout,
    layers: Vec<MaskedLstm>,
    hidden_dropout: Dropout,
    dense: Option<Linear>,
    num_items: usize,
    max_len: usize,
    d_model: usize,
}

impl SeqEncoder for Lstm {
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
        let keep = keep_mask(&items);
        let mut x = self.item_emb.forward(items);
        if let (Some(emb), Some(k)) = (&self.kind_emb, kinds) {
            x = x + emb.forward(k);
        }
        let mut x = self.emb_dropout.forward(x);
        for layer in &self.layers {
            x = self.hidden_dropout.forward(layer.forward(x, &keep));
        }
        match &self.dense {
            Some(dense) => dense.forward(x),
            None => x,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::neural::contract::{self, items, read};

    fn model(cfg: LstmConfig) -> Lstm {
        let device = Device::flex();
        device.seed(7);
        cfg.with_max_len(8).init(&device).unwrap()
    }

    fn small() -> LstmConfig {
        LstmConfig::new(30).with_d_model(16)
    }

    #[test]
    fn shapes_follow_the_docs() {
        let _rng = crate::testing::rng_lock();
        contract::shapes(&model(small().with_use_kinds(true)));
        // A wider state is projected back to d_model.
        let wide = model(small().with_d_hidden(Some(24)).with_n_layers(2));
        assert!(wide.dense.is_some());
        contract::shapes(&wide);
    }

    #[test]
    fn later_items_do_not_change_earlier_positions() {
        let _rng = crate::testing::rng_lock();
        contract::causal(&model(small()));
        contract::causal(&model(small().with_n_layers(2).with_dense(true)));
    }

    #[test]
    fn left_padding_does_not_change_the_user_vector() {
        let _rng = crate::testing::rng_lock();
        contract::padding_invariant(&model(small()));
        contract::padding_invariant(&model(small().with_n_layers(2).with_d_hidden(Some(12))));
    }

    #[test]
    fn the_state_is_carried_over_padding() {
        let _rng = crate::testing::rng_lock();
        let m = model(small());
        let h = read(m.forward(items(&[&[0, 0, 0, 5, 6]]), None));
        assert!(h[..3 * 16].iter().all(|&x| x == 0.0), "no item yet: the state is still zero");
        assert!(h[3 * 16..].iter().any(|&x| x != 0.0));
        // Padding inside a row (a dropped unknown id) also leaves the state as it was.
        let gap = read(m.forward(items(&[&[5, 0, 6]]), None));
        assert_eq!(gap[..16], gap[16..32]);
        let plain = read(m.forward(items(&[&[5, 6]]), None));
        contract::assert_close(&gap[32..], &plain[16..], 1e-6, "gap skipped");
    }

    #[test]
    fn embeddings_start_small_and_kinds_start_at_zero() {
        let _rng = crate::testing::rng_lock();
        let m = model(small().with_use_kinds(true));
        contract::small_item_table(&m);
        assert!(read(m.kind_emb.as_ref().unwrap().weight.val()).iter().all(|&x| x == 0.0));
    }

    #[test]
    fn the_forget_gate_bias_starts_at_one() {
        let _rng = crate::testing::rng_lock();
        let m = model(small().with_d_hidden(Some(4)));
        let b = read(m.layers[0].input.bias.as_ref().unwrap().val());
        assert_eq!(b.len(), 16);
        assert!(b[4..8].iter().all(|&x| x == 1.0), "{b:?}");
        assert!(b[..4].iter().chain(&b[8..]).all(|&x| x.abs() <= 0.25 && x != 1.0));
    }

    #[test]
    fn bad_configs_are_errors() {
        let _rng = crate::testing::rng_lock();
        let device = Device::flex();
        for (cfg, field) in [
            (LstmConfig::new(0), "num_items"),
            (LstmConfig::new(5).with_d_model(0), "d_model"),
            (LstmConfig::new(5).with_d_hidden(Some(0)), "d_hidden"),
            (LstmConfig::new(5).with_n_layers(0), "n_layers"),
            (LstmConfig::new(5).with_max_len(0), "max_len"),
            (LstmConfig::new(5).with_dropout(1.0), "dropout"),
            (LstmConfig::new(5).with_hidden_dropout(-0.1), "hidden_dropout"),
            (LstmConfig::new(5).with_init_std(0.0), "init_std"),
        ] {
            let e = cfg.init(&device).unwrap_err().to_string();
            assert!(e.contains(&format!("lstm.{field}")), "{e}");
        }
    }

    #[test]
    fn min_weights_counts_the_big_matrices() {
        let _rng = crate::testing::rng_lock();
        let cfg = LstmConfig::new(30).with_d_model(16).with_d_hidden(Some(8)).with_n_layers(2);
        // table 31·16, layer 1: 4·8·(16+8), layer 2: 4·8·16, dense 8·16
        assert_eq!(cfg.min_weights(), 31 * 16 + 4 * 8 * 24 + 4 * 8 * 16 + 8 * 16);
        let m = model(cfg.clone());
        assert!(m.num_params() as u128 >= cfg.min_weights());
        let absurd = LstmConfig::new(usize::MAX).with_d_model(usize::MAX).with_n_layers(usize::MAX);
        assert_eq!(absurd.min_weights(), u128::MAX);
    }
}
