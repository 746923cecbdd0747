//! The bundle encoding of a compressed item table: a [`TableSpec`] in the manifest (format,
//! version, sizes) and tensors named `item_table.*` in the weights (safetensors), in place of
//! the model's f32 item embedding.
//!
//! | format | tensor | dtype | shape |
//! |---|---|---|---|
//! | `int8` | `item_table.int8.values` | I8 | `[rows, dim]` |
//! | `int8` | `item_table.int8.scales` | F32 | `[rows]`, finite, ≥ 0 |
//! | `pq` | `item_table.pq.codes` | U8 | `[rows, subspaces]` |
//! | `pq` | `item_table.pq.centroids` | F32 | `[subspaces, 256, dim / subspaces]`, finite |
//! | `pq` | `item_table.pq.exact_items` | U32 | `[exact]`, increasing, `< rows` (when `exact > 0`) |
//! | `pq` | `item_table.pq.exact_rows` | F16 | `[exact, dim]`, finite (when `exact > 0`) |
//! | both | `item_table.extra` | F32 | `[extra, dim]`: rows of the model's embedding after the `rows` items, e.g. BERT4Rec's `[MASK]` (when `extra > 0`) |
//!
//! `rows` is the catalogue's `num_items + 1` (row 0 is the padding index's). Every tensor must
//! be there with exactly its dtype and shape, and every value must be usable: anything else is
//! an [`Error::Bundle`] naming the problem (the browser reports it as `BAD_BUNDLE`). The
//! version ([`TABLE_VERSION`]) changes whenever the meaning of a tensor does.

use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use super::{CENTROIDS, Int8, ItemTable, Pq};
use crate::error::{Error, Result};

/// The prefix of every tensor of a compressed item table in the weights.
pub const TABLE_TENSOR_PREFIX: &str = "item_table.";

/// The version of the item-table encoding this localrec writes and reads.
pub const TABLE_VERSION: u32 = 1;

/// What the manifest records of a compressed item table (field `item_table`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSpec {
    /// `int8` or `pq`.
    pub format: String,
    /// The encoding's version ([`TABLE_VERSION`]).
    pub version: u32,
    /// Rows: the catalogue's `num_items + 1`.
    pub rows: usize,
    /// Width of a decoded row: the encoder's `d_model`.
    pub dim: usize,
    /// `pq`: sub-spaces (bytes per row).
    #[serde(default)]
    pub subspaces: usize,
    /// `pq`: rows kept in f16.
    #[serde(default)]
    pub exact: usize,
    /// Rows of the model's embedding after the items (BERT4Rec's `[MASK]`), stored in f32.
    #[serde(default)]
    pub extra: usize,
}

/// A tensor on its way into safetensors: name, dtype, shape, little-endian bytes.
pub type TensorBytes = (String, Dtype, Vec<usize>, Vec<u8>);

fn bad(problem: impl std::fmt::Display) -> Error {
    Error::Bundle { problem: format!("the compressed item table is not valid: {problem}") }
}

