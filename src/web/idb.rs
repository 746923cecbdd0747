//! IndexedDB: where the shopper's events and the catalogue's changes are kept across visits
//! (unless the page asked for memory-only storage; see `store.rs`).
//!
//! # Layout
//!
//! One database, [`DB_NAME`] at schema version [`DB_VERSION`], two object stores:
//!
//! - [`EVENTS`], out-of-line keys `[namespace, ts, session, counter]`: the namespace first, so
//!   one key range reads or deletes one namespace; then the event time, so a namespace reads
//!   back in time order; `session` (random per loaded `Recommender`) and `counter` make keys
//!   unique when two tabs write at the same millisecond. Values are
//!   `{ v: 1, item, type, query, ts, rid }` ([`RECORD_VERSION`]; `rid`, the
//!   `recommendationId` the event came from, is optional); records of another version are left
//!   alone and not read.
//! - [`CATALOG`] (since version 2), key `namespace`: `{ v: 1, items: '[…]' }`, the JSON of the
//!   catalogue's changes since the bundle ([`crate::serve::Catalog::state`]).
//! - [`IMPRESSIONS`] (since version 3), keys `[namespace, ts, id]`: `{ v: 1, json }`, the JSON
//!   of one [`crate::online::Impression`] (a list shown).
//! - [`META`] (since version 3), key `namespace:device`: the device's random experiment id.
//!
//! Opening an older database adds the missing stores; what it holds stays as it is.

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbKeyRange, IdbRequest, IdbTransaction, IdbTransactionMode};

use super::js::{self, code};
use crate::events::EventKind;
use crate::serve::TrackedEvent;

/// The IndexedDB database.
pub const DB_NAME: &str = "localrec";
/// Its schema version.
pub const DB_VERSION: u32 = 3;
/// The object store of events.
pub const EVENTS: &str = "events";
/// The object store of catalogue changes.
pub const CATALOG: &str = "catalog";
/// The object store of impressions (the lists shown).
pub const IMPRESSIONS: &str = "impressions";
/// The object store of small per-namespace values (the device's experiment id).
pub const META: &str = "meta";
/// Version of the stored event records and catalogue states.
pub const RECORD_VERSION: u32 = 1;

/// A `STORAGE` (or `QUOTA_EXCEEDED`) error for a failed IndexedDB operation.
pub fn storage_error(what: &str, e: &JsValue) -> JsValue {
    let quota = e.dyn_ref::<web_sys::DomException>().is_some_and(|d| d.name() == "QuotaExceededError")
        || js::message_of(e).contains("QuotaExceeded");
    let c = if quota { code::QUOTA_EXCEEDED } else { code::STORAGE };
    let hint = if quota { " (the browser's storage quota for this site is exhausted)" } else { "" };
    js::error(c, format!("{what}: {}{hint}", js::message_of(e)))
}

/// A promise and its two settle functions.
pub fn deferred() -> (Promise, Function, Function) {
    let mut slots: Option<(Function, Function)> = None;
    let p = Promise::new(&mut |res, rej| slots = Some((res, rej)));
    // The executor runs synchronously inside `new Promise`, so the slots are always filled.
    let (res, rej) = slots.unwrap_or_else(|| (Function::new_no_args(""), Function::new_no_args("")));
    (p, res, rej)
}

/// Waits for an IndexedDB request to succeed (its result) or fail (its error).
async fn request(req: &IdbRequest) -> Result<JsValue, JsValue> {
    let (p, res, rej) = deferred();
    let r = req.clone();
    let ok = Closure::<dyn FnMut()>::new(move || {
        let _ = res.call1(&JsValue::UNDEFINED, &r.result().unwrap_or(JsValue::UNDEFINED));
    });
    let r = req.clone();
    let err = Closure::<dyn FnMut()>::new(move || {
        let e = r.error().ok().flatten().map(JsValue::from).unwrap_or_else(|| "unknown IndexedDB error".into());
        let _ = rej.call1(&JsValue::UNDEFINED, &e);
    });
    req.set_onsuccess(Some(ok.as_ref().unchecked_ref()));
    req.set_onerror(Some(err.as_ref().unchecked_ref()));
    let out = JsFuture::from(p).await;
    req.set_onsuccess(None);
    req.set_onerror(None);
    out
}

