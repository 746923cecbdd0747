//! The browser runtime: the JavaScript API of the npm package `localrec`, built into `pkg/` by
//! `src/web/npm/build.sh`. This module is the only code that touches `wasm-bindgen`; the logic it calls
//! is in [`crate::serve`] (tested natively).
//!
//! ```js
//! import init, { Recommender } from 'localrec';
//! await init();
//! const rec = await Recommender.load('/models/shop.lrec', { namespace: 'shop' });
//! await rec.track({ item: 'sku-42', type: 'view' });
//! const top = await rec.recommend({ k: 10, explain: true });
//! ```
//!
//! Every method returns a promise; every failure rejects it with an `Error` named
//! `LocalrecError` whose `code` says what kind of failure it is (see [`js::code`]). Input is
//! checked before anything is stored or computed, so bad input leaves the stored events as
//! they were. A panic would be a bug (the panic hook logs it to the console).

mod idb;
mod js;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use burn::tensor::Device;
use js_sys::{Array, Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use crate::bundle::Bundle;
use crate::events::{EventKind, RawEvent};
use crate::serve::{self, Catalog, Engine, Ranked, TrackedEvent};
use idb::EventStore;
use js::code;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** The backend that runs the model. */
export type Backend = 'webgpu' | 'cpu';
/** Which backend `Recommender.load` should use: `'auto'` tries WebGPU and falls back to the CPU. */
export type DeviceChoice = 'auto' | 'webgpu' | 'cpu';
/** What the shopper did. */
export type EventType = 'view' | 'cart' | 'purchase' | 'search';

/** A progress report during `Recommender.load`. */
export interface LoadProgress {
  phase: 'download' | 'parse' | 'backend' | 'model' | 'warmup' | 'ready';
  /** Bytes downloaded so far (phase `download`). */
  loaded?: number;
  /** Bytes to download, when the server says (phase `download`). */
  total?: number;
}

export interface LoadOptions {
  /** Default `'auto'`. */
  device?: DeviceChoice;
  /** Separates the stored events of different sites, models or shoppers on one origin. Default `'default'`. */
  namespace?: string;
  onProgress?: (progress: LoadProgress) => void;
}

/** An event to record. `item` is required except for searches; `ts` defaults to `Date.now()`. */
export interface TrackEvent {
  item?: string;
  type: EventType;
  /** Search text (required for `type: 'search'`). */
  query?: string;
  /** Milliseconds since the epoch. */
  ts?: number;
}

/** A recorded event, as `history()` returns it. */
export interface StoredEvent {
  item?: string;
  type: EventType;
  query?: string;
  ts: number;
  /** False when writing it to IndexedDB failed; it is kept in memory and written with the next `track()`. */
  saved: boolean;
}

/** What a filter function is given. */
export interface ItemInfo {
  item: string;
  title?: string;
  categories: string[];
}

export interface RecommendOptions {
  /** How many items, 1 to 10000. Default 10. */
  k?: number;
  /** Item ids never to recommend (ids not in the catalogue are ignored). */
  exclude?: string[];
  /** Leave out items the shopper already interacted with. Default true. */
  excludeSeen?: boolean;
  /** Keep only items the function accepts (asked in rank order, until `k` are found), or only items in one of the categories. */
  filter?: ((item: ItemInfo) => boolean) | { categories: string[] };
  /** Add `reasons` to each result. Default false. */
  explain?: boolean;
}

export interface RerankOptions {
  /** How many of the candidates to return. Default: all of them. */
  k?: number;
  explain?: boolean;
}

/** Why an item was recommended. */
export interface Reason {
  /** `similar`: close to an item in the history; `popular`: cold start; `recent`: from the history as a whole. */
  kind: 'similar' | 'popular' | 'recent';
  /** A sentence for the shopper, e.g. `Because you viewed “Green tea”`. */
  text: string;
  /** The history item (kind `similar`). */
  item?: string;
  title?: string;
  event?: EventType;
  /** Cosine similarity of the two items' embeddings (kind `similar`). */
  similarity?: number;
}

export interface Recommendation {
  item: string;
  /** The model's score (on a cold start: the item's popularity count). Higher is better. */
  score: number;
  title?: string;
  categories?: string[];
  reasons?: Reason[];
}

/** One product of the bundle's catalogue (`rec.catalog()`). */
export interface CatalogItem {
  item: string;
  title?: string;
  categories: string[];
  /** Interactions in the training data. */
  popularity: number;
}

export interface EvaluateOptions {
  /** Cut-offs of the @K metrics, 1 to 1000 each. Default [1, 5, 10, 20, 50]. */
  ks?: number[];
  /** Split of the dataset: 'loo' (default), 'temporal[:TEST[:VALID]]', 'session[...]', as on the CLI. */
  split?: string;
  /** Histories scored per pass on the device, 1 to 4096. Default 64. */
  batchSize?: number;
  /** Called with `{ phase: 'parse' | 'scoring' | 'metrics' | 'done', done, total }`. */
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

/** The evaluation report: the same JSON as `localrec eval --json`. */
export interface EvalReport {
  model: string;
  data: { name: string; users: number; items: number; interactions: number; fingerprint: string };
  split: string;
  phase: 'test' | 'valid';
  protocol: { full_ranking: boolean; history_masked: boolean; max_len: number; ks: number[]; ties: string; masked_target: string };
  cases: number;
  /** Means over the cases, keyed like `ndcg@10`, `hr@10`, `mrr@10`, `coverage@10`, `gauc`. */
  metrics: Record<string, number>;
  /** 95% bootstrap confidence intervals `[low, high]`, same keys. */
  ci95: Record<string, [number, number]>;
  /** Breakdowns by history length, user activity and time, and the drift analysis. */
  dynamic: Record<string, unknown>;
  timing: { fit_s: number; eval_s: number };
  notes: string[];
}

/** What the loaded bundle is. */
export interface BundleInfo {
  encoder: string;
  items: number;
  dataset: string;
  formatVersion: number;
  localrecVersion: string;
  created: string;
  metrics: Record<string, number>;
}
"#;

// Static constructors (cubecl registers its kernels' parts with `inventory`) are run by this
// linker-synthesised function. Unless an exported function calls it, wasm-ld treats the module
// as a "command" and wraps *every* export to run all constructors first: that cost about 60 ms
// on every call into the module (measured: `history()` 65 ms → see the benchmark page).
unsafe extern "C" {
    fn __wasm_call_ctors();
}

#[wasm_bindgen(start)]
fn start() {
    // SAFETY: called once, when the module is instantiated and before any other export runs;
    // the constructors only register static items.
    unsafe { __wasm_call_ctors() };
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("localrec: internal error (a bug, please report it): {info}").into());
    }));
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_name = fetch)]
    fn fetch_url(url: &str) -> Result<Promise, JsValue>;
}

