//! Behaviour events, their validation, the item vocabulary and sequence building.
//!
//! An [`Event`] is one thing a shopper did: viewed, carted, purchased, searched, rated or
//! reviewed an item at a time. Events arrive from loaders (files) or from the browser
//! (JavaScript objects, see [`RawEvent`]) and are validated before anything stores them.
//!
//! Items are known to the models by a dense index: [`ItemVocab`] maps external string ids to
//! `1..=n`; index `0` is padding and never names an item.
//!
//! ```
//! use localrec::events::{Event, EventKind, ItemVocab, SequenceBuilder, SequenceOptions};
//!
//! let mut vocab = ItemVocab::new();
//! let mut seq = SequenceBuilder::new();
//! for (item, ts) in [("b", 20), ("a", 10), ("a", 10), ("c", 30)] {
//!     let e = Event::new("u1", item, EventKind::View, ts)?;
//!     seq.push(vocab.intern(&e.item), e.kind, e.ts);
//! }
//! let s = seq.build(&SequenceOptions { dedupe_consecutive: true, max_len: None });
//! let ids: Vec<&str> = s.items.iter().map(|&i| vocab.id(i).unwrap()).collect();
//! assert_eq!(ids, ["a", "b", "c"]);
//! # Ok::<(), localrec::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest accepted search query, in characters.
pub const MAX_QUERY_CHARS: usize = 512;
/// Longest accepted user or item id, in characters.
pub const MAX_ID_CHARS: usize = 256;
/// Latest accepted timestamp: 2100-01-01T00:00:00Z in milliseconds.
pub const MAX_TS_MS: i64 = 4_102_444_800_000;

/// What the shopper did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum EventKind {
    /// Looked at an item (product page, click).
    #[default]
    View = 0,
    /// Added an item to the cart.
    Cart = 1,
    /// Bought an item.
    Purchase = 2,
    /// Searched (with a query); the item, if any, is the result clicked.
    Search = 3,
    /// Rated an item (`value` holds the rating).
    Rate = 4,
    /// Reviewed an item.
    Review = 5,
}

impl EventKind {
    /// Every kind, in index order.
    pub const ALL: [EventKind; 6] =
        [EventKind::View, EventKind::Cart, EventKind::Purchase, EventKind::Search, EventKind::Rate, EventKind::Review];

    /// The lower-case name used in files and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::View => "view",
            EventKind::Cart => "cart",
            EventKind::Purchase => "purchase",
            EventKind::Search => "search",
            EventKind::Rate => "rate",
            EventKind::Review => "review",
        }
    }

    /// Dense index `0..6`, for embedding tables.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = Error;

    /// Parses a kind name, case-insensitively. Common synonyms from public logs are accepted:
    /// `click`/`pageview` → view, `addtocart`/`add_to_cart` → cart,
    /// `transaction`/`buy`/`order` → purchase, `rating` → rate.
    fn from_str(s: &str) -> Result<Self> {
        let k = s.trim().to_ascii_lowercase();
        Ok(match k.as_str() {
            "view" | "click" | "pageview" | "page_view" | "detail" => EventKind::View,
            "cart" | "addtocart" | "add_to_cart" | "add-to-cart" => EventKind::Cart,
            "purchase" | "transaction" | "buy" | "order" => EventKind::Purchase,
            "search" => EventKind::Search,
            "rate" | "rating" => EventKind::Rate,
            "review" => EventKind::Review,
            _ => return Err(Error::UnknownEventKind { kind: s.to_string() }),
        })
    }
}

/// One validated behaviour event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// External user (or session) id; never empty.
    pub user: String,
    /// External item id; empty only for a search that clicked nothing.
    pub item: String,
    /// What happened.
    pub kind: EventKind,
    /// Milliseconds since the Unix epoch, in `0..=MAX_TS_MS`.
    pub ts: i64,
    /// The search text, for `search` events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// A rating or other value; finite when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f32>,
}

