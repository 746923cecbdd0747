//! localrec
#![warn(missing_docs)]

pub mod data;
pub mod error;
pub mod eval;
pub mod events;
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;

pub use error::{Error, Result};
