//! Item tables on the host: the item embeddings a user vector is scored against, in one of
//! several storage formats, scored and decoded by plain Rust (no burn), so the same code runs
//! natively and in the browser's CPU module.
//!
//! A catalogue of a million items at width 64 is a 256 MB f32 table; these formats shrink it:
//!
//! | format | bytes per item (d = 64) | score of item `i` for user vector `u` |
//! |---|---|---|
//! | [`Dense`] (f32, or f16 in the bundle) | 256 (128) | `u · row_i` |
//! | [`Int8`] | 68 (a scale and d bytes) | `scale_i · (u · q_i)` |
//! | [`Pq`] with M sub-spaces | M | `Σ_m LUT[m][code_i[m]]` (asymmetric distance computation) |
//!
//! Every format defines a *decoded table*, one f32 row per item ([`ItemTable::decode_row`]),
//! and its scores are the dot products of the user vector with those rows (up to the order of
//! the float additions). So a bundle served from a compressed table behaves exactly like the same
//! encoder whose item embeddings are the decoded rows: the history's input embeddings are
//! decoded rows too (see [`crate::model::hosted`]).
//!
//! # Files
//!
//! | file | concept |
//! |---|---|
//! | `mod.rs` | [`ItemTable`]: scores of every item for a user vector, decoded rows; [`TableFormat`], what `localrec export --items` names |
//! | `dot.rs` | the f32 dot-product kernel every format ends in, written for auto-vectorisation |
//! | `dense.rs` | [`Dense`]: f32 rows |
//! | `int8.rs` | [`Int8`]: per-row scaled int8 |
//! | `pq.rs` | [`Pq`]: product quantisation, scored by asymmetric distance computation, with optional exact (f16) rows for the most popular items |
//! | `kmeans.rs` | k-means, which learns the product-quantisation centroids (native only) |
//! | `encoding.rs` | the bundle encoding: [`TableSpec`] in the manifest, the tensors in the weights, and their validation |
//!
mod dense;
mod dot;
mod encoding;
mod int8;
#[cfg(not(target_arch = "wasm32"))]
mod kmeans;
mod pq;

pub use dense::Dense;
pub use encoding::{TABLE_TENSOR_PREFIX, TableSpec};
pub use int8::Int8;
pub use pq::{CENTROIDS, Pq};

use crate::error::{Error, Result};

/// How a bundle stores its item table: what `localrec export --items` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// f32 rows inside the model's weights (what training writes).
    F32,
    /// f16 rows inside the model's weights ([`crate::bundle::Manifest::half_precision_items`]).
    F16,
    /// Per-row scaled int8 ([`Int8`]).
    Int8,
    /// Product quantisation with this many sub-spaces ([`Pq`]).
    Pq(usize),
}

impl TableFormat {
    /// Parses `f32`, `f16`, `int8` or `pq:M` (M sub-spaces, e.g. `pq:16`).
    pub fn parse(s: &str) -> Result<TableFormat> {
        let bad =
            || Error::invalid("--items", format!("`{s}` is not a table format (f32, f16, int8 or pq:M, e.g. pq:16)"));
        match s {
            "f32" => Ok(TableFormat::F32),
            "f16" => Ok(TableFormat::F16),
            "int8" => Ok(TableFormat::Int8),
            _ => {
                let m: usize = s.strip_prefix("pq:").ok_or_else(bad)?.parse().map_err(|_| bad())?;
                if m == 0 {
                    return Err(Error::invalid("--items", "pq needs at least 1 sub-space (pq:M, M ≥ 1)"));
                }
                Ok(TableFormat::Pq(m))
            }
        }
    }

    /// Whether the table is stored outside the model's weights (int8, pq).
    pub fn is_compressed(self) -> bool {
        matches!(self, TableFormat::Int8 | TableFormat::Pq(_))
    }
}

impl std::fmt::Display for TableFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableFormat::F32 => f.write_str("f32"),
            TableFormat::F16 => f.write_str("f16"),
            TableFormat::Int8 => f.write_str("int8"),
            TableFormat::Pq(m) => write!(f, "pq:{m}"),
        }
    }
}

/// An item table on the host: `rows()` rows of width `dim()` (row 0 is the padding index's).
#[derive(Clone, Debug, PartialEq)]
pub enum ItemTable {
    /// f32 rows.
    Dense(Dense),
    /// Per-row scaled int8.
    Int8(Int8),
    /// Product quantisation.
    Pq(Pq),
}

