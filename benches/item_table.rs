//! Item-table scoring speed: the scores of every item for one user vector (d = 64) at 100k and
//! 1M items, per table format, on the CPU, printed as a Markdown table.
//!
//! ```sh
//! cargo bench --bench item_table             # 100k and 1M items
//! cargo bench --bench item_table -- 100000   # only 100k
//! ```
//!
//! Rows: burn's matrix product on the CPU backend (`flex`: `users.matmul(table.transpose())`,
//! what the browser's CPU module did before the host scoring, and what the GPU path still
//! does), then the host scoring of [`localrec::item_table`] for f32, int8 and product
//! quantisation (16 sub-spaces; plain and with the 4096 "most popular" rows exact). The table is
//! random (values do not change the speed); p50 and p95 over 40 calls after 3 warm-up calls,
//! then the top-10 over the scores (`localrec::serve::top_k`). The bytes column is the table's
//! size in memory. Timings are wall-clock on this machine, with whatever else it is running.

use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use localrec::item_table::{Dense, Int8, ItemTable, Pq};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DIM: usize = 64;
const CALLS: usize = 40;

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![100_000, 1_000_000] } else { sizes };
    println!("| items | format | table MB | scores p50 ms | scores p95 ms | top-10 p50 ms |");
    println!("|---|---|---|---|---|---|");
    for n in sizes {
        let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
        let values: Vec<f32> = (0..(n + 1) * DIM).map(|_| rng.random_range(-0.1f32..0.1)).collect();
        let user: Vec<f32> = (0..DIM).map(|_| rng.random_range(-1.0f32..1.0)).collect();

        let device = Device::flex();
        let table = Tensor::<2>::from_data(TensorData::new(values.clone(), [n + 1, DIM]), &device);
        let u = Tensor::<2>::from_data(TensorData::new(user.clone(), [1, DIM]), &device);
        let mut scores = Vec::new();
        let (p50, p95) = time(|| {
            scores = u.clone().matmul(table.clone().transpose()).into_data().try_to_vec::<f32>().unwrap();
        });
        row(n, "f32, burn flex matmul", values.len() * 4, p50, p95, &scores);

        let popular: Vec<u32> = (1..=4096.min(n as u32)).collect();
        let tables = [
            ("f32, host", ItemTable::Dense(Dense::new(values.clone(), DIM).unwrap())),
            ("int8, host", ItemTable::Int8(Int8::quantize(&values, DIM).unwrap())),
            ("pq:16, host", ItemTable::Pq(Pq::train(&values, DIM, 16, &[], 1).unwrap())),
            ("pq:16 + 4096 exact, host", ItemTable::Pq(Pq::train(&values, DIM, 16, &popular, 1).unwrap())),
        ];
        for (name, t) in &tables {
            let mut out = vec![0.0; n + 1];
            let (p50, p95) = time(|| t.scores_into(&user, &mut out).unwrap());
            row(n, name, t.bytes(), p50, p95, &out);
        }
    }
}

/// p50 and p95 milliseconds of `f` over [`CALLS`] calls after 3 warm-up calls.
fn time(mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..3 {
        f();
    }
    let mut ms: Vec<f64> = (0..CALLS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[CALLS / 2], ms[CALLS * 95 / 100])
}

fn row(n: usize, name: &str, bytes: usize, p50: f64, p95: f64, scores: &[f32]) {
    let mut s = scores.to_vec();
    s[0] = f32::NEG_INFINITY;
    let (top, _) = time(|| {
        std::hint::black_box(localrec::serve::top_k(&s, 10, &|_| false, |_| Ok(true)).unwrap());
    });
    println!("| {n} | {name} | {:.1} | {p50:.2} | {p95:.2} | {top:.2} |", bytes as f64 / 1e6);
}
