//! Pieces shared by the neural sequence encoders: the [`SeqEncoder`] trait, left-padding of
//! histories ([`PaddedBatch`]), user vectors and catalog scores, and [`NeuralScorer`],
//! which turns any trained encoder into a [`Scorer`].
//!
//! Every encoder reads a batch of left-padded histories and returns one hidden state per
//! position; the state at the last position is the user vector ([`SeqEncoder::user_states`];
//! BERT4Rec instead appends a mask and takes its state), and an item's score is the dot
//! product of the user vector with the item's row of the (tied) item embedding table:
//!
//! ```text
//! histories ──left-pad/trim──▶ [B, L] ──encoder──▶ [B, L, d] ──last position──▶ [B, d]
//!                                                        scores = users · tableᵀ : [B, n + 1]
//! ```
//!
//! An encoder trained with event kinds ([`SeqEncoder::uses_kinds`]: `use_kinds` in its config,
//! `localrec train --kinds`) reads them wherever it scores: [`PaddedBatch::with_kinds`] trims,
//! cleans and pads the kinds with their items, [`NeuralScorer`] reads them in
//! [`Scorer::score_batch_with_kinds`] (what [`crate::eval::run`] calls, so `localrec eval` and
//! the validation during training use them), and [`score_history_async`] /
//! [`score_histories_async`] in the browser runtime ([`crate::serve::Engine`]). The same history
//! and kinds give the same scores on every path.

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, Initializer};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::model::Scorer;
use crate::model::categories::CategoryLists;
use crate::model::pop::check_out;
use crate::model::registry::{EncoderOption, EncoderOptions};

/// What an encoder is trained to predict (see [`crate::train`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Objective {
    /// Next-item prediction: the state at every non-padded position predicts the item after
    /// it. The encoder must be causal.
    Causal,
    /// Masked-item prediction (BERT4Rec's cloze task): positions of a training sequence are
    /// replaced with the mask index `num_items + 1` (each with probability `mask_prob`, at least
    /// one per sequence), and the states there predict the hidden items. A share `last_only` of
    /// the sequences instead gets only its newest item masked, as at inference, where a mask is
    /// appended to the history.
    Cloze {
        /// Probability that a position is masked.
        mask_prob: f64,
        /// Share of training sequences whose newest item is the only one masked.
        last_only: f64,
    },
}

/// A sequence encoder over item indices whose output layer is its own item embedding table.
///
/// # Shapes
/// - `items`: `[B, L]`, left-padded with 0, `L` ≤ [`max_len`](SeqEncoder::max_len) (longer
///   inputs keep their newest columns), indices in `0..=num_items` (a
///   [`Cloze`](Objective::Cloze) encoder also reads the mask index `num_items + 1`);
/// - `kinds`: `[B, L]` event-kind indices, or `None`;
/// - [`forward`](SeqEncoder::forward) returns `[B, L, d_model]`: with the
///   [`Causal`](Objective::Causal) objective, row `t` depends only on the non-padded items at
///   positions `..=t`; a [`Cloze`](Objective::Cloze) encoder may read the whole row;
/// - [`user_states`](SeqEncoder::user_states) returns `[B, d_model]`;
/// - [`item_table`](SeqEncoder::item_table) is `[num_items + 1, d_model]`, row 0 = padding.
pub trait SeqEncoder: Module + Sized {
    /// Number of real items (the table has one more row, for padding).
    fn num_items(&self) -> usize;
    /// Longest history the encoder reads.
    fn max_len(&self) -> usize;
    /// Width of hidden states and embeddings.
    fn d_model(&self) -> usize;
    /// Whether [`forward`](SeqEncoder::forward) uses the event kinds when given.
    fn uses_kinds(&self) -> bool {
        false
    }
    /// The training objective (default: next-item prediction).
    fn objective(&self) -> Objective {
        Objective::Causal
    }
    /// Hidden state at every position of a left-padded batch.
    fn forward(&self, items: Tensor<2, Int>, kinds: Option<Tensor<2, Int>>) -> Tensor<3>;
    /// The user vector of every row of a left-padded batch of histories, `[B, d_model]`.
    /// Default: the state of [`forward`](SeqEncoder::forward) at the last column.
    fn user_states(&self, items: Tensor<2, Int>, kinds: Option<Tensor<2, Int>>) -> Tensor<2> {
        let h = self.forward(items, kinds);
        let [b, l, d] = h.dims();
        h.narrow(1, l - 1, 1).reshape([b, d])
    }
    /// The item embedding table that also scores items.
    fn item_table(&self) -> Tensor<2>;
}

