//! Item side information in the model: category embeddings fused into the item representation
//! ([`CategoryFusion`]), for data whose items have categories (ml-100k genres, Amazon
//! departments).
//!
//! ```text
//! e_i = E_id[i] + g ⊙ mean_{c ∈ cats(i)} E_cat[c]        g: learned, one weight per dimension
//! ```
//!
//! The fused `e_i` is both the input embedding and the output (scoring) row of item `i`, so an
//! item seen rarely in training borrows the representation its categories learned from every
//! other item of those categories. An item without categories keeps its id embedding alone.
//! The category lists are not weights: they come from the bundle's catalogue
//! ([`crate::bundle::Manifest::categories`]) when a model is loaded, and from the dataset when
//! it is trained, so native and browser serving build the same table.

use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, Initializer};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::data::ItemMeta;
use crate::error::{Error, Result};

/// Most categories one item may have (a longer list is an input error).
pub const MAX_CATEGORIES_PER_ITEM: usize = 64;

/// Every item's category indices, indexed like the item table (row 0, padding, has none).
/// Part of an encoder config at run time but never serialised: a bundle's configs record only
/// how many categories there are, the lists are the catalogue's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CategoryLists(pub Vec<Vec<u32>>);

impl Serialize for CategoryLists {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_none()
    }
}

impl<'de> Deserialize<'de> for CategoryLists {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(CategoryLists::default())
    }
}

impl CategoryLists {
    /// The lists of a dataset's `num_items` items ([`ItemMeta::categories_of`]; an item without
    /// metadata has none).
    pub fn of_items(meta: &ItemMeta, num_items: usize) -> CategoryLists {
        CategoryLists((0..=num_items).map(|i| meta.categories_of(i as u32).to_vec()).collect())
    }

    /// The lists of a catalogue given per item (`per_item[k]` is item `k + 1`'s), with the
    /// padding row added in front.
    pub fn from_catalogue(per_item: &[Vec<u32>]) -> CategoryLists {
        CategoryLists(std::iter::once(Vec::new()).chain(per_item.iter().cloned()).collect())
    }

    /// Checks that there is one list per table row (`num_items + 1`) and that every index is
    /// below `n_categories`; names the first problem under `field`.
    pub fn validate(&self, field: &str, num_items: usize, n_categories: usize) -> Result<()> {
        if self.0.len() != num_items + 1 {
            return Err(Error::invalid(
                field,
                format!(
                    "{} category lists for {num_items} items (the model was trained with categories)",
                    self.0.len().saturating_sub(1)
                ),
            ));
        }
        for (i, cats) in self.0.iter().enumerate() {
            if cats.len() > MAX_CATEGORIES_PER_ITEM {
                return Err(Error::invalid(
                    field,
                    format!("item {i} has {} categories, more than {MAX_CATEGORIES_PER_ITEM}", cats.len()),
                ));
            }
            if let Some(c) = cats.iter().find(|&&c| c as usize >= n_categories) {
                return Err(Error::invalid(field, format!("item {i} has category {c}, but there are {n_categories}")));
            }
        }
        Ok(())
    }
}

/// The category part of the item representation. Built by [`CategoryFusion::new`].
///
/// # Shapes
/// - category table: `[n_categories, d]`; gate: `[d]`
/// - [`CategoryFusion::fuse`]: id table `[num_items + 1, d]` → fused table of the same shape
#[derive(Module, Debug)]
pub struct CategoryFusion {
    emb: Embedding,
    gate: Param<Tensor<1>>,
    /// `[num_items + 1, K]` category indices, `K` the longest list (unused slots 0).
    index: Tensor<2, Int>,
    /// `[num_items + 1, K, 1]`: `1 / |cats(i)|` in used slots, 0 elsewhere.
    weight: Tensor<3>,
}

