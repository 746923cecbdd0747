//! One loaded `Recommender`: the bundle's catalogue, the model on its backend and the
//! shopper's event store, and what `load`, `recommend` and `rerank` do with them (evaluation is
//! in `evaluate.rs`). The ranking and the reasons are [`crate::serve`]'s.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use js_sys::{Array, Function};
use wasm_bindgen::JsValue;

use super::convert::{self, progress};
use super::device::{Failed, Runtime};
use super::download;
use super::idb::EventStore;
use super::js::{self, code};
use super::options::{self, DEFAULT_NAMESPACE, Filter, RecommendOptions, RecommenderOptions, RerankOptions};
use crate::bundle::Bundle;
use crate::events::EventKind;
use crate::serve::{self, Catalog, Explanation, Ranked, TrackedEvent};

/// A model bundle loaded for one shopper.
pub struct Session {
    pub catalog: Catalog,
    /// The training data's fingerprint (a held-out set must match it).
    pub fingerprint: String,
    /// `BundleInfo`.
    pub info: JsValue,
    pub runtime: Runtime,
    pub store: Rc<EventStore>,
    pub namespace: String,
}

impl Session {
    /// `Recommender.load(bundle, options)`.
    pub async fn load(bundle: JsValue, options: Option<JsValue>) -> Result<Session, JsValue> {
        const M: &str = "Recommender.load";
        let opts: RecommenderOptions = options::read(M, options)?;
        let cb = opts.on_progress.as_ref();
        let bytes = download::bytes(&download::BUNDLE, &bundle, &|loaded: f64, total: Option<f64>| {
            progress(cb, "download", Some(loaded), total)
        })
        .await?;
        progress(cb, "parse", None, None);
        let bundle = Bundle::from_bytes(&bytes).map_err(|e| js::from_error(M, &e))?;
        drop(bytes);
        let catalog = Catalog::from_manifest(&bundle.manifest).map_err(|e| js::from_error(M, &e))?;
        let info = convert::bundle_info(&bundle);
        let fingerprint = bundle.manifest.data.fingerprint.clone();

        progress(cb, "backend", None, None);
        let runtime = Runtime::load(bundle, opts.device, cb).await?;
        let namespace = opts.namespace.unwrap_or_else(|| DEFAULT_NAMESPACE.into());
        let store = EventStore::open(&namespace).await?;
        progress(cb, "ready", None, None);
        Ok(Session { catalog, fingerprint, info, runtime, store, namespace })
    }

    /// The scores of every item for `history`, on the GPU or, after it failed, the CPU.
    async fn scores(&self, history: &[u32]) -> Result<Vec<f32>, JsValue> {
        self.runtime
            .with_fallback("scoring", None, |engine| async move { engine.scores(history).await.map_err(Failed::Model) })
            .await
    }

    /// Item embeddings of `idx`, on the GPU or, after it failed, the CPU.
    async fn rows(&self, idx: &[u32]) -> Result<Vec<f32>, JsValue> {
        self.runtime
            .with_fallback(
                "reading embeddings",
                None,
                |engine| async move { engine.rows(idx).await.map_err(Failed::Model) },
            )
            .await
    }

    /// The shopper's history and the scores for it (popularity on a cold start).
    async fn scored(&self) -> Result<(Vec<(u32, EventKind)>, Vec<f32>), JsValue> {
        let events: Vec<TrackedEvent> = self.store.read().await?.into_iter().map(|s| s.event).collect();
        let hist = serve::history(&events, &self.catalog);
        let scores = if hist.is_empty() {
            self.catalog.popularity_scores()
        } else {
            let items: Vec<u32> = hist.iter().map(|h| h.0).collect();
            self.scores(&items).await?
        };
        Ok((hist, scores))
    }

