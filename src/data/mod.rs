//! Datasets: loading, filtering, statistics and splitting.
//!
//! A [`Dataset`] holds one time-ordered [`Sequence`] per user (or per session), the
//! [`ItemVocab`] that names the items, and whatever item metadata the source had (titles,
//! categories). Loaders in [`loaders`] stream a file line by line into a [`DatasetBuilder`],
//! which interns ids compactly, so memory grows with the number of interactions only.
//! [`split`] turns a dataset into training data and evaluation cases.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::{EventKind, ItemVocab, Sequence, SequenceBuilder, SequenceOptions};

pub mod format;
pub mod io;
pub mod loaders;
pub mod split;

#[cfg(not(target_arch = "wasm32"))]
pub mod fetch;

pub use format::{ColumnMap, DataFormat, DataSpec, default_data_dir, detect, find_shared_dir};
pub use loaders::{LoadOptions, Loaded, load, load_detailed, load_path};
pub use split::{EvalCase, Phase, Split, SplitSpec};

/// Titles and categories of the items of a [`Dataset`], indexed like the vocabulary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemMeta {
    /// `titles[i]` is item `i`'s title (index 0 is padding).
    pub titles: Vec<Option<String>>,
    /// `categories[i]` lists item `i`'s category indices into `category_names`.
    pub categories: Vec<Vec<u32>>,
    /// Category names (genres, departments).
    pub category_names: Vec<String>,
}

impl ItemMeta {
    /// True when at least one item has a category.
    pub fn has_categories(&self) -> bool {
        !self.category_names.is_empty() && self.categories.iter().any(|c| !c.is_empty())
    }

    /// True when at least one item has a title.
    pub fn has_titles(&self) -> bool {
        self.titles.iter().any(Option::is_some)
    }

    /// Item `i`'s categories (empty when unknown).
    pub fn categories_of(&self, i: u32) -> &[u32] {
        self.categories.get(i as usize).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// A loaded dataset: one sequence per user, items named by a vocabulary.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Short name (`beauty`, `ml-100k`, a file stem).
    pub name: String,
    /// Item ids ↔ dense indices.
    pub items: ItemVocab,
    /// External user (or session) ids; `users[u]` owns `seqs[u]`.
    pub users: Vec<String>,
    /// One time-ordered sequence per user, never empty.
    pub seqs: Vec<Sequence>,
    /// Item titles and categories, where the source had them.
    pub meta: ItemMeta,
    /// False when the source had no timestamps and `ts` holds positions.
    pub has_timestamps: bool,
}

/// Summary numbers of a dataset, as `localrec data stats` prints them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetStats {
    /// Dataset name.
    pub name: String,
    /// Users (or sessions).
    pub users: usize,
    /// Items.
    pub items: usize,
    /// Interactions.
    pub interactions: usize,
    /// `interactions / (users * items)`.
    pub density: f64,
    /// Shortest sequence.
    pub min_len: usize,
    /// Median sequence length.
    pub median_len: f64,
    /// Mean sequence length.
    pub mean_len: f64,
    /// Longest sequence.
    pub max_len: usize,
    /// Interactions per event kind (only kinds that occur).
    pub kinds: std::collections::BTreeMap<String, usize>,
    /// Whether real timestamps are present.
    pub has_timestamps: bool,
    /// First and last timestamp (ms), when present.
    pub time_span_ms: Option<(i64, i64)>,
    /// Items with a title.
    pub items_with_title: usize,
    /// Number of distinct categories.
    pub categories: usize,
    /// Share of interactions on the 20% most popular items.
    pub top20_share: f64,
    /// A stable fingerprint of the interactions (FNV-1a over users, items and order).
    pub fingerprint: String,
}

impl Dataset {
    /// Number of real items.
    pub fn num_items(&self) -> usize {
        self.items.num_items()
    }

    /// Number of users (sequences).
    pub fn num_users(&self) -> usize {
        self.seqs.len()
    }

    /// Number of interactions.
    pub fn num_interactions(&self) -> usize {
        self.seqs.iter().map(Sequence::len).sum()
    }