// ---------------------------------------------------------------------------------------------
// WebGPU, initialised once per page (burn's runtime cannot be initialised twice).

#[derive(Clone)]
enum Gpu {
    Untried,
    Pending(Promise),
    Ready { device: Device, handle: burn::tensor::wgpu::wgpu::Device, adapter: String },
    Failed(String),
}

thread_local! {
    static GPU: RefCell<Gpu> = const { RefCell::new(Gpu::Untried) };
}

async fn init_gpu() -> Result<(Device, burn::tensor::wgpu::wgpu::Device, String), String> {
    let navigator = js::get(&js_sys::global(), "navigator");
    if js::absent(&js::get(&navigator, "gpu")) {
        return Err("this browser offers no WebGPU (`navigator.gpu` is missing)".into());
    }
    match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let info = setup.adapter.get_info();
            let name = if info.name.is_empty() { "unnamed adapter".to_string() } else { info.name.clone() };
            Ok((device, setup.device, format!("{name} ({:?})", info.backend)))
        }
        Err(e) => Err(format!("WebGPU could not be initialised: {e}")),
    }
}

/// The page's WebGPU device and adapter description, or why there is none.
async fn gpu() -> Result<(Device, String), String> {
    loop {
        let state = GPU.with(|g| g.borrow().clone());
        match state {
            Gpu::Ready { device, adapter, .. } => return Ok((device, adapter)),
            Gpu::Failed(why) => return Err(why),
            Gpu::Pending(p) => {
                let _ = JsFuture::from(p).await;
            }
            Gpu::Untried => {
                let p = future_to_promise(async {
                    let state = match init_gpu().await {
                        Ok((device, handle, adapter)) => Gpu::Ready { device, handle, adapter },
                        Err(why) => Gpu::Failed(why),
                    };
                    GPU.with(|g| *g.borrow_mut() = state);
                    Ok(JsValue::UNDEFINED)
                });
                GPU.with(|g| {
                    let mut g = g.borrow_mut();
                    if matches!(*g, Gpu::Untried) {
                        *g = Gpu::Pending(p.clone());
                    }
                });
                let _ = JsFuture::from(p).await;
            }
        }
    }
}

/// Marks WebGPU unusable for the rest of the page's life.
fn gpu_failed(why: &str) {
    GPU.with(|g| *g.borrow_mut() = Gpu::Failed(why.to_string()));
}

// ---------------------------------------------------------------------------------------------
// Loading

#[derive(Clone, Copy, PartialEq, Eq)]
enum Choice {
    Auto,
    WebGpu,
    Cpu,
}

struct LoadOptions {
    device: Choice,
    namespace: String,
    on_progress: Option<Function>,
}

const MAX_NAMESPACE_CHARS: usize = 200;

fn load_options(v: &JsValue) -> Result<LoadOptions, JsValue> {
    const M: &str = "Recommender.load";
    let o = js::options(M, v)?;
    let device = match js::opt_string(M, &o, "device")?.as_deref() {
        None | Some("auto") => Choice::Auto,
        Some("webgpu") => Choice::WebGpu,
        Some("cpu") => Choice::Cpu,
        Some(other) => {
            return Err(js::invalid(M, format!("`device` must be 'auto', 'webgpu' or 'cpu', got '{other}'")));
        }
    };
    let namespace = js::opt_string(M, &o, "namespace")?.unwrap_or_else(|| "default".into());
    let n = namespace.chars().count();
    if n == 0 || n > MAX_NAMESPACE_CHARS {
        return Err(js::invalid(M, format!("`namespace` must be 1 to {MAX_NAMESPACE_CHARS} characters long, got {n}")));
    }
    let p = js::get(&o, "onProgress");
    let on_progress = if js::absent(&p) {
        None
    } else {
        Some(
            p.dyn_into::<Function>()
                .map_err(|p| js::invalid(M, format!("`onProgress` must be a function, got {}", js::type_name(&p))))?,
        )
    };
    Ok(LoadOptions { device, namespace, on_progress })
}

