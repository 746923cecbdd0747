//! What JavaScript passes in: the options objects of the `Recommender` methods, as typed
//! structs read with `serde-wasm-bindgen` ([`read`]), and the events of `track()` ([`events`]):
//! localrec's own, or the GA4 and Segment e-commerce events ([`serve::analytics`]).
//!
//! Every field has a reader (`deserialize_with`) that takes the field's JavaScript value as it
//! is and checks it with the [`js`] checkers, so a bad value is rejected with the same clear
//! message whatever its type (`` `k` must be an integer from 1 to 10000, got a string ``).
//! Fields are read in the order they are declared, so the first bad one is reported. Fields
//! that are absent, `undefined` or `null` take their defaults; unknown fields are ignored.

use std::collections::HashSet;

use js_sys::{Array, Function};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error as _};
use wasm_bindgen::{JsCast, JsValue};

use super::device::DeviceChoice;
use super::js;
use super::store::Storage;
use crate::data::SplitSpec;
use crate::events::RawEvent;
use crate::serve::{self, Catalog, ExcludeRules, ItemUpdate, Retention, TrackedEvent, analytics};

/// Reads the options object of `method`: `undefined` or `null` is `{}`, anything else but an
/// object is an error.
pub fn read<T: DeserializeOwned>(method: &str, options: Option<JsValue>) -> Result<T, JsValue> {
    let o = js::options(method, &options.unwrap_or(JsValue::UNDEFINED))?;
    serde_wasm_bindgen::from_value(o).map_err(|e| js::invalid(method, js::message_of(&e.into())))
}

/// The options of `Recommender.load` (the TypeScript type `LoadOptions`).
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RecommenderOptions {
    /// Which backend to use (default `'auto'`).
    #[serde(deserialize_with = "device")]
    pub device: DeviceChoice,
    /// The namespace of the stored events, 1 to [`MAX_NAMESPACE_CHARS`] characters (default
    /// [`DEFAULT_NAMESPACE`]).
    #[serde(deserialize_with = "namespace")]
    pub namespace: Option<String>,
    /// Called with `{ phase, loaded?, total? }`.
    #[serde(deserialize_with = "on_progress")]
    pub on_progress: Option<Function>,
    /// `'indexeddb'` (default) or `'memory'` (nothing written to the device).
    #[serde(deserialize_with = "storage")]
    pub storage: Storage,
    /// Most events kept, 1 to 10,000,000 (default [`Retention::DEFAULT_MAX_EVENTS`]).
    #[serde(deserialize_with = "max_events")]
    pub max_events: Option<usize>,
    /// Oldest event kept, in days, more than 0, `Infinity` for no limit (default
    /// [`Retention::DEFAULT_MAX_AGE_DAYS`]).
    #[serde(deserialize_with = "max_age_days")]
    pub max_age_days: Option<f64>,
    /// The name of the model in the online metrics (default: the bundle's encoder, or the
    /// variant's name in an experiment).
    #[serde(deserialize_with = "variant")]
    pub variant: Option<String>,
    /// The experiment's name, which seeds the assignment of variants (default: the namespace).
    #[serde(deserialize_with = "experiment")]
    pub experiment: Option<String>,
    /// Keep a downloaded bundle in the Cache API and reuse it (default true).
    #[serde(deserialize_with = "cache")]
    pub cache: Option<bool>,
}

fn cache<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    field(d, |v| js::opt_bool("cache", v))
}

impl RecommenderOptions {
    /// The retention policy the options ask for.
    pub fn retention(&self) -> Retention {
        let d = Retention::default();
        Retention {
            max_events: self.max_events.unwrap_or(d.max_events),
            max_age_days: self.max_age_days.unwrap_or(d.max_age_days),
        }
    }
}

/// The namespace of `Recommender.load` when the options name none.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The longest namespace.
pub const MAX_NAMESPACE_CHARS: usize = 200;