/// A model configuration that [`crate::model::from_bundle`] and [`crate::train::train`] can
/// build: its kind name, the caller-chosen settings it reads, its size, its checks and its
/// model. Every kind is listed once, in [`crate::model::registry`].
pub trait EncoderConfig: serde::Serialize + serde::de::DeserializeOwned {
    /// The model it builds.
    type Model: SeqEncoder + Sync + 'static;
    /// The encoder kind stored in bundles (`"sasrec"`, `"gru4rec"`, ...).
    const KIND: &'static str;
    /// The optional settings of [`EncoderOptions`] it reads (the command line refuses the others).
    const OPTIONS: &'static [EncoderOption];
    /// Its dropout on dense data (long histories, [`crate::train::DataRecipe`]) when none is
    /// given; `None`: its default everywhere.
    const DENSE_DROPOUT: Option<f64> = None;
    /// Its default config for `num_items` items, with the widths of `options` and the optional
    /// settings it reads that `options` gives.
    fn from_options(num_items: usize, options: &EncoderOptions) -> Self;
    /// Number of real items the model is built for.
    fn num_items(&self) -> usize;
    /// Checks the values and names the first wrong one.
    fn validate(&self) -> Result<()>;
    /// A lower bound on the number of weights the model has, computed without overflow (so an
    /// absurd config gives a huge number rather than a panic).
    fn min_weights(&self) -> u128;
    /// Builds a freshly initialised model on `device` (seed the device first for reproducible
    /// weights). Fails on an invalid configuration.
    fn init(&self, device: &Device) -> Result<Self::Model>;
    /// Number of item categories fused into the item representation (0: ids only; see
    /// [`crate::model::categories`]).
    fn categories(&self) -> usize {
        0
    }
    /// Fuses `n` categories, the items' lists given by `lists` (encoders that read
    /// [`EncoderOption::Categories`]; others ignore it). Bundles record `n`, not the lists: a
    /// loaded model gets them from the bundle's catalogue.
    fn set_categories(&mut self, _n: usize, _lists: CategoryLists) {}
}

/// An item table of `num_items + 1` rows, `N(0, init_std)`.
pub(crate) fn item_table(num_items: usize, d: usize, init_std: f64, device: &Device) -> Embedding {
    EmbeddingConfig::new(num_items + 1, d)
        .with_initializer(Initializer::Normal { mean: 0.0, std: init_std })
        .init(device)
}

/// The event-kind table, zero-initialised (a model trained with kinds starts as one without).
pub(crate) fn kind_table(d: usize, device: &Device) -> Embedding {
    EmbeddingConfig::new(EventKind::ALL.len(), d).with_initializer(Initializer::Zeros).init(device)
}

/// `model` with every weight of its event-kind table (a module field named `kind_emb`) set to
/// `value(i)`, `i` the row-major index, and the number of tables found. A fresh kind table is
/// zero (the model reads kinds only once trained), so fixtures and tests that must show kinds
/// changing the scores use this instead of a training run.
pub fn fill_kind_tables<M: Module>(model: M, value: impl Fn(usize) -> f32) -> (M, usize) {
    map_params_under(model, "kind_emb", |shape| {
        Some(TensorData::new((0..shape.iter().product()).map(&value).collect::<Vec<f32>>(), shape.to_vec()))
    })
}

/// `model` with its item embedding (the weight of the module field named `item_emb`) replaced
/// by `rows` (`[r, d_model]`, any `r`): how an encoder served from a compressed item table gets
/// the decoded rows of a request's history items (see [`crate::model::hosted`]). Returns the
/// model and whether it had an item embedding.
pub fn with_item_rows<M: Module>(model: M, rows: TensorData) -> (M, bool) {
    let (model, n) = map_params_under(model, "item_emb", |shape| (shape.len() == 2).then(|| rows.clone()));
    (model, n > 0)
}

/// `model` with every float parameter inside a module field named `module` replaced by
/// `make(shape)` (kept when it gives `None` or data of another rank), and the number replaced.
fn map_params_under<M: Module>(model: M, module: &str, make: impl FnMut(&[usize]) -> Option<TensorData>) -> (M, usize) {
    struct Replace<'a, F> {
        module: &'a str,
        path: Vec<String>,
        replaced: usize,
        make: F,
    }
    impl<F: FnMut(&[usize]) -> Option<TensorData>> burn::module::ModuleMapper for Replace<'_, F> {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<Tensor<D>>,
        ) -> burn::module::Param<Tensor<D>> {
            if !self.path.iter().any(|p| p == self.module) {
                return param;
            }
            let shape = param.val().dims();
            match (self.make)(&shape) {
                Some(data) if data.shape().len() == D => {
                    self.replaced += 1;
                    param.map(|t| Tensor::from_data(data, &t.device()))
                }
                _ => param,
            }
        }
    }
    let mut replace = Replace { module, path: Vec::new(), replaced: 0, make };
    let model = model.map(&mut replace);
    (model, replace.replaced)
}