fn progress(f: Option<&Function>, phase: &str, loaded: Option<f64>, total: Option<f64>) {
    let num = |x: Option<f64>| x.map(JsValue::from_f64).unwrap_or(JsValue::UNDEFINED);
    js::call_quietly(f, &js::object(&[("phase", phase.into()), ("loaded", num(loaded)), ("total", num(total))]));
}

/// Largest bundle accepted (the wasm32 address space is 4 GiB).
const MAX_BUNDLE_BYTES: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;

/// The bytes of an `ArrayBuffer` or typed array (a view, not a copy), or `None` for any other value.
fn buffer_view(v: &JsValue) -> Option<Uint8Array> {
    if let Some(a) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        Some(Uint8Array::new(a))
    } else if js_sys::ArrayBuffer::is_view(v) {
        let buf = js::get(v, "buffer");
        let off = js::get(v, "byteOffset").as_f64().unwrap_or(0.0) as u32;
        let len = js::get(v, "byteLength").as_f64().unwrap_or(0.0) as u32;
        Some(Uint8Array::new_with_byte_offset_and_length(&buf, off, len))
    } else {
        None
    }
}

/// The bundle's bytes: downloaded from a URL, or copied from an `ArrayBuffer` or typed array.
async fn bundle_bytes(v: &JsValue, on_progress: Option<&Function>) -> Result<Vec<u8>, JsValue> {
    const M: &str = "Recommender.load";
    if let Some(url) = v.as_string() {
        return download(&url, on_progress).await;
    }
    let Some(bytes) = buffer_view(v) else {
        return Err(js::invalid(
            M,
            format!("the bundle must be a URL string, an ArrayBuffer or a Uint8Array, got {}", js::type_name(v)),
        ));
    };
    if bytes.length() as f64 > MAX_BUNDLE_BYTES {
        return Err(js::error(code::BAD_BUNDLE, format!("{M}: the bundle is larger than 2 GiB")));
    }
    Ok(bytes.to_vec())
}

async fn download(url: &str, on_progress: Option<&Function>) -> Result<Vec<u8>, JsValue> {
    let net = |why: String| {
        js::error(code::NETWORK, format!("Recommender.load: could not download the bundle from {url}: {why}"))
    };
    let resp = JsFuture::from(fetch_url(url).map_err(|e| net(js::message_of(&e)))?)
        .await
        .map_err(|e| net(js::message_of(&e)))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| net("fetch did not return a Response".into()))?;
    if !resp.ok() {
        return Err(net(format!("HTTP {} {}", resp.status(), resp.status_text())));
    }
    let total = resp.headers().get("content-length").ok().flatten().and_then(|s| s.trim().parse::<f64>().ok());
    if total.is_some_and(|t| t > MAX_BUNDLE_BYTES) {
        return Err(js::error(code::BAD_BUNDLE, "Recommender.load: the bundle is larger than 2 GiB"));
    }
    progress(on_progress, "download", Some(0.0), total);
    let Some(body) = resp.body() else {
        let buf = JsFuture::from(resp.array_buffer().map_err(|e| net(js::message_of(&e)))?)
            .await
            .map_err(|e| net(js::message_of(&e)))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        progress(on_progress, "download", Some(bytes.len() as f64), total);
        return Ok(bytes);
    };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut out = Vec::with_capacity(total.unwrap_or(0.0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| net(js::message_of(&e)))?;
        if js::get(&chunk, "done").as_bool() == Some(true) {
            break;
        }
        let value = js::get(&chunk, "value");
        let Some(part) = value.dyn_ref::<Uint8Array>() else {
            return Err(net("the response body is not a byte stream".into()));
        };
        if (out.len() as f64) + part.length() as f64 > MAX_BUNDLE_BYTES {
            return Err(js::error(code::BAD_BUNDLE, "Recommender.load: the bundle is larger than 2 GiB"));
        }
        let start = out.len();
        out.resize(start + part.length() as usize, 0);
        part.copy_to(&mut out[start..]);
        progress(on_progress, "download", Some(out.len() as f64), total);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The recommender

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    WebGpu,
    Cpu,
}

impl Backend {
    fn as_str(self) -> &'static str {
        match self {
            Backend::WebGpu => "webgpu",
            Backend::Cpu => "cpu",
        }
    }
}

struct BackendState {
    backend: Backend,
    reason: Option<String>,
    adapter: Option<String>,
}

struct Inner {
    catalog: Catalog,
    /// The training data's fingerprint (a held-out set must match it).
    fingerprint: String,
    /// Kept while on WebGPU, to rebuild the model on the CPU if the GPU fails.
    bundle: RefCell<Option<Bundle>>,
    info: JsValue,
    engine: RefCell<Rc<Engine>>,
    state: RefCell<BackendState>,
    store: Rc<EventStore>,
    namespace: String,
}

/// A model bundle loaded for one shopper, with the shopper's events stored in IndexedDB.
///
/// Create it with `Recommender.load(bundle, options)`.
#[wasm_bindgen]
pub struct Recommender {
    inner: Rc<Inner>,
}

fn promise(fut: impl std::future::Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    future_to_promise(fut)
}

