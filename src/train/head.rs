//! The training objective of a batch: the full softmax over the catalog (fused on the CPU,
//! composed of tensor operations elsewhere), the sampled softmax and binary cross-entropy
//! ([`super::loss`]), all computed on the hidden states gathered at the batch's target
//! positions.

use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::batch::{Batch, Window};
use super::loss::{self, Loss};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::neural::{SeqEncoder, read_f32};

/// The hidden states at the target positions of `b`, and the item table rows `1..=num_items`.
///
/// # Shapes
/// hidden `[B, L, d]` → gathered `[N, d]` (N = target positions); table `[num_items, d]`.
pub(super) fn gathered_states<M: SeqEncoder>(model: &M, b: &Batch, device: &Device) -> (Tensor<2>, Tensor<2>) {
    let items = Tensor::<2, Int>::from_data(TensorData::new(b.items.clone(), [b.rows, b.len]), device);
    let kinds =
        b.kinds.as_ref().map(|k| Tensor::<2, Int>::from_data(TensorData::new(k.clone(), [b.rows, b.len]), device));
    let h = model.forward(items, kinds);
    let [rows, len, d] = h.dims();
    let at = Tensor::<1, Int>::from_data(TensorData::new(b.positions.clone(), [b.targets.len()]), device);
    let h = h.reshape([rows * len, d]).select(0, at);
    let table = model.item_table();
    let [size, _] = table.dims();
    (h, table.narrow(0, 1, size - 1))
}

/// The loss of [`TrainConfig::loss`] and what it draws from: the popularity sampler of
/// [`Loss::SampledSoftmax`] and a random stream for the negatives, separate from the shuffling
/// stream (so the full softmax sees exactly the batches it saw before the other losses existed).
pub(super) struct LossState {
    loss: Loss,
    sampler: Option<loss::PopularitySampler>,
    rng: ChaCha8Rng,
    /// Whether the full softmax uses the fused CPU head (on `flex`) or the composed loss.
    fused: bool,
    n_items: usize,
}

impl LossState {
    pub(super) fn new(
        loss: Loss,
        device: &Device,
        ds: &Dataset,
        windows: &[Window],
        n_items: usize,
        seed: u64,
    ) -> Result<Self> {
        let sampler = match loss {
            Loss::SampledSoftmax { .. } => {
                // Frequencies of the items as training targets: every target has a count ≥ 1.
                let mut counts = vec![0u64; n_items];
                for w in windows {
                    for &y in w.targets(ds) {
                        if y != 0 && (y as usize) <= n_items {
                            counts[y as usize - 1] += 1;
                        }
                    }
                }
                Some(loss::PopularitySampler::new(&counts).ok_or_else(|| {
                    Error::Empty(format!("`{}` has no training target to sample negatives from", ds.name))
                })?)
            }
            _ => None,
        };
        Ok(LossState {
            loss,
            sampler,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6e65_6761_7469_7665), // "negative"
            fused: device.clone().inner() == Device::flex(),
            n_items,
        })
    }

    /// The mean loss of batch `b` and a scalar to call `backward` on. `window_items(p)` gives the
    /// items of the training window of target position `p` (the negatives of BCE avoid them).
    pub(super) fn objective<'a, M: SeqEncoder>(
        &mut self,
        model: &M,
        b: &Batch,
        device: &Device,
        window_items: &dyn Fn(usize) -> &'a [u32],
    ) -> Result<(f64, Tensor<1>)> {
        let composed = match self.loss {
            Loss::FullSoftmax if self.fused => return batch_objective(model, b, device),
            Loss::FullSoftmax => batch_loss(model, b, device),
            Loss::SampledSoftmax { negatives } => {
                let sampler = self.sampler.as_ref().ok_or_else(|| Error::Training("no negative sampler".into()))?;
                let (negs, neg_q) = sampler.draw(negatives, &mut self.rng);
                let target_q: Vec<f32> = b.targets.iter().map(|&t| sampler.log_q(t, negatives)).collect();
                let (h, table) = gathered_states(model, b, device);
                loss::sampled_softmax(h, table, &b.targets, &target_q, &negs, &neg_q)
            }
            Loss::Bce => {
                let negs = loss::uniform_negatives(self.n_items, b.targets.len(), window_items, &mut self.rng);
                let (h, table) = gathered_states(model, b, device);
                loss::bce(h, table, &b.targets, &negs)
            }
        };
        let value = read_f32(composed.clone(), "the loss")?.first().copied().unwrap_or(f32::NAN) as f64;
        Ok((value, composed))
    }
}

/// Rows of the fused cross-entropy head handled together: their logits (`rows × num_items`)
/// stay in cache between the three matrix products, and blocks run in parallel.
pub(super) const HEAD_BLOCK: usize = 128;

