//! Trains SASRec on Amazon Beauty (S3Rec 5-core, leave-one-out) on the CPU and reports the
//! time per epoch and the validation / test accuracy.
//!
//! ```sh
//! nice -n 19 cargo run --release --example sasrec_beauty -- \
//!     [PATH] [minutes=25] [epochs=200] [batch=128] [lr=0.001] [dropout=0.5] [heads=1] \
//!     [blocks=2] [d=64] [dff=64] [max_len=50] [patience=10] [warmup=100] [wd=0] [seed=42] \
//!     [eval_every=1] [bucket=true] [json=FILE]
//! ```
//!
//! `PATH` defaults to `/work/shared/data/amazon-s3rec-5core/Beauty.txt.xz`: one user per line,
//! `user item item …` in time order.

use std::io::{BufRead, BufReader};
use std::time::Instant;

use localrec::data::{Dataset, DatasetBuilder, Split, SplitSpec};
use localrec::events::{EventKind, SequenceOptions};
use localrec::model::sasrec::SasRecConfig;
use localrec::train::{TrainConfig, train_sasrec};

fn load(path: &str) -> Result<Dataset, Box<dyn std::error::Error>> {
    let file = std::fs::File::open(path)?;
    let reader: Box<dyn BufRead> = if path.ends_with(".xz") {
        Box::new(BufReader::new(liblzma::read::XzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut b = DatasetBuilder::new("beauty");
    b.has_timestamps = false;
    for line in reader.lines() {
        let line = line?;
        let mut parts = line.split_whitespace();
        let Some(user) = parts.next() else { continue };
        for (p, item) in parts.enumerate() {
            b.push(user, item, EventKind::View, p as i64);
        }
    }
    Ok(b.build(&SequenceOptions::default())?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut path = "/work/shared/data/amazon-s3rec-5core/Beauty.txt.xz".to_string();
    let mut kv = std::collections::HashMap::new();
    for a in std::env::args().skip(1) {
        match a.split_once('=') {
            Some((k, v)) => {
                kv.insert(k.to_string(), v.to_string());
            }
            None => path = a,
        }
    }
    let get = |k: &str, d: &str| kv.get(k).cloned().unwrap_or_else(|| d.to_string());
    let num = |k: &str, d: &str| -> f64 { get(k, d).parse().unwrap_or_else(|_| panic!("{k} must be a number")) };

    let t = Instant::now();
    let ds = load(&path)?;
    let stats = ds.stats();
    eprintln!(
        "{path}: {} users, {} items, {} interactions (mean length {:.2}) loaded in {:.1} s",
        stats.users,
        stats.items,
        stats.interactions,
        stats.mean_len,
        t.elapsed().as_secs_f64()
    );
    let split = Split::new(ds, SplitSpec::LeaveOneOut)?;
    let n = split.dataset.num_items();

    let max_len = num("max_len", "50") as usize;
    let d = num("d", "64") as usize;
    let model_cfg = SasRecConfig::new(n)
        .with_d_model(d)
        .with_n_blocks(num("blocks", "2") as usize)
        .with_n_heads(num("heads", "1") as usize)
        .with_d_ff(Some(num("dff", &d.to_string()) as usize))
        .with_max_len(max_len)
        .with_dropout(num("dropout", "0.5"));
    let minutes = num("minutes", "25");
    let cfg = TrainConfig {
        epochs: num("epochs", "200") as usize,
        batch_size: num("batch", "128") as usize,
        lr: num("lr", "0.001"),
        weight_decay: num("wd", "0") as f32,
        warmup_steps: num("warmup", "100") as usize,
        max_len,
        patience: num("patience", "10") as usize,
        seed: num("seed", "42") as u64,
        eval_every: num("eval_every", "1") as usize,
        bucket_by_length: get("bucket", "true") == "true",
        max_seconds: (minutes > 0.0).then_some(minutes * 60.0),
        verbose: true,
        ..TrainConfig::default()
    };
    eprintln!("model {model_cfg:?}");
    eprintln!("train {cfg:?}");
    let t = Instant::now();
    let trained = train_sasrec(&split, &model_cfg, &cfg)?;
    let total = t.elapsed().as_secs_f64();

    println!("| epoch | loss | train s | seq/s | fwd s | bwd s | step s | eval s | val NDCG@10 | val HR@10 |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for e in &trained.epochs {
        let (nd, hr) =
            e.valid.map_or((String::new(), String::new()), |v| (format!("{:.4}", v.ndcg10), format!("{:.4}", v.hr10)));
        println!(
            "| {} | {:.4} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {nd} | {hr} |",
            e.epoch,
            e.loss,
            e.seconds,
            e.sequences as f64 / e.seconds,
            e.forward_s,
            e.backward_s,
            e.step_s,
            e.eval_s
        );
    }
    println!(
        "\nbest epoch {}: valid NDCG@10 {:.4} HR@10 {:.4}; test NDCG@10 {:.4} HR@10 {:.4} HR@1 {:.4} ({} cases); total {:.0} s",
        trained.best_epoch,
        trained.valid.ndcg10,
        trained.valid.hr10,
        trained.test.ndcg10,
        trained.test.hr10,
        trained.test.hr1,
        trained.test.cases,
        total
    );
    if let Some(f) = kv.get("json") {
        let v = serde_json::json!({
            "best_epoch": trained.best_epoch,
            "valid": trained.valid,
            "test": trained.test,
            "epochs": trained.epochs,
            "seconds": total,
        });
        std::fs::write(f, serde_json::to_string_pretty(&v)?)?;
    }
    Ok(())
}
