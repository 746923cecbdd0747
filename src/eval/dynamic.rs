//! Dynamic evaluation: accuracy broken down by who the shopper is and when the case happens.
//!
//! A headline mean hides how a sequence model behaves for different users and times. This
//! module groups the cases of an [`EvalRun`] and reports, for every group, the mean of every
//! per-case metric over the cases in it:
//!
//! - [`Dynamic::by_length`]: the length of the case's input history (`end - start`, the whole
//!   history, not capped at the model's `max_len`), in fixed buckets 1–2, 3–5, 6–10, 11–20,
//!   21–50, 51–100 and 101+.
//! - [`Dynamic::by_activity`]: the user's *training activity*, the number of interactions of
//!   the case's sequence visible to training in the phase (`split.train(phase).ends[seq]`),
//!   in three groups by quantiles over the cases: `light` (at most the median), `medium`
//!   (above the median, at most the 80th percentile), `heavy` (above the 80th percentile).
//!   This differs from `by_length`: a temporal split evaluates several targets of one user
//!   with growing histories but one training activity, and a held-out session has a history
//!   yet no training activity at all (so with session splits every case is `light`).
//! - [`Dynamic::by_time`]: six equal-width slices of the target's timestamp between the
//!   first and the last target, labelled with ISO dates; only for data with timestamps.
//! - [`Dynamic::drift`]: interest drift, only for data with item categories. See [`Drift`].
//!
//! **Groups.** Fixed buckets (length, time) and the three activity groups are always listed,
//! empty ones with `cases = 0` and no metrics, so every report over the same cases has the
//! same rows. Drift quintiles are value ranges: when ties make two quintile bounds equal, the
//! empty bucket between them is left out. A group's metric is the mean over its cases, as the
//! headline is over all cases; a mean that is not finite (a NaN value) is left out. Per-case
//! vectors whose length is not the number of cases are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::data::{Phase, Split};
use crate::eval::stats::spearman;
use crate::eval::{EvalRun, PerCase};

/// One bucket of cases and the mean of every metric over it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Human-readable bucket name (`3–5`, `heavy`, `2020-02-10–2020-02-20`, `0.00–0.12`).
    pub label: String,
    /// Lower bound of the bucket on its grouping variable (history length, training
    /// activity, target time in ms, or drift). See each breakdown for inclusivity.
    pub lo: f64,
    /// Upper bound of the bucket on its grouping variable.
    pub hi: f64,
    /// Number of cases in the bucket.
    pub cases: usize,
    /// Mean of each per-case metric over the bucket's cases (empty when `cases == 0`).
    pub metrics: BTreeMap<String, f64>,
}

/// Interest drift of the cases, for data with item categories.
///
/// **Definition.** Take the items of the case's history (the whole history, oldest first)
/// that have at least one category; call their number `k`. With `k < 4` the case has no
/// score. Otherwise the early half is the first `⌊k/2⌋` of them and the late half the last
/// `⌊k/2⌋` (the middle item of an odd `k` belongs to neither). Each half becomes a category
/// distribution in which every item carries weight 1, split evenly over its categories. The
/// drift score is the Jensen–Shannon divergence (base 2, so in `[0, 1]`) between the two
/// distributions: 0 when the shopper's interests did not move, 1 when the late half shares no
/// category with the early half.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Per case, in case order: the drift score, `None` below four categorised items. Kept in
    /// memory for further analysis and left out of the JSON.
    #[serde(skip)]
    pub values: Vec<Option<f64>>,
    /// Cases with a score, grouped by quintiles of drift; each group covers
    /// `lo..=hi`, the smallest and largest score in it.
    pub by_drift: Vec<Group>,
    /// Share of cases that have a drift score.
    pub share: f64,
    /// Mean drift over the cases that have a score.
    pub mean: Option<f64>,
    /// The metric correlated with drift (`ndcg@10`, else the first `ndcg@K` present).
    pub metric: Option<String>,
    /// Spearman correlation between drift and `metric` over the scored cases.
    pub spearman: Option<f64>,
}