/// Keeps the newest `max_len` columns of `items` (and of `kinds`).
///
/// # Shapes
/// `[B, L]` → `[B, min(L, max_len)]`.
pub(crate) fn keep_newest(
    items: Tensor<2, Int>,
    kinds: Option<Tensor<2, Int>>,
    max_len: usize,
) -> (Tensor<2, Int>, Option<Tensor<2, Int>>) {
    let [_, l] = items.dims();
    if l <= max_len {
        return (items, kinds);
    }
    let from = l - max_len;
    (items.narrow(1, from, max_len), kinds.map(|k| k.narrow(1, from, max_len)))
}

/// Position indices counted back from the newest column: the newest is `max_len − 1`.
///
/// # Shapes
/// Returns `[B, L]` (needs `L ≤ max_len`).
pub(crate) fn newest_anchored_positions(b: usize, l: usize, max_len: usize, device: &Device) -> Tensor<2, Int> {
    Tensor::<1, Int>::arange((max_len - l) as i64..max_len as i64, device).reshape([1, l]).expand([b, l])
}

/// Histories cleaned, trimmed to their newest `max_len` items and left-padded with 0 to the
/// longest of them; with their event kinds, when given, cleaned, trimmed and padded alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaddedBatch {
    /// `rows × len` item indices, row-major, padding first.
    pub items: Vec<i64>,
    /// `rows × len` event-kind indices ([`EventKind::index`]) of those items, padding 0 (the
    /// training batches' padding); `None` when the batch was built without kinds.
    pub kinds: Option<Vec<i64>>,
    /// Number of histories.
    pub rows: usize,
    /// Padded length: the longest cleaned history, at least 1.
    pub len: usize,
    /// Number of real items per row (0 when a history had no valid item).
    pub lengths: Vec<usize>,
}

impl PaddedBatch {
    /// Keeps the indices in `1..=num_items` (padding and unknown ids are dropped), then the
    /// newest `max_len` of them, and left-pads every row to the longest.
    pub fn new(histories: &[&[u32]], max_len: usize, num_items: usize) -> Self {
        Self::build(histories, None, max_len, num_items)
    }

    /// [`PaddedBatch::new`] with the event kinds of the items, `kinds[r][t]` the kind of
    /// `histories[r][t]`: a dropped item drops its kind, so every kept item keeps its own.
    /// Errors: [`Error::Mismatch`] when the kinds are not one per item.
    pub fn with_kinds(histories: &[&[u32]], kinds: &[&[EventKind]], max_len: usize, num_items: usize) -> Result<Self> {
        crate::model::check_kinds(histories, kinds)?;
        Ok(Self::build(histories, Some(kinds), max_len, num_items))
    }

    /// [`PaddedBatch::new`] or, with kinds, [`PaddedBatch::with_kinds`].
    pub fn of(histories: &[&[u32]], kinds: Option<&[&[EventKind]]>, max_len: usize, num_items: usize) -> Result<Self> {
        match kinds {
            Some(k) => Self::with_kinds(histories, k, max_len, num_items),
            None => Ok(Self::new(histories, max_len, num_items)),
        }
    }

    /// The batch; `kinds`, when given, has one kind per history item (checked by the callers).
    fn build(histories: &[&[u32]], kinds: Option<&[&[EventKind]]>, max_len: usize, num_items: usize) -> Self {
        let max_len = max_len.max(1);
        // (item, kind) pairs kept per row, oldest first; kind 0 when there are none.
        let cleaned: Vec<Vec<(i64, i64)>> = histories
            .iter()
            .enumerate()
            .map(|(r, h)| {
                let kind = |t: usize| kinds.map_or(0, |k| k[r][t].index() as i64);
                let mut v: Vec<(i64, i64)> = h
                    .iter()
                    .enumerate()
                    .rev()
                    .filter(|&(_, &i)| i != 0 && (i as usize) <= num_items)
                    .take(max_len)
                    .map(|(t, &i)| (i as i64, kind(t)))
                    .collect();
                v.reverse();
                v
            })
            .collect();
        let len = cleaned.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut items = vec![0i64; histories.len() * len];
        let mut kind_rows = kinds.map(|_| vec![0i64; histories.len() * len]);
        for (r, h) in cleaned.iter().enumerate() {
            let from = r * len + len - h.len();
            for (t, &(item, kind)) in h.iter().enumerate() {
                items[from + t] = item;
                if let Some(k) = kind_rows.as_mut() {
                    k[from + t] = kind;
                }
            }
        }
        PaddedBatch {
            items,
            kinds: kind_rows,
            rows: histories.len(),
            len,
            lengths: cleaned.iter().map(Vec::len).collect(),
        }
    }

