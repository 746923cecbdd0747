//! Sparse rows in CSR layout, the storage of the sparse baselines' item→item relations
//! ([`Markov`](crate::model::markov::Markov) transitions, [`ItemKnn`](crate::model::itemknn::ItemKnn)
//! neighbours).
//!
//! Row `i` holds the entries `cols[offsets[i]..offsets[i + 1]]` with their values in `vals` at
//! the same positions. Memory is `O(rows + entries)`: no dense `rows × cols` matrix.

use serde::{Deserialize, Serialize};

/// Rows of `(column, value)` entries in CSR layout.
///
/// The order of the entries within a row is the order they were added in (see
/// [`push_row`](Self::push_row) and [`from_triples`](Self::from_triples)); columns may repeat.
///
/// # Shapes
/// - `offsets`: `num_rows() + 1` non-decreasing positions into `cols` / `vals`, starting at 0;
/// - `cols`, `vals`: one entry per stored value, grouped by row.
///
/// A deserialised value may break these rules; [`row`](Self::row) then returns empty rows
/// instead of panicking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SparseRows<V> {
    offsets: Vec<u64>,
    cols: Vec<u32>,
    vals: Vec<V>,
}

impl<V> Default for SparseRows<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> SparseRows<V> {
    /// No rows.
    pub fn new() -> Self {
        SparseRows { offsets: vec![0], cols: Vec::new(), vals: Vec::new() }
    }