#[wasm_bindgen]
impl Recommender {
    /// Loads a model bundle (a URL, an `ArrayBuffer` or a `Uint8Array`) and opens the event
    /// store of `options.namespace`. With `device: 'auto'` (the default) the model runs on
    /// WebGPU when the browser has it, and on the CPU otherwise (`backend` and
    /// `fallbackReason` say which and why); `'webgpu'` fails when WebGPU cannot be used.
    #[wasm_bindgen(unchecked_return_type = "Promise<Recommender>")]
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "string | ArrayBuffer | Uint8Array")] bundle: JsValue,
        #[wasm_bindgen(unchecked_param_type = "LoadOptions")] options: Option<JsValue>,
    ) -> Promise {
        promise(async move {
            let opts = load_options(&options.unwrap_or(JsValue::UNDEFINED))?;
            let cb = opts.on_progress.as_ref();
            let bytes = bundle_bytes(&bundle, cb).await?;
            progress(cb, "parse", None, None);
            let bundle = Bundle::from_bytes(&bytes).map_err(|e| js::from_error("Recommender.load", &e))?;
            drop(bytes);
            let catalog =
                Catalog::from_manifest(&bundle.manifest).map_err(|e| js::from_error("Recommender.load", &e))?;
            let info = bundle_info(&bundle);
            let fingerprint = bundle.manifest.data.fingerprint.clone();

            progress(cb, "backend", None, None);
            let (engine, state) = choose_backend(&bundle, opts.device, cb).await?;
            let keep = (state.backend == Backend::WebGpu).then_some(bundle);
            let store = EventStore::open(&opts.namespace).await?;
            progress(cb, "ready", None, None);
            let inner = Inner {
                catalog,
                fingerprint,
                bundle: RefCell::new(keep),
                info,
                engine: RefCell::new(Rc::new(engine)),
                state: RefCell::new(state),
                store,
                namespace: opts.namespace,
            };
            Ok(Recommender { inner: Rc::new(inner) }.into())
        })
    }

    /// The backend that runs the model now: `'webgpu'` or `'cpu'`.
    #[wasm_bindgen(getter, unchecked_return_type = "Backend")]
    pub fn backend(&self) -> String {
        self.inner.state.borrow().backend.as_str().into()
    }

    /// Why the model runs on the CPU although WebGPU was allowed (no WebGPU, failed
    /// initialisation, device lost); `undefined` otherwise.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.inner.state.borrow().reason.clone()
    }

    /// The WebGPU adapter in use (its name and wgpu backend); `undefined` on the CPU.
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> Option<String> {
        let s = self.inner.state.borrow();
        if s.backend == Backend::WebGpu { s.adapter.clone() } else { None }
    }

    /// The namespace of the stored events.
    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.inner.namespace.clone()
    }

    /// What the loaded bundle is.
    #[wasm_bindgen(getter, unchecked_return_type = "BundleInfo")]
    pub fn info(&self) -> JsValue {
        self.inner.info.clone()
    }

    /// Every item of the catalogue, in catalogue order, with its title, categories and
    /// training popularity: what a shop needs to list, search and filter its products.
    #[wasm_bindgen(unchecked_return_type = "CatalogItem[]")]
    pub fn catalog(&self) -> Array {
        let c = &self.inner.catalog;
        let out = Array::new();
        for i in 1..=c.num_items() as u32 {
            let cats = Array::new();
            for name in c.categories(i) {
                cats.push(&name.into());
            }
            out.push(&js::object(&[
                ("item", c.id(i).into()),
                ("title", opt_str(c.title(i))),
                ("categories", cats.into()),
                ("popularity", (c.popularity(i) as f64).into()),
            ]));
        }
        out
    }

    /// Full-ranking evaluation of the model on a held-out dataset (a URL, `ArrayBuffer` or
    /// `Uint8Array` of the JSON written by `localrec data export`; it must be the data the
    /// bundle was trained on), on the backend in use: leave-one-out, every item ranked, the
    /// history masked. Resolves to the same report as `localrec eval --json`.
    #[wasm_bindgen(unchecked_return_type = "Promise<EvalReport>")]
    pub fn evaluate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | ArrayBuffer | Uint8Array")] dataset: JsValue,
        #[wasm_bindgen(unchecked_param_type = "EvaluateOptions")] options: Option<JsValue>,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.evaluate(dataset, options.unwrap_or(JsValue::UNDEFINED)).await })
    }

    /// Records one event (or an array of events, all checked before any is stored). Resolves
    /// when the events are written to IndexedDB; concurrent calls are written in one
    /// transaction.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn track(&self, #[wasm_bindgen(unchecked_param_type = "TrackEvent | TrackEvent[]")] event: JsValue) -> Promise {
        // Checked now, before the promise is created, so that events keep their call order.
        let parsed = if Array::is_array(&event) {
            let arr: &Array = event.unchecked_ref();
            if arr.length() == 0 {
                Err(js::invalid("track", "the array of events is empty"))
            } else if arr.length() > 10_000 {
                Err(js::invalid("track", format!("{} events in one call; the limit is 10000", arr.length())))
            } else {
                arr.iter()
                    .enumerate()
                    .map(|(i, e)| {
                        parse_event(&self.inner.catalog, &e).map_err(|err| {
                            js::error(
                                &js::get(&err, "code").as_string().unwrap_or_default(),
                                js::message_of(&err).replacen("track:", &format!("track: event [{i}]:"), 1),
                            )
                        })
                    })
                    .collect()
            }
        } else {
            parse_event(&self.inner.catalog, &event).map(|e| vec![e])
        };
        match parsed {
            Ok(events) => self.inner.store.track(events),
            Err(e) => Promise::reject(&e),
        }
    }

    /// The top `k` items for the shopper's history (most popular items while there is none).
    #[wasm_bindgen(unchecked_return_type = "Promise<Recommendation[]>")]
    pub fn recommend(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RecommendOptions")] options: Option<JsValue>,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.recommend(options.unwrap_or(JsValue::UNDEFINED)).await })
    }

    /// Orders `candidates` (item ids) for the shopper's history, best first. Every candidate
    /// must be in the catalogue.
    #[wasm_bindgen(unchecked_return_type = "Promise<Recommendation[]>")]
    pub fn rerank(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] candidates: JsValue,
        #[wasm_bindgen(unchecked_param_type = "RerankOptions")] options: Option<JsValue>,
    ) -> Promise {
        let inner = self.inner.clone();
        promise(async move { inner.rerank(candidates, options.unwrap_or(JsValue::UNDEFINED)).await })
    }

    /// The stored events of this namespace (from every tab), oldest first.
    #[wasm_bindgen(unchecked_return_type = "Promise<StoredEvent[]>")]
    pub fn history(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            let events = inner.store.read().await?;
            let out = Array::new();
            for s in events {
                let e = s.event;
                out.push(&js::object(&[
                    ("item", opt_str(e.item.as_deref())),
                    ("type", e.kind.as_str().into()),
                    ("query", opt_str(e.query.as_deref())),
                    ("ts", (e.ts as f64).into()),
                    ("saved", s.saved.into()),
                ]));
            }
            Ok(out.into())
        })
    }

    /// Deletes every stored event of this namespace (in every tab).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn forget(&self) -> Promise {
        let inner = self.inner.clone();
        promise(async move {
            inner.store.forget().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// For tests: destroys the WebGPU device, as a driver reset would. The next request finds
    /// the device lost and moves to the CPU. Returns false when not on WebGPU.
    #[wasm_bindgen(js_name = "_destroyGpuDevice", skip_typescript)]
    pub fn destroy_gpu_device(&self) -> bool {
        if self.inner.state.borrow().backend != Backend::WebGpu {
            return false;
        }
        GPU.with(|g| match &*g.borrow() {
            Gpu::Ready { handle, .. } => {
                handle.destroy();
                true
            }
            _ => false,
        })
    }
}

fn opt_str(s: Option<&str>) -> JsValue {
    s.map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED)
}

