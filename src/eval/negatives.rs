//! The negatives of a case, for sampled metrics and the pooled AUC: the random stream of each
//! case and purpose ([`Streams`]), the weight of each item ([`Weights`]) and the draw of
//! distinct candidates by successive sampling ([`Draws::draw`]). The scoring pass
//! ([`run()`](super::run())) calls them once per case; which negatives come out for a seed is
//! part of its results, so a change here changes every sampled metric and AUC.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stream of a case's random draws for sampled metrics.
pub(super) const STREAM_SAMPLED: u64 = 0;
/// Stream of a case's random draws for pooled-AUC negatives.
pub(super) const STREAM_AUC: u64 = 1;

/// The random streams of an evaluation: one ChaCha8 stream per case and purpose under a key
/// made from the seed, so the draws do not depend on the batch size or the thread count.
pub(super) struct Streams {
    key: [u8; 32],
}

impl Streams {
    pub(super) fn new(seed: u64) -> Self {
        Streams { key: ChaCha8Rng::seed_from_u64(seed).get_seed() }
    }

    /// The stream of case `case` (its index in the phase's cases) for `purpose`
    /// ([`STREAM_SAMPLED`] or [`STREAM_AUC`]).
    pub(super) fn rng(&self, case: usize, purpose: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream((case as u64).wrapping_mul(2).wrapping_add(purpose));
        rng
    }
}

/// How negatives are weighted.
pub(super) enum Weights {
    Uniform,
    /// `cum[j]` = Σ of weights of items `1..=j+1`; weight = training count + 1.
    Popularity {
        cum: Vec<u64>,
    },
}

impl Weights {
    pub(super) fn popularity(counts: &[u32]) -> Self {
        let mut acc = 0u64;
        let cum = counts.iter().skip(1).map(|&c| {
            acc += c as u64 + 1;
            acc
        });
        Weights::Popularity { cum: cum.collect() }
    }

    fn weight(&self, i: u32) -> f64 {
        match self {
            Weights::Uniform => 1.0,
            Weights::Popularity { cum } => {
                let j = i as usize;
                match (j.checked_sub(1).and_then(|j| cum.get(j)), j.checked_sub(2).and_then(|j| cum.get(j))) {
                    (Some(&hi), Some(&lo)) => (hi - lo) as f64,
                    (Some(&hi), None) => hi as f64,
                    _ => 1.0,
                }
            }
        }
    }

    /// One item of `1..=n` drawn with replacement in proportion to its weight.
    fn draw(&self, rng: &mut ChaCha8Rng, n: usize) -> u32 {
        match self {
            Weights::Uniform => rng.random_range(1..=n as u32),
            Weights::Popularity { cum } => match cum.last() {
                Some(&total) if total > 0 => {
                    let x = rng.random_range(0..total);
                    cum.partition_point(|&c| c <= x) as u32 + 1
                }
                _ => 1,
            },
        }
    }
}

/// Per-thread buffers of [`Draws::draw`], for a catalog of `n` items.
pub(super) struct Draws {
    n: usize,
    /// The candidates of the latest draw.
    pub(super) drawn: Vec<u32>,
    /// `mark[i] == stamp` means item `i` was drawn in the current draw.
    mark: Vec<u32>,
    stamp: u32,
    keys: Vec<(f64, u32)>,
}

impl Draws {
    pub(super) fn new(n: usize) -> Self {
        Draws { n, drawn: Vec::new(), mark: vec![0; n + 1], stamp: 0, keys: Vec::new() }
    }

