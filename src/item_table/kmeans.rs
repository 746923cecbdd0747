//! k-means (k-means++ seeding, then Lloyd's algorithm), which learns the product-quantisation centroids: native only.

use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Points the centroids are learned on: a larger table is sampled (every row is still encoded).
const MAX_TRAINING_POINTS: usize = 65_536;

/// Lloyd iterations.
const ITERATIONS: usize = 20;

/// `k` centroids of width `dim` (row-major `k × dim`) for `points` (row-major, width `dim`,
/// at least one): seeded by k-means++ ([`seeds`]), then
/// [`ITERATIONS`] rounds of assigning each point to its nearest centroid and moving each
/// centroid to the mean of its points; a centroid left without points takes a random point.
pub(crate) fn kmeans(points: &[f32], dim: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n_all = points.len() / dim;
    let train: Vec<f32> = if n_all > MAX_TRAINING_POINTS {
        let mut idx = sample(&mut rng, n_all, MAX_TRAINING_POINTS).into_vec();
        idx.sort_unstable();
        idx.iter().flat_map(|&i| points[i * dim..(i + 1) * dim].iter().copied()).collect()
    } else {
        points.to_vec()
    };
    let n = train.len() / dim;
    let mut centroids = seeds(&train, dim, k, &mut rng);
    let mut assign = vec![0usize; n];
    for _ in 0..ITERATIONS {
        assign.par_iter_mut().zip(train.par_chunks(dim)).for_each(|(a, p)| *a = nearest(p, &centroids, dim));
        let mut sums = vec![0.0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (&a, p) in assign.iter().zip(train.chunks_exact(dim)) {
            counts[a] += 1;
            for (s, &x) in sums[a * dim..(a + 1) * dim].iter_mut().zip(p) {
                *s += x as f64;
            }
        }
        for j in 0..k {
            let c = &mut centroids[j * dim..(j + 1) * dim];
            if counts[j] == 0 {
                let p = rng.random_range(0..n);
                c.copy_from_slice(&train[p * dim..(p + 1) * dim]);
            } else {
                for (v, s) in c.iter_mut().zip(&sums[j * dim..(j + 1) * dim]) {
                    *v = (s / counts[j] as f64) as f32;
                }
            }
        }
    }
    centroids
}

/// k-means++ seeding: the first centroid a random point, each next one a point drawn with
/// probability proportional to its squared distance to the nearest centroid so far (so the
/// seeds spread over the clusters); when every point is already a centroid, the points repeat.
fn seeds(points: &[f32], dim: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let n = points.len() / dim;
    let point = |i: usize| &points[i * dim..(i + 1) * dim];
    let mut centroids = Vec::with_capacity(k * dim);
    centroids.extend_from_slice(point(rng.random_range(0..n)));
    let mut dist: Vec<f32> = (0..n).map(|i| sq_dist(point(i), &centroids[..dim])).collect();
    for j in 1..k {
        let total: f64 = dist.iter().map(|&d| d as f64).sum();
        let pick = if total > 0.0 {
            let mut r = rng.random_range(0.0..total);
            dist.iter()
                .position(|&d| {
                    r -= d as f64;
                    r < 0.0
                })
                .unwrap_or(n - 1)
        } else {
            j % n
        };
        let c = point(pick).to_vec();
        dist.par_iter_mut().enumerate().for_each(|(i, d)| *d = d.min(sq_dist(&points[i * dim..(i + 1) * dim], &c)));
        centroids.extend_from_slice(&c);
    }
    centroids
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the centroid nearest to `p` (squared Euclidean distance; ties to the lower index).
pub(crate) fn nearest(p: &[f32], centroids: &[f32], dim: usize) -> usize {
    let mut best = (f32::INFINITY, 0);
    for (j, c) in centroids.chunks_exact(dim).enumerate() {
        let d = sq_dist(p, c);
        if d < best.0 {
            best = (d, j);
        }
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_separated_clusters() {
        // Three tight clusters in 2-d: with k = 3 every centroid lands on one.
        let centres = [(0.0f32, 0.0f32), (10.0, 0.0), (0.0, 10.0)];
        let points: Vec<f32> = (0..300)
            .flat_map(|i| {
                let (x, y) = centres[i % 3];
                [x + (i as f32 * 0.013).sin() * 0.1, y]
            })
            .collect();
        let c = kmeans(&points, 2, 3, 1);
        for (x, y) in centres {
            let j = nearest(&[x, y], &c, 2);
            assert!((c[2 * j] - x).abs() < 0.2 && (c[2 * j + 1] - y).abs() < 0.2, "{c:?}");
        }
        assert_eq!(nearest(&[9.0, 1.0], &c, 2), nearest(&[10.0, 0.0], &c, 2));
        // Fewer points than centroids: every centroid is a point.
        let few = kmeans(&[1.0, 2.0, 3.0, 4.0], 2, 4, 1);
        assert!(few.chunks_exact(2).all(|c| c == [1.0, 2.0] || c == [3.0, 4.0]));
    }
}
