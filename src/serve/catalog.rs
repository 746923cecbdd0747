//! The live catalogue: the bundle's items, plus the products a shop adds after the model was
//! trained, with titles, categories, popularity and availability.
//!
//! Items are numbered `1..=len()` (0 is padding). The first [`Catalog::model_items`] are the
//! bundle's: the encoder scores them. Items added by [`Catalog::update`] follow; the encoder
//! has no row for them, so [`Catalog::extend_scores`] places them by a stated rule:
//!
//! - an added item in categories the bundle knows scores the mean, over those categories, of
//!   the category's mean score (its representation is its categories' average item: with a
//!   model that fuses categories, their fused rows share the category embedding);
//! - an added item without such categories — and a candidate the catalogue does not have at
//!   all ([`Catalog::prior_score`]) — scores the **popularity prior**: the mean score of the
//!   bundle's items weighted by their training popularity (the score of "an average sale").
//!
//! Unavailable items stay in the catalogue (and in histories) but are never recommended.
//! What changed since the bundle ([`Catalog::state`]) is what a page stores and replays with
//! [`Catalog::update`] on the next load, validated like any input.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::bundle::Manifest;
use crate::error::{Error, Result};
use crate::events::{ItemVocab, MAX_ID_CHARS};

/// Longest title accepted by [`Catalog::update`].
pub const MAX_TITLE_CHARS: usize = 1000;
/// Most categories of one item accepted by [`Catalog::update`].
pub const MAX_ITEM_CATEGORIES: usize = 100;
/// Longest category name accepted by [`Catalog::update`].
pub const MAX_CATEGORY_CHARS: usize = 200;
/// Most items a catalogue may hold beyond the bundle's (a bound on memory and storage).
pub const MAX_ADDED_ITEMS: usize = 1_000_000;

/// One product's new state, as `updateCatalog` receives it: fields that are `None` are left
/// as they are (for a new item: no title, no categories, available).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemUpdate {
    /// The product's id.
    pub item: String,
    /// Its display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Its category names (replacing the old ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// False: never recommended (still in histories); true: recommendable again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
}