fn bundle_info(b: &Bundle) -> JsValue {
    let m = &b.manifest;
    let metrics = js_sys::Object::new();
    for (k, v) in &m.metrics {
        let _ = js_sys::Reflect::set(&metrics, &k.as_str().into(), &(*v).into());
    }
    js::object(&[
        ("encoder", m.encoder.kind.as_str().into()),
        ("items", (m.num_items() as f64).into()),
        ("dataset", m.data.name.as_str().into()),
        ("formatVersion", (m.format_version as f64).into()),
        ("localrecVersion", m.localrec_version.as_str().into()),
        ("created", m.created.as_str().into()),
        ("metrics", metrics.into()),
    ])
}

/// Builds the model on the backend the options ask for, with one warm-up pass.
async fn choose_backend(
    bundle: &Bundle,
    choice: Choice,
    cb: Option<&Function>,
) -> Result<(Engine, BackendState), JsValue> {
    const M: &str = "Recommender.load";
    let bad = |e: &crate::Error| js::from_error(M, e);
    let mut reason = None;
    if choice != Choice::Cpu {
        let gpu_try = async {
            let (device, adapter) = gpu().await?;
            progress(cb, "model", None, None);
            let engine = match Engine::new(bundle, &device) {
                Ok(e) => e.with_fixed_shape(),
                // A bundle that does not fit its own config is the bundle's fault, not the GPU's.
                Err(e @ crate::Error::Bundle { .. }) => return Ok(Err(bad(&e))),
                Err(e) => return Err(format!("the model could not be built on WebGPU: {e}")),
            };
            progress(cb, "warmup", None, None);
            engine.warm_up().await.map_err(|e| format!("the WebGPU warm-up failed: {e}"))?;
            Ok(Ok((engine, adapter)))
        };
        match gpu_try.await {
            Ok(Ok((engine, adapter))) => {
                let state = BackendState { backend: Backend::WebGpu, reason: None, adapter: Some(adapter) };
                return Ok((engine, state));
            }
            Ok(Err(bundle_error)) => return Err(bundle_error),
            Err(why) if choice == Choice::WebGpu => {
                return Err(js::error(
                    code::WEBGPU_UNAVAILABLE,
                    format!("{M}: device 'webgpu' was asked for, but {why}"),
                ));
            }
            Err(why) => reason = Some(why),
        }
    }
    progress(cb, "model", None, None);
    let engine = Engine::new(bundle, &Device::flex()).map_err(|e| bad(&e))?;
    progress(cb, "warmup", None, None);
    engine.warm_up().await.map_err(|e| js::error(code::INFERENCE, format!("{M}: the model failed on the CPU: {e}")))?;
    Ok((engine, BackendState { backend: Backend::Cpu, reason, adapter: None }))
}

fn parse_event(catalog: &Catalog, v: &JsValue) -> Result<TrackedEvent, JsValue> {
    const M: &str = "track";
    if !js::is_object(v) {
        return Err(js::invalid(
            M,
            format!("an event must be an object like {{ item: 'sku-1', type: 'view' }}, got {}", js::type_name(v)),
        ));
    }
    let item = js::opt_string(M, v, "item")?;
    let kind = js::opt_string(M, v, "type")?;
    let Some(kind) = kind else {
        return Err(js::invalid(M, "the event has no `type` (one of 'view', 'cart', 'purchase', 'search')"));
    };
    let query = js::opt_string(M, v, "query")?;
    let ts = js::opt_number(M, v, "ts", "a number of milliseconds since the epoch")?.unwrap_or_else(js_sys::Date::now);
    let raw = RawEvent { user: None, item, kind: Some(kind), ts: Some(ts), query, value: None };
    TrackedEvent::from_raw(raw, catalog).map_err(|e| js::from_error(M, &e))
}

