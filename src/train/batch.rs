//! Training samples: the windows cut from each training sequence ([`Samples`]), their shuffled
//! (and length-bucketed) batches, and the batches themselves, causal (positions predict the
//! next item) or cloze (masked positions predict the hidden items).

use std::fmt;
use std::str::FromStr;

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use crate::data::Dataset;
use crate::data::split::TrainSet;
use crate::events::sliding_windows;

/// How training samples are cut from each training sequence (the part a phase may train on).
///
/// Serialised as `"all_positions"`, `"prefixes"` or `{"sliding": {"stride": 10}}`; written and
/// parsed as `all`, `prefix` and `sliding:10` ([`FromStr`], [`fmt::Display`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Samples {
    /// One sample per sequence, its newest `max_len + 1` items; every position predicts the
    /// item after it (SASRec's recipe).
    #[default]
    AllPositions,
    /// One sample per prefix of every sequence (at least two items): the prefix's newest
    /// `max_len` items before its last one are the input, and only the last item is a target
    /// (the recipe of S3Rec, FMLP-Rec and BSARec: about 7 samples per sequence on Amazon data).
    Prefixes,
    /// Sliding windows of `max_len + 1` items every `stride` items (see
    /// [`crate::events::sliding_windows`]); every position predicts the item after it.
    Sliding {
        /// Items between the starts of two windows (at least 1).
        stride: usize,
    },
}

impl Samples {
    /// Checks the values (a sliding stride of at least 1).
    pub fn validate(&self) -> Result<()> {
        match self {
            Samples::Sliding { stride: 0 } => {
                Err(Error::invalid("train.samples", "a sliding stride must be at least 1"))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Samples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Samples::AllPositions => write!(f, "all"),
            Samples::Prefixes => write!(f, "prefix"),
            Samples::Sliding { stride } => write!(f, "sliding:{stride}"),
        }
    }
}

impl FromStr for Samples {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("samples", format!("`{s}` is not one of all, prefix, sliding:N (N ≥ 1)"));
        match s {
            "all" => Ok(Samples::AllPositions),
            "prefix" => Ok(Samples::Prefixes),
            _ => match s.strip_prefix("sliding:").map(str::parse::<usize>) {
                Some(Ok(stride)) if stride > 0 => Ok(Samples::Sliding { stride }),
                _ => Err(bad()),
            },
        }
    }
}

/// How an epoch's samples are grouped into batches, and how much each target position weighs.
///
/// Written and parsed as `random`, `length` and `length-weighted`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Batching {
    /// Shuffled batches of any lengths, the loss averaged over each batch's target positions
    /// (the usual PyTorch recipe). Every batch pads to its longest sample.
    Random,
    /// Shuffled, then sorted by length within groups of 16 batches (little padding), the loss
    /// averaged per batch: a batch of short samples has few target positions, so each of them
    /// weighs more than a position of a long sample.
    Length,
    /// Batched by length as [`Batching::Length`], but every target position weighs the same over
    /// the epoch: a batch's mean loss is scaled by its positions over the epoch's mean positions
    /// per batch. The speed of length batching with the weighting of random batches.
    #[default]
    LengthWeighted,
}

impl Batching {
    /// Whether samples of similar length share a batch.
    pub(super) fn by_length(self) -> bool {
        self != Batching::Random
    }
}

impl fmt::Display for Batching {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Batching::Random => "random",
            Batching::Length => "length",
            Batching::LengthWeighted => "length-weighted",
        })
    }
}

impl FromStr for Batching {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "random" => Ok(Batching::Random),
            "length" => Ok(Batching::Length),
            "length-weighted" => Ok(Batching::LengthWeighted),
            _ => Err(Error::invalid("batching", format!("`{s}` is not one of random, length, length-weighted"))),
        }
    }
}

/// A training window: `items[start..end]` of sequence `seq` (at least two items); with
/// `last_only`, only its last item is a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Window {
    pub(super) seq: u32,
    pub(super) start: u32,
    pub(super) end: u32,
    pub(super) last_only: bool,
}

impl Window {
    pub(super) fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// The items of `ds` this window trains to predict.
    pub(super) fn targets<'a>(&self, ds: &'a Dataset) -> &'a [u32] {
        let items = &ds.seqs[self.seq as usize].items;
        let first = if self.last_only { self.end - 1 } else { self.start + 1 };
        &items[first as usize..self.end as usize]
    }
}