    /// Left-pads every row further, to `len` columns (no change when already that long): the
    /// scores do not depend on padding, and a fixed shape lets a GPU reuse its compiled kernels.
    pub fn padded_to(mut self, len: usize) -> Self {
        if len > self.len {
            self.items = left_pad(&self.items, self.len, len);
            self.kinds = self.kinds.map(|k| left_pad(&k, self.len, len));
            self.len = len;
        }
        self
    }

    /// The items as a `[rows, len]` tensor on `device`.
    pub fn tensor(&self, device: &Device) -> Tensor<2, Int> {
        Tensor::from_data(TensorData::new(self.items.clone(), [self.rows, self.len]), device)
    }

    /// The event kinds as a `[rows, len]` tensor on `device`, if the batch has them.
    pub fn kinds_tensor(&self, device: &Device) -> Option<Tensor<2, Int>> {
        let kinds = self.kinds.as_ref()?;
        Some(Tensor::from_data(TensorData::new(kinds.clone(), [self.rows, self.len]), device))
    }
}

/// Rows of `from` columns (row-major) left-padded with 0 to `to` columns.
fn left_pad(rows: &[i64], from: usize, to: usize) -> Vec<i64> {
    let mut out = vec![0i64; rows.len() / from * to];
    for (dst, src) in out.chunks_exact_mut(to).zip(rows.chunks_exact(from)) {
        dst[to - from..].copy_from_slice(src);
    }
    out
}

/// The user vectors of a padded batch: [`SeqEncoder::user_states`] (for most encoders the
/// state at the last position), given the batch's event kinds when it has them (an encoder
/// that does not [use kinds](SeqEncoder::uses_kinds) ignores them).
///
/// # Shapes
/// Returns `[batch.rows, d_model]`.
pub fn user_vectors<M: SeqEncoder>(model: &M, batch: &PaddedBatch, device: &Device) -> Tensor<2> {
    model.user_states(batch.tensor(device), batch.kinds_tensor(device))
}

/// Scores of every catalog entry for each user vector.
///
/// # Shapes
/// `users`: `[B, d]` → `[B, num_items + 1]` (column 0 is the padding row's score).
pub fn score_all<M: SeqEncoder>(model: &M, users: Tensor<2>) -> Tensor<2> {
    users.matmul(model.item_table().transpose())
}

/// What serving needs from a sequence encoder, behind a trait object: every [`SeqEncoder`] is
/// one, so the browser runtime ([`crate::serve`]) serves any encoder kind that
/// [`crate::model::encoder_from_bundle`] can build, on whatever device it was built on.
pub trait DynEncoder {
    /// Number of real items.
    fn n_items(&self) -> usize;
    /// Longest history the encoder reads.
    fn max_history(&self) -> usize;
    /// Width of user vectors and item embeddings.
    fn dim(&self) -> usize;
    /// Whether the encoder reads event kinds ([`SeqEncoder::uses_kinds`]).
    fn reads_kinds(&self) -> bool;
    /// The user vectors of a padded batch (see [`user_vectors`]), `[batch.rows, dim]`.
    fn users(&self, batch: &PaddedBatch, device: &Device) -> Tensor<2>;
    /// The item embedding table, `[n_items + 1, dim]`.
    fn table(&self) -> Tensor<2>;
    /// The user vectors of a padded batch with the item embedding replaced by `rows` (see
    /// [`with_item_rows`]): the batch's indices are rows of `rows`. Errors when the encoder
    /// has no item embedding to replace.
    fn users_with_rows(&self, batch: &PaddedBatch, rows: TensorData, device: &Device) -> Result<Tensor<2>>;
}

impl<M: SeqEncoder> DynEncoder for M {
    fn n_items(&self) -> usize {
        self.num_items()
    }
    fn max_history(&self) -> usize {
        self.max_len()
    }
    fn dim(&self) -> usize {
        self.d_model()
    }
    fn reads_kinds(&self) -> bool {
        self.uses_kinds()
    }
    fn users(&self, batch: &PaddedBatch, device: &Device) -> Tensor<2> {
        user_vectors(self, batch, device)
    }
    fn table(&self) -> Tensor<2> {
        self.item_table()
    }
    fn users_with_rows(&self, batch: &PaddedBatch, rows: TensorData, device: &Device) -> Result<Tensor<2>> {
        let (model, found) = with_item_rows(self.clone(), rows);
        if !found {
            return Err(Error::Bundle {
                problem: "the encoder has no item embedding (`item_emb`) to serve a compressed item table".into(),
            });
        }
        Ok(user_vectors(&model, batch, device))
    }
}

/// Copies a tensor to the host without blocking: the only way to read a WebGPU tensor in a
/// browser (a synchronous read panics there). On the CPU backend the future is ready at once.
pub async fn read_f32_async<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>> {
    let data = t
        .into_data_async()
        .await
        .map_err(|e| Error::Device(format!("could not read {what} back from the device: {e}")))?;
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Device(format!("could not read {what}: {e:?}")))
}

