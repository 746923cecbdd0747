//! The shopper's events in memory, in time order: what the browser reads from storage once at
//! load and keeps current, so that a request costs the same with 50 or 100,000 stored events.
//!
//! - [`EventLog::insert`] keeps the log sorted by time (an event arriving in order is appended;
//!   equal times keep their arrival order);
//! - [`EventLog::model_history`] reads the newest events only, until it has what the encoder
//!   reads;
//! - [`EventLog::enforce`] applies the [`Retention`] policy, oldest dropped first;
//! - [`EventLog::excluded`] is what `recommend()` leaves out by default ([`ExcludeRules`]):
//!   purchased items (counted as events arrive, not by scanning the log) and the items of the
//!   newest events.
//!
//! Each event carries a key `K`: the browser's is its IndexedDB key, so that what retention
//! drops can be deleted from storage too, and so that events of the same millisecond from two
//! tabs are in the same order in both (the order of their keys).

use std::collections::{HashMap, HashSet};

use super::{Catalog, TrackedEvent};
use crate::events::EventKind;

/// Milliseconds in a day.
const DAY_MS: f64 = 86_400_000.0;

/// How much history is kept: at most `max_events` events, none older than `max_age_days`;
/// the oldest go first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Retention {
    /// Most events kept (default [`Retention::DEFAULT_MAX_EVENTS`]).
    pub max_events: usize,
    /// Oldest event kept, in days before now (default [`Retention::DEFAULT_MAX_AGE_DAYS`]).
    pub max_age_days: f64,
}

impl Retention {
    /// 10,000 events: years of a shopper's browsing; the model reads only the newest 50.
    pub const DEFAULT_MAX_EVENTS: usize = 10_000;
    /// A year.
    pub const DEFAULT_MAX_AGE_DAYS: f64 = 365.0;
}

impl Default for Retention {
    fn default() -> Self {
        Retention { max_events: Self::DEFAULT_MAX_EVENTS, max_age_days: Self::DEFAULT_MAX_AGE_DAYS }
    }
}

/// What `recommend()` leaves out of the shopper's own history when `excludeSeen` is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExcludeRules {
    /// Items the shopper bought (default true).
    pub purchased: bool,
    /// The items of the newest this-many events naming an item, of any kind (default
    /// [`ExcludeRules::DEFAULT_RECENT`]): what the shopper has just looked at or put in the
    /// cart. Older views may come back.
    pub recent: usize,
}

impl ExcludeRules {
    /// The default window of recent events.
    pub const DEFAULT_RECENT: usize = 20;
}

impl Default for ExcludeRules {
    fn default() -> Self {
        ExcludeRules { purchased: true, recent: Self::DEFAULT_RECENT }
    }
}

/// The events in time order, with a key each (see the module docs).
#[derive(Clone, Debug)]
pub struct EventLog<K> {
    events: Vec<(K, TrackedEvent)>,
    /// Purchase events per item id.
    purchases: HashMap<String, usize>,
    /// Changes whenever the set of purchased items may have changed.
    purchases_version: u64,
}

impl<K> Default for EventLog<K> {
    fn default() -> Self {
        EventLog { events: Vec::new(), purchases: HashMap::new(), purchases_version: 0 }
    }
}

impl<K> EventLog<K> {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when there is no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The events, oldest first, with their keys.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &(K, TrackedEvent)> {
        self.events.iter()
    }

    /// Adds one event in `(time, key)` order: after every event of an earlier time, or of
    /// the same time and a key not greater than `key` (equal keys keep their arrival order).
    pub fn insert(&mut self, key: K, event: TrackedEvent)
    where
        K: Ord,
    {
        if event.kind == EventKind::Purchase {
            if let Some(item) = &event.item {
                *self.purchases.entry(item.clone()).or_default() += 1;
                self.purchases_version += 1;
            }
        }
        let not_after = |(k, e): &(K, TrackedEvent)| (e.ts, k) <= (event.ts, &key);
        let at = if self.events.last().is_none_or(not_after) {
            self.events.len()
        } else {
            self.events.partition_point(not_after)
        };
        self.events.insert(at, (key, event));
    }

    /// Removes every event.
    pub fn clear(&mut self) {
        self.events.clear();
        self.purchases.clear();
        self.purchases_version += 1;
    }

