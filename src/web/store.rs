//! The shopper's events of one namespace: in memory ([`EventLog`]) for every read, and in
//! IndexedDB (`idb.rs`) across visits unless the page chose memory-only storage.
//!
//! - **Read once.** Opening the store reads the namespace's events from IndexedDB once; from
//!   then on requests read memory, so `recommend()` costs the same with 50 or 100,000 events.
//! - **Writes.** `track()` puts the events in memory at once (a `recommend()` right after sees
//!   them) and queues them; calls made in the same turn of the event loop are written in one
//!   transaction, and each call's promise settles when it commits or fails. A failed write
//!   (e.g. the quota is exhausted) rejects those promises with a clear error; the events stay
//!   in memory, reported unsaved by `history()`, and are written again with the next batch.
//! - **Other tabs.** After a write, the events are posted on a `BroadcastChannel` named
//!   `localrec:<namespace>`; the other tabs of the origin add them to their memory. `forget()`
//!   is posted too.
//! - **Retention.** At most `maxEvents` events, none older than `maxAgeDays`
//!   ([`Retention`]); the oldest are dropped first, from memory and from IndexedDB, when the
//!   store opens and after each write.
//! - **Impressions.** The lists `recommend()` and `rerank()` showed ([`Impression`]), for the
//!   online metrics: kept like the events (memory, and IndexedDB unless memory-only), at most
//!   [`MAX_IMPRESSIONS`], forgotten with the events.
//! - **Consent.** [`Storage::Memory`] writes nothing to the device: events live as long as the
//!   page. [`EventStore::set_storage`] switches at run time without losing the session: to
//!   memory deletes what IndexedDB held of the namespace (the shopper withdrew consent) and
//!   keeps the events in memory; to IndexedDB writes the session's events there.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{BroadcastChannel, IdbDatabase, MessageEvent};

use super::idb;
use super::js::{self, code};
use crate::online::Impression;
use crate::serve::{EventLog, Retention, TrackedEvent};

/// Most impressions (lists shown) kept per namespace; the oldest go first. Older than the
/// events' `maxAgeDays` go too.
pub const MAX_IMPRESSIONS: usize = 1000;

/// Where events are kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Storage {
    /// IndexedDB: kept across visits (the default).
    #[default]
    IndexedDb,
    /// Memory only: nothing is written to the device.
    Memory,
}

impl Storage {
    /// The option's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::IndexedDb => "indexeddb",
            Storage::Memory => "memory",
        }
    }
}

/// An event's key in IndexedDB (`[namespace, ts, session, counter]`) and whether it is
/// written there yet. Ordered like IndexedDB orders the keys of one time: by session, then
/// counter.
#[derive(Clone, Debug)]
pub struct Slot {
    key: JsValue,
    session: Rc<str>,
    counter: u64,
    saved: Rc<Cell<bool>>,
}

impl Slot {
    /// The slot of a stored or received event, from its key.
    fn stored(key: JsValue) -> Slot {
        let session: Rc<str> =
            js_sys::Reflect::get_u32(&key, 2).ok().and_then(|s| s.as_string()).unwrap_or_default().into();
        let counter = js_sys::Reflect::get_u32(&key, 3).ok().and_then(|c| c.as_f64()).unwrap_or(0.0) as u64;
        Slot { key, session, counter, saved: Rc::new(Cell::new(true)) }
    }

    /// True when the event is in IndexedDB.
    pub fn saved(&self) -> bool {
        self.saved.get()
    }
}

impl PartialEq for Slot {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Slot {}

impl PartialOrd for Slot {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Slot {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&*self.session, self.counter).cmp(&(&*other.session, other.counter))
    }
}

/// The channel to the other tabs and its message handler.
type Channel = (BroadcastChannel, Closure<dyn FnMut(MessageEvent)>);

/// One `track()` call waiting for its batch to be written.
struct Waiter {
    rows: Vec<(Slot, TrackedEvent)>,
    resolve: Function,
    reject: Function,
}