impl ItemUpdate {
    /// Checks every field (`n` is the update's position, for the message).
    fn validate(&self, n: usize) -> Result<()> {
        let at = |why: String| Error::invalid("catalog", format!("item [{n}]: {why}"));
        if self.item.trim().is_empty() {
            return Err(at("`item` is empty".into()));
        }
        let len = self.item.chars().count();
        if len > MAX_ID_CHARS {
            return Err(at(format!("`item` is {len} characters long; the limit is {MAX_ID_CHARS}")));
        }
        if let Some(t) = &self.title {
            let len = t.chars().count();
            if len > MAX_TITLE_CHARS {
                return Err(at(format!("`title` is {len} characters long; the limit is {MAX_TITLE_CHARS}")));
            }
        }
        if let Some(cats) = &self.categories {
            if cats.len() > MAX_ITEM_CATEGORIES {
                return Err(at(format!("{} categories; the limit is {MAX_ITEM_CATEGORIES}", cats.len())));
            }
            for c in cats {
                let len = c.chars().count();
                if c.trim().is_empty() || len > MAX_CATEGORY_CHARS {
                    return Err(at(format!(
                        "category `{c}` must be 1 to {MAX_CATEGORY_CHARS} characters and not blank"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What [`Catalog::update`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpdateSummary {
    /// Items new to the catalogue.
    pub added: usize,
    /// Items already there whose state was given.
    pub updated: usize,
}

/// The catalogue: ids, titles, categories, popularity and availability by item index
/// (`1..=len()`; 0 is padding). See the module docs.
#[derive(Clone, Debug)]
pub struct Catalog {
    vocab: ItemVocab,
    model_items: usize,
    titles: Vec<Option<String>>,
    categories: Vec<Vec<u32>>,
    category_names: Vec<String>,
    category_index: HashMap<String, u32>,
    /// The bundle items of each bundle category.
    members: Vec<Vec<u32>>,
    popularity: Vec<u32>,
    unavailable: HashSet<u32>,
    /// Items whose state differs from the bundle's (what [`Catalog::state`] returns).
    changed: BTreeSet<u32>,
}

impl Catalog {
    /// The catalogue of a (validated) manifest.
    pub fn from_manifest(m: &Manifest) -> Result<Catalog> {
        m.validate()?;
        let mut members = vec![Vec::new(); m.category_names.len()];
        for (k, cats) in m.categories.iter().enumerate() {
            for &c in cats {
                if let Some(list) = members.get_mut(c as usize) {
                    list.push(k as u32 + 1);
                }
            }
        }
        let vocab = m.vocab()?;
        let n = vocab.num_items();
        let mut titles = m.titles.clone();
        titles.resize(n, None);
        let mut categories = m.categories.clone();
        categories.resize(n, Vec::new());
        Ok(Catalog {
            vocab,
            model_items: n,
            titles,
            categories,
            category_names: m.category_names.clone(),
            category_index: m.category_names.iter().enumerate().map(|(i, c)| (c.clone(), i as u32)).collect(),
            members,
            popularity: m.popularity_by_index(),
            unavailable: HashSet::new(),
            changed: BTreeSet::new(),
        })
    }

    /// Number of items: the bundle's and those added since.
    pub fn len(&self) -> usize {
        self.vocab.num_items()
    }

    /// True when the catalogue has no item (a bundle always has some).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of items the model scores (the bundle's): indices `1..=model_items()`.
    pub fn model_items(&self) -> usize {
        self.model_items
    }

    /// True when the encoder has a row for item `i`.
    pub fn in_model(&self, i: u32) -> bool {
        i >= 1 && i as usize <= self.model_items
    }

    /// The index of item `id`, or [`Error::UnknownItem`].
    pub fn index(&self, id: &str) -> Result<u32> {
        self.vocab.lookup(id)
    }

    /// The index of item `id`, if the catalogue has it.
    pub fn get(&self, id: &str) -> Option<u32> {
        self.vocab.get(id)
    }

    /// The external id of item `i` (empty for padding or out of range).
    pub fn id(&self, i: u32) -> &str {
        self.vocab.id(i).unwrap_or("")
    }

    /// The title of item `i`, if it has one.
    pub fn title(&self, i: u32) -> Option<&str> {
        let k = (i as usize).checked_sub(1)?;
        self.titles.get(k)?.as_deref()
    }

    /// The category names of item `i`.
    pub fn categories(&self, i: u32) -> Vec<&str> {
        let Some(k) = (i as usize).checked_sub(1) else { return Vec::new() };
        let cats = self.categories.get(k).map(Vec::as_slice).unwrap_or(&[]);
        cats.iter().filter_map(|&c| self.category_names.get(c as usize).map(String::as_str)).collect()
    }

    /// The index of category `name`, if an item has ever had it.
    pub fn category(&self, name: &str) -> Option<u32> {
        self.category_index.get(name).copied()
    }

    /// True when item `i` is in at least one of `cats` (category indices).
    pub fn in_categories(&self, i: u32, cats: &HashSet<u32>) -> bool {
        let Some(k) = (i as usize).checked_sub(1) else { return false };
        self.categories.get(k).is_some_and(|c| c.iter().any(|c| cats.contains(c)))
    }

    /// Item `i`'s training popularity (interaction count; 0 for added items and out of range).
    pub fn popularity(&self, i: u32) -> u32 {
        self.popularity.get(i as usize).copied().unwrap_or(0)
    }

    /// False for an item marked unavailable (never recommended).
    pub fn is_available(&self, i: u32) -> bool {
        !self.unavailable.contains(&i)
    }

    /// Cold-start scores: the training popularity counts of the bundle's items, `len() + 1`
    /// values (added items placed by [`Catalog::extend_scores`]), index 0 is `-inf`. Used when
    /// the shopper has no history the model can read.
    pub fn popularity_scores(&self) -> Vec<f32> {
        let mut s: Vec<f32> = self.popularity.iter().map(|&c| c as f32).collect();
        s[0] = f32::NEG_INFINITY;
        self.extend_scores(s)
    }

    /// The popularity prior of `model_scores` (`model_items() + 1` values): the mean score of
    /// the bundle's items weighted by their training popularity (uniform if none has any);
    /// non-finite scores are left out. What an item with nothing else to go by scores.
    pub fn prior_score(&self, model_scores: &[f32]) -> f32 {
        let (mut sum, mut weight, mut plain, mut count) = (0f64, 0f64, 0f64, 0usize);
        for (i, &s) in model_scores.iter().enumerate().skip(1).take(self.model_items) {
            if s.is_finite() {
                let w = self.popularity(i as u32) as f64;
                sum += w * s as f64;
                weight += w;
                plain += s as f64;
                count += 1;
            }
        }
        if weight > 0.0 {
            (sum / weight) as f32
        } else if count > 0 {
            (plain / count as f64) as f32
        } else {
            0.0
        }
    }

    /// `model_scores` (`model_items() + 1` values, from the model or the popularity counts)
    /// extended to every item of the catalogue, `len() + 1` values: each added item is placed
    /// by its categories or the popularity prior (see the module docs).
    pub fn extend_scores(&self, mut model_scores: Vec<f32>) -> Vec<f32> {
        model_scores.truncate(self.model_items + 1);
        if self.len() == self.model_items {
            return model_scores;
        }
        let prior = self.prior_score(&model_scores);
        let category_mean: Vec<Option<f32>> = self
            .members
            .iter()
            .map(|m| {
                let finite: Vec<f64> = m
                    .iter()
                    .filter_map(|&i| model_scores.get(i as usize).copied())
                    .filter(|s| s.is_finite())
                    .map(f64::from)
                    .collect();
                (!finite.is_empty()).then(|| (finite.iter().sum::<f64>() / finite.len() as f64) as f32)
            })
            .collect();
        for k in self.model_items..self.len() {
            let means: Vec<f32> =
                self.categories[k].iter().filter_map(|&c| category_mean.get(c as usize).copied().flatten()).collect();
            let s = if means.is_empty() { prior } else { means.iter().sum::<f32>() / means.len() as f32 };
            model_scores.push(s);
        }
        model_scores
    }

    /// Applies `updates` (new products, titles, categories, availability), all checked before
    /// any is applied: an id of the catalogue is updated, a new id is added. Errors name the
    /// first bad update, and leave the catalogue as it was.
    pub fn update(&mut self, updates: &[ItemUpdate]) -> Result<UpdateSummary> {
        for (n, u) in updates.iter().enumerate() {
            u.validate(n)?;
        }
        let new_ids: HashSet<&str> =
            updates.iter().map(|u| u.item.as_str()).filter(|id| self.vocab.get(id).is_none()).collect();
        if self.len() - self.model_items + new_ids.len() > MAX_ADDED_ITEMS {
            return Err(Error::invalid(
                "catalog",
                format!("{} new items would exceed the limit of {MAX_ADDED_ITEMS} added items", new_ids.len()),
            ));
        }
        let mut summary = UpdateSummary::default();
        for u in updates {
            let i = match self.vocab.get(&u.item) {
                Some(i) => {
                    summary.updated += 1;
                    i
                }
                None => {
                    summary.added += 1;
                    let i = self.vocab.intern(&u.item);
                    self.titles.push(None);
                    self.categories.push(Vec::new());
                    self.popularity.push(0);
                    i
                }
            };
            let k = i as usize - 1;
            if let Some(t) = &u.title {
                self.titles[k] = Some(t.clone());
            }
            if let Some(cats) = &u.categories {
                let mut idx = Vec::with_capacity(cats.len());
                for c in cats {
                    let next = self.category_names.len() as u32;
                    let ci = *self.category_index.entry(c.clone()).or_insert(next);
                    if ci == next {
                        self.category_names.push(c.clone());
                    }
                    if !idx.contains(&ci) {
                        idx.push(ci);
                    }
                }
                self.categories[k] = idx;
            }
            match u.available {
                Some(false) => {
                    self.unavailable.insert(i);
                }
                Some(true) => {
                    self.unavailable.remove(&i);
                }
                None => {}
            }
            self.changed.insert(i);
        }
        Ok(summary)
    }

    /// Every item whose state was set by [`Catalog::update`], with its whole current state:
    /// replayed with `update` on a fresh catalogue of the same bundle, it gives this one.
    pub fn state(&self) -> Vec<ItemUpdate> {
        self.changed
            .iter()
            .map(|&i| ItemUpdate {
                item: self.id(i).to_string(),
                title: self.title(i).map(str::to_string),
                categories: Some(self.categories(i).into_iter().map(str::to_string).collect()),
                available: Some(self.is_available(i)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::from_manifest(&super::super::tests::bundle().manifest).unwrap()
    }

    fn add(item: &str, cats: &[&str]) -> ItemUpdate {
        ItemUpdate {
            item: item.into(),
            title: Some(format!("New {item}")),
            categories: Some(cats.iter().map(|c| c.to_string()).collect()),
            available: None,
        }
    }

    #[test]
    fn reads_the_manifest() {
        let c = catalog();
        assert_eq!((c.len(), c.model_items()), (6, 6));
        let a = c.index("a").unwrap();
        assert_eq!((c.id(a), c.title(a), c.title(c.index("b").unwrap())), ("a", Some("Item A"), None));
        assert_eq!(c.categories(a), vec!["even"]);
        assert!(c.in_categories(c.index("b").unwrap(), &HashSet::from([1])));
        assert!(!c.in_categories(0, &HashSet::from([0, 1])));
        assert!(matches!(c.index("zz"), Err(Error::UnknownItem { .. })));
        let pop = c.popularity_scores();
        assert_eq!(pop[0], f32::NEG_INFINITY);
        assert_eq!(pop[c.index("c").unwrap() as usize], 4.0);
        assert!(c.state().is_empty());
    }

    #[test]
    fn added_items_are_placed_by_their_categories_or_the_popularity_prior() {
        let mut c = catalog();
        // Items 1..=6 are a..f; "even" holds items 1, 3, 5 and "odd" 2, 4, 6.
        let s = c.update(&[add("new-even", &["even"]), add("new-both", &["even", "odd"]), add("new-none", &[])]);
        assert_eq!(s.unwrap(), UpdateSummary { added: 3, updated: 0 });
        assert_eq!((c.len(), c.model_items()), (9, 6));
        let (ne, nb, nn) = (c.index("new-even").unwrap(), c.index("new-both").unwrap(), c.index("new-none").unwrap());
        assert_eq!((ne, nb, nn), (7, 8, 9));
        assert!(!c.in_model(ne) && c.in_model(6));
        assert_eq!(c.title(ne), Some("New new-even"));
        assert_eq!(c.popularity(ne), 0);

        let model = vec![f32::NEG_INFINITY, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let s = c.extend_scores(model.clone());
        assert_eq!(s.len(), 10);
        assert_eq!(&s[..7], &model[..]);
        assert_eq!(s[7], 3.0, "mean of items 1, 3, 5");
        assert_eq!(s[8], (3.0 + 4.0) / 2.0, "mean of the even mean (3) and the odd mean (4)");
        // Popularity of a..f in the tiny dataset: a 1, b 2, c 4, d 2, e 2, f 1.
        let prior = (1.0 + 2.0 * 2.0 + 3.0 * 4.0 + 4.0 * 2.0 + 5.0 * 2.0 + 6.0) / 12.0;
        assert!((s[9] - prior).abs() < 1e-6, "{} vs {prior}", s[9]);
        assert_eq!(c.prior_score(&model), s[9]);
        // Cold start: the new items by the same rules over the popularity counts.
        let pop = c.popularity_scores();
        assert_eq!(pop[7], (1.0 + 4.0 + 2.0) / 3.0);
    }

    #[test]
    fn updates_availability_and_state_round_trips() {
        let mut c = catalog();
        let b = c.index("b").unwrap();
        let off = ItemUpdate { item: "b".into(), available: Some(false), ..Default::default() };
        assert_eq!(c.update(&[off, add("z", &["brand-new"])]).unwrap(), UpdateSummary { added: 1, updated: 1 });
        assert!(!c.is_available(b) && c.is_available(1));
        assert_eq!(c.categories(c.index("z").unwrap()), vec!["brand-new"]);
        assert!(c.category("brand-new").is_some());
        // A category the bundle never had: the prior.
        let s = c.extend_scores(vec![f32::NEG_INFINITY, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(s[7], 1.0);

        let state = c.state();
        assert_eq!(state.len(), 2);
        let json = serde_json::to_string(&state).unwrap();
        let mut again = catalog();
        again.update(&serde_json::from_str::<Vec<ItemUpdate>>(&json).unwrap()).unwrap();
        assert_eq!(again.state(), state);
        assert!(!again.is_available(b));
        assert_eq!(again.index("z").unwrap(), 7);
        // Available again.
        c.update(&[ItemUpdate { item: "b".into(), available: Some(true), ..Default::default() }]).unwrap();
        assert!(c.is_available(b));
    }

    #[test]
    fn bad_updates_are_rejected_whole() {
        let mut c = catalog();
        let long = ItemUpdate { item: "x".repeat(MAX_ID_CHARS + 1), ..Default::default() };
        let blank = ItemUpdate { item: " ".into(), ..Default::default() };
        let bad_cat = add("y", &[""]);
        for (u, want) in [(long, "`item` is 257 characters"), (blank, "`item` is empty"), (bad_cat, "category ``")] {
            let err = c.update(&[add("fine", &["even"]), u]).unwrap_err().to_string();
            assert!(err.contains("item [1]") && err.contains(want), "{err}");
        }
        assert_eq!(c.len(), 6, "nothing applied");
        assert!(c.get("fine").is_none());
    }
}