impl CategoryFusion {
    /// A fusion of `n_categories` category embeddings of width `d` (`N(0, std)`, gate 1) for
    /// `lists` (validated beforehand, [`CategoryLists::validate`]).
    pub fn new(lists: &CategoryLists, n_categories: usize, d: usize, std: f64, device: &Device) -> CategoryFusion {
        let rows = lists.0.len();
        let k = lists.0.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let mut index = vec![0i64; rows * k];
        let mut weight = vec![0f32; rows * k];
        for (i, cats) in lists.0.iter().enumerate() {
            for (j, &c) in cats.iter().enumerate() {
                index[i * k + j] = c as i64;
                weight[i * k + j] = 1.0 / cats.len() as f32;
            }
        }
        CategoryFusion {
            emb: EmbeddingConfig::new(n_categories.max(1), d)
                .with_initializer(Initializer::Normal { mean: 0.0, std })
                .init(device),
            gate: Initializer::Ones.init([d], device),
            index: Tensor::from_data(TensorData::new(index, [rows, k]), device),
            weight: Tensor::from_data(TensorData::new(weight, [rows, k, 1]), device),
        }
    }

    /// The fused item table: `ids + gate ⊙ (mean category embedding)` per row.
    pub fn fuse(&self, ids: Tensor<2>) -> Tensor<2> {
        ids + self.gated(self.index.clone(), self.weight.clone())
    }

    /// The category part of the fused rows of `items` alone (what [`fuse`](Self::fuse) adds
    /// to their id rows), without forming the whole table.
    ///
    /// # Shapes
    /// `items`: `[N]` item indices → `[N, d]`
    pub fn rows(&self, items: Tensor<1, Int>) -> Tensor<2> {
        self.gated(self.index.clone().select(0, items.clone()), self.weight.clone().select(0, items))
    }

    /// `gate ⊙ Σ_k weight[r, k] · E_cat[index[r, k]]` for every row `r` of `index`.
    fn gated(&self, index: Tensor<2, Int>, weight: Tensor<3>) -> Tensor<2> {
        let [rows, _] = index.dims();
        let d = self.gate.dims()[0];
        let cats = (self.emb.forward(index) * weight).sum_dim(1).reshape([rows, d]);
        cats * self.gate.val().reshape([1, d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::neural::contract::read;

    #[test]
    fn fused_rows_add_the_gated_mean_of_their_categories() {
        let _rng = crate::testing::rng_lock();
        let device = Device::flex();
        let lists = CategoryLists::from_catalogue(&[vec![0], vec![0, 2], vec![]]);
        assert_eq!(lists.0, vec![vec![], vec![0], vec![0, 2], vec![]]);
        let f = CategoryFusion::new(&lists, 3, 2, 0.02, &device);
        let cat = read(f.emb.weight.val()); // [3, 2]
        let id_rows = vec![0f32, 0., 1., 2., 3., 4., 5., 6.];
        let ids = Tensor::<2>::from_data(TensorData::new(id_rows.clone(), [4, 2]), &device);
        let out = read(f.fuse(ids));
        let expect = [
            0.0,
            0.0, // padding: no categories
            1.0 + cat[0],
            2.0 + cat[1],
            3.0 + (cat[0] + cat[4]) / 2.0,
            4.0 + (cat[1] + cat[5]) / 2.0,
            5.0,
            6.0, // no categories: the id row alone
        ];
        for (a, b) in out.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6, "{out:?} vs {expect:?}");
        }
        // The rows of some items: the category parts of those rows of the fused table.
        let picked = read(f.rows(Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 0, 3], [3]), &device)));
        let part = |row: usize| [expect[2 * row] - id_rows[2 * row], expect[2 * row + 1] - id_rows[2 * row + 1]];
        let want: Vec<f32> = [2, 0, 3].iter().flat_map(|&r| part(r)).collect();
        for (a, b) in picked.iter().zip(&want) {
            assert!((a - b).abs() < 1e-6, "{picked:?} vs {want:?}");
        }
    }

    #[test]
    fn lists_are_checked_and_never_serialised() {
        let lists = CategoryLists::from_catalogue(&[vec![1], vec![]]);
        assert!(lists.validate("c", 2, 2).is_ok());
        assert!(lists.validate("c", 3, 2).unwrap_err().to_string().contains("2 category lists for 3 items"));
        assert!(lists.validate("c", 2, 1).unwrap_err().to_string().contains("category 1, but there are 1"));
        assert_eq!(serde_json::to_string(&lists).unwrap(), "null");
        let back: CategoryLists = serde_json::from_str("[[1, 2]]").unwrap();
        assert_eq!(back, CategoryLists::default());
    }
}
