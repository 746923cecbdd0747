//! Train / validation / test splits and the evaluation cases they produce.
//!
//! Every split is stored the same way: for each sequence of the dataset two cut points,
//! `valid_start <= test_start`. Positions before `valid_start` are training data; positions in
//! `valid_start..test_start` are validation targets; positions from `test_start` on are test
//! targets. What a model may fit on depends on the [`Phase`]:
//!
//! | phase | visible to training | evaluation targets |
//! |---|---|---|
//! | [`Phase::Valid`] | `..valid_start` of every sequence | `valid_start..test_start` |
//! | [`Phase::Test`]  | `..test_start` of every sequence (train + valid) | `test_start..` |
//!
//! An [`EvalCase`] asks for the item at one target position given the sequence's earlier
//! positions (`start..end`) as input history. The history may include earlier held-out
//! positions of the same sequence (they are the shopper's own recent behaviour, known at
//! inference time); they are never in the training data of that phase.
//!
//! Splits:
//! - [`SplitSpec::LeaveOneOut`]: the last item of each sequence is the test target, the
//!   second last the validation target. Sequences shorter than 3 stay wholly in training.
//! - [`SplitSpec::Temporal`]: one global cut in time for validation and one for test, each
//!   a timestamp or a quantile of all interaction times. Every interaction at or after the
//!   cut is a target, predicted from all of its sequence's earlier interactions.
//! - [`SplitSpec::Session`]: each user's stream is cut into sessions wherever the gap
//!   between two interactions exceeds `gap_ms`; sessions are then assigned whole to
//!   train / valid / test by the time of their last interaction, and every position from
//!   the second on of a held-out session is a target (the SR-GNN protocol).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::data::{Dataset, DatasetBuilder};
use crate::error::{Error, Result};
use crate::events::{EventKind, SequenceOptions};

/// Which held-out part is being evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Validation targets; training sees only the training part.
    Valid,
    /// Test targets; training sees training and validation parts.
    Test,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Valid => "valid",
            Phase::Test => "test",
        })
    }
}

/// A point in time for a temporal cut.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cut {
    /// The q-quantile of all interaction timestamps, `0 < q < 1`.
    Quantile(f64),
    /// A timestamp in ms: interactions at or after it are held out.
    At(i64),
}

impl Cut {
    fn parse(s: &str) -> Result<Cut> {
        let v: f64 = s.trim().parse().map_err(|_| {
            Error::invalid("split", format!("`{s}` is neither a quantile in (0, 1) nor a timestamp in ms"))
        })?;
        if v > 0.0 && v < 1.0 {
            Ok(Cut::Quantile(v))
        } else if v >= 1.0 && v.fract() == 0.0 {
            Ok(Cut::At(v as i64))
        } else {
            Err(Error::invalid("split", format!("`{s}` is neither a quantile in (0, 1) nor a timestamp in ms")))
        }
    }

    fn resolve(self, sorted_ts: &[i64]) -> i64 {
        match self {
            Cut::At(t) => t,
            Cut::Quantile(q) => {
                if sorted_ts.is_empty() {
                    return 0;
                }
                let idx = ((sorted_ts.len() as f64) * q).floor() as usize;
                sorted_ts[idx.min(sorted_ts.len() - 1)]
            }
        }
    }
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cut::Quantile(q) => write!(f, "{q}"),
            Cut::At(t) => write!(f, "{t}"),
        }
    }
}

/// How to split a dataset. Parses from the CLI's `--split` value:
/// `loo` (default), `temporal[:TEST[:VALID]]`, `session[:GAP[:TEST[:VALID]]]`, where a cut is
/// a quantile in (0, 1) or a timestamp in ms and a gap is like `30m`, `2h`, `90s` or `1d`.
///
/// ```
/// use localrec::data::SplitSpec;
/// assert_eq!("loo".parse::<SplitSpec>().unwrap(), SplitSpec::LeaveOneOut);
/// assert_eq!("temporal:0.9".parse::<SplitSpec>().unwrap().to_string(), "temporal:0.9:0.8");
/// assert_eq!("session:30m".parse::<SplitSpec>().unwrap().to_string(), "session:30m:0.9:0.8");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SplitSpec {
    /// Last item test, second last validation.
    #[default]
    LeaveOneOut,
    /// Global temporal cuts.
    Temporal {
        /// Cut for the test part.
        test: Cut,
        /// Cut for the validation part (before `test`).
        valid: Cut,
    },
    /// Sessions by inactivity gap, then temporal cuts on session end times.
    Session {
        /// Inactivity gap in ms that starts a new session.
        gap_ms: i64,
        /// Cut for test sessions.
        test: Cut,
        /// Cut for validation sessions.
        valid: Cut,
    },
}

