//! SVG charts of evaluation reports (native builds only).
//!
//! Each function draws one line per model, with a title, axis labels and a legend, and
//! returns the SVG document as a string. Text is emitted as SVG `<text>` elements and drawn
//! by whatever displays the SVG, so no font files are needed. Nothing to plot, or a failure
//! inside the plotting library, is an [`Error::Empty`] or [`Error::Output`]; no input makes these functions panic.
//!
//! - [`metric_at_k`]: a metric over the cut-offs K (`ndcg@1`, `ndcg@5`, ...).
//! - [`by_length`]: a metric across history-length buckets.
//! - [`drift_vs_accuracy`]: a metric across interest-drift quintiles.
#![cfg(not(target_arch = "wasm32"))]

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::eval::dynamic::Group;
use crate::eval::report::EvalReport;

/// Width and height of every chart, in pixels.
pub const SIZE: (u32, u32) = (800, 480);

/// One model's line: `(x index, value)` points.
struct Line {
    name: String,
    points: Vec<(usize, f64)>,
}

fn plot_error(e: impl std::fmt::Display) -> Error {
    Error::Output(format!("could not draw the chart: {e}"))
}

/// A line chart over categorical x positions `0..labels.len()`.
fn line_chart(title: &str, x_desc: &str, y_desc: &str, labels: &[String], lines: &[Line]) -> Result<String> {
    let values: Vec<f64> = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).filter(|v| v.is_finite()).collect();
    if labels.is_empty() || values.is_empty() {
        return Err(Error::Empty(format!("nothing to plot for `{title}`: no values")));
    }
    let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bottom = values.iter().copied().fold(f64::INFINITY, f64::min).min(0.0);
    let top = if top > bottom { top + 0.1 * (top - bottom) } else { bottom + 1.0 };
    let n = labels.len();
    let label_of = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
            usize::try_from(*i).ok().and_then(|i| labels.get(i)).cloned().unwrap_or_default()
        }
        SegmentValue::Last => String::new(),
    };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        // One segment per label; points sit at the segment centres.
        let x_range = (0i32..n as i32 - 1).into_segmented();
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(x_range, bottom..top)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_labels(n)
            .x_label_formatter(&label_of)
            .y_label_formatter(&|y| format!("{y:.3}"))
            .draw()
            .map_err(plot_error)?;
        for (i, line) in lines.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let pts: Vec<(SegmentValue<i32>, f64)> = line
                .points
                .iter()
                .filter(|p| p.1.is_finite())
                .map(|&(x, y)| (SegmentValue::CenterOf(x as i32), y))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(plot_error)?
                .label(line.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
            chart.draw_series(pts.iter().map(|p| Circle::new(p.clone(), 3, color.filled()))).map_err(plot_error)?;
        }
        // The legend goes in the upper corner the lines leave free: left when they rise.
        let (first, last) = lines.iter().fold((0.0, 0.0), |(f, l), line| {
            let ys: Vec<f64> = line.points.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
            (f + ys.first().copied().unwrap_or(0.0), l + ys.last().copied().unwrap_or(0.0))
        });
        let corner = if last > first { SeriesLabelPosition::UpperLeft } else { SeriesLabelPosition::UpperRight };
        chart
            .configure_series_labels()
            .position(corner)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(plot_error)?;
        root.present().map_err(plot_error)?;
    }
    Ok(svg)
}

fn require_reports(reports: &[&EvalReport]) -> Result<()> {
    if reports.is_empty() { Err(Error::Empty("nothing to plot: no reports".into())) } else { Ok(()) }
}

/// `metric` (a key prefix such as `ndcg`) at every cut-off K the reports have, one line per
/// model.
pub fn metric_at_k(reports: &[&EvalReport], metric: &str) -> Result<String> {
    require_reports(reports)?;
    let mut ks: Vec<usize> = reports.iter().flat_map(|r| r.protocol.ks.iter().copied()).collect();
    ks.sort_unstable();
    ks.dedup();
    let lines: Vec<Line> = reports
        .iter()
        .map(|r| Line {
            name: r.model.clone(),
            points: ks
                .iter()
                .enumerate()
                .filter_map(|(i, k)| r.metrics.get(&format!("{metric}@{k}")).map(|v| (i, *v)))
                .collect(),
        })
        .collect();
    let labels: Vec<String> = ks.iter().map(|k| k.to_string()).collect();
    line_chart(&format!("{metric}@K (full ranking)"), "K", metric, &labels, &lines)
}

/// Lines over groups: each report's groups come from `groups`; labels from the report with
/// the most groups.
fn group_lines(
    reports: &[&EvalReport],
    key: &str,
    groups: impl Fn(&EvalReport) -> Option<&[Group]>,
) -> (Vec<String>, Vec<Line>) {
    let labels: Vec<String> = reports
        .iter()
        .filter_map(|r| groups(r))
        .max_by_key(|g| g.len())
        .map(|g| g.iter().map(|g| g.label.clone()).collect())
        .unwrap_or_default();
    let lines = reports
        .iter()
        .filter_map(|r| {
            let gs = groups(r)?;
            let points = gs.iter().enumerate().filter_map(|(i, g)| g.metrics.get(key).map(|v| (i, *v))).collect();
            Some(Line { name: r.model.clone(), points })
        })
        .collect();
    (labels, lines)
}