/// Scores of every catalog entry for one history, read back without blocking (see
/// [`read_f32_async`]): `num_items + 1` values, index 0 is `-inf`. A history with no valid item
/// gets zeros, as in [`NeuralScorer`]. `kinds`, one per history item, are read by an encoder
/// that [uses them](SeqEncoder::uses_kinds) (as [`Scorer::score_batch_with_kinds`]); an error
/// when not one per item. With `full_width` the history is left-padded to the
/// encoder's longest history, so every call has the same shape (what a GPU wants: kernels
/// compiled by the warm-up are reused); the scores are the same either way.
pub async fn score_history_async(
    model: &dyn DynEncoder,
    history: &[u32],
    kinds: Option<&[EventKind]>,
    device: &Device,
    full_width: bool,
) -> Result<Vec<f32>> {
    if let Some(k) = kinds {
        crate::model::check_kinds(&[history], &[k])?;
    }
    let kinds = kinds.filter(|_| model.reads_kinds());
    let mut batch =
        PaddedBatch::of(&[history], kinds.as_ref().map(std::slice::from_ref), model.max_history(), model.n_items())?;
    if full_width {
        batch = batch.padded_to(model.max_history().max(1));
    }
    let width = model.n_items() + 1;
    let mut scores = if batch.lengths[0] == 0 {
        vec![0.0; width]
    } else {
        let users = model.users(&batch, device);
        read_f32_async(users.matmul(model.table().transpose()), "scores").await?
    };
    if scores.len() != width {
        return Err(Error::Device(format!("the model produced {} scores for {width} catalog entries", scores.len())));
    }
    scores[0] = f32::NEG_INFINITY;
    Ok(scores)
}

/// Scores of every catalog entry for each of `histories`, row-major `[histories.len(),
/// num_items + 1]`, read back without blocking; the batched [`score_history_async`] (same
/// conventions: index 0 is `-inf`, a history with no valid item gets zeros; `kinds[r]` are the
/// kinds of `histories[r]`).
pub async fn score_histories_async(
    model: &dyn DynEncoder,
    histories: &[&[u32]],
    kinds: Option<&[&[EventKind]]>,
    device: &Device,
    full_width: bool,
) -> Result<Vec<f32>> {
    let width = model.n_items() + 1;
    if histories.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(k) = kinds {
        crate::model::check_kinds(histories, k)?;
    }
    let kinds = kinds.filter(|_| model.reads_kinds());
    let mut batch = PaddedBatch::of(histories, kinds, model.max_history(), model.n_items())?;
    if full_width {
        batch = batch.padded_to(model.max_history().max(1));
    }
    let users = model.users(&batch, device);
    let mut scores = read_f32_async(users.matmul(model.table().transpose()), "scores").await?;
    if scores.len() != width * histories.len() {
        return Err(Error::Device(format!(
            "the model produced {} scores for {} histories of {width} catalog entries",
            scores.len(),
            histories.len()
        )));
    }
    for (row, &len) in scores.chunks_exact_mut(width).zip(&batch.lengths) {
        if len == 0 {
            row.fill(0.0);
        }
        row[0] = f32::NEG_INFINITY;
    }
    Ok(scores)
}

/// Rows `indices` of the item embedding table, row-major `[indices.len(), d_model]`, read back
/// without blocking. Indices must be in `0..=num_items` (checked: an error otherwise).
pub async fn item_rows_async(model: &dyn DynEncoder, indices: &[u32], device: &Device) -> Result<Vec<f32>> {
    if let Some(&bad) = indices.iter().find(|&&i| i as usize > model.n_items()) {
        return Err(Error::invalid("item index", format!("{bad} is outside 0..={}", model.n_items())));
    }
    if indices.is_empty() {
        return Ok(Vec::new());
    }
    let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [indices.len()]), device);
    read_f32_async(model.table().select(0, idx), "item embeddings").await
}

/// Copies a tensor to the host, turning a read failure into an [`Error`].
pub(crate) fn read_f32<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>> {
    t.try_into_vec_as::<f32>().map_err(|e| Error::Device(format!("could not read {what} back from the device: {e:?}")))
}

/// A trained [`SeqEncoder`] served as a [`Scorer`], on the CPU (`Device::flex()`) unless
/// built [`on`](NeuralScorer::on) another device.
///
/// Histories are cleaned and left-padded by [`PaddedBatch`] (unknown ids are ignored, with
/// their kinds), encoded in chunks of [`chunk`](NeuralScorer::with_chunk) histories, and scored
/// against the whole item table. A model trained with kinds reads those given to
/// [`Scorer::score_batch_with_kinds`]; [`Scorer::score_batch`] gives it none. Index 0 of every row is `-inf`. A history with no valid item gets a row
/// of zeros (every item tied).
#[derive(Clone, Debug)]
pub struct NeuralScorer<M: SeqEncoder> {
    model: M,
    name: String,
    device: Device,
    chunk: usize,
}

