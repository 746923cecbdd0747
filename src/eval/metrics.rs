//! Full-ranking accuracy metrics, one type per metric (the RecBole layout), each a pure
//! function of the ranks of a case's targets.
//!
//! A case has a set `T` of targets, given as their 1-based ranks among the candidates; rank 0
//! means the target could not be ranked (it was masked) and counts as a miss. Today every case
//! has one target; the definitions below are the general multi-target ones, so they stay right
//! when cases get several. A *hit* at `k` is a target with `1 <= rank <= k`.
//!
//! | metric | value at `k` |
//! |---|---|
//! | [`Hit`] `hr@k` | 1 if any target is a hit, else 0 |
//! | [`Recall`] `recall@k` | hits / \|T\| |
//! | [`Precision`] `precision@k` | hits / k |
//! | [`F1`] `f1@k` | 2·P·R / (P + R), 0 when both are 0 |
//! | [`Ndcg`] `ndcg@k` | DCG / IDCG, DCG = Σ_hits 1/log2(rank + 1), IDCG = Σ_{i=1}^{min(\|T\|,k)} 1/log2(i + 1) |
//! | [`Mrr`] `mrr@k` | 1 / best rank if it is a hit, else 0 |
//! | [`Map`] `map@k` | (1 / min(\|T\|, k)) Σ_{hits at rank r} precision@r, precision@r = #targets ranked ≤ r / r |
//! | [`Auc`] `gauc` | fraction of (target, other candidate) pairs ordered right, per case |
//!
//! A case with no targets scores 0 everywhere.
//!
//! **GAUC.** RecBole's GAUC is the mean of per-user AUCs weighted by each user's number of
//! positives. With one target per case every weight is 1, so GAUC is the plain mean of the
//! per-case `gauc` values that [`per_case`] returns ([`crate::eval::PerCase::mean`]).
//!
//! [`pooled_auc`] is the other AUC: one global Mann–Whitney statistic over all target scores
//! against all sampled negative scores of every case.

use crate::eval::{EvalRun, PerCase};

/// A metric of the ranks of one case's targets at a cut-off `k`.
pub trait RankMetric: Send + Sync {
    /// Short name, e.g. `ndcg`.
    fn name(&self) -> &'static str;

    /// The metric's key at `k`, e.g. `ndcg@10`.
    fn key(&self, k: usize) -> String {
        format!("{}@{k}", self.name())
    }

    /// The value for one case whose targets have ranks `target_ranks` (0 = not rankable).
    fn value(&self, target_ranks: &[u32], k: usize) -> f64;
}

/// The @K metrics [`per_case`] reports, in its key order.
pub const AT_K: [&dyn RankMetric; 7] = [&Hit, &Recall, &Precision, &F1, &Ndcg, &Mrr, &Map];

fn is_hit(r: u32, k: usize) -> bool {
    r >= 1 && (r as usize) <= k
}

fn hits(ranks: &[u32], k: usize) -> usize {
    ranks.iter().filter(|&&r| is_hit(r, k)).count()
}

/// 1 / log2(rank + 1).
fn gain(rank: usize) -> f64 {
    1.0 / ((rank + 1) as f64).log2()
}

/// Hit ratio: 1 if any target is in the top `k`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Hit;

impl RankMetric for Hit {
    fn name(&self) -> &'static str {
        "hr"
    }
    fn value(&self, ranks: &[u32], k: usize) -> f64 {
        if hits(ranks, k) > 0 { 1.0 } else { 0.0 }
    }
}

/// Recall: the share of targets in the top `k`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Recall;

impl RankMetric for Recall {
    fn name(&self) -> &'static str {
        "recall"
    }
    fn value(&self, ranks: &[u32], k: usize) -> f64 {
        if ranks.is_empty() { 0.0 } else { hits(ranks, k) as f64 / ranks.len() as f64 }
    }
}

/// Precision: the share of the top `k` that are targets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Precision;

impl RankMetric for Precision {
    fn name(&self) -> &'static str {
        "precision"
    }
    fn value(&self, ranks: &[u32], k: usize) -> f64 {
        if k == 0 { 0.0 } else { hits(ranks, k) as f64 / k as f64 }
    }
}

/// F1: the harmonic mean of precision and recall (0 when both are 0).
#[derive(Clone, Copy, Debug, Default)]
pub struct F1;

impl RankMetric for F1 {
    fn name(&self) -> &'static str {
        "f1"
    }
    fn value(&self, ranks: &[u32], k: usize) -> f64 {
        let (p, r) = (Precision.value(ranks, k), Recall.value(ranks, k));
        if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 }
    }
}

/// Normalised discounted cumulative gain with binary relevance.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ndcg;

