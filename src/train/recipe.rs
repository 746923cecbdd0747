//! Settings chosen by the data ([`DataRecipe`]): what suits sparse data with short histories
//! (Amazon) differs from what suits dense data with long ones (MovieLens), and a newcomer
//! should not have to know which is which.
//!
//! The rule reads one statistic, the mean length of the training sequences (the part of each
//! user's sequence before the validation item), against the model's `max_len`:
//!
//! | data | mean length | samples | Transformer dropout |
//! |---|---|---|---|
//! | sparse (Beauty 7.1, Sports 6.3, Toys 6.6) | < `max_len` | every position of the newest window ([`Samples::AllPositions`]) | 0.5 |
//! | dense (ml-100k 104, ml-1m 163) | ≥ `max_len` | sliding windows every `max_len / 2` items ([`Samples::Sliding`]) | 0.2 |
//!
//! On dense data the newest window alone would drop most of each history (ml-100k: 51 of ~104
//! items), so overlapping windows cover all of it; the SASRec paper's settings are dropout 0.5
//! on the Amazon data and 0.2 on MovieLens. Flags given explicitly win over the rule.

use crate::data::{Phase, Split};

use super::Samples;

/// The data-dependent defaults of a training run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DataRecipe {
    /// Mean length of the training sequences.
    pub mean_len: f64,
    /// Whether histories are, on average, at least the model's `max_len` (see the module docs).
    pub dense: bool,
    /// How to cut training samples.
    pub samples: Samples,
}

impl DataRecipe {
    /// The rule of the module docs for the training data of `split` and a model reading
    /// `max_len` items.
    pub fn for_split(split: &Split, max_len: usize) -> DataRecipe {
        let train = split.train(Phase::Valid);
        let (n, total) = train.sequences().fold((0usize, 0usize), |(n, t), s| (n + 1, t + s.len()));
        let mean_len = if n == 0 { 0.0 } else { total as f64 / n as f64 };
        let dense = mean_len >= max_len.max(1) as f64;
        let samples = if dense { Samples::Sliding { stride: (max_len / 2).max(1) } } else { Samples::AllPositions };
        DataRecipe { mean_len, dense, samples }
    }

    /// The dropout of an encoder whose sparse-data default is `sparse` and dense-data default is
    /// `dense` (`None`: the same on both).
    pub fn dropout(&self, sparse: f64, dense: Option<f64>) -> f64 {
        if self.dense { dense.unwrap_or(sparse) } else { sparse }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetBuilder, SplitSpec};
    use crate::events::{EventKind, SequenceOptions};

    fn split_of(lens: &[usize]) -> Split {
        let mut b = DatasetBuilder::new("lens");
        for (u, &len) in lens.iter().enumerate() {
            for t in 0..len {
                b.push(&format!("u{u}"), &format!("i{}", (u + t) % 40), EventKind::View, t as i64);
            }
        }
        Split::new(b.build(&SequenceOptions::default()).unwrap(), SplitSpec::LeaveOneOut).unwrap()
    }

    #[test]
    fn long_histories_get_sliding_windows_and_less_dropout() {
        // Training sequences exclude the validation and test items: 12 − 2 = 10 on average.
        let short = DataRecipe::for_split(&split_of(&[8, 12, 16]), 50);
        assert_eq!((short.mean_len, short.dense, short.samples), (10.0, false, Samples::AllPositions));
        assert_eq!(short.dropout(0.5, Some(0.2)), 0.5);
        let long = DataRecipe::for_split(&split_of(&[8, 12, 16]), 10);
        assert_eq!((long.dense, long.samples), (true, Samples::Sliding { stride: 5 }));
        assert_eq!(long.dropout(0.5, Some(0.2)), 0.2);
        assert_eq!(long.dropout(0.3, None), 0.3);
    }
}