/// The mean full-softmax cross-entropy of `b` and a surrogate scalar with the same gradient.
///
/// The `[N, num_items]` part is done outside the autodiff graph, because composing it from
/// tensor operations (log-softmax, gather, and their backward passes) walks the large logits
/// matrix about ten times. Here, for each block of [`HEAD_BLOCK`] rows (blocks in parallel),
/// the logits are formed once, one pass per row turns them in place into
/// `G = (softmax − one_hot(target)) / N` (the gradient of the loss with respect to the
/// logits), and two matrix products give `∂L/∂h = G · E` and the block's share of
/// `∂L/∂E = Gᵀ · h`. The surrogate `Σ h ⊙ ∂L/∂h + Σ E ⊙ ∂L/∂E` (gradients held constant)
/// hands them to the graph: its backward pass yields exactly those gradients for the encoder
/// and the item table.
pub(super) fn batch_objective<M: SeqEncoder>(model: &M, b: &Batch, device: &Device) -> Result<(f64, Tensor<1>)> {
    use rayon::prelude::*;
    type Acc = Result<(f64, Vec<(usize, Vec<f32>)>, Option<Tensor<2>>)>;

    let (h, table) = gathered_states(model, b, device);
    let (hc, tc) = (h.clone().inner(), table.clone().inner());
    let ([n, d], v) = (hc.dims(), tc.dims()[0]);
    let plain = hc.device();
    let hv = read_f32(hc, "hidden states")?;
    let inv_n = 1.0 / n.max(1) as f32;
    let block = |start: usize| -> Result<(f64, Vec<f32>, Tensor<2>)> {
        let end = (start + HEAD_BLOCK).min(n);
        let hb = Tensor::<2>::from_data(TensorData::new(hv[start * d..end * d].to_vec(), [end - start, d]), &plain);
        let logits = hb.clone().matmul(tc.clone().transpose());
        let mut data =
            logits.try_into_data().map_err(|e| Error::Device(format!("could not read the logits back: {e:?}")))?;
        let g = data.as_mut_slice::<f32>().map_err(|e| Error::Device(format!("logits are not f32: {e:?}")))?;
        let loss = softmax_xent_grad(g, v, &b.targets[start..end], inv_n);
        let g = Tensor::<2>::from_data(data, &plain);
        let grad_h = read_f32(g.clone().matmul(tc.clone()), "a gradient")?;
        Ok((loss, grad_h, g.transpose().matmul(hb)))
    };
    let empty = || -> Acc { Ok((0.0, Vec::new(), None)) };
    let (loss, parts, grad_table) = (0..n)
        .step_by(HEAD_BLOCK)
        .collect::<Vec<_>>()
        .into_par_iter()
        .fold(empty, |acc: Acc, start| {
            let (loss, mut parts, sum) = acc?;
            let (l, gh, ge) = block(start)?;
            parts.push((start, gh));
            Ok((loss + l, parts, Some(sum.map_or(ge.clone(), |s| s + ge))))
        })
        .reduce(empty, |a, b| {
            let ((la, mut pa, sa), (lb, pb, sb)) = (a?, b?);
            pa.extend(pb);
            let sum = match (sa, sb) {
                (Some(x), Some(y)) => Some(x + y),
                (x, y) => x.or(y),
            };
            Ok((la + lb, pa, sum))
        })?;
    let mut grad_h = vec![0f32; n * d];
    for (start, gh) in parts {
        grad_h[start * d..start * d + gh.len()].copy_from_slice(&gh);
    }
    let grad_h = Tensor::<2>::from_data(TensorData::new(grad_h, [n, d]), &plain);
    let grad_table = grad_table.unwrap_or_else(|| Tensor::zeros([v, d], &plain));
    let surrogate = (h * grad_h).sum() + (table * grad_table).sum();
    Ok((loss * inv_n as f64, surrogate))
}

/// Turns `rows` (`targets.len()` rows of `v` logits) in place into the gradient of the
/// cross-entropy scaled by `scale`, `(softmax(row) − one_hot(target)) · scale`, and returns
/// the summed (unscaled) cross-entropy of the rows.
fn softmax_xent_grad(rows: &mut [f32], v: usize, targets: &[i64], scale: f32) -> f64 {
    if v == 0 {
        return 0.0;
    }
    let mut total = 0.0f64;
    for (row, &t) in rows.chunks_exact_mut(v).zip(targets) {
        let t = (t.max(0) as usize).min(v - 1);
        let z_t = row[t];
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f64;
        for x in row.iter_mut() {
            *x = (*x - m).exp();
            sum += *x as f64;
        }
        let k = (scale as f64 / sum) as f32;
        for x in row.iter_mut() {
            *x *= k;
        }
        row[t] -= scale;
        total += (m as f64 + sum.ln()) - z_t as f64;
    }
    total
}