/// The events of one namespace (see the module docs).
pub struct EventStore {
    ns: String,
    session: Rc<str>,
    counter: Cell<u64>,
    retention: Retention,
    log: RefCell<EventLog<Slot>>,
    impressions: RefCell<Vec<Impression>>,
    db: RefCell<Option<IdbDatabase>>,
    channel: RefCell<Option<Channel>>,
    queue: RefCell<Vec<Waiter>>,
    unsaved: RefCell<Vec<(Slot, TrackedEvent)>>,
    deletes: RefCell<Vec<JsValue>>,
    flushing: Cell<bool>,
    last: RefCell<Option<Promise>>,
}

impl EventStore {
    /// Opens the store of `namespace`: with [`Storage::IndexedDb`], opens the database and
    /// reads the namespace's events once, applying `retention`.
    pub async fn open(namespace: &str, storage: Storage, retention: Retention) -> Result<Rc<EventStore>, JsValue> {
        let session: Rc<str> =
            format!("{:x}{:x}", (js_sys::Math::random() * 4294967296.0) as u64, js_sys::Date::now() as u64).into();
        let store = Rc::new(EventStore {
            ns: namespace.to_string(),
            session,
            counter: Cell::new(0),
            retention,
            log: RefCell::new(EventLog::new()),
            impressions: RefCell::new(Vec::new()),
            db: RefCell::new(None),
            channel: RefCell::new(None),
            queue: RefCell::new(Vec::new()),
            unsaved: RefCell::new(Vec::new()),
            deletes: RefCell::new(Vec::new()),
            flushing: Cell::new(false),
            last: RefCell::new(None),
        });
        if storage == Storage::IndexedDb {
            store.connect().await?;
        }
        Ok(store)
    }

    /// Opens IndexedDB, adds its events of the namespace to memory, applies retention and
    /// listens to the other tabs.
    async fn connect(self: &Rc<Self>) -> Result<(), JsValue> {
        let db = idb::open().await?;
        let stored = idb::read_events(&db, &self.ns).await?;
        {
            let mut log = self.log.borrow_mut();
            for (key, e) in stored {
                log.insert(Slot::stored(key), e);
            }
        }
        // An impression that does not parse (written by a newer version) is left in storage.
        let shown = idb::read_impressions(&db, &self.ns).await?;
        self.impressions.borrow_mut().extend(shown.iter().filter_map(|j| serde_json::from_str(j).ok()));
        *self.db.borrow_mut() = Some(db);
        self.listen();
        if self.enforce_retention() > 0 {
            // Written (deleted) with the next batch, or now.
            let _ = self.queue_write(Vec::new());
        }
        Ok(())
    }

    /// Where the events are kept now.
    pub fn storage(&self) -> Storage {
        if self.db.borrow().is_some() { Storage::IndexedDb } else { Storage::Memory }
    }