impl RankMetric for Ndcg {
    fn name(&self) -> &'static str {
        "ndcg"
    }
    fn value(&self, ranks: &[u32], k: usize) -> f64 {
        let dcg: f64 = ranks.iter().filter(|&&r| is_hit(r, k)).map(|&r| gain(r as usize)).sum();
        let idcg: f64 = (1..=ranks.len().min(k)).map(gain).sum();
        if idcg > 0.0 { dcg / idcg } else { 0.0 }
    }
}

/// Reciprocal rank of the best-ranked target, 0 if it is not in the top `k`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mrr;

impl RankMetric for Mrr {
    fn name(&self) -> &'static str {
        "mrr"
    }
    fn value(&self, ranks: &[u32], k: usize) -> f64 {
        ranks.iter().filter(|&&r| is_hit(r, k)).min().map_or(0.0, |&r| 1.0 / r as f64)
    }
}

/// Mean average precision at `k`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Map;

impl RankMetric for Map {
    fn name(&self) -> &'static str {
        "map"
    }
    fn value(&self, ranks: &[u32], k: usize) -> f64 {
        let norm = ranks.len().min(k);
        if norm == 0 {
            return 0.0;
        }
        let sum: f64 = ranks
            .iter()
            .filter(|&&r| is_hit(r, k))
            .map(|&r| ranks.iter().filter(|&&q| is_hit(q, r as usize)).count() as f64 / r as f64)
            .sum();
        sum / norm as f64
    }
}

/// Per-case AUC: the fraction of (target, other candidate) pairs where the target ranks
/// higher. For one target at rank `r` among `c` candidates it is `(c - r) / (c - 1)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Auc;

impl Auc {
    /// Stable key of the per-case AUC.
    pub const KEY: &'static str = "gauc";

    /// The case's AUC. `candidates` counts every rankable item, targets included. A masked
    /// target (rank 0) contributes 0; a rankable target with no other candidate 1. With
    /// several targets the value is the mean over targets of the share of non-target
    /// candidates ranked below each.
    pub fn value(&self, target_ranks: &[u32], candidates: u32) -> f64 {
        if target_ranks.is_empty() {
            return 0.0;
        }
        let mut ranked: Vec<u32> = target_ranks.iter().copied().filter(|&r| r > 0).collect();
        ranked.sort_unstable();
        let negatives = (candidates as usize).saturating_sub(ranked.len());
        let mut sum = 0.0;
        for (j, &r) in ranked.iter().enumerate() {
            if negatives == 0 {
                sum += 1.0;
                continue;
            }
            // Candidates above this target: r - 1, of which j are targets.
            let above = (r as usize - 1).saturating_sub(j).min(negatives);
            sum += (negatives - above) as f64 / negatives as f64;
        }
        sum / target_ranks.len() as f64
    }
}

/// Per-case accuracy metrics at every K: `hr@k`, `recall@k`, `precision@k`, `f1@k`,
/// `ndcg@k`, `mrr@k`, `map@k`, then `gauc` (per-case AUC; its mean is the GAUC).
pub fn per_case(run: &EvalRun, ks: &[usize]) -> Vec<PerCase> {
    let mut out = Vec::with_capacity(ks.len() * AT_K.len() + 1);
    for &k in ks {
        for m in AT_K {
            let values = run.ranks.iter().map(|r| m.value(std::slice::from_ref(r), k)).collect();
            out.push(PerCase { key: m.key(k), values });
        }
    }
    let values = run.ranks.iter().zip(&run.candidates).map(|(r, &c)| Auc.value(std::slice::from_ref(r), c)).collect();
    out.push(PerCase { key: Auc::KEY.to_string(), values });
    out
}

/// Pooled (global) AUC over all cases: target scores against the sampled negative scores.
///
/// The exact Mann–Whitney statistic: the share of (positive, negative) pairs where the
/// positive scores higher, ties counted 1/2, in O((P + N) log(P + N)). Masked targets (NaN
/// scores) are left out, as are NaN negatives. NaN when there are no positives or no
/// negatives (the AUC is undefined).
pub fn pooled_auc(run: &EvalRun) -> f64 {
    mann_whitney(&run.target_scores, &run.negative_scores)
}

