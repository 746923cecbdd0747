//! Recall of the exact top-10 by each item-table format, on a trained model's table.
//!
//! ```sh
//! cargo run --release --example table_recall -- MODEL.lrec DATA [--split SPLIT] [--queries N] [--exact N]
//! ```
//!
//! `MODEL.lrec` is a bundle with its f32 (or f16) table, `DATA` its training data (a path or a
//! short name, as `localrec train --data` takes it) and `--split` its split (default `loo`).
//! The queries are the histories of the test cases (the first `--queries`, default 1000). For
//! each format (int8, pq:16, pq:16 with the `--exact` most popular items exact, default 4096,
//! pq:32) two recalls of the f32 model's top-10 (over the whole catalogue, nothing excluded) are
//! printed, as a Markdown table:
//!
//! - **table**: the f32 model's user vector scored against the format's table: the error of
//!   the table alone;
//! - **served**: the format's bundle as it is served: the history's input embeddings are the
//!   decoded rows too ([`localrec::model::hosted`]).

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use localrec::bundle::Bundle;
use localrec::data::loaders::{LoadOptions, load};
use localrec::data::{DataSpec, Phase, Split, SplitSpec};
use localrec::item_table::TableFormat;
use localrec::model::hosted_from_bundle;
use localrec::serve::{Ranked, block_on, top_k};
use localrec::{Error, Result};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let (Some(model), Some(data)) = (args.first(), args.get(1)) else {
        return Err(Error::invalid(
            "arguments",
            "usage: table_recall MODEL.lrec DATA [--split S] [--queries N] [--exact N]",
        ));
    };
    let queries: usize = opt("--queries").and_then(|v| v.parse().ok()).unwrap_or(1000);
    let exact: usize = opt("--exact").and_then(|v| v.parse().ok()).unwrap_or(4096);
    let split: SplitSpec = opt("--split").unwrap_or_else(|| "loo".into()).parse()?;
    let bundle = Bundle::load_file(model)?;
    let opts = LoadOptions { shared_dir: Some(PathBuf::from("../shared/data")), ..LoadOptions::default() };
    let split = Split::new(load(&data.parse::<DataSpec>()?, &opts)?, split)?;
    let cases = split.cases(Phase::Test);
    let histories: Vec<&[u32]> = cases.iter().take(queries).map(|c| c.history(&split.dataset)).collect();
    let device = Device::flex();
    let exact_model = hosted_from_bundle(&bundle, &device)?;
    let (users, _) = block_on(exact_model.user_vectors(&histories, None, &device, false))?;
    let d = exact_model.table().dim();
    let top10 = |scores: &[f32]| -> Result<Vec<u32>> {
        let mut s = scores.to_vec();
        s[0] = f32::NEG_INFINITY;
        Ok(top_k(&s, 10, &|_| false, |_| Ok(true))?.iter().map(|r: &Ranked| r.index).collect())
    };
    let truth: Vec<Vec<u32>> =
        users.chunks_exact(d).map(|u| top10(&exact_model.table().scores(u)?)).collect::<Result<_>>()?;
    println!(
        "{} items, {} queries (test histories of {})\n",
        exact_model.num_items(),
        histories.len(),
        split.dataset.name
    );
    println!("| format | table MB | recall@10, table | recall@10, served | encode s |");
    println!("|---|---|---|---|---|");
    let formats =
        [(TableFormat::Int8, 0), (TableFormat::Pq(16), 0), (TableFormat::Pq(16), exact), (TableFormat::Pq(32), 0)];
    for (format, exact) in formats {
        let t = Instant::now();
        let b = bundle.with_item_format(format, exact, 1)?;
        let encode_s = t.elapsed().as_secs_f64();
        let served = hosted_from_bundle(&b, &device)?;
        let recall = |tops: &[Vec<u32>]| {
            let hits: usize = tops.iter().zip(&truth).map(|(a, b)| a.iter().filter(|i| b.contains(i)).count()).sum();
            hits as f64 / (10 * truth.len()) as f64
        };
        let table: Vec<Vec<u32>> =
            users.chunks_exact(d).map(|u| top10(&served.table().scores(u)?)).collect::<Result<_>>()?;
        let mut end: Vec<Vec<u32>> = Vec::with_capacity(histories.len());
        for part in histories.chunks(16) {
            let scores = block_on(served.scores(part, None, &device, false))?;
            for row in scores.chunks_exact(served.num_items() + 1) {
                end.push(top10(row)?);
            }
        }
        let name = if exact > 0 { format!("{format} + {exact} exact") } else { format.to_string() };
        println!(
            "| {name} | {:.1} | {:.4} | {:.4} | {encode_s:.1} |",
            served.table().bytes() as f64 / 1e6,
            recall(&table),
            recall(&end)
        );
    }
    Ok(())
}