    /// The events, oldest first (read from memory).
    pub fn log(&self) -> std::cell::Ref<'_, EventLog<Slot>> {
        self.log.borrow()
    }

    /// The impressions (lists shown), oldest first.
    pub fn impressions(&self) -> std::cell::Ref<'_, Vec<Impression>> {
        self.impressions.borrow()
    }

    /// Keeps an impression (in memory, and in IndexedDB unless storage is memory), dropping
    /// the oldest beyond [`MAX_IMPRESSIONS`] or the retention age. A failed write is reported
    /// on the console, never to the `recommend()` that showed the list.
    pub fn record_impression(&self, shown: Impression) {
        let cutoff = js_sys::Date::now() - self.retention.max_age_days * 86_400_000.0;
        let row = impression_row(&shown);
        let dropped: Vec<(i64, String)> = {
            let mut all = self.impressions.borrow_mut();
            all.push(shown);
            let old = all.iter().take_while(|m| (m.ts as f64) < cutoff).count();
            let n = old.max(all.len().saturating_sub(MAX_IMPRESSIONS));
            all.drain(..n).map(|m| (m.ts, m.id)).collect()
        };
        let Some(db) = self.db() else { return };
        let ns = self.ns.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // After the list is returned: the write is not part of the request's latency.
            js::next_tick().await;
            if let Err(e) = idb::write_impressions(&db, &ns, &[row], &dropped).await {
                web_sys::console::warn_1(
                    &format!("localrec: an impression was not saved: {}", js::message_of(&e)).into(),
                );
            }
        });
    }

    /// The database, when events are kept in IndexedDB.
    pub fn db(&self) -> Option<IdbDatabase> {
        self.db.borrow().clone()
    }

    fn slot(&self, ts: i64) -> Slot {
        let n = self.counter.get();
        self.counter.set(n + 1);
        Slot {
            key: idb::key(&self.ns, ts, &self.session, n),
            session: self.session.clone(),
            counter: n,
            saved: Rc::new(Cell::new(false)),
        }
    }

    /// Drops what the retention policy does not keep; the saved ones are deleted from
    /// IndexedDB with the next write.
    fn enforce_retention(&self) -> usize {
        let gone = self.log.borrow_mut().enforce(&self.retention, js_sys::Date::now() as i64);
        let mut deletes = self.deletes.borrow_mut();
        deletes.extend(gone.iter().filter(|(s, _)| s.saved()).map(|(s, _)| s.key.clone()));
        gone.len()
    }

    /// Adds `events` (already validated) to memory now and, with IndexedDB, queues them for
    /// the next batch; the promise settles when they are written, or rejects with a
    /// `STORAGE`/`QUOTA_EXCEEDED` error (the events stay in memory).
    pub fn track(self: &Rc<Self>, events: Vec<TrackedEvent>) -> Promise {
        let rows: Vec<(Slot, TrackedEvent)> = events.into_iter().map(|e| (self.slot(e.ts), e)).collect();
        {
            let mut log = self.log.borrow_mut();
            for (s, e) in &rows {
                log.insert(s.clone(), e.clone());
            }
        }
        self.enforce_retention();
        if self.db.borrow().is_none() {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        self.queue_write(rows)
    }

    fn queue_write(self: &Rc<Self>, rows: Vec<(Slot, TrackedEvent)>) -> Promise {
        let (p, resolve, reject) = idb::deferred();
        self.queue.borrow_mut().push(Waiter { rows, resolve, reject });
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
            let Some(db) = self.db() else {
                // Switched to memory while queued: nothing is written, nothing is lost.
                for w in batch {
                    let _ = w.resolve.call0(&JsValue::UNDEFINED);
                }
                continue;
            };
            let mut rows: Vec<(Slot, TrackedEvent)> = std::mem::take(&mut *self.unsaved.borrow_mut());
            let retried = rows.len();
            for w in &batch {
                rows.extend(w.rows.iter().cloned());
            }
            let deletes: Vec<JsValue> = std::mem::take(&mut *self.deletes.borrow_mut());
            match idb::write_events(&db, rows.iter().map(|(s, e)| (&s.key, e)), &deletes).await {
                Ok(()) => {
                    for (s, _) in &rows {
                        s.saved.set(true);
                    }
                    self.post_events(&rows);
                    for w in batch {
                        let _ = w.resolve.call0(&JsValue::UNDEFINED);
                    }
                }
                Err(e) => {
                    let n = rows.len();
                    self.unsaved.borrow_mut().splice(0..0, rows);
                    self.deletes.borrow_mut().extend(deletes);
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

    /// Waits until every write queued so far has been done (or has failed).
    pub async fn settle(&self) {
        let last = self.last.borrow().clone();
        if let Some(p) = last {
            let _ = JsFuture::from(p).await;
        }
    }

    /// Deletes every event of the namespace, in memory, in IndexedDB and in the other tabs.
    pub async fn forget(&self) -> Result<(), JsValue> {
        self.settle().await;
        if let Some(db) = self.db() {
            idb::delete_namespace(&db, &self.ns, false).await?;
            self.post(&js::object(&[("kind", "forget".into())]));
        }
        self.log.borrow_mut().clear();
        self.impressions.borrow_mut().clear();
        self.unsaved.borrow_mut().clear();
        self.deletes.borrow_mut().clear();
        Ok(())
    }

    /// Switches where the events are kept (see the module docs). To memory, the namespace's
    /// catalogue changes are deleted from IndexedDB too (the caller keeps them in memory).
    pub async fn set_storage(self: &Rc<Self>, to: Storage) -> Result<(), JsValue> {
        if to == self.storage() {
            return Ok(());
        }
        self.settle().await;
        match to {
            Storage::Memory => {
                let db = self.db.borrow_mut().take();
                self.close_channel();
                if let Some(db) = db {
                    idb::delete_namespace(&db, &self.ns, true).await?;
                    db.close();
                }
                for (s, _) in self.log.borrow().iter() {
                    s.saved.set(false);
                }
                self.unsaved.borrow_mut().clear();
                self.deletes.borrow_mut().clear();
            }
            Storage::IndexedDb => {
                // What IndexedDB holds (another tab's events) joins the session; then the
                // session's events are written.
                let db = idb::open().await?;
                let stored = idb::read_events(&db, &self.ns).await?;
                let rows: Vec<(Slot, TrackedEvent)> = {
                    let mut log = self.log.borrow_mut();
                    let mine: Vec<(Slot, TrackedEvent)> = log.iter().cloned().collect();
                    for (key, e) in stored {
                        log.insert(Slot::stored(key), e);
                    }
                    mine
                };
                idb::write_events(&db, rows.iter().map(|(s, e)| (&s.key, e)), &[]).await?;
                let shown: Vec<(i64, String, String)> = self.impressions.borrow().iter().map(impression_row).collect();
                idb::write_impressions(&db, &self.ns, &shown, &[]).await?;
                for (s, _) in &rows {
                    s.saved.set(true);
                }
                *self.db.borrow_mut() = Some(db);
                self.listen();
                self.enforce_retention();
                let _ = self.queue_write(Vec::new());
            }
        }
        Ok(())
    }

    fn post(&self, msg: &JsValue) {
        if let Some((ch, _)) = self.channel.borrow().as_ref() {
            // A closed or unclonable channel only loses the other tabs' update.
            let _ = ch.post_message(msg);
        }
    }

    fn post_events(&self, rows: &[(Slot, TrackedEvent)]) {
        if rows.is_empty() {
            return;
        }
        let list = Array::new();
        for (s, e) in rows {
            list.push(&js::object(&[("key", s.key.clone()), ("record", idb::record(e))]));
        }
        self.post(&js::object(&[("kind", "events".into()), ("rows", list.into())]));
    }

    /// Listens to the other tabs of the namespace (if the browser has `BroadcastChannel`).
    fn listen(self: &Rc<Self>) {
        let Ok(ch) = BroadcastChannel::new(&format!("localrec:{}", self.ns)) else { return };
        let weak = Rc::downgrade(self);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |m: MessageEvent| {
            if let Some(me) = weak.upgrade() {
                me.receive(&m.data());
            }
        });
        ch.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        *self.channel.borrow_mut() = Some((ch, on_message));
    }

    fn close_channel(&self) {
        if let Some((ch, _)) = self.channel.borrow_mut().take() {
            ch.set_onmessage(None);
            ch.close();
        }
    }

    /// A message of another tab: its new events, or that it forgot them all.
    fn receive(&self, msg: &JsValue) {
        match js::get(msg, "kind").as_string().as_deref() {
            Some("events") => {
                let rows = js::get(msg, "rows");
                if !Array::is_array(&rows) {
                    return;
                }
                let mut log = self.log.borrow_mut();
                for row in Array::from(&rows).iter() {
                    if let Some(e) = idb::parse(&js::get(&row, "record")) {
                        log.insert(Slot::stored(js::get(&row, "key")), e);
                    }
                }
                drop(log);
                self.enforce_retention();
            }
            Some("forget") => {
                self.log.borrow_mut().clear();
                self.impressions.borrow_mut().clear();
                self.unsaved.borrow_mut().clear();
            }
            _ => {}
        }
    }
}

/// An impression as IndexedDB keeps it: `(ts, id, json)`.
fn impression_row(m: &Impression) -> (i64, String, String) {
    (m.ts, m.id.clone(), serde_json::to_string(m).unwrap_or_default())
}

impl Drop for EventStore {
    fn drop(&mut self) {
        self.close_channel();
    }
}