/// The options of `recommend()`.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RecommendOptions {
    /// How many items, 1 to [`serve::MAX_K`] (default 10).
    #[serde(deserialize_with = "recommend_k")]
    pub k: Option<usize>,
    /// Item ids never to recommend.
    #[serde(deserialize_with = "exclude")]
    pub exclude: Vec<String>,
    /// What to leave out of the shopper's own history: `true` (and when absent: purchases and
    /// the newest 20 items), `false` (nothing), or `{ purchased?, recent? }`.
    #[serde(deserialize_with = "exclude_seen")]
    pub exclude_seen: ExcludeRules,
    /// Add reasons to the results (default false).
    #[serde(deserialize_with = "explain")]
    pub explain: Option<bool>,
    /// Which items may be recommended.
    #[serde(deserialize_with = "filter")]
    pub filter: Filter,
    /// Keep the list as an impression for the online metrics (default true); `false` for a
    /// list that is not shown as it is (prefetched, or filtered further by the page).
    #[serde(deserialize_with = "record")]
    pub record: Option<bool>,
}

/// The `filter` of `recommend()`.
#[derive(Default)]
pub enum Filter {
    /// Every item.
    #[default]
    None,
    /// The items the function accepts (asked in rank order).
    Function(Function),
    /// The items in one of these categories (names, checked against the catalogue by
    /// [`Filter::categories`]).
    Categories(Vec<String>),
}

impl Filter {
    /// The category indices of a [`Filter::Categories`] (`None` for the other filters), or an
    /// error naming the first category the catalogue does not have.
    pub fn categories(&self, method: &str, catalog: &Catalog) -> Result<Option<HashSet<u32>>, JsValue> {
        let Filter::Categories(names) = self else { return Ok(None) };
        let mut cats = HashSet::new();
        for n in names {
            match catalog.category(n) {
                Some(c) => cats.insert(c),
                None => return Err(js::invalid(method, format!("unknown category `{n}` in `filter.categories`"))),
            };
        }
        Ok(Some(cats))
    }
}

/// The options of `rerank()`.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RerankOptions {
    /// How many of the candidates to return (default: all).
    #[serde(deserialize_with = "rerank_k")]
    pub k: Option<usize>,
    /// Add reasons to the results (default false).
    #[serde(deserialize_with = "explain")]
    pub explain: Option<bool>,
}

/// The options of `evaluate()`.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EvaluateOptions {
    /// The cut-offs of the @K metrics, 1 to 20 of them, each 1 to 1000 (default: the CLI's).
    #[serde(deserialize_with = "ks")]
    pub ks: Option<Vec<usize>>,
    /// Histories scored per pass on the device, 1 to 4096 (default 64).
    #[serde(deserialize_with = "batch_size")]
    pub batch_size: Option<usize>,
    /// The split of the dataset, as on the command line (default leave-one-out).
    #[serde(deserialize_with = "split")]
    pub split: Option<SplitSpec>,
    /// Called with `{ phase, done, total }`.
    #[serde(deserialize_with = "on_progress")]
    pub on_progress: Option<Function>,
}

/// The options of `Recommender.evaluateBaseline()` (the TypeScript type
/// `BaselineEvaluateOptions`): those of `evaluate()` but the batch size.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BaselineOptions {
    /// The cut-offs of the @K metrics, 1 to 20 of them, each 1 to 1000 (default: the CLI's).
    #[serde(deserialize_with = "ks")]
    pub ks: Option<Vec<usize>>,
    /// The split of the dataset, as on the command line (default leave-one-out).
    #[serde(deserialize_with = "split")]
    pub split: Option<SplitSpec>,
    /// Called with `{ phase, done, total }`.
    #[serde(deserialize_with = "on_progress")]
    pub on_progress: Option<Function>,
}

// The field readers. Each one gets the field's JavaScript value as it is.

/// Checks the JavaScript value of a field with `check` (an error is its message).
fn field<'de, D: Deserializer<'de>, T>(d: D, check: impl FnOnce(&JsValue) -> Result<T, String>) -> Result<T, D::Error> {
    let v: JsValue = serde_wasm_bindgen::preserve::deserialize(d)?;
    check(&v).map_err(D::Error::custom)
}

