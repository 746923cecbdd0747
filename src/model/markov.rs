//! First-order Markov chain baseline: what followed the last item, backed off to popularity.
//!
//! Fitting counts, over every visible training sequence, each consecutive pair of items:
//!
//! ```text
//! T(a → b) = #{ (s, p) : s[p] = a, s[p + 1] = b, both positions visible in the phase }
//! pop(b)   = #{ (s, p) : s[p] = b }                       (as in MostPopular)
//! ```
//!
//! Scoring a history whose last real item is `l`:
//!
//! ```text
//! score(j | history) = T(l → j) + pop(j) / (max_pop + 1)
//! ```
//!
//! **Back-off.** The second term lies in `[0, 1)` and grows strictly with `pop(j)`, so it never
//! overturns a difference in transition counts (which are integers) and strictly orders items
//! with equal counts by popularity — in particular every item never seen after `l`, and every
//! item when `l` has no recorded successor or the history is empty (pure popularity). Scores are
//! computed in `f64` and rounded once to `f32`; rounding is monotone, so it can merge two
//! neighbouring scores into a tie (then the evaluator's tie rule, smaller index first,
//! decides) but never reverses their order. Repeats (`a → a`) are ordinary transitions.
//!
//! History entries outside `1..=num_items` (padding, unknown indices) are ignored: `l` is the
//! last entry that names a real item.
//!
//! Transitions are stored sparsely ([`SparseRows`], CSR): row `a` holds item `a`'s successors,
//! sorted by index, with their counts. Memory is `O(num_items + distinct pairs)`, so catalogs
//! of 10^6 items fit.

use serde::{Deserialize, Serialize};

use crate::data::split::TrainSet;
use crate::error::Result;
use crate::model::pop::{count_of, pop_tie_break, valid_items, visible_counts};
use crate::model::sparse::SparseRows;
use crate::model::{Scorer, score_rows};

/// First-order item→item transition counts with a popularity back-off.
///
/// # Shapes
/// - `pop`: `num_items + 1` interaction counts (index 0 is 0);
/// - `next`: `num_items + 1` rows, one entry `(b, T(a → b))` per distinct transition `(a, b)`
///   in row `a`, sorted by `b`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Markov {
    num_items: usize,
    pop: Vec<u32>,
    next: SparseRows<u32>,
}

impl Markov {
    /// Counts the transitions of every consecutive pair in the training data visible in
    /// `train`'s phase. Pairs with an index outside `1..=num_items` are skipped.
    ///
    /// Time `O(P log d)` for `P` pairs and out-degree `d`; extra memory one `u32` per pair.
    pub fn fit(train: &TrainSet<'_>) -> Self {
        let n = train.num_items();
        let ok = move |i: u32| i != 0 && (i as usize) <= n;
        // Group the pairs by source (with repeats), then per source sort the targets and
        // run-length encode them.
        let pairs = || {
            train
                .sequences()
                .flat_map(|s| s.windows(2))
                .filter(move |w| ok(w[0]) && ok(w[1]))
                .map(|w| (w[0] as usize, w[1], ()))
        };
        let targets = SparseRows::from_triples(n + 1, pairs);
        let mut next = SparseRows::new();
        let mut bucket = Vec::new();
        for a in 0..=n {
            bucket.clear();
            bucket.extend_from_slice(targets.row(a).0);
            bucket.sort_unstable();
            next.push_row(
                bucket.chunk_by(|x, y| x == y).map(|run| (run[0], u32::try_from(run.len()).unwrap_or(u32::MAX))),
            );
        }
        Markov { num_items: n, pop: visible_counts(train), next }
    }

    /// Item `a`'s recorded successors and their counts, sorted by successor index (empty for
    /// padding, an unknown index, or an item never followed by anything).
    pub fn transitions(&self, a: u32) -> (&[u32], &[u32]) {
        self.next.row(a as usize)
    }

