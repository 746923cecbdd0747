//! [`Hosted`]: an encoder whose scores come from an item table on the host
//! ([`crate::item_table`]) instead of a matrix product on the device.
//!
//! Two cases:
//!
//! - **the model's own table** (f32 or f16 bundles) on the CPU: the encoder computes the user
//!   vector as always, and [`ItemTable::scores_into`] scores every item — plain Rust that LLVM
//!   vectorises, faster than the CPU backend's matrix product (`benches/item_table.rs`);
//! - **a compressed table** (int8, product quantisation): the bundle holds no f32 item
//!   embedding, and neither does the model. It is built for a *window* of
//!   [`WINDOW_HISTORIES`] × `max_len` items: each request's history items are renumbered
//!   `1..=k`, their decoded rows (and row 0, and the extra rows such as BERT4Rec's `[MASK]`
//!   after the window) become the model's item embedding for that request
//!   ([`with_item_rows`](crate::model::neural::with_item_rows)), and the encoder runs unchanged.
//!   An encoder's output depends on item indices only through that embedding (positions come
//!   from columns, padding is index 0), so the user vector is exactly that of the same encoder
//!   holding the whole decoded table, at a memory cost of a few hundred rows instead of the
//!   catalogue. Training is untouched.
//!
//! Either way the scores of a history are `user · decoded row` for every item, the same
//! natively ([`HostedScorer`], what `localrec eval` and `compare` use for such bundles) and in
//! the browser ([`crate::serve::Engine`]).

use burn::tensor::{Device, TensorData};

use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::item_table::ItemTable;
use crate::model::Scorer;
use crate::model::neural::{DynEncoder, PaddedBatch, read_f32_async};
use crate::model::pop::check_out;

/// A served encoder behind a trait object.
pub type Encoder = Box<dyn DynEncoder + Send + Sync>;

/// Histories whose items fit in one window: a batch of more is scored in parts.
pub const WINDOW_HISTORIES: usize = 16;

/// An encoder served with a host item table.
pub struct Hosted {
    encoder: Encoder,
    table: ItemTable,
    /// `Some(extra rows)` when the encoder is a window model (compressed table).
    window: Option<Vec<f32>>,
}

impl Hosted {
    /// Items a window model is built for, given the encoder's longest history.
    pub fn window_items(max_len: usize) -> usize {
        WINDOW_HISTORIES.saturating_mul(max_len.max(1))
    }

    /// The encoder holding the whole `table` (read from it) scored on the host.
    pub fn full(encoder: Encoder, table: ItemTable) -> Result<Hosted> {
        if table.rows() != encoder.n_items() + 1 || table.dim() != encoder.dim() {
            return Err(Error::Mismatch(format!(
                "an item table of {} × {} for an encoder of {} items × {}",
                table.rows(),
                table.dim(),
                encoder.n_items(),
                encoder.dim()
            )));
        }
        Ok(Hosted { encoder, table, window: None })
    }

    /// A window model (built for [`Hosted::window_items`] items) served from a compressed
    /// `table` with `extra` rows after the window. Errors ([`Error::Bundle`]) when the table's
    /// width is not the encoder's or the extra rows are not whole rows.
    pub fn windowed(encoder: Encoder, table: ItemTable, extra: Vec<f32>) -> Result<Hosted> {
        let d = encoder.dim();
        if d == 0 || table.dim() != d || extra.len() % d != 0 {
            return Err(Error::Bundle {
                problem: format!(
                    "the compressed item table is {} wide ({} extra values), the encoder {d}",
                    table.dim(),
                    extra.len()
                ),
            });
        }
        if encoder.n_items() < encoder.max_history().max(1) {
            return Err(Error::Bundle {
                problem: format!(
                    "a window model of {} items cannot hold histories of {}",
                    encoder.n_items(),
                    encoder.max_history()
                ),
            });
        }
        Ok(Hosted { encoder, table, window: Some(extra) })
    }

    /// Number of real items (the table's rows less padding).
    pub fn num_items(&self) -> usize {
        self.table.rows() - 1
    }

    /// The encoder (for a compressed table, the window model).
    pub fn encoder(&self) -> &dyn DynEncoder {
        self.encoder.as_ref()
    }

    /// The item table.
    pub fn table(&self) -> &ItemTable {
        &self.table
    }

    /// Decoded rows `indices` (`0..=num_items`), row-major `[indices.len(), dim]`.
    pub fn rows(&self, indices: &[u32]) -> Result<Vec<f32>> {
        self.table.decode_rows(indices)
    }