fn device<'de, D: Deserializer<'de>>(d: D) -> Result<DeviceChoice, D::Error> {
    field(d, |v| match js::opt_string("device", v)?.as_deref() {
        None | Some("auto") => Ok(DeviceChoice::Auto),
        Some("webgpu") => Ok(DeviceChoice::WebGpu),
        Some("cpu") => Ok(DeviceChoice::Cpu),
        Some(other) => Err(format!("`device` must be 'auto', 'webgpu' or 'cpu', got '{other}'")),
    })
}

fn namespace<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    field(d, |v| {
        let ns = js::opt_string("namespace", v)?;
        let n = ns.as_deref().unwrap_or(DEFAULT_NAMESPACE).chars().count();
        if n == 0 || n > MAX_NAMESPACE_CHARS {
            return Err(format!("`namespace` must be 1 to {MAX_NAMESPACE_CHARS} characters long, got {n}"));
        }
        Ok(ns)
    })
}

fn on_progress<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Function>, D::Error> {
    field(d, |v| js::opt_function("onProgress", v))
}

fn recommend_k<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    field(d, |v| js::opt_int("k", v, 1, serve::MAX_K))
}

fn rerank_k<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    field(d, |v| js::opt_int("k", v, 1, 1_000_000))
}

fn exclude<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    field(d, |v| if js::absent(v) { Ok(Vec::new()) } else { js::string_list(v, "`exclude`", 1_000_000) })
}

fn exclude_seen<'de, D: Deserializer<'de>>(d: D) -> Result<ExcludeRules, D::Error> {
    field(d, |v| {
        if v.as_bool() == Some(false) {
            return Ok(ExcludeRules { purchased: false, recent: 0 });
        }
        let d = ExcludeRules::default();
        if js::absent(v) || v.as_bool() == Some(true) {
            return Ok(d);
        }
        if !js::is_object(v) {
            return Err(format!(
                "`excludeSeen` must be a boolean or an object like {{ purchased: true, recent: 20 }}, got {}",
                js::type_name(v)
            ));
        }
        Ok(ExcludeRules {
            purchased: js::opt_bool("excludeSeen.purchased", &js::get(v, "purchased"))?.unwrap_or(d.purchased),
            recent: js::opt_int("excludeSeen.recent", &js::get(v, "recent"), 0, 10_000_000)?.unwrap_or(d.recent),
        })
    })
}

fn storage<'de, D: Deserializer<'de>>(d: D) -> Result<Storage, D::Error> {
    field(d, parse_storage)
}

/// `'indexeddb'` or `'memory'` (absent: `'indexeddb'`).
pub fn parse_storage(v: &JsValue) -> Result<Storage, String> {
    match js::opt_string("storage", v)?.as_deref() {
        None | Some("indexeddb") => Ok(Storage::IndexedDb),
        Some("memory") => Ok(Storage::Memory),
        Some(other) => Err(format!("`storage` must be 'indexeddb' or 'memory', got '{other}'")),
    }
}

fn variant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    field(d, |v| short_name("variant", v))
}

fn experiment<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    field(d, |v| short_name("experiment", v))
}

/// An optional name of 1 to 100 characters.
fn short_name(name: &str, v: &JsValue) -> Result<Option<String>, String> {
    let s = js::opt_string(name, v)?;
    if let Some(n) = s.as_deref().map(|s| s.chars().count()).filter(|n| !(1..=100).contains(n)) {
        return Err(format!("`{name}` must be 1 to 100 characters long, got {n}"));
    }
    Ok(s)
}

/// A variant of an experiment: its name, its bundle (as `Recommender.load` takes one) and its
/// weight.
pub type Variant = (String, JsValue, f64);

