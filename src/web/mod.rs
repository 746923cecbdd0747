//! The browser runtime: the JavaScript API of the npm package `localrec`, built into `pkg/` by
//! `src/web/npm/build.sh`. This module and the ones below it are the only code that touches
//! `wasm-bindgen`; the logic they call is in [`crate::serve`] (tested natively).
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
//!
//! This file is the API's face: the exported class, each method delegating. Below it:
//!
//! | module | what |
//! |---|---|
//! | `session` | one loaded recommender: `load`, `recommend`, `rerank`, `history`, `updateCatalog` |
//! | `evaluate` | the evaluation drivers: the loaded model's, and a baseline's (`evaluateBaseline`) |
//! | `device` | WebGPU or CPU, and the one GPU → CPU fallback every GPU call goes through |
//! | `gpu` | the page's WebGPU device (only in the WebGPU build, crate feature `webgpu`) |
//! | `download` | the bytes of a bundle or dataset, from a URL or a buffer |
//! | `bundle_cache` | downloaded bundles kept in the Cache API: revalidated, reused offline, never served corrupt |
//! | `options` | the options objects (typed, read with `serde-wasm-bindgen`) and the events |
//! | `convert` | the objects sent back to JavaScript |
//! | `js` | errors and checks of JavaScript values |
//! | `store` | the shopper's events: in memory, kept in IndexedDB (or not), shared across tabs |
//! | `idb` | IndexedDB: the stored events and catalogue changes |
//!
//! The TypeScript declarations of all of it are `src/web/npm/types.d.ts`; the build checks them
//! against the class's methods (`src/web/npm/check-types.mjs`).

mod bundle_cache;
mod convert;
mod device;
mod download;
mod evaluate;
mod gpu;
mod idb;
mod js;
mod options;
mod session;
mod store;

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use device::Backend;
use session::Session;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("npm/types.d.ts");

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

/// A model bundle loaded for one shopper, with the shopper's events stored in IndexedDB.
///
/// Create it with `Recommender.load(bundle, options)`.
// Declared for TypeScript in src/web/npm/types.d.ts (checked by the build), not generated.
#[wasm_bindgen(skip_typescript)]
pub struct Recommender {
    inner: Rc<Session>,
}

#[wasm_bindgen]
impl Recommender {
    /// Loads a model bundle (a URL, an `ArrayBuffer` or a `Uint8Array`) and opens the event
    /// store of `options.namespace`. With `device: 'auto'` (the default) the model runs on
    /// WebGPU when the browser has it, and on the CPU otherwise (`backend` and
    /// `fallbackReason` say which and why); `'webgpu'` fails when WebGPU cannot be used.
    pub fn load(bundle: JsValue, options: Option<JsValue>) -> Promise {
        future_to_promise(async move {
            let inner = Session::load(bundle, options).await?;
            Ok(Recommender { inner: Rc::new(inner) }.into())
        })
    }

