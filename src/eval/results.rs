//! The accuracy record: `benches/results/accuracy.json`, one entry per (model, data, backend),
//! each with the exact command that produced it, and the leaderboard table drawn from it.
//!
//! ```json
//! [ { "model": "sasrec", "data": "beauty", "backend": "cpu (flex)",
//!     "command": "localrec train --model sasrec --data beauty --heads 2",
//!     "eval_command": "localrec compare --data beauty --models … --results …",
//!     "cases": 22363, "metrics": { "hr@10": 0.0823, "ndcg@10": 0.0494, … },
//!     "training": { "best_epoch": 65, "seconds_per_epoch": 18.4, … } } ]
//! ```
//!
//! [`upsert`] replaces the entry with the same model, data and backend (or appends), and writes
//! the file atomically; a file that is not such a list is an error and is left untouched.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::bundle::TrainingInfo;
use crate::error::{Error, Result};

/// One measured model on one dataset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccuracyEntry {
    /// Model name: a baseline (`pop`, `markov`, `itemknn`) or an encoder kind (`sasrec`, …).
    pub model: String,
    /// Dataset name.
    pub data: String,
    /// What computed the scores, e.g. `cpu (flex)`.
    pub backend: String,
    /// The command that produced the model and its figures (for a trained model, the
    /// training command; the test figures are those of its best validation epoch).
    pub command: String,
    /// The command that evaluated it, when it differs from `command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_command: Option<String>,
    /// Number of test cases.
    #[serde(default)]
    pub cases: usize,
    /// Test metrics, keys as in the evaluation report (`hr@10`, `ndcg@10`, `mrr@10`, …).
    pub metrics: BTreeMap<String, f64>,
    /// Training details of a trained model (of the first seed, for a mean of seeds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingInfo>,
    /// For a row that is the mean of several training seeds ([`mean_of_seeds`]): each seed's
    /// command and figures; `metrics` are then their means.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<SeedRun>,
    /// Sample standard deviation over the seeds of the headline metrics (`ndcg@10`, `hr@10`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sd: BTreeMap<String, f64>,
}

/// One seed of a multi-seed row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedRun {
    /// The training command (it names the seed).
    pub command: String,
    /// Its headline test figures (`ndcg@10`, `hr@10`).
    pub metrics: BTreeMap<String, f64>,
    /// Its selected epoch, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_epoch: Option<usize>,
}

/// The headline metrics a multi-seed row keeps per seed and summarises with a deviation.
pub const SEED_METRICS: [&str; 2] = ["ndcg@10", "hr@10"];

/// One row for several training runs of the same model on the same data and cases (seeds):
/// every metric all of them report is averaged, each run is kept in `seeds` and the
/// sample standard deviation of [`SEED_METRICS`] in `sd`. The runs' own `command`s are kept;
/// the row's `command` is the first run's. Fails unless there are at least two runs of the same
/// model, data, backend and number of cases.
pub fn mean_of_seeds(runs: &[AccuracyEntry]) -> Result<AccuracyEntry> {
    let first = runs.first().ok_or_else(|| Error::Empty("no runs to average over seeds".into()))?;
    if runs.len() < 2 {
        return Err(Error::invalid("seeds", "a mean of seeds needs at least two runs"));
    }
    if let Some(o) = runs
        .iter()
        .find(|r| (&r.model, &r.data, &r.backend, r.cases) != (&first.model, &first.data, &first.backend, first.cases))
    {
        return Err(Error::Mismatch(format!(
            "runs of different models or data cannot be averaged as seeds: {} on {} ({} cases, {}) vs {} on {} ({} cases, {})",
            first.model, first.data, first.cases, first.backend, o.model, o.data, o.cases, o.backend
        )));
    }
    let n = runs.len() as f64;
    let mut metrics = BTreeMap::new();
    for key in first.metrics.keys() {
        let values: Option<Vec<f64>> = runs.iter().map(|r| r.metrics.get(key).copied()).collect();
        if let Some(v) = values {
            metrics.insert(key.clone(), v.iter().sum::<f64>() / n);
        }
    }
    let mut sd = BTreeMap::new();
    for key in SEED_METRICS {
        if let Some(mean) = metrics.get(key) {
            let var = runs.iter().map(|r| (r.metrics[key] - mean).powi(2)).sum::<f64>() / (n - 1.0);
            sd.insert(key.to_string(), var.sqrt());
        }
    }
    let seeds = runs
        .iter()
        .map(|r| SeedRun {
            command: r.command.clone(),
            metrics: SEED_METRICS.iter().filter_map(|k| r.metrics.get(*k).map(|v| (k.to_string(), *v))).collect(),
            best_epoch: r.training.as_ref().map(|t| t.best_epoch),
        })
        .collect();
    Ok(AccuracyEntry { metrics, seeds, sd, ..first.clone() })
}