enum Filter {
    None,
    Function(Function),
    Categories(HashSet<u32>),
}

fn parse_filter(catalog: &Catalog, v: &JsValue) -> Result<Filter, JsValue> {
    const M: &str = "recommend";
    if js::absent(v) {
        return Ok(Filter::None);
    }
    if let Some(f) = v.dyn_ref::<Function>() {
        return Ok(Filter::Function(f.clone()));
    }
    if !js::is_object(v) {
        return Err(js::invalid(
            M,
            format!("`filter` must be a function or an object like {{ categories: [...] }}, got {}", js::type_name(v)),
        ));
    }
    let names = js::string_list(M, &js::get(v, "categories"), "`filter.categories`", 100_000)?;
    let mut cats = HashSet::new();
    for n in names {
        match catalog.category(&n) {
            Some(c) => {
                cats.insert(c);
            }
            None => return Err(js::invalid(M, format!("unknown category `{n}` in `filter.categories`"))),
        }
    }
    Ok(Filter::Categories(cats))
}

fn verb(kind: EventKind) -> &'static str {
    match kind {
        EventKind::View => "viewed",
        EventKind::Cart => "added to your cart",
        EventKind::Purchase => "bought",
        _ => "interacted with",
    }
}

/// Resolves after the browser had a chance to render (a macrotask later), so that a long
/// computation can show its progress.
async fn next_tick() {
    let p = Promise::new(&mut |resolve, _| {
        let set_timeout = js::get(&js_sys::global(), "setTimeout");
        if let Some(f) = set_timeout.dyn_ref::<Function>() {
            if f.call2(&JsValue::UNDEFINED, &resolve, &JsValue::from_f64(0.0)).is_ok() {
                return;
            }
        }
        let _ = resolve.call0(&JsValue::UNDEFINED);
    });
    let _ = JsFuture::from(p).await;
}

/// Largest held-out dataset file accepted.
const MAX_DATASET_BYTES: f64 = 1024.0 * 1024.0 * 1024.0;

/// The bytes of a held-out dataset: downloaded from a URL, or copied from an `ArrayBuffer` or
/// typed array.
async fn dataset_bytes(v: &JsValue) -> Result<Vec<u8>, JsValue> {
    const M: &str = "evaluate";
    if let Some(url) = v.as_string() {
        let net =
            |why: String| js::error(code::NETWORK, format!("{M}: could not download the dataset from {url}: {why}"));
        let resp = JsFuture::from(fetch_url(&url).map_err(|e| net(js::message_of(&e)))?)
            .await
            .map_err(|e| net(js::message_of(&e)))?;
        let resp: web_sys::Response = resp.dyn_into().map_err(|_| net("fetch did not return a Response".into()))?;
        if !resp.ok() {
            return Err(net(format!("HTTP {} {}", resp.status(), resp.status_text())));
        }
        let buf = JsFuture::from(resp.array_buffer().map_err(|e| net(js::message_of(&e)))?)
            .await
            .map_err(|e| net(js::message_of(&e)))?;
        return Ok(Uint8Array::new(&buf).to_vec());
    }
    let Some(bytes) = buffer_view(v) else {
        return Err(js::invalid(
            M,
            format!("the dataset must be a URL string, an ArrayBuffer or a Uint8Array, got {}", js::type_name(v)),
        ));
    };
    if bytes.length() as f64 > MAX_DATASET_BYTES {
        return Err(js::error(code::BAD_DATASET, format!("{M}: the dataset is larger than 1 GiB")));
    }
    Ok(bytes.to_vec())
}

