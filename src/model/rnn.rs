//! Pieces the recurrent encoders ([`super::gru4rec`], [`super::lstm`]) share: their config
//! checks and weight count, the padding mask and the step slices of their masked cells.

use burn::tensor::{Int, Tensor};

use crate::error::{Error, Result};

/// The checks shared by the recurrent encoders' configs.
pub(crate) fn check_rnn(
    name: &str,
    num_items: usize,
    d_model: usize,
    d_hidden: Option<usize>,
    n_layers: usize,
    max_len: usize,
) -> Result<()> {
    let bad = |field: &str, problem: &str| Err(Error::invalid(format!("{name}.{field}"), problem));
    if num_items == 0 {
        return bad("num_items", "the catalog is empty");
    }
    if d_model == 0 {
        return bad("d_model", "must be at least 1");
    }
    if d_hidden == Some(0) {
        return bad("d_hidden", "must be at least 1");
    }
    if n_layers == 0 {
        return bad("n_layers", "must be at least 1");
    }
    if max_len == 0 {
        return bad("max_len", "must be at least 1");
    }
    Ok(())
}

/// Checks two dropout rates (in `[0, 1)`) and an initialisation scale (positive).
pub(crate) fn check_rates(name: &str, dropout: f64, hidden_dropout: f64, init_std: f64) -> Result<()> {
    for (field, p) in [("dropout", dropout), ("hidden_dropout", hidden_dropout)] {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::invalid(format!("{name}.{field}"), format!("{p} is not in [0, 1)")));
        }
    }
    if !(init_std.is_finite() && init_std > 0.0) {
        return Err(Error::invalid(format!("{name}.init_std"), format!("{init_std} is not a positive number")));
    }
    Ok(())
}

/// Weights of a recurrent encoder: item table, `gates` gate matrices per layer, dense layer.
pub(crate) fn rnn_weights(num_items: usize, d: usize, h: usize, layers: usize, gates: u128, dense: bool) -> u128 {
    let (d, h) = (d as u128, h as u128);
    let table = (num_items as u128 + 1).saturating_mul(d);
    let first = gates.saturating_mul(h).saturating_mul(d.saturating_add(h));
    let rest = gates.saturating_mul(h).saturating_mul(h.saturating_mul(2));
    let stack = first.saturating_add(rest.saturating_mul((layers as u128).saturating_sub(1)));
    let dense = if dense { h.saturating_mul(d) } else { 0 };
    table.saturating_add(stack).saturating_add(dense)
}

/// `[B, L, 1]`: 1 at real items, 0 at padding.
pub(crate) fn keep_mask(items: &Tensor<2, Int>) -> Tensor<3> {
    let [b, l] = items.dims();
    items.clone().not_equal_elem(0).float().reshape([b, l, 1])
}

/// The step-`t` slice of a `[B, L, w]` tensor, as `[B, w]`.
pub(crate) fn step(x: &Tensor<3>, t: usize) -> Tensor<2> {
    let [b, _, w] = x.dims();
    x.clone().narrow(1, t, 1).reshape([b, w])
}
