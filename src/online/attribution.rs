//! What happened after a recommendation, measured on the shopper's device: every list that
//! `recommend()` or `rerank()` shows is an [`Impression`]; the shopper's later events are
//! attributed to it, and [`online_stats`] turns both into online metrics per variant and day.
//!
//! # Attribution
//!
//! An item event (view, cart, purchase) is attributed to at most one impression:
//!
//! - to the impression its `recommendationId` names, if that list showed the item;
//! - else to the newest impression that showed the item within [`AttributionRules::window_ms`]
//!   before the event (default 30 minutes).
//!
//! An attributed view is a **click** (the shopper opened a recommended item), a cart an
//! **add to cart** and a purchase a **purchase** after a recommendation; the slot is the item's
//! 0-based position in the list.
//!
//! # Metrics (per variant, and per UTC day of the impression)
//!
//! - `impression_sets`: lists shown; `items_shown`: their items;
//! - `ctr` = clicks / impression sets; `cart_rate` = carts / impression sets; `purchase_rate` =
//!   purchases / impression sets;
//! - `hit_rate` = hits / judged: a list is judged when an item event follows it, and a hit when
//!   that next event's item was in the list (the online twin of offline HR@k);
//! - `mrr` = mean of 1 / (slot + 1) over clicks;
//! - `coverage` = distinct items shown / catalogue size.
//!
//! The counts come with the rates so that a reader can judge the noise.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::data::loaders::dates::iso_day;
use crate::events::EventKind;
use crate::serve::TrackedEvent;

/// One list shown to the shopper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Impression {
    /// The `recommendationId` returned with the list.
    pub id: String,
    /// When it was shown (milliseconds since the epoch).
    pub ts: i64,
    /// Which model (variant of an experiment) made it.
    pub variant: String,
    /// The item ids shown, in slot order.
    pub items: Vec<String>,
}

/// How events are attributed to impressions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttributionRules {
    /// How long after an impression an event without a `recommendationId` may be attributed to
    /// it, in milliseconds.
    pub window_ms: i64,
}

impl AttributionRules {
    /// 30 minutes: a shopping visit.
    pub const DEFAULT_WINDOW_MS: i64 = 30 * 60 * 1000;
}

impl Default for AttributionRules {
    fn default() -> Self {
        AttributionRules { window_ms: Self::DEFAULT_WINDOW_MS }
    }
}

/// The online metrics of one variant (or one day of it): counts and the rates made of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    /// Lists shown.
    pub impression_sets: u64,
    /// Items shown in them.
    pub items_shown: u64,
    /// Attributed views.
    pub clicks: u64,
    /// Attributed add-to-carts.
    pub carts: u64,
    /// Attributed purchases.
    pub purchases: u64,
    /// Lists followed by an item event.
    pub judged: u64,
    /// Lists whose next item event was one of their items.
    pub hits: u64,
    /// Distinct items shown.
    pub distinct_items: u64,
    /// Clicks / impression sets.
    pub ctr: f64,
    /// Carts / impression sets.
    pub cart_rate: f64,
    /// Purchases / impression sets.
    pub purchase_rate: f64,
    /// Hits / judged.
    pub hit_rate: f64,
    /// Mean 1 / (slot + 1) over clicks.
    pub mrr: f64,
    /// Distinct items shown / catalogue size.
    pub coverage: f64,
    #[serde(skip)]
    reciprocal_ranks: f64,
    #[serde(skip)]
    shown: HashSet<String>,
}

impl Metrics {
    /// What a device measured, as the [`super::DeviceSummary`] of its `variant` (the input of
    /// a private report).
    pub fn summary(&self, variant: &str) -> super::DeviceSummary {
        super::DeviceSummary {
            variant: variant.to_string(),
            impression_sets: self.impression_sets,
            clicks: self.clicks,
            carts: self.carts,
            purchases: self.purchases,
            hits: self.hits,
        }
    }

    fn finish(&mut self, catalog_size: usize) {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        self.distinct_items = self.shown.len() as u64;
        self.ctr = ratio(self.clicks, self.impression_sets);
        self.cart_rate = ratio(self.carts, self.impression_sets);
        self.purchase_rate = ratio(self.purchases, self.impression_sets);
        self.hit_rate = ratio(self.hits, self.judged);
        self.mrr = if self.clicks == 0 { 0.0 } else { self.reciprocal_ranks / self.clicks as f64 };
        self.coverage = if catalog_size == 0 { 0.0 } else { self.shown.len() as f64 / catalog_size as f64 };
    }
}