impl Inner {
    async fn evaluate(&self, dataset: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
        use crate::data::{Dataset, Phase, Split, SplitSpec};
        use crate::eval::{EvalConfig, report::EvalReport};
        const M: &str = "evaluate";
        let o = js::options(M, &options)?;
        let ks_v = js::get(&o, "ks");
        let ks = if js::absent(&ks_v) {
            EvalConfig::default().ks
        } else {
            if !Array::is_array(&ks_v) {
                return Err(js::invalid(M, format!("`ks` must be an array of integers, got {}", js::type_name(&ks_v))));
            }
            let a: &Array = ks_v.unchecked_ref();
            if a.length() == 0 || a.length() > 20 {
                return Err(js::invalid(M, format!("`ks` must have 1 to 20 cut-offs, got {}", a.length())));
            }
            let mut ks = Vec::new();
            for (i, k) in a.iter().enumerate() {
                match k.as_f64() {
                    Some(x) if x.fract() == 0.0 && (1.0..=1000.0).contains(&x) => ks.push(x as usize),
                    _ => {
                        return Err(js::invalid(
                            M,
                            format!("`ks[{i}]` must be an integer from 1 to 1000, got {}", js::type_name(&k)),
                        ));
                    }
                }
            }
            ks
        };
        let batch = js::opt_int(M, &o, "batchSize", 1, 4096)?.unwrap_or(64);
        let split_spec: SplitSpec = match js::opt_string(M, &o, "split")? {
            None => SplitSpec::LeaveOneOut,
            Some(s) => s.parse().map_err(|e: crate::Error| js::invalid(M, format!("`split`: {e}")))?,
        };
        let p = js::get(&o, "onProgress");
        let on_progress =
            if js::absent(&p) {
                None
            } else {
                Some(p.dyn_into::<Function>().map_err(|p| {
                    js::invalid(M, format!("`onProgress` must be a function, got {}", js::type_name(&p)))
                })?)
            };
        let report_progress = |phase: &str, done: usize, total: usize| {
            js::call_quietly(
                on_progress.as_ref(),
                &js::object(&[
                    ("phase", phase.into()),
                    ("done", (done as f64).into()),
                    ("total", (total as f64).into()),
                ]),
            );
        };

        let bytes = dataset_bytes(&dataset).await?;
        report_progress("parse", 0, 0);
        let bad = |why: String| js::error(code::BAD_DATASET, format!("{M}: {why}"));
        let ds = Dataset::from_json(&bytes).map_err(|e| bad(e.to_string()))?;
        drop(bytes);
        let fp = ds.fingerprint();
        if fp != self.fingerprint {
            return Err(bad(format!(
                "the dataset `{}` (fingerprint {fp}) is not the one the model was trained on (fingerprint {})",
                ds.name, self.fingerprint
            )));
        }
        let c = &self.catalog;
        if ds.num_items() != c.num_items() || (1..=c.num_items() as u32).any(|i| ds.items.id(i) != Some(c.id(i))) {
            return Err(bad("the dataset's items are not the bundle's catalogue, in the same order".into()));
        }
        let split = Split::new(ds, split_spec).map_err(|e| bad(e.to_string()))?;
        let cfg = EvalConfig { ks, ..EvalConfig::default() };
        let name = js::get(&self.info, "encoder").as_string().unwrap_or_else(|| "model".into());

        let t0 = js_sys::Date::now();
        let mut retried = false;
        let run = loop {
            let engine = self.engine();
            let mut ev =
                serve::Evaluation::new(&engine, &split, Phase::Test, cfg.clone()).map_err(|e| js::from_error(M, &e))?;
            let mut failed = None;
            while !ev.done() {
                if let Err(e) = ev.score_next(&engine, batch).await {
                    failed = Some(e);
                    break;
                }
                let (done, total) = ev.progress();
                report_progress("scoring", done, total);
                next_tick().await;
            }
            match failed {
                None => break ev.finish(&name).map_err(|e| js::from_error(M, &e))?,
                Some(e) if !retried && self.state.borrow().backend == Backend::WebGpu => {
                    self.fall_back(format!("the WebGPU device failed while evaluating: {e}"))?;
                    retried = true;
                }
                Some(e) => return Err(js::error(code::INFERENCE, format!("{M}: the model failed: {e}"))),
            }
        };
        report_progress("metrics", 0, 0);
        next_tick().await;
        let mut run = run;
        run.seconds = (js_sys::Date::now() - t0) / 1000.0;
        let report = EvalReport::build(&run, &split, Phase::Test, &cfg, 0.0);
        let out = js_sys::JSON::parse(&report.to_json()).map_err(|e| {
            js::error(code::INFERENCE, format!("{M}: could not convert the report: {}", js::message_of(&e)))
        })?;
        report_progress("done", run.cases.len(), run.cases.len());
        Ok(out)
    }

    fn engine(&self) -> Rc<Engine> {
        self.engine.borrow().clone()
    }

    /// After a WebGPU failure: rebuild the model on the CPU and stay there.
    fn fall_back(&self, why: String) -> Result<(), JsValue> {
        if self.state.borrow().backend == Backend::Cpu {
            return Ok(()); // another request already did
        }
        let bundle = self.bundle.borrow_mut().take();
        let Some(bundle) = bundle else {
            return Err(js::error(
                code::INFERENCE,
                format!("the WebGPU device failed ({why}) and the model cannot be rebuilt"),
            ));
        };
        let cpu = Engine::new(&bundle, &Device::flex()).map_err(|e| js::from_error("recommend", &e))?;
        web_sys::console::warn_1(&format!("localrec: moved to the CPU backend: {why}").into());
        gpu_failed(&why);
        *self.engine.borrow_mut() = Rc::new(cpu);
        *self.state.borrow_mut() = BackendState { backend: Backend::Cpu, reason: Some(why), adapter: None };
        Ok(())
    }

    async fn scores(&self, history: &[u32]) -> Result<Vec<f32>, JsValue> {
        match self.engine().scores(history).await {
            Ok(s) => Ok(s),
            Err(e) if self.state.borrow().backend == Backend::WebGpu => {
                self.fall_back(format!("the WebGPU device failed while scoring: {e}"))?;
                self.engine()
                    .scores(history)
                    .await
                    .map_err(|e| js::error(code::INFERENCE, format!("the model failed: {e}")))
            }
            Err(e) => Err(js::error(code::INFERENCE, format!("the model failed: {e}"))),
        }
    }

