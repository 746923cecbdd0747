//! Neural encoder speed: SASRec training throughput and single-user inference latency, per
//! backend, printed as Markdown tables.
//!
//! ```sh
//! cargo bench --bench neural                        # both parts, CPU (flex)
//! cargo bench --bench neural -- train --epochs 3    # only training, 3 epochs per run
//! cargo bench --bench neural -- train synthetic     # only training, only the synthetic data
//! cargo bench --bench neural -- infer               # only inference
//! cargo bench --bench neural --features wgpu        # also the wgpu backend (cuda: --features cuda)
//! ```
//!
//! **Training**: SASRec (d = 64, 2 blocks, 50 positions, batch 128) for a few epochs on Amazon
//! Beauty (from ../shared/data; skipped with a message when absent) and on a synthetic dataset,
//! with the full softmax and a 256-negative sampled softmax. Throughput is of the training part
//! of the epochs (forward, backward, optimiser step; no validation), averaged over the epochs.
//!
//! **Inference**: `score_batch` for one history of 50 items against a random item table of 10k,
//! 100k and 1M items (d = 64): p50 and p95 over repeated calls after 3 warm-up calls, then the
//! time to take the top 10 from the score row on the CPU. A backend whose device cannot be
//! created prints `unavailable: reason` in its row.
//!
//! Timings are wall-clock on this machine, with whatever else it is running.

use std::time::Instant;

use burn::tensor::Device;
use localrec::backend::{BACKENDS, built_in, device};
use localrec::data::loaders::{LoadOptions, load};
use localrec::data::{DataSpec, DatasetBuilder, Split, SplitSpec};
use localrec::events::{EventKind, SequenceOptions};
use localrec::model::Scorer;
use localrec::model::neural::{EncoderConfig, NeuralScorer};
use localrec::model::sasrec::SasRecConfig;
use localrec::train::{Loss, TrainConfig, train};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let epochs = args
        .iter()
        .position(|a| a == "--epochs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(2usize);
    let pick = |of: &[&str]| -> Vec<String> { args.iter().filter(|a| of.contains(&a.as_str())).cloned().collect() };
    let (parts, sets) = (pick(&["train", "infer"]), pick(&["beauty", "synthetic"]));
    let wants = |p: &str| parts.is_empty() || parts.iter().any(|x| x == p);
    println!("threads: {}, backends built in: {}", rayon::current_num_threads(), built().join(", "));
    let devices: Vec<(&str, Result<Device, String>)> = BACKENDS
        .iter()
        .map(|&b| {
            let d = if built_in(b) {
                device(b).map_err(|e| e.to_string())
            } else {
                Err(format!("not built (--features {b})"))
            };
            (b, d)
        })
        .collect();
    if wants("train") {
        train_table(&devices, epochs, &|d| sets.is_empty() || sets.iter().any(|x| x == d));
    }
    if wants("infer") {
        infer_table(&devices);
    }
}

fn built() -> Vec<&'static str> {
    BACKENDS.iter().copied().filter(|b| built_in(b)).collect()
}

/// 3,000 users over 10,000 items; each user walks 20–50 steps through a random item graph
/// (each item has 5 successors), so the data has sequential structure to learn.
fn synthetic() -> Split {
    let (users, items) = (3_000usize, 10_000usize);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let next: Vec<[usize; 5]> = (0..items).map(|_| std::array::from_fn(|_| rng.random_range(0..items))).collect();
    let mut b = DatasetBuilder::new("synthetic");
    for u in 0..users {
        let mut item = rng.random_range(0..items);
        for t in 0..rng.random_range(20..=50) {
            b.push(&format!("u{u}"), &format!("i{item}"), EventKind::View, t);
            item = next[item][rng.random_range(0..5)];
        }
    }
    let ds = b.build(&SequenceOptions::default()).expect("the synthetic data builds");
    Split::new(ds, SplitSpec::LeaveOneOut).expect("the synthetic data splits")
}