/// The training windows of `train` for `samples`, reading at most `max_len` items of input.
pub(super) fn training_windows(train: &TrainSet<'_>, max_len: usize, samples: Samples) -> Vec<Window> {
    let mut out = Vec::new();
    for s in 0..train.ends.len() {
        let n = train.seq(s).len();
        if n < 2 {
            continue;
        }
        let window = |start: usize, end: usize, last_only: bool| Window {
            seq: s as u32,
            start: start as u32,
            end: end as u32,
            last_only,
        };
        match samples {
            Samples::AllPositions => out.push(window(n.saturating_sub(max_len + 1), n, false)),
            Samples::Prefixes => out.extend((2..=n).map(|end| window(end.saturating_sub(max_len + 1), end, true))),
            Samples::Sliding { stride } => out
                .extend(sliding_windows(n, max_len, stride.max(1)).into_iter().map(|r| window(r.start, r.end, false))),
        }
    }
    out
}

/// Shuffled batches of window indices; with `bucket`, similar lengths share a batch.
pub(super) fn batches(windows: &[Window], batch_size: usize, bucket: bool, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.shuffle(rng);
    if bucket {
        for group in order.chunks_mut(batch_size * 16) {
            group.sort_by_key(|&i| windows[i].len());
        }
    }
    let mut out: Vec<Vec<usize>> = order.chunks(batch_size).map(<[usize]>::to_vec).collect();
    out.shuffle(rng);
    out
}

/// One batch on the host: inputs left-padded to the longest of the batch (so short samples
/// cost no padding beyond it), and the flat positions and targets (item index − 1) of every
/// non-padded position that predicts (the last one only, for a `last_only` window).
pub(super) struct Batch {
    pub(super) items: Vec<i64>,
    pub(super) kinds: Option<Vec<i64>>,
    pub(super) rows: usize,
    pub(super) len: usize,
    pub(super) positions: Vec<i64>,
    pub(super) targets: Vec<i64>,
}

impl Batch {
    pub(super) fn new(ds: &Dataset, windows: &[Window], idx: &[usize], n_items: usize, with_kinds: bool) -> Batch {
        let len = idx.iter().map(|&i| windows[i].len() - 1).max().unwrap_or(1).max(1);
        let rows = idx.len();
        let mut items = vec![0i64; rows * len];
        let mut kinds = with_kinds.then(|| vec![0i64; rows * len]);
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        let valid = |i: u32| i != 0 && (i as usize) <= n_items;
        for (r, &w) in idx.iter().enumerate() {
            let w = windows[w];
            let seq = &ds.seqs[w.seq as usize];
            let (s, e) = (w.start as usize, w.end as usize);
            let input = &seq.items[s..e - 1];
            let offset = r * len + len - input.len();
            let first_target = if w.last_only { input.len() - 1 } else { 0 };
            for (t, (&x, &y)) in input.iter().zip(&seq.items[s + 1..e]).enumerate() {
                items[offset + t] = if valid(x) { x as i64 } else { 0 };
                if let Some(k) = kinds.as_mut() {
                    k[offset + t] = seq.kinds.get(s + t).map_or(0, |k| k.index() as i64);
                }
                if t >= first_target && valid(x) && valid(y) {
                    positions.push((offset + t) as i64);
                    targets.push(y as i64 - 1);
                }
            }
        }
        Batch { items, kinds, rows, len, positions, targets }
    }

    /// The items (input and targets) of the window behind target position `p`; `idx` and
    /// `windows` are what the batch was built from.
    pub(super) fn window_items<'a>(&self, ds: &'a Dataset, windows: &[Window], idx: &[usize], p: usize) -> &'a [u32] {
        let row = self.positions[p] as usize / self.len.max(1);
        let w = windows[idx[row]];
        &ds.seqs[w.seq as usize].items[w.start as usize..w.end as usize]
    }
}

/// How [`Batch::cloze`] masks a training sequence.
pub(super) struct Masking {
    /// Items per sequence (the newest of its window).
    pub(super) max_len: usize,
    /// Probability that a position is masked.
    pub(super) mask_prob: f64,
    /// Share of sequences whose newest item is the only one masked.
    pub(super) last_only: f64,
}