impl ItemTable {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        match self {
            ItemTable::Dense(t) => t.rows(),
            ItemTable::Int8(t) => t.rows(),
            ItemTable::Pq(t) => t.rows(),
        }
    }

    /// Width of a row.
    pub fn dim(&self) -> usize {
        match self {
            ItemTable::Dense(t) => t.dim(),
            ItemTable::Int8(t) => t.dim(),
            ItemTable::Pq(t) => t.dim(),
        }
    }

    /// The format's name, as [`TableFormat`] writes it.
    pub fn format(&self) -> TableFormat {
        match self {
            ItemTable::Dense(_) => TableFormat::F32,
            ItemTable::Int8(_) => TableFormat::Int8,
            ItemTable::Pq(t) => TableFormat::Pq(t.subspaces()),
        }
    }

    /// The score of every row for `user`, into `out` (one per row): the dot product of `user`
    /// with each decoded row. Errors when `user` is not `dim()` wide or `out` not `rows()` long.
    pub fn scores_into(&self, user: &[f32], out: &mut [f32]) -> Result<()> {
        if user.len() != self.dim() || out.len() != self.rows() {
            return Err(Error::Mismatch(format!(
                "scoring an item table of {} × {}: a user vector of {} and {} scores",
                self.rows(),
                self.dim(),
                user.len(),
                out.len()
            )));
        }
        match self {
            ItemTable::Dense(t) => t.scores_into(user, out),
            ItemTable::Int8(t) => t.scores_into(user, out),
            ItemTable::Pq(t) => t.scores_into(user, out),
        }
        Ok(())
    }

    /// The scores of every row for each of `users` (row-major, `dim()` wide), row-major
    /// `[users.len() / dim(), rows()]`.
    pub fn scores(&self, users: &[f32]) -> Result<Vec<f32>> {
        let (d, n) = (self.dim(), self.rows());
        if d == 0 || users.len() % d != 0 {
            return Err(Error::Mismatch(format!("user vectors of {} values are not rows of {d}", users.len())));
        }
        let mut out = vec![0.0; users.len() / d * n];
        for (u, row) in users.chunks_exact(d).zip(out.chunks_exact_mut(n)) {
            self.scores_into(u, row)?;
        }
        Ok(out)
    }

    /// Decoded row `index` into `out` (`dim()` values). Errors when `index` is not a row.
    pub fn decode_row(&self, index: usize, out: &mut [f32]) -> Result<()> {
        if index >= self.rows() || out.len() != self.dim() {
            return Err(Error::invalid(
                "item index",
                format!(
                    "row {index} of an item table of {} rows ({} wide into {})",
                    self.rows(),
                    self.dim(),
                    out.len()
                ),
            ));
        }
        match self {
            ItemTable::Dense(t) => t.decode_row(index, out),
            ItemTable::Int8(t) => t.decode_row(index, out),
            ItemTable::Pq(t) => t.decode_row(index, out),
        }
        Ok(())
    }

    /// Decoded rows `indices`, row-major `[indices.len(), dim()]`.
    pub fn decode_rows(&self, indices: &[u32]) -> Result<Vec<f32>> {
        let d = self.dim();
        let mut out = vec![0.0; indices.len() * d];
        for (&i, row) in indices.iter().zip(out.chunks_exact_mut(d.max(1))) {
            self.decode_row(i as usize, row)?;
        }
        Ok(out)
    }

    /// Bytes the table takes in memory (its rows, codes and centroids).
    pub fn bytes(&self) -> usize {
        match self {
            ItemTable::Dense(t) => t.bytes(),
            ItemTable::Int8(t) => t.bytes(),
            ItemTable::Pq(t) => t.bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// A random table of `n` rows of width `d`, values N(0, 1)-ish.
    pub(crate) fn random_table(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n * d).map(|_| rng.random_range(-1.0f32..1.0) + rng.random_range(-1.0f32..1.0)).collect()
    }

    #[test]
    fn formats_parse_and_print() {
        for (s, f) in [
            ("f32", TableFormat::F32),
            ("f16", TableFormat::F16),
            ("int8", TableFormat::Int8),
            ("pq:16", TableFormat::Pq(16)),
        ] {
            assert_eq!(TableFormat::parse(s).unwrap(), f);
            assert_eq!(f.to_string(), s);
        }
        for bad in ["", "f64", "pq", "pq:", "pq:x", "pq:-1", "PQ:8"] {
            let e = TableFormat::parse(bad).unwrap_err().to_string();
            assert!(e.contains("not a table format"), "{bad}: {e}");
        }
        assert!(TableFormat::parse("pq:0").unwrap_err().to_string().contains("at least 1 sub-space"));
        assert!(TableFormat::Pq(8).is_compressed() && TableFormat::Int8.is_compressed());
        assert!(!TableFormat::F16.is_compressed());
    }

    /// Every format's scores are the dot products of the user vector with its decoded rows.
    #[test]
    fn scores_are_dot_products_with_decoded_rows() {
        let (n, d) = (700, 16);
        let rows = random_table(n, d, 1);
        let user: Vec<f32> = random_table(1, d, 2);
        let popular: Vec<u32> = vec![3, 10, 699];
        let tables = [
            ItemTable::Dense(Dense::new(rows.clone(), d).unwrap()),
            ItemTable::Int8(Int8::quantize(&rows, d).unwrap()),
            ItemTable::Pq(Pq::train(&rows, d, 4, &popular, 7).unwrap()),
        ];
        for t in &tables {
            let scores = t.scores(&user).unwrap();
            assert_eq!(scores.len(), n);
            let decoded = t.decode_rows(&(0..n as u32).collect::<Vec<_>>()).unwrap();
            for (i, row) in decoded.chunks_exact(d).enumerate() {
                let dot: f32 = row.iter().zip(&user).map(|(a, b)| a * b).sum();
                assert!(
                    (dot - scores[i]).abs() <= 1e-4 * (1.0 + dot.abs()),
                    "{:?} row {i}: {dot} vs {}",
                    t.format(),
                    scores[i]
                );
            }
            let mut short = vec![0.0; n - 1];
            assert!(t.scores_into(&user, &mut short).is_err());
            assert!(t.scores(&user[..d - 1]).is_err());
            assert!(t.decode_rows(&[n as u32]).is_err());
        }
    }
}