/// Waits for a transaction to commit, or returns why it aborted.
async fn committed(tx: &IdbTransaction) -> Result<(), JsValue> {
    let (p, res, rej) = deferred();
    let ok = Closure::<dyn FnMut()>::new(move || {
        let _ = res.call0(&JsValue::UNDEFINED);
    });
    let t = tx.clone();
    let abort = Closure::<dyn FnMut()>::new(move || {
        let e = t.error().map(JsValue::from).unwrap_or_else(|| "the transaction was aborted".into());
        let _ = rej.call1(&JsValue::UNDEFINED, &e);
    });
    tx.set_oncomplete(Some(ok.as_ref().unchecked_ref()));
    tx.set_onabort(Some(abort.as_ref().unchecked_ref()));
    let out = JsFuture::from(p).await.map(|_| ());
    tx.set_oncomplete(None);
    tx.set_onabort(None);
    out
}

/// Opens (creating or upgrading if needed) the database.
pub async fn open() -> Result<IdbDatabase, JsValue> {
    let unavailable = |why: String| {
        js::error(
            code::STORAGE,
            format!("IndexedDB is not available here, so events cannot be stored (use storage: 'memory'): {why}"),
        )
    };
    let factory =
        js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into()).map_err(|e| unavailable(js::message_of(&e)))?;
    let factory: IdbFactory =
        factory.dyn_into().map_err(|_| unavailable("this context has no `indexedDB` (an opaque origin?)".into()))?;
    let req = factory.open_with_u32(DB_NAME, DB_VERSION).map_err(|e| unavailable(js::message_of(&e)))?;
    let r = req.clone();
    let upgrade = Closure::<dyn FnMut()>::new(move || {
        if let Ok(db) = r.result().and_then(|d| d.dyn_into::<IdbDatabase>()) {
            for store in [EVENTS, CATALOG, IMPRESSIONS, META] {
                if !db.object_store_names().contains(store) {
                    // An error here aborts the upgrade, which fails the open request: reported below.
                    let _ = db.create_object_store(store);
                }
            }
        }
    });
    let blocked = Closure::<dyn FnMut()>::new(move || {
        web_sys::console::warn_1(
            &"localrec: opening IndexedDB is blocked by another tab holding an older version; close it".into(),
        );
    });
    req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
    req.set_onblocked(Some(blocked.as_ref().unchecked_ref()));
    let result = request(&req).await;
    req.set_onupgradeneeded(None);
    req.set_onblocked(None);
    let db: IdbDatabase = result
        .map_err(|e| storage_error(&format!("could not open the IndexedDB database `{DB_NAME}`"), &e))?
        .dyn_into()
        .map_err(|_| js::error(code::STORAGE, "IndexedDB returned something that is not a database"))?;
    // Let a newer version of this library in another tab upgrade the database.
    let d = db.clone();
    let on_change = Closure::<dyn FnMut()>::new(move || d.close());
    db.set_onversionchange(Some(on_change.as_ref().unchecked_ref()));
    on_change.forget(); // lives as long as the connection
    Ok(db)
}

/// The key of an event of namespace `ns`.
pub fn key(ns: &str, ts: i64, session: &str, counter: u64) -> JsValue {
    Array::of4(&ns.into(), &(ts as f64).into(), &session.into(), &(counter as f64).into()).into()
}

/// Every key of namespace `ns`.
fn range(ns: &str) -> Result<IdbKeyRange, JsValue> {
    let lower = Array::of1(&ns.into());
    // Arrays sort after every number, string and date: `[ns, []]` is above every key of ns.
    let upper = Array::of2(&ns.into(), &Array::new());
    IdbKeyRange::bound(&lower, &upper)
}

/// Every event of namespace `ns` with its key, in key (time) order. Records of another version
/// are skipped.
pub async fn read_events(db: &IdbDatabase, ns: &str) -> Result<Vec<(JsValue, TrackedEvent)>, JsValue> {
    let fail = |e: JsValue| storage_error("could not read the events from IndexedDB", &e);
    let tx = db.transaction_with_str(EVENTS).map_err(fail)?;
    let store = tx.object_store(EVENTS).map_err(fail)?;
    let range: JsValue = range(ns).map_err(fail)?.into();
    let values = store.get_all_with_key(&range).map_err(fail)?;
    let keys = store.get_all_keys_with_key(&range).map_err(fail)?;
    let (values, keys) = (request(&values).await.map_err(fail)?, request(&keys).await.map_err(fail)?);
    // One read-only transaction: both lists are of the same records, in the same order.
    Ok(Array::from(&keys).iter().zip(Array::from(&values).iter()).filter_map(|(k, v)| Some((k, parse(&v)?))).collect())
}

