//! [`Pq`]: product quantisation. The `d` columns are cut into `M` sub-spaces of `d / M`
//! columns; each sub-space has [`CENTROIDS`] centroids (learned natively by k-means on the
//! trained table, [`Pq::train`]), and a row is stored as `M` bytes, the index of the nearest
//! centroid in each sub-space. Its decoded row is those centroids side by side.
//!
//! Scoring by asymmetric distance computation (ADC): once per request, a lookup table of
//! `user_m · centroid_{m,c}` for every sub-space `m` and centroid `c` (`M × 256` dot products
//! of `d / M` values: `256 · d` multiply-adds whatever the catalogue size); then each item's
//! score is `M` byte-indexed lookups and additions. At `M = 16` a million items are 16 MB of
//! codes and 16 million lookups per request.
//!
//! **Exact rows.** Optionally the most popular items (those most histories contain and most
//! recommendations name) keep their rows in f16 ([`Pq::exact_items`]): their decoded row is the
//! f16 row, so both their scores and the input embeddings of histories that contain them are
//! (nearly) those of the f32 model. After the ADC pass, their scores are recomputed as dot
//! products with the f16 rows: `P · d` multiply-adds, no extra pass over the catalogue, and no
//! request ever leaves the device.

use super::dot::dot;
use crate::error::{Error, Result};

/// Centroids per sub-space: one byte per code.
pub const CENTROIDS: usize = 256;

/// A product-quantised table.
#[derive(Clone, Debug, PartialEq)]
pub struct Pq {
    /// `rows × m` centroid indices.
    codes: Vec<u8>,
    /// `m × CENTROIDS × (dim / m)` centroids.
    centroids: Vec<f32>,
    m: usize,
    dim: usize,
    /// Rows kept exactly, strictly increasing.
    exact_items: Vec<u32>,
    /// Their rows (values of f16), `exact_items.len() × dim`.
    exact_rows: Vec<f32>,
}

impl Pq {
    /// Learns `m` sub-spaces of [`CENTROIDS`] centroids on `table` (width `dim`, row-major) by
    /// k-means and encodes every row; the rows `exact` (any order, duplicates ignored) keep f16
    /// values. Deterministic for a `seed`. Errors: `m` does not divide `dim`, an empty or
    /// non-finite table, an exact row out of range.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn train(table: &[f32], dim: usize, m: usize, exact: &[u32], seed: u64) -> Result<Pq> {
        use rayon::prelude::*;

