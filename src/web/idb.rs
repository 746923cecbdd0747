//! The shopper's events in IndexedDB.
//!
//! # Layout
//!
//! One database, [`DB_NAME`] at schema version [`DB_VERSION`], one object store,
//! [`STORE`], with out-of-line keys `[namespace, ts, session, counter]`:
//!
//! - the namespace comes first, so one key range reads or deletes one namespace;
//! - then the event time, so a namespace reads back in time order;
//! - `session` (random per loaded `Recommender`) and `counter` make keys unique when two tabs
//!   write at the same millisecond, and keep arrival order within a tab.
//!
//! Values are `{ v: 1, item, type, query, ts }`; `v` is the record version ([`RECORD_VERSION`]);
//! records of another version are left alone and not read.
//!
//! # Writes
//!
//! `track()` calls made in the same turn of the event loop are written in one transaction;
//! each call's promise settles when that transaction commits or fails. A failed write (e.g.
//! the quota is exceeded) rejects those promises with a clear error, and its events are kept:
//! in memory, counted in the history as unsaved, and written again with the next batch. Nothing
//! is dropped silently. Reads always go to IndexedDB, so two tabs with the same namespace see
//! each other's events.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

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
pub const DB_VERSION: u32 = 1;
/// The object store of events.
pub const STORE: &str = "events";
/// Version of the stored event records.
pub const RECORD_VERSION: u32 = 1;

fn storage_error(what: &str, e: &JsValue) -> JsValue {
    let quota = e.dyn_ref::<web_sys::DomException>().is_some_and(|d| d.name() == "QuotaExceededError")
        || js::message_of(e).contains("QuotaExceeded");
    let c = if quota { code::QUOTA_EXCEEDED } else { code::STORAGE };
    let hint = if quota { " (the browser's storage quota for this site is exhausted)" } else { "" };
    js::error(c, format!("{what}: {}{hint}", js::message_of(e)))
}