/// Writes `rows` and deletes the events of `delete` (keys), in one transaction.
pub async fn write_events<'a>(
    db: &IdbDatabase,
    rows: impl Iterator<Item = (&'a JsValue, &'a TrackedEvent)>,
    delete: &[JsValue],
) -> Result<(), JsValue> {
    let fail = |e: JsValue| storage_error("IndexedDB write failed", &e);
    let tx = db.transaction_with_str_and_mode(EVENTS, IdbTransactionMode::Readwrite).map_err(fail)?;
    let store = tx.object_store(EVENTS).map_err(fail)?;
    for (key, e) in rows {
        if let Err(err) = store.put_with_key(&record(e), key) {
            let _ = tx.abort();
            return Err(fail(err));
        }
    }
    for key in delete {
        if let Err(err) = store.delete(key) {
            let _ = tx.abort();
            return Err(fail(err));
        }
    }
    committed(&tx).await.map_err(fail)
}

/// Deletes every event and impression of namespace `ns` and, with `all`, its catalogue changes
/// and device id too (nothing of the namespace is left).
pub async fn delete_namespace(db: &IdbDatabase, ns: &str, all: bool) -> Result<(), JsValue> {
    let fail = |e: JsValue| storage_error("could not delete the events from IndexedDB", &e);
    let stores = Array::of2(&EVENTS.into(), &IMPRESSIONS.into());
    if all {
        stores.push(&CATALOG.into());
        stores.push(&META.into());
    }
    let tx = db.transaction_with_str_sequence_and_mode(&stores, IdbTransactionMode::Readwrite).map_err(fail)?;
    let range: JsValue = range(ns).map_err(fail)?.into();
    tx.object_store(EVENTS).map_err(fail)?.delete(&range).map_err(fail)?;
    tx.object_store(IMPRESSIONS).map_err(fail)?.delete(&range).map_err(fail)?;
    if all {
        tx.object_store(CATALOG).map_err(fail)?.delete(&ns.into()).map_err(fail)?;
        tx.object_store(META).map_err(fail)?.delete(&format!("{ns}:device").into()).map_err(fail)?;
    }
    committed(&tx).await.map_err(fail)
}

/// The impressions of namespace `ns` (their JSON), oldest first.
pub async fn read_impressions(db: &IdbDatabase, ns: &str) -> Result<Vec<String>, JsValue> {
    let fail = |e: JsValue| storage_error("could not read the impressions from IndexedDB", &e);
    let tx = db.transaction_with_str(IMPRESSIONS).map_err(fail)?;
    let range: JsValue = range(ns).map_err(fail)?.into();
    let req = tx.object_store(IMPRESSIONS).map_err(fail)?.get_all_with_key(&range).map_err(fail)?;
    let all = request(&req).await.map_err(fail)?;
    Ok(Array::from(&all)
        .iter()
        .filter(|v| js::get(v, "v").as_f64() == Some(RECORD_VERSION as f64))
        .filter_map(|v| js::get(&v, "json").as_string())
        .collect())
}

/// Writes impressions (`(ts, id, json)`) of namespace `ns` and deletes those of `delete`
/// (`(ts, id)`), in one transaction.
pub async fn write_impressions(
    db: &IdbDatabase,
    ns: &str,
    rows: &[(i64, String, String)],
    delete: &[(i64, String)],
) -> Result<(), JsValue> {
    let fail = |e: JsValue| storage_error("could not store the impressions in IndexedDB", &e);
    let tx = db.transaction_with_str_and_mode(IMPRESSIONS, IdbTransactionMode::Readwrite).map_err(fail)?;
    let store = tx.object_store(IMPRESSIONS).map_err(fail)?;
    let key = |ts: i64, id: &str| -> JsValue { Array::of3(&ns.into(), &(ts as f64).into(), &id.into()).into() };
    for (ts, id, json) in rows {
        let value = js::object(&[("v", (RECORD_VERSION as f64).into()), ("json", json.as_str().into())]);
        if let Err(e) = store.put_with_key(&value, &key(*ts, id)) {
            let _ = tx.abort();
            return Err(fail(e));
        }
    }
    for (ts, id) in delete {
        if let Err(e) = store.delete(&key(*ts, id)) {
            let _ = tx.abort();
            return Err(fail(e));
        }
    }
    committed(&tx).await.map_err(fail)
}