        check_shape(table.len(), dim, m)?;
        if let Some(i) = table.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid("item table", format!("value {i} is {}, not a finite number", table[i])));
        }
        let rows = table.len() / dim;
        let ds = dim / m;
        let mut centroids = Vec::with_capacity(m * CENTROIDS * ds);
        let mut codes = vec![0u8; rows * m];
        for s in 0..m {
            let sub: Vec<f32> = table.chunks_exact(dim).flat_map(|r| r[s * ds..(s + 1) * ds].iter().copied()).collect();
            let c = super::kmeans::kmeans(&sub, ds, CENTROIDS, seed.wrapping_add(s as u64));
            codes.par_chunks_mut(m).zip(sub.par_chunks(ds)).for_each(|(code, p)| {
                code[s] = super::kmeans::nearest(p, &c, ds) as u8;
            });
            centroids.extend_from_slice(&c);
        }
        let mut exact_items = exact.to_vec();
        exact_items.sort_unstable();
        exact_items.dedup();
        if let Some(&bad) = exact_items.iter().find(|&&i| i as usize >= rows) {
            return Err(Error::invalid("exact rows", format!("row {bad} of a table of {rows} rows")));
        }
        let exact_rows = exact_items
            .iter()
            .flat_map(|&i| table[i as usize * dim..(i as usize + 1) * dim].iter().map(|&x| through_f16(x)))
            .collect();
        Ok(Pq { codes, centroids, m, dim, exact_items, exact_rows })
    }

    /// A table from its parts, checked for consistency (the bundle encoding also checks the
    /// values).
    pub(crate) fn from_parts(
        codes: Vec<u8>,
        centroids: Vec<f32>,
        m: usize,
        dim: usize,
        exact_items: Vec<u32>,
        exact_rows: Vec<f32>,
    ) -> Result<Pq> {
        check_shape(dim, dim, m)?;
        let rows = codes.len() / m;
        if codes.len() != rows * m || centroids.len() != m * CENTROIDS * (dim / m) {
            return Err(Error::Mismatch(format!(
                "{} codes and {} centroid values do not make a table of {m} sub-spaces of width {dim}",
                codes.len(),
                centroids.len()
            )));
        }
        if exact_rows.len() != exact_items.len() * dim {
            return Err(Error::Mismatch(format!(
                "{} exact items but {} values of exact rows of width {dim}",
                exact_items.len(),
                exact_rows.len()
            )));
        }
        if let Some(w) = exact_items.windows(2).find(|w| w[0] >= w[1]) {
            return Err(Error::invalid("exact rows", format!("items {} and {} are not increasing", w[0], w[1])));
        }
        if let Some(&bad) = exact_items.last().filter(|&&i| i as usize >= rows) {
            return Err(Error::invalid("exact rows", format!("row {bad} of a table of {rows} rows")));
        }
        Ok(Pq { codes, centroids, m, dim, exact_items, exact_rows })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.codes.len() / self.m
    }

    /// Width of a decoded row.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of sub-spaces (bytes per row).
    pub fn subspaces(&self) -> usize {
        self.m
    }

    /// The rows kept exactly (f16), increasing.
    pub fn exact_items(&self) -> &[u32] {
        &self.exact_items
    }

    /// The codes (`rows × m`), the centroids (`m × 256 × dim / m`) and the exact rows
    /// (`exact_items().len() × dim`).
    pub(crate) fn parts(&self) -> (&[u8], &[f32], &[f32]) {
        (&self.codes, &self.centroids, &self.exact_rows)
    }

    /// The lookup table of a request: `lut[s][c] = user_s · centroid_{s,c}`.
    fn lookup_table(&self, user: &[f32]) -> Vec<[f32; CENTROIDS]> {
        let ds = self.dim / self.m;
        let mut lut = vec![[0.0f32; CENTROIDS]; self.m];
        for (s, (t, cs)) in lut.iter_mut().zip(self.centroids.chunks_exact(CENTROIDS * ds)).enumerate() {
            let u = &user[s * ds..(s + 1) * ds];
            for (v, c) in t.iter_mut().zip(cs.chunks_exact(ds)) {
                *v = dot(c, u);
            }
        }
        lut
    }

    pub(crate) fn scores_into(&self, user: &[f32], out: &mut [f32]) {
        let lut = self.lookup_table(user);
        match self.m {
            4 => adc::<4>(&self.codes, &lut, out),
            8 => adc::<8>(&self.codes, &lut, out),
            16 => adc::<16>(&self.codes, &lut, out),
            32 => adc::<32>(&self.codes, &lut, out),
            m => {
                for (code, o) in self.codes.chunks_exact(m).zip(out.iter_mut()) {
                    *o = code.iter().zip(&lut).fold(0.0, |s, (&c, t)| s + t[c as usize]);
                }
            }
        }
        for (&i, row) in self.exact_items.iter().zip(self.exact_rows.chunks_exact(self.dim)) {
            if let Some(o) = out.get_mut(i as usize) {
                *o = dot(row, user);
            }
        }
    }

    pub(crate) fn decode_row(&self, index: usize, out: &mut [f32]) {
        if let Ok(k) = self.exact_items.binary_search(&(index as u32)) {
            out.copy_from_slice(&self.exact_rows[k * self.dim..(k + 1) * self.dim]);
            return;
        }
        let ds = self.dim / self.m;
        let code = &self.codes[index * self.m..(index + 1) * self.m];
        for (s, (&c, o)) in code.iter().zip(out.chunks_exact_mut(ds)).enumerate() {
            let at = (s * CENTROIDS + c as usize) * ds;
            o.copy_from_slice(&self.centroids[at..at + ds]);
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.codes.len() + 4 * (self.centroids.len() + self.exact_rows.len() + self.exact_items.len())
    }
}