fn parse_gap(s: &str) -> Result<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let v: f64 = num.parse().map_err(|_| Error::invalid("split", format!("`{s}` is not a gap like 30m, 2h, 90s")))?;
    let mult = match unit {
        "ms" => 1.0,
        "" | "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => return Err(Error::invalid("split", format!("`{s}`: unknown time unit `{unit}` (use ms, s, m, h or d)"))),
    };
    if v <= 0.0 {
        return Err(Error::invalid("split", "the session gap must be positive"));
    }
    Ok((v * mult).round() as i64)
}

fn fmt_gap(ms: i64) -> String {
    for (unit, m) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] {
        if ms % m == 0 {
            return format!("{}{unit}", ms / m);
        }
    }
    format!("{ms}ms")
}

impl FromStr for SplitSpec {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        let cuts = |rest: &[&str]| -> Result<(Cut, Cut)> {
            let test = match rest.first() {
                Some(t) => Cut::parse(t)?,
                None => Cut::Quantile(0.9),
            };
            let valid = match (rest.get(1), test) {
                (Some(v), _) => Cut::parse(v)?,
                (None, Cut::Quantile(q)) => Cut::Quantile((q - 0.1).max(q / 2.0)),
                (None, Cut::At(_)) => {
                    return Err(Error::invalid(
                        "split",
                        "give the validation cut too when the test cut is a timestamp",
                    ));
                }
            };
            if rest.len() > 2 {
                return Err(Error::invalid("split", format!("too many parts in `{s}`")));
            }
            if let (Cut::Quantile(t), Cut::Quantile(v)) = (test, valid) {
                if v > t {
                    return Err(Error::invalid("split", "the validation cut must not come after the test cut"));
                }
            }
            if let (Cut::At(t), Cut::At(v)) = (test, valid) {
                if v > t {
                    return Err(Error::invalid("split", "the validation cut must not come after the test cut"));
                }
            }
            Ok((test, valid))
        };
        match parts[0] {
            "loo" | "leave-one-out" if parts.len() == 1 => Ok(SplitSpec::LeaveOneOut),
            "temporal" | "time" => {
                let (test, valid) = cuts(&parts[1..])?;
                Ok(SplitSpec::Temporal { test, valid })
            }
            "session" | "sessions" => {
                let gap_ms = match parts.get(1) {
                    Some(g) => parse_gap(g)?,
                    None => 30 * 60_000,
                };
                let (test, valid) = cuts(parts.get(2..).unwrap_or(&[]))?;
                Ok(SplitSpec::Session { gap_ms, test, valid })
            }
            _ => Err(Error::invalid(
                "split",
                format!("`{s}` is not a split (use loo, temporal[:TEST[:VALID]] or session[:GAP[:TEST[:VALID]]])"),
            )),
        }
    }
}

impl fmt::Display for SplitSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitSpec::LeaveOneOut => f.write_str("loo"),
            SplitSpec::Temporal { test, valid } => write!(f, "temporal:{test}:{valid}"),
            SplitSpec::Session { gap_ms, test, valid } => write!(f, "session:{}:{test}:{valid}", fmt_gap(*gap_ms)),
        }
    }
}

/// One evaluation case: predict `seqs[seq].items[end]` from `seqs[seq].items[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EvalCase {
    /// Index of the sequence (user or session) in the split's dataset.
    pub seq: u32,
    /// First position of the input history.
    pub start: u32,
    /// Position of the target; the history ends just before it.
    pub end: u32,
}