/// The device's experiment id of namespace `ns`: the stored one, or `fresh` stored now. (Two
/// tabs opening a namespace for the very first time at once may each keep their own for that
/// visit; the one written last holds from then on.)
pub async fn device_id(db: &IdbDatabase, ns: &str, fresh: &str) -> Result<String, JsValue> {
    let fail = |e: JsValue| storage_error("could not read the device id from IndexedDB", &e);
    let key: JsValue = format!("{ns}:device").into();
    let tx = db.transaction_with_str(META).map_err(fail)?;
    let got = request(&tx.object_store(META).map_err(fail)?.get(&key).map_err(fail)?).await.map_err(fail)?;
    if let Some(id) = got.as_string() {
        return Ok(id);
    }
    let tx = db.transaction_with_str_and_mode(META, IdbTransactionMode::Readwrite).map_err(fail)?;
    tx.object_store(META).map_err(fail)?.put_with_key(&fresh.into(), &key).map_err(fail)?;
    committed(&tx).await.map_err(fail)?;
    Ok(fresh.to_string())
}

/// The stored catalogue changes of namespace `ns` (their JSON), if any.
pub async fn read_catalog(db: &IdbDatabase, ns: &str) -> Result<Option<String>, JsValue> {
    let fail = |e: JsValue| storage_error("could not read the catalogue from IndexedDB", &e);
    let tx = db.transaction_with_str(CATALOG).map_err(fail)?;
    let req = tx.object_store(CATALOG).map_err(fail)?.get(&ns.into()).map_err(fail)?;
    let v = request(&req).await.map_err(fail)?;
    if v.is_undefined() {
        return Ok(None);
    }
    if js::get(&v, "v").as_f64() != Some(RECORD_VERSION as f64) {
        return Err(js::error(code::STORAGE, "the stored catalogue is of another version of localrec"));
    }
    Ok(js::get(&v, "items").as_string())
}

/// Stores the catalogue changes of namespace `ns` (their JSON).
pub async fn write_catalog(db: &IdbDatabase, ns: &str, items_json: &str) -> Result<(), JsValue> {
    let fail = |e: JsValue| storage_error("could not store the catalogue in IndexedDB", &e);
    let tx = db.transaction_with_str_and_mode(CATALOG, IdbTransactionMode::Readwrite).map_err(fail)?;
    let value = js::object(&[("v", (RECORD_VERSION as f64).into()), ("items", items_json.into())]);
    tx.object_store(CATALOG).map_err(fail)?.put_with_key(&value, &ns.into()).map_err(fail)?;
    committed(&tx).await.map_err(fail)
}

/// The stored form of an event.
pub fn record(e: &TrackedEvent) -> JsValue {
    js::object(&[
        ("v", (RECORD_VERSION as f64).into()),
        ("item", e.item.as_deref().map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED)),
        ("type", e.kind.as_str().into()),
        ("query", e.query.as_deref().map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED)),
        ("ts", (e.ts as f64).into()),
        ("rid", e.recommendation.as_deref().map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED)),
    ])
}

/// An event from its stored form; `None` for a record of another version or shape.
pub fn parse(v: &JsValue) -> Option<TrackedEvent> {
    if js::get(v, "v").as_f64() != Some(RECORD_VERSION as f64) {
        return None;
    }
    let kind: EventKind = js::get(v, "type").as_string()?.parse().ok()?;
    let ts = js::get(v, "ts").as_f64().filter(|t| t.is_finite())? as i64;
    Some(TrackedEvent {
        item: js::get(v, "item").as_string(),
        kind,
        query: js::get(v, "query").as_string(),
        ts,
        recommendation: js::get(v, "rid").as_string(),
    })
}
