//! Item-based k-nearest-neighbours baseline on windowed co-occurrence.
//!
//! **Fitting.** Over every visible training sequence `s`, two positions co-occur when they are
//! at most `window` apart. For items `i ≠ j`:
//!
//! ```text
//! co(i, j)  = #{ (s, p, q) : s[p] = i, s[q] = j, 1 <= |p - q| <= window }   (= co(j, i))
//! pop(i)    = #{ (s, p) : s[p] = i }
//! sim(i, j) = co(i, j) / sqrt(pop(i) · pop(j))
//! ```
//!
//! Every ordered pair of positions within the window counts once, so an item repeated near
//! another counts once per occurrence (the similarity can then exceed 1). An item is never its
//! own neighbour. Each item keeps only its `neighbors` most similar items (ties: smaller index
//! first), so the stored relation is sparse and need not be symmetric.
//!
//! **Scoring.** Let `h_0, h_1, …` be the history's real items from the newest back (entries
//! outside `1..=num_items` are dropped first) and `L = history_len`:
//!
//! ```text
//! score(j | history) = Σ_{a < L} decay^a · sim(h_a, j)  +  POP_TIE_WEIGHT · pop(j) / (max_pop + 1)
//! ```
//!
//! where `sim(h, j)` is 0 unless `j` is among `h`'s kept neighbours. **Back-off:** the second
//! term is below [`POP_TIE_WEIGHT`] (`1e-6`) and grows strictly with `pop(j)`; it orders items
//! with equal similarity sums by popularity (in particular every item unrelated to the history,
//! and all items for an empty history), and cannot reorder two similarity sums that differ by
//! more than `1e-6`. The sum is accumulated in `f32`, whose rounding can merge close scores
//! into ties, which the evaluator breaks by smaller index.
//!
//! **Cost.** Fitting walks an inverted index (item → occurrences) with a dense accumulator
//! reused across items: time `O(N · window + Σ_i m_i log k)` for `N` visible interactions, `m_i`
//! distinct co-occurring items of `i` and `k = neighbors`; memory `O(N + num_items · k)`; no
//! `n × n` matrix. Scoring one history touches `O(num_items + history_len · k)` values.

use serde::{Deserialize, Serialize};

use crate::data::split::TrainSet;
use crate::error::{Error, Result};
use crate::model::pop::{count_of, pop_tie_break, valid_items, visible_counts};
use crate::model::sparse::SparseRows;
use crate::model::{Scorer, score_rows};

/// Weight of the popularity tie-break in ItemKNN scores (see the module docs).
pub const POP_TIE_WEIGHT: f64 = 1e-6;

/// Options of [`ItemKnn`]. Every field has a default, so a partial JSON object is accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ItemKnnConfig {
    /// Two positions co-occur when at most `window` positions apart (default 5; 0 disables
    /// co-occurrence, leaving popularity only).
    pub window: usize,
    /// Number of most similar items kept per item (default 100).
    pub neighbors: usize,
    /// Number of most recent history items that vote (default 10).
    pub history_len: usize,
    /// Recency decay: the item `a` steps back from the newest votes with weight `decay^a`
    /// (default 0.8; finite and non-negative).
    pub decay: f32,
}

impl Default for ItemKnnConfig {
    fn default() -> Self {
        ItemKnnConfig { window: 5, neighbors: 100, history_len: 10, decay: 0.8 }
    }
}

impl ItemKnnConfig {
    /// Checks the values a user may have supplied: `decay` must be finite and `>= 0`.
    pub fn validate(&self) -> Result<()> {
        if !self.decay.is_finite() || self.decay < 0.0 {
            return Err(Error::invalid("decay", format!("{} is not a finite number >= 0", self.decay)));
        }
        Ok(())
    }
}