    /// `T(a → b)`: how often `b` directly followed `a` in the training data.
    pub fn count(&self, a: u32, b: u32) -> u32 {
        let (next, counts) = self.transitions(a);
        next.binary_search(&b).ok().and_then(|k| counts.get(k).copied()).unwrap_or(0)
    }

    /// `pop(j)`: interaction count of `j` in the training data.
    pub fn popularity(&self, j: u32) -> u32 {
        count_of(&self.pop, j)
    }

    /// Number of distinct transitions stored.
    pub fn num_transitions(&self) -> usize {
        self.next.nnz()
    }

    /// Writes the scores of one history into `row` (`num_items() + 1` entries; a shorter row
    /// gets its prefix, a longer one zeros past the catalog). `row[0] = 0`.
    pub fn score_into(&self, history: &[u32], row: &mut [f32]) {
        let prior = pop_tie_break(&self.pop, self.num_items);
        self.score_with_prior(history, row, &prior);
    }

    fn score_with_prior(&self, history: &[u32], row: &mut [f32], prior: &[f64]) {
        for (j, r) in row.iter_mut().enumerate() {
            *r = prior.get(j).copied().unwrap_or(0.0) as f32;
        }
        let Some(last) = valid_items(history, self.num_items).next_back() else { return };
        let (next, counts) = self.transitions(last);
        for (&b, &c) in next.iter().zip(counts) {
            if b == 0 {
                continue;
            }
            if let Some(r) = row.get_mut(b as usize) {
                *r = (c as f64 + prior.get(b as usize).copied().unwrap_or(0.0)) as f32;
            }
        }
    }
}

impl Scorer for Markov {
    fn name(&self) -> &str {
        "markov"
    }

    fn num_items(&self) -> usize {
        self.num_items
    }

    fn score_batch(&self, histories: &[&[u32]], out: &mut [f32]) -> Result<()> {
        let prior = pop_tie_break(&self.pop, self.num_items);
        score_rows(self, histories, out, |h, row| self.score_with_prior(h, row, &prior))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Phase, Split, SplitSpec};
    use crate::model::pop::tests::{dataset, ix};

    fn split() -> Split {
        // Leave-one-out; the last item of each sequence (after `|`) is the test target, the
        // one before it the validation target.
        //   u1: a b a c | x     u2: a b d | x     u3: a c b | x     u4: e d d | x
        let ds = dataset(&[
            ("u1", &["a", "b", "a", "c", "x"]),
            ("u2", &["a", "b", "d", "x"]),
            ("u3", &["a", "c", "b", "x"]),
            ("u4", &["e", "d", "d", "x"]),
        ]);
        Split::new(ds, SplitSpec::LeaveOneOut).unwrap()
    }

    #[test]
    fn counts_visible_transitions_only() {
        let _rng = crate::testing::rng_lock();
        let s = split();
        let ds = &s.dataset;
        let (a, b, c, d, e, x) = (ix(ds, "a"), ix(ds, "b"), ix(ds, "c"), ix(ds, "d"), ix(ds, "e"), ix(ds, "x"));
        let m = Markov::fit(&s.train(Phase::Test));
        // Test-phase pairs: u1 ab ba ac, u2 ab bd, u3 ac cb, u4 ed dd.
        assert_eq!(m.count(a, b), 2);
        assert_eq!(m.count(a, c), 2);
        assert_eq!(m.count(b, a), 1);
        assert_eq!(m.count(b, d), 1);
        assert_eq!(m.count(c, b), 1);
        assert_eq!(m.count(d, d), 1);
        assert_eq!(m.count(e, d), 1);
        assert_eq!(m.num_transitions(), 7);
        assert_eq!(m.count(c, x) + m.count(d, x) + m.count(b, x), 0, "test targets are never visible");
        assert_eq!(m.popularity(x), 0);
        let (next, counts) = m.transitions(a);
        assert_eq!(next.len(), 2);
        assert!(next[0] < next[1], "successors are sorted");
        assert_eq!(counts, &[2, 2]);
        // Valid phase drops the validation items (c, d, b, d) too:
        //   u1 a b a → ab ba; u2 a b → ab; u3 a c → ac; u4 e d → ed.
        let v = Markov::fit(&s.train(Phase::Valid));
        assert_eq!((v.count(a, b), v.count(a, c), v.count(b, d), v.count(d, d)), (2, 1, 0, 0));
        assert_eq!(v.num_transitions(), 4);
    }