/// ADC for `M` sub-spaces known at compile time: the loop over sub-spaces unrolls, and two
/// partial sums halve the chain of dependent additions. Indexing a `[f32; 256]` with a byte
/// needs no bounds check.
fn adc<const M: usize>(codes: &[u8], lut: &[[f32; CENTROIDS]], out: &mut [f32]) {
    let Ok(lut) = <&[[f32; CENTROIDS]; M]>::try_from(lut) else { return };
    for (code, o) in codes.chunks_exact(M).zip(out.iter_mut()) {
        let Ok(code) = <&[u8; M]>::try_from(code) else { return };
        let (mut a, mut b) = (0.0f32, 0.0f32);
        for k in (0..M).step_by(2) {
            a += lut[k][code[k] as usize];
            b += lut[k + 1][code[k + 1] as usize];
        }
        *o = a + b;
    }
}

/// Checks that `m` sub-spaces divide width `dim` and that `len` values are whole rows.
fn check_shape(len: usize, dim: usize, m: usize) -> Result<()> {
    if m == 0 || dim == 0 || dim % m != 0 {
        return Err(Error::invalid("pq", format!("{m} sub-spaces do not divide rows of width {dim}")));
    }
    if len == 0 || len % dim != 0 {
        return Err(Error::Mismatch(format!("{len} values are not a non-empty table of rows of width {dim}")));
    }
    Ok(())
}

/// `x` rounded to f16 and back: what an exact row keeps.
#[cfg(not(target_arch = "wasm32"))]
fn through_f16(x: f32) -> f32 {
    burn::tensor::f16::from_f32(x).to_f32()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item_table::tests::random_table;

    #[test]
    fn reconstruction_beats_a_single_centroid_and_exact_rows_are_exact() {
        let (n, d) = (2000, 16);
        let table = random_table(n, d, 4);
        let pq = Pq::train(&table, d, 8, &[5, 1, 5], 9).unwrap();
        assert_eq!((pq.rows(), pq.dim(), pq.subspaces(), pq.exact_items()), (n, d, 8, &[1u32, 5][..]));
        let mut row = vec![0.0; d];
        let (mut err, mut norm) = (0.0f64, 0.0f64);
        for (i, orig) in table.chunks_exact(d).enumerate() {
            pq.decode_row(i, &mut row);
            if i == 1 || i == 5 {
                assert!(orig.iter().zip(&row).all(|(a, b)| (a - b).abs() <= 1e-3 * a.abs().max(1e-2)));
            }
            err += orig.iter().zip(&row).map(|(a, b)| ((a - b) * (a - b)) as f64).sum::<f64>();
            norm += orig.iter().map(|a| (a * a) as f64).sum::<f64>();
        }
        // 2 columns per sub-space, 256 centroids: the error is a small part of the energy.
        assert!(err / norm < 0.1, "relative squared error {}", err / norm);
        // Same seed, same table; another seed, other centroids.
        assert_eq!(Pq::train(&table, d, 8, &[1, 5], 9).unwrap(), pq);
        assert_ne!(Pq::train(&table, d, 8, &[1, 5], 10).unwrap().parts().1, pq.parts().1);
    }

    #[test]
    fn bad_shapes_are_errors() {
        let t = random_table(300, 12, 1);
        assert!(Pq::train(&t, 12, 5, &[], 1).unwrap_err().to_string().contains("do not divide"));
        assert!(Pq::train(&t, 12, 4, &[300], 1).unwrap_err().to_string().contains("row 300"));
        assert!(Pq::train(&[], 12, 4, &[], 1).is_err());
        let mut nan = t.clone();
        nan[7] = f32::INFINITY;
        assert!(Pq::train(&nan, 12, 4, &[], 1).unwrap_err().to_string().contains("not a finite number"));
        // The generic path (M = 3) agrees with decoding.
        let pq = Pq::train(&t, 12, 3, &[], 1).unwrap();
        let user = random_table(1, 12, 2);
        let mut out = vec![0.0; 300];
        pq.scores_into(&user, &mut out);
        let mut row = vec![0.0; 12];
        pq.decode_row(17, &mut row);
        assert!((dot(&row, &user) - out[17]).abs() < 1e-4);
    }
}
