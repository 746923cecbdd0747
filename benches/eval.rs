//! Evaluation speed: load, fit and full-ranking evaluation of each baseline on the public
//! datasets, printed as a Markdown table.
//!
//! ```sh
//! cargo bench --bench eval                 # every dataset found
//! cargo bench --bench eval -- beauty toys  # only these
//! ```
//!
//! Datasets come from ../shared/data (skipped with a message when absent) and `ml-100k` from
//! the data folder (`localrec data fetch ml-100k`). Timings are wall-clock seconds of one run
//! on this machine; "report" is every metric plus 1,000 bootstrap resamples.

use std::time::Instant;

use localrec::data::format::{NAMED_DATASETS, Source, default_data_dir, find_shared_dir};
use localrec::data::loaders::{LoadOptions, load};
use localrec::data::{DataSpec, Phase, Split, SplitSpec};
use localrec::eval::report::EvalReport;
use localrec::eval::{self, EvalConfig};
use localrec::model;

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let shared = find_shared_dir();
    let data_dir = default_data_dir();
    let names = ["ml-100k", "beauty", "sports", "toys", "video-games"];
    println!("threads: {}", rayon::current_num_threads());
    println!();
    println!("| data | users | items | model | load s | fit s | eval s | cases/s | report s | ndcg@10 |");
    println!("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|");
    for name in names {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        let available = NAMED_DATASETS.iter().find(|d| d.name == name).is_some_and(|d| match &d.source {
            Source::Fetched { dir } => data_dir.join(dir).is_dir(),
            Source::Shared { path } => shared.as_ref().is_some_and(|s| s.join(path).is_file()),
            Source::Unavailable { .. } => false,
        });
        if !available {
            eprintln!("skipped {name}: not found (../shared/data, or `localrec data fetch ml-100k`)");
            continue;
        }
        let t = Instant::now();
        let ds = match load(&DataSpec::parse(name), &LoadOptions::default()) {
            Ok(ds) => ds,
            Err(e) => {
                eprintln!("skipped {name}: {e}");
                continue;
            }
        };
        let load_s = t.elapsed().as_secs_f64();
        let (users, items) = (ds.num_users(), ds.num_items());
        let split = match Split::new(ds, SplitSpec::LeaveOneOut) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipped {name}: {e}");
                continue;
            }
        };
        let cfg = EvalConfig::default();
        for m in model::BASELINES {
            let t = Instant::now();
            let Ok(rec) = model::baseline(m, &split.train(Phase::Test)) else { continue };
            let fit_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let Ok(run) = eval::run(rec.as_ref(), &split, Phase::Test, &cfg, &|_, _| {}) else { continue };
            let eval_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let report = EvalReport::build(&run, &split, Phase::Test, &cfg, fit_s);
            let report_s = t.elapsed().as_secs_f64();
            println!(
                "| {name} | {users} | {items} | {m} | {load_s:.2} | {fit_s:.3} | {eval_s:.2} | {:.0} | {report_s:.2} | {:.4} |",
                run.cases.len() as f64 / eval_s.max(1e-9),
                report.metrics.get("ndcg@10").copied().unwrap_or(f64::NAN)
            );
        }
    }
}