fn train_table(devices: &[(&str, Result<Device, String>)], epochs: usize, wanted: &dyn Fn(&str) -> bool) {
    let mut data: Vec<(String, Split)> = Vec::new();
    if wanted("beauty") {
        match load(&DataSpec::parse("beauty"), &LoadOptions::default()) {
            Ok(ds) => match Split::new(ds, SplitSpec::LeaveOneOut) {
                Ok(s) => data.push(("beauty".into(), s)),
                Err(e) => eprintln!("skipped beauty: {e}"),
            },
            Err(e) => eprintln!("skipped beauty (needs ../shared/data): {e}"),
        }
    }
    if wanted("synthetic") {
        data.push(("synthetic".into(), synthetic()));
    }
    println!();
    println!("Training, SASRec d=64, 2 blocks, max_len 50, batch 128, {epochs} epochs per row");
    println!();
    println!("| data | items | backend | loss | sequences | positions/epoch | s/epoch | sequences/s | positions/s |");
    println!("|---|---:|---|---|---:|---:|---:|---:|---:|");
    for (name, split) in &data {
        let items = split.dataset.num_items();
        for (backend, dev) in devices {
            let dev = match dev {
                Ok(d) => d,
                Err(e) => {
                    println!("| {name} | {items} | {backend} | | | | unavailable: {e} | | |");
                    continue;
                }
            };
            for loss in [Loss::FullSoftmax, Loss::SampledSoftmax { negatives: 256 }] {
                let model_cfg = SasRecConfig::new(items).with_max_len(50);
                let cfg = TrainConfig { epochs, eval_every: epochs, verbose: false, loss, ..TrainConfig::default() };
                match train(dev, split, &model_cfg, &cfg, &mut |_| {}) {
                    Ok(t) => {
                        let n = t.epochs.len().max(1) as f64;
                        let secs: f64 = t.epochs.iter().map(|e| e.seconds).sum::<f64>() / n;
                        let seqs = t.epochs.first().map_or(0, |e| e.sequences);
                        let pos = t.epochs.iter().map(|e| e.positions).sum::<usize>() as f64 / n;
                        println!(
                            "| {name} | {items} | {backend} | {loss} | {seqs} | {pos:.0} | {secs:.1} | {:.0} | {:.0} |",
                            seqs as f64 / secs.max(1e-9),
                            pos / secs.max(1e-9)
                        );
                    }
                    Err(e) => println!("| {name} | {items} | {backend} | {loss} | | | failed: {e} | | |"),
                }
            }
        }
    }
}

fn infer_table(devices: &[(&str, Result<Device, String>)]) {
    println!();
    println!("Single-user inference, SASRec d=64, 2 blocks, one history of 50 items, random item table");
    println!();
    println!("| backend | items | score_batch p50 ms | score_batch p95 ms | calls | top-10 p50 ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for (backend, dev) in devices {
        for items in [10_000usize, 100_000, 1_000_000] {
            let dev = match dev {
                Ok(d) => d,
                Err(e) => {
                    println!("| {backend} | {items} | unavailable: {e} | | | |");
                    continue;
                }
            };
            dev.seed(3);
            let model = match SasRecConfig::new(items).with_max_len(50).with_dropout(0.0).init(dev) {
                Ok(m) => m,
                Err(e) => {
                    println!("| {backend} | {items} | failed: {e} | | | |");
                    continue;
                }
            };
            let rec = NeuralScorer::on(dev, "sasrec", model).with_chunk(1);
            let history: Vec<u32> = (0..50).map(|_| rng.random_range(1..=items as u32)).collect();
            let mut row = vec![0f32; items + 1];
            let calls = if items >= 1_000_000 { 20 } else { 50 };
            let mut times = Vec::with_capacity(calls);
            let mut failed = None;
            for i in 0..3 + calls {
                let t = Instant::now();
                if let Err(e) = rec.score_batch(&[&history], &mut row) {
                    failed = Some(e);
                    break;
                }
                if i >= 3 {
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
            }
            if let Some(e) = failed {
                println!("| {backend} | {items} | failed: {e} | | | |");
                continue;
            }
            let mut top = Vec::with_capacity(calls);
            for _ in 0..calls {
                let t = Instant::now();
                let best = top10(&row);
                top.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(best.len(), 10);
            }
            println!(
                "| {backend} | {items} | {:.2} | {:.2} | {calls} | {:.2} |",
                quantile(&mut times, 0.5),
                quantile(&mut times, 0.95),
                quantile(&mut top, 0.5)
            );
        }
    }
}

/// The 10 best items (index ≥ 1) of a score row, best first: one pass with a small sorted buffer.
fn top10(row: &[f32]) -> Vec<(u32, f32)> {
    let mut best: Vec<(u32, f32)> = Vec::with_capacity(11);
    for (i, &s) in row.iter().enumerate().skip(1) {
        if best.len() < 10 || s > best[best.len() - 1].1 {
            let at = best.partition_point(|&(_, b)| b >= s);
            best.insert(at, (i as u32, s));
            best.truncate(10);
        }
    }
    best
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN)
}
