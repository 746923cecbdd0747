//! # localrec
//!
//! On-device sequential recommendation: behaviour events (views, cart adds, purchases,
//! searches) become item sequences; sequence models score the whole catalog for a shopper's
//! history; a full evaluation system measures them the way a careful paper would, and then
//! some (confidence intervals, paired tests, dynamic breakdowns).
//!
//! The same crate serves native training and evaluation (this library and the `localrec`
//! command-line tool, feature `cli`) and the browser (compiled to WebAssembly).
//!
//! | module | concept |
//! |---|---|
//! | [`events`] | the event schema and its validation, the item vocabulary (0 = padding), sequence building |
//! | [`data`] | loaders for public dataset formats, k-core filtering, statistics, splits |
//! | [`model`] | the [`model::Scorer`] trait and the models: exact baselines (`pop`, `markov`, `itemknn`) and the neural encoders, listed once in [`model::registry`] |
//! | `train` | training the neural encoders: batches, objectives, the epoch loop with selection on validation, checkpoints, bundle export (native only) |
//! | [`item_table`] | item tables on the host: f32, per-row int8, product quantisation; scoring every item for a user vector in plain Rust, natively and in the browser; their bundle encoding |
//! | [`bundle`] | the model bundle: manifest + weights in one file, for the browser |
//! | [`serve`] | serving a bundle to one shopper: history, scoring on CPU or WebGPU, top-k, rerank, explanations (the browser runtime's logic) |
//! | `backend` | choosing the compute backend by name (`cpu`, `wgpu`, `cuda`; native only) |
//! | [`eval`] | full-ranking evaluation: accuracy, beyond-accuracy, dynamic, sampled, CIs, paired tests, reports; training validates through it too |
//! | [`online`] | online evaluation with local differential privacy: a device's private report (randomized response) of what recommendations did, and the estimator of per-variant rates and A/B differences |
//! | [`error`] | the one error type, [`Error`] |
//! | `web` | the browser API (wasm32 only): a thin wasm-bindgen face over [`serve`] |
//!
//! ## Example
//!
//! Build a dataset from events, hold out each user's last item, fit the popularity baseline on
//! what training may see, and rank the whole catalog for every held-out case:
//!
//! ```
//! use localrec::data::{DatasetBuilder, Phase, Split, SplitSpec};
//! use localrec::eval::{self, EvalConfig, report::EvalReport};
//! use localrec::events::{EventKind, SequenceOptions};
//!
//! let mut b = DatasetBuilder::new("shop");
//! let log = [
//!     ("ann", ["tea", "cups", "kettle"]),
//!     ("bob", ["tea", "kettle", "cups"]),
//!     ("cat", ["cups", "tea", "kettle"]),
//! ];
//! for (user, items) in log {
//!     for (t, item) in items.iter().enumerate() {
//!         b.push(user, item, EventKind::View, t as i64 * 1000);
//!     }
//! }
//! let split = Split::new(b.build(&SequenceOptions::default())?, SplitSpec::LeaveOneOut)?;
//! let pop = localrec::model::baseline("pop", &split.train(Phase::Test))?;
//! let cfg = EvalConfig { ks: vec![1, 3], bootstrap: 0, ..EvalConfig::default() };
//! let run = eval::run(pop.as_ref(), &split, Phase::Test, &cfg, &|_, _| {})?;
//! let report = EvalReport::build(&run, &split, Phase::Test, &cfg, 0.0);
//! assert_eq!(report.cases, 3);
//! // The history is masked, so each user has exactly one candidate left: a hit at rank 1.
//! assert_eq!(report.metrics["hr@1"], 1.0);
//! # Ok::<(), localrec::Error>(())
//! ```
#![warn(missing_docs)]

#[cfg(not(target_arch = "wasm32"))]
pub mod backend;
pub mod bundle;
pub mod data;
pub mod error;
pub mod eval;
pub mod events;
pub mod item_table;
pub mod model;
pub mod online;
pub mod serve;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;
#[cfg(target_arch = "wasm32")]
mod web;

pub use error::{Error, Result};

/// Test support: burn's device random generator is global, so tests that seed it (model
/// initialisation, dropout, training) hold this lock to stay deterministic when the test
/// harness runs them in parallel.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::{Mutex, MutexGuard};

    static RNG: Mutex<()> = Mutex::new(());

    /// Exclusive use of the device RNG for the rest of the test (a failed test does not poison it).
    pub(crate) fn rng_lock() -> MutexGuard<'static, ()> {
        RNG.lock().unwrap_or_else(|e| e.into_inner())
    }
}
