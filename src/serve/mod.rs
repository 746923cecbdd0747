//! Serving a model bundle to one shopper: what the browser runtime does, without JavaScript.
//!
//! The WebAssembly layer (`src/web/`, the only code that touches `wasm-bindgen`) parses what
//! JavaScript sends, stores events in IndexedDB and calls the pieces here, which are plain Rust
//! and tested natively:
//!
//! - [`Catalog`]: the live catalogue: the bundle's items and those added since (titles,
//!   categories, popularity, availability), and how added items are scored, in `catalog.rs`;
//! - [`TrackedEvent`]: a validated event, as it is stored (any well-formed item id);
//! - [`EventLog`]: the events in memory, in time order: the history the encoder reads, the
//!   retention policy and what `recommend()` excludes, in `event_log.rs`;
//! - [`analytics`]: the e-commerce events of GA4 (gtag, `dataLayer`) and Segment as the
//!   [`RawEvent`]s `TrackedEvent` is made from, in `analytics.rs`;
//! - [`Engine`]: the bundle's encoder on a device (CPU flex or WebGPU), scoring the whole
//!   catalog for a history and its event kinds (read by an encoder trained with them, as
//!   `localrec eval` reads them), with every read from the device asynchronous (the only kind a
//!   browser allows for WebGPU);
//! - [`Catalog::popularity_scores`]: the cold-start scores, when there is no history yet;
//! - [`top_k`], [`top_k_unseen`], [`rerank`]: ranking with exclusions and filters; ties go to
//!   the lower index, so results are deterministic;
//! - [`explain`]: "because you viewed X": the history items whose embeddings are closest to a
//!   recommended item's; [`explanations`]: the reasons as the shopper reads them (also the
//!   popular and recent fallbacks), in `explain.rs`;
//! - [`BaselineEvaluation`]: a baseline (`pop`, `markov`, `itemknn`) fitted and evaluated in the
//!   page by the code of `localrec eval`, in `baseline.rs`.
//!
//! Top-k is taken on the CPU after reading the scores back (`n + 1` floats): burn's top-k on
//! WebGPU is not reliable in this version, and the exclusion and filter rules need the scores
//! on the host anyway.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use burn::tensor::Device;

use crate::bundle::Bundle;
use crate::data::{Phase, Split};
use crate::error::{Error, Result};
use crate::eval::{EvalConfig, EvalRun};
use crate::events::{EventKind, RawEvent};
use crate::item_table::TableFormat;
use crate::model::Scorer;
use crate::model::hosted::{Encoder, Hosted};
use crate::model::neural::{DynEncoder, item_rows_async, score_histories_async, score_history_async};

pub mod analytics;
mod baseline;
mod catalog;
mod event_log;
mod explain;

pub use baseline::{BaselineEvaluation, check_baseline};
pub use catalog::{Catalog, ItemUpdate, MAX_ADDED_ITEMS, MAX_ITEM_CATEGORIES, UpdateSummary};
pub use event_log::{EventLog, ExcludeRules, Retention};
pub use explain::{Explanation, MAX_REASONS, Reason, explain, explanations};

/// Largest `k` accepted by [`top_k`] and [`rerank`] callers.
pub const MAX_K: usize = 10_000;

/// An event that passed validation: what is stored and what the history is built from. Its
/// item may be one the catalogue does not have (a product newer than the model): it is kept,
/// shown in the history and skipped by the encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedEvent {
    /// The item; `None` for a search without an item.
    pub item: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// Search text.
    pub query: Option<String>,
    /// Milliseconds since the epoch.
    pub ts: i64,
    /// The `recommendationId` of the list the event came from, if the page said so (see
    /// [`crate::online`]).
    pub recommendation: Option<String>,
}

impl TrackedEvent {
    /// Validates an event from outside: the kind must be known, `ts` in range, a non-search
    /// event must name an item, and ids and queries must be well formed. Any well-formed item
    /// id is accepted, known to the catalogue or not: behaviour is never dropped for being new.
    pub fn from_raw(raw: RawEvent) -> Result<TrackedEvent> {
        let e = raw.validate(Some("local"))?;
        let item = (!e.item.is_empty()).then_some(e.item);
        Ok(TrackedEvent { item, kind: e.kind, query: e.query, ts: e.ts, recommendation: None })
    }
}

/// One ranked item: its index and score.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ranked {
    /// Item index (`1..=num_items`).
    pub index: u32,
    /// The model's score (or popularity count on a cold start).
    pub score: f32,
}

/// Higher score first; equal scores by lower index.
fn rank_order(a: &Ranked, b: &Ranked) -> Ordering {
    b.score.total_cmp(&a.score).then(a.index.cmp(&b.index))
}

