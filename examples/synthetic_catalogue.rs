//! Writes a synthetic event log over a large catalogue (default a million items), for training
//! and serving at that size (`localrec train --data FILE`): CSV `user_id,item_id,timestamp`.
//!
//! ```sh
//! cargo run --release --example synthetic_catalogue -- data/synthetic-1m.csv            # 1M items, 100k users
//! cargo run --release --example synthetic_catalogue -- out.csv --items 100000 --users 10000
//! ```
//!
//! Items fall into topics of 50 (`p0`..`p49` the first, …). Each user has a home topic (users
//! spread evenly over the topics) and a history of 20 events: 10 "anchor" items of the topic
//! (together the users of a topic cover all its items, so every item occurs) and 10 drawn from
//! the topic with Zipf-like popularity (item `k` of a topic weighs `1 / (k + 1)`), in random
//! order. So the next item is predictable from the history (same topic), popularity is skewed
//! within topics, and the catalogue is exactly `--items` items. Timestamps (seconds): each user
//! starts at a random time in a year and acts every 1–600 s, so a temporal split
//! (`--split temporal:0.999:0.998`) holds out the last events of the year. Deterministic for a
//! `--seed`.

use std::io::Write;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const TOPIC: usize = 50;
const ANCHORS: usize = 10;
const DRAWS: usize = 10;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opt = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let Some(out) = args.first().filter(|a| !a.starts_with("--")) else {
        eprintln!("usage: synthetic_catalogue OUT.csv [--items N] [--users N] [--seed S]");
        std::process::exit(2);
    };
    let items = opt("--items", 1_000_000) as usize;
    let users = opt("--users", (items / ANCHORS) as u64) as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(opt("--seed", 1));
    let topics = items.div_ceil(TOPIC);
    // Zipf-like weights of the items of a topic, as a cumulative table.
    let cum: Vec<f64> = (0..TOPIC)
        .scan(0.0, |s, k| {
            *s += 1.0 / (k + 1) as f64;
            Some(*s)
        })
        .collect();
    let mut w = std::io::BufWriter::new(std::fs::File::create(out)?);
    writeln!(w, "user_id,item_id,timestamp")?;
    let mut rows = 0usize;
    for u in 0..users {
        let topic = u * topics / users;
        let first = topic * TOPIC;
        let size = TOPIC.min(items - first);
        // The users of a topic share its anchors out between them.
        let rank = u - (topic * users).div_ceil(topics);
        let mut seq: Vec<usize> = (0..ANCHORS).map(|a| first + (rank * ANCHORS + a) % size).collect();
        for _ in 0..DRAWS {
            let r = rng.random_range(0.0..cum[size - 1]);
            seq.push(first + cum.iter().position(|&c| r < c).unwrap_or(size - 1));
        }
        seq.shuffle(&mut rng);
        let mut t: u64 = rng.random_range(1_600_000_000..1_631_536_000);
        for item in seq {
            t += rng.random_range(1..=600);
            writeln!(w, "u{u},p{item},{t}")?;
            rows += 1;
        }
    }
    w.flush()?;
    eprintln!("{out}: {rows} events, {users} users, {items} items in {topics} topics");
    Ok(())
}