/// Item-to-item cosine similarity on windowed co-occurrence, top-`neighbors` per item.
///
/// # Shapes
/// - `pop`: `num_items + 1` interaction counts (index 0 is 0);
/// - `knn`: `num_items + 1` rows; row `i` holds item `i`'s kept neighbours `(j, sim(i, j))`,
///   most similar first (row 0, padding, is empty).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemKnn {
    num_items: usize,
    config: ItemKnnConfig,
    pop: Vec<u32>,
    knn: SparseRows<f32>,
}

impl ItemKnn {
    /// Computes co-occurrence similarities over the training data visible in `train`'s phase.
    /// The configuration is used as given (see [`ItemKnnConfig::validate`]); indices outside
    /// `1..=num_items` in the data are skipped.
    pub fn fit(train: &TrainSet<'_>, config: &ItemKnnConfig) -> Self {
        let n = train.num_items();
        let pop = visible_counts(train);
        let seqs: Vec<&[u32]> = train.sequences().collect();
        let ok = move |i: u32| i != 0 && (i as usize) <= n;

        // Inverted index: row `i` lists the (sequence, position) of item i's occurrences.
        let occ = SparseRows::from_triples(n + 1, || {
            seqs.iter().enumerate().flat_map(move |(si, s)| {
                s.iter().enumerate().filter(move |&(_, &i)| ok(i)).map(move |(p, &i)| (i as usize, si as u32, p as u32))
            })
        });

        let w = config.window;
        let k = config.neighbors;
        let mut acc = vec![0u32; n + 1];
        let mut touched: Vec<u32> = Vec::new();
        let mut cand: Vec<(f64, u32)> = Vec::new();
        let mut knn = SparseRows::new();
        knn.push_row([]); // padding has no neighbours
        for i in 1..=n {
            if w > 0 && k > 0 {
                let (occ_seq, occ_pos) = occ.row(i);
                for (&si, &p) in occ_seq.iter().zip(occ_pos) {
                    let s = seqs[si as usize];
                    let p = p as usize;
                    let lo = p.saturating_sub(w);
                    let hi = p.saturating_add(w).min(s.len() - 1);
                    for &j in &s[lo..=hi] {
                        if ok(j) && j as usize != i {
                            let a = &mut acc[j as usize];
                            if *a == 0 {
                                touched.push(j);
                            }
                            *a = a.saturating_add(1);
                        }
                    }
                }
                let pi = pop[i] as f64;
                cand.clear();
                for &j in &touched {
                    let co = std::mem::take(&mut acc[j as usize]) as f64;
                    cand.push((co / (pi * pop[j as usize] as f64).sqrt(), j));
                }
                touched.clear();
                let better = |x: &(f64, u32), y: &(f64, u32)| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1));
                if cand.len() > k {
                    cand.select_nth_unstable_by(k - 1, better);
                    cand.truncate(k);
                }
                cand.sort_unstable_by(better);
            }
            knn.push_row(cand.drain(..).map(|(s, j)| (j, s as f32)));
        }
        ItemKnn { num_items: n, config: config.clone(), pop, knn }
    }

    /// The configuration the model was fitted with.
    pub fn config(&self) -> &ItemKnnConfig {
        &self.config
    }

    /// Item `i`'s kept neighbours and similarities, most similar first (empty for padding,
    /// an unknown index or an item that co-occurred with nothing).
    pub fn neighbors(&self, i: u32) -> (&[u32], &[f32]) {
        self.knn.row(i as usize)
    }

    /// `sim(i, j)` as stored: 0 unless `j` is among `i`'s kept neighbours.
    pub fn similarity(&self, i: u32, j: u32) -> f32 {
        let (nb, s) = self.neighbors(i);
        nb.iter().position(|&x| x == j).and_then(|p| s.get(p).copied()).unwrap_or(0.0)
    }

    /// `pop(j)`: interaction count of `j` in the training data.
    pub fn popularity(&self, j: u32) -> u32 {
        count_of(&self.pop, j)
    }

    /// Writes the scores of one history into `row` (`num_items() + 1` entries; a shorter row
    /// gets its prefix, a longer one zeros past the catalog). `row[0] = 0`.
    pub fn score_into(&self, history: &[u32], row: &mut [f32]) {
        let prior = self.prior();
        self.score_with_prior(history, row, &prior);
    }

    fn prior(&self) -> Vec<f32> {
        pop_tie_break(&self.pop, self.num_items).into_iter().map(|t| (t * POP_TIE_WEIGHT) as f32).collect()
    }

    fn score_with_prior(&self, history: &[u32], row: &mut [f32], prior: &[f32]) {
        for (j, r) in row.iter_mut().enumerate() {
            *r = prior.get(j).copied().unwrap_or(0.0);
        }
        let mut weight = 1.0f32;
        for h in valid_items(history, self.num_items).rev().take(self.config.history_len) {
            let (nb, sims) = self.neighbors(h);
            for (&j, &s) in nb.iter().zip(sims) {
                if j != 0 {
                    if let Some(r) = row.get_mut(j as usize) {
                        *r += weight * s;
                    }
                }
            }
            weight *= self.config.decay;
        }
    }
}

