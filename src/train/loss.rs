//! The training losses other than the fused full softmax: sampled softmax with the logQ
//! correction, and binary cross-entropy with one sampled negative. Both work on the gathered
//! hidden states of a batch (`[N, d]`, one row per target position) and the item table rows
//! `1..=num_items` (`[V, d]`, row `k` is item index `k + 1`), like the full softmax does, and
//! are composed of burn tensor operations (their cost is `N × negatives × d`, not
//! `N × V × d`).

use std::fmt;
use std::str::FromStr;

use burn::tensor::activation::{log_sigmoid, log_softmax};
use burn::tensor::{Bool, Int, Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The training objective, per target position (averaged over the positions of a batch).
///
/// Serialised as `"full_softmax"`, `{"sampled_softmax": {"negatives": 256}}` or `"bce"`;
/// written and parsed as `full`, `sampled:256` and `bce` ([`FromStr`], [`fmt::Display`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// Cross-entropy over the whole catalog (exact; computed by the fused CPU head).
    #[default]
    FullSoftmax,
    /// Cross-entropy over the target and `negatives` items shared by the whole batch, drawn
    /// with replacement in proportion to their frequency as training targets, with the logQ
    /// correction: every logit (target's and negatives') is lowered by `ln(negatives · p(item))`,
    /// the log of the item's expected count in the sample. A sampled copy of a row's own target
    /// is masked out of that row ("accidental hit"). The cost per batch grows with `negatives`,
    /// not with the catalog: the option for large catalogs.
    SampledSoftmax {
        /// Negatives drawn per batch (at least 1).
        negatives: usize,
    },
    /// Binary cross-entropy of the target against one negative per position, drawn uniformly
    /// from the catalog and redrawn (up to 10 times) while it is an item of the position's
    /// training window, as in the original SASRec: `−ln σ(s_target) − ln(1 − σ(s_negative))`.
    Bce,
}

impl Loss {
    /// Checks the values (a sampled softmax needs at least one negative).
    pub fn validate(&self) -> Result<()> {
        match self {
            Loss::SampledSoftmax { negatives: 0 } => {
                Err(Error::invalid("train.loss", "a sampled softmax needs at least 1 negative"))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loss::FullSoftmax => write!(f, "full"),
            Loss::SampledSoftmax { negatives } => write!(f, "sampled:{negatives}"),
            Loss::Bce => write!(f, "bce"),
        }
    }
}

impl FromStr for Loss {
    type Err = Error;

    /// `full`, `sampled:N` (N ≥ 1 negatives per batch) or `bce`.
    fn from_str(s: &str) -> Result<Loss> {
        let bad = || Error::invalid("loss", format!("`{s}` is not `full`, `sampled:N` (N ≥ 1) or `bce`"));
        let loss = match s.trim() {
            "full" | "full_softmax" | "softmax" => Loss::FullSoftmax,
            "bce" => Loss::Bce,
            other => {
                let n = other.strip_prefix("sampled:").ok_or_else(bad)?;
                Loss::SampledSoftmax { negatives: n.trim().parse().map_err(|_| bad())? }
            }
        };
        loss.validate().map_err(|_| bad())?;
        Ok(loss)
    }
}

/// Draws negatives for [`Loss::SampledSoftmax`] in proportion to item frequencies.
#[derive(Clone, Debug)]
pub(super) struct PopularitySampler {
    /// Cumulative counts: `cdf[k]` = sum of the counts of items `0..=k` (item `k` is index `k + 1`).
    cdf: Vec<f64>,
    /// `ln p(k)` of every item (`-inf` for items never seen).
    log_p: Vec<f32>,
}

impl PopularitySampler {
    /// A sampler over `counts[k]` (item index `k + 1`). `None` when every count is zero.
    pub(super) fn new(counts: &[u64]) -> Option<PopularitySampler> {
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let mut acc = 0.0;
        let cdf = counts
            .iter()
            .map(|&c| {
                acc += c as f64;
                acc
            })
            .collect();
        let log_p = counts.iter().map(|&c| ((c as f64) / total as f64).ln() as f32).collect();
        Some(PopularitySampler { cdf, log_p })
    }