    /// Appends a row holding `entries` (`(column, value)`, in the given order).
    pub fn push_row(&mut self, entries: impl IntoIterator<Item = (u32, V)>) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        for (c, v) in entries {
            self.cols.push(c);
            self.vals.push(v);
        }
        self.offsets.push(self.cols.len() as u64);
    }

    /// Groups `(row, column, value)` triples into `num_rows` rows. Within a row, the entries
    /// keep the order in which the triples come; nothing is sorted or merged. Triples with
    /// `row >= num_rows` are skipped.
    ///
    /// `triples` is called twice (one pass counts the row lengths, the other fills them) and
    /// must yield the same triples both times; if it does not, the result is unspecified but
    /// nothing panics. Time `O(num_rows + triples)`; no memory beyond the result.
    pub fn from_triples<I, F>(num_rows: usize, triples: F) -> Self
    where
        F: Fn() -> I,
        I: IntoIterator<Item = (usize, u32, V)>,
        V: Clone + Default,
    {
        let mut offsets = vec![0u64; num_rows + 1];
        for (r, _, _) in triples() {
            if r < num_rows {
                offsets[r + 1] += 1;
            }
        }
        for r in 1..offsets.len() {
            offsets[r] += offsets[r - 1];
        }
        let total = offsets[num_rows] as usize;
        let mut cols = vec![0u32; total];
        let mut vals = vec![V::default(); total];
        let mut fill = offsets[..num_rows].to_vec();
        for (r, c, v) in triples() {
            if let Some(slot) = fill.get_mut(r) {
                if *slot < offsets[r + 1] {
                    cols[*slot as usize] = c;
                    vals[*slot as usize] = v;
                    *slot += 1;
                }
            }
        }
        SparseRows { offsets, cols, vals }
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of stored entries, over all rows.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Row `i`'s columns and values, in stored order. Empty for `i >= num_rows()` and for a
    /// row whose offsets are corrupt (decreasing, or past the end of `cols` or `vals`); never
    /// panics.
    pub fn row(&self, i: usize) -> (&[u32], &[V]) {
        let range = (|| {
            let lo = usize::try_from(*self.offsets.get(i)?).ok()?;
            let hi = usize::try_from(*self.offsets.get(i.checked_add(1)?)?).ok()?;
            (lo <= hi && hi <= self.cols.len() && hi <= self.vals.len()).then_some(lo..hi)
        })();
        match range {
            Some(r) => (&self.cols[r.clone()], &self.vals[r]),
            None => (&[], &[]),
        }
    }

    /// The offsets, for tests that corrupt them.
    #[cfg(test)]
    pub(crate) fn offsets_mut(&mut self) -> &mut Vec<u64> {
        &mut self.offsets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SparseRows<f32> {
        let mut m = SparseRows::new();
        m.push_row([(3, 0.5), (1, 0.25)]);
        m.push_row([]);
        m.push_row([(2, 1.0)]);
        m
    }

    #[test]
    fn rows_keep_their_entries_in_order_and_empty_rows_are_empty() {
        let m = sample();
        assert_eq!((m.num_rows(), m.nnz()), (3, 3));
        assert_eq!(m.row(0), (&[3, 1][..], &[0.5, 0.25][..]));
        assert_eq!(m.row(1), (&[][..], &[][..]));
        assert_eq!(m.row(2), (&[2][..], &[1.0][..]));
        let e = SparseRows::<u32>::new();
        assert_eq!((e.num_rows(), e.nnz()), (0, 0));
        assert_eq!(e.row(0), (&[][..], &[][..]));
        assert_eq!(SparseRows::<u32>::default(), e);
    }

    #[test]
    fn bad_indices_give_empty_rows() {
        let m = sample();
        for i in [3, 4, u32::MAX as usize, usize::MAX - 1, usize::MAX] {
            assert_eq!(m.row(i), (&[][..], &[][..]), "row {i}");
        }
    }

    #[test]
    fn corrupt_offsets_give_empty_rows_without_panicking() {
        let empty = (&[][..], &[][..]);
        // Decreasing offsets: row 0 is fine, row 1 (3 → 2) is not.
        let mut m = sample();
        *m.offsets_mut() = vec![0, 3, 2, 3];
        assert_eq!(m.row(0).0, &[3, 1, 2]);
        assert_eq!(m.row(1), empty);
        // Past the end of the entries.
        *m.offsets_mut() = vec![0, 2, 2, 99];
        assert_eq!(m.row(2), empty);
        *m.offsets_mut() = vec![0, u64::MAX];
        assert_eq!(m.row(0), empty);
        // Truncated or missing offsets.
        m.offsets_mut().truncate(1);
        assert_eq!((m.num_rows(), m.row(0)), (0, empty));
        m.offsets_mut().clear();
        assert_eq!((m.num_rows(), m.row(0)), (0, empty));
        // Fewer values than columns: a row reaching past the values is empty.
        let mut short: SparseRows<f32> =
            serde_json::from_str(r#"{"offsets":[0,1,3],"cols":[1,2,3],"vals":[0.5,1.5]}"#).unwrap();
        assert_eq!(short.row(0), (&[1][..], &[0.5][..]));
        assert_eq!(short.row(1), empty);
        // Pushing onto a value without offsets starts a fresh row 0.
        short.offsets_mut().clear();
        short.push_row([(7, 2.5)]);
        assert_eq!(short.num_rows(), 1);
        assert_eq!(short.row(0), empty, "cols and vals no longer line up");
    }

    #[test]
    fn triples_are_grouped_by_row_in_arrival_order() {
        let t = [(2, 5, 'a'), (0, 9, 'b'), (2, 1, 'c'), (7, 0, 'x'), (0, 9, 'd')];
        let m = SparseRows::from_triples(4, || t);
        assert_eq!((m.num_rows(), m.nnz()), (4, 4), "row 7 is out of range and skipped");
        assert_eq!(m.row(0), (&[9, 9][..], &['b', 'd'][..]));
        assert_eq!(m.row(1), (&[][..], &[][..]));
        assert_eq!(m.row(2), (&[5, 1][..], &['a', 'c'][..]));
        assert_eq!(m.row(3), (&[][..], &[][..]));
        let none = SparseRows::<()>::from_triples(0, || t.map(|(r, c, _)| (r, c, ())));
        assert_eq!((none.num_rows(), none.nnz()), (0, 0));
    }

    #[test]
    fn differing_passes_do_not_panic() {
        let calls = std::cell::Cell::new(0);
        let m = SparseRows::from_triples(2, || {
            calls.set(calls.get() + 1);
            if calls.get() == 1 { vec![(0, 1, 1u32), (1, 2, 2)] } else { vec![(0, 3, 3), (0, 4, 4), (1, 5, 5)] }
        });
        assert_eq!(m.row(0), (&[3][..], &[3][..]));
        assert_eq!(m.row(1), (&[5][..], &[5][..]));
    }

    #[test]
    fn round_trips_through_serde() {
        let m = sample();
        let back: SparseRows<f32> = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
}