/// The `k` best items of `scores` (`num_items + 1` values, index 0 ignored) that are not
/// `blocked` and that `keep` accepts, best first; ties go to the lower index, non-finite
/// scores are never returned.
///
/// `keep` (e.g. a caller's filter function) is asked about items in rank order, and only until
/// `k` are accepted, so it is called about `k` times when it accepts most items, never for
/// every item of a large catalogue unless it rejects nearly all. Its error stops the ranking.
/// `blocked` is asked about the same candidates, in the same order: a million-item catalogue is
/// walked once, comparing scores, not once per rule.
pub fn top_k(
    scores: &[f32],
    k: usize,
    blocked: &dyn Fn(u32) -> bool,
    mut keep: impl FnMut(u32) -> Result<bool>,
) -> Result<Vec<Ranked>> {
    let mut out = Vec::with_capacity(k.min(scores.len()));
    if k == 0 {
        return Ok(out);
    }
    let mut asked = 0;
    let mut step = (4 * k).max(64);
    loop {
        // The `step` best candidates in rank order; those not asked about yet are asked (and
        // checked against `blocked`) in that order.
        let best = best_of(scores, step);
        for r in &best[asked..] {
            if !blocked(r.index) && keep(r.index)? {
                out.push(*r);
                if out.len() == k {
                    return Ok(out);
                }
            }
        }
        if best.len() < step {
            return Ok(out);
        }
        asked = best.len();
        step = step.saturating_mul(8);
    }
}

/// The `m` best finite scores of `scores` (index 0 left out), in rank order. One pass that
/// keeps at most `2m` candidates, whatever the catalogue's size: a score below the `m`-th best
/// so far is rejected by one comparison.
fn best_of(scores: &[f32], m: usize) -> Vec<Ranked> {
    let m = m.max(1);
    let mut buf: Vec<Ranked> = Vec::with_capacity(2 * m.min(scores.len()));
    let mut floor = f32::NEG_INFINITY;
    for (i, &score) in scores.iter().enumerate().skip(1) {
        // Equal to the floor may still rank above the m-th (a lower index): kept.
        if !score.is_finite() || score < floor {
            continue;
        }
        buf.push(Ranked { index: i as u32, score });
        if buf.len() == 2 * m {
            buf.select_nth_unstable_by(m - 1, rank_order);
            buf.truncate(m);
            floor = buf[m - 1].score;
        }
    }
    if buf.len() > m {
        buf.select_nth_unstable_by(m - 1, rank_order);
        buf.truncate(m);
    }
    buf.sort_unstable_by(rank_order);
    buf
}

/// [`top_k`] that leaves out `seen` items only while enough others remain: when fewer than
/// `k` items pass `blocked`, `seen` and `keep`, the best `seen` items (that pass `blocked` and
/// `keep`) fill the list after them. So excluding the shopper's history never empties a
/// recommendation list.
pub fn top_k_unseen(
    scores: &[f32],
    k: usize,
    blocked: &dyn Fn(u32) -> bool,
    seen: &dyn Fn(u32) -> bool,
    mut keep: impl FnMut(u32) -> Result<bool>,
) -> Result<Vec<Ranked>> {
    let mut out = top_k(scores, k, &|i| blocked(i) || seen(i), &mut keep)?;
    if out.len() < k {
        out.extend(top_k(scores, k - out.len(), &|i| blocked(i) || !seen(i), &mut keep)?);
    }
    Ok(out)
}

/// Scored candidates (duplicates dropped after the first) ordered best first, at most `k`.
/// Equal scores keep the candidates' order; NaN sorts last.
pub fn rerank<C: Clone + Eq + std::hash::Hash>(scored: &[(C, f32)], k: usize) -> Vec<(C, f32)> {
    let mut seen = HashSet::with_capacity(scored.len());
    let mut out: Vec<(C, f32)> = scored.iter().filter(|(c, _)| seen.insert(c.clone())).cloned().collect();
    // Stable: equal scores keep the caller's order.
    out.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
        (false, false) => b.1.total_cmp(&a.1),
        (x, y) => x.cmp(&y),
    });
    out.truncate(k);
    out
}

/// The distinct items of a history, oldest first by their last occurrence, each with the kind
/// of its last event; at most the newest `max` of them.
pub fn distinct_recent(hist: &[(u32, EventKind)], max: usize) -> Vec<(u32, EventKind)> {
    let mut seen = HashSet::new();
    let mut out: Vec<(u32, EventKind)> =
        hist.iter().rev().filter(|(i, _)| seen.insert(*i)).take(max).copied().collect();
    out.reverse();
    out
}

