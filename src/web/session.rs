//! One loaded `Recommender`: the live catalogue, the model on its backend and the shopper's
//! event store, and what `load`, `recommend`, `rerank`, `history` and `updateCatalog` do with
//! them (evaluation is in `evaluate.rs`). The ranking, the catalogue rules and the reasons are
//! [`crate::serve`]'s.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use js_sys::{Array, Function};
use wasm_bindgen::JsValue;

use super::bundle_cache;
use super::convert::{self, progress};
use super::device::{Failed, Runtime};
use super::download;
use super::idb;
use super::js::{self, code};
use super::options::{
    self, DEFAULT_NAMESPACE, Filter, RecommendOptions, RecommenderOptions, ReportOptions, RerankOptions, StatsOptions,
};
use super::store::{EventStore, Storage};
use crate::bundle::Bundle;
use crate::events::EventKind;
use crate::online::{AttributionRules, Impression, OnlineStats, online_stats};
use crate::serve::{self, Catalog, Explanation, ItemUpdate, TrackedEvent};

/// A model bundle loaded for one shopper.
pub struct Session {
    /// The bundle's items and those the page added since.
    pub catalog: RefCell<Catalog>,
    /// The training data's fingerprint (a held-out set must match it).
    pub fingerprint: String,
    /// `BundleInfo`.
    pub info: JsValue,
    pub runtime: Runtime,
    pub store: Rc<EventStore>,
    pub namespace: String,
    /// The model's name in the online metrics: the variant of an experiment, the `variant`
    /// option, or the bundle's encoder.
    pub variant: String,
    /// The purchased-items flags of the last request, with the purchases version and catalogue
    /// length they were computed for: rebuilt only when either changes.
    purchased: RefCell<Option<PurchasedFlags>>,
}

/// Flags by item index of the items bought, for a purchases version and catalogue length.
type PurchasedFlags = (u64, usize, Rc<Vec<bool>>);

/// A ranked entry of `rerank()`: the candidate's id, its index if the catalogue has it, its
/// score.
pub type Reranked = (String, Option<u32>, f32);