impl<M: SeqEncoder> NeuralScorer<M> {
    /// Wraps `model` for inference: dropout off, no autodiff, on `Device::flex()`.
    pub fn new(name: &str, model: M) -> Self {
        Self::on(&Device::flex(), name, model)
    }

    /// Wraps `model` for inference on `device` (its form without autodiff; e.g. a GPU):
    /// dropout off, the weights moved there. Scores are read back to the host.
    pub fn on(device: &Device, name: &str, model: M) -> Self {
        let device = device.clone().inner();
        let model = model.valid().to_device(&device);
        NeuralScorer { model, name: name.to_string(), device, chunk: 256 }
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Histories encoded per forward pass (default 256; at least 1).
    pub fn with_chunk(mut self, chunk: usize) -> Self {
        self.chunk = chunk.max(1);
        self
    }

    /// The wrapped model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The wrapped model, by value.
    pub fn into_model(self) -> M {
        self.model
    }

    /// User vectors of `histories`, row-major `[histories.len(), d_model]`; `kinds[r]`, when
    /// given, the kinds of `histories[r]` (read if the model [uses them](SeqEncoder::uses_kinds)).
    pub fn user_vectors(&self, histories: &[&[u32]], kinds: Option<&[&[EventKind]]>) -> Result<Vec<f32>> {
        if let Some(k) = kinds {
            crate::model::check_kinds(histories, k)?;
        }
        let mut out = Vec::with_capacity(histories.len() * self.model.d_model());
        for (r, part) in histories.chunks(self.chunk).enumerate() {
            let batch = self.batch(part, kinds.map(|k| &k[r * self.chunk..r * self.chunk + part.len()]))?;
            out.extend(read_f32(user_vectors(&self.model, &batch, &self.device), "user vectors")?);
        }
        Ok(out)
    }

    /// The padded batch of `histories`, with `kinds` if the model reads them.
    fn batch(&self, histories: &[&[u32]], kinds: Option<&[&[EventKind]]>) -> Result<PaddedBatch> {
        let kinds = kinds.filter(|_| self.model.uses_kinds());
        PaddedBatch::of(histories, kinds, self.model.max_len(), self.model.num_items())
    }

    /// Scores of `histories` (with `kinds`, when given) into `out`: the body of both
    /// [`Scorer`] methods.
    fn score(&self, histories: &[&[u32]], kinds: Option<&[&[EventKind]]>, out: &mut [f32]) -> Result<()> {
        let width = check_out(&self.name, histories.len(), self.model.num_items(), out.len())?;
        if let Some(k) = kinds {
            crate::model::check_kinds(histories, k)?;
        }
        let parts = histories.chunks(self.chunk).zip(out.chunks_mut(self.chunk * width)).enumerate();
        for (c, (part, rows)) in parts {
            let batch = self.batch(part, kinds.map(|k| &k[c * self.chunk..c * self.chunk + part.len()]))?;
            let users = user_vectors(&self.model, &batch, &self.device);
            let scores = read_f32(score_all(&self.model, users), "scores")?;
            if scores.len() != rows.len() {
                return Err(Error::Device(format!(
                    "{}: the model produced {} scores for {} histories × {width}",
                    self.name,
                    scores.len(),
                    part.len()
                )));
            }
            rows.copy_from_slice(&scores);
            for (row, &n) in rows.chunks_exact_mut(width).zip(&batch.lengths) {
                if n == 0 {
                    row.fill(0.0);
                }
                row[0] = f32::NEG_INFINITY;
            }
        }
        Ok(())
    }
}

impl<M: SeqEncoder + Sync> Scorer for NeuralScorer<M> {
    fn name(&self) -> &str {
        &self.name
    }

    fn num_items(&self) -> usize {
        self.model.num_items()
    }

    fn score_batch(&self, histories: &[&[u32]], out: &mut [f32]) -> Result<()> {
        self.score(histories, None, out)
    }

    fn uses_kinds(&self) -> bool {
        self.model.uses_kinds()
    }