/// The bundle's encoder on one device, scoring the whole catalogue for a history.
///
/// On the CPU, and for a bundle with a compressed item table on any device, the user vector
/// is scored against the item table on the host ([`Hosted`]: plain Rust, faster than the CPU
/// backend's matrix product, and the only way to score int8 and product-quantised tables); on
/// a GPU, an f32 or f16 table is scored by the device's matrix product.
pub struct Engine {
    scoring: Scoring,
    device: Device,
    full_width: bool,
}

/// Where an [`Engine`] scores.
enum Scoring {
    /// The encoder's own table, by a matrix product on the device.
    Device(Encoder),
    /// An item table on the host.
    Host(Hosted),
}

impl Engine {
    /// Builds the bundle's encoder on `device` (see [`crate::model::encoder_from_bundle`] and
    /// [`crate::model::hosted_from_bundle`]).
    pub fn new(bundle: &Bundle, device: &Device) -> Result<Engine> {
        let on_cpu = *device == Device::flex();
        let scoring = if on_cpu || bundle.manifest.item_table.is_some() {
            Scoring::Host(crate::model::hosted_from_bundle(bundle, device)?)
        } else {
            Scoring::Device(crate::model::encoder_from_bundle(bundle, device)?)
        };
        Ok(Engine { scoring, device: device.clone(), full_width: false })
    }

    /// Pads every history to the encoder's longest (same scores): one input shape, so the
    /// kernels a GPU compiles during [`Engine::warm_up`] serve every later request.
    pub fn with_fixed_shape(mut self) -> Self {
        self.full_width = true;
        self
    }

    fn encoder(&self) -> &dyn DynEncoder {
        match &self.scoring {
            Scoring::Device(e) => e.as_ref(),
            Scoring::Host(h) => h.encoder(),
        }
    }

    /// The format of the item table the engine scores: `f32` for the model's own table (f32 or
    /// f16 in the bundle), `int8`, `pq:M`.
    pub fn table_format(&self) -> TableFormat {
        match &self.scoring {
            Scoring::Device(_) => TableFormat::F32,
            Scoring::Host(h) => h.table().format(),
        }
    }

    /// Whether the scores are computed on the host (CPU) rather than by the device.
    pub fn scores_on_host(&self) -> bool {
        matches!(self.scoring, Scoring::Host(_))
    }

    /// Width of the item embeddings.
    pub fn d_model(&self) -> usize {
        self.encoder().dim()
    }

    /// Longest history the encoder reads.
    pub fn max_len(&self) -> usize {
        self.encoder().max_history()
    }

    /// Whether the encoder reads event kinds (it was trained with them): then the kinds given
    /// to [`Engine::scores`] change the scores, as they do natively
    /// ([`Scorer::score_batch_with_kinds`]).
    pub fn uses_kinds(&self) -> bool {
        self.encoder().reads_kinds()
    }

    /// Scores of every catalogue entry for `history` (item indices, oldest first) and its
    /// event `kinds` (one per item; `None`: none known): `num_items + 1` values, index 0 is
    /// `-inf`. The scores of [`crate::model::from_bundle`]'s scorer for the same history and
    /// kinds. Errors: kinds that are not one per item, or a device failure.
    pub async fn scores(&self, history: &[u32], kinds: Option<&[EventKind]>) -> Result<Vec<f32>> {
        match &self.scoring {
            Scoring::Device(e) => score_history_async(e.as_ref(), history, kinds, &self.device, self.full_width).await,
            Scoring::Host(h) => {
                let kinds = kinds.as_ref().map(std::slice::from_ref);
                h.scores(&[history], kinds, &self.device, self.full_width).await
            }
        }
    }

    /// Scores of every catalogue entry for each history, row-major
    /// `[histories.len(), num_items + 1]`; `kinds[r]` the kinds of `histories[r]` (see
    /// [`Engine::scores`]).
    pub async fn scores_batch(&self, histories: &[&[u32]], kinds: Option<&[&[EventKind]]>) -> Result<Vec<f32>> {
        match &self.scoring {
            Scoring::Device(e) => {
                score_histories_async(e.as_ref(), histories, kinds, &self.device, self.full_width).await
            }
            Scoring::Host(h) => h.scores(histories, kinds, &self.device, self.full_width).await,
        }
    }

    /// Number of real items the encoder scores.
    pub fn num_items(&self) -> usize {
        match &self.scoring {
            Scoring::Device(e) => e.n_items(),
            Scoring::Host(h) => h.num_items(),
        }
    }

    /// Item embeddings of `indices`, row-major `[indices.len(), d_model]` (for a compressed
    /// table, the decoded rows).
    pub async fn rows(&self, indices: &[u32]) -> Result<Vec<f32>> {
        match &self.scoring {
            Scoring::Device(e) => item_rows_async(e.as_ref(), indices, &self.device).await,
            Scoring::Host(h) => {
                if let Some(&bad) = indices.iter().find(|&&i| i as usize > h.num_items()) {
                    return Err(Error::invalid("item index", format!("{bad} is outside 0..={}", h.num_items())));
                }
                h.rows(indices)
            }
        }
    }