    /// Interaction count per item index (length `num_items() + 1`, index 0 is 0).
    pub fn item_counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.items.size()];
        for s in &self.seqs {
            for &i in &s.items {
                c[i as usize] += 1;
            }
        }
        c
    }

    /// The dataset as JSON (what [`Dataset::from_json`] reads): the held-out data that the
    /// browser's evaluation runs on (`localrec data export`).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Output(format!("could not write the dataset as JSON: {e}")))
    }

    /// Reads a dataset written by [`Dataset::to_json`], checking everything the rest of the
    /// library relies on (so that a damaged file is an error, never a panic later): one
    /// non-empty sequence per user, item indices inside the vocabulary, one kind and one
    /// non-decreasing timestamp per item, unique non-empty item ids, metadata that fits.
    pub fn from_json(bytes: &[u8]) -> Result<Dataset> {
        let bad = |why: String| Error::Data(format!("not a valid localrec dataset file: {why}"));
        let mut ds: Dataset = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        let ids: Vec<String> =
            (1..=ds.items.num_items() as u32).map(|i| ds.items.id(i).unwrap_or_default().to_string()).collect();
        ds.items = ItemVocab::from_ids(ids).map_err(|e| bad(format!("item vocabulary: {e}")))?;
        let n = ds.num_items();
        if ds.users.len() != ds.seqs.len() {
            return Err(bad(format!("{} users but {} sequences", ds.users.len(), ds.seqs.len())));
        }
        for (u, s) in ds.users.iter().zip(&ds.seqs) {
            let at = |why: String| bad(format!("user `{u}`: {why}"));
            if s.items.is_empty() {
                return Err(at("empty sequence".into()));
            }
            if s.kinds.len() != s.items.len() || s.ts.len() != s.items.len() {
                return Err(at(format!("{} items, {} kinds, {} timestamps", s.items.len(), s.kinds.len(), s.ts.len())));
            }
            if let Some(&i) = s.items.iter().find(|&&i| i == 0 || i as usize > n) {
                return Err(at(format!("item index {i} is outside 1..={n}")));
            }
            if s.ts.windows(2).any(|w| w[1] < w[0]) {
                return Err(at("timestamps go back in time".into()));
            }
        }
        let m = &ds.meta;
        if m.titles.len() > n + 1 || m.categories.len() > n + 1 {
            return Err(bad(format!("metadata for more than the {n} items")));
        }
        if m.categories.iter().flatten().any(|&c| c as usize >= m.category_names.len()) {
            return Err(bad("an item's category is not among the category names".into()));
        }
        Ok(ds)
    }

    /// A stable fingerprint of users, items and their order: FNV-1a, 64-bit, hex.
    pub fn fingerprint(&self) -> String {
        let mut h = Fnv::new();
        for (u, s) in self.users.iter().zip(&self.seqs) {
            h.write(u.as_bytes());
            h.write(&[0xff]);
            for &i in &s.items {
                h.write(self.items.id(i).unwrap_or("").as_bytes());
                h.write(&[0xfe]);
            }
        }
        format!("{:016x}", h.0)
    }

    /// Summary statistics.
    pub fn stats(&self) -> DatasetStats {
        let mut lens: Vec<usize> = self.seqs.iter().map(Sequence::len).collect();
        lens.sort_unstable();
        let n = self.num_interactions();
        let median_len = match lens.len() {
            0 => 0.0,
            l if l % 2 == 1 => lens[l / 2] as f64,
            l => (lens[l / 2 - 1] + lens[l / 2]) as f64 / 2.0,
        };
        let mut kinds = std::collections::BTreeMap::new();
        for s in &self.seqs {
            for k in &s.kinds {
                *kinds.entry(k.as_str().to_string()).or_insert(0) += 1;
            }
        }
        let time_span_ms = if self.has_timestamps {
            let lo = self.seqs.iter().filter_map(|s| s.ts.first()).min().copied();
            let hi = self.seqs.iter().filter_map(|s| s.ts.last()).max().copied();
            lo.zip(hi)
        } else {
            None
        };
        let mut counts = self.item_counts();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        let head = (self.num_items() as f64 * 0.2).ceil() as usize;
        let head_sum: u64 = counts.iter().take(head).map(|&c| c as u64).sum();
        DatasetStats {
            name: self.name.clone(),
            users: self.num_users(),
            items: self.num_items(),
            interactions: n,
            density: if self.num_users() == 0 || self.num_items() == 0 {
                0.0
            } else {
                n as f64 / (self.num_users() as f64 * self.num_items() as f64)
            },
            min_len: lens.first().copied().unwrap_or(0),
            median_len,
            mean_len: if lens.is_empty() { 0.0 } else { n as f64 / lens.len() as f64 },
            max_len: lens.last().copied().unwrap_or(0),
            kinds,
            has_timestamps: self.has_timestamps,
            time_span_ms,
            items_with_title: self.meta.titles.iter().filter(|t| t.is_some()).count(),
            categories: self.meta.category_names.len(),
            top20_share: if n == 0 { 0.0 } else { head_sum as f64 / n as f64 },
            fingerprint: self.fingerprint(),
        }
    }

    /// Keeps only users with at least `min_user` interactions and items with at least
    /// `min_item`, repeating until both hold (the k-core). Item indices are re-assigned in
    /// order of first appearance; metadata follows its items.
    pub fn k_core(&self, min_user: usize, min_item: usize) -> Result<Dataset> {
        let mut keep_user = vec![true; self.seqs.len()];
        let mut keep_item = vec![true; self.items.size()];
        keep_item[0] = false;
        loop {
            let mut changed = false;
            let mut icount = vec![0usize; self.items.size()];
            for (u, s) in self.seqs.iter().enumerate() {
                if !keep_user[u] {
                    continue;
                }
                let n = s.items.iter().filter(|&&i| keep_item[i as usize]).count();
                if n < min_user.max(1) {
                    keep_user[u] = false;
                    changed = true;
                    continue;
                }
                for &i in &s.items {
                    if keep_item[i as usize] {
                        icount[i as usize] += 1;
                    }
                }
            }
            for (i, k) in keep_item.iter_mut().enumerate().skip(1) {
                if *k && icount[i] < min_item.max(1) {
                    *k = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut b = DatasetBuilder::new(&self.name);
        b.has_timestamps = self.has_timestamps;
        for (u, s) in self.seqs.iter().enumerate() {
            if !keep_user[u] {
                continue;
            }
            for p in 0..s.len() {
                let i = s.items[p];
                if keep_item[i as usize] {
                    b.push_indexed_item(&self.users[u], self.items.id(i).unwrap_or(""), s.kinds[p], s.ts[p]);
                }
            }
        }
        for i in 1..self.items.size() as u32 {
            if !keep_item[i as usize] {
                continue;
            }
            let id = self.items.id(i).unwrap_or("");
            let cats: Vec<&str> =
                self.meta.categories_of(i).iter().map(|&c| self.meta.category_names[c as usize].as_str()).collect();
            let title = self.meta.titles.get(i as usize).cloned().flatten();
            b.set_item_meta(id, title, &cats);
        }
        let out = b.build(&SequenceOptions::default())?;
        if out.seqs.is_empty() {
            return Err(Error::Empty(format!(
                "the {min_user}-core (users) / {min_item}-core (items) filter removed every interaction of `{}`",
                self.name
            )));
        }
        Ok(out)
    }
}

/// Collects interactions in arrival order and builds a [`Dataset`].
///
/// ```
/// use localrec::data::DatasetBuilder;
/// use localrec::events::{EventKind, SequenceOptions};
/// let mut b = DatasetBuilder::new("toy");
/// b.push("u1", "apple", EventKind::View, 2);
/// b.push("u1", "pear", EventKind::Cart, 1);
/// b.push("u2", "apple", EventKind::View, 5);
/// let ds = b.build(&SequenceOptions::default())?;
/// assert_eq!(ds.num_users(), 2);
/// assert_eq!(ds.items.id(ds.seqs[0].items[0]), Some("pear"));
/// # Ok::<(), localrec::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct DatasetBuilder {
    name: String,
    items: ItemVocab,
    users: Vec<String>,
    user_index: HashMap<String, u32>,
    rows: Vec<(u32, u32, EventKind, i64)>,
    titles: HashMap<String, String>,
    item_cats: HashMap<String, Vec<u32>>,
    category_names: Vec<String>,
    category_index: HashMap<String, u32>,
    /// Set to false by loaders whose source has no timestamps (ts are positions).
    pub has_timestamps: bool,
}

impl DatasetBuilder {
    /// An empty builder for a dataset called `name`.
    pub fn new(name: &str) -> Self {
        DatasetBuilder { name: name.to_string(), items: ItemVocab::new(), has_timestamps: true, ..Default::default() }
    }

    /// Adds one interaction. Ids are interned; ties in `ts` keep arrival order.
    pub fn push(&mut self, user: &str, item: &str, kind: EventKind, ts: i64) {
        self.push_indexed_item(user, item, kind, ts);
    }

    fn push_indexed_item(&mut self, user: &str, item: &str, kind: EventKind, ts: i64) {
        let u = match self.user_index.get(user) {
            Some(&u) => u,
            None => {
                let u = self.users.len() as u32;
                self.users.push(user.to_string());
                self.user_index.insert(user.to_string(), u);
                u
            }
        };
        let i = self.items.intern(item);
        self.rows.push((u, i, kind, ts));
    }

    /// Number of interactions pushed so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Records an item's title and categories (kept only if the item has interactions).
    pub fn set_item_meta(&mut self, item: &str, title: Option<String>, categories: &[&str]) {
        if let Some(t) = title {
            if !t.is_empty() {
                self.titles.insert(item.to_string(), t);
            }
        }
        if !categories.is_empty() {
            let mut ids = Vec::with_capacity(categories.len());
            for c in categories {
                let c = c.trim();
                if c.is_empty() {
                    continue;
                }
                let id = match self.category_index.get(c) {
                    Some(&id) => id,
                    None => {
                        let id = self.category_names.len() as u32;
                        self.category_names.push(c.to_string());
                        self.category_index.insert(c.to_string(), id);
                        id
                    }
                };
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            self.item_cats.insert(item.to_string(), ids);
        }
    }

    /// Sorts each user's interactions stably by `(ts, arrival)` and builds the dataset.
    /// Items keep the index they got on first appearance in the input.
    pub fn build(self, opts: &SequenceOptions) -> Result<Dataset> {
        if self.rows.is_empty() {
            return Err(Error::Empty(format!("dataset `{}` has no interactions", self.name)));
        }
        let mut per_user: Vec<SequenceBuilder> = vec![SequenceBuilder::new(); self.users.len()];
        for (u, i, k, ts) in self.rows {
            per_user[u as usize].push(i, k, ts);
        }
        let seqs: Vec<Sequence> = per_user.into_iter().map(|b| b.build(opts)).collect();
        let size = self.items.size();
        let mut titles = vec![None; size];
        let mut categories = vec![Vec::new(); size];
        for i in 1..size as u32 {
            let id = self.items.id(i).unwrap_or("");
            titles[i as usize] = self.titles.get(id).cloned();
            if let Some(c) = self.item_cats.get(id) {
                categories[i as usize] = c.clone();
            }
        }
        Ok(Dataset {
            name: self.name,
            items: self.items,
            users: self.users,
            seqs,
            meta: ItemMeta { titles, categories, category_names: self.category_names },
            has_timestamps: self.has_timestamps,
        })
    }
}

struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Dataset {
        let mut b = DatasetBuilder::new("toy");
        // u1: a b c d ; u2: a b ; u3: a e (e only once)
        for (u, i, t) in [("u1", "a", 1), ("u1", "b", 2), ("u1", "c", 3), ("u1", "d", 4)] {
            b.push(u, i, EventKind::View, t);
        }
        b.push("u2", "b", EventKind::View, 6);
        b.push("u2", "a", EventKind::View, 5);
        b.push("u3", "a", EventKind::View, 1);
        b.push("u3", "e", EventKind::Purchase, 2);
        b.set_item_meta("a", Some("Apple".into()), &["fruit", "red"]);
        b.set_item_meta("zzz", Some("Not interacted".into()), &["other"]);
        b.build(&SequenceOptions::default()).unwrap()
    }

    #[test]
    fn json_round_trip_and_damaged_files_are_errors() {
        let mut b = DatasetBuilder::new("tiny");
        for (u, item, ts) in [("u1", "a", 1), ("u1", "b", 2), ("u2", "b", 1), ("u2", "c", 5)] {
            b.push(u, item, EventKind::View, ts);
        }
        let ds = b.build(&SequenceOptions::default()).unwrap();
        let json = ds.to_json().unwrap();
        let back = Dataset::from_json(json.as_bytes()).unwrap();
        assert_eq!(back, ds);
        assert_eq!(back.items.get("c"), Some(3), "the id lookup is rebuilt");
        assert_eq!(back.fingerprint(), ds.fingerprint());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let damaged = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = v.clone();
            f(&mut v);
            Dataset::from_json(v.to_string().as_bytes()).unwrap_err().to_string()
        };
        assert!(damaged(&|v| v["seqs"][0]["items"][0] = 9.into()).contains("user `u1`: item index 9 is outside 1..=3"));
        assert!(damaged(&|v| v["seqs"][1]["items"][0] = 0.into()).contains("item index 0"));
        assert!(damaged(&|v| v["seqs"][0]["ts"] = serde_json::json!([1])).contains("2 items, 2 kinds, 1 timestamps"));
        assert!(damaged(&|v| v["seqs"][0]["ts"] = serde_json::json!([5, 1])).contains("back in time"));
        assert!(damaged(&|v| v["seqs"][0]["items"] = serde_json::json!([])).contains("empty sequence"));
        assert!(damaged(&|v| v["users"] = serde_json::json!(["u1"])).contains("1 users but 2 sequences"));
        assert!(damaged(&|v| v["items"]["ids"][2] = "a".into()).contains("duplicate item id `a`"));
        let cut = Dataset::from_json(&json.as_bytes()[..json.len() / 2]).unwrap_err().to_string();
        assert!(
            cut.starts_with("invalid data: not a valid localrec dataset file")
                || cut.contains("not a valid localrec dataset file"),
            "{cut}"
        );
    }

    #[test]
    fn builder_orders_by_time_and_keeps_meta_of_interacted_items() {
        let ds = toy();
        assert_eq!(ds.num_users(), 3);
        assert_eq!(ds.num_items(), 5);
        assert_eq!(ds.num_interactions(), 8);
        let u2: Vec<_> = ds.seqs[1].items.iter().map(|&i| ds.items.id(i).unwrap()).collect();
        assert_eq!(u2, ["a", "b"]);
        let a = ds.items.get("a").unwrap();
        assert_eq!(ds.meta.titles[a as usize].as_deref(), Some("Apple"));
        assert_eq!(ds.meta.categories_of(a).len(), 2);
        assert!(ds.items.get("zzz").is_none());
    }

    #[test]
    fn k_core_filters_until_stable() {
        let ds = toy();
        // items need >= 2 interactions: c, d, e go; then u3 has 1 interaction (< 2) and goes;
        // then a has 2 (u1, u2) and b has 2: stable.
        let k = ds.k_core(2, 2).unwrap();
        assert_eq!(k.num_users(), 2);
        assert_eq!(k.num_items(), 2);
        assert_eq!(k.users, vec!["u1", "u2"]);
        assert!(k.seqs.iter().all(|s| s.len() == 2));
        let a = k.items.get("a").unwrap();
        assert_eq!(k.meta.titles[a as usize].as_deref(), Some("Apple"));
        assert!(ds.k_core(10, 10).is_err());
    }

    #[test]
    fn stats_and_fingerprint() {
        let ds = toy();
        let s = ds.stats();
        assert_eq!((s.users, s.items, s.interactions, s.min_len, s.max_len), (3, 5, 8, 2, 4));
        assert_eq!(s.median_len, 2.0);
        assert_eq!(s.kinds["purchase"], 1);
        // a has 3 of 8 interactions; the top 20% of 5 items is 1 item.
        assert!((s.top20_share - 3.0 / 8.0).abs() < 1e-12);
        assert_eq!(s.fingerprint, toy().fingerprint());
        let mut other = toy();
        other.seqs[0].items.swap(0, 1);
        assert_ne!(other.fingerprint(), s.fingerprint);
    }
}
