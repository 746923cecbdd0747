//! [`Dense`]: f32 rows, scored by one dot product per row.

use super::dot::dot;
use crate::error::{Error, Result};

/// An f32 table, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Dense {
    values: Vec<f32>,
    dim: usize,
}

impl Dense {
    /// A table of `values.len() / dim` rows. Errors when `dim` is 0 or does not divide the length.
    pub fn new(values: Vec<f32>, dim: usize) -> Result<Dense> {
        if dim == 0 || values.len() % dim != 0 {
            return Err(Error::Mismatch(format!("{} values are not rows of width {dim}", values.len())));
        }
        Ok(Dense { values, dim })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.dim
    }

    /// Width of a row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The rows, row-major.
    pub fn values(&self) -> &[f32] {
        &self.values
    }

    /// `out[i] = user · row_i` (lengths checked by [`super::ItemTable::scores_into`]).
    pub(crate) fn scores_into(&self, user: &[f32], out: &mut [f32]) {
        for (row, o) in self.values.chunks_exact(self.dim).zip(out.iter_mut()) {
            *o = dot(row, user);
        }
    }

    pub(crate) fn decode_row(&self, index: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.values[index * self.dim..(index + 1) * self.dim]);
    }

    pub(crate) fn bytes(&self) -> usize {
        self.values.len() * 4
    }
}