fn le_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl TableSpec {
    /// The spec and tensors of `table`, with `extra` rows (row-major, `table.dim()` wide) after
    /// it. Errors for a dense table (it stays in the model's weights).
    pub fn encode(table: &ItemTable, extra: &[f32]) -> Result<(TableSpec, Vec<TensorBytes>)> {
        let (rows, dim) = (table.rows(), table.dim());
        let p = |s: &str| format!("{TABLE_TENSOR_PREFIX}{s}");
        let mut spec =
            TableSpec { format: String::new(), version: TABLE_VERSION, rows, dim, subspaces: 0, exact: 0, extra: 0 };
        let mut tensors = match table {
            ItemTable::Dense(_) => {
                return Err(Error::invalid("item table", "an f32 table is stored in the model's weights"));
            }
            ItemTable::Int8(t) => {
                spec.format = "int8".into();
                let (values, scales) = t.parts();
                vec![
                    (p("int8.values"), Dtype::I8, vec![rows, dim], values.iter().map(|&b| b as u8).collect()),
                    (p("int8.scales"), Dtype::F32, vec![rows], le_f32(scales)),
                ]
            }
            ItemTable::Pq(t) => {
                let m = t.subspaces();
                spec.format = "pq".into();
                spec.subspaces = m;
                spec.exact = t.exact_items().len();
                let (codes, centroids, exact_rows) = t.parts();
                let mut v = vec![
                    (p("pq.codes"), Dtype::U8, vec![rows, m], codes.to_vec()),
                    (p("pq.centroids"), Dtype::F32, vec![m, CENTROIDS, dim / m], le_f32(centroids)),
                ];
                if spec.exact > 0 {
                    let items = t.exact_items().iter().flat_map(|i| i.to_le_bytes()).collect();
                    let half = exact_rows.iter().flat_map(|&x| burn::tensor::f16::from_f32(x).to_le_bytes()).collect();
                    v.push((p("pq.exact_items"), Dtype::U32, vec![spec.exact], items));
                    v.push((p("pq.exact_rows"), Dtype::F16, vec![spec.exact, dim], half));
                }
                v
            }
        };
        if !extra.is_empty() {
            if dim == 0 || extra.len() % dim != 0 {
                return Err(Error::Mismatch(format!("{} extra values are not rows of width {dim}", extra.len())));
            }
            spec.extra = extra.len() / dim;
            tensors.push((p("extra"), Dtype::F32, vec![spec.extra, dim], le_f32(extra)));
        }
        Ok((spec, tensors))
    }

    /// Checks the spec against the catalogue (`num_items` items) before anything is read.
    pub fn check(&self, num_items: usize) -> Result<()> {
        if self.version != TABLE_VERSION {
            return Err(bad(format!(
                "format {} version {}, this localrec reads version {TABLE_VERSION}",
                self.format, self.version
            )));
        }
        if self.rows != num_items + 1 {
            return Err(bad(format!(
                "{} rows for a catalogue of {num_items} items (needs {})",
                self.rows,
                num_items + 1
            )));
        }
        if self.dim == 0 || self.dim > 4096 {
            return Err(bad(format!("row width {} (1..=4096)", self.dim)));
        }
        match self.format.as_str() {
            "int8" => Ok(()),
            "pq" => {
                if self.subspaces == 0 || self.dim % self.subspaces != 0 {
                    return Err(bad(format!("{} sub-spaces do not divide rows of width {}", self.subspaces, self.dim)));
                }
                if self.exact > self.rows {
                    return Err(bad(format!("{} exact rows in a table of {} rows", self.exact, self.rows)));
                }
                Ok(())
            }
            other => Err(bad(format!("unknown format `{other}` (this localrec reads int8 and pq)"))),
        }
    }

    /// Reads the table this spec describes, and its extra rows, from safetensors `weights`;
    /// every tensor and value checked (see the [module docs](self)).
    pub fn decode(&self, weights: &[u8]) -> Result<(ItemTable, Vec<f32>)> {
        let st = SafeTensors::deserialize(weights).map_err(|e| bad(format!("the weights could not be read: {e}")))?;
        let (rows, dim) = (self.rows, self.dim);
        let table = match self.format.as_str() {
            "int8" => {
                let values = tensor(&st, "int8.values", Dtype::I8, &[rows, dim])?.iter().map(|&b| b as i8).collect();
                let scales = f32s(tensor(&st, "int8.scales", Dtype::F32, &[rows])?);
                if let Some(i) = scales.iter().position(|s| !s.is_finite() || *s < 0.0) {
                    return Err(bad(format!("the scale of row {i} is {}", scales[i])));
                }
                ItemTable::Int8(Int8::from_parts(values, scales, dim))
            }
            "pq" => {
                let m = self.subspaces;
                let codes = tensor(&st, "pq.codes", Dtype::U8, &[rows, m])?.to_vec();
                let centroids = f32s(tensor(&st, "pq.centroids", Dtype::F32, &[m, CENTROIDS, dim / m])?);
                if let Some(i) = centroids.iter().position(|x| !x.is_finite()) {
                    return Err(bad(format!("centroid value {i} is {}", centroids[i])));
                }
                let (items, exact_rows) = if self.exact > 0 {
                    let items: Vec<u32> = tensor(&st, "pq.exact_items", Dtype::U32, &[self.exact])?
                        .chunks_exact(4)
                        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect();
                    let half = tensor(&st, "pq.exact_rows", Dtype::F16, &[self.exact, dim])?;
                    let exact_rows: Vec<f32> =
                        half.chunks_exact(2).map(|b| burn::tensor::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect();
                    if let Some(i) = exact_rows.iter().position(|x| !x.is_finite()) {
                        return Err(bad(format!("exact row value {i} is {}", exact_rows[i])));
                    }
                    (items, exact_rows)
                } else {
                    absent(&st, &["pq.exact_items", "pq.exact_rows"])?;
                    (Vec::new(), Vec::new())
                };
                ItemTable::Pq(Pq::from_parts(codes, centroids, m, dim, items, exact_rows).map_err(bad)?)
            }
            other => return Err(bad(format!("unknown format `{other}` (this localrec reads int8 and pq)"))),
        };
        let extra = if self.extra > 0 {
            let extra = f32s(tensor(&st, "extra", Dtype::F32, &[self.extra, dim])?);
            if let Some(i) = extra.iter().position(|x| !x.is_finite()) {
                return Err(bad(format!("extra row value {i} is {}", extra[i])));
            }
            extra
        } else {
            absent(&st, &["extra"])?;
            Vec::new()
        };
        let expected = self.tensor_names();
        if let Some(stray) =
            st.names().into_iter().find(|n| n.starts_with(TABLE_TENSOR_PREFIX) && !expected.iter().any(|e| e == *n))
        {
            return Err(bad(format!("tensor `{stray}` does not belong to a {} table", self.format)));
        }
        Ok((table, extra))
    }

    /// Names of the tensors this spec has.
    fn tensor_names(&self) -> Vec<String> {
        let mut names: Vec<&str> = match self.format.as_str() {
            "int8" => vec!["int8.values", "int8.scales"],
            _ if self.exact > 0 => vec!["pq.codes", "pq.centroids", "pq.exact_items", "pq.exact_rows"],
            _ => vec!["pq.codes", "pq.centroids"],
        };
        if self.extra > 0 {
            names.push("extra");
        }
        names.into_iter().map(|n| format!("{TABLE_TENSOR_PREFIX}{n}")).collect()
    }
}

/// The bytes of tensor `item_table.<name>`, which must have `dtype` and `shape`.
fn tensor<'a>(st: &'a SafeTensors<'a>, name: &str, dtype: Dtype, shape: &[usize]) -> Result<&'a [u8]> {
    let full = format!("{TABLE_TENSOR_PREFIX}{name}");
    let t = st.tensor(&full).map_err(|_| bad(format!("tensor `{full}` is missing")))?;
    if t.dtype() != dtype || t.shape() != shape {
        return Err(bad(format!("tensor `{full}` is {:?} {:?}, expected {dtype:?} {shape:?}", t.dtype(), t.shape())));
    }
    Ok(t.data())
}

/// Errors when any of the tensors `item_table.<names>` is present.
fn absent(st: &SafeTensors<'_>, names: &[&str]) -> Result<()> {
    for n in names {
        let full = format!("{TABLE_TENSOR_PREFIX}{n}");
        if st.tensor(&full).is_ok() {
            return Err(bad(format!("tensor `{full}` is present but the manifest says there is none")));
        }
    }
    Ok(())
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}