    /// Removes the events `drop` selects, returning them (oldest first).
    pub fn remove_where(&mut self, mut drop: impl FnMut(&K, &TrackedEvent) -> bool) -> Vec<(K, TrackedEvent)> {
        let (gone, kept): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.events).into_iter().partition(|(k, e)| drop(k, e));
        self.events = kept;
        for (_, e) in &gone {
            self.forget_purchase(e);
        }
        gone
    }

    fn forget_purchase(&mut self, e: &TrackedEvent) {
        if e.kind != EventKind::Purchase {
            return;
        }
        if let Some(item) = &e.item {
            if let Some(n) = self.purchases.get_mut(item) {
                *n -= 1;
                if *n == 0 {
                    self.purchases.remove(item);
                    self.purchases_version += 1;
                }
            }
        }
    }

    /// Drops the events `retention` does not keep at `now_ms` — older than its age, then the
    /// oldest beyond its count — returning them, oldest first (the caller deletes them from
    /// storage).
    pub fn enforce(&mut self, retention: &Retention, now_ms: i64) -> Vec<(K, TrackedEvent)> {
        let cutoff = now_ms as f64 - retention.max_age_days * DAY_MS;
        let too_old = self.events.partition_point(|(_, e)| (e.ts as f64) < cutoff);
        let over = self.events.len().saturating_sub(retention.max_events);
        let n = too_old.max(over);
        let gone: Vec<(K, TrackedEvent)> = self.events.drain(..n).collect();
        for (_, e) in &gone {
            self.forget_purchase(e);
        }
        gone
    }

    /// The item sequence the encoder reads, oldest first: the newest `max` events naming an
    /// item the model knows, with their kinds. Reads from the newest event back, so its cost
    /// does not grow with the log.
    pub fn model_history(&self, catalog: &Catalog, max: usize) -> Vec<(u32, EventKind)> {
        let mut out: Vec<(u32, EventKind)> = self
            .events
            .iter()
            .rev()
            .filter_map(|(_, e)| {
                let i = catalog.get(e.item.as_deref()?)?;
                catalog.in_model(i).then_some((i, e.kind))
            })
            .take(max)
            .collect();
        out.reverse();
        out
    }

    /// The catalogue items `rules` exclude from recommendations (see [`ExcludeRules`]).
    pub fn excluded(&self, catalog: &Catalog, rules: &ExcludeRules) -> HashSet<u32> {
        let mut out = self.recent(catalog, rules.recent);
        if rules.purchased {
            let mask = self.purchased(catalog);
            out.extend((0..mask.len() as u32).filter(|&i| mask[i as usize]));
        }
        out
    }

    /// Which catalogue items were bought: `catalog.len() + 1` flags by item index. Its cost
    /// grows with the number of distinct items bought, so a caller serving many requests keeps
    /// it while [`EventLog::purchases_version`] and the catalogue's length stay the same.
    pub fn purchased(&self, catalog: &Catalog) -> Vec<bool> {
        let mut mask = vec![false; catalog.len() + 1];
        for i in self.purchases.keys().filter_map(|id| catalog.get(id)) {
            mask[i as usize] = true;
        }
        mask
    }

    /// A number that changes whenever the set of purchased items may have changed.
    pub fn purchases_version(&self) -> u64 {
        self.purchases_version
    }

    /// The catalogue items of the newest `n` events naming an item.
    pub fn recent(&self, catalog: &Catalog, n: usize) -> HashSet<u32> {
        self.events
            .iter()
            .rev()
            .filter_map(|(_, e)| e.item.as_deref())
            .take(n)
            .filter_map(|id| catalog.get(id))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::ItemUpdate;

    fn ev(item: &str, kind: EventKind, ts: i64) -> TrackedEvent {
        TrackedEvent { item: Some(item.into()), kind, query: None, ts, recommendation: None }
    }

    fn catalog() -> Catalog {
        Catalog::from_manifest(&super::super::tests::bundle().manifest).unwrap()
    }

    #[test]
    fn keeps_time_order_and_arrival_order_on_ties() {
        let mut log = EventLog::new();
        for (n, (item, ts)) in [("a", 20), ("b", 10), ("c", 20), ("d", 5), ("e", 30)].into_iter().enumerate() {
            log.insert(n, ev(item, EventKind::View, ts));
        }
        let order: Vec<(usize, &str)> = log.iter().map(|(k, e)| (*k, e.item.as_deref().unwrap())).collect();
        assert_eq!(order, [(3, "d"), (1, "b"), (0, "a"), (2, "c"), (4, "e")]);
        // Equal times: by key, whatever the arrival order (two tabs agree).
        let mut other = EventLog::new();
        for (key, item) in [(2, "c"), (0, "a"), (1, "b")] {
            other.insert(key, ev(item, EventKind::View, 7));
        }
        let order: Vec<usize> = other.iter().map(|(k, _)| *k).collect();
        assert_eq!(order, [0, 1, 2]);
    }

    #[test]
    fn the_model_reads_the_newest_known_items_only() {
        let c = catalog();
        let mut log = EventLog::new();
        let search = TrackedEvent {
            item: None,
            kind: EventKind::Search,
            query: Some("tea".into()),
            ts: 4,
            recommendation: None,
        };
        for e in [
            ev("a", EventKind::View, 1),
            ev("not-in-the-bundle", EventKind::View, 2),
            ev("b", EventKind::Cart, 3),
            search,
            ev("c", EventKind::View, 5),
        ] {
            log.insert((), e);
        }
        let ids = |h: Vec<(u32, EventKind)>| h.iter().map(|(i, _)| c.id(*i).to_string()).collect::<Vec<_>>();
        assert_eq!(ids(log.model_history(&c, 10)), ["a", "b", "c"]);
        assert_eq!(ids(log.model_history(&c, 2)), ["b", "c"]);
        assert_eq!(log.model_history(&c, 2)[0].1, EventKind::Cart);
        // An item added to the catalogue after training is still not read by the encoder.
        let mut c2 = c.clone();
        c2.update(&[ItemUpdate { item: "not-in-the-bundle".into(), ..Default::default() }]).unwrap();
        assert_eq!(ids(log.model_history(&c2, 10)), ["a", "b", "c"]);
    }

    #[test]
    fn retention_drops_the_oldest_first_and_forgets_their_purchases() {
        let day = DAY_MS as i64;
        let now = 400 * day;
        let mut log = EventLog::new();
        log.insert(0, ev("a", EventKind::Purchase, 10 * day)); // 390 days old
        for n in 1..=5 {
            log.insert(n, ev("b", EventKind::View, now - (10 - n as i64) * day));
        }
        let keep_all = Retention { max_events: 100, max_age_days: 1000.0 };
        assert!(log.enforce(&keep_all, now).is_empty());
        let c = catalog();
        assert!(log.excluded(&c, &ExcludeRules { purchased: true, recent: 0 }).contains(&c.index("a").unwrap()));
        let gone = log.enforce(&Retention::default(), now);
        assert_eq!(gone.iter().map(|g| g.0).collect::<Vec<_>>(), [0], "older than a year");
        assert!(log.excluded(&c, &ExcludeRules { purchased: true, recent: 0 }).is_empty());
        let gone = log.enforce(&Retention { max_events: 2, max_age_days: 365.0 }, now);
        assert_eq!(gone.iter().map(|g| g.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(log.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [4, 5]);
    }

    #[test]
    fn exclusions_are_purchases_and_recent_items() {
        let c = catalog();
        let mut log = EventLog::new();
        log.insert((), ev("a", EventKind::Purchase, 1));
        log.insert((), ev("b", EventKind::View, 2));
        log.insert((), ev("c", EventKind::Cart, 3));
        log.insert((), ev("d", EventKind::View, 4));
        let idx = |ids: &[&str]| ids.iter().map(|id| c.index(id).unwrap()).collect::<HashSet<u32>>();
        assert_eq!(log.excluded(&c, &ExcludeRules::default()), idx(&["a", "b", "c", "d"]));
        assert_eq!(log.excluded(&c, &ExcludeRules { purchased: true, recent: 2 }), idx(&["a", "c", "d"]));
        assert_eq!(log.excluded(&c, &ExcludeRules { purchased: false, recent: 1 }), idx(&["d"]));
        let v = log.purchases_version();
        log.insert((), ev("b", EventKind::View, 5));
        assert_eq!(log.purchases_version(), v, "a view does not change the purchases");
        let mask = log.purchased(&c);
        assert_eq!(mask.len(), 7);
        assert_eq!((0..7u32).filter(|&i| mask[i as usize]).collect::<Vec<_>>(), [c.index("a").unwrap()]);
        let gone = log.remove_where(|_, e| e.kind == EventKind::Purchase);
        assert_eq!(gone.len(), 1);
        assert_ne!(log.purchases_version(), v);
        assert_eq!(log.excluded(&c, &ExcludeRules { purchased: true, recent: 0 }), HashSet::new());
    }
}