    async fn rows(&self, idx: &[u32]) -> Result<Vec<f32>, JsValue> {
        match self.engine().rows(idx).await {
            Ok(s) => Ok(s),
            Err(e) if self.state.borrow().backend == Backend::WebGpu => {
                self.fall_back(format!("the WebGPU device failed while reading embeddings: {e}"))?;
                self.engine().rows(idx).await.map_err(|e| js::error(code::INFERENCE, format!("the model failed: {e}")))
            }
            Err(e) => Err(js::error(code::INFERENCE, format!("the model failed: {e}"))),
        }
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

    async fn recommend(&self, options: JsValue) -> Result<JsValue, JsValue> {
        const M: &str = "recommend";
        let o = js::options(M, &options)?;
        let k = js::opt_int(M, &o, "k", 1, serve::MAX_K)?.unwrap_or(10);
        let exclude_v = js::get(&o, "exclude");
        let exclude =
            if js::absent(&exclude_v) { Vec::new() } else { js::string_list(M, &exclude_v, "`exclude`", 1_000_000)? };
        let exclude_seen = js::opt_bool(M, &o, "excludeSeen")?.unwrap_or(true);
        let explain = js::opt_bool(M, &o, "explain")?.unwrap_or(false);
        let filter = parse_filter(&self.catalog, &js::get(&o, "filter"))?;

        let (hist, scores) = self.scored().await?;
        let mut blocked: HashSet<u32> = exclude.iter().filter_map(|id| self.catalog.get(id)).collect();
        if exclude_seen {
            blocked.extend(hist.iter().map(|h| h.0));
        }
        let cats = match &filter {
            Filter::Categories(c) => Some(c),
            _ => None,
        };
        let is_blocked = |i: u32| blocked.contains(&i) || cats.is_some_and(|c| !self.catalog.in_categories(i, c));
        let thrown: RefCell<Option<JsValue>> = RefCell::new(None);
        let keep = |i: u32| -> crate::Result<bool> {
            let Filter::Function(f) = &filter else { return Ok(true) };
            match f.call1(&JsValue::UNDEFINED, &self.item_info(i)) {
                Ok(v) => Ok(v.is_truthy()),
                Err(e) => {
                    *thrown.borrow_mut() = Some(e);
                    Err(crate::Error::Data("the filter function threw".into()))
                }
            }
        };
        let ranked = match serve::top_k(&scores, k, &is_blocked, keep) {
            Ok(r) => r,
            Err(e) => {
                return Err(match thrown.take() {
                    Some(t) => js::error(
                        code::INVALID_INPUT,
                        format!("{M}: the filter function threw: {}", js::message_of(&t)),
                    ),
                    None => js::from_error(M, &e),
                });
            }
        };
        self.results(&ranked, &hist, explain).await
    }

    async fn rerank(&self, candidates: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
        const M: &str = "rerank";
        let ids = js::string_list(M, &candidates, "the candidates", 1_000_000)?;
        let o = js::options(M, &options)?;
        let k = js::opt_int(M, &o, "k", 1, 1_000_000)?.unwrap_or(ids.len());
        let explain = js::opt_bool(M, &o, "explain")?.unwrap_or(false);
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
        let ranked = serve::rerank(&scores, &idx, k);
        self.results(&ranked, &hist, explain).await
    }

    fn item_info(&self, i: u32) -> JsValue {
        let cats = Array::new();
        for c in self.catalog.categories(i) {
            cats.push(&c.into());
        }
        js::object(&[
            ("item", self.catalog.id(i).into()),
            ("title", opt_str(self.catalog.title(i))),
            ("categories", cats.into()),
        ])
    }

    /// The result objects, with reasons when asked.
    async fn results(&self, ranked: &[Ranked], hist: &[(u32, EventKind)], explain: bool) -> Result<JsValue, JsValue> {
        let reasons = if !explain {
            None
        } else if hist.is_empty() {
            Some(vec![Vec::new(); ranked.len()])
        } else {
            let engine = self.engine();
            let recent = serve::distinct_recent(hist, engine.max_len());
            let mut idx: Vec<u32> = ranked.iter().map(|r| r.index).collect();
            idx.extend(recent.iter().map(|h| h.0));
            let rows = self.rows(&idx).await?;
            let d = self.engine().d_model();
            let (rec_rows, hist_rows) = rows.split_at((ranked.len() * d).min(rows.len()));
            Some(serve::explain(rec_rows, &recent, hist_rows, d))
        };
        let out = Array::new();
        for (n, r) in ranked.iter().enumerate() {
            let cats = Array::new();
            for c in self.catalog.categories(r.index) {
                cats.push(&c.into());
            }
            let reasons_js = match &reasons {
                None => JsValue::UNDEFINED,
                Some(all) => {
                    let list = Array::new();
                    let mine = all.get(n).map(Vec::as_slice).unwrap_or(&[]);
                    if hist.is_empty() {
                        list.push(&js::object(&[
                            ("kind", "popular".into()),
                            ("text", "Popular with other shoppers".into()),
                        ]));
                    } else if mine.is_empty() {
                        list.push(&js::object(&[
                            ("kind", "recent".into()),
                            ("text", "Based on your recent activity".into()),
                        ]));
                    }
                    for why in mine {
                        let title = self.catalog.title(why.item);
                        let name = title.unwrap_or(self.catalog.id(why.item));
                        list.push(&js::object(&[
                            ("kind", "similar".into()),
                            ("text", format!("Because you {} “{name}”", verb(why.kind)).into()),
                            ("item", self.catalog.id(why.item).into()),
                            ("title", opt_str(title)),
                            ("event", why.kind.as_str().into()),
                            ("similarity", (why.similarity as f64).into()),
                        ]));
                    }
                    list.into()
                }
            };
            out.push(&js::object(&[
                ("item", self.catalog.id(r.index).into()),
                ("score", (r.score as f64).into()),
                ("title", opt_str(self.catalog.title(r.index))),
                ("categories", if cats.length() > 0 { cats.into() } else { JsValue::UNDEFINED }),
                ("reasons", reasons_js),
            ]));
        }
        Ok(out.into())
    }
}