impl EvalCase {
    /// The input history, oldest first.
    pub fn history<'a>(&self, ds: &'a Dataset) -> &'a [u32] {
        &ds.seqs[self.seq as usize].items[self.start as usize..self.end as usize]
    }

    /// The event kinds of the input history, one per item of [`history`](EvalCase::history).
    pub fn kinds<'a>(&self, ds: &'a Dataset) -> &'a [EventKind] {
        &ds.seqs[self.seq as usize].kinds[self.start as usize..self.end as usize]
    }

    /// The target item.
    pub fn target(&self, ds: &Dataset) -> u32 {
        ds.seqs[self.seq as usize].items[self.end as usize]
    }

    /// The target's timestamp.
    pub fn ts(&self, ds: &Dataset) -> i64 {
        ds.seqs[self.seq as usize].ts[self.end as usize]
    }
}

/// The training data visible in one phase: a prefix of every sequence.
#[derive(Clone, Debug)]
pub struct TrainSet<'a> {
    /// The dataset the prefixes come from.
    pub dataset: &'a Dataset,
    /// `ends[s]`: sequence `s` contributes `items[..ends[s]]`.
    pub ends: Vec<usize>,
}

impl<'a> TrainSet<'a> {
    /// Number of real items in the catalog.
    pub fn num_items(&self) -> usize {
        self.dataset.num_items()
    }

    /// The visible part of sequence `s`.
    pub fn seq(&self, s: usize) -> &'a [u32] {
        &self.dataset.seqs[s].items[..self.ends[s]]
    }

    /// Every non-empty visible prefix, in sequence order.
    pub fn sequences(&self) -> impl Iterator<Item = &'a [u32]> + '_ {
        (0..self.ends.len()).map(|s| self.seq(s)).filter(|s| !s.is_empty())
    }

    /// Interaction count per item over the visible data (index 0 is 0).
    pub fn item_counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.dataset.items.size()];
        for s in self.sequences() {
            for &i in s {
                c[i as usize] += 1;
            }
        }
        c
    }

    /// Number of visible interactions.
    pub fn num_interactions(&self) -> usize {
        self.ends.iter().sum()
    }
}

/// A dataset with its train / valid / test cut points. See the module docs.
#[derive(Clone, Debug)]
pub struct Split {
    /// The split that was applied.
    pub spec: SplitSpec,
    /// The dataset the cuts index (for session splits: one sequence per session).
    pub dataset: Dataset,
    /// Per sequence: first validation position.
    pub valid_start: Vec<usize>,
    /// Per sequence: first test position.
    pub test_start: Vec<usize>,
}

impl Split {
    /// Splits `dataset` as `spec` says.
    pub fn new(dataset: Dataset, spec: SplitSpec) -> Result<Split> {
        let split = match spec {
            SplitSpec::LeaveOneOut => {
                let (mut v, mut t) = (Vec::new(), Vec::new());
                for s in &dataset.seqs {
                    let n = s.len();
                    if n >= 3 {
                        v.push(n - 2);
                        t.push(n - 1);
                    } else {
                        v.push(n);
                        t.push(n);
                    }
                }
                Split { spec, dataset, valid_start: v, test_start: t }
            }
            SplitSpec::Temporal { test, valid } => {
                require_timestamps(&dataset, "temporal")?;
                let mut all: Vec<i64> = dataset.seqs.iter().flat_map(|s| s.ts.iter().copied()).collect();
                all.sort_unstable();
                let (tc, vc) = (test.resolve(&all), valid.resolve(&all));
                let first_at = |ts: &[i64], cut: i64| ts.partition_point(|&t| t < cut);
                let v = dataset.seqs.iter().map(|s| first_at(&s.ts, vc)).collect();
                let t = dataset.seqs.iter().map(|s| first_at(&s.ts, tc)).collect();
                Split { spec, dataset, valid_start: v, test_start: t }
            }
            SplitSpec::Session { gap_ms, test, valid } => {
                require_timestamps(&dataset, "session")?;
                let sessions = sessionize(&dataset, gap_ms)?;
                let mut ends: Vec<i64> = sessions.seqs.iter().filter_map(|s| s.ts.last().copied()).collect();
                ends.sort_unstable();
                let (tc, vc) = (test.resolve(&ends), valid.resolve(&ends));
                let (mut v, mut t) = (Vec::new(), Vec::new());
                for s in &sessions.seqs {
                    let end = *s.ts.last().unwrap_or(&0);
                    let n = s.len();
                    if end >= tc {
                        v.push(0);
                        t.push(0);
                    } else if end >= vc {
                        v.push(0);
                        t.push(n);
                    } else {
                        v.push(n);
                        t.push(n);
                    }
                }
                Split { spec, dataset: sessions, valid_start: v, test_start: t }
            }
        };
        if split.cases(Phase::Test).is_empty() {
            return Err(Error::Empty(format!(
                "split `{}` of `{}` leaves no test cases (sequences too short, or the cut is past the last interaction)",
                split.spec, split.dataset.name
            )));
        }
        Ok(split)
    }