    /// User vectors of `histories` (with `kinds`, read if the encoder uses them), row-major
    /// `[histories.len(), dim]`, and which histories had no valid item. `full_width` pads every
    /// history to the longest the encoder reads (one shape for a GPU).
    pub async fn user_vectors(
        &self,
        histories: &[&[u32]],
        kinds: Option<&[&[EventKind]]>,
        device: &Device,
        full_width: bool,
    ) -> Result<(Vec<f32>, Vec<bool>)> {
        if let Some(k) = kinds {
            crate::model::check_kinds(histories, k)?;
        }
        let kinds = kinds.filter(|_| self.encoder.reads_kinds());
        let (max_len, d) = (self.encoder.max_history(), self.encoder.dim());
        let mut users = Vec::with_capacity(histories.len() * d);
        let mut empty = Vec::with_capacity(histories.len());
        // A window model holds the items of this many histories.
        let per = match self.window {
            Some(_) => (self.encoder.n_items() / max_len.max(1)).max(1),
            None => WINDOW_HISTORIES,
        };
        for (c, part) in histories.chunks(per).enumerate() {
            let part_kinds = kinds.map(|k| &k[c * per..c * per + part.len()]);
            let mut batch = PaddedBatch::of(part, part_kinds, max_len, self.num_items())?;
            if full_width {
                batch = batch.padded_to(max_len.max(1));
            }
            let tensor = match &self.window {
                None => self.encoder.users(&batch, device),
                Some(extra) => {
                    let rows = self.window_rows(&mut batch, extra)?;
                    self.encoder.users_with_rows(&batch, rows, device)?
                }
            };
            let got = read_f32_async(tensor, "user vectors").await?;
            if got.len() != part.len() * d {
                return Err(Error::Device(format!(
                    "the encoder gave {} values for {} user vectors",
                    got.len(),
                    part.len()
                )));
            }
            users.extend_from_slice(&got);
            empty.extend(batch.lengths.iter().map(|&n| n == 0));
        }
        Ok((users, empty))
    }

    /// Renumbers the batch's items `1..=k` (in order of first appearance) and returns the
    /// window's embedding: row 0 and the `k` items' decoded rows, zeros up to the window's
    /// size, then the extra rows.
    fn window_rows(&self, batch: &mut PaddedBatch, extra: &[f32]) -> Result<TensorData> {
        let d = self.table.dim();
        let w = self.encoder.n_items();
        let mut local = std::collections::HashMap::new();
        let mut order = vec![0u32];
        for i in batch.items.iter_mut().filter(|i| **i != 0) {
            let next = local.len() as i64 + 1;
            let at = *local.entry(*i).or_insert_with(|| {
                order.push(*i as u32);
                next
            });
            *i = at;
        }
        if order.len() > w + 1 {
            return Err(Error::Mismatch(format!("{} distinct items in a window of {w}", order.len() - 1)));
        }
        let mut rows = self.table.decode_rows(&order)?;
        rows.resize((w + 1) * d, 0.0);
        rows.extend_from_slice(extra);
        let r = rows.len() / d;
        Ok(TensorData::new(rows, [r, d]))
    }

    /// Scores of every item for each history, row-major `[histories.len(), num_items + 1]`:
    /// index 0 is `-inf`; a history with no valid item gets zeros (every item tied), as
    /// [`crate::model::neural::NeuralScorer`] does.
    pub async fn scores(
        &self,
        histories: &[&[u32]],
        kinds: Option<&[&[EventKind]]>,
        device: &Device,
        full_width: bool,
    ) -> Result<Vec<f32>> {
        let (users, empty) = self.user_vectors(histories, kinds, device, full_width).await?;
        let mut scores = self.table.scores(&users)?;
        for (row, &none) in scores.chunks_exact_mut(self.table.rows()).zip(&empty) {
            if none {
                row.fill(0.0);
            }
            row[0] = f32::NEG_INFINITY;
        }
        Ok(scores)
    }
}

/// A [`Hosted`] encoder as a [`Scorer`], on the CPU: what [`crate::model::from_bundle`] gives
/// for a bundle with a compressed item table.
pub struct HostedScorer {
    name: String,
    hosted: Hosted,
    device: Device,
}