/// One variant's metrics, overall and by UTC day (`YYYY-MM-DD`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariantStats {
    /// Over the whole period.
    #[serde(flatten)]
    pub total: Metrics,
    /// By the day of the impression.
    pub days: BTreeMap<String, Metrics>,
}

/// The online metrics of every variant, with the attribution window used.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnlineStats {
    /// By variant name.
    pub variants: BTreeMap<String, VariantStats>,
    /// The attribution window, in milliseconds.
    pub window_ms: i64,
    /// Impressions counted (shown at or after `since`).
    pub impressions: u64,
}

/// The online metrics of the impressions shown at or after `since` (all when `None`), from
/// the events that followed them (`events` in time order), over a catalogue of `catalog_size`
/// items. See the module docs for the rules.
pub fn online_stats(
    impressions: &[Impression],
    events: &[&TrackedEvent],
    rules: &AttributionRules,
    since: Option<i64>,
    catalog_size: usize,
) -> OnlineStats {
    let mut order: Vec<usize> = (0..impressions.len()).collect();
    order.sort_by_key(|&i| impressions[i].ts);
    let by_id: HashMap<&str, usize> = impressions.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
    // For each item, the impressions that showed it, oldest first: (ts, impression, slot).
    let mut showed: HashMap<&str, Vec<(i64, usize, usize)>> = HashMap::new();
    for &i in &order {
        for (slot, item) in impressions[i].items.iter().enumerate() {
            showed.entry(item.as_str()).or_default().push((impressions[i].ts, i, slot));
        }
    }
    let counted = |i: usize| since.is_none_or(|s| impressions[i].ts >= s);
    let mut stats = OnlineStats { window_ms: rules.window_ms, ..Default::default() };
    let entry = |stats: &mut OnlineStats, i: usize, f: &mut dyn FnMut(&mut Metrics)| {
        let m = &impressions[i];
        let v = stats.variants.entry(m.variant.clone()).or_default();
        f(&mut v.total);
        f(v.days.entry(iso_day(m.ts)).or_default());
    };

    for &i in order.iter().filter(|&&i| counted(i)) {
        stats.impressions += 1;
        let m = &impressions[i];
        // The first item event at or after the impression.
        let from = events.partition_point(|e| e.ts < m.ts);
        let next = events[from..].iter().find_map(|e| e.item.as_deref());
        entry(&mut stats, i, &mut |x: &mut Metrics| {
            x.impression_sets += 1;
            x.items_shown += m.items.len() as u64;
            x.shown.extend(m.items.iter().cloned());
            if let Some(next) = next {
                x.judged += 1;
                x.hits += u64::from(m.items.iter().any(|it| it == next));
            }
        });
    }

    for e in events {
        let Some(item) = e.item.as_deref() else { continue };
        if !matches!(e.kind, EventKind::View | EventKind::Cart | EventKind::Purchase) {
            continue;
        }
        let named = e
            .recommendation
            .as_deref()
            .and_then(|id| by_id.get(id))
            .and_then(|&i| Some((i, impressions[i].items.iter().position(|it| it == item)?)));
        let attributed = named.or_else(|| {
            let list = showed.get(item)?;
            let upto = list.partition_point(|s| s.0 <= e.ts);
            let &(ts, i, slot) = list[..upto].last()?;
            (e.ts - ts <= rules.window_ms).then_some((i, slot))
        });
        let Some((i, slot)) = attributed else { continue };
        if !counted(i) {
            continue;
        }
        entry(&mut stats, i, &mut |x: &mut Metrics| match e.kind {
            EventKind::View => {
                x.clicks += 1;
                x.reciprocal_ranks += 1.0 / (slot as f64 + 1.0);
            }
            EventKind::Cart => x.carts += 1,
            _ => x.purchases += 1,
        });
    }
    for v in stats.variants.values_mut() {
        v.total.finish(catalog_size);
        for d in v.days.values_mut() {
            d.finish(catalog_size);
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imp(id: &str, ts: i64, variant: &str, items: &[&str]) -> Impression {
        Impression { id: id.into(), ts, variant: variant.into(), items: items.iter().map(|s| s.to_string()).collect() }
    }

    fn ev(item: &str, kind: EventKind, ts: i64, rid: Option<&str>) -> TrackedEvent {
        TrackedEvent { item: Some(item.into()), kind, query: None, ts, recommendation: rid.map(Into::into) }
    }

    const DAY: i64 = 86_400_000;
    const MIN: i64 = 60_000;

    /// Two variants, hand-counted:
    /// - A1 (day 1, t=0): [x y z]. Next item event: view y at 1 min (hit). Attributed: view y
    ///   (slot 1, by id), cart y (slot 1, by window), purchase y (by window, 10 min).
    /// - A2 (day 2): [p q]. Next event: view r (a miss); view q 31 minutes later: outside the
    ///   window, not attributed.
    /// - B1 (day 1, t=2 min): [y w]. Next event: cart y at 3 min (hit). The view of y at 1 min
    ///   came before it. The cart of y at 3 min is attributed to the newest list showing y
    ///   within 30 min: B1 (slot 0), not A1.
    #[test]
    fn metrics_by_variant_and_day_match_hand_counts() {
        let impressions = [
            imp("A1", 0, "a", &["x", "y", "z"]),
            imp("B1", 2 * MIN, "b", &["y", "w"]),
            imp("A2", DAY, "a", &["p", "q"]),
        ];
        let events = [
            ev("y", EventKind::View, MIN, Some("A1")),
            ev("y", EventKind::Cart, 3 * MIN, None),
            ev("y", EventKind::Purchase, 10 * MIN, Some("A1")),
            ev("r", EventKind::View, DAY + MIN, None),
            ev("q", EventKind::View, DAY + 31 * MIN, None),
        ];
        let refs: Vec<&TrackedEvent> = events.iter().collect();
        let s = online_stats(&impressions, &refs, &AttributionRules::default(), None, 10);
        assert_eq!(s.impressions, 3);
        let a = &s.variants["a"].total;
        assert_eq!((a.impression_sets, a.items_shown, a.clicks, a.carts, a.purchases), (2, 5, 1, 0, 1));
        assert_eq!((a.judged, a.hits), (2, 1));
        assert_eq!((a.ctr, a.purchase_rate, a.hit_rate), (0.5, 0.5, 0.5));
        assert_eq!(a.mrr, 0.5, "one click, slot 1");
        assert_eq!((a.distinct_items, a.coverage), (5, 0.5));
        let b = &s.variants["b"].total;
        assert_eq!((b.impression_sets, b.clicks, b.carts, b.purchases, b.judged, b.hits), (1, 0, 1, 0, 1, 1));
        assert_eq!(b.cart_rate, 1.0);
        let days: Vec<&str> = s.variants["a"].days.keys().map(String::as_str).collect();
        assert_eq!(days, ["1970-01-01", "1970-01-02"]);
        let day2 = &s.variants["a"].days["1970-01-02"];
        assert_eq!((day2.impression_sets, day2.judged, day2.hits, day2.clicks), (1, 1, 0, 0));
        // `since`: day 2 only.
        let s2 = online_stats(&impressions, &refs, &AttributionRules::default(), Some(DAY), 10);
        assert_eq!(s2.impressions, 1);
        assert!(!s2.variants.contains_key("b"));
        assert_eq!(s2.variants["a"].total.purchases, 0, "the purchase belongs to a list before `since`");
        // A wider window attributes the late view of q (slot 1).
        let wide = online_stats(&impressions, &refs, &AttributionRules { window_ms: 60 * MIN }, None, 10);
        assert_eq!(wide.variants["a"].total.clicks, 2);
        let summary = s.variants["a"].total.summary("a");
        assert_eq!(
            (summary.impression_sets, summary.clicks, summary.carts, summary.purchases, summary.hits),
            (2, 1, 0, 1, 1)
        );
        assert!(summary.indicators().purchased && !summary.indicators().carted);
    }

    #[test]
    fn a_named_list_that_did_not_show_the_item_falls_back_to_the_window() {
        let impressions = [imp("A1", 0, "a", &["x"]), imp("A2", MIN, "a", &["y"])];
        let events = [ev("y", EventKind::View, 2 * MIN, Some("A1"))];
        let refs: Vec<&TrackedEvent> = events.iter().collect();
        let s = online_stats(&impressions, &refs, &AttributionRules::default(), None, 5);
        assert_eq!(s.variants["a"].total.clicks, 1);
        assert_eq!(s.variants["a"].total.mrr, 1.0, "attributed to A2, slot 0");
        // Nothing shown, nothing counted.
        let empty = online_stats(&[], &refs, &AttributionRules::default(), None, 5);
        assert!(empty.variants.is_empty());
    }
}