impl Event {
    /// A validated event without query or value.
    pub fn new(user: &str, item: &str, kind: EventKind, ts: i64) -> Result<Event> {
        let e = Event { user: user.to_string(), item: item.to_string(), kind, ts, query: None, value: None };
        e.validate()?;
        Ok(e)
    }

    /// Checks every field; the error names the first field that is wrong.
    pub fn validate(&self) -> Result<()> {
        check_id("user", &self.user)?;
        match self.kind {
            EventKind::Search => {
                let q = self.query.as_deref().unwrap_or("");
                if q.trim().is_empty() {
                    return Err(Error::EmptyField { field: "query" });
                }
                if !self.item.is_empty() {
                    check_id("item", &self.item)?;
                }
            }
            _ => check_id("item", &self.item)?,
        }
        if let Some(q) = &self.query {
            let n = q.chars().count();
            if n > MAX_QUERY_CHARS {
                return Err(Error::TooLong { field: "query", len: n, max: MAX_QUERY_CHARS });
            }
        }
        check_ts_ms(self.ts)?;
        if let Some(v) = self.value {
            if !v.is_finite() {
                return Err(Error::invalid("value", format!("{v} is not a finite number")));
            }
        }
        Ok(())
    }
}

fn check_id(field: &'static str, id: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::EmptyField { field });
    }
    let n = id.chars().count();
    if n > MAX_ID_CHARS {
        return Err(Error::TooLong { field, len: n, max: MAX_ID_CHARS });
    }
    Ok(())
}

fn check_ts_ms(ts: i64) -> Result<()> {
    if !(0..=MAX_TS_MS).contains(&ts) {
        return Err(Error::InvalidTimestamp {
            value: ts.to_string(),
            reason: "outside 1970-01-01 .. 2100-01-01 (milliseconds since the epoch)",
        });
    }
    Ok(())
}

/// Validates a timestamp given as a float of milliseconds (as JavaScript sends it).
pub fn ts_from_f64_ms(ts: f64) -> Result<i64> {
    if ts.is_nan() {
        return Err(Error::InvalidTimestamp { value: "NaN".into(), reason: "not a number" });
    }
    if !ts.is_finite() {
        return Err(Error::InvalidTimestamp { value: ts.to_string(), reason: "not finite" });
    }
    if ts < 0.0 || ts > MAX_TS_MS as f64 {
        return Err(Error::InvalidTimestamp {
            value: ts.to_string(),
            reason: "outside 1970-01-01 .. 2100-01-01 (milliseconds since the epoch)",
        });
    }
    Ok(ts.round() as i64)
}

/// An event as it arrives from outside (JSON, JavaScript): every field optional and loosely
/// typed. [`RawEvent::validate`] turns it into an [`Event`] or names what is wrong.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct RawEvent {
    /// User id (optional where the caller supplies it, e.g. the browser's own shopper).
    #[serde(default)]
    pub user: Option<String>,
    /// Item id.
    #[serde(default)]
    pub item: Option<String>,
    /// Event kind name; `type` is accepted as an alias.
    #[serde(default, alias = "type")]
    pub kind: Option<String>,
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub ts: Option<f64>,
    /// Search text.
    #[serde(default)]
    pub query: Option<String>,
    /// Rating or value.
    #[serde(default)]
    pub value: Option<f64>,
}

impl RawEvent {
    /// Validates every field. `default_user` is used when the event names no user.
    pub fn validate(self, default_user: Option<&str>) -> Result<Event> {
        let user = self.user.or_else(|| default_user.map(str::to_string)).unwrap_or_default();
        let kind = match self.kind.as_deref() {
            None | Some("") => return Err(Error::EmptyField { field: "kind" }),
            Some(k) => k.parse()?,
        };
        let ts = match self.ts {
            None => {
                return Err(Error::InvalidTimestamp {
                    value: "(missing)".into(),
                    reason: "the field `ts` is required",
                });
            }
            Some(t) => ts_from_f64_ms(t)?,
        };
        let value = match self.value {
            None => None,
            Some(v) if !v.is_finite() => return Err(Error::invalid("value", format!("{v} is not a finite number"))),
            Some(v) => Some(v as f32),
        };
        let e = Event { user, item: self.item.unwrap_or_default(), kind, ts, query: self.query, value };
        e.validate()?;
        Ok(e)
    }
}