/// Every breakdown of one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dynamic {
    /// By history length; `lo..=hi` per bucket (for `101+`, `hi` is the longest history in
    /// it, or 101 when empty).
    pub by_length: Vec<Group>,
    /// By training activity: `light` covers `lo..=hi` (`lo` the least activity), `medium` and
    /// `heavy` cover `(lo, hi]`.
    pub by_activity: Vec<Group>,
    /// By target time: six slices `[lo, hi)` in ms (the last one includes `hi`); `None`
    /// without timestamps.
    pub by_time: Option<Vec<Group>>,
    /// Interest drift; `None` without item categories.
    pub drift: Option<Drift>,
}

/// History-length buckets: inclusive bounds, the last open-ended.
const LENGTH_BUCKETS: [(usize, usize); 7] = [(1, 2), (3, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, usize::MAX)];

/// Number of time slices.
const TIME_SLICES: usize = 6;

/// Breaks `per_case` (normally the accuracy metrics of [`crate::eval::metrics::per_case`])
/// down by history length, training activity, time and interest drift. `per_case` vectors
/// hold one value per case of `run`, in case order.
pub fn dynamic(run: &EvalRun, split: &Split, phase: Phase, per_case: &[PerCase]) -> Dynamic {
    let n = run.cases.len();
    let metrics: Vec<&PerCase> = per_case.iter().filter(|m| m.values.len() == n).collect();
    let ds = &split.dataset;
    Dynamic {
        by_length: by_length(run, &metrics),
        by_activity: by_activity(run, split, phase, &metrics),
        by_time: ds.has_timestamps.then(|| by_time(run, split, &metrics)),
        drift: ds.meta.has_categories().then(|| drift(run, split, &metrics)),
    }
}

/// A group over the cases `members`.
fn group(label: String, lo: f64, hi: f64, members: &[usize], metrics: &[&PerCase]) -> Group {
    let mut out = BTreeMap::new();
    if !members.is_empty() {
        for m in metrics {
            let mean = members.iter().map(|&c| m.values[c]).sum::<f64>() / members.len() as f64;
            if mean.is_finite() {
                out.insert(m.key.clone(), mean);
            }
        }
    }
    Group { label, lo, hi, cases: members.len(), metrics: out }
}

fn by_length(run: &EvalRun, metrics: &[&PerCase]) -> Vec<Group> {
    let mut members = vec![Vec::new(); LENGTH_BUCKETS.len()];
    let mut longest = 0usize;
    for (c, case) in run.cases.iter().enumerate() {
        let len = case.end.saturating_sub(case.start) as usize;
        // a zero-length history (never produced by a split) counts in the first bucket
        let b = LENGTH_BUCKETS.iter().position(|&(_, hi)| len <= hi).unwrap_or(LENGTH_BUCKETS.len() - 1);
        members[b].push(c);
        if b == LENGTH_BUCKETS.len() - 1 {
            longest = longest.max(len);
        }
    }
    LENGTH_BUCKETS
        .iter()
        .zip(&members)
        .map(|(&(lo, hi), m)| {
            let (label, hi) = if hi == usize::MAX {
                (format!("{lo}+"), longest.max(lo) as f64)
            } else {
                (format!("{lo}–{hi}"), hi as f64)
            };
            group(label, lo as f64, hi, m, metrics)
        })
        .collect()
}