    fn score_batch_with_kinds(&self, histories: &[&[u32]], kinds: &[&[EventKind]], out: &mut [f32]) -> Result<()> {
        self.score(histories, Some(kinds), out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sasrec::{SasRec, SasRecConfig};

    fn rec() -> NeuralScorer<SasRec> {
        let device = Device::flex();
        device.seed(3);
        let m = SasRecConfig::new(12).with_d_model(8).with_n_blocks(1).with_max_len(4).init(&device).unwrap();
        NeuralScorer::new("sasrec", m).with_chunk(2)
    }

    #[test]
    fn padding_trims_cleans_and_left_pads() {
        let b = PaddedBatch::new(&[&[1, 2, 3, 4, 5, 6], &[0, 9, 77], &[]], 4, 10);
        assert_eq!((b.rows, b.len), (3, 4));
        assert_eq!(b.items, vec![3, 4, 5, 6, 0, 0, 0, 9, 0, 0, 0, 0]);
        assert_eq!(b.lengths, vec![4, 1, 0]);
        let e = PaddedBatch::new(&[&[0]], 4, 10);
        assert_eq!((e.len, e.items.clone()), (1, vec![0]));
    }

    /// Kinds follow their items: an item dropped as invalid drops its kind, the newest
    /// `max_len` items keep theirs, and padding (left) gets kind 0, as in training batches.
    #[test]
    fn kinds_are_cleaned_trimmed_and_padded_with_their_items() {
        use EventKind::{Cart, Purchase, Rate, Search, View};
        let (c, p, s, r) = (Cart.index() as i64, Purchase.index() as i64, Search.index() as i64, Rate.index() as i64);
        let histories: [&[u32]; 3] = [&[1, 0, 2, 99, 3, 4, 5], &[7, 8], &[0]];
        let kinds: [&[EventKind]; 3] =
            [&[View, Rate, Cart, Search, Purchase, Cart, Rate], &[Search, Purchase], &[Cart]];
        let b = PaddedBatch::with_kinds(&histories, &kinds, 4, 10).unwrap();
        assert_eq!((b.rows, b.len, b.lengths.clone()), (3, 4, vec![4, 2, 0]));
        // Row 0: 0 (Rate) and 99 (Search) are dropped with their kinds; the newest 4 remain.
        assert_eq!(b.items, vec![2, 3, 4, 5, 0, 0, 7, 8, 0, 0, 0, 0]);
        assert_eq!(b.kinds.clone().unwrap(), vec![c, p, c, r, 0, 0, s, p, 0, 0, 0, 0]);
        assert_eq!(b.items, PaddedBatch::new(&histories, 4, 10).items, "the same items as without kinds");
        assert_eq!(PaddedBatch::new(&histories, 4, 10).kinds, None);
        let wide = b.clone().padded_to(6);
        assert_eq!(&wide.items[..6], &[0, 0, 2, 3, 4, 5]);
        assert_eq!(&wide.kinds.as_ref().unwrap()[..12], &[0, 0, c, p, c, r, 0, 0, 0, 0, s, p]);
        let t = b.kinds_tensor(&Device::flex()).unwrap();
        assert_eq!(t.dims(), [3, 4]);
        // Kinds that are not one per item are an error naming the history.
        let e = PaddedBatch::with_kinds(&histories, &kinds[..2], 4, 10).unwrap_err();
        assert!(matches!(e, Error::Mismatch(_)), "{e}");
        let short: [&[EventKind]; 3] = [&[View], kinds[1], kinds[2]];
        let e = PaddedBatch::with_kinds(&histories, &short, 4, 10).unwrap_err();
        assert!(e.to_string().contains("history 0 has 7 items but 1 event kinds"), "{e}");
    }

    #[test]
    fn recommender_writes_full_rows_and_ignores_bad_ids() {
        let _rng = crate::testing::rng_lock();
        let r = rec();
        assert_eq!((r.name(), r.num_items()), ("sasrec", 12));
        let hs: [&[u32]; 5] = [&[1, 2, 3], &[5], &[1, 2, 3, 999], &[0, 13], &[4, 4, 4, 4, 4, 7]];
        let mut out = vec![f32::NAN; 5 * 13];
        r.score_batch(&hs, &mut out).unwrap();
        let rows: Vec<&[f32]> = out.chunks_exact(13).collect();
        for row in &rows {
            assert_eq!(row[0], f32::NEG_INFINITY, "index 0 is never a candidate");
            assert!(row[1..].iter().all(|s| s.is_finite()));
        }
        // Row 2 has an out-of-range id: scored like row 0. (Rows 0 and 2 fall in different
        // chunks, so this also checks that chunking and padding do not matter.)
        for (a, b) in rows[0].iter().zip(rows[2]).skip(1) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        assert!(rows[1][1..].iter().zip(&rows[0][1..]).any(|(a, b)| (a - b).abs() > 1e-4));
        assert!(rows[3][1..].iter().all(|&s| s == 0.0), "no valid item: all tied");
        // The scores equal the dot products of the user vectors with the item table.
        let u = r.user_vectors(&hs[..1], None).unwrap();
        let table = read_f32(r.model().item_table(), "table").unwrap();
        for j in 1..13 {
            let dot: f32 = (0..8).map(|c| u[c] * table[j * 8 + c]).sum();
            assert!((dot - rows[0][j]).abs() < 1e-4);
        }
        let mut short = vec![0.0; 12];
        assert!(r.score_batch(&hs[..1], &mut short).is_err());
        r.score_batch(&[], &mut []).unwrap();
    }
}

/// Checks shared by the encoders' tests: the [`SeqEncoder`] contract on a small model.
#[cfg(test)]
pub(crate) mod contract {
    use super::*;

    /// A `[rows, L]` item tensor on the CPU.
    pub(crate) fn items(rows: &[&[i64]]) -> Tensor<2, Int> {
        let l = rows[0].len();
        let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), l]), &Device::flex())
    }

    /// A tensor's values.
    pub(crate) fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    /// Asserts two vectors agree within `tol`.
    pub(crate) fn assert_close(a: &[f32], b: &[f32], tol: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}: lengths");
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= tol, "{what}: entry {i}: {x} vs {y}");
        }
    }

    /// `forward` and `item_table` have the documented shapes, inputs longer than `max_len`
    /// keep their newest columns, and kinds are accepted. Needs `num_items ≥ 12`, `max_len = 8`.
    pub(crate) fn shapes<M: SeqEncoder>(m: &M) {
        let d = m.d_model();
        assert_eq!(m.max_len(), 8);
        let batch = || items(&[&[0, 0, 3, 4, 5], &[1, 2, 3, 4, 5]]);
        assert_eq!(m.forward(batch(), None).dims(), [2, 5, d]);
        assert_eq!(m.user_states(batch(), None).dims(), [2, d]);
        assert_eq!(m.item_table().dims(), [m.num_items() + 1, d]);
        let k = Tensor::<2, Int>::from_data(TensorData::new(vec![2i64; 10], [2, 5]), &Device::flex());
        assert_eq!(m.forward(batch(), Some(k)).dims(), [2, 5, d]);
        let long: Vec<i64> = (1..=12).collect();
        let h = m.forward(items(&[&long]), None);
        assert_eq!(h.dims(), [1, 8, d]);
        assert_close(&read(h), &read(m.forward(items(&[&long[4..]]), None)), 1e-5, "newest 8 columns");
        let u = m.user_states(items(&[&long]), None);
        assert_close(&read(u), &read(m.user_states(items(&[&long[4..]]), None)), 1e-5, "user state");
    }

    /// Row `t` of `forward` does not depend on later items; the last row depends on the last
    /// item. Needs `num_items ≥ 23`.
    pub(crate) fn causal<M: SeqEncoder>(m: &M) {
        let d = m.d_model();
        let a = read(m.forward(items(&[&[4, 9, 2, 7, 11, 5]]), None));
        let b = read(m.forward(items(&[&[4, 9, 2, 7, 11, 23]]), None));
        assert_close(&a[..5 * d], &b[..5 * d], 1e-5, "earlier positions");
        let last: f32 = a[5 * d..].iter().zip(&b[5 * d..]).map(|(x, y)| (x - y).abs()).sum();
        assert!(last > 1e-3, "the last position must depend on the last item");
    }

    /// A history's user vector does not depend on the padding its batch needs, and explicit
    /// zeros and unknown ids are dropped. Needs `num_items` = 30, `max_len` = 8.
    pub(crate) fn padding_invariant<M: SeqEncoder>(m: &M) {
        let device = Device::flex();
        let d = m.d_model();
        let alone = PaddedBatch::new(&[&[3, 5, 7]], 8, 30);
        let mixed = PaddedBatch::new(&[&[1, 2, 3, 4, 5, 6, 8], &[3, 5, 7]], 8, 30);
        let full = PaddedBatch::new(&[&[1, 2, 3, 4, 5, 6, 8, 9, 10], &[3, 5, 7]], 8, 30);
        assert_eq!((alone.len, mixed.len, full.len), (3, 7, 8));
        let u1 = read(user_vectors(m, &alone, &device));
        let u2 = read(user_vectors(m, &mixed, &device));
        let u3 = read(user_vectors(m, &full, &device));
        assert_close(&u1, &u2[d..], 1e-5, "padded to 7");
        assert_close(&u1, &u3[d..], 1e-5, "padded to max_len");
        let noisy = PaddedBatch::new(&[&[0, 3, 99, 5, 0, 7]], 8, 30);
        assert_close(&u1, &read(user_vectors(m, &noisy, &device)), 0.0, "cleaned history");
        // Different histories get different vectors.
        let other = read(user_vectors(m, &PaddedBatch::new(&[&[3, 5, 8]], 8, 30), &device));
        assert!(u1.iter().zip(&other).map(|(x, y)| (x - y).abs()).sum::<f32>() > 1e-3);
    }

    /// The item table is initialised `N(0, 0.02)`.
    pub(crate) fn small_item_table<M: SeqEncoder>(m: &M) {
        let w = read(m.item_table());
        let std = (w.iter().map(|x| x * x).sum::<f32>() / w.len() as f32).sqrt();
        assert!((0.01..0.03).contains(&std), "item embedding std {std}");
    }
}