/// External item id ↔ dense index. Index `0` is padding; items are `1..=num_items()`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemVocab {
    ids: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

impl ItemVocab {
    /// An empty vocabulary (only the padding slot).
    pub fn new() -> Self {
        ItemVocab { ids: vec![String::new()], index: HashMap::new() }
    }

    /// A vocabulary from ids in index order (the first gets index 1). Duplicate or empty ids
    /// are an error.
    pub fn from_ids<I, S>(ids: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut v = ItemVocab::new();
        for id in ids {
            let id = id.into();
            if id.is_empty() {
                return Err(Error::EmptyField { field: "item" });
            }
            if v.index.contains_key(&id) {
                return Err(Error::invalid("item", format!("duplicate item id `{id}` in vocabulary")));
            }
            v.intern(&id);
        }
        Ok(v)
    }

    /// Rebuilds the lookup table after deserialisation.
    pub fn rebuild_index(&mut self) {
        if self.ids.is_empty() {
            self.ids.push(String::new());
        }
        self.index = self.ids.iter().enumerate().skip(1).map(|(i, s)| (s.clone(), i as u32)).collect();
    }

    /// The index of `id`, adding it if new.
    pub fn intern(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.ids.len() as u32;
        self.ids.push(id.to_string());
        self.index.insert(id.to_string(), i);
        i
    }

    /// The index of `id`, if known.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The index of `id`, or [`Error::UnknownItem`].
    pub fn lookup(&self, id: &str) -> Result<u32> {
        self.get(id).ok_or_else(|| Error::UnknownItem { item: id.to_string() })
    }

    /// The external id of index `i` (`None` for padding or out of range).
    pub fn id(&self, i: u32) -> Option<&str> {
        if i == 0 { None } else { self.ids.get(i as usize).map(String::as_str) }
    }

    /// Number of real items (padding excluded).
    pub fn num_items(&self) -> usize {
        self.ids.len().saturating_sub(1)
    }

    /// Rows of an item table: `num_items() + 1` (padding included).
    pub fn size(&self) -> usize {
        self.num_items() + 1
    }

    /// External ids in index order, starting at index 1.
    pub fn ids(&self) -> &[String] {
        self.ids.get(1..).unwrap_or(&[])
    }
}

/// A time-ordered sequence of one user's (or session's) interactions, stored by column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    /// Dense item indices (never 0).
    pub items: Vec<u32>,
    /// Event kinds, one per item.
    pub kinds: Vec<EventKind>,
    /// Timestamps in ms (or positions when the data has no time), non-decreasing.
    pub ts: Vec<i64>,
}

impl Sequence {
    /// Number of interactions.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when there are no interactions.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The interactions in `range` as a new sequence.
    pub fn slice(&self, range: Range<usize>) -> Sequence {
        Sequence {
            items: self.items[range.clone()].to_vec(),
            kinds: self.kinds[range.clone()].to_vec(),
            ts: self.ts[range].to_vec(),
        }
    }
}

/// How [`SequenceBuilder::build`] shapes a sequence.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceOptions {
    /// Drop an interaction with the same item as the one just before it.
    pub dedupe_consecutive: bool,
    /// Keep only the last `max_len` interactions.
    pub max_len: Option<usize>,
}

/// Collects one user's interactions in arrival order and builds a [`Sequence`] sorted stably
/// by `(ts, arrival)`.
#[derive(Clone, Debug, Default)]
pub struct SequenceBuilder {
    rows: Vec<(i64, u32, EventKind)>,
}