/// A promise and its two settle functions.
fn deferred() -> (Promise, Function, Function) {
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
async fn open_db() -> Result<IdbDatabase, JsValue> {
    let unavailable = |why: String| {
        js::error(code::STORAGE, format!("IndexedDB is not available here, so events cannot be stored: {why}"))
    };
    let factory =
        js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into()).map_err(|e| unavailable(js::message_of(&e)))?;
    let factory: IdbFactory =
        factory.dyn_into().map_err(|_| unavailable("this context has no `indexedDB` (an opaque origin?)".into()))?;
    let req = factory.open_with_u32(DB_NAME, DB_VERSION).map_err(|e| unavailable(js::message_of(&e)))?;
    let r = req.clone();
    let upgrade = Closure::<dyn FnMut()>::new(move || {
        if let Ok(db) = r.result().and_then(|d| d.dyn_into::<IdbDatabase>()) {
            if !db.object_store_names().contains(STORE) {
                // An error here aborts the upgrade, which fails the open request: reported below.
                let _ = db.create_object_store(STORE);
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

/// One `track()` call waiting for its batch to be written.
struct Waiter {
    events: Vec<(JsValue, TrackedEvent)>,
    resolve: Function,
    reject: Function,
}

/// The events of one namespace, in IndexedDB, with batched writes.
pub struct EventStore {
    db: IdbDatabase,
    ns: String,
    session: String,
    counter: Cell<u64>,
    queue: RefCell<Vec<Waiter>>,
    unsaved: RefCell<Vec<(JsValue, TrackedEvent)>>,
    flushing: Cell<bool>,
    last: RefCell<Option<Promise>>,
}

/// An event as read back, and whether it is in IndexedDB yet.
pub struct StoredEvent {
    /// The event.
    pub event: TrackedEvent,
    /// False for an event whose write failed and is kept in memory until the next write.
    pub saved: bool,
}

impl EventStore {
    /// Opens the database for `namespace`.
    pub async fn open(namespace: &str) -> Result<Rc<EventStore>, JsValue> {
        let db = open_db().await?;
        let session = format!("{:x}{:x}", (js_sys::Math::random() * 4294967296.0) as u64, js_sys::Date::now() as u64);
        Ok(Rc::new(EventStore {
            db,
            ns: namespace.to_string(),
            session,
            counter: Cell::new(0),
            queue: RefCell::new(Vec::new()),
            unsaved: RefCell::new(Vec::new()),
            flushing: Cell::new(false),
            last: RefCell::new(None),
        }))
    }

    fn key(&self, ts: i64) -> JsValue {
        let n = self.counter.get();
        self.counter.set(n + 1);
        Array::of4(&self.ns.as_str().into(), &(ts as f64).into(), &self.session.as_str().into(), &(n as f64).into())
            .into()
    }

    fn range(&self) -> Result<IdbKeyRange, JsValue> {
        let lower = Array::of1(&self.ns.as_str().into());
        // Arrays sort after every number, string and date: `[ns, []]` is above every key of ns.
        let upper = Array::of2(&self.ns.as_str().into(), &Array::new());
        IdbKeyRange::bound(&lower, &upper)
    }

    /// Queues `events` (already validated) for the next batch; the promise settles when they
    /// are written, or rejects with a `STORAGE`/`QUOTA_EXCEEDED` error.
    pub fn track(self: &Rc<Self>, events: Vec<TrackedEvent>) -> Promise {
        let (p, resolve, reject) = deferred();
        let events = events.into_iter().map(|e| (self.key(e.ts), e)).collect();
        self.queue.borrow_mut().push(Waiter { events, resolve, reject });
        *self.last.borrow_mut() = Some(p.clone());
        if !self.flushing.replace(true) {
            let me = self.clone();
            wasm_bindgen_futures::spawn_local(async move { me.flush_loop().await });
        }
        p
    }

    async fn flush_loop(self: Rc<Self>) {
        // Let the other `track()` calls of this turn of the event loop join the batch.
        let _ = JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await;
        loop {
            let batch: Vec<Waiter> = std::mem::take(&mut *self.queue.borrow_mut());
            if batch.is_empty() {
                self.flushing.set(false);
                return;
            }
            let mut rows: Vec<(JsValue, TrackedEvent)> = std::mem::take(&mut *self.unsaved.borrow_mut());
            let retried = rows.len();
            for w in &batch {
                rows.extend(w.events.iter().cloned());
            }
            match self.write(&rows).await {
                Ok(()) => {
                    for w in batch {
                        let _ = w.resolve.call0(&JsValue::UNDEFINED);
                    }
                }
                Err(e) => {
                    let n = rows.len();
                    self.unsaved.borrow_mut().splice(0..0, rows);
                    let msg = format!(
                        "track: {} event(s) could not be saved{}: {}; they are kept in memory for this page and written again with the next track()",
                        n,
                        if retried > 0 {
                            format!(" ({retried} of them from an earlier failed write)")
                        } else {
                            String::new()
                        },
                        js::message_of(&e)
                    );
                    let c = js::get(&e, "code").as_string().unwrap_or_else(|| code::STORAGE.into());
                    for w in batch {
                        let _ = w.reject.call1(&JsValue::UNDEFINED, &js::error(&c, &msg));
                    }
                }
            }
        }
    }

    async fn write(&self, rows: &[(JsValue, TrackedEvent)]) -> Result<(), JsValue> {
        let fail = |e: JsValue| storage_error("IndexedDB write failed", &e);
        let tx = self.db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(fail)?;
        let store = tx.object_store(STORE).map_err(fail)?;
        for (key, e) in rows {
            if let Err(err) = store.put_with_key(&record(e), key) {
                let _ = tx.abort();
                return Err(fail(err));
            }
        }
        committed(&tx).await.map_err(fail)
    }

    /// Waits until every `track()` made so far has been written (or has failed).
    pub async fn settle(&self) {
        let last = self.last.borrow().clone();
        if let Some(p) = last {
            let _ = JsFuture::from(p).await;
        }
    }

    /// Every event of the namespace, oldest first: what IndexedDB holds (from every tab), then
    /// the events whose write failed, merged by time. Records of another version are skipped.
    pub async fn read(&self) -> Result<Vec<StoredEvent>, JsValue> {
        self.settle().await;
        let fail = |e: JsValue| storage_error("could not read the events from IndexedDB", &e);
        let tx = self.db.transaction_with_str(STORE).map_err(fail)?;
        let store = tx.object_store(STORE).map_err(fail)?;
        let range: JsValue = self.range().map_err(fail)?.into();
        let req = store.get_all_with_key(&range).map_err(fail)?;
        let all = request(&req).await.map_err(fail)?;
        let mut out: Vec<StoredEvent> = Array::from(&all)
            .iter()
            .filter_map(|v| parse_record(&v))
            .map(|event| StoredEvent { event, saved: true })
            .collect();
        out.extend(self.unsaved.borrow().iter().map(|(_, e)| StoredEvent { event: e.clone(), saved: false }));
        out.sort_by_key(|s| s.event.ts); // stable: IndexedDB order, then unsaved, within a millisecond
        Ok(out)
    }

    /// Deletes every event of the namespace, in IndexedDB (for every tab) and in memory.
    pub async fn forget(&self) -> Result<(), JsValue> {
        self.settle().await;
        let fail = |e: JsValue| storage_error("could not delete the events from IndexedDB", &e);
        let tx = self.db.transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite).map_err(fail)?;
        let store = tx.object_store(STORE).map_err(fail)?;
        let range: JsValue = self.range().map_err(fail)?.into();
        store.delete(&range).map_err(fail)?;
        committed(&tx).await.map_err(fail)?;
        self.unsaved.borrow_mut().clear();
        Ok(())
    }
}

/// The stored form of an event.
fn record(e: &TrackedEvent) -> JsValue {
    js::object(&[
        ("v", (RECORD_VERSION as f64).into()),
        ("item", e.item.as_deref().map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED)),
        ("type", e.kind.as_str().into()),
        ("query", e.query.as_deref().map(JsValue::from_str).unwrap_or(JsValue::UNDEFINED)),
        ("ts", (e.ts as f64).into()),
    ])
}

/// An event from its stored form; `None` for a record of another version or shape.
fn parse_record(v: &JsValue) -> Option<TrackedEvent> {
    if js::get(v, "v").as_f64() != Some(RECORD_VERSION as f64) {
        return None;
    }
    let kind: EventKind = js::get(v, "type").as_string()?.parse().ok()?;
    let ts = js::get(v, "ts").as_f64().filter(|t| t.is_finite())? as i64;
    Some(TrackedEvent { item: js::get(v, "item").as_string(), kind, query: js::get(v, "query").as_string(), ts })
}