    /// One forward pass and read-back, so that the first real request does not pay for
    /// compiling the device's kernels.
    pub async fn warm_up(&self) -> Result<()> {
        let s = self.scores(&[1], Some(&[EventKind::View])).await?;
        if s.len() != self.num_items() + 1 {
            return Err(Error::Device("warm-up returned the wrong number of scores".into()));
        }
        Ok(())
    }
}

/// A full-ranking evaluation of an [`Engine`] on a held-out set, scored a batch at a time
/// (each batch one asynchronous read from the device, so a page can show progress between
/// them), then measured by the same code as `localrec eval`: [`crate::eval::run`] over the
/// scores read back, so the figures equal the native ones for the same scores. Each history is
/// scored with its event kinds, as `localrec eval` scores it.
///
/// ```
/// # use localrec::{data::{DatasetBuilder, Phase, Split, SplitSpec}, events::{EventKind, SequenceOptions}};
/// # use localrec::serve::{Engine, Evaluation, block_on};
/// # fn demo(engine: &Engine, split: &Split) -> localrec::Result<()> {
/// let mut ev = Evaluation::new(engine, split, Phase::Test, Default::default())?;
/// while !ev.done() {
///     block_on(ev.score_next(engine, 64))?; // a page would update a progress bar here
/// }
/// let run = ev.finish("sasrec")?;
/// # Ok(()) }
/// ```
pub struct Evaluation<'a> {
    split: &'a Split,
    phase: Phase,
    cfg: EvalConfig,
    /// Distinct histories to score, as the evaluation will ask for them: items and kinds (the
    /// kinds empty when the engine does not read them, so histories differing only in kinds
    /// are scored once).
    histories: Vec<History<'a>>,
    index: HashMap<History<'a>, usize>,
    /// Whether the histories keep their kinds.
    with_kinds: bool,
    scores: Vec<f32>,
    width: usize,
}

impl<'a> Evaluation<'a> {
    /// Prepares the evaluation of `phase`'s cases of `split` (a history is scored once however
    /// many cases share it). Errors: the engine's catalogue differs from the dataset's, no cases,
    /// or an invalid `cfg`.
    pub fn new(engine: &Engine, split: &'a Split, phase: Phase, cfg: EvalConfig) -> Result<Evaluation<'a>> {
        cfg.validate()?;
        let ds = &split.dataset;
        if engine.num_items() != ds.num_items() {
            return Err(Error::Mismatch(format!(
                "the model scores {} items but dataset `{}` has {}; evaluate it on the data it was trained on",
                engine.num_items(),
                ds.name,
                ds.num_items()
            )));
        }
        let cases = split.cases(phase);
        if cases.is_empty() {
            return Err(Error::Empty(format!(
                "split `{}` of `{}` has no {phase} cases to evaluate",
                split.spec, ds.name
            )));
        }
        let with_kinds = engine.uses_kinds();
        let mut histories = Vec::new();
        let mut index = HashMap::new();
        for c in &cases {
            let (h, k) = (c.history(ds), c.kinds(ds));
            let from = h.len().saturating_sub(cfg.max_len);
            let key = (&h[from..], if with_kinds { &k[from..] } else { &[][..] });
            index.entry(key).or_insert_with(|| {
                histories.push(key);
                histories.len() - 1
            });
        }
        let width = ds.num_items() + 1;
        Ok(Evaluation { split, phase, cfg, histories, index, with_kinds, scores: Vec::new(), width })
    }

    /// Histories scored so far and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.scores.len() / self.width, self.histories.len())
    }

    /// Whether every history has been scored.
    pub fn done(&self) -> bool {
        self.scores.len() / self.width == self.histories.len()
    }

    /// Scores the next (at most) `batch` histories on `engine`.
    pub async fn score_next(&mut self, engine: &Engine, batch: usize) -> Result<()> {
        let from = self.scores.len() / self.width;
        let to = (from + batch.max(1)).min(self.histories.len());
        if from < to {
            let items: Vec<&[u32]> = self.histories[from..to].iter().map(|h| h.0).collect();
            let kinds: Vec<&[EventKind]> = self.histories[from..to].iter().map(|h| h.1).collect();
            let rows = engine.scores_batch(&items, self.with_kinds.then_some(&kinds[..])).await?;
            if rows.len() != (to - from) * self.width {
                return Err(Error::Device("the model returned the wrong number of scores".into()));
            }
            self.scores.extend_from_slice(&rows);
        }
        Ok(())
    }

