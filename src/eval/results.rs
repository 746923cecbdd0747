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
    /// Training details of a trained model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingInfo>,
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
/// NDCG@10, best first.
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
        rows.sort_by(|a, b| key(b).total_cmp(&key(a)));
        out.push_str(&format!("**{d}** ({} test cases)\n\n", rows.first().map_or(0, |r| r.cases)));
        out.push_str("| model | backend | HR@10 | NDCG@10 | HR@20 | NDCG@20 | MRR@10 | best epoch / run | s/epoch |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in rows {
            let mut line = format!("| {} | {} |", r.model, r.backend);
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
        }
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
