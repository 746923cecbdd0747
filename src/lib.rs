//! localrec
#![warn(missing_docs)]

pub mod data;
pub mod error;
pub mod eval;
pub mod events;
pub mod model;

pub use error::{Error, Result};