    fn next_stamp(&mut self) -> u32 {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.fill(0);
            self.stamp = 1;
        }
        self.stamp
    }

    /// Draws `k` distinct candidates other than `target` into `self.drawn` (all of them when
    /// there are at most `k`), by successive sampling with `weights`. `candidates` must hold the
    /// candidates in ascending order; `row` marks masked items with NaN.
    ///
    /// Rejection from the whole catalog is exact for successive sampling (a draw conditioned on
    /// landing outside the excluded set is proportional to the weights of the rest); when it
    /// rejects too often (most of the weight is excluded), the remaining draws are made exactly
    /// over the remaining candidates with exponential keys (Efraimidis–Spirakis).
    pub(super) fn draw(
        &mut self,
        candidates: &[u32],
        row: &[f32],
        target: u32,
        k: usize,
        weights: &Weights,
        rng: &mut ChaCha8Rng,
    ) {
        self.drawn.clear();
        let target_is_candidate = row.get(target as usize).is_some_and(|s| !s.is_nan()) && target != 0;
        let others = candidates.len() - target_is_candidate as usize;
        if others <= k {
            self.drawn.extend(candidates.iter().copied().filter(|&i| i != target));
            return;
        }
        let stamp = self.next_stamp();
        let cap = 16 * k + 256;
        let mut tries = 0;
        while self.drawn.len() < k && tries < cap {
            tries += 1;
            let i = weights.draw(rng, self.n);
            let ok = i != target && row.get(i as usize).is_some_and(|s| !s.is_nan());
            if let Some(m) = self.mark.get_mut(i as usize) {
                if ok && *m != stamp {
                    *m = stamp;
                    self.drawn.push(i);
                }
            }
        }
        let need = k - self.drawn.len();
        if need == 0 {
            return;
        }
        // Exact fallback over the candidates not drawn yet.
        self.keys.clear();
        for &i in candidates {
            if i == target || self.mark.get(i as usize) == Some(&stamp) {
                continue;
            }
            let u: f64 = rng.random();
            // -ln(1 - u) / w ~ Exp(w): the `need` smallest keys are a successive sample.
            self.keys.push((-(1.0 - u).ln() / weights.weight(i), i));
        }
        let by_key = |a: &(f64, u32), b: &(f64, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
        if self.keys.len() > need {
            self.keys.select_nth_unstable_by(need - 1, by_key);
            self.keys.truncate(need);
        }
        self.drawn.extend(self.keys.iter().map(|&(_, i)| i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_distinct_valid_and_weighted() {
        // 10 items; 2 and 3 masked (NaN), target 1. Popularity weights: item 10 has count 99
        // (weight 100), the others count 0 (weight 1).
        let mut counts = vec![0u32; 11];
        counts[10] = 99;
        let weights = Weights::popularity(&counts);
        assert_eq!(weights.weight(10), 100.0);
        assert_eq!(weights.weight(1), 1.0);
        let mut row = vec![1.0f32; 11];
        row[0] = f32::NAN;
        row[2] = f32::NAN;
        row[3] = f32::NAN;
        let mut scratch = Draws::new(10);
        let idx: Vec<u32> = (1..=10).filter(|&i| i != 2 && i != 3).collect();
        let mut hits10 = 0;
        let mut hits4 = 0;
        for seed in 0..2000u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            scratch.draw(&idx, &row, 1, 2, &weights, &mut rng);
            let mut d = scratch.drawn.clone();
            d.sort_unstable();
            d.dedup();
            assert_eq!(d.len(), 2, "{:?}", scratch.drawn);
            assert!(d.iter().all(|&i| (4..=10).contains(&i)), "{d:?}");
            hits10 += d.contains(&10) as usize;
            hits4 += d.contains(&4) as usize;
        }
        // Other candidates: 4..=9 (weight 1 each) and 10 (weight 100), total 106.
        // P(10 drawn) = 100/106 + 6/106 · 100/105 ≈ 0.9973 → ≈ 1995 of 2000.
        // P(4 drawn) = 1/106 + 100/106 · 1/6 + 5/106 · 1/105 ≈ 0.1671 → ≈ 334 (sd ≈ 17);
        // uniform sampling would give 2/7 → ≈ 571.
        assert!(hits10 > 1980, "{hits10}");
        assert!((270..=400).contains(&hits4), "{hits4}");

        // The target takes almost all the weight: rejection gives up, the exact fallback
        // still returns 5 distinct candidates other than the target among the 6 others.
        let mut counts = vec![0u32; 11];
        counts[1] = 1_000_000_000;
        let weights = Weights::popularity(&counts);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        scratch.draw(&idx, &row, 1, 5, &weights, &mut rng);
        let mut d = scratch.drawn.clone();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), 5);
        assert!(d.iter().all(|&i| (4..=10).contains(&i)), "{d:?}");

        // Uniform: each of the 7 other candidates is drawn with probability 3/7 ≈ 0.43.
        let mut freq = [0usize; 11];
        for seed in 0..2000u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            scratch.draw(&idx, &row, 1, 3, &Weights::Uniform, &mut rng);
            for &i in &scratch.drawn {
                freq[i as usize] += 1;
            }
        }
        assert_eq!(freq[..4], [0, 0, 0, 0]);
        // Expected 2000 · 3/7 ≈ 857 each; binomial sd ≈ 22.
        assert!(freq[4..].iter().all(|&f| (757..=957).contains(&f)), "{freq:?}");
    }
}
