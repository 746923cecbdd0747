//! Most-popular baseline: every history gets the same scores, the items' interaction counts.
//!
//! ```text
//! score(j | history) = pop(j) = number of interactions with item j in the visible training data
//! ```
//!
//! "Visible" is decided by the [`TrainSet`] of the phase: in [`Phase::Test`] that is the
//! training and validation parts of every sequence (for leave-one-out: each sequence minus its
//! last item), in [`Phase::Valid`] only the training parts. Held-out targets are never counted.
//! The score does not depend on the history; excluding already-seen items is the evaluator's
//! job (history masking).
//!
//! This module also holds the small helpers the other baselines share: the visible counts,
//! the popularity tie-break and the check of the output buffer.
//!
//! [`Phase::Test`]: crate::data::Phase::Test
//! [`Phase::Valid`]: crate::data::Phase::Valid

use serde::{Deserialize, Serialize};

use crate::data::split::TrainSet;
use crate::error::{Error, Result};
use crate::model::{Scorer, score_rows};

/// Scores every item by its interaction count in the visible training data.
///
/// # Shapes
/// `counts` has `num_items + 1` entries; `counts[0]` (padding) is 0.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MostPopular {
    num_items: usize,
    counts: Vec<u32>,
}

impl MostPopular {
    /// Counts the interactions of every item over the training data visible in `train`'s phase.
    pub fn fit(train: &TrainSet<'_>) -> Self {
        MostPopular { num_items: train.num_items(), counts: visible_counts(train) }
    }

    /// Interaction count of `item` in the training data (0 for padding or an unknown index).
    pub fn count(&self, item: u32) -> u32 {
        count_of(&self.counts, item)
    }

    /// All counts, indexed by item (`num_items() + 1` entries, index 0 is 0).
    pub fn counts(&self) -> &[u32] {
        &self.counts
    }

    /// Writes the scores of one history into `row` (`num_items() + 1` entries; a shorter row
    /// gets its prefix). The history is not looked at: `row[j] = pop(j)`, `row[0] = 0`.
    pub fn score_into(&self, _history: &[u32], row: &mut [f32]) {
        for (j, r) in row.iter_mut().enumerate() {
            *r = if j == 0 { 0.0 } else { self.counts.get(j).copied().unwrap_or(0) as f32 };
        }
    }
}

impl Scorer for MostPopular {
    fn name(&self) -> &str {
        "pop"
    }

    fn num_items(&self) -> usize {
        self.num_items
    }

    fn score_batch(&self, histories: &[&[u32]], out: &mut [f32]) -> Result<()> {
        score_rows(self, histories, out, |h, row| self.score_into(h, row))
    }
}

/// Interaction count per item over the visible training data, `num_items + 1` entries
/// (index 0 is 0). Indices outside `1..=num_items` are skipped; counts saturate at `u32::MAX`.
pub(crate) fn visible_counts(train: &TrainSet<'_>) -> Vec<u32> {
    let n = train.num_items();
    let mut c = vec![0u32; n + 1];
    for s in train.sequences() {
        for &i in s {
            if i != 0 {
                if let Some(x) = c.get_mut(i as usize) {
                    *x = x.saturating_add(1);
                }
            }
        }
    }
    c
}

/// `counts[item]`, 0 where out of range.
pub(crate) fn count_of(counts: &[u32], item: u32) -> u32 {
    counts.get(item as usize).copied().unwrap_or(0)
}

/// The popularity tie-break `pop(j) / (max_pop + 1)` for every item: each value lies in
/// `[0, 1)`, strictly increasing in `pop(j)`. Index 0 is 0.
pub(crate) fn pop_tie_break(counts: &[u32], num_items: usize) -> Vec<f64> {
    let max = counts.iter().copied().max().unwrap_or(0) as f64;
    let denom = max + 1.0;
    (0..=num_items).map(|j| if j == 0 { 0.0 } else { count_of(counts, j as u32) as f64 / denom }).collect()
}

/// Checks that `out` holds `rows` rows of `num_items + 1` scores and returns the row width.
pub(crate) fn check_out(model: &str, rows: usize, num_items: usize, out_len: usize) -> Result<usize> {
    let width = num_items.saturating_add(1);
    match rows.checked_mul(width) {
        Some(need) if need == out_len => Ok(width),
        _ => Err(Error::invalid(
            "out",
            format!(
                "{model}: the score buffer holds {out_len} values, but {rows} histories × {width} scores \
                 (num_items + 1) are needed"
            ),
        )),
    }
}

