//! Beyond-accuracy metrics, computed from the top lists of an [`EvalRun`] and the training
//! data visible in its phase (RecBole's definitions where RecBole has the metric).
//!
//! At a cut-off `k`, a case's list is the first `min(k, kmax)` entries of its top list with
//! padding (item 0, present when fewer candidates than `kmax` existed) left out; `L` is its
//! length. Per-case metrics divide by `L`, and are 0 for an empty list.
//!
//! Per case ([`per_case`]):
//! - `avgpop@k`: mean training count of the listed items.
//! - `tail@k`: share of listed items in the long tail — the items *not* among the most
//!   popular 20% (`ceil(0.2 · num_items)` items by training count, ties broken by smaller
//!   index, so the head has exactly that many items).
//! - `novelty@k`: mean self-information −log2(count_i / U), U = number of users (sequences)
//!   with training data in the phase, `count_i` clamped to `[1, U]` (an unseen item counts
//!   as seen once; an item seen more often than there are users — repeat consumption — counts
//!   as seen by everyone, so novelty is never negative).
//! - `serendipity@k`: (1/L) Σ_{i in list} rel(i) · unexpected(i), after Ge et al. (2010):
//!   rel(i) = 1 when `i` is the case's target. With item categories, unexpectedness is
//!   graded (after Kaminskas & Bridge, 2014): the mean over the items `h` of the case's full
//!   history of 1 − Jaccard(categories_i, categories_h), in [0, 1]. (A yes/no "shares no
//!   category with the history" test is 0 for almost every user of a dataset with a handful of
//!   genres.) Without categories, the expected recommendations are those of
//!   the "primitive recommender" MostPopular: `i` is unexpected when it is not among the `k`
//!   most popular items (same popularity order as above).
//! - `ild@k` (only when the data has categories): intra-list diversity, the mean over the
//!   L·(L−1)/2 pairs of the list of 1 − Jaccard(categories_i, categories_j); two items with
//!   no categories have identical (empty) sets, distance 0; a list of fewer than 2 items
//!   has ILD 0.
//!
//! Over all cases ([`aggregate`]), from how often each item is listed:
//! - `coverage@k`: distinct listed items / number of items.
//! - `gini@k`: Gini index of the listing counts over *all* items (never-listed items count
//!   0), RecBole's `GiniIndex`: Σ_{j=1}^{n} (2j − n − 1) x_(j) / (n Σ x) with counts sorted
//!   ascending. 0 = every item listed equally often, (n−1)/n = one item listed everywhere.
//!   (RecBole's `n` includes its padding item; here `n` is the number of real items.)
//! - `entropy@k`: Shannon entropy (natural log) of the share of listings each item gets,
//!   −Σ p ln p. (RecBole's `ShannonEntropy` additionally divides by the number of distinct
//!   items; this is the plain entropy.)

#[cfg(not(target_arch = "wasm32"))]
use rayon::prelude::*;

use crate::data::{Phase, Split};
use crate::eval::{EvalRun, PerCase};

/// Share of items in the popularity head; the rest is the long tail.
pub const HEAD_SHARE: f64 = 0.2;

/// What beyond-accuracy metrics need from the training data of a phase.
#[derive(Clone, Debug, PartialEq)]
pub struct BeyondContext {
    /// Training interaction count per item index (index 0, padding, is 0).
    pub counts: Vec<u32>,
    /// Users (sequences) with at least one training interaction in the phase.
    pub num_train_users: usize,
    /// Per item index, its category ids sorted and de-duplicated; `None` when the data has
    /// no categories.
    pub categories: Option<Vec<Vec<u32>>>,
    /// Per item index, its 1-based popularity rank (count descending, then index
    /// ascending); 0 for the padding index.
    pub pop_rank: Vec<u32>,
    /// Number of items in the popularity head: `ceil(0.2 · num_items)`.
    pub head: usize,
}