impl Batch {
    /// A cloze batch ([`Objective::Cloze`](crate::model::neural::Objective::Cloze)): the newest `max_len` items of every window,
    /// left-padded; the chosen positions are replaced by the mask index `n_items + 1`, and they
    /// are the targets (their original item − 1). With probability `last_only` a sequence gets
    /// only its newest item masked; otherwise every item is masked with probability
    /// `mask_prob`, and one uniformly chosen item if none was.
    pub(super) fn cloze(
        ds: &Dataset,
        windows: &[Window],
        idx: &[usize],
        n_items: usize,
        with_kinds: bool,
        masking: &Masking,
        rng: &mut ChaCha8Rng,
    ) -> Batch {
        use rand::Rng;
        let spans: Vec<(usize, usize, usize)> = idx
            .iter()
            .map(|&i| {
                let w = windows[i];
                let (s, e) = (w.start as usize, w.end as usize);
                (w.seq as usize, e.saturating_sub(masking.max_len).max(s), e)
            })
            .collect();
        let len = spans.iter().map(|&(_, s, e)| e - s).max().unwrap_or(1).max(1);
        let rows = idx.len();
        let mut items = vec![0i64; rows * len];
        let mut kinds = with_kinds.then(|| vec![0i64; rows * len]);
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        let valid = |i: u32| i != 0 && (i as usize) <= n_items;
        let mask = n_items as i64 + 1;
        for (r, &(q, s, e)) in spans.iter().enumerate() {
            let seq = &ds.seqs[q];
            let input = &seq.items[s..e];
            let offset = r * len + len - input.len();
            for (t, &x) in input.iter().enumerate() {
                items[offset + t] = if valid(x) { x as i64 } else { 0 };
                if let Some(k) = kinds.as_mut() {
                    k[offset + t] = seq.kinds.get(s + t).map_or(0, |k| k.index() as i64);
                }
            }
            let real: Vec<usize> = (0..input.len()).filter(|&t| valid(input[t])).collect();
            let Some(&newest) = real.last() else { continue };
            let mut chosen = Vec::new();
            if rng.random::<f64>() < masking.last_only {
                chosen.push(newest);
            } else {
                chosen.extend(real.iter().copied().filter(|_| rng.random::<f64>() < masking.mask_prob));
                if chosen.is_empty() {
                    chosen.push(real[rng.random_range(0..real.len())]);
                }
            }
            for t in chosen {
                positions.push((offset + t) as i64);
                targets.push(input[t] as i64 - 1);
                items[offset + t] = mask;
            }
        }
        Batch { items, kinds, rows, len, positions, targets }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::data::Phase;
    use crate::train::tests::chain_split;

    #[test]
    fn windows_and_batches_cover_the_data_deterministically() {
        let split = chain_split();
        let train = split.train(Phase::Valid);
        let w = training_windows(&train, 3, Samples::AllPositions);
        assert!(w.iter().all(|w| (2..=4).contains(&w.len())));
        assert_eq!(w.len(), train.sequences().filter(|s| s.len() >= 2).count());
        let slid = training_windows(&train, 3, Samples::Sliding { stride: 2 });
        assert!(slid.len() > w.len());
        let (mut r1, mut r2) = (ChaCha8Rng::seed_from_u64(5), ChaCha8Rng::seed_from_u64(5));
        let b1 = batches(&w, 8, true, &mut r1);
        assert_eq!(b1, batches(&w, 8, true, &mut r2));
        let mut all: Vec<usize> = b1.concat();
        all.sort_unstable();
        assert_eq!(all, (0..w.len()).collect::<Vec<_>>(), "every window once per epoch");

        let b = Batch::new(&split.dataset, &w, &[0, 1], split.dataset.num_items(), false);
        assert_eq!(b.items.len(), b.rows * b.len);
        let real = b.items.iter().filter(|&&i| i != 0).count();
        assert_eq!(b.positions.len(), real, "one target per non-padded input");
        for (&p, &t) in b.positions.iter().zip(&b.targets) {
            let x = b.items[p as usize];
            // chain data: the next item is the next id (mod 20); item "k" has index k + 1
            assert_eq!((x - 1 + 1) % 20, t, "target of input {x} is {t}");
        }
    }

    #[test]
    fn prefix_samples_have_one_target_each_and_no_padding_beyond_their_batch() {
        let split = chain_split();
        let train = split.train(Phase::Valid);
        let ds = &split.dataset;
        let w = training_windows(&train, 3, Samples::Prefixes);
        // One sample per prefix of two or more items: n − 1 per sequence of n items.
        let expect: usize = train.sequences().map(|s| s.len().saturating_sub(1)).sum();
        assert_eq!(w.len(), expect);
        assert!(w.iter().all(|w| w.last_only && (2..=4).contains(&w.len())), "at most max_len + 1 items");
        // Hand check on the first sequence: its prefixes end at 2, 3, …, n, and the inputs of the
        // long ones are cut to the newest 3 items.
        let first: Vec<(u32, u32)> = w.iter().filter(|w| w.seq == 0).map(|w| (w.start, w.end)).collect();
        let n = train.seq(0).len() as u32;
        let hand: Vec<(u32, u32)> = (2..=n).map(|e| (e.saturating_sub(4), e)).collect();
        assert_eq!(first, hand);

        let idx: Vec<usize> = (0..w.len()).collect();
        let b = Batch::new(ds, &w, &idx, ds.num_items(), false);
        assert_eq!(b.targets.len(), w.len(), "exactly one target per sample");
        for (r, (&p, &t)) in b.positions.iter().zip(&b.targets).enumerate() {
            assert_eq!(p as usize, r * b.len + b.len - 1, "the target sits at the newest position");
            let items = &ds.seqs[w[r].seq as usize].items;
            assert_eq!(t + 1, items[w[r].end as usize - 1] as i64, "and it is the prefix's last item");
        }
        // A batch of only two-item prefixes is one column wide: no padding to max_len.
        let short: Vec<usize> = (0..w.len()).filter(|&i| w[i].len() == 2).collect();
        assert_eq!(Batch::new(ds, &w, &short, ds.num_items(), false).len, 1);
        // The targets the sampled softmax counts are the samples' targets.
        assert_eq!(w[idx[0]].targets(ds).len(), 1);
        assert!(training_windows(&train, 3, Samples::AllPositions).iter().all(|w| w.targets(ds).len() == w.len() - 1));
    }

    #[test]
    fn sample_settings_parse_print_and_serialise() {
        for (text, s) in [
            ("all", Samples::AllPositions),
            ("prefix", Samples::Prefixes),
            ("sliding:5", Samples::Sliding { stride: 5 }),
        ] {
            assert_eq!(text.parse::<Samples>().unwrap(), s);
            assert_eq!(s.to_string(), text);
        }
        for bad in ["sliding:0", "sliding:", "prefixes", ""] {
            let e = bad.parse::<Samples>().unwrap_err().to_string();
            assert!(e.contains("sliding:N"), "{bad}: {e}");
        }
        assert_eq!(serde_json::to_string(&Samples::Prefixes).unwrap(), r#""prefixes""#);
        assert!(Samples::Sliding { stride: 0 }.validate().is_err());
    }

    #[test]
    fn cloze_batches_mask_and_target_the_hidden_items() {
        let split = chain_split();
        let n = split.dataset.num_items();
        let w = training_windows(&split.train(Phase::Valid), 6, Samples::AllPositions);
        let all: Vec<usize> = (0..w.len()).collect();
        let plain = Batch::new(&split.dataset, &w, &all, n, false);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let masking = Masking { max_len: 6, mask_prob: 0.2, last_only: 0.0 };
        let b = Batch::cloze(&split.dataset, &w, &all, n, false, &masking, &mut rng);
        assert_eq!(b.rows, all.len());
        assert!(b.len <= 6);
        let mask = n as i64 + 1;
        let mut per_row = vec![0usize; b.rows];
        for (&p, &t) in b.positions.iter().zip(&b.targets) {
            assert_eq!(b.items[p as usize], mask, "a target position holds the mask");
            assert!((0..n as i64).contains(&t));
            per_row[p as usize / b.len] += 1;
        }
        assert!(per_row.iter().all(|&k| k >= 1), "every sequence has a masked item");
        let masked = b.positions.len() as f64 / b.items.iter().filter(|&&i| i != 0).count() as f64;
        assert!((0.15..0.4).contains(&masked), "share masked {masked}");
        // Unmasking gives the newest `max_len` items of each window: the causal batch's inputs
        // plus the window's last item.
        let mut restored = b.items.clone();
        for (&p, &t) in b.positions.iter().zip(&b.targets) {
            restored[p as usize] = t + 1;
        }
        for r in 0..b.rows {
            let row: Vec<i64> = restored[r * b.len..(r + 1) * b.len].iter().copied().filter(|&i| i != 0).collect();
            let window = w[all[r]];
            let seq = &split.dataset.seqs[window.seq as usize].items[window.start as usize..window.end as usize];
            let expect: Vec<i64> = seq[seq.len().saturating_sub(6)..].iter().map(|&i| i as i64).collect();
            assert_eq!(row, expect);
            let causal: Vec<i64> =
                plain.items[r * plain.len..(r + 1) * plain.len].iter().copied().filter(|&i| i != 0).collect();
            assert_eq!(causal[..], seq[..seq.len() - 1].iter().map(|&i| i as i64).collect::<Vec<_>>()[..]);
        }
        // last_only = 1: exactly the newest item of every row, which is the last column.
        let only_last = Masking { last_only: 1.0, ..masking };
        let b = Batch::cloze(&split.dataset, &w, &all, n, false, &only_last, &mut rng);
        assert_eq!(b.positions, (0..b.rows).map(|r| (r * b.len + b.len - 1) as i64).collect::<Vec<_>>());
    }
}