    /// `recommend(options)`.
    pub async fn recommend(&self, options: Option<JsValue>) -> Result<JsValue, JsValue> {
        const M: &str = "recommend";
        let opts: RecommendOptions = options::read(M, options)?;
        let cats = opts.filter.categories(M, &self.catalog)?;
        let k = opts.k.unwrap_or(10);

        let (hist, scores) = self.scored().await?;
        let mut blocked: HashSet<u32> = opts.exclude.iter().filter_map(|id| self.catalog.get(id)).collect();
        if opts.exclude_seen.unwrap_or(true) {
            blocked.extend(hist.iter().map(|h| h.0));
        }
        let is_blocked =
            |i: u32| blocked.contains(&i) || cats.as_ref().is_some_and(|c| !self.catalog.in_categories(i, c));
        let thrown: RefCell<Option<JsValue>> = RefCell::new(None);
        let keep = |i: u32| -> crate::Result<bool> {
            let Filter::Function(f) = &opts.filter else { return Ok(true) };
            call_filter(f, &convert::item_info(&self.catalog, i)).map_err(|e| {
                *thrown.borrow_mut() = Some(e);
                crate::Error::invalid("filter", "the filter function threw")
            })
        };
        let ranked = serve::top_k(&scores, k, &is_blocked, keep).map_err(|e| match thrown.take() {
            Some(t) => {
                js::error(code::INVALID_INPUT, format!("{M}: the filter function threw: {}", js::message_of(&t)))
            }
            None => js::from_error(M, &e),
        })?;
        self.results(&ranked, &hist, opts.explain.unwrap_or(false)).await
    }

    /// `rerank(candidates, options)`.
    pub async fn rerank(&self, candidates: JsValue, options: Option<JsValue>) -> Result<JsValue, JsValue> {
        const M: &str = "rerank";
        let ids = js::string_list(&candidates, "the candidates", 1_000_000).map_err(|e| js::invalid(M, e))?;
        let opts: RerankOptions = options::read(M, options)?;
        let mut idx = Vec::with_capacity(ids.len());
        for (n, id) in ids.iter().enumerate() {
            match self.catalog.get(id) {
                Some(i) => idx.push(i),
                None => {
                    return Err(js::error(
                        code::UNKNOWN_ITEM,
                        format!("{M}: unknown item `{id}` (candidate {n}; it is not in the model bundle's catalogue)"),
                    ));
                }
            }
        }
        if idx.is_empty() {
            return Ok(Array::new().into());
        }
        let (hist, scores) = self.scored().await?;
        let ranked = serve::rerank(&scores, &idx, opts.k.unwrap_or(ids.len()));
        self.results(&ranked, &hist, opts.explain.unwrap_or(false)).await
    }

    /// `history()`.
    pub async fn history(&self) -> Result<JsValue, JsValue> {
        Ok(convert::history(self.store.read().await?))
    }

    /// The result objects, with reasons when asked.
    async fn results(&self, ranked: &[Ranked], hist: &[(u32, EventKind)], explain: bool) -> Result<JsValue, JsValue> {
        let reasons = if explain { Some(self.reasons(ranked, hist).await?) } else { None };
        Ok(convert::recommendations(&self.catalog, ranked, reasons.as_deref()))
    }

    /// The reasons of each ranked item: the history items whose embeddings are closest to its
    /// own, or the popular and recent fallbacks ([`serve::explanations`]).
    async fn reasons(&self, ranked: &[Ranked], hist: &[(u32, EventKind)]) -> Result<Vec<Vec<Explanation>>, JsValue> {
        let similar = if hist.is_empty() {
            Vec::new()
        } else {
            let engine = self.runtime.engine();
            let recent = serve::distinct_recent(hist, engine.max_len());
            let mut idx: Vec<u32> = ranked.iter().map(|r| r.index).collect();
            idx.extend(recent.iter().map(|h| h.0));
            let rows = self.rows(&idx).await?;
            let d = self.runtime.engine().d_model();
            let (rec_rows, hist_rows) = rows.split_at((ranked.len() * d).min(rows.len()));
            serve::explain(rec_rows, &recent, hist_rows, d)
        };
        Ok((0..ranked.len())
            .map(|n| serve::explanations(!hist.is_empty(), similar.get(n).map(Vec::as_slice).unwrap_or(&[])))
            .collect())
    }
}

/// Asks a filter function about one item; what it threw, if it did.
fn call_filter(f: &Function, item: &JsValue) -> Result<bool, JsValue> {
    f.call1(&JsValue::UNDEFINED, item).map(|v| v.is_truthy())
}