fn mann_whitney(pos: &[f32], neg: &[f32]) -> f64 {
    // (score, is_positive); -0.0 + 0.0 = 0.0 so that total_cmp groups equal scores.
    let mut all: Vec<(f32, bool)> = pos
        .iter()
        .map(|&s| (s, true))
        .chain(neg.iter().map(|&s| (s, false)))
        .filter(|(s, _)| !s.is_nan())
        .map(|(s, p)| (s + 0.0, p))
        .collect();
    let p = all.iter().filter(|x| x.1).count();
    let n = all.len() - p;
    if p == 0 || n == 0 {
        return f64::NAN;
    }
    all.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let (mut below, mut wins) = (0u64, 0.0f64);
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        let (mut gp, mut gn) = (0u64, 0u64);
        while j < all.len() && all[j].0 == all[i].0 {
            if all[j].1 {
                gp += 1
            } else {
                gn += 1
            }
            j += 1;
        }
        wins += gp as f64 * below as f64 + 0.5 * gp as f64 * gn as f64;
        below += gn;
        i = j;
    }
    wins / (p as f64 * n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetBuilder, Phase, Split, SplitSpec};
    use crate::error::Result;
    use crate::eval::EvalConfig;
    use crate::eval::run::testing::FnModel;
    use crate::events::{EventKind, SequenceOptions};

    const EPS: f64 = 1e-12;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < EPS, "{a} != {b}");
    }

    fn all(ranks: &[u32], k: usize) -> [f64; 7] {
        AT_K.map(|m| m.value(ranks, k))
    }

    #[test]
    fn single_target() {
        // Rank 3, k = 5: hit; recall 1; precision 1/5; f1 = 2·0.2·1/1.2 = 1/3;
        // ndcg = (1/log2 4) / (1/log2 2) = 0.5; mrr 1/3; map = precision@3 / min(1, 5) = 1/3.
        let v = all(&[3], 5);
        for (got, want) in v.iter().zip([1.0, 1.0, 0.2, 1.0 / 3.0, 0.5, 1.0 / 3.0, 1.0 / 3.0]) {
            close(*got, want);
        }
        // Rank 3, k = 2: a miss everywhere.
        assert_eq!(all(&[3], 2), [0.0; 7]);
        // Rank 1, k = 1: everything 1.
        assert_eq!(all(&[1], 1), [1.0; 7]);
        // Rank 2, k = 10: ndcg = 1/log2 3 ≈ 0.6309; precision 0.1; f1 = 2·0.1/1.1 = 2/11.
        let v = all(&[2], 10);
        close(v[4], 1.0 / 3f64.log2());
        close(v[2], 0.1);
        close(v[3], 2.0 / 11.0);
        close(v[5], 0.5);
        close(v[6], 0.5);
        // Masked (rank 0): a miss at every k.
        assert_eq!(all(&[0], 100), [0.0; 7]);
        // No targets: 0.
        assert_eq!(all(&[], 5), [0.0; 7]);
    }

    #[test]
    fn multi_target() {
        // Ranks [1, 4], k = 3: one hit (rank 1).
        // hr 1; recall 1/2; precision 1/3; f1 = 2·(1/3)(1/2)/(5/6) = 2/5;
        // ndcg = (1/log2 2) / (1/log2 2 + 1/log2 3) = 1 / 1.6309298 ≈ 0.6131472;
        // mrr 1; map = (1/min(2,3)) · precision@1 = 1/2 · 1 = 0.5.
        let v = all(&[4, 1], 3);
        let idcg = 1.0 + 1.0 / 3f64.log2();
        for (got, want) in v.iter().zip([1.0, 0.5, 1.0 / 3.0, 0.4, 1.0 / idcg, 1.0, 0.5]) {
            close(*got, want);
        }
        // Ranks [2, 3, 0] (one masked), k = 5: hits at 2 and 3.
        // recall 2/3; precision 2/5; f1 = 2·(2/5)(2/3)/(16/15) = 1/2;
        // ndcg = (1/log2 3 + 1/log2 4) / (1 + 1/log2 3 + 1/log2 4);
        // mrr 1/2; map = (1/3)(1/2 + 2/3) = 7/18.
        let v = all(&[2, 3, 0], 5);
        let (g2, g3) = (1.0 / 3f64.log2(), 0.5);
        for (got, want) in v.iter().zip([1.0, 2.0 / 3.0, 0.4, 0.5, (g2 + g3) / (1.0 + g2 + g3), 0.5, 7.0 / 18.0]) {
            close(*got, want);
        }
        // Ranks [1, 2, 3], k = 2: map normaliser min(3, 2) = 2: (1/1 + 2/2) / 2 = 1;
        // ndcg = (1 + 1/log2 3) / (1 + 1/log2 3) = 1; recall 2/3; precision 1.
        let v = all(&[3, 1, 2], 2);
        for (got, want) in v.iter().zip([1.0, 2.0 / 3.0, 1.0, 0.8, 1.0, 1.0, 1.0]) {
            close(*got, want);
        }
        assert_eq!(Ndcg.key(10), "ndcg@10");
    }

    #[test]
    fn case_auc() {
        // Rank 1 of 5: 4/4 = 1; rank 3 of 5: (5-3)/(5-1) = 0.5; rank 5 of 5: 0.
        close(Auc.value(&[1], 5), 1.0);
        close(Auc.value(&[3], 5), 0.5);
        close(Auc.value(&[5], 5), 0.0);
        // One candidate: 1. Masked: 0.
        close(Auc.value(&[1], 1), 1.0);
        close(Auc.value(&[0], 5), 0.0);
        // Targets at ranks 1 and 3 among 5 candidates (3 negatives): the first beats 3/3,
        // the second has 1 negative above (rank 3 - 1 - 1 target) → 2/3; mean = 5/6.
        close(Auc.value(&[3, 1], 5), 5.0 / 6.0);
        // One of two targets masked: (1 + 0) / 2.
        close(Auc.value(&[1, 0], 4), 0.5);
    }

    #[test]
    fn pooled_auc_mann_whitney() {
        // Positives {3, 1, NaN}, negatives {2, 1, 0}. Pairs (P=2 after NaN, N=3):
        // 3 beats all 3; 1 beats 0, ties 1 (1/2), loses to 2 → 1.5. AUC = 4.5 / 6 = 0.75.
        close(mann_whitney(&[3.0, 1.0, f32::NAN], &[2.0, 1.0, 0.0]), 0.75);
        // -0.0 and 0.0 tie: 0.5.
        close(mann_whitney(&[-0.0], &[0.0]), 0.5);
        // -inf positive loses to everything finite.
        close(mann_whitney(&[f32::NEG_INFINITY], &[-1e30, 5.0]), 0.0);
        assert!(mann_whitney(&[f32::NAN], &[1.0]).is_nan());
        assert!(mann_whitney(&[1.0], &[]).is_nan());
    }

    /// End to end: a hand-made dataset, a fixed-score model, ranks worked out by hand.
    #[test]
    fn end_to_end_through_run() {
        let _rng = crate::testing::rng_lock();
        // Item indices by first appearance: a=1 b=2 c=3 d=4 e=5 f=6.
        // u0: a b c d e → test case: history [a b c d], target e.
        // u1: b f b     → test case: history [b f], target b (in the history → masked).
        // u2: f a c     → test case: history [f a], target c.
        let mut b = DatasetBuilder::new("hand");
        for (u, items) in [("u0", "abcde"), ("u1", "bfb"), ("u2", "fac")] {
            for (t, ch) in items.chars().enumerate() {
                b.push(u, &ch.to_string(), EventKind::View, t as i64);
            }
        }
        let split = Split::new(b.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap();
        // Scores by item 0..=6, the same for every history: e and f tie at 4, c at 5.
        let model = FnModel {
            n: 6,
            f: |_: &[u32], row: &mut [f32]| -> Result<()> {
                row.copy_from_slice(&[100.0, 1.0, 2.0, 5.0, 3.0, 4.0, 4.0]);
                Ok(())
            },
        };
        let cfg = EvalConfig { ks: vec![1, 2], bootstrap: 0, ..EvalConfig::default() };
        let run = crate::eval::run(&model, &split, Phase::Test, &cfg, &|_, _| {}).unwrap();
        // u0: masked a b c d → candidates e (4), f (4): tie, e has the smaller index → rank 1
        //     of 2; top-2 [e f] = [5, 6].
        // u1: masked b f → target b masked → rank 0; candidates a c d e = 4; top-2 by score
        //     c (5), e (4) = [3, 5].
        // u2: masked f a → candidates b c d e = 4; c (5) first → rank 1; top-2 [3, 5].
        assert_eq!(run.ranks, vec![1, 0, 1]);
        assert_eq!(run.candidates, vec![2, 4, 4]);
        assert_eq!(run.topk, vec![5, 6, 3, 5, 3, 5]);
        let m = per_case(&run, &[2]);
        let keys: Vec<&str> = m.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["hr@2", "recall@2", "precision@2", "f1@2", "ndcg@2", "mrr@2", "map@2", "gauc"]);
        assert_eq!(m[0].values, vec![1.0, 0.0, 1.0]);
        assert_eq!(m[2].values, vec![0.5, 0.0, 0.5]);
        // gauc: u0 (2-1)/(2-1) = 1; u1 masked 0; u2 (4-1)/(4-1) = 1 → GAUC = 2/3.
        assert_eq!(m[7].values, vec![1.0, 0.0, 1.0]);
        close(m[7].mean(), 2.0 / 3.0);
        // Pooled AUC: positives e=4 (u0), c=5 (u2); negatives = all other candidates (fewer
        // than 64): u0 {f: 4}; u1 {a 1, c 5, d 3, e 4}; u2 {b 2, d 3, e 4}.
        // Positive 4 vs [4,1,5,3,4,2,3,4]: beats 1,3,2,3 (4), ties three 4s (1.5) → 5.5.
        // Positive 5 vs the same: beats 7, ties one 5 (0.5) → 7.5. AUC = 13 / 16.
        close(pooled_auc(&run), 13.0 / 16.0);
    }
}