/// Item indices of `history` that name a real item (`1..=num_items`), oldest first.
pub(crate) fn valid_items(history: &[u32], num_items: usize) -> impl DoubleEndedIterator<Item = u32> + '_ {
    history.iter().copied().filter(move |&i| i != 0 && (i as usize) <= num_items)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::data::{Dataset, DatasetBuilder, Phase, Split, SplitSpec};
    use crate::events::{EventKind, SequenceOptions};

    /// Builds a dataset from `(user, [items])`; items are interned in order of first
    /// appearance, so `"a"` seen first gets index 1.
    pub(crate) fn dataset(users: &[(&str, &[&str])]) -> Dataset {
        let mut b = DatasetBuilder::new("toy");
        for (u, items) in users {
            for (t, i) in items.iter().enumerate() {
                b.push(u, i, EventKind::View, t as i64);
            }
        }
        b.build(&SequenceOptions::default()).unwrap()
    }

    /// Index of item `id` in `ds`.
    pub(crate) fn ix(ds: &Dataset, id: &str) -> u32 {
        ds.items.get(id).unwrap()
    }

    fn toy() -> Split {
        // u1: a b c a   → test target a (pos 3), valid target c (pos 2)
        // u2: b a d     → test target d, valid target a
        // u3: a c       → too short: wholly in training
        let ds = dataset(&[("u1", &["a", "b", "c", "a"]), ("u2", &["b", "a", "d"]), ("u3", &["a", "c"])]);
        Split::new(ds, SplitSpec::LeaveOneOut).unwrap()
    }

    #[test]
    fn counts_exclude_test_targets_in_test_and_validation_targets_too_in_valid() {
        let _rng = crate::testing::rng_lock();
        let split = toy();
        let ds = &split.dataset;
        let (a, b, c, d) = (ix(ds, "a"), ix(ds, "b"), ix(ds, "c"), ix(ds, "d"));
        // Test phase sees u1: a b c, u2: b a, u3: a c → a 3, b 2, c 2, d 0.
        let m = MostPopular::fit(&split.train(Phase::Test));
        assert_eq!([m.count(a), m.count(b), m.count(c), m.count(d)], [3, 2, 2, 0]);
        // Valid phase sees u1: a b, u2: b, u3: a c → a 2, b 2, c 1, d 0.
        let v = MostPopular::fit(&split.train(Phase::Valid));
        assert_eq!([v.count(a), v.count(b), v.count(c), v.count(d)], [2, 2, 1, 0]);
        assert_eq!(v.count(0), 0);
        assert_eq!(v.count(99), 0);

        let mut out = vec![f32::NAN; 2 * 5];
        m.score_batch(&[&[a], &[b, 99, 0]], &mut out).unwrap();
        let mut want = [0.0f32; 5];
        for (i, n) in [(a, 3.0), (b, 2.0), (c, 2.0), (d, 0.0)] {
            want[i as usize] = n;
        }
        assert_eq!(&out[..5], &want[..]);
        assert_eq!(&out[5..], &want[..], "the score does not depend on the history");
        assert_eq!(m.name(), "pop");
        assert_eq!(m.num_items(), 4);
    }

    #[test]
    fn empty_histories_score_and_wrong_buffers_are_errors() {
        let _rng = crate::testing::rng_lock();
        let m = MostPopular::fit(&toy().train(Phase::Test));
        let mut out = vec![1.0f32; 5];
        m.score_batch(&[&[]], &mut out).unwrap();
        assert_eq!(out[0], 0.0);
        assert_eq!(out.iter().sum::<f32>(), 7.0, "3 + 2 + 2 + 0 visible interactions");
        let mut short = vec![0.0f32; 9];
        let e = m.score_batch(&[&[1], &[2]], &mut short).unwrap_err();
        assert!(e.to_string().contains("9 values"), "{e}");
        m.score_batch(&[], &mut []).unwrap();
    }

    #[test]
    fn round_trips_through_serde() {
        let _rng = crate::testing::rng_lock();
        let m = MostPopular::fit(&toy().train(Phase::Test));
        let back: MostPopular = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn helpers_tie_break_and_filter() {
        // counts 0, 3, 1, 0 → max 3 → tie-break j / 4
        let t = pop_tie_break(&[0, 3, 1, 0], 3);
        assert_eq!(t, vec![0.0, 0.75, 0.25, 0.0]);
        let v: Vec<u32> = valid_items(&[0, 2, 7, 3, 1], 3).collect();
        assert_eq!(v, vec![2, 3, 1]);
        assert_eq!(check_out("x", 2, 3, 8).unwrap(), 4);
        assert!(check_out("x", usize::MAX, 3, 8).is_err());
    }
}