    /// The backend that runs the model now: `'webgpu'` or `'cpu'`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.inner.runtime.backend().as_str().into()
    }

    /// Why the model runs on the CPU although WebGPU was allowed (no WebGPU, failed
    /// initialisation, device lost); `undefined` otherwise.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.inner.runtime.fallback_reason()
    }

    /// The WebGPU adapter in use (its name and wgpu backend); `undefined` on the CPU.
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> Option<String> {
        self.inner.runtime.adapter()
    }

    /// The namespace of the stored events.
    #[wasm_bindgen(getter)]
    pub fn namespace(&self) -> String {
        self.inner.namespace.clone()
    }

    /// What the loaded bundle is.
    #[wasm_bindgen(getter)]
    pub fn info(&self) -> JsValue {
        self.inner.info.clone()
    }

    /// Every item of the catalogue, in catalogue order (the bundle's, then those added with
    /// `updateCatalog`), with its title, categories, training popularity and availability:
    /// what a shop needs to list, search and filter its products. A promise, like every
    /// method, so that the same API serves a model running in a Web Worker.
    pub fn catalog(&self) -> Promise {
        Promise::resolve(&JsValue::from(convert::catalog(&self.inner.catalog.borrow())))
    }

    /// Adds products and changes titles, categories or availability:
    /// `[{ item, title?, categories?, available? }]`, all checked before any is applied.
    /// Products the model was not trained on are placed by their categories or the popularity
    /// prior; unavailable products are never recommended. The changes are kept with the
    /// events (IndexedDB, unless storage is `'memory'`). Resolves to `{ added, updated }`.
    #[wasm_bindgen(js_name = updateCatalog)]
    pub fn update_catalog(&self, items: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.update_catalog(items).await })
    }

    /// The model's name in the online metrics: the variant this device was assigned in an
    /// experiment, the `variant` option, or the bundle's encoder.
    #[wasm_bindgen(getter)]
    pub fn variant(&self) -> String {
        self.inner.variant.clone()
    }

    /// The online metrics of the lists this device showed (`recommend()`, `rerank()`) and what
    /// the shopper did after them: per variant and UTC day, impression sets, clicks, carts,
    /// purchases, hit rate of the next event, MRR of the clicked slot, coverage, with their
    /// counts. Options: `since` (ms), `windowMinutes` (attribution window, default 30).
    pub fn stats(&self, options: Option<JsValue>) -> Promise {
        match self.inner.stats(options) {
            Ok(v) => Promise::resolve(&v),
            Err(e) => Promise::reject(&e),
        }
    }

    /// A private report of this device's online metrics under its variant, for a shop that
    /// chooses to collect them: `{ mechanism, version, variant, epsilon, bits: { exposed,
    /// clicked, carted, purchased, hit } }`, each bit randomized (randomized response, ε split
    /// over the five bits; one report changes the odds of anything about the shopper by at
    /// most e^ε). The library sends nothing: the page decides. `localrec ab-estimate` turns
    /// many reports into rates with confidence intervals. Options: `epsilon` (required),
    /// `since` (ms).
    pub fn report(&self, options: Option<JsValue>) -> Promise {
        match self.inner.report(options) {
            Ok(v) => Promise::resolve(&v),
            Err(e) => Promise::reject(&e),
        }
    }

    /// Where the events are kept: `'indexeddb'` or `'memory'`.
    #[wasm_bindgen(getter)]
    pub fn storage(&self) -> String {
        self.inner.store.storage().as_str().into()
    }

    /// Switches where the events are kept, keeping the session: `'memory'` deletes what
    /// IndexedDB held of this namespace (events and catalogue changes) and keeps them in memory
    /// only; `'indexeddb'` writes the session's events (and catalogue changes) there.
    #[wasm_bindgen(js_name = setStorage)]
    pub fn set_storage(&self, mode: JsValue) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.set_storage(mode).await })
    }

    /// Full-ranking evaluation of the model on a held-out dataset (a URL, `ArrayBuffer` or
    /// `Uint8Array` of the JSON written by `localrec data export`; it must be the data the
    /// bundle was trained on), on the backend in use: leave-one-out, every item ranked, the
    /// history masked. Resolves to the same report as `localrec eval --json`.
    pub fn evaluate(&self, dataset: JsValue, options: Option<JsValue>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.evaluate(dataset, options).await })
    }

    /// Full-ranking evaluation of a baseline — `'pop'`, `'markov'` or `'itemknn'` — on a
    /// held-out dataset (a URL, `ArrayBuffer` or `Uint8Array` of the JSON written by
    /// `localrec data export`), with no bundle: the baseline is fitted here on the split's
    /// training data for the test phase and evaluated by the same code as
    /// `localrec eval --model NAME`, whose report it resolves to.
    #[wasm_bindgen(js_name = evaluateBaseline)]
    pub fn evaluate_baseline(name: JsValue, dataset: JsValue, options: Option<JsValue>) -> Promise {
        future_to_promise(async move { evaluate::baseline(name, dataset, options).await })
    }

    /// Records one event (or an array of events, all checked before any is stored). Any
    /// well-formed item id is kept, known to the model or not. The events count at once for
    /// `recommend()`; the promise resolves when they are written to IndexedDB (concurrent calls
    /// are written in one transaction), or at once with storage `'memory'`. An event is
    /// `{ item, type, query?, ts? }`, or a GA4 or Segment e-commerce event (`{ event:
    /// 'add_to_cart', ecommerce: { items: [...] } }`, gtag's `['event', name, params]`,
    /// `{ event: 'Product Added', properties: { product_id } }`): one event per product it names
    /// (`view_item_list` stores none; `remove_from_cart` is stored as a `view`).
    pub fn track(&self, event: JsValue) -> Promise {
        // Checked now, before the promise is created, so that events keep their call order.
        match options::events(&event) {
            Ok(events) => self.inner.store.track(events),
            Err(e) => Promise::reject(&e),
        }
    }

    /// The top `k` items for the shopper's history (most popular items while there is none).
    pub fn recommend(&self, options: Option<JsValue>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.recommend(options).await })
    }

    /// Orders `candidates` (item ids) for the shopper's history, best first. Candidates the
    /// model does not know are placed by their categories or the popularity prior.
    pub fn rerank(&self, candidates: JsValue, options: Option<JsValue>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move { inner.rerank(candidates, options).await })
    }

    /// The events of this namespace (from every tab), oldest first.
    pub fn history(&self) -> Promise {
        Promise::resolve(&self.inner.history())
    }

    /// Deletes every event of this namespace (in memory, in IndexedDB and in every tab).
    pub fn forget(&self) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            inner.store.forget().await?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// For tests: destroys the WebGPU device, as a driver reset would. The next request finds
    /// the device lost and moves to the CPU. Returns false when not on WebGPU.
    #[wasm_bindgen(js_name = "_destroyGpuDevice")]
    pub fn destroy_gpu_device(&self) -> bool {
        self.inner.runtime.backend() == Backend::WebGpu && gpu::destroy_gpu()
    }
}
