//! A baseline evaluated where the shopper's browser is, by the code of `localrec eval`: what the
//! evaluation page shows beside the neural models (`Recommender.evaluateBaseline` in the npm
//! package). The baseline is fitted on the phase's training data, exactly as
//! `localrec eval --model NAME` fits it ([`crate::model::baseline`]), every case is ranked by
//! [`crate::eval::run`] and the report is [`EvalReport::build`]'s, so the figures equal the
//! command line's for the same data, split and options.
//!
//! The steps are apart ([`BaselineEvaluation::fit`], [`run`](BaselineEvaluation::run),
//! [`report`](BaselineEvaluation::report)) so that a page can show progress between them and
//! time them with its own clock (a wasm32 build has no `std::time::Instant`).

use crate::data::{Phase, Split};
use crate::error::{Error, Result};
use crate::eval::report::EvalReport;
use crate::eval::{EvalConfig, EvalRun};
use crate::model::{self, BASELINES, Scorer};

/// Checks that `name` is one of [`BASELINES`] (`pop`, `markov`, `itemknn`: the names
/// `localrec eval --model` lists), before any data is read.
pub fn check_baseline(name: &str) -> Result<()> {
    if BASELINES.contains(&name) {
        Ok(())
    } else {
        Err(Error::invalid("name", format!("unknown baseline `{name}` (available: {})", BASELINES.join(", "))))
    }
}

/// A baseline fitted on the training data of one phase of a split, to be evaluated on that
/// phase's cases.
///
/// ```
/// # use localrec::data::{Phase, Split};
/// # use localrec::serve::BaselineEvaluation;
/// # fn demo(split: &Split) -> localrec::Result<()> {
/// let ev = BaselineEvaluation::fit("itemknn", split, Phase::Test, Default::default())?;
/// let run = ev.run()?;
/// let report = ev.report(&run, 0.0); // = `localrec eval --model itemknn --json`
/// # Ok(()) }
/// ```
pub struct BaselineEvaluation<'a> {
    split: &'a Split,
    phase: Phase,
    cfg: EvalConfig,
    model: Box<dyn Scorer>,
}