impl Session {
    /// `Recommender.load(bundle, options)`.
    pub async fn load(bundle: JsValue, options: Option<JsValue>) -> Result<Session, JsValue> {
        const M: &str = "Recommender.load";
        let opts: RecommenderOptions = options::read(M, options)?;
        let cb = opts.on_progress.as_ref();
        let variants = options::variants(&bundle)?;
        let namespace = opts.namespace.clone().unwrap_or_else(|| DEFAULT_NAMESPACE.into());
        let store = EventStore::open(&namespace, opts.storage, opts.retention()).await?;
        // An experiment: the device's sticky variant, and only its bundle is downloaded.
        let (bundle, chosen) = match variants {
            None => (bundle, None),
            Some(list) => {
                let fresh = format!(
                    "{:x}{:x}",
                    (js_sys::Math::random() * 4294967296.0) as u64,
                    (js_sys::Math::random() * 4294967296.0) as u64
                );
                let device = match store.db() {
                    Some(db) => idb::device_id(&db, &namespace, &fresh).await?,
                    None => fresh, // memory-only storage: sticky for this page
                };
                let experiment = opts.experiment.clone().unwrap_or_else(|| namespace.clone());
                let weights: Vec<f64> = list.iter().map(|v| v.2).collect();
                let i = crate::online::assign(&device, &experiment, &weights).map_err(|e| js::from_error(M, &e))?;
                let (name, src, _) = list.into_iter().nth(i).unwrap_or_default();
                (src, Some(name))
            }
        };
        let bundle = match bundle.as_string() {
            // A URL: through the bundle cache; a cached copy that does not parse is deleted and
            // the bundle downloaded again.
            Some(url) => {
                let report = |phase: &str, loaded: f64, total: Option<f64>| progress(cb, phase, Some(loaded), total);
                let use_cache = opts.cache.unwrap_or(true);
                let got = bundle_cache::bundle(&download::BUNDLE, &url, use_cache, &report).await?;
                progress(cb, "parse", None, None);
                match Bundle::from_bytes(&got.bytes) {
                    Ok(b) => b,
                    Err(_) if got.origin == bundle_cache::Origin::Cache => {
                        web_sys::console::warn_1(
                            &format!("localrec: the cached copy of {url} is damaged; downloading it again").into(),
                        );
                        got.discard().await;
                        let fresh = bundle_cache::bundle(&download::BUNDLE, &url, use_cache, &report).await?;
                        progress(cb, "parse", None, None);
                        Bundle::from_bytes(&fresh.bytes).map_err(|e| js::from_error(M, &e))?
                    }
                    Err(e) => return Err(js::from_error(M, &e)),
                }
            }
            None => {
                let bytes = download::bytes(&download::BUNDLE, &bundle, &|_: f64, _: Option<f64>| {}).await?;
                progress(cb, "parse", None, None);
                Bundle::from_bytes(&bytes).map_err(|e| js::from_error(M, &e))?
            }
        };
        let mut catalog = Catalog::from_manifest(&bundle.manifest).map_err(|e| js::from_error(M, &e))?;
        let info = convert::bundle_info(&bundle);
        let fingerprint = bundle.manifest.data.fingerprint.clone();

        progress(cb, "backend", None, None);
        let variant = chosen.or(opts.variant.clone()).unwrap_or_else(|| bundle.manifest.encoder.kind.clone());
        let runtime = Runtime::load(bundle, opts.device, cb).await?;
        if let Some(db) = store.db() {
            restore_catalog(&mut catalog, &db, &namespace).await?;
        }
        progress(cb, "ready", None, None);
        Ok(Session {
            catalog: RefCell::new(catalog),
            fingerprint,
            info,
            runtime,
            store,
            namespace,
            variant,
            purchased: RefCell::new(None),
        })
    }