impl Scorer for ItemKnn {
    fn name(&self) -> &str {
        "itemknn"
    }

    fn num_items(&self) -> usize {
        self.num_items
    }

    fn score_batch(&self, histories: &[&[u32]], out: &mut [f32]) -> Result<()> {
        let prior = self.prior();
        score_rows(self, histories, out, |h, row| self.score_with_prior(h, row, &prior))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Phase, Split, SplitSpec};
    use crate::model::pop::tests::{dataset, ix};

    fn close(x: f32, y: f64) -> bool {
        (x as f64 - y).abs() < 1e-6
    }

    /// Three items; `|` marks the leave-one-out test target (z is never visible in test).
    ///   u1: a b c | z     u2: a b | z     u3: c a | z
    fn split() -> Split {
        let ds = dataset(&[("u1", &["a", "b", "c", "z"]), ("u2", &["a", "b", "z"]), ("u3", &["c", "a", "z"])]);
        Split::new(ds, SplitSpec::LeaveOneOut).unwrap()
    }

    #[test]
    fn similarities_of_a_three_item_example() {
        let _rng = crate::testing::rng_lock();
        let s = split();
        let ds = &s.dataset;
        let (a, b, c, z) = (ix(ds, "a"), ix(ds, "b"), ix(ds, "c"), ix(ds, "z"));
        // window 1: only adjacent positions. Visible: a b c / a b / c a.
        //   pop a 3, b 2, c 2.
        //   co(a,b) = 2 (u1, u2), co(b,c) = 1 (u1), co(a,c) = 1 (u3).
        //   sim(a,b) = 2/sqrt(6) = 0.8165, sim(b,c) = 1/sqrt(4) = 0.5, sim(a,c) = 1/sqrt(6) = 0.4082
        let cfg = ItemKnnConfig { window: 1, ..Default::default() };
        let m = ItemKnn::fit(&s.train(Phase::Test), &cfg);
        assert!(close(m.similarity(a, b), 2.0 / 6f64.sqrt()));
        assert!(close(m.similarity(b, a), 2.0 / 6f64.sqrt()));
        assert!(close(m.similarity(b, c), 0.5));
        assert!(close(m.similarity(a, c), 1.0 / 6f64.sqrt()));
        assert_eq!(m.similarity(a, a), 0.0, "no self-similarity");
        assert_eq!(m.similarity(a, z), 0.0, "the test target is never visible");
        assert_eq!(m.neighbors(a).0, &[b, c], "most similar first");
        // window 2 adds u1's (a, c) at distance 2: co(a,c) = 2 → sim 2/sqrt(6).
        let m2 = ItemKnn::fit(&s.train(Phase::Test), &ItemKnnConfig { window: 2, ..Default::default() });
        assert!(close(m2.similarity(a, c), 2.0 / 6f64.sqrt()));
        assert!(close(m2.similarity(a, b), 2.0 / 6f64.sqrt()));
        // Equal similarity: the smaller index first (b < c).
        assert_eq!(m2.neighbors(a).0, &[b, c]);
        // neighbors = 1 keeps only the best: for c that is b (0.5) over a (0.4082) in window 1.
        let m1 = ItemKnn::fit(&s.train(Phase::Test), &ItemKnnConfig { window: 1, neighbors: 1, ..Default::default() });
        assert_eq!(m1.neighbors(c).0, &[b]);
        assert_eq!(m1.similarity(c, a), 0.0);
        // Valid phase sees a b / a / c: co(a,b) = 1 only; sim = 1/sqrt(2·1).
        let v = ItemKnn::fit(&s.train(Phase::Valid), &cfg);
        assert!(close(v.similarity(a, b), 1.0 / 2f64.sqrt()));
        assert_eq!(v.similarity(b, c), 0.0);
        assert_eq!(v.similarity(a, c), 0.0);
    }