/// The variants of an experiment, `{ variants: { name: bundle, … }, weights?: { name: w } }`,
/// sorted by name (so the assignment does not depend on the object's key order): names,
/// bundles and weights. `None` when `v` is not such an object (a plain bundle).
pub fn variants(v: &JsValue) -> Result<Option<Vec<Variant>>, JsValue> {
    const M: &str = "Recommender.load";
    if !js::is_object(v) || js_sys::Array::is_array(v) || super::download::is_buffer(v) {
        return Ok(None);
    }
    let vars = js::get(v, "variants");
    if !js::is_object(&vars) {
        return Err(js::invalid(
            M,
            "a bundle must be a URL string, an ArrayBuffer or a Uint8Array, or { variants: { name: bundle, … } }",
        ));
    }
    let weights = js::get(v, "weights");
    let mut out = Vec::new();
    for entry in js_sys::Object::entries(vars.unchecked_ref()).iter() {
        let pair: Array = entry.unchecked_into();
        let name = pair.get(0).as_string().unwrap_or_default();
        if let Err(e) = short_name("variant", &name.as_str().into()) {
            return Err(js::invalid(M, format!("variant `{name}`: {e}")));
        }
        let w = if js::absent(&weights) {
            1.0
        } else {
            match js::get(&weights, &name).as_f64() {
                Some(w) if w.is_finite() && w >= 0.0 => w,
                None if js::get(&weights, &name).is_undefined() => 1.0,
                _ => return Err(js::invalid(M, format!("`weights.{name}` must be a number ≥ 0"))),
            }
        };
        out.push((name, pair.get(1), w));
    }
    if out.is_empty() {
        return Err(js::invalid(M, "`variants` names no bundle"));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(out))
}

/// The options of `stats()`.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StatsOptions {
    /// Only the lists shown at or after this time (milliseconds since the epoch).
    #[serde(deserialize_with = "since")]
    pub since: Option<f64>,
    /// How long after a list an event without a `recommendationId` is attributed to it, in
    /// minutes (default 30).
    #[serde(deserialize_with = "window_minutes")]
    pub window_minutes: Option<f64>,
}

/// The options of `report()`.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ReportOptions {
    /// The report's privacy budget ε (required; at most 20).
    #[serde(deserialize_with = "epsilon")]
    pub epsilon: Option<f64>,
    /// Only the lists shown at or after this time (milliseconds since the epoch).
    #[serde(deserialize_with = "since")]
    pub since: Option<f64>,
}

fn epsilon<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    field(d, |v| js::opt_number("epsilon", v, "a number greater than 0 and at most 20"))
}

fn since<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    field(d, |v| js::opt_number("since", v, "a number of milliseconds since the epoch"))
}

fn window_minutes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    field(d, |v| match js::opt_number("windowMinutes", v, "a number of minutes ≥ 0")? {
        Some(x) if x < 0.0 => Err(format!("`windowMinutes` must be a number of minutes ≥ 0, got {x}")),
        x => Ok(x),
    })
}

fn max_events<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    field(d, |v| js::opt_int("maxEvents", v, 1, 10_000_000))
}

fn max_age_days<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    field(d, |v| {
        let what = "a number of days greater than 0 (or Infinity)";
        if js::absent(v) {
            return Ok(None);
        }
        match v.as_f64() {
            Some(x) if x > 0.0 => Ok(Some(x)), // Infinity: no age limit
            Some(x) => Err(format!("`maxAgeDays` must be {what}, got {x}")),
            None => Err(format!("`maxAgeDays` must be {what}, got {}", js::type_name(v))),
        }
    })
}

fn explain<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    field(d, |v| js::opt_bool("explain", v))
}

fn record<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    field(d, |v| js::opt_bool("record", v))
}

fn filter<'de, D: Deserializer<'de>>(d: D) -> Result<Filter, D::Error> {
    field(d, |v| {
        if js::absent(v) {
            Ok(Filter::None)
        } else if let Some(f) = v.dyn_ref::<Function>() {
            Ok(Filter::Function(f.clone()))
        } else if js::is_object(v) {
            let names = js::string_list(&js::get(v, "categories"), "`filter.categories`", 100_000)?;
            Ok(Filter::Categories(names))
        } else {
            Err(format!(
                "`filter` must be a function or an object like {{ categories: [...] }}, got {}",
                js::type_name(v)
            ))
        }
    })
}