/// Mean cross-entropy of the next item at every target position of `b`, composed of tensor
/// operations: the full softmax off the CPU (where the fused head's host round trips would
/// cost more than they save), and the reference for [`batch_objective`].
///
/// # Shapes
/// hidden `[B, L, d]` → gathered `[N, d]` (N = target positions) → logits `[N, num_items]`
/// against table rows `1..=num_items` (padding is never a candidate) → scalar `[1]`.
pub(super) fn batch_loss<M: SeqEncoder>(model: &M, b: &Batch, device: &Device) -> Tensor<1> {
    use burn::tensor::activation::log_softmax;
    let (h, table) = gathered_states(model, b, device);
    let n = b.targets.len();
    let logits = h.matmul(table.transpose());
    let targets = Tensor::<2, Int>::from_data(TensorData::new(b.targets.clone(), [n, 1]), device);
    log_softmax(logits, 1).gather(1, targets).mean().neg()
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::data::{Phase, Split};
    use crate::model::neural::EncoderConfig;
    use crate::model::sasrec::{SasRec, SasRecConfig};
    use crate::train::batch::{Samples, training_windows};
    use crate::train::tests::chain_split;

    #[test]
    fn fused_head_matches_autodiff_loss_and_gradients() {
        let _rng = crate::testing::rng_lock();
        let split = chain_split();
        let device = Device::flex().autodiff();
        device.seed(11);
        let m = SasRecConfig::new(split.dataset.num_items())
            .with_d_model(16)
            .with_max_len(6)
            .with_dropout(0.0)
            .init(&device)
            .unwrap();
        let w = training_windows(&split.train(Phase::Valid), 6, Samples::AllPositions);
        let all: Vec<usize> = (0..w.len()).collect();
        let b = Batch::new(&split.dataset, &w, &all, split.dataset.num_items(), false);
        assert!(b.targets.len() > 2 * HEAD_BLOCK, "several blocks of the fused head are exercised");
        let reference = batch_loss(&m, &b, &device);
        let ref_value = read_f32(reference.clone(), "loss").unwrap()[0] as f64;
        let g1 = reference.backward();
        let (value, surrogate) = batch_objective(&m, &b, &device).unwrap();
        let g2 = surrogate.backward();
        assert!((value - ref_value).abs() < 1e-4, "{value} vs {ref_value}");
        let table = m.item_table();
        let (a, c) = (table.grad(&g1).unwrap(), table.grad(&g2).unwrap());
        let (a, c) = (read_f32(a, "g").unwrap(), read_f32(c, "g").unwrap());
        let scale = a.iter().map(|x| x.abs()).fold(0.0f32, f32::max);
        assert!(scale > 0.0);
        for (x, y) in a.iter().zip(&c) {
            assert!((x - y).abs() <= 1e-4 * scale, "{x} vs {y}");
        }
        // The rows of a constant logit matrix: loss ln(v), gradient rows sum to zero.
        let mut rows = vec![0.5f32; 2 * 4];
        let l = softmax_xent_grad(&mut rows, 4, &[1, 3], 0.5);
        assert!((l - 2.0 * 4f64.ln()).abs() < 1e-6);
        assert!((rows[1] - (0.25 - 1.0) / 2.0).abs() < 1e-6 && (rows[0] - 0.125).abs() < 1e-6);
        assert!(rows[..4].iter().sum::<f32>().abs() < 1e-6);
    }

    /// A small SASRec on the chain data (autodiff, no dropout) and one batch of every window.
    fn chain_model_and_batch(split: &Split, device: &Device) -> (SasRec, Batch) {
        device.seed(11);
        let m = SasRecConfig::new(split.dataset.num_items())
            .with_d_model(16)
            .with_max_len(6)
            .with_dropout(0.0)
            .init(device)
            .unwrap();
        let w = training_windows(&split.train(Phase::Valid), 6, Samples::AllPositions);
        let all: Vec<usize> = (0..w.len()).collect();
        (m, Batch::new(&split.dataset, &w, &all, split.dataset.num_items(), false))
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn sampled_softmax_over_the_whole_catalog_is_the_full_softmax() {
        // With every item once as a negative and one correction for all (the logQ of a uniform
        // sample of the whole catalog is the same constant for every item, and a constant shift
        // of all logits leaves a softmax unchanged), the sampled softmax must be the full softmax
        // exactly — provided the copy of each row's target among the negatives is masked: counted
        // twice, the target would add e^{s_t} to the denominator and the loss would differ.
        let split = chain_split();
        let device = Device::flex().autodiff();
        let (m, b) = chain_model_and_batch(&split, &device);
        let v = split.dataset.num_items();
        let reference = batch_loss(&m, &b, &device);
        let ref_value = read_f32(reference.clone(), "loss").unwrap()[0];
        let g1 = reference.backward();
        let (h, table) = gathered_states(&m, &b, &device);
        let all: Vec<i64> = (0..v as i64).collect();
        let q = 0.7f32;
        let sampled = loss::sampled_softmax(h, table, &b.targets, &vec![q; b.targets.len()], &all, &vec![q; v]);
        let value = read_f32(sampled.clone(), "loss").unwrap()[0];
        assert!((value - ref_value).abs() < 1e-5, "{value} vs {ref_value}");
        let g2 = sampled.backward();
        let t = m.item_table();
        let (a, c) = (read_f32(t.grad(&g1).unwrap(), "g").unwrap(), read_f32(t.grad(&g2).unwrap(), "g").unwrap());
        let scale = a.iter().map(|x| x.abs()).fold(0.0f32, f32::max);
        assert!(scale > 0.0 && max_abs_diff(&a, &c) <= 1e-4 * scale);
    }
}