    /// The scores of every model item for `history`, on the GPU or, after it failed, the CPU.
    async fn scores(&self, history: &[u32], kinds: &[EventKind]) -> Result<Vec<f32>, JsValue> {
        self.runtime
            .with_fallback("scoring", None, |engine| async move {
                engine.scores(history, Some(kinds)).await.map_err(Failed::Model)
            })
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

    /// The history the model reads (the newest events naming an item it knows) and the scores
    /// of every catalogue item for it: the model's, or the popularity counts on a cold start,
    /// extended to the items added since ([`Catalog::extend_scores`]).
    async fn scored(&self) -> Result<(Vec<(u32, EventKind)>, Vec<f32>), JsValue> {
        let max = self.runtime.engine().max_len();
        let hist = self.store.log().model_history(&self.catalog.borrow(), max);
        let scores = if hist.is_empty() {
            self.catalog.borrow().popularity_scores()
        } else {
            let (items, kinds): (Vec<u32>, Vec<EventKind>) = hist.iter().copied().unzip();
            let model = self.scores(&items, &kinds).await?;
            self.catalog.borrow().extend_scores(model)
        };
        Ok((hist, scores))
    }

    /// `recommend(options)`.
    pub async fn recommend(&self, options: Option<JsValue>) -> Result<JsValue, JsValue> {
        const M: &str = "recommend";
        let opts: RecommendOptions = options::read(M, options)?;
        let cats = opts.filter.categories(M, &self.catalog.borrow())?;
        let k = opts.k.unwrap_or(10);

        let (hist, scores) = self.scored().await?;
        let entries: Vec<Reranked> = {
            let catalog = self.catalog.borrow();
            let excluded: HashSet<u32> = opts.exclude.iter().filter_map(|id| catalog.get(id)).collect();
            // An absent `excludeSeen` is the default rules (serde leaves the field at its default).
            let rules = &opts.exclude_seen;
            let recent: HashSet<u32> = self.store.log().recent(&catalog, rules.recent);
            let purchased = if rules.purchased { Some(self.purchased(&catalog)) } else { None };
            let seen = |i: u32| {
                recent.contains(&i) || purchased.as_ref().is_some_and(|p| p.get(i as usize).copied().unwrap_or(false))
            };
            let is_blocked = |i: u32| {
                excluded.contains(&i)
                    || !catalog.is_available(i)
                    || cats.as_ref().is_some_and(|c| !catalog.in_categories(i, c))
            };
            let thrown: RefCell<Option<JsValue>> = RefCell::new(None);
            let keep = |i: u32| -> crate::Result<bool> {
                let Filter::Function(f) = &opts.filter else { return Ok(true) };
                call_filter(f, &convert::item_info(&catalog, i)).map_err(|e| {
                    *thrown.borrow_mut() = Some(e);
                    crate::Error::invalid("filter", "the filter function threw")
                })
            };
            let ranked =
                serve::top_k_unseen(&scores, k, &is_blocked, &seen, keep).map_err(|e| match thrown.take() {
                    Some(t) => js::error(
                        code::INVALID_INPUT,
                        format!("{M}: the filter function threw: {}", js::message_of(&t)),
                    ),
                    None => js::from_error(M, &e),
                })?;
            ranked.iter().map(|r| (catalog.id(r.index).to_string(), Some(r.index), r.score)).collect()
        };
        self.results(&entries, &hist, opts.explain.unwrap_or(false), opts.record.unwrap_or(true)).await
    }

    /// Which catalogue items the shopper bought (flags by index), kept between requests.
    fn purchased(&self, catalog: &Catalog) -> Rc<Vec<bool>> {
        let log = self.store.log();
        let key = (log.purchases_version(), catalog.len());
        if let Some((v, n, mask)) = self.purchased.borrow().as_ref() {
            if (*v, *n) == key {
                return mask.clone();
            }
        }
        let mask = Rc::new(log.purchased(catalog));
        *self.purchased.borrow_mut() = Some((key.0, key.1, mask.clone()));
        mask
    }

    /// `rerank(candidates, options)`: any well-formed ids; those the catalogue does not have
    /// are placed by the popularity prior.
    pub async fn rerank(&self, candidates: JsValue, options: Option<JsValue>) -> Result<JsValue, JsValue> {
        const M: &str = "rerank";
        let ids = js::string_list(&candidates, "the candidates", 1_000_000).map_err(|e| js::invalid(M, e))?;
        let opts: RerankOptions = options::read(M, options)?;
        for (n, id) in ids.iter().enumerate() {
            let len = id.chars().count();
            if id.trim().is_empty() || len > crate::events::MAX_ID_CHARS {
                return Err(js::invalid(
                    M,
                    format!("candidate {n} must be an item id of 1 to {} characters", crate::events::MAX_ID_CHARS),
                ));
            }
        }
        if ids.is_empty() {
            return Ok(Array::new().into());
        }
        let (hist, scores) = self.scored().await?;
        let ranked = {
            let catalog = self.catalog.borrow();
            let prior = catalog.prior_score(&scores[..=catalog.model_items()]);
            let scored: Vec<(String, f32)> = ids
                .into_iter()
                .map(|id| {
                    let s = catalog.get(&id).and_then(|i| scores.get(i as usize).copied()).unwrap_or(prior);
                    (id, s)
                })
                .collect();
            let k = opts.k.unwrap_or(scored.len());
            serve::rerank(&scored, k)
                .into_iter()
                .map(|(id, s)| {
                    let i = catalog.get(&id);
                    (id, i, s)
                })
                .collect::<Vec<Reranked>>()
        };
        self.results(&ranked, &hist, opts.explain.unwrap_or(false), true).await
    }

    /// `history()`: every event of the namespace, oldest first, from memory.
    pub fn history(&self) -> JsValue {
        convert::history(&self.store.log(), &self.catalog.borrow())
    }

    /// `updateCatalog(items)`: applies the changes (all checked first), then stores the
    /// catalogue's state with the events (in IndexedDB mode).
    pub async fn update_catalog(&self, items: JsValue) -> Result<JsValue, JsValue> {
        const M: &str = "updateCatalog";
        let updates = options::item_updates(&items)?;
        let (summary, state) = {
            let mut catalog = self.catalog.borrow_mut();
            let summary = catalog.update(&updates).map_err(|e| js::from_error(M, &e))?;
            (summary, catalog.state())
        };
        self.save_catalog(&state).await?;
        Ok(js::object(&[("added", (summary.added as f64).into()), ("updated", (summary.updated as f64).into())]))
    }

    /// Stores the catalogue's changes where the events are kept (nothing in memory mode).
    async fn save_catalog(&self, state: &[ItemUpdate]) -> Result<(), JsValue> {
        let Some(db) = self.store.db() else { return Ok(()) };
        let json = serde_json::to_string(state)
            .map_err(|e| js::error(code::STORAGE, format!("updateCatalog: could not encode the catalogue: {e}")))?;
        idb::write_catalog(&db, &self.namespace, &json).await
    }

    /// `setStorage(mode)`: switches between IndexedDB and memory without losing the session.
    pub async fn set_storage(&self, mode: JsValue) -> Result<JsValue, JsValue> {
        let to = options::parse_storage(&mode).map_err(|e| js::invalid("setStorage", e))?;
        self.store.set_storage(to).await?;
        if to == Storage::IndexedDb {
            let state = self.catalog.borrow().state();
            if !state.is_empty() {
                self.save_catalog(&state).await?;
            }
        }
        Ok(JsValue::UNDEFINED)
    }

    /// `report({ epsilon, since? })`: this device's online metrics under its variant, as a
    /// private report (randomized response, [`crate::online::PrivateReport`]): what a shop may
    /// choose to collect. Drawn with the browser's cryptographic randomness.
    pub fn report(&self, options: Option<JsValue>) -> Result<JsValue, JsValue> {
        const M: &str = "report";
        let opts: ReportOptions = options::read(M, options)?;
        let Some(epsilon) = opts.epsilon else {
            return Err(js::invalid(M, "`epsilon` is required: the privacy budget of the report, e.g. { epsilon: 2 }"));
        };
        let stats = self.online_stats(&AttributionRules::default(), opts.since);
        let summary =
            stats.variants.get(&self.variant).map(|v| v.total.summary(&self.variant)).unwrap_or_else(|| {
                crate::online::DeviceSummary { variant: self.variant.clone(), ..Default::default() }
            });
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| js::error(code::INFERENCE, format!("{M}: no cryptographic randomness here: {e}")))?;
        let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::from_seed(seed);
        let report = summary.privatize(epsilon, &mut rng).map_err(|e| js::from_error(M, &e))?;
        to_json(M, &report)
    }