impl BeyondContext {
    /// Built from the data visible to training in `phase`.
    pub fn new(split: &Split, phase: Phase) -> Self {
        let train = split.train(phase);
        let counts = train.item_counts();
        let num_train_users = train.sequences().count();
        let meta = &split.dataset.meta;
        let categories = meta.has_categories().then(|| {
            (0..counts.len() as u32)
                .map(|i| {
                    let mut c = meta.categories_of(i).to_vec();
                    c.sort_unstable();
                    c.dedup();
                    c
                })
                .collect()
        });
        let mut order: Vec<u32> = (1..counts.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let mut pop_rank = vec![0u32; counts.len()];
        for (r, &i) in order.iter().enumerate() {
            pop_rank[i as usize] = r as u32 + 1;
        }
        let head = (order.len() as f64 * HEAD_SHARE).ceil() as usize;
        BeyondContext { counts, num_train_users, categories, pop_rank, head }
    }

    /// Number of real items.
    pub fn num_items(&self) -> usize {
        self.counts.len().saturating_sub(1)
    }

    /// Training count of item `i` (0 when out of range).
    pub fn count(&self, i: u32) -> u32 {
        self.counts.get(i as usize).copied().unwrap_or(0)
    }

    /// True when item `i` is in the long tail (not among the `head` most popular).
    pub fn is_tail(&self, i: u32) -> bool {
        self.popularity_rank(i) > self.head
    }

    /// 1-based popularity rank of item `i` (`usize::MAX` when out of range).
    pub fn popularity_rank(&self, i: u32) -> usize {
        match self.pop_rank.get(i as usize) {
            Some(&r) if r > 0 => r as usize,
            _ => usize::MAX,
        }
    }

    fn categories_of(&self, i: u32) -> &[u32] {
        self.categories.as_ref().and_then(|c| c.get(i as usize)).map_or(&[], Vec::as_slice)
    }
}

/// Case `c`'s top list without padding (empty when the run is malformed).
fn list(run: &EvalRun, c: usize) -> Vec<u32> {
    let kmax = run.kmax;
    let top = c.checked_mul(kmax).and_then(|a| run.topk.get(a..a + kmax)).unwrap_or(&[]);
    top.iter().copied().filter(|&i| i != 0).collect()
}

/// The list length at cut-off `k`: how many of the non-padding entries are within `k`.
fn len_at(run: &EvalRun, c: usize, k: usize) -> usize {
    let kmax = run.kmax;
    let top = c.checked_mul(kmax).and_then(|a| run.topk.get(a..a + kmax)).unwrap_or(&[]);
    top.iter().take(k).filter(|&&i| i != 0).count()
}

fn jaccard_distance(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut inter) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - inter;
    if union == 0 { 0.0 } else { 1.0 - inter as f64 / union as f64 }
}

/// Names of the per-case metrics, in output order within one K.
fn per_case_names(ctx: &BeyondContext) -> &'static [&'static str] {
    if ctx.categories.is_some() {
        &["avgpop", "tail", "novelty", "serendipity", "ild"]
    } else {
        &["avgpop", "tail", "novelty", "serendipity"]
    }
}

/// All per-case values of case `c`, K-major in the order of [`per_case_names`].
fn case_values(run: &EvalRun, split: &Split, ctx: &BeyondContext, ks: &[usize], c: usize) -> Vec<f64> {
    let items = list(run, c);
    let users = ctx.num_train_users.max(1) as f64;
    let case = run.cases.get(c);
    let seq = case.and_then(|e| split.dataset.seqs.get(e.seq as usize));
    let target = case.zip(seq).and_then(|(e, s)| s.items.get(e.end as usize)).copied();
    let history = case.zip(seq).and_then(|(e, s)| s.items.get(e.start as usize..e.end as usize)).unwrap_or(&[]);
    // Prefix sums over the list: popularity, tail, novelty and pairwise distances.
    let mut pop = vec![0.0; items.len() + 1];
    let mut tail = vec![0.0; items.len() + 1];
    let mut nov = vec![0.0; items.len() + 1];
    let mut pairs = vec![0.0; items.len() + 1];
    for (p, &i) in items.iter().enumerate() {
        let count = ctx.count(i) as f64;
        pop[p + 1] = pop[p] + count;
        tail[p + 1] = tail[p] + ctx.is_tail(i) as u8 as f64;
        nov[p + 1] = nov[p] - (count.clamp(1.0, users) / users).log2();
        if ctx.categories.is_some() {
            let ci = ctx.categories_of(i);
            let d: f64 = items[..p].iter().map(|&j| jaccard_distance(ctx.categories_of(j), ci)).sum();
            pairs[p + 1] = pairs[p] + d;
        }
    }
    let target_pos = target.and_then(|t| items.iter().position(|&i| i == t));
    let names = per_case_names(ctx);
    let mut out = Vec::with_capacity(ks.len() * names.len());
    for &k in ks {
        let l = len_at(run, c, k);
        if l == 0 {
            out.extend(std::iter::repeat_n(0.0, names.len()));
            continue;
        }
        let lf = l as f64;
        out.push(pop[l] / lf);
        out.push(tail[l] / lf);
        out.push(nov[l] / lf);
        let serendipity = match (target_pos, target) {
            (Some(p), Some(t)) if p < l => {
                let unexpected = if ctx.categories.is_some() {
                    let ct = ctx.categories_of(t);
                    let total: f64 = history.iter().map(|&h| jaccard_distance(ctx.categories_of(h), ct)).sum();
                    if history.is_empty() { 1.0 } else { total / history.len() as f64 }
                } else if ctx.popularity_rank(t) > k {
                    1.0
                } else {
                    0.0
                };
                unexpected / lf
            }
            _ => 0.0,
        };
        out.push(serendipity);
        if ctx.categories.is_some() {
            out.push(if l < 2 { 0.0 } else { pairs[l] / (lf * (lf - 1.0) / 2.0) });
        }
    }
    out
}