fn ks<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<usize>>, D::Error> {
    field(d, |v| {
        if js::absent(v) {
            return Ok(None);
        }
        if !Array::is_array(v) {
            return Err(format!("`ks` must be an array of integers, got {}", js::type_name(v)));
        }
        let a: &Array = v.unchecked_ref();
        if a.length() == 0 || a.length() > 20 {
            return Err(format!("`ks` must have 1 to 20 cut-offs, got {}", a.length()));
        }
        let mut ks = Vec::new();
        for (i, k) in a.iter().enumerate() {
            match k.as_f64() {
                Some(x) if x.fract() == 0.0 && (1.0..=1000.0).contains(&x) => ks.push(x as usize),
                _ => return Err(format!("`ks[{i}]` must be an integer from 1 to 1000, got {}", js::type_name(&k))),
            }
        }
        Ok(Some(ks))
    })
}

fn batch_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    field(d, |v| js::opt_int("batchSize", v, 1, 4096))
}

fn split<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SplitSpec>, D::Error> {
    field(d, |v| match js::opt_string("split", v)? {
        None => Ok(None),
        Some(s) => s.parse().map(Some).map_err(|e: crate::Error| format!("`split`: {e}")),
    })
}

// Events.

/// The most events one `track()` call stores (an analytics event naming N products counts N).
pub const MAX_EVENTS: usize = 10_000;

/// The events of `track(event | event[])`, all checked before any is stored: at most
/// [`MAX_EVENTS`], each naming an item (any well-formed id: products newer than the model too)
/// or a search. An event is a plain one
/// (`{ item, type }`) or an analytics one (`{ event, ... }` or gtag's `['event', name,
/// params]`, read by [`serve::analytics`]), which may stand for several events or none.
pub fn events(v: &JsValue) -> Result<Vec<TrackedEvent>, JsValue> {
    const M: &str = "track";
    if !Array::is_array(v) || is_gtag(v) {
        return event(v);
    }
    let arr: &Array = v.unchecked_ref();
    if arr.length() == 0 {
        return Err(js::invalid(M, "the array of events is empty"));
    }
    if arr.length() as usize > MAX_EVENTS {
        return Err(js::invalid(M, format!("{} events in one call; the limit is {MAX_EVENTS}", arr.length())));
    }
    let mut out = Vec::new();
    for (i, e) in arr.iter().enumerate() {
        let events = event(&e).map_err(|err| {
            js::error(
                &js::get(&err, "code").as_string().unwrap_or_default(),
                js::message_of(&err).replacen("track:", &format!("track: event [{i}]:"), 1),
            )
        })?;
        out.extend(events);
        if out.len() > MAX_EVENTS {
            return Err(js::invalid(
                M,
                format!("more than {MAX_EVENTS} events in one call; the limit is {MAX_EVENTS}"),
            ));
        }
    }
    Ok(out)
}

/// True for gtag's `['event', name, params]`.
fn is_gtag(v: &JsValue) -> bool {
    Array::is_array(v) && v.unchecked_ref::<Array>().get(0).as_string().as_deref() == Some("event")
}

/// One event of `track()`: an analytics event when it is gtag's array or an object with an
/// `event` field, else `{ item?, type, query?, ts? }`, checked field by field in that order (a
/// missing `type` is reported before the other fields are read).
fn event(v: &JsValue) -> Result<Vec<TrackedEvent>, JsValue> {
    const M: &str = "track";
    if is_gtag(v) || (js::is_object(v) && !js::absent(&js::get(v, "event"))) {
        return analytics_event(v);
    }
    if !js::is_object(v) {
        return Err(js::invalid(
            M,
            format!("an event must be an object like {{ item: 'sku-1', type: 'view' }}, got {}", js::type_name(v)),
        ));
    }
    let bad = |why: String| js::invalid(M, why);
    let item = js::opt_string("item", &js::get(v, "item")).map_err(bad)?;
    let Some(kind) = js::opt_string("type", &js::get(v, "type")).map_err(bad)? else {
        return Err(js::invalid(M, "the event has no `type` (one of 'view', 'cart', 'purchase', 'search')"));
    };
    let query = js::opt_string("query", &js::get(v, "query")).map_err(bad)?;
    let ts = js::opt_number("ts", &js::get(v, "ts"), "a number of milliseconds since the epoch")
        .map_err(bad)?
        .unwrap_or_else(js_sys::Date::now);
    let rid = js::opt_string("recommendationId", &js::get(v, "recommendationId")).map_err(bad)?;
    if rid.as_ref().is_some_and(|r| r.is_empty() || r.chars().count() > 100) {
        return Err(bad("`recommendationId` must be 1 to 100 characters long (the id recommend() returned)".into()));
    }
    let raw = RawEvent { user: None, item, kind: Some(kind), ts: Some(ts), query, value: None };
    let mut e = TrackedEvent::from_raw(raw).map_err(|e| js::from_error(M, &e))?;
    e.recommendation = rid;
    Ok(vec![e])
}

