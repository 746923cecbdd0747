//! The scoring pass; see [`run()`]. This file holds the pass itself: checking the options,
//! batching and threading, the per-thread buffers and the ranking of one case. The negatives a
//! case draws for sampled metrics and the pooled AUC come from `negatives.rs`.

#[cfg(not(target_arch = "wasm32"))]
use rayon::prelude::*;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::data::split::EvalCase;
use crate::data::{Dataset, Phase, Split};
use crate::error::{Error, Result};
use crate::eval::negatives::{Draws, STREAM_AUC, STREAM_SAMPLED, Streams, Weights};
use crate::eval::{EvalConfig, EvalRun, NegativeSampling};
use crate::events::EventKind;
use crate::model::Scorer;

/// Cut-offs above both the catalog size and this bound are rejected (the top lists would only
/// hold padding, and their memory grows with the cut-off).
const MAX_K_BEYOND_CATALOG: usize = 1000;

/// Scores every case of `phase` with `model` against the full catalog. `progress(done, total)`
/// is called after each batch (from worker threads, in no particular order; `done` grows).
///
/// **Order of work for one case.** The model sees the last `max_len` items of the case's
/// history, with their event kinds ([`Scorer::score_batch_with_kinds`]: a model trained with
/// kinds reads them, the others ignore them). Its score row is then cleaned: a NaN score becomes `-inf` (the item stays a
/// candidate but ranks below every real score, tying with other `-inf` items by index; NaN
/// never causes a panic or an undefined order) and `-0.0` becomes `0.0` (so equal scores
/// compare equal everywhere). Index 0 (padding) and, when `mask_history` is on, every item of the *full*
/// history (not only the last `max_len`) are masked: they are not candidates. The target's rank
/// follows the tie rule of the [module docs](crate::eval): 1 + #candidates scoring strictly
/// higher + #candidates scoring equal with a smaller item index; 0 when the target is masked.
/// The top-`kmax` list uses the same order (score descending, then index ascending) and is
/// found by partial selection.
///
/// **Random draws.** Sampled-metric negatives and pooled-AUC negatives are drawn for case `c`
/// (its index in `split.cases(phase)`) from ChaCha8 streams keyed by `(cfg.seed, c)` — one
/// stream for each purpose, so enabling sampled metrics does not change the AUC negatives.
/// Results are therefore identical whatever the batch size and thread count. Negatives are
/// drawn without replacement among the candidates other than the target (all of them when
/// there are not more than asked for), uniformly or in proportion to the phase's training
/// count + 1; draws follow successive sampling (each draw proportional to the weight among
/// the items not drawn yet).
///
/// The pooled-AUC negatives of all cases are concatenated in case order into
/// `negative_scores` (`auc_negatives` = 0 draws none). The scores of masked targets are NaN
/// in `target_scores`; every other score kept is cleaned as above.
///
/// **Scores buffer.** Every batch's buffer is zeroed before `score_batch_with_kinds`, so a model that
/// leaves entries unwritten gets 0 there, the same for every batching.
///
/// Errors: [`Error::Mismatch`] when the model's catalog size differs from the dataset's, [`Error::Empty`] when the
/// phase has no cases; [`Error::InvalidValue`] for an empty `ks`, a cut-off of 0 (or one
/// larger than both the catalog and 1000), `max_len` or `batch_size` of 0, or 0 sampled
/// negatives; any error of the model's `score_batch_with_kinds`.
pub fn run(
    model: &dyn Scorer,
    split: &Split,
    phase: Phase,
    cfg: &EvalConfig,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<EvalRun> {
    let clock = Clock::start();
    let ds = &split.dataset;
    let n = ds.num_items();
    if model.num_items() != n {
        return Err(Error::Mismatch(format!(
            "model `{}` scores {} items but dataset `{}` has {}; fit the model on this dataset",
            model.name(),
            model.num_items(),
            ds.name,
            n
        )));
    }
    validate(cfg, n)?;
    let cases = split.cases(phase);
    if cases.is_empty() {
        return Err(Error::Empty(format!("split `{}` of `{}` has no {phase} cases to evaluate", split.spec, ds.name)));
    }
    let kmax = cfg.kmax();
    let sampled = match cfg.sampled {
        None => None,
        Some(s) => {
            let weights = match s.strategy {
                NegativeSampling::Uniform => Weights::Uniform,
                NegativeSampling::Popularity => Weights::popularity(&split.train(phase).item_counts()),
            };
            Some((s.negatives, weights))
        }
    };
    let streams = Streams::new(cfg.seed);
    let pass = Pass { model, ds, cfg, n, kmax, sampled, streams };

    let total = cases.len();
    let batch = cfg.batch_size.min(total);
    let chunks: Vec<(usize, &[EvalCase])> = cases.chunks(batch).enumerate().map(|(b, ch)| (b * batch, ch)).collect();
    let done = AtomicUsize::new(0);
    let work = |scratch: &mut Scratch, &(first, chunk): &(usize, &[EvalCase])| -> Result<BatchOut> {
        let out = pass.batch(scratch, first, chunk)?;
        let now = done.fetch_add(chunk.len(), Ordering::Relaxed) + chunk.len();
        progress(now, total);
        Ok(out)
    };
    #[cfg(not(target_arch = "wasm32"))]
    let outs: Result<Vec<BatchOut>> = chunks.par_iter().map_init(|| Scratch::new(n, batch), work).collect();
    #[cfg(target_arch = "wasm32")]
    let outs: Result<Vec<BatchOut>> = {
        let mut scratch = Scratch::new(n, batch);
        chunks.iter().map(|ch| work(&mut scratch, ch)).collect()
    };
    let outs = outs?;

    let mut run = EvalRun {
        model: model.name().to_string(),
        phase,
        cases: Vec::new(),
        ranks: Vec::with_capacity(total),
        candidates: Vec::with_capacity(total),
        kmax,
        topk: Vec::with_capacity(total * kmax),
        sampled_ranks: cfg.sampled.map(|_| Vec::with_capacity(total)),
        sampled: cfg.sampled,
        target_scores: Vec::with_capacity(total),
        negative_scores: Vec::new(),
        seconds: 0.0,
    };
    for o in outs {
        run.ranks.extend(o.ranks);
        run.candidates.extend(o.candidates);
        run.topk.extend(o.topk);
        if let Some(s) = run.sampled_ranks.as_mut() {
            s.extend(o.sampled_ranks);
        }
        run.target_scores.extend(o.target_scores);
        run.negative_scores.extend(o.negative_scores);
    }
    run.cases = cases;
    run.seconds = clock.seconds();
    Ok(run)
}

pub(super) fn validate(cfg: &EvalConfig, n: usize) -> Result<()> {
    if cfg.ks.is_empty() {
        return Err(Error::invalid("ks", "at least one cut-off K is needed"));
    }
    for &k in &cfg.ks {
        if k == 0 {
            return Err(Error::invalid("ks", "a cut-off K must be at least 1"));
        }
        if k > n && k > MAX_K_BEYOND_CATALOG {
            return Err(Error::invalid(
                "ks",
                format!("cut-off {k} is larger than both the catalog ({n} items) and {MAX_K_BEYOND_CATALOG}"),
            ));
        }
    }
    if cfg.max_len == 0 {
        return Err(Error::invalid("max_len", "the model must see at least 1 item of history"));
    }
    if cfg.batch_size == 0 {
        return Err(Error::invalid("batch_size", "must be at least 1"));
    }
    if let Some(s) = cfg.sampled {
        if s.negatives == 0 {
            return Err(Error::invalid("sampled negatives", "must be at least 1"));
        }
    }
    Ok(())
}

/// Wall clock (there is none on wasm32 without JS bindings: 0 seconds there).
struct Clock {
    #[cfg(not(target_arch = "wasm32"))]
    start: std::time::Instant,
}

impl Clock {
    fn start() -> Self {
        Clock {
            #[cfg(not(target_arch = "wasm32"))]
            start: std::time::Instant::now(),
        }
    }

    fn seconds(&self) -> f64 {
        #[cfg(not(target_arch = "wasm32"))]
        {
            self.start.elapsed().as_secs_f64()
        }
        #[cfg(target_arch = "wasm32")]
        {
            0.0
        }
    }
}

/// Everything a batch needs, shared by all threads.
struct Pass<'a> {
    model: &'a dyn Scorer,
    ds: &'a Dataset,
    cfg: &'a EvalConfig,
    n: usize,
    kmax: usize,
    sampled: Option<(usize, Weights)>,
    streams: Streams,
}