    /// Ranks and measures (all histories must be scored): what `localrec eval` computes, named
    /// `model`.
    pub fn finish(&self, model: &str) -> Result<EvalRun> {
        if !self.done() {
            let (done, total) = self.progress();
            return Err(Error::invalid("evaluation", format!("unfinished: {done} of {total} histories scored")));
        }
        let table = ScoreTable {
            name: model,
            n: self.width - 1,
            index: &self.index,
            with_kinds: self.with_kinds,
            scores: &self.scores,
        };
        crate::eval::run(&table, self.split, self.phase, &self.cfg, &|_, _| {})
    }

    /// The evaluation's configuration.
    pub fn config(&self) -> &EvalConfig {
        &self.cfg
    }
}

/// A history to score: its items and their kinds.
type History<'a> = (&'a [u32], &'a [EventKind]);

/// Scores computed beforehand, served to [`crate::eval::run`] by history (items and, when
/// `with_kinds`, kinds).
struct ScoreTable<'a> {
    name: &'a str,
    n: usize,
    index: &'a HashMap<History<'a>, usize>,
    with_kinds: bool,
    scores: &'a [f32],
}

impl ScoreTable<'_> {
    /// Copies the scores of each history (looked up with its kinds when the table keeps them).
    fn copy(&self, histories: &[&[u32]], kinds: Option<&[&[EventKind]]>, out: &mut [f32]) -> Result<()> {
        let width = self.n + 1;
        if out.len() != histories.len() * width {
            return Err(Error::Mismatch(format!("score buffer of {} for {} histories", out.len(), histories.len())));
        }
        for (r, (h, row)) in histories.iter().zip(out.chunks_exact_mut(width)).enumerate() {
            let k = match kinds {
                Some(k) if self.with_kinds => k[r],
                _ => &[],
            };
            let Some(&at) = self.index.get(&(*h, k)) else {
                return Err(Error::Mismatch("the evaluation asked for a history that was not scored".into()));
            };
            row.copy_from_slice(&self.scores[at * width..(at + 1) * width]);
        }
        Ok(())
    }
}

impl Scorer for ScoreTable<'_> {
    fn name(&self) -> &str {
        self.name
    }

    fn num_items(&self) -> usize {
        self.n
    }

    fn score_batch(&self, histories: &[&[u32]], out: &mut [f32]) -> Result<()> {
        self.copy(histories, None, out)
    }

    fn uses_kinds(&self) -> bool {
        self.with_kinds
    }

    fn score_batch_with_kinds(&self, histories: &[&[u32]], kinds: &[&[EventKind]], out: &mut [f32]) -> Result<()> {
        crate::model::check_kinds(histories, kinds)?;
        self.copy(histories, Some(kinds), out)
    }
}