/// A GA4 or Segment e-commerce event: only the fields [`analytics::FIELDS`] are read (a
/// `dataLayer` entry may carry DOM elements), plus `ts` (default now) for the time of each
/// event it stands for.
fn analytics_event(v: &JsValue) -> Result<Vec<TrackedEvent>, JsValue> {
    const M: &str = "track";
    /// Nesting read below a top-level field (`ecommerce.items[i].item_id` is 3).
    const DEPTH: usize = 6;
    let bad = |why: String| js::invalid(M, why);
    let (value, ts) = if Array::is_array(v) {
        (js::json("event", v, DEPTH).map_err(bad)?, None)
    } else {
        let mut fields = serde_json::Map::new();
        for f in analytics::FIELDS {
            let x = js::get(v, f);
            if !x.is_undefined() {
                fields.insert(f.to_string(), js::json(f, &x, DEPTH).map_err(bad)?);
            }
        }
        let ts = js::opt_number("ts", &js::get(v, "ts"), "a number of milliseconds since the epoch").map_err(bad)?;
        (serde_json::Value::Object(fields), ts)
    };
    let raws =
        analytics::raw_events(&value, ts.unwrap_or_else(js_sys::Date::now)).map_err(|e| js::from_error(M, &e))?;
    raws.into_iter().map(|raw| TrackedEvent::from_raw(raw).map_err(|e| js::from_error(M, &e))).collect()
}

// The catalogue.

/// The products of `updateCatalog(items)`: an array of at most 1,000,000
/// `{ item, title?, categories?, available? }`, each field checked before anything is applied.
pub fn item_updates(v: &JsValue) -> Result<Vec<ItemUpdate>, JsValue> {
    const M: &str = "updateCatalog";
    if !Array::is_array(v) {
        return Err(js::invalid(
            M,
            format!(
                "expects an array like [{{ item: 'sku-1', title: 'Tea', categories: ['drinks'] }}], got {}",
                js::type_name(v)
            ),
        ));
    }
    let arr: &Array = v.unchecked_ref();
    if arr.length() > serve::MAX_ADDED_ITEMS as u32 {
        return Err(js::invalid(
            M,
            format!("{} items in one call; the limit is {}", arr.length(), serve::MAX_ADDED_ITEMS),
        ));
    }
    arr.iter()
        .enumerate()
        .map(|(i, u)| {
            let bad = |why: String| js::invalid(M, format!("item [{i}]: {why}"));
            if !js::is_object(&u) {
                return Err(bad(format!("must be an object like {{ item: 'sku-1' }}, got {}", js::type_name(&u))));
            }
            let Some(item) = js::opt_string("item", &js::get(&u, "item")).map_err(bad)? else {
                return Err(bad("has no `item` (the product id)".into()));
            };
            let title = js::opt_string("title", &js::get(&u, "title")).map_err(bad)?;
            let cats = js::get(&u, "categories");
            let categories = if js::absent(&cats) {
                None
            } else {
                Some(js::string_list(&cats, "`categories`", serve::MAX_ITEM_CATEGORIES).map_err(bad)?)
            };
            let available = js::opt_bool("available", &js::get(&u, "available")).map_err(bad)?;
            Ok(ItemUpdate { item, title, categories, available })
        })
        .collect()
}