    #[test]
    fn repeated_items_count_once_per_occurrence() {
        let _rng = crate::testing::rng_lock();
        // u1: a b a | z (window 5): b co-occurs with both a's → co(a,b) = 2, pop a 2, b 1
        // → sim = 2 / sqrt(2) = 1.4142.
        let ds = dataset(&[("u1", &["a", "b", "a", "z"])]);
        let s = Split::new(ds, SplitSpec::LeaveOneOut).unwrap();
        let (a, b) = (ix(&s.dataset, "a"), ix(&s.dataset, "b"));
        let m = ItemKnn::fit(&s.train(Phase::Test), &ItemKnnConfig::default());
        assert!(close(m.similarity(a, b), 2f64.sqrt()));
        assert!(close(m.similarity(b, a), 2f64.sqrt()));
    }

    #[test]
    fn scores_decay_with_age_and_break_ties_by_popularity() {
        let _rng = crate::testing::rng_lock();
        let s = split();
        let ds = &s.dataset;
        let (a, b, c, z) = (ix(ds, "a"), ix(ds, "b"), ix(ds, "c"), ix(ds, "z"));
        let cfg = ItemKnnConfig { window: 1, ..Default::default() };
        let m = ItemKnn::fit(&s.train(Phase::Test), &cfg);
        let n = m.num_items() + 1;
        let mut out = vec![f32::NAN; 3 * n];
        m.score_batch(&[&[b, c], &[a], &[]], &mut out).unwrap();
        let row = |r: usize, j: u32| out[r * n + j as usize] as f64;
        // max_pop 3 → tie-break 1e-6 · pop / 4.  History b c: c has age 0, b age 1 (0.8).
        //   a: sim(c,a) + 0.8 sim(b,a) = 0.4082 + 0.8 · 0.8165 = 1.0614 (+ 0.75e-6)
        //   b: sim(c,b) = 0.5;  c: 0.8 · sim(b,c) = 0.4
        let s6 = 6f64.sqrt();
        assert!((row(0, a) - (1.0 / s6 + 0.8 * 2.0 / s6)).abs() < 1e-5);
        assert!((row(0, b) - 0.5).abs() < 1e-5);
        assert!((row(0, c) - 0.4).abs() < 1e-5);
        assert_eq!(row(0, 0), 0.0);
        // History a: b 0.8165 > c 0.4082; z unrelated and unseen → 0.
        assert!(row(1, b) > row(1, c) && row(1, c) > row(1, z));
        assert_eq!(row(1, z), 0.0);
        // Empty history: popularity tie-break only, a (3) > b = c (2) > z (0).
        assert!((row(2, a) - 0.75e-6).abs() < 1e-12 && (row(2, b) - 0.5e-6).abs() < 1e-12);
        assert!(row(2, a) > row(2, b) && row(2, b) == row(2, c) && row(2, c) > row(2, z));
        // history_len 1: only the newest item votes.
        let last = ItemKnn::fit(&s.train(Phase::Test), &ItemKnnConfig { history_len: 1, ..cfg.clone() });
        let mut one = vec![0.0f32; n];
        last.score_into(&[b, c], &mut one);
        assert!((one[a as usize] as f64 - 1.0 / s6).abs() < 1e-5);
    }

