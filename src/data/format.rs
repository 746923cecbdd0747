//! TODO
/// TODO
pub enum DataFormat {}
/// TODO
pub struct DataSpec;
