//! Evaluation on real data: the crate's full-ranking numbers for MostPopular on Amazon Beauty
//! equal an independent computation written here from the raw file, and the report is
//! deterministic. Skips with a message when ../shared/data is absent.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};

use localrec::data::format::find_shared_dir;
use localrec::data::loaders::{LoadOptions, load};
use localrec::data::{DataSpec, Phase, Split, SplitSpec};
use localrec::eval::report::EvalReport;
use localrec::eval::{self, EvalConfig};

/// HR@10, NDCG@10 and the case count of MostPopular, computed from the raw file alone.
fn independent_pop(path: &std::path::Path) -> (f64, f64, usize) {
    let file = std::fs::File::open(path).unwrap();
    let reader = BufReader::new(liblzma::read::XzDecoder::new(file));
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut seqs: Vec<Vec<String>> = Vec::new();
    for line in reader.lines() {
        let line = line.unwrap();
        let items: Vec<String> = line.split_whitespace().skip(1).map(str::to_string).collect();
        for it in &items {
            let n = first_seen.len();
            first_seen.entry(it.clone()).or_insert(n);
        }
        seqs.push(items);
    }
    // Popularity: every interaction before each user's test (last) item.
    let mut count: HashMap<&str, usize> = HashMap::new();
    for s in &seqs {
        for it in &s[..s.len() - 1] {
            *count.entry(it).or_default() += 1;
        }
    }
    // Global order: count descending, then first appearance.
    let mut order: Vec<&String> = first_seen.keys().collect();
    order.sort_by_key(|it| (std::cmp::Reverse(count.get(it.as_str()).copied().unwrap_or(0)), first_seen[*it]));
    let pos: HashMap<&str, usize> = order.iter().enumerate().map(|(r, it)| (it.as_str(), r)).collect();
    let (mut hr, mut ndcg, mut n) = (0.0, 0.0, 0);
    for s in seqs.iter().filter(|s| s.len() >= 3) {
        n += 1;
        let hist: HashSet<&str> = s[..s.len() - 1].iter().map(String::as_str).collect();
        let t = s[s.len() - 1].as_str();
        if hist.contains(t) {
            continue; // the target is masked: a miss
        }
        let p = pos[t];
        let rank = 1 + p - hist.iter().filter(|h| pos[**h] < p).count();
        if rank <= 10 {
            hr += 1.0;
            ndcg += 1.0 / ((rank + 1) as f64).log2();
        }
    }
    (hr / n as f64, ndcg / n as f64, n)
}

#[test]
fn most_popular_on_beauty_matches_an_independent_computation() {
    let Some(shared) = find_shared_dir() else {
        eprintln!("skipped: ../shared/data is absent (set LOCALREC_SHARED_DIR to run this test)");
        return;
    };
    let raw = shared.join("amazon-s3rec-5core/Beauty.txt.xz");
    let (hr, ndcg, n) = independent_pop(&raw);
    // Figures of the same computation in Python (recorded when this test was written).
    assert_eq!(n, 22_363);
    assert!((hr - 0.013460).abs() < 5e-7 && (ndcg - 0.006075).abs() < 5e-7, "{hr} {ndcg}");

    let opts = LoadOptions { shared_dir: Some(shared), ..LoadOptions::default() };
    let ds = load(&DataSpec::parse("beauty"), &opts).unwrap();
    let split = Split::new(ds, SplitSpec::LeaveOneOut).unwrap();
    let pop = localrec::model::baseline("pop", &split.train(Phase::Test)).unwrap();
    let cfg = EvalConfig { bootstrap: 100, ..EvalConfig::default() };
    let run = eval::run(pop.as_ref(), &split, Phase::Test, &cfg, &|_, _| {}).unwrap();
    let report = EvalReport::build(&run, &split, Phase::Test, &cfg, 0.0);
    assert_eq!(report.cases, n);
    assert!((report.metrics["hr@10"] - hr).abs() < 1e-12, "{} vs {hr}", report.metrics["hr@10"]);
    assert!((report.metrics["ndcg@10"] - ndcg).abs() < 1e-12, "{} vs {ndcg}", report.metrics["ndcg@10"]);
    let [lo, hi] = report.ci95["ndcg@10"];
    assert!(lo < ndcg && ndcg < hi && hi - lo < 0.003, "CI [{lo}, {hi}]");

    // Same seed, same report.
    let again = EvalReport::build(&run, &split, Phase::Test, &cfg, 0.0);
    assert_eq!(report.ci95, again.ci95);
}
