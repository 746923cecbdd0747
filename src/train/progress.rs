//! What a training run reports as it goes: the [`Progress`] events, each epoch's [`EpochLog`]
//! and its one-line summary.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::validation::RankMetrics;

/// What one epoch did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochLog {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss (of [`TrainConfig::loss`](super::TrainConfig::loss), per position) over the epoch's batches.
    pub loss: f64,
    /// Wall time of the training part of the epoch.
    pub seconds: f64,
    /// Seconds in the forward pass and loss.
    pub forward_s: f64,
    /// Seconds in the backward pass.
    pub backward_s: f64,
    /// Seconds in the optimiser step.
    pub step_s: f64,
    /// Training sequences (windows) seen.
    pub sequences: usize,
    /// Predicted positions (targets) seen.
    pub positions: usize,
    /// Validation metrics, on epochs that were evaluated.
    pub valid: Option<RankMetrics>,
    /// Seconds spent evaluating.
    pub eval_s: f64,
    /// CPU seconds (all threads) of the training part, where the platform reports them
    /// (Linux); unlike `seconds`, this hardly depends on what else the machine runs.
    pub cpu_s: Option<f64>,
}

/// What [`super::fit`] reports while it trains, in this order per epoch: `EpochStart`, one
/// `Batch` per batch, then `Evaluating` and `Checkpoint` where they happen, then `EpochEnd`.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Epoch `epoch` (1-based) begins; it has `batches` batches.
    EpochStart {
        /// The epoch.
        epoch: usize,
        /// Batches in this epoch.
        batches: usize,
    },
    /// Batch `batch` (1-based) of `batches` is done; `loss` is the epoch's mean loss so far.
    Batch {
        /// The epoch.
        epoch: usize,
        /// Batches done in this epoch.
        batch: usize,
        /// Batches in this epoch.
        batches: usize,
        /// Mean loss over the epoch's batches so far.
        loss: f64,
    },
    /// The validation cases are being ranked.
    Evaluating {
        /// The epoch.
        epoch: usize,
    },
    /// The best model so far was written to [`TrainConfig::checkpoint`](super::TrainConfig::checkpoint).
    Checkpoint {
        /// The epoch of the model written.
        epoch: usize,
        /// The file.
        path: PathBuf,
    },
    /// The epoch is over (its log; `valid` is set when it was evaluated).
    EpochEnd(EpochLog),
}

/// The one-line summary of an epoch that [`super::fit`] prints.
pub fn progress_line(log: &EpochLog) -> String {
    let mut s = format!(
        "epoch {:>3}: loss {:.4}, {:.1} s ({:.0} seq/s; fwd {:.1} s, bwd {:.1} s, step {:.1} s",
        log.epoch,
        log.loss,
        log.seconds,
        log.sequences as f64 / log.seconds.max(1e-9),
        log.forward_s,
        log.backward_s,
        log.step_s
    );
    if let Some(c) = log.cpu_s {
        s.push_str(&format!("; cpu {c:.1} s"));
    }
    s.push(')');
    if let Some(v) = log.valid {
        s.push_str(&format!(", valid NDCG@10 {:.4} HR@10 {:.4} (eval {:.1} s)", v.ndcg10, v.hr10, log.eval_s));
    }
    s
}