/// Runs a future that never waits on anything outside the process (the CPU backend's reads
/// are ready at once) to completion on this thread. For native callers and tests of the
/// asynchronous API; not for WebGPU in a browser.
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{EncoderSpec, Manifest, weights_of};
    use crate::data::DatasetBuilder;
    use crate::events::SequenceOptions;
    use crate::model::neural::EncoderConfig;
    use crate::model::sasrec::SasRecConfig;
    use crate::model::{attnpool, bert4rec, gru4rec, lstm};

    fn dataset() -> crate::data::Dataset {
        let mut b = DatasetBuilder::new("tiny");
        let log = [("u1", ["a", "b", "c"]), ("u2", ["b", "c", "d"]), ("u3", ["c", "d", "e"]), ("u4", ["c", "e", "f"])];
        for (u, items) in log {
            for (t, item) in items.iter().enumerate() {
                b.push(u, item, EventKind::View, t as i64);
            }
        }
        b.build(&SequenceOptions::default()).unwrap()
    }

    /// A bundle of the encoder `cfg` builds, with seeded weights, over [`dataset`].
    fn bundle_of<C: EncoderConfig>(cfg: &C) -> Bundle {
        let ds = dataset();
        let device = Device::flex();
        let _rng = crate::testing::rng_lock();
        device.seed(11);
        let model = cfg.init(&device).unwrap();
        let enc = EncoderSpec { kind: C::KIND.into(), config: serde_json::to_value(cfg).unwrap() };
        let mut m = Manifest::from_dataset(&ds, &ds.item_counts(), enc, String::new());
        m.titles[0] = Some("Item A".into());
        m.category_names = vec!["even".into(), "odd".into()];
        m.categories = (0..ds.num_items()).map(|k| vec![(k % 2) as u32]).collect();
        Bundle::new(m, weights_of(&model).unwrap())
    }

    /// A SASRec bundle over [`dataset`]: item `a` has the title "Item A", the others none.
    pub(super) fn bundle() -> Bundle {
        bundle_of(&SasRecConfig::new(dataset().num_items()).with_d_model(8).with_max_len(4).with_init_std(0.5))
    }

    fn ev(item: &str, kind: &str, ts: f64) -> RawEvent {
        RawEvent { item: Some(item.into()), kind: Some(kind.into()), ts: Some(ts), ..Default::default() }
    }

    #[test]
    fn events_are_validated_and_new_items_are_kept() {
        let ok = TrackedEvent::from_raw(ev("b", "cart", 5.0)).unwrap();
        assert_eq!((ok.item.as_deref(), ok.kind, ok.ts), (Some("b"), EventKind::Cart, 5));
        let new = TrackedEvent::from_raw(ev("NEW-SKU-2026", "view", 5.0)).unwrap();
        assert_eq!(new.item.as_deref(), Some("NEW-SKU-2026"), "an item the bundle does not have is kept");
        assert!(TrackedEvent::from_raw(ev("b", "poke", 5.0)).is_err());
        assert!(TrackedEvent::from_raw(ev("", "view", 5.0)).is_err(), "a view needs an item");
        assert!(TrackedEvent::from_raw(ev(&"x".repeat(300), "view", 5.0)).is_err(), "ids are bounded");
        let search =
            RawEvent { kind: Some("search".into()), query: Some("tea".into()), ts: Some(1.0), ..Default::default() };
        assert_eq!(TrackedEvent::from_raw(search).unwrap().item, None);
        let d = distinct_recent(&[(1, EventKind::View), (2, EventKind::View), (1, EventKind::Cart)], 5);
        assert_eq!(d, vec![(2, EventKind::View), (1, EventKind::Cart)]);
        assert_eq!(distinct_recent(&d, 1), vec![(1, EventKind::Cart)]);
    }

    #[test]
    fn seen_items_fill_the_list_only_when_too_few_others_remain() {
        let scores = [f32::NEG_INFINITY, 5.0, 4.0, 3.0, 2.0, 1.0];
        let idx = |r: Vec<Ranked>| r.iter().map(|r| r.index).collect::<Vec<_>>();
        let seen = |i: u32| i <= 2;
        let r = top_k_unseen(&scores, 2, &|_| false, &seen, |_| Ok(true)).unwrap();
        assert_eq!(idx(r), [3, 4], "seen items left out while others remain");
        let r = top_k_unseen(&scores, 4, &|i| i == 5, &seen, |_| Ok(true)).unwrap();
        assert_eq!(idx(r), [3, 4, 1, 2], "then the best seen ones, never a blocked one");
        let everything_seen = top_k_unseen(&scores, 3, &|_| false, &|_| true, |_| Ok(true)).unwrap();
        assert_eq!(idx(everything_seen), [1, 2, 3], "a long history never empties the list");
        let filtered = top_k_unseen(&scores, 3, &|_| false, &seen, |i| Ok(i % 2 == 1)).unwrap();
        assert_eq!(idx(filtered), [3, 5, 1]);
    }

    #[test]
    fn top_k_orders_breaks_ties_by_index_and_filters_lazily() {
        let scores = [f32::NEG_INFINITY, 0.5, 2.0, 2.0, f32::NAN, -1.0, 3.0];
        let all = top_k(&scores, 10, &|_| false, |_| Ok(true)).unwrap();
        let idx: Vec<u32> = all.iter().map(|r| r.index).collect();
        assert_eq!(idx, [6, 2, 3, 1, 5], "NaN and index 0 never come back");
        let two = top_k(&scores, 2, &|i| i == 6, |_| Ok(true)).unwrap();
        assert_eq!(two.iter().map(|r| r.index).collect::<Vec<_>>(), [2, 3]);
        // The filter is asked in rank order and only until k items are accepted.
        let mut asked = Vec::new();
        let odd = top_k(&scores, 2, &|_| false, |i| {
            asked.push(i);
            Ok(i % 2 == 1)
        })
        .unwrap();
        assert_eq!(odd.iter().map(|r| r.index).collect::<Vec<_>>(), [3, 1]);
        assert_eq!(asked, [6, 2, 3, 1]);
        let err = top_k(&scores, 2, &|_| false, |_| Err(Error::Device("boom".into())));
        assert!(err.is_err());
        // A large catalogue where the filter rejects most items: still exact.
        let big: Vec<f32> = (0..5000).map(|i| ((i * 7919) % 5000) as f32).collect();
        let sel = top_k(&big, 3, &|_| false, |i| Ok(i % 1000 == 0)).unwrap();
        let mut want: Vec<(u32, f32)> = (1..5000u32).filter(|i| i % 1000 == 0).map(|i| (i, big[i as usize])).collect();
        want.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(sel.iter().map(|r| r.index).collect::<Vec<_>>(), want[..3].iter().map(|w| w.0).collect::<Vec<_>>());
    }

    /// The one-pass selection equals a full sort, ties (many equal scores) and blocked items
    /// included, whatever `k`, and `blocked` is asked only about candidates near the top.
    #[test]
    fn top_k_of_a_large_row_equals_a_full_sort() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let scores: Vec<f32> = (0..40_001).map(|_| rng.random_range(0..3000) as f32 * 0.5).collect();
        let blocked = |i: u32| i % 3 == 0;
        let mut want: Vec<Ranked> = (1..scores.len() as u32)
            .filter(|&i| !blocked(i))
            .map(|i| Ranked { index: i, score: scores[i as usize] })
            .collect();
        want.sort_by(rank_order);
        for k in [1, 10, 63, 64, 65, 700, 3000] {
            let asked = std::cell::Cell::new(0usize);
            let got = top_k(
                &scores,
                k,
                &|i| {
                    asked.set(asked.get() + 1);
                    blocked(i)
                },
                |_| Ok(true),
            )
            .unwrap();
            assert_eq!(got, want[..k], "k = {k}");
            assert!(asked.get() <= 8 * (4 * k).max(64), "k = {k}: blocked asked {} times", asked.get());
        }
    }

    #[test]
    fn top_k_equals_sorting_everything_and_asks_blocked_about_few_items() {
        // Scores with many ties (20 distinct values), some non-finite; every third item blocked.
        let n = 50_000;
        let mut scores: Vec<f32> = (0..=n).map(|i| ((i as u64 * 2_654_435_761) % 20) as f32).collect();
        scores[0] = f32::NEG_INFINITY;
        scores[7] = f32::NAN;
        scores[11] = f32::INFINITY;
        let asked = std::cell::Cell::new(0usize);
        let blocked = |i: u32| {
            asked.set(asked.get() + 1);
            i % 3 == 0
        };
        let mut reference: Vec<Ranked> = (1..=n as u32)
            .filter(|&i| scores[i as usize].is_finite() && i % 3 != 0)
            .map(|i| Ranked { index: i, score: scores[i as usize] })
            .collect();
        reference.sort_by(rank_order);
        for k in [1, 10, 100, 5_000, n] {
            asked.set(0);
            let got = top_k(&scores, k, &blocked, |_| Ok(true)).unwrap();
            assert_eq!(got, reference[..k.min(reference.len())], "k = {k}");
            if k <= 100 {
                assert!(asked.get() < n / 10, "k = {k}: blocked asked about {} of {n} items", asked.get());
            }
        }
        // A filter that accepts one item in 500: rounds grow until k are found, still exact.
        let got = top_k(&scores, 5, &blocked, |i| Ok(i % 500 == 1)).unwrap();
        let want: Vec<Ranked> = reference.iter().filter(|r| r.index % 500 == 1).take(5).copied().collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rerank_keeps_caller_order_on_ties_and_drops_duplicates() {
        let scored = [("c", 1.0), ("a", 1.0), ("b", 5.0), ("c", 7.0), ("d", 9.0), ("e", f32::NAN)];
        let r = rerank(&scored, 10);
        assert_eq!(r.iter().map(|r| r.0).collect::<Vec<_>>(), ["d", "b", "c", "a", "e"]);
        assert_eq!(r[2].1, 1.0, "a duplicate keeps its first score");
        assert_eq!(rerank(&scored, 1).len(), 1);
    }

    #[test]
    fn engine_scores_equal_the_cpu_recommender() {
        let b = bundle();
        let native = crate::model::from_bundle(&b).unwrap();
        let engine = Engine::new(&b, &Device::flex()).unwrap();
        block_on(engine.warm_up()).unwrap();
        let hist = [1u32, 3, 2];
        let mut want = vec![0.0; 7];
        native.score_batch(&[&hist], &mut want).unwrap();
        let got = block_on(engine.scores(&hist, None)).unwrap();
        assert_eq!(got[0], f32::NEG_INFINITY);
        for (a, w) in got.iter().zip(&want).skip(1) {
            assert!((a - w).abs() < 1e-6, "{a} vs {w}");
        }
        assert!(got[1..].iter().any(|&s| (s - got[1]).abs() > 1e-3), "scores differ between items");
        let rows = block_on(engine.rows(&[2, 5])).unwrap();
        assert_eq!(rows.len(), 2 * engine.d_model());
        assert!(block_on(engine.rows(&[7])).is_err(), "out of range is an error, not a panic");
        // No valid item: all zeros (the caller falls back to popularity before this).
        let empty = block_on(engine.scores(&[0, 99], None)).unwrap();
        assert!(empty[1..].iter().all(|&s| s == 0.0));
    }

    /// The browser engine serves every encoder kind with the scores of the native recommender.
    #[test]
    fn engine_serves_every_encoder_kind_like_the_native_recommender() {
        let n = dataset().num_items();
        let bundles = [
            bundle(),
            bundle_of(&gru4rec::Gru4RecConfig::new(n).with_d_model(8).with_max_len(4).with_init_std(0.5)),
            bundle_of(&lstm::LstmConfig::new(n).with_d_model(8).with_max_len(4).with_init_std(0.5)),
            bundle_of(&attnpool::AttnPoolConfig::new(n).with_d_model(8).with_max_len(4).with_init_std(0.5)),
            bundle_of(&bert4rec::Bert4RecConfig::new(n).with_d_model(8).with_max_len(4).with_init_std(0.5)),
        ];
        let kinds: Vec<&str> = bundles.iter().map(|b| b.manifest.encoder.kind.as_str()).collect();
        assert_eq!(kinds, crate::model::ENCODERS);
        for b in &bundles {
            let kind = &b.manifest.encoder.kind;
            let native = crate::model::from_bundle(b).unwrap();
            let engine = Engine::new(b, &Device::flex()).unwrap();
            let fixed = Engine::new(b, &Device::flex()).unwrap().with_fixed_shape();
            for hist in [&[1u32, 3, 2][..], &[4], &[2, 2, 5, 6, 1, 3]] {
                let mut want = vec![0.0; n + 1];
                native.score_batch(&[hist], &mut want).unwrap();
                let got = block_on(engine.scores(hist, None)).unwrap();
                assert_eq!(got.len(), n + 1);
                for (a, w) in got.iter().zip(&want).skip(1) {
                    assert!((a - w).abs() < 1e-5, "{kind} {hist:?}: {a} vs {w}");
                }
                assert!(got[1..].iter().any(|&s| (s - got[1]).abs() > 1e-4), "{kind}: scores differ between items");
                // Padded to the longest history (the WebGPU shape): the same scores.
                let padded = block_on(fixed.scores(hist, None)).unwrap();
                for (a, w) in padded.iter().zip(&want).skip(1) {
                    assert!((a - w).abs() < 1e-5, "{kind} {hist:?} padded: {a} vs {w}");
                }
            }
        }
    }

    /// The browser's evaluation (scores read back batch by batch) gives the native
    /// evaluation's ranks and metrics, for every encoder kind and either input shape.
    #[test]
    fn evaluation_on_the_engine_equals_the_native_evaluation() {
        use crate::data::{Phase, Split, SplitSpec};
        let n = dataset().num_items();
        let split = Split::new(dataset(), SplitSpec::LeaveOneOut).unwrap();
        let cfg = EvalConfig { ks: vec![1, 3], bootstrap: 0, ..EvalConfig::default() };
        for b in [
            bundle(),
            bundle_of(&gru4rec::Gru4RecConfig::new(n).with_d_model(8).with_max_len(4).with_init_std(0.5)),
            bundle_of(&bert4rec::Bert4RecConfig::new(n).with_d_model(8).with_max_len(4).with_init_std(0.5)),
        ] {
            let native = crate::model::from_bundle(&b).unwrap();
            let want = crate::eval::run(native.as_ref(), &split, Phase::Test, &cfg, &|_, _| {}).unwrap();
            for fixed in [false, true] {
                let mut engine = Engine::new(&b, &Device::flex()).unwrap();
                if fixed {
                    engine = engine.with_fixed_shape();
                }
                let mut ev = Evaluation::new(&engine, &split, Phase::Test, cfg.clone()).unwrap();
                assert!(ev.finish("x").is_err(), "nothing scored yet");
                let mut steps = 0;
                while !ev.done() {
                    block_on(ev.score_next(&engine, 3)).unwrap();
                    steps += 1;
                }
                assert_eq!(ev.progress(), (4, 4));
                assert_eq!(steps, 2, "4 distinct histories in batches of 3");
                let got = ev.finish(native.name()).unwrap();
                assert_eq!(got.ranks, want.ranks, "{}", b.manifest.encoder.kind);
                assert_eq!(got.topk, want.topk);
                let (g, w) =
                    (crate::eval::metrics::per_case(&got, &cfg.ks), crate::eval::metrics::per_case(&want, &cfg.ks));
                assert_eq!(g, w);
            }
        }
        // Another catalogue: a clear error.
        let mut other = DatasetBuilder::new("other");
        other.push("u", "zzz", EventKind::View, 0);
        other.push("u", "yyy", EventKind::View, 1);
        other.push("u", "xxx", EventKind::View, 2);
        let other = Split::new(other.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap();
        let engine = Engine::new(&bundle(), &Device::flex()).unwrap();
        let err = Evaluation::new(&engine, &other, Phase::Test, cfg).err().unwrap().to_string();
        assert!(err.contains("the model scores 6 items but dataset `other` has 3"), "{err}");
    }
}