/// `metric_key` (such as `ndcg@10`) across the history-length buckets, one line per model.
pub fn by_length(reports: &[&EvalReport], metric_key: &str) -> Result<String> {
    require_reports(reports)?;
    let (labels, lines) = group_lines(reports, metric_key, |r| Some(r.dynamic.by_length.as_slice()));
    line_chart(&format!("{metric_key} by history length"), "history length (items)", metric_key, &labels, &lines)
}

/// `metric_key` (such as `ndcg@10`) across the interest-drift quintiles, one line per model.
/// An [`Error::Empty`] when no report has drift (the data has no item categories).
pub fn drift_vs_accuracy(reports: &[&EvalReport], metric_key: &str) -> Result<String> {
    require_reports(reports)?;
    if reports.iter().all(|r| r.dynamic.drift.as_ref().is_none_or(|d| d.by_drift.is_empty())) {
        return Err(Error::Empty(
            "no interest drift in these reports: the data has no item categories, or no history has four \
             categorised items"
                .into(),
        ));
    }
    let (labels, lines) = group_lines(reports, metric_key, |r| r.dynamic.drift.as_ref().map(|d| d.by_drift.as_slice()));
    line_chart(
        &format!("{metric_key} by interest drift"),
        "interest drift (Jensen–Shannon divergence, quintiles)",
        metric_key,
        &labels,
        &lines,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::eval::dynamic::{Drift, Dynamic};
    use crate::eval::report::{Protocol, toy_report};

    fn group(label: &str, v: Option<f64>) -> Group {
        Group {
            label: label.into(),
            lo: 0.0,
            hi: 1.0,
            cases: usize::from(v.is_some()),
            metrics: v.map(|v| ("ndcg@10".to_string(), v)).into_iter().collect(),
        }
    }

    fn report(model: &str, scale: f64, drift: bool) -> EvalReport {
        let ks = vec![1, 5, 10, 20];
        let metrics: BTreeMap<String, f64> =
            ks.iter().map(|k| (format!("ndcg@{k}"), scale * (*k as f64).ln_1p() / 10.0)).collect();
        EvalReport {
            protocol: Protocol { ks, ..toy_report(model).protocol },
            cases: 10,
            metrics,
            dynamic: Dynamic {
                by_length: vec![group("1–2", Some(0.1 * scale)), group("3–5", None), group("6–10", Some(0.3 * scale))],
                by_activity: Vec::new(),
                by_time: None,
                drift: drift.then(|| Drift {
                    by_drift: vec![group("0.00–0.10", Some(0.4 * scale)), group("0.10–0.90", Some(0.2 * scale))],
                    share: 1.0,
                    mean: Some(0.3),
                    ..Default::default()
                }),
            },
            ..toy_report(model)
        }
    }

    /// The texts of the SVG's `<text>` elements (plotters writes each on its own line).
    fn texts(svg: &str) -> Vec<&str> {
        let lines: Vec<&str> = svg.lines().collect();
        lines.windows(2).filter(|w| w[0].starts_with("<text")).map(|w| w[1]).collect()
    }

    #[test]
    fn charts_are_svg_with_title_legend_and_labels() {
        let (a, b) = (report("sasrec", 1.0, true), report("pop<&>", 0.5, true));
        let svg = metric_at_k(&[&a, &b], "ndcg").unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        let t = texts(&svg);
        for want in ["ndcg@K (full ranking)", "K", "ndcg", "1", "5", "10", "20", "sasrec", "pop&lt;&amp;&gt;"] {
            assert!(t.contains(&want), "`{want}` not in {t:?}");
        }
        // 4 cut-offs × 2 models, one marker each
        assert_eq!(svg.matches("<circle").count(), 8);

        let svg = by_length(&[&a, &b], "ndcg@10").unwrap();
        let t = texts(&svg);
        assert!(svg.starts_with("<svg"));
        for want in ["ndcg@10 by history length", "history length (items)", "1–2", "3–5", "6–10", "sasrec"] {
            assert!(t.contains(&want), "`{want}` not in {t:?}");
        }
        // bucket 3–5 has no value: 2 markers per model
        assert_eq!(svg.matches("<circle").count(), 4);

        let svg = drift_vs_accuracy(&[&a, &b], "ndcg@10").unwrap();
        let t = texts(&svg);
        assert!(svg.starts_with("<svg"));
        for want in ["ndcg@10 by interest drift", "0.00–0.10", "0.10–0.90", "sasrec", "pop&lt;&amp;&gt;"] {
            assert!(t.contains(&want), "`{want}` not in {t:?}");
        }
    }

    #[test]
    fn nothing_to_plot_is_an_error() {
        let plain = report("pop", 1.0, false);
        assert!(matches!(drift_vs_accuracy(&[&plain], "ndcg@10"), Err(Error::Empty(_))));
        assert!(matches!(metric_at_k(&[&plain], "nope"), Err(Error::Empty(_))));
        assert!(matches!(by_length(&[&plain], "hr@10"), Err(Error::Empty(_))));
        assert!(matches!(metric_at_k(&[], "ndcg"), Err(Error::Empty(_))));
        // NaN values are skipped; a report with only NaN has nothing to draw
        let mut nan = report("nan", 1.0, false);
        nan.metrics.values_mut().for_each(|v| *v = f64::NAN);
        assert!(matches!(metric_at_k(&[&nan], "ndcg"), Err(Error::Empty(_))));
        // constant values still give a drawable range
        let mut flat = report("flat", 0.0, false);
        flat.metrics.values_mut().for_each(|v| *v = 0.0);
        assert!(metric_at_k(&[&flat], "ndcg").unwrap().starts_with("<svg"));
    }
}
