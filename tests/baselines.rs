//! Integration tests of the exact baselines (`pop`, `markov`, `itemknn`).
//!
//! 1. No leakage: fitting on a phase's [`TrainSet`] gives exactly the scores of fitting on a
//!    copy of the data from which every held-out target of that phase (and, for validation,
//!    every test target too) was physically deleted.
//! 2. On the shared Amazon Beauty data (when present), MostPopular's test-phase counts equal an
//!    independent count of every item of every user except the last.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use localrec::data::split::TrainSet;
use localrec::data::{Dataset, DatasetBuilder, Phase, Split, SplitSpec};
use localrec::events::{EventKind, SequenceOptions};
use localrec::model::pop::MostPopular;
use localrec::model::{BASELINES, Scorer, baseline};

/// Users with different lengths (1 to 7), repeats, and real timestamps (minutes).
fn dataset() -> Dataset {
    let users: [(&str, &[&str]); 7] = [
        ("u1", &["a", "b", "c", "d", "e"]),
        ("u2", &["b", "c", "b", "f"]),
        ("u3", &["a", "c", "d"]),
        ("u4", &["e", "a", "b", "c", "g", "h", "g"]),
        ("u5", &["c", "d"]),
        ("u6", &["h"]),
        ("u7", &["f", "e", "a", "d", "i", "b"]),
    ];
    let mut b = DatasetBuilder::new("leak");
    for (k, (u, items)) in users.iter().enumerate() {
        for (p, i) in items.iter().enumerate() {
            // Users start at different times, so temporal cuts fall at different positions.
            b.push(u, i, EventKind::View, (k as i64 * 7 + p as i64 * 11) * 60_000);
        }
    }
    b.build(&SequenceOptions::default()).unwrap()
}

/// A copy of `ds` in which sequence `s` keeps only its first `keep[s]` interactions: the rest
/// is deleted, not merely hidden.
fn truncated(ds: &Dataset, keep: &[usize]) -> Dataset {
    let mut out = ds.clone();
    for (s, k) in out.seqs.iter_mut().zip(keep) {
        s.items.truncate(*k);
        s.kinds.truncate(*k);
        s.ts.truncate(*k);
    }
    out
}

/// All of `ds` as training data.
fn everything(ds: &Dataset) -> TrainSet<'_> {
    TrainSet { dataset: ds, ends: ds.seqs.iter().map(|s| s.len()).collect() }
}

fn scores(model: &dyn Scorer, histories: &[&[u32]]) -> Vec<f32> {
    let mut out = vec![f32::NAN; histories.len() * (model.num_items() + 1)];
    model.score_batch(histories, &mut out).unwrap();
    out
}

#[test]
fn training_sees_no_held_out_interaction() {
    let specs: [SplitSpec; 3] =
        [SplitSpec::LeaveOneOut, "temporal:0.8:0.6".parse().unwrap(), "session:20m:0.8:0.6".parse().unwrap()];
    for spec in specs {
        let split = Split::new(dataset(), spec).unwrap();
        let ds = &split.dataset;
        for phase in [Phase::Valid, Phase::Test] {
            let cases = split.cases(phase);
            assert!(!cases.is_empty(), "{spec} {phase}: no cases");
            // Every evaluation history of the phase, plus an empty and a junk-only history.
            let mut histories: Vec<&[u32]> = cases.iter().map(|c| c.history(ds)).collect();
            histories.push(&[]);
            histories.push(&[0, 999_999]);
            // Valid keeps only what precedes the validation targets (so test targets go too).
            let keep = match phase {
                Phase::Valid => &split.valid_start,
                Phase::Test => &split.test_start,
            };
            let removed = truncated(ds, keep);
            assert!(removed.num_interactions() < ds.num_interactions());
            for name in BASELINES {
                let from_split = baseline(name, &split.train(phase)).unwrap();
                let from_removed = baseline(name, &everything(&removed)).unwrap();
                assert_eq!(
                    scores(from_split.as_ref(), &histories),
                    scores(from_removed.as_ref(), &histories),
                    "{name}: {spec} {phase} training differs from training without the held-out data"
                );
                // The check is sensitive: training on the full data does change the scores.
                let from_all = baseline(name, &everything(ds)).unwrap();
                assert_ne!(
                    scores(from_split.as_ref(), &histories),
                    scores(from_all.as_ref(), &histories),
                    "{name}: {spec} {phase}: held-out data made no difference, so the test proves nothing"
                );
            }
        }
    }
}

#[test]
fn most_popular_counts_on_beauty_match_an_independent_count() {
    let path = Path::new("/work/shared/data/amazon-s3rec-5core/Beauty.txt.xz");
    if !path.exists() {
        println!("skipped: {} is absent", path.display());
        return;
    }
    let mut text = String::new();
    liblzma::read::XzDecoder::new(std::fs::File::open(path).unwrap()).read_to_string(&mut text).unwrap();

    // Independent counts: per line `user item item ...`, every item except the last (test
    // phase) and every item except the last two (validation phase).
    let mut test_counts: HashMap<&str, u32> = HashMap::new();
    let mut valid_counts: HashMap<&str, u32> = HashMap::new();
    let mut b = DatasetBuilder::new("beauty");
    b.has_timestamps = false;
    let mut users = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut tokens = line.split_whitespace();
        let user = tokens.next().unwrap();
        let items: Vec<&str> = tokens.collect();
        assert!(items.len() >= 3, "user {user} has fewer than 3 items; the convention below assumes 5-core data");
        users += 1;
        for (p, item) in items.iter().enumerate() {
            b.push(user, item, EventKind::View, p as i64);
            if p + 1 < items.len() {
                *test_counts.entry(item).or_default() += 1;
            }
            if p + 2 < items.len() {
                *valid_counts.entry(item).or_default() += 1;
            }
        }
    }
    let ds = b.build(&SequenceOptions::default()).unwrap();
    assert_eq!(ds.num_users(), users);
    let split = Split::new(ds, SplitSpec::LeaveOneOut).unwrap();
    let ds = &split.dataset;

    for (phase, want, held_out) in [(Phase::Test, &test_counts, 1), (Phase::Valid, &valid_counts, 2)] {
        let m = MostPopular::fit(&split.train(phase));
        assert_eq!(m.num_items(), ds.num_items());
        for i in 1..=ds.num_items() as u32 {
            let id = ds.items.id(i).unwrap();
            assert_eq!(m.count(i), want.get(id).copied().unwrap_or(0), "{phase}: item {id}");
        }
        let total: u64 = m.counts().iter().map(|&c| c as u64).sum();
        assert_eq!(total as usize, ds.num_interactions() - held_out * users, "{phase}: total");
        // score_batch reports the same counts, whatever the history.
        let row = scores(&m, &[&[1, 2, 3]]);
        assert!((1..=ds.num_items()).all(|i| row[i] == m.count(i as u32) as f32));
    }
}
