//! Initialisation of the linear layers of the Transformer encoders ([`LinearInit`]).
//!
//! burn initialises a [`Linear`] layer's weights *and* biases uniformly in ±1/√fan_in (about
//! ±0.125 at width 64). The published PyTorch recipes of SASRec-style models (and BERT) draw
//! every weight from `N(0, 0.02)` and start the biases at zero; at width 64 burn's default is
//! ~3.6× larger, which moves each block's output far from the identity at the start.

use std::fmt;
use std::str::FromStr;

use burn::nn::attention::{MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::transformer::{PositionWiseFeedForward, PositionWiseFeedForwardConfig};
use burn::nn::{Initializer, Linear};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the attention and feed-forward linear layers start.
///
/// Written and parsed as `normal` and `uniform`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearInit {
    /// Weights `N(0, std)` with the encoder's `init_std` (0.02), biases zero: the PyTorch recipe.
    #[default]
    Normal,
    /// burn's default: weights and biases uniform in ±1/√fan_in.
    Uniform,
}

impl LinearInit {
    /// Builds a multi-head attention layer with this initialisation.
    pub(crate) fn attention(self, cfg: MultiHeadAttentionConfig, std: f64, device: &Device) -> MultiHeadAttention {
        match self {
            LinearInit::Uniform => cfg.init(device),
            LinearInit::Normal => {
                let mut m = cfg.with_initializer(Initializer::Normal { mean: 0.0, std }).init(device);
                for l in [&mut m.query, &mut m.key, &mut m.value, &mut m.output] {
                    zero_bias(l, device);
                }
                m
            }
        }
    }

    /// Builds a position-wise feed-forward layer with this initialisation.
    pub(crate) fn feed_forward(
        self,
        cfg: PositionWiseFeedForwardConfig,
        std: f64,
        device: &Device,
    ) -> PositionWiseFeedForward {
        match self {
            LinearInit::Uniform => cfg.init(device),
            LinearInit::Normal => {
                let mut m = cfg.with_initializer(Initializer::Normal { mean: 0.0, std }).init(device);
                zero_bias(&mut m.linear_inner, device);
                zero_bias(&mut m.linear_outer, device);
                m
            }
        }
    }
}

fn zero_bias(l: &mut Linear, device: &Device) {
    if let Some(b) = &l.bias {
        let n = b.dims()[0];
        l.bias = Some(Initializer::Zeros.init([n], device));
    }
}

impl fmt::Display for LinearInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinearInit::Normal => "normal",
            LinearInit::Uniform => "uniform",
        })
    }
}

impl FromStr for LinearInit {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "normal" => Ok(LinearInit::Normal),
            "uniform" => Ok(LinearInit::Uniform),
            _ => Err(Error::invalid("init", format!("`{s}` is not one of normal, uniform"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::neural::contract::read;

    fn stats(xs: &[f32]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().map(|&x| x as f64).sum::<f64>() / n;
        let sd = (xs.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
        (mean, sd)
    }

    #[test]
    fn normal_init_draws_small_weights_and_zero_biases() {
        let _rng = crate::testing::rng_lock();
        let device = Device::flex();
        device.seed(3);
        let ff = LinearInit::Normal.feed_forward(PositionWiseFeedForwardConfig::new(64, 256), 0.02, &device);
        let (mean, sd) = stats(&read(ff.linear_inner.weight.val()));
        assert!(mean.abs() < 0.002 && (sd - 0.02).abs() < 0.001, "mean {mean}, sd {sd}");
        assert!(read(ff.linear_outer.bias.as_ref().unwrap().val()).iter().all(|&x| x == 0.0));
        let mha = LinearInit::Normal.attention(MultiHeadAttentionConfig::new(64, 1), 0.02, &device);
        for l in [&mha.query, &mha.key, &mha.value, &mha.output] {
            let (_, sd) = stats(&read(l.weight.val()));
            assert!((sd - 0.02).abs() < 0.002, "sd {sd}");
            assert!(read(l.bias.as_ref().unwrap().val()).iter().all(|&x| x == 0.0));
        }
        // burn's default: uniform in ±1/√64 = ±0.125, so sd 0.125/√3 ≈ 0.072, biases too.
        let ff = LinearInit::Uniform.feed_forward(PositionWiseFeedForwardConfig::new(64, 256), 0.02, &device);
        let (_, sd) = stats(&read(ff.linear_inner.weight.val()));
        assert!((sd - 0.125 / 3f64.sqrt()).abs() < 0.005, "sd {sd}");
        assert!(read(ff.linear_inner.bias.as_ref().unwrap().val()).iter().any(|&x| x != 0.0));
    }

    #[test]
    fn names_round_trip() {
        for i in [LinearInit::Normal, LinearInit::Uniform] {
            assert_eq!(i.to_string().parse::<LinearInit>().unwrap(), i);
        }
        assert!("xavier".parse::<LinearInit>().unwrap_err().to_string().contains("xavier"));
    }
}