    /// `k` items (0-based, with replacement) and their logQ corrections `ln(k · p(item))`.
    pub(super) fn draw(&self, k: usize, rng: &mut ChaCha8Rng) -> (Vec<i64>, Vec<f32>) {
        let total = *self.cdf.last().unwrap_or(&0.0);
        let items: Vec<i64> = (0..k)
            .map(|_| {
                let u = rng.random::<f64>() * total;
                // The first item whose cumulative count exceeds u (never a zero-count item).
                self.cdf.partition_point(|&c| c <= u).min(self.cdf.len() - 1) as i64
            })
            .collect();
        let log_q = items.iter().map(|&i| self.log_q(i, k)).collect();
        (items, log_q)
    }

    /// `ln(k · p(item))`, the log of the item's expected count among `k` draws.
    pub(super) fn log_q(&self, item: i64, k: usize) -> f32 {
        self.log_p.get(item as usize).copied().unwrap_or(f32::NEG_INFINITY) + (k as f32).ln()
    }
}

/// Mean sampled-softmax cross-entropy with logQ correction.
///
/// # Shapes
/// - `h`: `[N, d]`, `table`: `[V, d]`;
/// - `targets` (`N` entries, `0..V`), `target_log_q` (`N`): each row's target and its correction;
/// - `negatives` (`K` entries, `0..V`), `neg_log_q` (`K`): the negatives shared by the rows;
/// - logits `[N, 1 + K]`: column 0 the target, `s − log_q`; a negative equal to the row's
///   target is masked; returns a scalar `[1]`.
pub(super) fn sampled_softmax(
    h: Tensor<2>,
    table: Tensor<2>,
    targets: &[i64],
    target_log_q: &[f32],
    negatives: &[i64],
    neg_log_q: &[f32],
) -> Tensor<1> {
    let device = h.device();
    let (n, k) = (targets.len(), negatives.len());
    let t_idx = Tensor::<1, Int>::from_data(TensorData::new(targets.to_vec(), [n]), &device);
    let n_idx = Tensor::<1, Int>::from_data(TensorData::new(negatives.to_vec(), [k]), &device);
    let pos = (h.clone() * table.clone().select(0, t_idx)).sum_dim(1); // [N, 1]
    let neg = h.matmul(table.select(0, n_idx).transpose()); // [N, K]
    let t_q = Tensor::<2>::from_data(TensorData::new(target_log_q.to_vec(), [n, 1]), &device);
    let n_q = Tensor::<2>::from_data(TensorData::new(neg_log_q.to_vec(), [1, k]), &device).expand([n, k]);
    let hits: Vec<bool> = targets.iter().flat_map(|&t| negatives.iter().map(move |&j| j == t)).collect();
    let hits = Tensor::<2, Bool>::from_data(TensorData::new(hits, [n, k]), &device);
    // A large finite value rather than −inf: exp() gives 0 and no NaN can reach the gradient.
    let neg = (neg - n_q).mask_fill(hits, -1.0e9);
    let logits = Tensor::cat(vec![pos - t_q, neg], 1);
    log_softmax(logits, 1).narrow(1, 0, 1).mean().neg()
}

/// Mean binary cross-entropy of each target against its own negative:
/// `mean(−ln σ(⟨h, e_target⟩) − ln σ(−⟨h, e_negative⟩))`.
///
/// # Shapes
/// `h`: `[N, d]`, `table`: `[V, d]`, `targets` and `negatives`: `N` entries in `0..V` → `[1]`.
pub(super) fn bce(h: Tensor<2>, table: Tensor<2>, targets: &[i64], negatives: &[i64]) -> Tensor<1> {
    let device = h.device();
    let n = targets.len();
    let t_idx = Tensor::<1, Int>::from_data(TensorData::new(targets.to_vec(), [n]), &device);
    let n_idx = Tensor::<1, Int>::from_data(TensorData::new(negatives.to_vec(), [n]), &device);
    let pos = (h.clone() * table.clone().select(0, t_idx)).sum_dim(1);
    let neg = (h * table.select(0, n_idx)).sum_dim(1);
    (log_sigmoid(pos) + log_sigmoid(neg.neg())).mean().neg()
}

/// One negative per position for [`Loss::Bce`]: uniform over `0..num_items`, redrawn up to 10
/// times while it is one of `avoid(position)`'s items (item indices, 1-based).
pub(super) fn uniform_negatives<'a>(
    num_items: usize,
    positions: usize,
    avoid: impl Fn(usize) -> &'a [u32],
    rng: &mut ChaCha8Rng,
) -> Vec<i64> {
    (0..positions)
        .map(|p| {
            let seen = avoid(p);
            let mut j = rng.random_range(0..num_items);
            for _ in 0..10 {
                if !seen.contains(&(j as u32 + 1)) {
                    break;
                }
                j = rng.random_range(0..num_items);
            }
            j as i64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;
    use rand::SeedableRng;

    use super::*;
    use crate::model::neural::read_f32;
    use crate::train::TrainConfig;

    #[test]
    fn popularity_sampler_follows_the_counts_and_is_seeded() {
        let s = PopularitySampler::new(&[3, 0, 1]).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (items, q) = s.draw(4000, &mut rng);
        assert!(items.iter().all(|&i| i == 0 || i == 2), "a zero-count item is never drawn");
        let share = items.iter().filter(|&&i| i == 0).count() as f64 / 4000.0;
        assert!((share - 0.75).abs() < 0.03, "item 0 drawn {share} of the time, expected 0.75");
        let expect0 = (4000.0f32 * 0.75).ln();
        assert!(items.iter().zip(&q).filter(|(i, _)| **i == 0).all(|(_, q)| (q - expect0).abs() < 1e-4));
        assert_eq!(s.draw(50, &mut ChaCha8Rng::seed_from_u64(9)), s.draw(50, &mut ChaCha8Rng::seed_from_u64(9)));
        assert_ne!(s.draw(50, &mut ChaCha8Rng::seed_from_u64(9)).0, s.draw(50, &mut ChaCha8Rng::seed_from_u64(8)).0);
        assert!(PopularitySampler::new(&[0, 0]).is_none());

        // BCE negatives avoid the window's items and are seeded too.
        // (Up to 11 draws: a 1-in-5 window item survives them all with probability 2e-8.)
        let avoid: [u32; 1] = [2]; // item 1, 0-based
        let negs = uniform_negatives(5, 300, |_| &avoid[..], &mut ChaCha8Rng::seed_from_u64(4));
        assert!(!negs.contains(&1) && (0..5).filter(|j| negs.contains(j)).count() == 4, "{negs:?}");
        assert_eq!(negs, uniform_negatives(5, 300, |_| &avoid[..], &mut ChaCha8Rng::seed_from_u64(4)));
    }

    #[test]
    fn bce_matches_a_hand_computed_value() {
        let device = Device::flex();
        let h = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 2.0], [2, 2]), &device);
        let table = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0, -1.0, 0.0], [3, 2]), &device);
        // Row 0: target 0 scores 1, negative 2 scores −1: 2·ln(1 + e^−1) = 0.626523.
        // Row 1: target 2 scores 0, negative 1 scores 2: ln 2 + ln(1 + e^2) = 2.820075.
        let l = read_f32(bce(h, table, &[0, 2], &[2, 1]), "loss").unwrap()[0];
        assert!((l - (0.626_523_4 + 2.820_075_2) / 2.0).abs() < 1e-5, "{l}");
    }

    #[test]
    fn loss_settings_parse_print_and_serialise() {
        for (text, loss) in
            [("full", Loss::FullSoftmax), ("sampled:64", Loss::SampledSoftmax { negatives: 64 }), ("bce", Loss::Bce)]
        {
            assert_eq!(text.parse::<Loss>().unwrap(), loss);
            assert_eq!(loss.to_string(), text);
        }
        for bad in ["sampled:0", "sampled:", "sampled:x", "softmax:3", ""] {
            let e = bad.parse::<Loss>().unwrap_err().to_string();
            assert!(e.contains("sampled:N"), "{bad}: {e}");
        }
        let cfg = TrainConfig { loss: Loss::SampledSoftmax { negatives: 8 }, ..TrainConfig::default() };
        let json = serde_json::to_string(&cfg).unwrap();
        assert!(json.contains(r#""loss":{"sampled_softmax":{"negatives":8}}"#), "{json}");
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), cfg);
        let bce: TrainConfig = serde_json::from_str(r#"{"loss": "bce"}"#).unwrap();
        assert_eq!(bce.loss, Loss::Bce);
        assert_eq!(serde_json::from_str::<TrainConfig>("{}").unwrap().loss, Loss::FullSoftmax);
        assert!(TrainConfig { loss: Loss::SampledSoftmax { negatives: 0 }, ..cfg }.validate().is_err());
    }
}