impl SequenceBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one interaction (arrival order is remembered for ties).
    pub fn push(&mut self, item: u32, kind: EventKind, ts: i64) {
        self.rows.push((ts, item, kind));
    }

    /// Number of interactions pushed.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The sorted, optionally de-duplicated and truncated sequence.
    pub fn build(mut self, opts: &SequenceOptions) -> Sequence {
        // `sort_by_key` is stable: equal timestamps keep their arrival order.
        self.rows.sort_by_key(|r| r.0);
        let mut s = Sequence::default();
        for (ts, item, kind) in self.rows {
            if opts.dedupe_consecutive && s.items.last() == Some(&item) {
                continue;
            }
            s.items.push(item);
            s.kinds.push(kind);
            s.ts.push(ts);
        }
        if let Some(m) = opts.max_len {
            if s.len() > m {
                let from = s.len() - m;
                s = s.slice(from..s.len());
            }
        }
        s
    }
}

/// Training windows over a sequence of length `len`.
///
/// Each window is a range of at most `max_len + 1` positions: a model reads positions
/// `w.start..w.end - 1` and predicts `w.start + 1..w.end`. The last window always ends at
/// `len`; earlier windows step back by `stride` until the start of the sequence is covered.
/// Sequences shorter than two items yield nothing.
///
/// ```
/// use localrec::events::sliding_windows;
/// assert_eq!(sliding_windows(5, 10, 10), vec![0..5]);
/// assert_eq!(sliding_windows(7, 3, 2), vec![3..7, 1..5, 0..3]);
/// ```
pub fn sliding_windows(len: usize, max_len: usize, stride: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    if len < 2 || max_len == 0 {
        return out;
    }
    let stride = stride.max(1);
    let width = max_len + 1;
    let mut end = len;
    loop {
        let start = end.saturating_sub(width);
        out.push(start..end);
        if start == 0 || end < 2 + stride {
            if start > 0 {
                out.push(0..width.min(len));
            }
            break;
        }
        end -= stride;
        if end < 2 {
            break;
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_with_synonyms_and_reject_unknown() {
        assert_eq!("View".parse::<EventKind>().unwrap(), EventKind::View);
        assert_eq!("addtocart".parse::<EventKind>().unwrap(), EventKind::Cart);
        assert_eq!("transaction".parse::<EventKind>().unwrap(), EventKind::Purchase);
        let e = "teleport".parse::<EventKind>().unwrap_err();
        assert!(e.to_string().contains("unknown event kind `teleport`"), "{e}");
    }

    #[test]
    fn validation_names_the_field() {
        assert!(matches!(Event::new("", "i", EventKind::View, 1), Err(Error::EmptyField { field: "user" })));
        assert!(matches!(Event::new("u", " ", EventKind::View, 1), Err(Error::EmptyField { field: "item" })));
        assert!(matches!(Event::new("u", "i", EventKind::View, -5), Err(Error::InvalidTimestamp { .. })));
        assert!(matches!(Event::new("u", "i", EventKind::View, MAX_TS_MS + 1), Err(Error::InvalidTimestamp { .. })));
        // a search needs a query, but may have no item
        let mut s =
            Event { user: "u".into(), item: String::new(), kind: EventKind::Search, ts: 1, query: None, value: None };
        assert!(matches!(s.validate(), Err(Error::EmptyField { field: "query" })));
        s.query = Some("red shoes".into());
        s.validate().unwrap();
        s.query = Some("x".repeat(MAX_QUERY_CHARS + 1));
        assert!(matches!(s.validate(), Err(Error::TooLong { field: "query", .. })));
    }

    #[test]
    fn raw_events_reject_missing_nan_and_unknown() {
        let ok: RawEvent = serde_json::from_str(r#"{"item":"42","type":"cart","ts":1700000000000}"#).unwrap();
        let e = ok.validate(Some("me")).unwrap();
        assert_eq!((e.user.as_str(), e.item.as_str(), e.kind, e.ts), ("me", "42", EventKind::Cart, 1_700_000_000_000));
        let no_ts: RawEvent = serde_json::from_str(r#"{"item":"42","kind":"view"}"#).unwrap();
        assert!(no_ts.validate(Some("me")).unwrap_err().to_string().contains("`ts` is required"));
        let nan =
            RawEvent { item: Some("1".into()), kind: Some("view".into()), ts: Some(f64::NAN), ..Default::default() };
        assert!(nan.validate(Some("me")).unwrap_err().to_string().contains("NaN"));
        let bad = RawEvent { item: Some("1".into()), kind: Some("poke".into()), ts: Some(1.0), ..Default::default() };
        assert!(matches!(bad.validate(Some("me")), Err(Error::UnknownEventKind { .. })));
        let no_user =
            RawEvent { item: Some("1".into()), kind: Some("view".into()), ts: Some(1.0), ..Default::default() };
        assert!(matches!(no_user.validate(None), Err(Error::EmptyField { field: "user" })));
    }

    #[test]
    fn vocab_reserves_padding_and_reports_unknown() {
        let mut v = ItemVocab::new();
        assert_eq!(v.intern("a"), 1);
        assert_eq!(v.intern("b"), 2);
        assert_eq!(v.intern("a"), 1);
        assert_eq!(v.num_items(), 2);
        assert_eq!(v.size(), 3);
        assert_eq!(v.id(0), None);
        assert_eq!(v.id(2), Some("b"));
        assert_eq!(v.id(3), None);
        assert!(matches!(v.lookup("zzz"), Err(Error::UnknownItem { item }) if item == "zzz"));
        assert!(ItemVocab::from_ids(["x", "x"]).is_err());
        let json = serde_json::to_string(&v).unwrap();
        let mut back: ItemVocab = serde_json::from_str(&json).unwrap();
        back.rebuild_index();
        assert_eq!(back.get("b"), Some(2));
    }

    #[test]
    fn builder_sorts_stably_dedupes_and_truncates() {
        let _rng = crate::testing::rng_lock();
        let mut b = SequenceBuilder::new();
        b.push(3, EventKind::View, 20);
        b.push(1, EventKind::View, 10);
        b.push(2, EventKind::Cart, 10); // same ts as item 1, arrived later
        b.push(2, EventKind::Purchase, 15);
        b.push(4, EventKind::View, 30);
        let all = b.clone().build(&SequenceOptions::default());
        assert_eq!(all.items, vec![1, 2, 2, 3, 4]);
        assert_eq!(all.kinds[1], EventKind::Cart);
        let dd = b.clone().build(&SequenceOptions { dedupe_consecutive: true, max_len: None });
        assert_eq!(dd.items, vec![1, 2, 3, 4]);
        assert_eq!(dd.kinds[1], EventKind::Cart, "the first of a run of repeats is kept");
        let last = b.build(&SequenceOptions { dedupe_consecutive: true, max_len: Some(2) });
        assert_eq!(last.items, vec![3, 4]);
        assert_eq!(last.ts, vec![20, 30]);
    }

    #[test]
    fn windows_cover_the_sequence_and_respect_max_len() {
        assert!(sliding_windows(1, 5, 1).is_empty());
        assert_eq!(sliding_windows(2, 5, 1), vec![0..2]);
        for (len, m, stride) in [(7, 3, 2), (100, 50, 25), (51, 50, 50), (52, 50, 50), (10, 1, 1)] {
            let w = sliding_windows(len, m, stride);
            assert_eq!(w[0].end, len, "last window ends at the sequence end");
            assert!(w.iter().all(|r| r.len() <= m + 1 && r.len() >= 2));
            assert!(w.iter().any(|r| r.start == 0), "{len} {m} {stride}: {w:?}");
        }
    }
}