/// The nearest-rank `q`-quantile of sorted values: the smallest value with at least a
/// share `q` of the values at or below it.
fn nearest_rank<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn by_activity(run: &EvalRun, split: &Split, phase: Phase, metrics: &[&PerCase]) -> Vec<Group> {
    let train = split.train(phase);
    let activity: Vec<usize> = run.cases.iter().map(|c| train.ends.get(c.seq as usize).copied().unwrap_or(0)).collect();
    let mut sorted = activity.clone();
    sorted.sort_unstable();
    let min = sorted.first().copied().unwrap_or(0);
    let max = sorted.last().copied().unwrap_or(0);
    let q50 = nearest_rank(&sorted, 0.5).unwrap_or(0);
    let q80 = nearest_rank(&sorted, 0.8).unwrap_or(0);
    let mut members = [Vec::new(), Vec::new(), Vec::new()];
    for (c, &a) in activity.iter().enumerate() {
        let g = if a <= q50 {
            0
        } else if a <= q80 {
            1
        } else {
            2
        };
        members[g].push(c);
    }
    let bounds = [(min, q50), (q50, q80), (q80, max.max(q80))];
    ["light", "medium", "heavy"]
        .iter()
        .zip(bounds)
        .zip(&members)
        .map(|((label, (lo, hi)), m)| group(label.to_string(), lo as f64, hi as f64, m, metrics))
        .collect()
}

fn by_time(run: &EvalRun, split: &Split, metrics: &[&PerCase]) -> Vec<Group> {
    let ds = &split.dataset;
    // Target times; a case pointing outside the data (hand-made runs) has none.
    let ts: Vec<Option<i64>> =
        run.cases.iter().map(|c| ds.seqs.get(c.seq as usize).and_then(|s| s.ts.get(c.end as usize)).copied()).collect();
    let (Some(min), Some(max)) = (ts.iter().flatten().min().copied(), ts.iter().flatten().max().copied()) else {
        return Vec::new();
    };
    let span = (max - min) as f64;
    let edge = |i: usize| min as f64 + span * i as f64 / TIME_SLICES as f64;
    let mut members = vec![Vec::new(); TIME_SLICES];
    for (c, t) in ts.iter().enumerate() {
        if let Some(t) = t {
            let s = if span > 0.0 { ((*t - min) as f64 / span * TIME_SLICES as f64).floor() as usize } else { 0 };
            members[s.min(TIME_SLICES - 1)].push(c);
        }
    }
    // Whole days are enough unless the slices are shorter than a day.
    let with_time = span / (TIME_SLICES as f64) < 86_400_000.0;
    (0..TIME_SLICES)
        .map(|i| {
            let (lo, hi) = (edge(i), edge(i + 1));
            let label = format!("{}–{}", iso_date(lo as i64, with_time), iso_date(hi as i64, with_time));
            group(label, lo, hi, &members[i], metrics)
        })
        .collect()
}