    /// The result objects, with reasons when asked, and their `recommendationId`: with
    /// `record`, the list is kept as an impression for the online metrics (else its id is
    /// empty).
    async fn results(
        &self,
        ranked: &[Reranked],
        hist: &[(u32, EventKind)],
        explain: bool,
        record: bool,
    ) -> Result<JsValue, JsValue> {
        let reasons = if explain { Some(self.reasons(ranked, hist).await?) } else { None };
        let now = js_sys::Date::now();
        let id = if record {
            format!("{:x}-{:06x}", now as u64, (js_sys::Math::random() * 16_777_216.0) as u64)
        } else {
            String::new()
        };
        if record && !ranked.is_empty() {
            self.store.record_impression(Impression {
                id: id.clone(),
                ts: now as i64,
                variant: self.variant.clone(),
                items: ranked.iter().map(|r| r.0.clone()).collect(),
            });
        }
        Ok(convert::recommendations(&self.catalog.borrow(), ranked, reasons.as_deref(), &id))
    }

    /// `stats(options)`: the online metrics of the lists shown on this device
    /// ([`crate::online::online_stats`]).
    pub fn stats(&self, options: Option<JsValue>) -> Result<JsValue, JsValue> {
        const M: &str = "stats";
        let opts: StatsOptions = options::read(M, options)?;
        let rules = AttributionRules {
            window_ms: opts.window_minutes.map_or(AttributionRules::DEFAULT_WINDOW_MS, |m| (m * 60_000.0) as i64),
        };
        to_json(M, &self.online_stats(&rules, opts.since))
    }