/// Reads an accuracy file; a missing file is an empty list.
pub fn read(path: &Path) -> Result<Vec<AccuracyEntry>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::Data(format!("{}: not a list of accuracy entries ({e}); the file was left as it is", path.display()))
    })
}

/// Replaces the entries of `path` that share model, data and backend with one of `new` (in
/// place), appends the others, and writes the file through a temporary file and a rename.
pub fn upsert(path: &Path, new: &[AccuracyEntry]) -> Result<()> {
    let mut all = read(path)?;
    for e in new {
        match all.iter_mut().find(|o| o.model == e.model && o.data == e.data && o.backend == e.backend) {
            Some(slot) => *slot = e.clone(),
            None => all.push(e.clone()),
        }
    }
    let text = serde_json::to_string_pretty(&all).map_err(|e| Error::Output(format!("could not write JSON: {e}")))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n").map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// The leaderboard as Markdown: one table per dataset (in order of first appearance), rows by
/// NDCG@10, best first, the refit models (trained on the test phase's data) after the others.
pub fn leaderboard_markdown(entries: &[AccuracyEntry]) -> String {
    let cols = ["hr@10", "ndcg@10", "hr@20", "ndcg@20", "mrr@10"];
    let mut datasets: Vec<&str> = Vec::new();
    for e in entries {
        if !datasets.contains(&e.data.as_str()) {
            datasets.push(&e.data);
        }
    }
    let mut out = String::new();
    for d in datasets {
        let mut rows: Vec<&AccuracyEntry> = entries.iter().filter(|e| e.data == d).collect();
        let key = |e: &AccuracyEntry| e.metrics.get("ndcg@10").copied().unwrap_or(f64::NEG_INFINITY);
        // Refit models (a deployment choice, not the published protocol) after the others.
        let refit = |e: &AccuracyEntry| e.training.as_ref().is_some_and(|t| t.refit);
        rows.sort_by(|a, b| refit(a).cmp(&refit(b)).then(key(b).total_cmp(&key(a))));
        out.push_str(&format!("**{d}** ({} test cases)\n\n", rows.first().map_or(0, |r| r.cases)));
        out.push_str("| model | backend | HR@10 | NDCG@10 | HR@20 | NDCG@20 | MRR@10 | best epoch / run | s/epoch |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in rows {
            let model = if r.seeds.is_empty() {
                r.model.clone()
            } else {
                let sd = r.sd.get("ndcg@10").map_or(String::new(), |v| format!(", NDCG@10 sd {v:.4}"));
                format!("{} (mean of {} seeds{sd})", r.model, r.seeds.len())
            };
            let mut line = format!("| {model} | {} |", r.backend);
            for c in cols {
                match r.metrics.get(c) {
                    Some(v) => line.push_str(&format!(" {v:.4} |")),
                    None => line.push_str(" – |"),
                }
            }
            match &r.training {
                Some(t) => line.push_str(&format!(" {} / {} | {:.1} |", t.best_epoch, t.epochs, t.seconds_per_epoch)),
                None => line.push_str(" – | – |"),
            }
            out.push_str(&line);
            out.push('\n');
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(model: &str, data: &str, ndcg: f64) -> AccuracyEntry {
        AccuracyEntry {
            model: model.into(),
            data: data.into(),
            backend: "cpu (flex)".into(),
            command: format!("localrec eval --model {model} --data {data}"),
            eval_command: None,
            cases: 10,
            metrics: [("ndcg@10".to_string(), ndcg), ("hr@10".to_string(), ndcg * 2.0)].into_iter().collect(),
            training: None,
            seeds: Vec::new(),
            sd: BTreeMap::new(),
        }
    }

    #[test]
    fn a_mean_of_seeds_averages_keeps_each_seed_and_its_spread() {
        let mut runs =
            vec![entry("sasrec", "beauty", 0.05), entry("sasrec", "beauty", 0.06), entry("sasrec", "beauty", 0.07)];
        for (k, r) in runs.iter_mut().enumerate() {
            r.command = format!("localrec train --model sasrec --data beauty --seed {}", k + 1);
        }
        let m = mean_of_seeds(&runs).unwrap();
        assert!((m.metrics["ndcg@10"] - 0.06).abs() < 1e-12 && (m.metrics["hr@10"] - 0.12).abs() < 1e-12);
        // Sample sd of 0.05, 0.06, 0.07 is 0.01.
        assert!((m.sd["ndcg@10"] - 0.01).abs() < 1e-12, "{:?}", m.sd);
        assert_eq!(m.seeds.len(), 3);
        assert!(m.seeds[2].command.ends_with("--seed 3") && (m.seeds[2].metrics["ndcg@10"] - 0.07).abs() < 1e-12);
        assert_eq!((m.model.as_str(), m.command.as_str()), ("sasrec", runs[0].command.as_str()));
        let table = leaderboard_markdown(std::slice::from_ref(&m));
        assert!(table.contains("sasrec (mean of 3 seeds, NDCG@10 sd 0.0100)"), "{table}");
        // Round trip through the file format.
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(serde_json::from_str::<AccuracyEntry>(&json).unwrap(), m);

        assert!(mean_of_seeds(&runs[..1]).is_err());
        let mixed = [runs[0].clone(), entry("sasrec", "toys", 0.05)];
        assert!(mean_of_seeds(&mixed).unwrap_err().to_string().contains("toys"));
    }

    #[test]
    fn upsert_replaces_same_model_data_backend_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/accuracy.json");
        upsert(&p, &[entry("pop", "beauty", 0.006), entry("markov", "beauty", 0.05)]).unwrap();
        upsert(&p, &[entry("pop", "beauty", 0.007), entry("pop", "toys", 0.01)]).unwrap();
        let all = read(&p).unwrap();
        let names: Vec<(&str, &str)> = all.iter().map(|e| (e.model.as_str(), e.data.as_str())).collect();
        assert_eq!(names, [("pop", "beauty"), ("markov", "beauty"), ("pop", "toys")]);
        assert_eq!(all[0].metrics["ndcg@10"], 0.007);
        let md = leaderboard_markdown(&all);
        let beauty = &md[..md.find("**toys**").unwrap()];
        assert!(beauty.find("| markov").unwrap() < beauty.find("| pop").unwrap(), "best first:\n{md}");
        assert!(md.contains("| pop | cpu (flex) | 0.0140 | 0.0070 | – | – | – | – | – |"), "{md}");

        // A refit model is listed after the others, even when its figure is higher.
        let mut refit = entry("sasrec (refit)", "beauty", 0.09);
        refit.training = Some(TrainingInfo {
            command: "localrec train --refit".into(),
            backend: "cpu (flex)".into(),
            best_epoch: 3,
            epochs: 5,
            seconds_per_epoch: 1.0,
            seconds: 8.0,
            refit: true,
        });
        let md = leaderboard_markdown(&[refit, entry("sasrec", "beauty", 0.05), entry("pop", "beauty", 0.006)]);
        let order: Vec<usize> =
            ["| sasrec |", "| pop |", "| sasrec (refit) |"].iter().map(|r| md.find(r).unwrap()).collect();
        assert!(order[0] < order[1] && order[1] < order[2], "{md}");
    }

    #[test]
    fn a_file_that_is_not_a_list_is_an_error_and_stays_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("accuracy.json");
        std::fs::write(&p, "{\"not\": \"a list\"}").unwrap();
        let e = upsert(&p, &[entry("pop", "beauty", 0.006)]).unwrap_err();
        assert!(e.to_string().contains("not a list of accuracy entries"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\"not\": \"a list\"}");
        assert!(read(&dir.path().join("missing.json")).unwrap().is_empty());
    }
}