    #[test]
    fn ranks_frequent_successor_first_and_breaks_ties_by_popularity() {
        let _rng = crate::testing::rng_lock();
        let s = split();
        let ds = &s.dataset;
        let (a, b, c, d, e) = (ix(ds, "a"), ix(ds, "b"), ix(ds, "c"), ix(ds, "d"), ix(ds, "e"));
        let m = Markov::fit(&s.train(Phase::Test));
        // Test-phase popularity: a 4, b 3, c 2, d 3, e 1, x 0 → max_pop 4, divisor 5.
        let n = m.num_items() + 1;
        let mut out = vec![f32::NAN; 3 * n];
        m.score_batch(&[&[e, a], &[d, b], &[]], &mut out).unwrap();
        let row = |r: usize, j: u32| out[r * n + j as usize];
        // After a: T(a→b) = T(a→c) = 2 → b = 2 + 3/5 = 2.6 beats c = 2 + 2/5 = 2.4 (popularity
        // breaks the tie); then the unseen successors by popularity: a 0.8, d 0.6, e 0.2.
        assert_eq!(row(0, b), 2.6);
        assert_eq!(row(0, c), 2.4);
        assert_eq!(row(0, a), 0.8);
        assert_eq!(row(0, d), 0.6);
        assert_eq!(row(0, e), 0.2);
        assert_eq!(row(0, 0), 0.0);
        // After b: T(b→a) = T(b→d) = 1, pop a 4 > pop d 3 → a 1.8, d 1.6, then c 0.4.
        assert_eq!((row(1, a), row(1, d), row(1, c)), (1.8, 1.6, 0.4));
        // The frequent successor beats a popular non-successor: after d, d→d once, pop 3.
        let mut one = vec![0.0f32; n];
        m.score_into(&[c, d], &mut one);
        assert_eq!(one[d as usize], 1.6);
        assert!(one[d as usize] > one[a as usize]);
        // Empty history: pure popularity back-off.
        assert_eq!((row(2, a), row(2, b), row(2, d), row(2, e)), (0.8, 0.6, 0.6, 0.2));
    }

    #[test]
    fn ignores_out_of_range_items_and_survives_bad_buffers() {
        let _rng = crate::testing::rng_lock();
        let s = split();
        let ds = &s.dataset;
        let (a, b) = (ix(ds, "a"), ix(ds, "b"));
        let m = Markov::fit(&s.train(Phase::Test));
        let n = m.num_items() + 1;
        let mut out = vec![0.0f32; 2 * n];
        // Trailing unknown index and padding are skipped: the last real item is a.
        m.score_batch(&[&[b, a, 999, 0, u32::MAX], &[b, a]], &mut out).unwrap();
        assert_eq!(out[..n], out[n..]);
        let mut only_bad = vec![0.0f32; n];
        m.score_into(&[999], &mut only_bad);
        assert_eq!(only_bad[a as usize], 0.8, "no real item: popularity only");
        assert!(m.score_batch(&[&[a]], &mut out).is_err());
        assert_eq!(m.transitions(u32::MAX), (&[][..], &[][..]));
        // A corrupted (deserialised) model does not panic either.
        let mut broken = m.clone();
        broken.next.offsets_mut().truncate(2);
        broken.pop.clear();
        broken.score_into(&[a], &mut only_bad);
        assert!(only_bad.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn round_trips_through_serde() {
        let _rng = crate::testing::rng_lock();
        let m = Markov::fit(&split().train(Phase::Test));
        let back: Markov = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
        assert_eq!(m.name(), "markov");
    }
}