    /// The online metrics of the lists shown at or after `since` (ms), by `rules`.
    fn online_stats(&self, rules: &AttributionRules, since: Option<f64>) -> OnlineStats {
        let log = self.store.log();
        let events: Vec<&TrackedEvent> = log.iter().map(|(_, e)| e).collect();
        online_stats(&self.store.impressions(), &events, rules, since.map(|s| s as i64), self.catalog.borrow().len())
    }

    /// The reasons of each ranked item: the history items whose embeddings are closest to its
    /// own (for items the model has), or the popular and recent fallbacks
    /// ([`serve::explanations`]).
    async fn reasons(&self, ranked: &[Reranked], hist: &[(u32, EventKind)]) -> Result<Vec<Vec<Explanation>>, JsValue> {
        let in_model: Vec<(usize, u32)> = {
            let catalog = self.catalog.borrow();
            ranked.iter().enumerate().filter_map(|(n, r)| Some((n, r.1.filter(|&i| catalog.in_model(i))?))).collect()
        };
        let mut similar: Vec<Vec<serve::Reason>> = vec![Vec::new(); ranked.len()];
        if !hist.is_empty() && !in_model.is_empty() {
            let engine = self.runtime.engine();
            let recent = serve::distinct_recent(hist, engine.max_len());
            let mut idx: Vec<u32> = in_model.iter().map(|r| r.1).collect();
            idx.extend(recent.iter().map(|h| h.0));
            let rows = self.rows(&idx).await?;
            let d = self.runtime.engine().d_model();
            let (rec_rows, hist_rows) = rows.split_at((in_model.len() * d).min(rows.len()));
            for ((n, _), why) in in_model.iter().zip(serve::explain(rec_rows, &recent, hist_rows, d)) {
                similar[*n] = why;
            }
        }
        Ok(similar.iter().map(|s| serve::explanations(!hist.is_empty(), s)).collect())
    }
}

/// Applies the catalogue changes stored for `namespace`, if any. A stored state that does not
/// pass validation (written by a newer version, or damaged) is left in storage untouched and
/// not applied, with a warning: the bundle's catalogue is used as it is.
async fn restore_catalog(catalog: &mut Catalog, db: &web_sys::IdbDatabase, namespace: &str) -> Result<(), JsValue> {
    let warn = |why: String| {
        web_sys::console::warn_1(
            &format!("localrec: the stored catalogue changes of `{namespace}` were not applied: {why}").into(),
        )
    };
    let json = match idb::read_catalog(db, namespace).await {
        Ok(Some(j)) => j,
        Ok(None) => return Ok(()),
        Err(e) => {
            warn(js::message_of(&e));
            return Ok(());
        }
    };
    match serde_json::from_str::<Vec<ItemUpdate>>(&json) {
        Ok(updates) => {
            if let Err(e) = catalog.update(&updates) {
                warn(e.to_string());
            }
        }
        Err(e) => warn(e.to_string()),
    }
    Ok(())
}

/// `value` as a plain JavaScript object (maps as objects), for the result of `method`.
fn to_json<T: serde::Serialize>(method: &str, value: &T) -> Result<JsValue, JsValue> {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&ser).map_err(|e| js::error(code::INFERENCE, format!("{method}: {e}")))
}

/// Asks a filter function about one item; what it threw, if it did.
fn call_filter(f: &Function, item: &JsValue) -> Result<bool, JsValue> {
    f.call1(&JsValue::UNDEFINED, item).map(|v| v.is_truthy())
}
