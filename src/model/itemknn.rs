//! TODO (stub so the crate compiles)
use crate::data::split::TrainSet;
use crate::error::Result;
use crate::model::Recommender;

/// TODO
pub struct ItemKnn;
impl ItemKnn {
    /// TODO
    pub fn fit(_t: &TrainSet<'_>, _c: &ItemKnnConfig) -> Self {
        todo!()
    }
}
impl Recommender for ItemKnn {
    fn name(&self) -> &str {
        todo!()
    }
    fn num_items(&self) -> usize {
        todo!()
    }
    fn score_batch(&self, _h: &[&[u32]], _o: &mut [f32]) -> Result<()> {
        todo!()
    }
}
/// TODO
#[derive(Default)]
pub struct ItemKnnConfig;