    /// The training data visible in `phase`.
    pub fn train(&self, phase: Phase) -> TrainSet<'_> {
        let ends = match phase {
            Phase::Valid => self.valid_start.clone(),
            Phase::Test => self.test_start.clone(),
        };
        TrainSet { dataset: &self.dataset, ends }
    }

    /// The evaluation cases of `phase`, in sequence order. Every case has a non-empty history.
    pub fn cases(&self, phase: Phase) -> Vec<EvalCase> {
        let mut out = Vec::new();
        for (s, seq) in self.dataset.seqs.iter().enumerate() {
            let (from, to) = match phase {
                Phase::Valid => (self.valid_start[s], self.test_start[s]),
                Phase::Test => (self.test_start[s], seq.len()),
            };
            let only_first = matches!(self.spec, SplitSpec::LeaveOneOut);
            for end in from.max(1)..to {
                out.push(EvalCase { seq: s as u32, start: 0, end: end as u32 });
                if only_first {
                    break;
                }
            }
        }
        out
    }
}

fn require_timestamps(ds: &Dataset, what: &str) -> Result<()> {
    if ds.has_timestamps {
        Ok(())
    } else {
        Err(Error::Mismatch(format!(
            "a {what} split needs timestamps, and `{}` has none (its order is by position only); use --split loo",
            ds.name
        )))
    }
}

