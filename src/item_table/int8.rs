//! [`Int8`]: each row stored as `d` signed bytes and one f32 scale, `row ≈ scale · q`, with
//! `scale = max |row| / 127` (symmetric, per row: rows of very different norms keep their own
//! precision). The score is `scale · (user · q)`: the bytes are widened to f32 in the inner
//! loop, four bytes of a row per 32-bit load, which LLVM vectorises.

use super::dot::dot;
use crate::error::{Error, Result};

/// Largest magnitude of a stored byte.
const QMAX: f32 = 127.0;

/// A per-row scaled int8 table.
#[derive(Clone, Debug, PartialEq)]
pub struct Int8 {
    values: Vec<i8>,
    scales: Vec<f32>,
    dim: usize,
}

impl Int8 {
    /// Quantises an f32 table of width `dim`, row-major. Errors on a non-finite value.
    pub fn quantize(table: &[f32], dim: usize) -> Result<Int8> {
        if dim == 0 || table.len() % dim != 0 {
            return Err(Error::Mismatch(format!("{} values are not rows of width {dim}", table.len())));
        }
        if let Some(i) = table.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid("item table", format!("value {i} is {}, not a finite number", table[i])));
        }
        let mut values = Vec::with_capacity(table.len());
        let mut scales = Vec::with_capacity(table.len() / dim);
        for row in table.chunks_exact(dim) {
            let max = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let scale = max / QMAX;
            scales.push(scale);
            let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
            values.extend(row.iter().map(|x| (x * inv).round().clamp(-QMAX, QMAX) as i8));
        }
        Ok(Int8 { values, scales, dim })
    }

    /// A table from its parts (validated by the bundle encoding).
    pub(crate) fn from_parts(values: Vec<i8>, scales: Vec<f32>, dim: usize) -> Int8 {
        Int8 { values, scales, dim }
    }

    /// The bytes, row-major, and the scales.
    pub(crate) fn parts(&self) -> (&[i8], &[f32]) {
        (&self.values, &self.scales)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.scales.len()
    }

    /// Width of a row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    pub(crate) fn scores_into(&self, user: &[f32], out: &mut [f32]) {
        let d = self.dim;
        let mut wide = vec![0.0f32; d];
        for ((q, &scale), o) in self.values.chunks_exact(d).zip(&self.scales).zip(out.iter_mut()) {
            for (w, &b) in wide.iter_mut().zip(q) {
                *w = b as f32;
            }
            *o = scale * dot(&wide, user);
        }
    }

    pub(crate) fn decode_row(&self, index: usize, out: &mut [f32]) {
        let scale = self.scales[index];
        for (o, &b) in out.iter_mut().zip(&self.values[index * self.dim..(index + 1) * self.dim]) {
            *o = scale * b as f32;
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.values.len() + self.scales.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_within_half_a_step() {
        let table = crate::item_table::tests::random_table(50, 12, 3);
        let q = Int8::quantize(&table, 12).unwrap();
        let mut row = vec![0.0; 12];
        for (i, orig) in table.chunks_exact(12).enumerate() {
            q.decode_row(i, &mut row);
            let max = orig.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            for (a, b) in orig.iter().zip(&row) {
                assert!((a - b).abs() <= max / 127.0 * 0.5 + 1e-6, "row {i}: {a} vs {b}");
            }
        }
        // A zero row stays zero (scale 0, no division by zero).
        let z = Int8::quantize(&[0.0; 4], 4).unwrap();
        assert_eq!(z.parts(), (&[0i8; 4][..], &[0.0f32][..]));
        assert!(Int8::quantize(&[1.0, f32::NAN], 2).unwrap_err().to_string().contains("not a finite number"));
        assert!(Int8::quantize(&[1.0; 5], 2).is_err());
    }
}