/// Per-case beyond-accuracy metrics at every K (`avgpop@k`, `tail@k`, `novelty@k`,
/// `serendipity@k`, and `ild@k` when the data has categories).
pub fn per_case(run: &EvalRun, split: &Split, ctx: &BeyondContext, ks: &[usize]) -> Vec<PerCase> {
    let n = run.cases.len();
    #[cfg(not(target_arch = "wasm32"))]
    let rows: Vec<Vec<f64>> = (0..n).into_par_iter().map(|c| case_values(run, split, ctx, ks, c)).collect();
    #[cfg(target_arch = "wasm32")]
    let rows: Vec<Vec<f64>> = (0..n).map(|c| case_values(run, split, ctx, ks, c)).collect();
    let names = per_case_names(ctx);
    let mut out = Vec::with_capacity(ks.len() * names.len());
    for (ki, &k) in ks.iter().enumerate() {
        for (mi, name) in names.iter().enumerate() {
            let col = ki * names.len() + mi;
            let values = rows.iter().map(|r| r.get(col).copied().unwrap_or(0.0)).collect();
            out.push(PerCase { key: format!("{name}@{k}"), values });
        }
    }
    out
}

/// Aggregate beyond-accuracy metrics at every K: `coverage@k`, `gini@k`, `entropy@k`.
pub fn aggregate(run: &EvalRun, ctx: &BeyondContext, ks: &[usize]) -> Vec<(String, f64)> {
    let n = ctx.num_items();
    let cases = run.topk.len().checked_div(run.kmax).unwrap_or(0);
    let mut out = Vec::with_capacity(ks.len() * 3);
    for &k in ks {
        let mut listed = vec![0u64; n + 1];
        for c in 0..cases {
            let top = &run.topk[c * run.kmax..(c + 1) * run.kmax];
            for &i in top.iter().take(k) {
                if let Some(x) = listed.get_mut(i as usize) {
                    *x += (i != 0) as u64;
                }
            }
        }
        let mut counts: Vec<u64> = listed.get(1..).unwrap_or(&[]).to_vec();
        let total: u64 = counts.iter().sum();
        let distinct = counts.iter().filter(|&&x| x > 0).count();
        let coverage = if n == 0 { 0.0 } else { distinct as f64 / n as f64 };
        counts.sort_unstable();
        let (gini, entropy) = if total == 0 {
            (0.0, 0.0)
        } else {
            let nf = n as f64;
            let g: f64 = counts.iter().enumerate().map(|(j, &x)| (2.0 * (j + 1) as f64 - nf - 1.0) * x as f64).sum();
            let t = total as f64;
            let e: f64 = counts.iter().filter(|&&x| x > 0).map(|&x| x as f64 / t).map(|p| -p * p.ln()).sum();
            (g / (nf * t), e)
        };
        out.push((format!("coverage@{k}"), coverage));
        out.push((format!("gini@{k}"), gini));
        out.push((format!("entropy@{k}"), entropy));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetBuilder, SplitSpec};
    use crate::events::{EventKind, SequenceOptions};

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    /// Items a=1 b=2 c=3 d=4 e=5 f=6. u0: a b a c; u1: a b d; u2: e f (too short: training).
    /// Test-phase training: u0 a b a, u1 a b, u2 e f → counts a 3, b 2, c 0, d 0, e 1, f 1;
    /// 3 training users. Popularity order a b e f c d; head = ceil(1.2) = 2 = {a, b}.
    /// Categories: a {x}, b {y}, c {x, y}, d {z}, e {x}, f {}.
    /// Test cases: u0 history [a b a] → c; u1 history [a b] → d (both histories: {x, y}).
    fn split(categories: bool) -> Split {
        let mut b = DatasetBuilder::new("beyond");
        for (u, items) in [("u0", "abac"), ("u1", "abd"), ("u2", "ef")] {
            for (t, ch) in items.chars().enumerate() {
                b.push(u, &ch.to_string(), EventKind::View, t as i64);
            }
        }
        if categories {
            for (item, cats) in [("a", &["x"][..]), ("b", &["y"]), ("c", &["x", "y"]), ("d", &["z"]), ("e", &["x"])] {
                b.set_item_meta(item, None, cats);
            }
        }
        Split::new(b.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap()
    }

    /// Top-3 lists: u0 [c a d], u1 [d f -] (padded).
    fn run_for(split: &Split) -> EvalRun {
        let cases = split.cases(Phase::Test);
        assert_eq!(cases.len(), 2);
        EvalRun {
            model: "m".into(),
            phase: Phase::Test,
            cases,
            ranks: vec![1, 1],
            candidates: vec![3, 4],
            kmax: 3,
            topk: vec![3, 1, 4, 4, 6, 0],
            sampled_ranks: None,
            sampled: None,
            target_scores: vec![1.0, 1.0],
            negative_scores: vec![],
            seconds: 0.0,
        }
    }

    #[test]
    fn context() {
        let s = split(true);
        let ctx = BeyondContext::new(&s, Phase::Test);
        assert_eq!(ctx.counts, vec![0, 3, 2, 0, 0, 1, 1]);
        assert_eq!(ctx.num_train_users, 3);
        assert_eq!(ctx.pop_rank, vec![0, 1, 2, 5, 6, 3, 4]);
        assert_eq!(ctx.head, 2);
        assert_eq!((1..=6).map(|i| ctx.is_tail(i)).collect::<Vec<_>>(), [false, false, true, true, true, true]);
        assert_eq!(ctx.categories.as_ref().unwrap()[3], vec![0, 1]);
        // Validation training: u0 a b, u1 a, u2 e f → a 2, b 1, e 1, f 1.
        let v = BeyondContext::new(&s, Phase::Valid);
        assert_eq!(v.counts, vec![0, 2, 1, 0, 0, 1, 1]);
        assert!(BeyondContext::new(&split(false), Phase::Test).categories.is_none());
    }

    #[test]
    fn per_case_with_categories() {
        let s = split(true);
        let ctx = BeyondContext::new(&s, Phase::Test);
        let m = per_case(&run_for(&s), &s, &ctx, &[1, 2, 3]);
        let get = |key: &str| m.iter().find(|p| p.key == key).unwrap().values.clone();
        assert_eq!(m.len(), 15);
        assert_eq!(m[0].key, "avgpop@1");
        assert_eq!(m[4].key, "ild@1");
        let l3 = 3f64.log2();
        // k = 1: u0 [c], u1 [d]. avgpop 0, 0; tail 1, 1; novelty −log2(1/3) = log2 3 each.
        // serendipity: u0 target c {x,y} vs history a {x}, b {y}, a {x}: each 1 − 1/2, mean 0.5;
        // u1 target d {z} vs a {x}, b {y}: each distance 1, mean 1.
        assert_eq!(get("avgpop@1"), vec![0.0, 0.0]);
        assert_eq!(get("tail@1"), vec![1.0, 1.0]);
        close(get("novelty@1")[0], l3);
        close(get("novelty@1")[1], l3);
        assert_eq!(get("serendipity@1"), vec![0.5, 1.0]);
        assert_eq!(get("ild@1"), vec![0.0, 0.0]);
        // k = 2: u0 [c a]: avgpop (0+3)/2; tail 1/2; novelty (log2 3 + log2(3/3))/2;
        //   ild 1 − J({x,y},{x}) = 1 − 1/2.
        // u1 [d f]: avgpop (0+1)/2; tail 1; novelty log2 3; serendipity 1/2 (u0: 0.5/2);
        //   ild 1 − J({z},{}) = 1.
        assert_eq!(get("avgpop@2"), vec![1.5, 0.5]);
        assert_eq!(get("tail@2"), vec![0.5, 1.0]);
        close(get("novelty@2")[0], l3 / 2.0);
        close(get("novelty@2")[1], l3);
        assert_eq!(get("serendipity@2"), vec![0.25, 0.5]);
        assert_eq!(get("ild@2"), vec![0.5, 1.0]);
        // k = 3: u0 [c a d]: avgpop 3/3; tail 2/3; novelty 2·log2 3 / 3;
        //   ild pairs (c,a) 1/2, (c,d) 1, (a,d) 1 → 2.5/3. u1 is still [d f] (padding ignored).
        assert_eq!(get("avgpop@3"), vec![1.0, 0.5]);
        close(get("tail@3")[0], 2.0 / 3.0);
        close(get("novelty@3")[0], 2.0 * l3 / 3.0);
        close(get("ild@3")[0], 2.5 / 3.0);
        assert_eq!(get("ild@3")[1], 1.0);
        close(get("serendipity@3")[0], 0.5 / 3.0);
        assert_eq!(get("serendipity@3")[1], 0.5);
    }

    #[test]
    fn serendipity_without_categories_uses_most_popular() {
        let s = split(false);
        let ctx = BeyondContext::new(&s, Phase::Test);
        let m = per_case(&run_for(&s), &s, &ctx, &[1, 2, 3, 6]);
        assert_eq!(m.len(), 16, "no ild without categories");
        let get = |key: &str| m.iter().find(|p| p.key == key).unwrap().values.clone();
        // u0 target c (popularity rank 5), u1 target d (rank 6), both listed first.
        // k = 1: both ranks > 1 → unexpected → 1/1. k = 2: lists of 2 → 1/2 each.
        // k = 3: u0 list of 3 → 1/3; u1 list of 2 → 1/2.
        // k = 6: the lists stay [c a d] and [d f], but c (5) and d (6) are among the 6 most
        // popular → expected → 0.
        assert_eq!(get("serendipity@1"), vec![1.0, 1.0]);
        assert_eq!(get("serendipity@2"), vec![0.5, 0.5]);
        assert_eq!(get("serendipity@3"), vec![1.0 / 3.0, 0.5]);
        assert_eq!(get("serendipity@6"), vec![0.0, 0.0]);
    }

    #[test]
    fn aggregates() {
        let s = split(true);
        let ctx = BeyondContext::new(&s, Phase::Test);
        let a = aggregate(&run_for(&s), &ctx, &[1, 2, 3]);
        let keys: Vec<&str> = a.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys[..3], ["coverage@1", "gini@1", "entropy@1"]);
        // k = 1: listed c, d. coverage 2/6; counts sorted [0,0,0,0,1,1], Σ = 2:
        //   gini = ((2·5−7)·1 + (2·6−7)·1) / (6·2) = 8/12; entropy = ln 2.
        close(a[0].1, 1.0 / 3.0);
        close(a[1].1, 2.0 / 3.0);
        close(a[2].1, 2f64.ln());
        // k = 2: listed c a d f once each: coverage 4/6; sorted [0,0,1,1,1,1]:
        //   gini = (−1 + 1 + 3 + 5) / (6·4) = 1/3; entropy = ln 4.
        close(a[3].1, 4.0 / 6.0);
        close(a[4].1, 1.0 / 3.0);
        close(a[5].1, 4f64.ln());
        // k = 3: a 1, c 1, d 2, f 1 (Σ 5): coverage 4/6; sorted [0,0,1,1,1,2]:
        //   gini = (−1 + 1 + 3 + 5·2) / (6·5) = 13/30;
        //   entropy = −(3 · 0.2 ln 0.2 + 0.4 ln 0.4).
        close(a[6].1, 4.0 / 6.0);
        close(a[7].1, 13.0 / 30.0);
        close(a[8].1, -(3.0 * 0.2 * 0.2f64.ln() + 0.4 * 0.4f64.ln()));
    }

    #[test]
    fn extremes_and_malformed_runs() {
        let s = split(true);
        let ctx = BeyondContext::new(&s, Phase::Test);
        // Both cases list only d: gini (n−1)/n = 5/6, entropy 0, coverage 1/6.
        let mut run = run_for(&s);
        run.topk = vec![4, 0, 0, 4, 0, 0];
        let a = aggregate(&run, &ctx, &[3]);
        close(a[0].1, 1.0 / 6.0);
        close(a[1].1, 5.0 / 6.0);
        close(a[2].1, 0.0);
        // Empty lists: per-case 0, aggregates 0; out-of-range items and a short topk never panic.
        run.topk = vec![0; 6];
        assert!(per_case(&run, &s, &ctx, &[3]).iter().all(|p| p.values == [0.0, 0.0]));
        assert_eq!(aggregate(&run, &ctx, &[3]).iter().map(|x| x.1).collect::<Vec<_>>(), [0.0; 3]);
        // Case 0 lists an unknown item 99 and c; case 1's list is cut off.
        run.topk = vec![99, 3, 0, 0, 0];
        let m = per_case(&run, &s, &ctx, &[3]);
        assert_eq!(m[0].values, vec![0.0, 0.0], "avgpop: counts 0 and 0; case 1 empty");
        assert_eq!(m[1].values, vec![1.0, 0.0], "tail: both in the tail");
        let a = aggregate(&run, &ctx, &[3]);
        close(a[0].1, 1.0 / 6.0);
    }
}