/// Cuts every sequence into sessions wherever two consecutive interactions are more than
/// `gap_ms` apart. Session `k` of user `u` is named `u#k`; items keep their indices.
pub fn sessionize(ds: &Dataset, gap_ms: i64) -> Result<Dataset> {
    let mut b = DatasetBuilder::new(&ds.name);
    b.has_timestamps = ds.has_timestamps;
    for (u, s) in ds.seqs.iter().enumerate() {
        let mut k = 0;
        for p in 0..s.len() {
            if p > 0 && s.ts[p] - s.ts[p - 1] > gap_ms {
                k += 1;
            }
            let name = format!("{}#{k}", ds.users[u]);
            b.push(&name, ds.items.id(s.items[p]).unwrap_or(""), s.kinds[p], s.ts[p]);
        }
    }
    let mut out = b.build(&SequenceOptions::default())?;
    // Items keep the original vocabulary and metadata, so scores index the same catalog.
    let remap: Vec<u32> = (0..out.items.size() as u32)
        .map(|i| if i == 0 { 0 } else { ds.items.get(out.items.id(i).unwrap_or("")).unwrap_or(0) })
        .collect();
    for s in &mut out.seqs {
        for i in &mut s.items {
            *i = remap[*i as usize];
        }
    }
    out.items = ds.items.clone();
    out.meta = ds.meta.clone();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;

    /// u0: 5 items at t=0..4 (hours), u1: 2 items, u2: 3 items far later.
    fn ds() -> Dataset {
        let h = 3_600_000;
        let mut b = DatasetBuilder::new("t");
        for p in 0..5 {
            b.push("u0", &format!("i{p}"), EventKind::View, p * h);
        }
        b.push("u1", "i0", EventKind::View, h);
        b.push("u1", "i1", EventKind::View, 2 * h);
        for p in 0..3 {
            b.push("u2", &format!("i{}", p + 2), EventKind::View, 100 * h + p * 60_000);
        }
        b.build(&SequenceOptions::default()).unwrap()
    }

    /// Every (sequence, position) pair visible to training in `phase`.
    fn visible(split: &Split, phase: Phase) -> Vec<(usize, usize)> {
        let t = split.train(phase);
        (0..t.ends.len()).flat_map(|s| (0..t.ends[s]).map(move |p| (s, p))).collect()
    }

    fn assert_no_leak(split: &Split) {
        for phase in [Phase::Valid, Phase::Test] {
            let seen = visible(split, phase);
            for c in split.cases(phase) {
                assert!(
                    !seen.contains(&(c.seq as usize, c.end as usize)),
                    "{phase} target {c:?} is visible to training in {}",
                    split.spec
                );
                assert!(c.start < c.end, "empty history");
            }
        }
        // Validation training data must not see test targets either.
        let seen = visible(split, Phase::Valid);
        for c in split.cases(Phase::Test) {
            assert!(!seen.contains(&(c.seq as usize, c.end as usize)));
        }
    }

    #[test]
    fn leave_one_out_holds_out_last_two() {
        let s = Split::new(ds(), SplitSpec::LeaveOneOut).unwrap();
        let test = s.cases(Phase::Test);
        assert_eq!(test.len(), 2, "u1 has 2 items and stays in training");
        assert_eq!(test[0], EvalCase { seq: 0, start: 0, end: 4 });
        assert_eq!(s.cases(Phase::Valid)[0], EvalCase { seq: 0, start: 0, end: 3 });
        let t = s.train(Phase::Test);
        assert_eq!(t.seq(0).len(), 4, "test-phase training includes the validation item");
        assert_eq!(t.seq(1).len(), 2);
        assert_eq!(s.train(Phase::Valid).seq(0).len(), 3);
        assert_no_leak(&s);
    }

    #[test]
    fn temporal_split_cuts_globally() {
        let h = 3_600_000;
        let spec = SplitSpec::Temporal { test: Cut::At(100 * h), valid: Cut::At(4 * h) };
        let s = Split::new(ds(), spec).unwrap();
        // test: u2's 2nd and 3rd items (its 1st has no history)
        let test = s.cases(Phase::Test);
        assert_eq!(test.iter().map(|c| (c.seq, c.end)).collect::<Vec<_>>(), vec![(2, 1), (2, 2)]);
        // valid: u0's item at 4h
        assert_eq!(s.cases(Phase::Valid), vec![EvalCase { seq: 0, start: 0, end: 4 }]);
        assert_no_leak(&s);
        let q = Split::new(ds(), "temporal:0.8:0.5".parse().unwrap()).unwrap();
        assert_no_leak(&q);
        assert!(!q.cases(Phase::Test).is_empty());
    }

    #[test]
    fn session_split_holds_out_whole_sessions() {
        let s = Split::new(ds(), "session:30m:0.7:0.5".parse().unwrap()).unwrap();
        // every user's hourly clicks are separate sessions, u2's minute-apart clicks one session.
        assert_eq!(s.dataset.num_users(), 5 + 2 + 1);
        let last = s.dataset.users.iter().position(|u| u == "u2#0").unwrap();
        assert_eq!(s.dataset.seqs[last].len(), 3);
        assert_eq!(s.cases(Phase::Test).len(), 2);
        assert_eq!(s.train(Phase::Test).seq(last).len(), 0, "a test session is wholly held out");
        assert_eq!(s.dataset.items, ds().items, "sessions keep the catalog");
        assert_no_leak(&s);
    }

    #[test]
    fn specs_parse_print_and_reject() {
        for s in ["loo", "temporal:0.9:0.8", "session:30m:0.9:0.8", "temporal:1700000000000:1600000000000"] {
            assert_eq!(s.parse::<SplitSpec>().unwrap().to_string(), s);
        }
        for bad in
            ["", "random", "temporal:2.5", "temporal:0.5:0.9", "session:-3m", "session:5x", "temporal:1700000000000"]
        {
            assert!(bad.parse::<SplitSpec>().is_err(), "{bad}");
        }
        let mut no_ts = ds();
        no_ts.has_timestamps = false;
        let e = Split::new(no_ts, "temporal".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("needs timestamps"), "{e}");
    }
}