impl<'a> BaselineEvaluation<'a> {
    /// Fits the baseline `name` ([`check_baseline`]) on `split.train(phase)`. Errors: an
    /// unknown name or invalid `cfg` ([`Error::InvalidValue`]), a phase without cases
    /// ([`Error::Empty`]).
    pub fn fit(name: &str, split: &'a Split, phase: Phase, cfg: EvalConfig) -> Result<BaselineEvaluation<'a>> {
        check_baseline(name)?;
        cfg.validate()?;
        if split.cases(phase).is_empty() {
            return Err(Error::Empty(format!(
                "split `{}` of `{}` has no {phase} cases to evaluate",
                split.spec, split.dataset.name
            )));
        }
        let model = model::baseline(name, &split.train(phase))?;
        Ok(BaselineEvaluation { split, phase, cfg, model })
    }

    /// The number of cases [`run`](Self::run) ranks.
    pub fn cases(&self) -> usize {
        self.split.cases(self.phase).len()
    }

    /// Scores and ranks every case against the whole catalogue ([`crate::eval::run`]).
    pub fn run(&self) -> Result<EvalRun> {
        crate::eval::run(self.model.as_ref(), self.split, self.phase, &self.cfg, &|_, _| {})
    }

    /// The report of `run` (every metric, the bootstrap intervals, the dynamic breakdowns),
    /// with `fit_s` seconds of fitting: what `localrec eval --json` prints.
    pub fn report(&self, run: &EvalRun, fit_s: f64) -> EvalReport {
        EvalReport::build(run, self.split, self.phase, &self.cfg, fit_s)
    }

    /// The evaluation's configuration.
    pub fn config(&self) -> &EvalConfig {
        &self.cfg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DatasetBuilder, SplitSpec};
    use crate::events::{EventKind, SequenceOptions};

    /// 40 users over 30 items, with some structure (each walks through the catalogue in steps
    /// of 1 to 3 from a start of their own) and timestamps, so every baseline ranks differently.
    fn walks(spec: SplitSpec) -> Split {
        let mut b = DatasetBuilder::new("walks");
        let mut state: u64 = 7;
        let mut next = move |m: u64| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) % m
        };
        let mut t = 0i64;
        for u in 0..40 {
            let len = 4 + next(9) as usize;
            let mut item = next(30) as usize;
            for _ in 0..len {
                item = (item + 1 + next(3) as usize) % 30;
                t += 1;
                b.push(&format!("u{u}"), &format!("i{item}"), EventKind::View, t * 1000);
            }
        }
        Split::new(b.build(&SequenceOptions::default()).unwrap(), spec).unwrap()
    }

    /// What `localrec eval --model NAME --json` computes (`run_compare` in the command line):
    /// the baseline fitted on the phase's training data, `eval::run`, `EvalReport::build`.
    fn cli_report(name: &str, split: &Split, phase: Phase, cfg: &EvalConfig) -> EvalReport {
        let m = model::baseline(name, &split.train(phase)).unwrap();
        let run = crate::eval::run(m.as_ref(), split, phase, cfg, &|_, _| {}).unwrap();
        EvalReport::build(&run, split, phase, cfg, 0.25)
    }

    #[test]
    fn the_report_is_the_command_lines() {
        for spec in [SplitSpec::LeaveOneOut, "temporal:0.8".parse().unwrap()] {
            let split = walks(spec);
            let other = EvalConfig { ks: vec![3, 10], bootstrap: 200, ..EvalConfig::default() };
            for cfg in [EvalConfig::default(), other] {
                let mut ndcg = Vec::new();
                for name in BASELINES {
                    let ev = BaselineEvaluation::fit(name, &split, Phase::Test, cfg.clone()).unwrap();
                    let run = ev.run().unwrap();
                    assert_eq!(run.cases.len(), ev.cases());
                    let mut got = ev.report(&run, 0.25);
                    let mut want = cli_report(name, &split, Phase::Test, &cfg);
                    // Wall-clock time is the only thing that may differ.
                    got.timing.eval_s = 0.0;
                    want.timing.eval_s = 0.0;
                    assert_eq!(got, want, "{name} on {}", split.spec);
                    assert_eq!(got.model, name);
                    assert!(got.metrics["ndcg@10"] > 0.0, "{name}: a real figure");
                    ndcg.push(got.metrics["ndcg@10"]);
                }
                assert!(ndcg[0] != ndcg[1] && ndcg[1] != ndcg[2], "the baselines rank differently: {ndcg:?}");
            }
        }
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let split = walks(SplitSpec::LeaveOneOut);
        let err = |name: &str, cfg: EvalConfig| {
            BaselineEvaluation::fit(name, &split, Phase::Test, cfg).err().map(|e| e.to_string()).unwrap_or_default()
        };
        assert_eq!(
            err("sasrec", EvalConfig::default()),
            "invalid value for `name`: unknown baseline `sasrec` (available: pop, markov, itemknn)"
        );
        assert!(check_baseline("mostpop").is_err(), "only the names `localrec eval` lists");
        assert!(err("pop", EvalConfig { ks: vec![0], ..EvalConfig::default() }).contains("ks"));
        // A temporal split whose validation and test cuts coincide has no validation cases:
        // evaluating that phase is an error naming the split, not an empty report.
        let same_cut = walks("temporal:0.8:0.8".parse().unwrap());
        assert!(BaselineEvaluation::fit("pop", &same_cut, Phase::Test, EvalConfig::default()).is_ok());
        let e = BaselineEvaluation::fit("pop", &same_cut, Phase::Valid, EvalConfig::default()).err().unwrap();
        assert!(matches!(e, Error::Empty(_)), "{e}");
        assert_eq!(e.to_string(), format!("split `{}` of `walks` has no valid cases to evaluate", same_cut.spec));
    }
}