/// `YYYY-MM-DD` (or `YYYY-MM-DD HH:MM` with `with_time`) of a UTC timestamp in ms.
fn iso_date(ms: i64, with_time: bool) -> String {
    let day = ms.div_euclid(86_400_000);
    let (y, m, d) = civil_from_days(day);
    if with_time {
        let minute = ms.rem_euclid(86_400_000) / 60_000;
        format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", minute / 60, minute % 60)
    } else {
        format!("{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Year, month (1–12) and day (1–31) of day `days` counted from 1970-01-01 (day 0), in the
/// proleptic Gregorian calendar. Walks whole years, then months; timestamps are bounded
/// (1970–2100), so the walk is short.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let mut y = 1970i64;
    let mut d = days;
    while d < 0 {
        y -= 1;
        d += if is_leap(y) { 366 } else { 365 };
    }
    loop {
        let len = if is_leap(y) { 366 } else { 365 };
        if d < len {
            break;
        }
        d -= len;
        y += 1;
    }
    let months = [31, if is_leap(y) { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut m = 0;
    while d >= months[m] {
        d -= months[m];
        m += 1;
    }
    (y, m as u32 + 1, d as u32 + 1)
}

/// Jensen–Shannon divergence (base 2) of two distributions given as aligned probability
/// vectors; in `[0, 1]`. Missing entries of the shorter vector count as 0.
pub fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let len = p.len().max(q.len());
    js_pairs((0..len).map(|i| (p.get(i).copied().unwrap_or(0.0), q.get(i).copied().unwrap_or(0.0))))
}

/// JSD over `(p_i, q_i)` pairs: `½ Σ p log2(p/m) + ½ Σ q log2(q/m)` with `m = (p + q) / 2`.
fn js_pairs(pairs: impl Iterator<Item = (f64, f64)>) -> f64 {
    let mut s = 0.0;
    for (p, q) in pairs {
        let m = (p + q) / 2.0;
        if p > 0.0 {
            s += 0.5 * p * (p / m).log2();
        }
        if q > 0.0 {
            s += 0.5 * q * (q / m).log2();
        }
    }
    if s.is_nan() { 0.0 } else { s.clamp(0.0, 1.0) }
}

/// A category distribution of `items` (each a non-empty category list): sorted by category.
fn category_distribution(items: &[&[u32]]) -> Vec<(u32, f64)> {
    let mut w: Vec<(u32, f64)> = Vec::new();
    for cats in items {
        let share = 1.0 / cats.len() as f64;
        w.extend(cats.iter().map(|&c| (c, share)));
    }
    w.sort_unstable_by_key(|e| e.0);
    let mut out: Vec<(u32, f64)> = Vec::with_capacity(w.len());
    for (c, v) in w {
        match out.last_mut() {
            Some(last) if last.0 == c => last.1 += v,
            _ => out.push((c, v)),
        }
    }
    let total = items.len() as f64;
    for e in &mut out {
        e.1 /= total;
    }
    out
}

/// The JSD of two sorted sparse distributions.
fn js_sparse(p: &[(u32, f64)], q: &[(u32, f64)]) -> f64 {
    let (mut i, mut j) = (0, 0);
    let mut pairs = Vec::with_capacity(p.len() + q.len());
    while i < p.len() || j < q.len() {
        match (p.get(i), q.get(j)) {
            (Some(a), Some(b)) if a.0 == b.0 => {
                pairs.push((a.1, b.1));
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.0 < b.0 => {
                pairs.push((a.1, 0.0));
                i += 1;
            }
            (Some(a), None) => {
                pairs.push((a.1, 0.0));
                i += 1;
            }
            (_, Some(b)) => {
                pairs.push((0.0, b.1));
                j += 1;
            }
            (None, None) => break,
        }
    }
    js_pairs(pairs.into_iter())
}

/// The drift score of one history (see [`Drift`]).
fn drift_score(history: &[u32], split: &Split) -> Option<f64> {
    let meta = &split.dataset.meta;
    let cats: Vec<&[u32]> = history.iter().map(|&i| meta.categories_of(i)).filter(|c| !c.is_empty()).collect();
    let k = cats.len();
    if k < 4 {
        return None;
    }
    let h = k / 2;
    Some(js_sparse(&category_distribution(&cats[..h]), &category_distribution(&cats[k - h..])))
}

fn drift(run: &EvalRun, split: &Split, metrics: &[&PerCase]) -> Drift {
    let ds = &split.dataset;
    let values: Vec<Option<f64>> = run
        .cases
        .iter()
        .map(|c| {
            let items = &ds.seqs.get(c.seq as usize)?.items;
            let history = items.get(c.start as usize..(c.end as usize).min(items.len()))?;
            drift_score(history, split)
        })
        .collect();
    let scored: Vec<usize> = (0..values.len()).filter(|&c| values[c].is_some()).collect();
    let score = |c: usize| values[c].unwrap_or(0.0);
    let n = run.cases.len();
    let share = if n == 0 { 0.0 } else { scored.len() as f64 / n as f64 };
    let mean = (!scored.is_empty()).then(|| scored.iter().map(|&c| score(c)).sum::<f64>() / scored.len() as f64);

    // Quintile buckets (b_{j-1}, b_j] with nearest-rank bounds; equal bounds leave a bucket
    // empty, and it is dropped.
    let mut sorted: Vec<f64> = scored.iter().map(|&c| score(c)).collect();
    sorted.sort_unstable_by(f64::total_cmp);
    let mut by_drift = Vec::new();
    let mut below = f64::NEG_INFINITY;
    for j in 1..=5 {
        let Some(bound) = nearest_rank(&sorted, j as f64 / 5.0) else { break };
        let members: Vec<usize> = scored.iter().copied().filter(|&c| score(c) > below && score(c) <= bound).collect();
        if !members.is_empty() {
            let lo = members.iter().map(|&c| score(c)).fold(f64::INFINITY, f64::min);
            let hi = members.iter().map(|&c| score(c)).fold(f64::NEG_INFINITY, f64::max);
            by_drift.push(group(format!("{lo:.2}–{hi:.2}"), lo, hi, &members, metrics));
        }
        below = bound;
    }

    let corr = metrics
        .iter()
        .find(|m| m.key == "ndcg@10")
        .or_else(|| metrics.iter().find(|m| m.key.starts_with("ndcg@")))
        .copied();
    let spearman = corr.and_then(|m| {
        let x: Vec<f64> = scored.iter().map(|&c| score(c)).collect();
        let y: Vec<f64> = scored.iter().map(|&c| m.values[c]).collect();
        spearman(&x, &y)
    });
    Drift { values, by_drift, share, mean, metric: corr.map(|m| m.key.clone()), spearman }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::split::{Cut, SplitSpec};
    use crate::data::{Dataset, DatasetBuilder};
    use crate::events::{EventKind, SequenceOptions};

    const DAY: i64 = 86_400_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// An EvalRun over the cases of `phase`; ranks etc. do not matter to this module. Built
    /// from JSON so that fields added to `EvalRun` with serde defaults need no change here.
    fn run_for(split: &Split, phase: Phase) -> EvalRun {
        let cases = split.cases(phase);
        let n = cases.len();
        serde_json::from_value(serde_json::json!({
            "model": "m",
            "phase": phase,
            "cases": cases,
            "ranks": vec![1; n],
            "candidates": vec![10; n],
            "kmax": 1,
            "topk": vec![1; n],
            "sampled_ranks": null,
            "target_scores": vec![0.0; n],
            "negative_scores": [],
            "seconds": 0.0,
        }))
        .unwrap()
    }

    fn pc(key: &str, values: &[f64]) -> PerCase {
        PerCase { key: key.into(), values: values.to_vec() }
    }

    fn build(users: &[(&str, usize)], has_ts: bool) -> Dataset {
        let mut b = DatasetBuilder::new("toy");
        b.has_timestamps = has_ts;
        for (u, len) in users {
            for p in 0..*len {
                b.push(u, &format!("i{p}"), EventKind::View, p as i64);
            }
        }
        b.build(&SequenceOptions::default()).unwrap()
    }

    #[test]
    fn length_and_activity_under_leave_one_out() {
        let _rng = crate::testing::rng_lock();
        // LOO: the test target is the last item, the history everything before it, and the
        // training data (test phase) everything but the target. u4 (2 items) has no case.
        let ds = build(&[("u0", 3), ("u1", 5), ("u2", 8), ("u3", 12), ("u4", 2), ("u5", 4)], false);
        let split = Split::new(ds, SplitSpec::LeaveOneOut).unwrap();
        let run = run_for(&split, Phase::Test);
        // cases u0 u1 u2 u3 u5: history lengths 2 4 7 11 3, training activity the same
        let lens: Vec<u32> = run.cases.iter().map(|c| c.end - c.start).collect();
        assert_eq!(lens, vec![2, 4, 7, 11, 3]);
        let ndcg = pc("ndcg@10", &[0.1, 0.2, 0.3, 0.4, 0.9]);
        let hr = pc("hr@10", &[0.0, 1.0, 1.0, 0.0, 1.0]);
        let stray = pc("short", &[1.0]); // not one value per case: ignored
        let d = dynamic(&run, &split, Phase::Test, &[ndcg, hr, stray]);
        assert!(d.by_time.is_none(), "no timestamps");
        assert!(d.drift.is_none(), "no categories");

        let labels: Vec<&str> = d.by_length.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["1–2", "3–5", "6–10", "11–20", "21–50", "51–100", "101+"]);
        let cases: Vec<usize> = d.by_length.iter().map(|g| g.cases).collect();
        assert_eq!(cases, [1, 2, 1, 1, 0, 0, 0]);
        // 3–5 holds u1 (4) and u5 (3): ndcg (0.2 + 0.9) / 2 = 0.55, hr (1 + 1) / 2 = 1
        let g = &d.by_length[1];
        assert!(close(g.metrics["ndcg@10"], 0.55) && close(g.metrics["hr@10"], 1.0));
        assert!(!g.metrics.contains_key("short"));
        assert!(close(d.by_length[3].metrics["ndcg@10"], 0.4));
        assert!(d.by_length[4].metrics.is_empty(), "empty buckets are kept without metrics");
        assert_eq!((d.by_length[6].lo, d.by_length[6].hi), (101.0, 101.0));

        // activity [2, 4, 7, 11, 3], sorted [2, 3, 4, 7, 11]: median (rank ⌈2.5⌉ = 3) is 4,
        // 80th percentile (rank ⌈4⌉ = 4) is 7 → light {u0, u1, u5}, medium {u2}, heavy {u3}
        let a = &d.by_activity;
        assert_eq!(
            a.iter().map(|g| (g.label.as_str(), g.cases)).collect::<Vec<_>>(),
            [("light", 3), ("medium", 1), ("heavy", 1)]
        );
        assert_eq!((a[0].lo, a[0].hi, a[1].hi, a[2].hi), (2.0, 4.0, 7.0, 11.0));
        // light ndcg (0.1 + 0.2 + 0.9) / 3 = 0.4, hr (0 + 1 + 1) / 3
        assert!(close(a[0].metrics["ndcg@10"], 0.4) && close(a[0].metrics["hr@10"], 2.0 / 3.0));
        assert!(close(a[1].metrics["ndcg@10"], 0.3) && close(a[2].metrics["ndcg@10"], 0.4));
    }

    /// u0: days 0 10 20 30 40 70; u1: days 5 15 100; u2: days 1 2 3 46 — from 2020-01-01.
    /// Temporal split, test cut day 40, validation cut day 30.
    fn timed_split() -> Split {
        let t0 = 18_262 * DAY; // 2020-01-01
        let mut b = DatasetBuilder::new("timed");
        for (u, days) in [("u0", &[0, 10, 20, 30, 40, 70][..]), ("u1", &[5, 15, 100]), ("u2", &[1, 2, 3, 46])] {
            for (p, d) in days.iter().enumerate() {
                b.push(u, &format!("i{p}"), EventKind::View, t0 + d * DAY);
            }
        }
        let ds = b.build(&SequenceOptions::default()).unwrap();
        Split::new(ds, SplitSpec::Temporal { test: Cut::At(t0 + 40 * DAY), valid: Cut::At(t0 + 30 * DAY) }).unwrap()
    }

    #[test]
    fn activity_differs_from_length_and_time_slices() {
        let split = timed_split();
        let run = run_for(&split, Phase::Test);
        // cases: u0→day 40 (history 4), u0→day 70 (history 5), u1→day 100 (2), u2→day 46 (3);
        // training activity (test_start): u0 4, u0 4, u1 2, u2 3
        let cs: Vec<(u32, u32)> = run.cases.iter().map(|c| (c.seq, c.end)).collect();
        assert_eq!(cs, [(0, 4), (0, 5), (1, 2), (2, 3)]);
        let ndcg = pc("ndcg@10", &[0.5, 0.1, 0.0, 0.3]);
        let d = dynamic(&run, &split, Phase::Test, &[ndcg]);

        // lengths 4 5 2 3: 3–5 holds cases 0, 1, 3 → (0.5 + 0.1 + 0.3) / 3 = 0.3
        assert_eq!(d.by_length[0].cases, 1);
        assert!(close(d.by_length[1].metrics["ndcg@10"], 0.3));
        // activity [4, 4, 2, 3] sorted [2, 3, 4, 4]: median rank 2 → 3, 80th rank ⌈3.2⌉ = 4 → 4.
        // light {u1, u2} = (0 + 0.3) / 2; medium {both u0 cases} = (0.5 + 0.1) / 2; heavy none.
        // Both u0 cases share one activity although their histories differ (4 and 5).
        let a = &d.by_activity;
        assert_eq!(a.iter().map(|g| g.cases).collect::<Vec<_>>(), [2, 2, 0]);
        assert!(close(a[0].metrics["ndcg@10"], 0.15) && close(a[1].metrics["ndcg@10"], 0.3));
        assert!(a[2].metrics.is_empty());

        // targets at days 40, 70, 100, 46: span 60 days in six 10-day slices.
        // 40 → slice 0, 46 → 0, 70 → ⌊30/10⌋ = 3, 100 → 6, clamped to the last (5).
        let t = d.by_time.expect("timestamps");
        assert_eq!(t.iter().map(|g| g.cases).collect::<Vec<_>>(), [2, 0, 0, 1, 0, 1]);
        assert!(close(t[0].metrics["ndcg@10"], 0.4)); // (0.5 + 0.3) / 2
        assert!(close(t[3].metrics["ndcg@10"], 0.1) && close(t[5].metrics["ndcg@10"], 0.0));
        // day 40 = 2020-02-10, 50 = 02-20, 60 = 03-01 (leap year), 100 = 04-10
        assert_eq!(t[0].label, "2020-02-10–2020-02-20");
        assert_eq!(t[1].label, "2020-02-20–2020-03-01");
        assert_eq!(t[5].label, "2020-03-31–2020-04-10");
        assert!(close(t[0].lo, ((18_262 + 40) * DAY) as f64) && close(t[5].hi, ((18_262 + 100) * DAY) as f64));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(18_262), (2020, 1, 1));
        assert_eq!(civil_from_days(18_262 + 59), (2020, 2, 29));
        // 2000-01-01 is day 30·365 + 7 leap days = 10957; + 31 + 28 days is Feb 29
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(iso_date(18_262 * DAY + 90 * 60_000, true), "2020-01-01 01:30");
    }

    #[test]
    fn jensen_shannon_by_hand() {
        assert!(close(jensen_shannon(&[1.0, 0.0], &[0.0, 1.0]), 1.0));
        assert!(close(jensen_shannon(&[0.3, 0.7], &[0.3, 0.7]), 0.0));
        // M = [.75, .25]: ½(.5 log2(.5/.75) + .5 log2(.5/.25)) + ½ log2(1/.75) = 0.311278
        assert!((jensen_shannon(&[0.5, 0.5], &[1.0, 0.0]) - 0.311_278).abs() < 1e-6);
        // sparse form agrees: categories {0: .5, 2: .5} vs {2: 1}
        assert!((js_sparse(&[(0, 0.5), (2, 0.5)], &[(2, 1.0)]) - 0.311_278).abs() < 1e-6);
        assert!(close(js_sparse(&[], &[]), 0.0));
    }

    /// Items: a, b in X; c, d in Y; e in X and Y; f uncategorised. Each user's last item
    /// ("a") is the LOO test target; the histories are before it.
    fn drift_split() -> Split {
        let mut b = DatasetBuilder::new("cats");
        b.has_timestamps = false;
        let users: [(&str, &[&str]); 6] = [
            ("u0", &["a", "a", "c", "d"]),      // X X | Y Y        → 1
            ("u1", &["a", "c", "a", "c"]),      // XY  | XY         → 0
            ("u2", &["a", "e", "a", "a"]),      // [.75 .25] | [1 0] → 0.137925
            ("u3", &["f", "a", "c"]),           // 2 categorised    → none
            ("u4", &["a", "f", "c", "c", "e"]), // [.5 .5] | [.25 .75] → 0.048795
            ("u5", &["a", "a", "b", "c", "d"]), // X X (b) Y Y      → 1
        ];
        for (u, items) in users {
            for (p, i) in items.iter().chain(&["a"]).enumerate() {
                b.push(u, i, EventKind::View, p as i64);
            }
        }
        for (i, cats) in [("a", &["X"][..]), ("b", &["X"]), ("c", &["Y"]), ("d", &["Y"]), ("e", &["X", "Y"])] {
            b.set_item_meta(i, None, cats);
        }
        Split::new(b.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap()
    }

    #[test]
    fn drift_scores_quintiles_and_correlation() {
        let split = drift_split();
        let run = run_for(&split, Phase::Test);
        assert_eq!(run.cases.len(), 6);
        let ndcg = pc("ndcg@10", &[0.1, 0.9, 0.5, 0.3, 0.7, 0.2]);
        let ndcg5 = pc("ndcg@5", &[0.0; 6]);
        let d = dynamic(&run, &split, Phase::Test, &[ndcg5, ndcg]);
        let dr = d.drift.expect("categories");
        let want = [Some(1.0), Some(0.0), Some(0.137_925_380_970), None, Some(0.048_794_940_695), Some(1.0)];
        for (got, want) in dr.values.iter().zip(want) {
            match (got, want) {
                (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{got:?} vs {want:?}"),
                (None, None) => {}
                _ => panic!("{:?}", dr.values),
            }
        }
        assert!(close(dr.share, 5.0 / 6.0));
        assert!(close(dr.mean.unwrap(), (1.0 + 0.0 + 0.137_925_380_970 + 0.048_794_940_695 + 1.0) / 5.0));
        // scored drifts sorted [0, .0488, .1379, 1, 1]; nearest-rank quintile bounds are the
        // values themselves, and the fifth bucket (1, 1] is empty and dropped.
        let g: Vec<(&str, usize)> = dr.by_drift.iter().map(|g| (g.label.as_str(), g.cases)).collect();
        assert_eq!(g, [("0.00–0.00", 1), ("0.05–0.05", 1), ("0.14–0.14", 1), ("1.00–1.00", 2)]);
        let means: Vec<f64> = dr.by_drift.iter().map(|g| g.metrics["ndcg@10"]).collect();
        for (m, w) in means.iter().zip([0.9, 0.7, 0.5, 0.15]) {
            assert!(close(*m, w), "{means:?}");
        }
        // ndcg@10 preferred over the first ndcg key. Ranks over the scored cases
        // (u0 u1 u2 u4 u5): drift [4.5, 1, 3, 2, 4.5], ndcg [1, 5, 3, 4, 2];
        // Σdxdy = -9.5, Σdx² = 9.5, Σdy² = 10 → r = -9.5 / √95
        assert_eq!(dr.metric.as_deref(), Some("ndcg@10"));
        assert!(close(dr.spearman.unwrap(), -9.5 / 95f64.sqrt()));
        // serialised without the per-case values
        let json = serde_json::to_value(&dr).unwrap();
        assert!(json.get("values").is_none() && json.get("by_drift").is_some());
    }

    #[test]
    fn empty_and_odd_runs_do_not_panic() {
        let split = drift_split();
        let mut run = run_for(&split, Phase::Test);
        run.cases.clear();
        let d = dynamic(&run, &split, Phase::Test, &[pc("ndcg@10", &[])]);
        assert!(d.by_length.iter().all(|g| g.cases == 0));
        assert_eq!(d.by_activity.len(), 3);
        let dr = d.drift.unwrap();
        assert_eq!((dr.share, dr.mean, dr.spearman), (0.0, None, None));
        assert!(dr.by_drift.is_empty());
        // a hand-made case pointing outside the data, and a NaN value
        let t = timed_split();
        let mut run = run_for(&t, Phase::Test);
        run.cases.push(crate::data::EvalCase { seq: 99, start: 0, end: 50 });
        let d = dynamic(&run, &t, Phase::Test, &[pc("x", &[1.0, f64::NAN, 1.0, 1.0, 1.0])]);
        let times = d.by_time.unwrap();
        assert_eq!(times.iter().map(|g| g.cases).sum::<usize>(), 4, "the stray case has no time");
        assert!(!times[0].metrics.is_empty());
        assert!(times[3].metrics.is_empty(), "the slice holding the NaN case has no finite mean");
    }
}