    #[test]
    fn popularity_breaks_ties_between_equal_similarities() {
        let _rng = crate::testing::rng_lock();
        // window 1. Visible in test: h x / h y / y h / y / y (the last two are single-item
        // sequences, wholly training). pop h 3, x 1, y 4 → max_pop 4, tie-break 1e-6 · pop / 5.
        //   co(h,x) = 1, co(h,y) = 2 → sim(h,x) = 1/sqrt(3) = sim(h,y) = 2/sqrt(12), exactly.
        let ds = dataset(&[
            ("u1", &["h", "x", "z"]),
            ("u2", &["h", "y", "z"]),
            ("u3", &["y", "h", "z"]),
            ("u4", &["y"]),
            ("u5", &["y"]),
        ]);
        let s = Split::new(ds, SplitSpec::LeaveOneOut).unwrap();
        let ds = &s.dataset;
        let (h, x, y) = (ix(ds, "h"), ix(ds, "x"), ix(ds, "y"));
        let m = ItemKnn::fit(&s.train(Phase::Test), &ItemKnnConfig { window: 1, ..Default::default() });
        assert_eq!(m.similarity(h, x), m.similarity(h, y));
        assert!(close(m.similarity(h, x), 1.0 / 3f64.sqrt()));
        let mut row = vec![0.0f32; m.num_items() + 1];
        m.score_into(&[h], &mut row);
        assert!(row[y as usize] > row[x as usize], "the more popular of two equally similar items ranks first");
        assert!(close(row[y as usize], 1.0 / 3f64.sqrt() + 0.8e-6));
        // window 0: nothing co-occurs, every score is the popularity tie-break: y > h > x.
        let p = ItemKnn::fit(&s.train(Phase::Test), &ItemKnnConfig { window: 0, ..Default::default() });
        assert_eq!(p.neighbors(h).0.len(), 0);
        p.score_into(&[h], &mut row);
        assert!(row[y as usize] > row[h as usize] && row[h as usize] > row[x as usize] && row[x as usize] > 0.0);
    }

    #[test]
    fn ignores_out_of_range_items_and_survives_bad_input() {
        let _rng = crate::testing::rng_lock();
        let s = split();
        let (a, b) = (ix(&s.dataset, "a"), ix(&s.dataset, "b"));
        let m = ItemKnn::fit(&s.train(Phase::Test), &ItemKnnConfig::default());
        let n = m.num_items() + 1;
        let mut out = vec![0.0f32; 2 * n];
        // Unknown indices are dropped before ages are counted: a is the newest real item.
        m.score_batch(&[&[b, 0, a, 77, u32::MAX], &[b, a]], &mut out).unwrap();
        assert_eq!(out[..n], out[n..]);
        assert!(m.score_batch(&[&[a]], &mut out).is_err());
        assert_eq!(m.neighbors(u32::MAX).0.len(), 0);
        let mut broken = m.clone();
        broken.knn.offsets_mut().truncate(1);
        broken.score_into(&[a, b], &mut out[..n]);
        assert!(out[..n].iter().all(|v| v.is_finite()));
        let bad = ItemKnnConfig { decay: f32::NAN, ..Default::default() };
        assert!(bad.validate().is_err());
        assert!(ItemKnnConfig { decay: -0.5, ..Default::default() }.validate().is_err());
        ItemKnnConfig::default().validate().unwrap();
    }

    #[test]
    fn config_and_model_round_trip_through_serde() {
        let _rng = crate::testing::rng_lock();
        let cfg: ItemKnnConfig = serde_json::from_str(r#"{"window": 3}"#).unwrap();
        assert_eq!(cfg, ItemKnnConfig { window: 3, neighbors: 100, history_len: 10, decay: 0.8 });
        assert!(serde_json::from_str::<ItemKnnConfig>(r#"{"windw": 3}"#).is_err());
        let m = ItemKnn::fit(&split().train(Phase::Test), &cfg);
        let back: ItemKnn = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.config(), &cfg);
        assert_eq!(m.name(), "itemknn");
    }
}