/// Per-thread buffers.
struct Scratch {
    scores: Vec<f32>,
    idx: Vec<u32>,
    draws: Draws,
}

impl Scratch {
    fn new(n: usize, batch: usize) -> Self {
        Scratch { scores: vec![0.0; batch * (n + 1)], idx: Vec::with_capacity(n), draws: Draws::new(n) }
    }
}

#[derive(Default)]
struct BatchOut {
    ranks: Vec<u32>,
    candidates: Vec<u32>,
    topk: Vec<u32>,
    sampled_ranks: Vec<u32>,
    target_scores: Vec<f32>,
    negative_scores: Vec<f32>,
}

/// True when candidate `i` (score `s`) ranks above the target (index `t`, score `ts`).
#[inline]
fn beats(s: f32, i: u32, ts: f32, t: u32) -> bool {
    s > ts || (s == ts && i < t)
}

impl Pass<'_> {
    fn batch(&self, scratch: &mut Scratch, first: usize, chunk: &[EvalCase]) -> Result<BatchOut> {
        let stride = self.n + 1;
        let len = chunk.len() * stride;
        if scratch.scores.len() < len {
            scratch.scores.resize(len, 0.0);
        }
        let mut scores = std::mem::take(&mut scratch.scores);
        let buf = &mut scores[..len];
        buf.fill(0.0);
        let newest = |h: usize| h.saturating_sub(self.cfg.max_len);
        let histories: Vec<&[u32]> = chunk
            .iter()
            .map(|c| {
                let h = c.history(self.ds);
                &h[newest(h.len())..]
            })
            .collect();
        let kinds: Vec<&[EventKind]> = chunk
            .iter()
            .map(|c| {
                let k = c.kinds(self.ds);
                &k[newest(k.len())..]
            })
            .collect();
        let scored = self.model.score_batch_with_kinds(&histories, &kinds, buf);
        let mut out = BatchOut::default();
        if scored.is_ok() {
            for (r, (case, row)) in chunk.iter().zip(buf.chunks_exact_mut(stride)).enumerate() {
                self.case(scratch, first + r, case, row, &mut out);
            }
        }
        scratch.scores = scores;
        scored.map(|()| out)
    }

    fn case(&self, scratch: &mut Scratch, c: usize, case: &EvalCase, row: &mut [f32], out: &mut BatchOut) {
        // Clean: NaN → -inf, -0.0 → 0.0. Masked entries are then marked NaN.
        for v in row.iter_mut() {
            *v = if v.is_nan() { f32::NEG_INFINITY } else { *v + 0.0 };
        }
        if let Some(v) = row.first_mut() {
            *v = f32::NAN;
        }
        if self.cfg.mask_history {
            for &i in case.history(self.ds) {
                if let Some(v) = row.get_mut(i as usize) {
                    *v = f32::NAN;
                }
            }
        }
        let target = case.target(self.ds);
        let ts = row.get(target as usize).copied().unwrap_or(f32::NAN);
        let target_masked = ts.is_nan() || target == 0;

        // One pass: candidate list (ascending index) and the target's rank.
        let idx = &mut scratch.idx;
        idx.clear();
        let mut above = 0u32;
        for (i, &s) in row.iter().enumerate() {
            if s.is_nan() {
                continue;
            }
            idx.push(i as u32);
            above += beats(s, i as u32, ts, target) as u32;
        }
        out.ranks.push(if target_masked { 0 } else { above + 1 });
        out.candidates.push(idx.len() as u32);
        out.target_scores.push(if target_masked { f32::NAN } else { ts });

        // Random draws need the candidate list in index order: do them before the top list.
        if let Some((k, weights)) = &self.sampled {
            let r = if target_masked {
                0
            } else {
                let mut rng = self.streams.rng(c, STREAM_SAMPLED);
                scratch.draws.draw(&scratch.idx, row, target, *k, weights, &mut rng);
                1 + scratch.draws.drawn.iter().filter(|&&i| beats(row[i as usize], i, ts, target)).count() as u32
            };
            out.sampled_ranks.push(r);
        }
        if self.cfg.auc_negatives > 0 {
            let mut rng = self.streams.rng(c, STREAM_AUC);
            scratch.draws.draw(&scratch.idx, row, target, self.cfg.auc_negatives, &Weights::Uniform, &mut rng);
            out.negative_scores.extend(scratch.draws.drawn.iter().map(|&i| row[i as usize]));
        }

        // Top list: partial selection, then sort the head.
        let idx = &mut scratch.idx;
        let order = |a: &u32, b: &u32| row[*b as usize].total_cmp(&row[*a as usize]).then(a.cmp(b));
        if idx.len() > self.kmax {
            idx.select_nth_unstable_by(self.kmax - 1, order);
            idx.truncate(self.kmax);
        }
        idx.sort_unstable_by(order);
        out.topk.extend_from_slice(idx);
        out.topk.resize(out.topk.len() + (self.kmax - idx.len()), 0);
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A test-only model: scores come from a closure of the history.
    use crate::error::Result;
    use crate::model::Scorer;

    /// Scores each history with `f(history, row)`; `row` has `n + 1` entries.
    pub(crate) struct FnModel<F> {
        pub n: usize,
        pub f: F,
    }

    impl<F> Scorer for FnModel<F>
    where
        F: Fn(&[u32], &mut [f32]) -> Result<()> + Send + Sync,
    {
        fn name(&self) -> &str {
            "fn"
        }
        fn num_items(&self) -> usize {
            self.n
        }
        fn score_batch(&self, histories: &[&[u32]], out: &mut [f32]) -> Result<()> {
            for (h, row) in histories.iter().zip(out.chunks_exact_mut(self.n + 1)) {
                (self.f)(h, row)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::testing::FnModel;
    use super::*;
    use crate::data::{DatasetBuilder, SplitSpec};
    use crate::eval::SampledConfig;
    use crate::events::{EventKind, SequenceOptions};

    fn no_progress(_: usize, _: usize) {}

    /// Users `u0..` with the given item-name sequences.
    fn split_of(seqs: &[&[&str]]) -> Split {
        let mut b = DatasetBuilder::new("t");
        for (u, seq) in seqs.iter().enumerate() {
            for (p, item) in seq.iter().enumerate() {
                b.push(&format!("u{u}"), item, EventKind::View, p as i64);
            }
        }
        Split::new(b.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap()
    }

    /// A pseudo-random split: `users` users with 3..=12 items over `items` items.
    fn random_split(users: usize, items: usize, seed: u64) -> Split {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut b = DatasetBuilder::new("r");
        // Every item appears once first so indices are 1..=items.
        for i in 0..items {
            b.push("warm", &format!("i{i}"), EventKind::View, i as i64);
        }
        for u in 0..users {
            let len = rng.random_range(3..=12);
            for p in 0..len {
                let i = rng.random_range(0..items);
                b.push(&format!("u{u}"), &format!("i{i}"), EventKind::View, p);
            }
        }
        Split::new(b.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap()
    }

    /// Scores in few distinct levels (many ties), some NaN, some -0.0, from the last item.
    fn tie_model(n: usize) -> FnModel<impl Fn(&[u32], &mut [f32]) -> Result<()> + Send + Sync> {
        FnModel {
            n,
            f: move |h: &[u32], row: &mut [f32]| {
                let last = *h.last().unwrap_or(&0) as usize;
                for (i, v) in row.iter_mut().enumerate() {
                    let x = (i * 7 + last * 13) % 11;
                    *v = match x {
                        0 => f32::NAN,
                        1 => -0.0,
                        2 => 0.0,
                        _ => (x / 3) as f32,
                    };
                }
                Ok(())
            },
        }
    }

    fn cfg() -> EvalConfig {
        EvalConfig { ks: vec![1, 3, 5], bootstrap: 0, auc_negatives: 5, ..EvalConfig::default() }
    }

    /// Reference: rank and top list by a full sort with the documented rules.
    fn reference(row: &[f32], hist: &[u32], target: u32, mask: bool, kmax: usize) -> (u32, u32, Vec<u32>) {
        let clean = |v: f32| if v.is_nan() { f32::NEG_INFINITY } else { v + 0.0 };
        let mut cands: Vec<u32> = (1..row.len() as u32).filter(|i| !(mask && hist.contains(i))).collect();
        cands.sort_by(|&a, &b| clean(row[b as usize]).partial_cmp(&clean(row[a as usize])).unwrap().then(a.cmp(&b)));
        let rank = cands.iter().position(|&i| i == target).map_or(0, |p| p as u32 + 1);
        let mut top: Vec<u32> = cands.iter().copied().take(kmax).collect();
        top.resize(kmax, 0);
        (rank, cands.len() as u32, top)
    }

    #[test]
    fn ranks_and_top_lists_match_a_full_sort() {
        let _rng = crate::testing::rng_lock();
        let split = random_split(80, 20, 1);
        let model = tie_model(20);
        for mask in [true, false] {
            let c = EvalConfig { mask_history: mask, max_len: 4, batch_size: 7, ..cfg() };
            let r = run(&model, &split, Phase::Test, &c, &no_progress).unwrap();
            assert_eq!(r.kmax, 5);
            let mut some_masked = false;
            for (k, case) in r.cases.iter().enumerate() {
                let full = case.history(&split.dataset);
                let seen = &full[full.len().saturating_sub(4)..];
                let mut row = vec![0.0; 21];
                (model.f)(seen, &mut row).unwrap();
                let (rank, cands, top) = reference(&row, full, case.target(&split.dataset), mask, 5);
                assert_eq!(r.ranks[k], rank, "case {k}");
                assert_eq!(r.candidates[k], cands, "case {k}");
                assert_eq!(r.top(k), &top[..], "case {k}");
                some_masked |= rank == 0;
                assert_eq!(r.target_scores[k].is_nan(), rank == 0);
            }
            // With masking some targets repeat a history item; without, none is masked.
            assert_eq!(some_masked, mask);
        }
    }

    #[test]
    fn hand_computed_case() {
        // u0: a b c a d → LOO test case: history [a b c a] (a=1 b=2 c=3), target d=4; items 1..=5
        // (e=5 comes from u1). Model scores (index: score): 1:9 2:9 3:NaN 4:2 5:2.
        // Masked: 1, 2, 3 (history) → candidates {4, 5} = 2; 4 ties 5 and has the smaller
        // index → rank 1; top-3 = [4, 5, 0].
        // Without masking: order 1 (9), 2 (9), 4 (2), 5 (2), 3 (NaN → -inf) → rank 3, 5 candidates.
        let split = split_of(&[&["a", "b", "c", "a", "d"], &["e", "a", "b"]]);
        let model = FnModel {
            n: 5,
            f: |h: &[u32], row: &mut [f32]| {
                row.copy_from_slice(&[0.0, 9.0, 9.0, f32::NAN, 2.0, 2.0]);
                // u1's case has history [e a]; u0's the last max_len = 2 items [c a].
                assert!(h == [3, 1] || h == [5, 1], "history seen by the model: {h:?}");
                Ok(())
            },
        };
        let c = EvalConfig { ks: vec![3], max_len: 2, ..cfg() };
        let r = run(&model, &split, Phase::Test, &c, &no_progress).unwrap();
        // Case 0 (u0): above. Case 1 (u1): history [e a] masks 5, 1; target b=2 → candidates
        // {2, 3, 4}: 2 (9) first → rank 1; top [2, 4, 3].
        assert_eq!(r.ranks, vec![1, 1]);
        assert_eq!(r.candidates, vec![2, 3]);
        assert_eq!(r.topk, vec![4, 5, 0, 2, 4, 3]);
        assert_eq!(r.target_scores, vec![2.0, 9.0]);
        // AUC negatives: all other candidates (fewer than 5): case 0 {5}: 2.0; case 1 {3, 4}: -inf, 2.0.
        let mut neg = r.negative_scores.clone();
        neg.sort_by(f32::total_cmp);
        assert_eq!(neg, vec![f32::NEG_INFINITY, 2.0, 2.0]);

        let c = EvalConfig { ks: vec![3], max_len: 2, mask_history: false, ..cfg() };
        let r = run(&model, &split, Phase::Test, &c, &no_progress).unwrap();
        // Case 1 without masking: target 2 (9) is below 1 (9, smaller index) → rank 2.
        assert_eq!(r.ranks, vec![3, 2]);
        assert_eq!(r.candidates, vec![5, 5]);
        assert_eq!(r.topk, vec![1, 2, 4, 1, 2, 4]);
    }

    #[test]
    fn sampled_rank_counts_only_drawn_negatives() {
        let _rng = crate::testing::rng_lock();
        // With at least as many negatives as other candidates, every candidate is drawn and
        // the sampled rank equals the full rank; with fewer it can only be better or equal.
        let split = random_split(60, 15, 2);
        let model = tie_model(15);
        for strategy in [NegativeSampling::Uniform, NegativeSampling::Popularity] {
            let all = EvalConfig { sampled: Some(SampledConfig { negatives: 20, strategy }), ..cfg() };
            let r = run(&model, &split, Phase::Test, &all, &no_progress).unwrap();
            assert_eq!(r.sampled_ranks.as_ref().unwrap(), &r.ranks);
            let few = EvalConfig { sampled: Some(SampledConfig { negatives: 3, strategy }), ..cfg() };
            let r = run(&model, &split, Phase::Test, &few, &no_progress).unwrap();
            let s = r.sampled_ranks.as_ref().unwrap();
            let mut strictly_better = 0;
            for (&sr, &fr) in s.iter().zip(&r.ranks) {
                assert_eq!(sr == 0, fr == 0);
                assert!(sr <= fr && sr <= 4, "sampled {sr} full {fr}");
                strictly_better += (sr < fr) as usize;
            }
            assert!(strictly_better > 0);
            // 3 negatives drawn per case unless fewer other candidates exist.
            let expected: usize =
                r.candidates.iter().zip(&r.ranks).map(|(&c, &rk)| 5.min(c as usize - (rk > 0) as usize)).sum();
            assert_eq!(r.negative_scores.len(), expected);
        }
    }

    fn same(a: &EvalRun, b: &EvalRun) {
        assert_eq!(a.ranks, b.ranks);
        assert_eq!(a.candidates, b.candidates);
        assert_eq!(a.topk, b.topk);
        assert_eq!(a.sampled_ranks, b.sampled_ranks);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a.target_scores), bits(&b.target_scores));
        assert_eq!(bits(&a.negative_scores), bits(&b.negative_scores));
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn results_do_not_depend_on_batching_or_threads() {
        let _rng = crate::testing::rng_lock();
        let split = random_split(120, 40, 3);
        let model = tie_model(40);
        let sampled = Some(SampledConfig { negatives: 6, strategy: NegativeSampling::Popularity });
        let base = EvalConfig { sampled, auc_negatives: 9, batch_size: 1, ..cfg() };
        let one = run(&model, &split, Phase::Test, &base, &no_progress).unwrap();
        for batch in [3, 64, 10_000] {
            let c = EvalConfig { batch_size: batch, ..base.clone() };
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let r = pool.install(|| run(&model, &split, Phase::Test, &c, &no_progress)).unwrap();
                same(&one, &r);
            }
        }
        // Sampled metrics use their own stream: switching them off leaves AUC negatives alone.
        let c = EvalConfig { sampled: None, ..base.clone() };
        let r = run(&model, &split, Phase::Test, &c, &no_progress).unwrap();
        assert_eq!(r.negative_scores.len(), one.negative_scores.len());
        assert!(r.negative_scores.iter().zip(&one.negative_scores).all(|(a, b)| a.to_bits() == b.to_bits()));
        // A different seed draws different negatives.
        let c = EvalConfig { seed: 7, ..base };
        let r = run(&model, &split, Phase::Test, &c, &no_progress).unwrap();
        assert_ne!(r.sampled_ranks, one.sampled_ranks);
    }

    #[test]
    fn progress_reaches_the_total() {
        let _rng = crate::testing::rng_lock();
        let split = random_split(30, 10, 4);
        let model = tie_model(10);
        let calls = AtomicUsize::new(0);
        let max = AtomicUsize::new(0);
        let total = split.cases(Phase::Valid).len();
        let c = EvalConfig { batch_size: 4, ..cfg() };
        let progress = |done: usize, t: usize| {
            assert_eq!(t, total);
            calls.fetch_add(1, Ordering::Relaxed);
            max.fetch_max(done, Ordering::Relaxed);
        };
        let r = run(&model, &split, Phase::Valid, &c, &progress).unwrap();
        assert_eq!(r.phase, Phase::Valid);
        assert_eq!(calls.into_inner(), total.div_ceil(4));
        assert_eq!(max.into_inner(), total);
        assert!(r.seconds >= 0.0);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let _rng = crate::testing::rng_lock();
        let split = random_split(10, 8, 5);
        let model = tie_model(8);
        let bad = [
            EvalConfig { ks: vec![], ..cfg() },
            EvalConfig { ks: vec![5, 0], ..cfg() },
            EvalConfig { ks: vec![5_000], ..cfg() },
            EvalConfig { max_len: 0, ..cfg() },
            EvalConfig { batch_size: 0, ..cfg() },
            EvalConfig { sampled: Some(SampledConfig { negatives: 0, strategy: NegativeSampling::Uniform }), ..cfg() },
        ];
        for c in bad {
            let e = run(&model, &split, Phase::Test, &c, &no_progress).unwrap_err();
            assert!(matches!(e, Error::InvalidValue { .. }), "{c:?}: {e}");
        }
        // K beyond a small catalog is fine: the lists are padded with 0.
        let c = EvalConfig { ks: vec![50], mask_history: false, ..cfg() };
        let r = run(&model, &split, Phase::Test, &c, &no_progress).unwrap();
        assert_eq!(r.top(0).iter().filter(|&&i| i != 0).count(), 8);
        assert_eq!(r.top(0)[8..], [0; 42]);

        let wrong = tie_model(9);
        let e = run(&wrong, &split, Phase::Test, &cfg(), &no_progress).unwrap_err();
        assert!(matches!(e, Error::Mismatch(_)) && e.to_string().contains("9 items"), "{e}");

        let failing = FnModel { n: 8, f: |_: &[u32], _: &mut [f32]| Err(Error::Device("boom".into())) };
        let e = run(&failing, &split, Phase::Test, &cfg(), &no_progress).unwrap_err();
        assert_eq!(e.to_string(), "boom");

        // Leave-one-out with only sequences of length < 3 has no valid cases.
        let mut s = split_of(&[&["a", "b", "c"], &["a", "b"]]);
        s.valid_start = s.test_start.clone();
        let model = tie_model(3);
        let e = run(&model, &s, Phase::Valid, &cfg(), &no_progress).unwrap_err();
        assert!(matches!(e, Error::Empty(_)), "{e}");
    }
}