impl HostedScorer {
    /// `hosted`, on `device`, called `name`.
    pub fn new(name: &str, hosted: Hosted, device: &Device) -> HostedScorer {
        HostedScorer { name: name.to_string(), hosted, device: device.clone() }
    }

    fn score(&self, histories: &[&[u32]], kinds: Option<&[&[EventKind]]>, out: &mut [f32]) -> Result<()> {
        check_out(&self.name, histories.len(), self.hosted.num_items(), out.len())?;
        let scores = crate::serve::block_on(self.hosted.scores(histories, kinds, &self.device, false))?;
        out.copy_from_slice(&scores);
        Ok(())
    }
}

impl Scorer for HostedScorer {
    fn name(&self) -> &str {
        &self.name
    }

    fn num_items(&self) -> usize {
        self.hosted.num_items()
    }

    fn score_batch(&self, histories: &[&[u32]], out: &mut [f32]) -> Result<()> {
        self.score(histories, None, out)
    }

    fn uses_kinds(&self) -> bool {
        self.hosted.encoder.reads_kinds()
    }

    fn score_batch_with_kinds(&self, histories: &[&[u32]], kinds: &[&[EventKind]], out: &mut [f32]) -> Result<()> {
        self.score(histories, Some(kinds), out)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::bundle::{Bundle, EncoderSpec, Manifest, weights_of};
    use crate::data::DatasetBuilder;
    use crate::events::SequenceOptions;
    use crate::item_table::TableFormat;
    use crate::model::bert4rec::Bert4RecConfig;
    use crate::model::gru4rec::Gru4RecConfig;
    use crate::model::neural::{EncoderConfig, NeuralScorer, SeqEncoder, with_item_rows};
    use crate::model::sasrec::SasRecConfig;
    use crate::serve::{Engine, block_on};

    /// A bundle of `model` (config `cfg`) over `n` items `i1..`, item `k` seen `k % 7 + 1` times.
    pub(crate) fn bundle_of<C: EncoderConfig>(cfg: &C, model: &C::Model, n: usize) -> Bundle {
        let mut b = DatasetBuilder::new("hosted");
        for k in 1..=n {
            for r in 0..(k % 7 + 1) {
                b.push(&format!("u{r}"), &format!("i{k}"), EventKind::View, (k * 10 + r) as i64);
            }
        }
        let ds = b.build(&SequenceOptions::default()).unwrap();
        assert_eq!(ds.num_items(), n);
        let spec = EncoderSpec::of(C::KIND, cfg).unwrap();
        Bundle::new(Manifest::from_dataset(&ds, &ds.item_counts(), spec, String::new()), weights_of(model).unwrap())
    }

    /// Histories that exercise the window: duplicates, padding and unknown ids, one longer than
    /// `max_len` (8), one with no valid item, and enough of them to need two windows.
    fn histories(n: u32) -> Vec<Vec<u32>> {
        let mut h = vec![vec![1, 2, 3], vec![5, 5, 0, 9999, 7], vec![0], (1..=20).collect(), vec![n, 1, n]];
        h.extend((0..30).map(|r| (0..6).map(|t| (r * 7 + t * 13) % n + 1).collect()));
        h
    }

    /// The scores of a compressed bundle equal those of the original encoder whose item
    /// embedding is replaced by the decoded table (and its extra rows): the window model and
    /// the host scoring change nothing else. Through bytes, natively (`from_bundle`) and as the
    /// browser serves it (`Engine`).
    fn serves_like_the_decoded_model<C: EncoderConfig>(cfg: C) {
        let n = 60;
        let device = Device::flex();
        device.seed(5);
        let model = cfg.init(&device).unwrap();
        let bundle = bundle_of(&cfg, &model, n);
        for (format, exact) in [(TableFormat::Int8, 0), (TableFormat::Pq(4), 0), (TableFormat::Pq(8), 9)] {
            let what = format!("{} {format} exact {exact}", C::KIND);
            let c = Bundle::from_bytes(&bundle.with_item_format(format, exact, 3).unwrap().to_bytes()).unwrap();
            if format == TableFormat::Int8 {
                // (60 rows are fewer bytes than pq's 256 centroids per sub-space.)
                assert!(c.weights.len() < bundle.weights.len(), "{what}: the table shrinks");
            }
            let (table, extra) = c.compressed_item_table().unwrap().unwrap();
            assert_eq!((table.rows(), table.format()), (n + 1, format));
            let mut rows = table.decode_rows(&(0..=n as u32).collect::<Vec<_>>()).unwrap();
            rows.extend_from_slice(&extra);
            let d = table.dim();
            let (decoded, found) = with_item_rows(model.clone(), TensorData::new(rows.clone(), [rows.len() / d, d]));
            assert!(found);
            let reference = NeuralScorer::new("ref", decoded);

            let hs = histories(n as u32);
            let hs: Vec<&[u32]> = hs.iter().map(Vec::as_slice).collect();
            let width = n + 1;
            let mut want = vec![0.0; hs.len() * width];
            reference.score_batch(&hs, &mut want).unwrap();
            let served = crate::model::from_bundle(&c).unwrap();
            let mut got = vec![0.0; hs.len() * width];
            served.score_batch(&hs, &mut got).unwrap();
            for (k, (a, b)) in want.iter().zip(&got).enumerate() {
                assert!(
                    a == b || (a - b).abs() <= 1e-5,
                    "{what}: history {} item {}: {a} vs {b}",
                    k / width,
                    k % width
                );
            }
            let engine = Engine::new(&c, &device).unwrap();
            assert!(engine.scores_on_host() && engine.table_format() == format);
            for (h, row) in hs.iter().zip(got.chunks_exact(width)) {
                assert_eq!(block_on(engine.scores(h, None)).unwrap(), row, "{what}: the engine scores as the scorer");
            }
            assert_eq!(block_on(engine.rows(&[0, 4])).unwrap(), [&rows[..d], &rows[4 * d..5 * d]].concat());
            assert!(block_on(engine.rows(&[n as u32 + 1])).is_err());
            // Exact rows are those of the most popular items.
            if exact > 0 {
                let ItemTable::Pq(pq) = &table else { panic!("{what}: not pq") };
                let pop = c.manifest.popularity_by_index();
                let least_exact = pq.exact_items().iter().map(|&i| pop[i as usize]).min().unwrap();
                let others = (1..=n as u32).filter(|i| !pq.exact_items().contains(i));
                assert!(others.map(|i| pop[i as usize]).all(|p| p <= least_exact), "{what}: {:?}", pq.exact_items());
                assert_eq!(pq.exact_items().len(), exact);
            }
        }
    }

    #[test]
    fn sasrec_serves_from_compressed_tables() {
        let _rng = crate::testing::rng_lock();
        serves_like_the_decoded_model(SasRecConfig::new(60).with_d_model(16).with_n_blocks(1).with_max_len(8));
    }

    #[test]
    fn gru4rec_serves_from_compressed_tables() {
        let _rng = crate::testing::rng_lock();
        serves_like_the_decoded_model(Gru4RecConfig::new(60).with_d_model(16).with_max_len(8));
    }

    /// BERT4Rec's `[MASK]` row follows the items: it travels as an extra row.
    #[test]
    fn bert4rec_serves_from_compressed_tables() {
        let _rng = crate::testing::rng_lock();
        serves_like_the_decoded_model(Bert4RecConfig::new(60).with_d_model(16).with_n_blocks(1).with_max_len(8));
    }

    /// An f32 bundle on the CPU is scored on the host: the same scores as the device's matrix
    /// product.
    #[test]
    fn f32_on_the_host_scores_as_the_device() {
        let _rng = crate::testing::rng_lock();
        let device = Device::flex();
        device.seed(2);
        let cfg = SasRecConfig::new(50).with_d_model(16).with_n_blocks(1).with_max_len(8);
        let model = cfg.init(&device).unwrap();
        let bundle = bundle_of(&cfg, &model, 50);
        let engine = Engine::new(&bundle, &device).unwrap();
        assert!(engine.scores_on_host() && engine.table_format() == TableFormat::F32);
        let reference = NeuralScorer::new("ref", model.clone());
        for h in histories(50).iter().take(6) {
            let mut want = vec![0.0; 51];
            reference.score_batch(&[h], &mut want).unwrap();
            let got = block_on(engine.scores(h, None)).unwrap();
            for (a, b) in want.iter().zip(&got) {
                assert!(a == b || (a - b).abs() <= 1e-6, "{a} vs {b}");
            }
        }
        assert_eq!(model.num_items(), 50);
        // A compressed bundle is refused where the encoder must hold its own table.
        let c = bundle.with_item_format(TableFormat::Int8, 0, 1).unwrap();
        assert!(matches!(crate::model::encoder_from_bundle(&c, &device).err().unwrap(), Error::Bundle { .. }));
    }
}
