//! The `localrec` command line: bad input gets one clear line and a non-zero exit, good input
//! gets a report. Needs the `cli` feature (the binary).
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli").join(name)
}

fn localrec(args: &[&str]) -> Output {
    let data_dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_localrec"))
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("the localrec binary runs")
}

/// Asserts a failed run printed exactly one line on stderr containing every `needle`.
fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure, got success; stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got:\n{stderr}");
    for n in needles {
        assert!(lines[0].contains(n), "`{n}` missing from: {}", lines[0]);
    }
    for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "internal error"] {
        assert!(!stderr.contains(bad), "stderr mentions `{bad}`: {stderr}");
    }
    assert!(out.stdout.is_empty(), "nothing on stdout for a failure");
}

#[test]
fn truncated_line_names_file_line_and_problem() {
    let p = fixture("truncated.inter");
    let out = localrec(&["data", "stats", p.to_str().unwrap()]);
    assert_one_line_error(&out, &["truncated.inter:3:", "field"]);
}

#[test]
fn non_numeric_timestamp_names_file_line_and_value() {
    let p = fixture("badts.inter");
    let out = localrec(&["eval", "--model", "pop", "--data", p.to_str().unwrap()]);
    assert_one_line_error(&out, &["badts.inter:3:", "yesterday"]);
}

#[test]
fn empty_missing_and_unknown_files_are_clear_errors() {
    let empty = fixture("empty.inter");
    assert_one_line_error(&localrec(&["data", "stats", empty.to_str().unwrap()]), &["empty.inter", "no data"]);
    let missing = fixture("does-not-exist.inter");
    assert_one_line_error(&localrec(&["data", "stats", missing.to_str().unwrap()]), &["does-not-exist.inter"]);
    let mystery = fixture("mystery.bin");
    assert_one_line_error(
        &localrec(&["data", "stats", mystery.to_str().unwrap()]),
        &["mystery.bin", "unknown data format"],
    );
}

#[test]
fn unknown_model_is_rejected_before_loading() {
    let p = fixture("shop.csv");
    let out = localrec(&["eval", "--model", "gpt", "--data", p.to_str().unwrap()]);
    assert_one_line_error(&out, &["unknown model `gpt`", "pop"]);
}

#[test]
fn eval_json_report_has_stable_keys_and_sane_values() {
    let p = fixture("shop.csv");
    let out = localrec(&["--quiet", "eval", "--model", "markov", "--data", p.to_str().unwrap(), "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(v["model"], "markov");
    assert_eq!(v["cases"], 12, "every user of the fixture has >= 3 events: one test case each");
    for key in ["hr@10", "ndcg@10", "mrr@10", "recall@20", "precision@5", "f1@5", "map@10", "gauc", "coverage@10"] {
        let x = v["metrics"][key].as_f64().unwrap_or_else(|| panic!("metrics.{key} missing"));
        assert!((0.0..=1.0).contains(&x), "{key} = {x}");
    }
    let ci = &v["ci95"]["ndcg@10"];
    let (lo, hi, mid) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap(), v["metrics"]["ndcg@10"].as_f64().unwrap());
    assert!(lo <= mid && mid <= hi, "CI [{lo}, {hi}] around {mid}");
}

#[test]
fn compare_prints_a_leaderboard_and_writes_plots() {
    let p = fixture("shop.csv");
    let out_dir = tempfile::tempdir().unwrap();
    let out = localrec(&[
        "--quiet",
        "compare",
        "--models",
        "pop,markov,itemknn",
        "--data",
        p.to_str().unwrap(),
        "--out",
        out_dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    for m in ["pop", "markov", "itemknn", "HR@10", "NDCG@10"] {
        assert!(table.contains(m), "`{m}` missing from:\n{table}");
    }
    for f in ["compare.json", "compare.md", "pop.json", "ndcg_at_k.svg", "ndcg10_by_length.svg"] {
        let path = out_dir.path().join(f);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!text.is_empty());
    }
    let svg = std::fs::read_to_string(out_dir.path().join("ndcg_at_k.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("itemknn"));
}

#[test]
fn bad_options_are_rejected_before_loading() {
    let p = fixture("shop.csv");
    let out = localrec(&["eval", "--model", "pop", "--data", p.to_str().unwrap(), "--ks", "5,0"]);
    assert_one_line_error(&out, &["`ks`", "at least 1"]);
}

#[test]
fn data_list_names_the_datasets() {
    let out = localrec(&["data", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["ml-100k", "beauty", "video-games", "diginetica", "ml-1m"] {
        assert!(text.lines().any(|l| l.starts_with(name)), "{name} missing:\n{text}");
    }
}

#[test]
fn train_writes_a_bundle_that_eval_reads_back_with_the_same_test_figure() {
    let data = fixture("shop.csv");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("shop-sasrec.lrec");
    let (data_s, bundle_s) = (data.to_str().unwrap(), bundle.to_str().unwrap());
    let out =
        localrec(&["-q", "train", "--data", data_s, "--epochs", "3", "--dim", "16", "--out", bundle_s, "--seed", "7"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // "sasrec: best epoch E of 3, valid NDCG@10 x HR@10 y, test NDCG@10 z HR@10 w (12 cases), ..."
    let test_ndcg: f64 = stdout
        .split("test NDCG@10 ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no test figure in: {stdout}"));

    let out = localrec(&["-q", "eval", "--model", bundle_s, "--data", data_s, "--json", "--bootstrap", "0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["model"], "sasrec");
    let ndcg = v["metrics"]["ndcg@10"].as_f64().unwrap();
    assert!((ndcg - test_ndcg).abs() < 1e-4, "eval {ndcg} vs train's test {test_ndcg}");

    // A damaged bundle is one clear line, and nothing is written.
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = dir.path().join("cut.lrec");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_one_line_error(
        &localrec(&["eval", "--model", cut.to_str().unwrap(), "--data", data_s]),
        &["cut.lrec", "truncated"],
    );
    let mut flipped = bytes.clone();
    let last = flipped.len() - 10;
    flipped[last] ^= 0x40;
    let bad = dir.path().join("flipped.lrec");
    std::fs::write(&bad, &flipped).unwrap();
    assert_one_line_error(
        &localrec(&["eval", "--model", bad.to_str().unwrap(), "--data", data_s]),
        &["flipped.lrec", "checksum"],
    );
}

/// One ranking rule: the validation and test figures a training run selects by and records in
/// its bundle are what `localrec eval` reports for that bundle, to the last bit of a JSON float.
#[test]
fn training_figures_equal_eval_on_the_saved_bundle() {
    let data = fixture("shop.csv");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("shop-gru4rec.lrec");
    let (data_s, bundle_s) = (data.to_str().unwrap(), bundle.to_str().unwrap());
    let out = localrec(&[
        "-q", "train", "--model", "gru4rec", "--data", data_s, "--epochs", "2", "--dim", "8", "--out", bundle_s,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = localrec::bundle::Bundle::load_file(&bundle).unwrap().manifest;
    for phase in ["valid", "test"] {
        let out = localrec(&[
            "-q",
            "eval",
            "--model",
            bundle_s,
            "--data",
            data_s,
            "--phase",
            phase,
            "--json",
            "--bootstrap",
            "0",
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for metric in ["ndcg@10", "hr@10", "hr@1"] {
            let eval = v["metrics"][metric].as_f64().unwrap();
            let trained = manifest.metrics[&format!("{phase}/{metric}")];
            // (serde_json without its `float_roundtrip` feature may read a float back 1 ulp off.)
            assert!((eval - trained).abs() <= 1e-12, "{phase} {metric}: eval {eval} vs training {trained}");
        }
    }
}

#[test]
fn train_other_encoders_writes_bundles_that_eval_serves() {
    let data = fixture("shop.csv");
    let dir = tempfile::tempdir().unwrap();
    let data_s = data.to_str().unwrap();
    for (kind, extra) in
        [("gru4rec", &["--layers", "2"][..]), ("bert4rec", &["--mask-prob", "0.3", "--heads", "2"][..])]
    {
        let bundle = dir.path().join(format!("shop-{kind}.lrec"));
        let bundle_s = bundle.to_str().unwrap();
        let mut args = vec!["-q", "train", "--model", kind, "--data", data_s, "--epochs", "2", "--dim", "8"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--out", bundle_s]);
        let out = localrec(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{kind}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.starts_with(&format!("{kind}: best epoch")), "{stdout}");
        let out = localrec(&["-q", "eval", "--model", bundle_s, "--data", data_s, "--json", "--bootstrap", "0"]);
        assert!(out.status.success(), "{kind}: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["model"], kind);
        assert_eq!(v["cases"], 12);
    }
    // An option of another encoder is refused before any data is read.
    let out = localrec(&["train", "--model", "sasrec", "--data", "no-such-file.csv", "--layers", "2"]);
    assert_one_line_error(&out, &["--layers", "gru4rec and lstm"]);
}

/// `--kinds`: the bundle records `use_kinds`, and `localrec eval` of it (which scores each
/// history with its kinds, as training's evaluation did) reports the test figure training
/// recorded; an encoder that reads no kinds refuses the flag, naming those that do.
#[test]
fn train_with_kinds_writes_a_bundle_that_eval_serves_with_kinds() {
    let data = fixture("shop.csv");
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("shop-gru4rec-kinds.lrec");
    let (data_s, bundle_s) = (data.to_str().unwrap(), bundle.to_str().unwrap());
    let out = localrec(&[
        "-q", "train", "--model", "gru4rec", "--kinds", "--data", data_s, "--epochs", "1", "--dim", "8", "--out",
        bundle_s,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = localrec::bundle::Bundle::load_file(&bundle).unwrap().manifest;
    assert_eq!(manifest.encoder.kind, "gru4rec");
    assert_eq!(manifest.encoder.config["use_kinds"], true);
    let out = localrec(&["-q", "eval", "--model", bundle_s, "--data", data_s, "--json", "--bootstrap", "0"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["model"].as_str(), v["cases"].as_u64()), (Some("gru4rec"), Some(12)));
    let (eval, trained) = (v["metrics"]["ndcg@10"].as_f64().unwrap(), manifest.metrics["test/ndcg@10"]);
    assert!((eval - trained).abs() <= 1e-12, "eval {eval} vs training {trained}");

    let out = localrec(&["train", "--model", "bert4rec", "--kinds", "--data", "no-such-file.csv"]);
    assert_one_line_error(&out, &["--kinds", "sasrec, gru4rec, lstm and attnpool, not to bert4rec"]);
}

#[test]
fn export_rewrites_a_bundle_in_half_precision_and_checks_it() {
    let data = fixture("shop.csv");
    let dir = tempfile::tempdir().unwrap();
    let (full, half) = (dir.path().join("full.lrec"), dir.path().join("out").join("half.lrec"));
    let (data_s, full_s, half_s) = (data.to_str().unwrap(), full.to_str().unwrap(), half.to_str().unwrap());
    let out = localrec(&["-q", "train", "--data", data_s, "--epochs", "2", "--dim", "16", "--out", full_s]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = localrec(&["export", "--model", full_s, "--out", half_s, "--half"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::metadata(&half).unwrap().len() < std::fs::metadata(&full).unwrap().len());
    let out = localrec(&["export", "--model", half_s, "--check"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let body = std::fs::read(&half).unwrap();
    let file_line = format!("file        sha256 {}", localrec::bundle::sha256_hex(&body[..body.len() - 32]));
    for needle in
        ["encoder     sasrec", "items       8", "item table  F16 [9, 16]", "checksum OK", &file_line, "valid/ndcg@10"]
    {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }

    // Both evaluate to nearly the same figure.
    let ndcg = |bundle: &str| {
        let out = localrec(&["-q", "eval", "--model", bundle, "--data", data_s, "--json", "--bootstrap", "0"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["metrics"]["ndcg@10"].as_f64().unwrap()
    };
    assert!((ndcg(full_s) - ndcg(half_s)).abs() < 1e-3);

    let cut = dir.path().join("cut.lrec");
    std::fs::write(&cut, &std::fs::read(&full).unwrap()[..100]).unwrap();
    assert_one_line_error(
        &localrec(&["export", "--model", cut.to_str().unwrap(), "--check"]),
        &["cut.lrec", "truncated"],
    );
}

/// `export --items`: int8 and pq bundles are written, checked, evaluated (close to f32 on this
/// tiny catalogue: pq with 4 sub-spaces of 4 values keeps most of the table) and re-exported
/// only from the f32 table; bad formats are one-line errors.
#[test]
fn export_writes_compressed_item_tables() {
    let data = fixture("shop.csv");
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.lrec");
    let (data_s, full_s) = (data.to_str().unwrap(), full.to_str().unwrap());
    let out = localrec(&["-q", "train", "--data", data_s, "--epochs", "2", "--dim", "16", "--out", full_s]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ndcg = |bundle: &str| {
        let out = localrec(&["-q", "eval", "--model", bundle, "--data", data_s, "--json", "--bootstrap", "0"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["metrics"]["ndcg@10"].as_f64().unwrap()
    };
    for (items, extra, shows) in [
        ("int8", &[][..], "item table  int8 (version 1) 9 rows x 16"),
        ("pq:4", &["--exact", "3"][..], "item table  pq (version 1) 9 rows x 16, 4 sub-spaces, 3 exact rows"),
    ] {
        let path = dir.path().join(format!("{}.lrec", items.replace(':', "-")));
        let p = path.to_str().unwrap();
        let mut args = vec!["export", "--model", full_s, "--out", p, "--items", items];
        args.extend_from_slice(extra);
        let out = localrec(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("item table {items}")));
        let out = localrec(&["export", "--model", p, "--check"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(shows) && text.contains("checksum OK"), "{items}: {text}");
        let (a, b) = (ndcg(full_s), ndcg(p));
        assert!((a - b).abs() < 0.1, "{items}: ndcg {b} vs f32 {a}");
        assert_one_line_error(
            &localrec(&["export", "--model", p, "--out", p, "--items", "pq:2"]),
            &["already compressed", "f32 or f16"],
        );
    }
    let out_s = dir.path().join("x.lrec");
    let out_s = out_s.to_str().unwrap();
    for (items, expect) in [("pq:5", "5 sub-spaces do not divide rows of width 16"), ("int4", "not a table format")] {
        assert_one_line_error(&localrec(&["export", "--model", full_s, "--out", out_s, "--items", items]), &[expect]);
    }
    assert_one_line_error(
        &localrec(&["export", "--model", full_s, "--out", out_s, "--items", "int8", "--exact", "2"]),
        &["exact rows are kept by pq tables only"],
    );
}

/// `compare --seeds`: the bundles of two training seeds become one accuracy row, their mean,
/// with each seed's command and figures and the standard deviation; the baselines keep their
/// own rows.
#[test]
fn compare_seeds_records_the_mean_of_the_seeds_as_one_row() {
    let data = fixture("shop.csv");
    let dir = tempfile::tempdir().unwrap();
    let data_s = data.to_str().unwrap();
    let mut bundles = Vec::new();
    let mut figures = Vec::new();
    for seed in ["1", "2"] {
        let b = dir.path().join(format!("s{seed}.lrec"));
        let b_s = b.to_str().unwrap().to_string();
        let out = localrec(&[
            "-q", "train", "--model", "gru4rec", "--data", data_s, "--epochs", "2", "--dim", "8", "--seed", seed,
            "--out", &b_s,
        ]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        figures.push(localrec::bundle::Bundle::load_file(&b).unwrap().manifest.metrics["test/ndcg@10"]);
        bundles.push(b_s);
    }
    let results = dir.path().join("accuracy.json");
    let models = format!("pop,{},{}", bundles[0], bundles[1]);
    let out = localrec(&[
        "-q",
        "compare",
        "--data",
        data_s,
        "--models",
        &models,
        "--bootstrap",
        "0",
        "--seeds",
        "--results",
        results.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows = localrec::eval::results::read(&results).unwrap();
    assert_eq!(rows.iter().map(|r| r.model.as_str()).collect::<Vec<_>>(), ["pop", "gru4rec"]);
    let mean = &rows[1];
    assert_eq!(mean.seeds.len(), 2);
    assert!(mean.seeds[1].command.contains("--seed 2"), "{}", mean.seeds[1].command);
    let expect = (figures[0] + figures[1]) / 2.0;
    assert!((mean.metrics["ndcg@10"] - expect).abs() < 1e-9, "{} vs {expect}", mean.metrics["ndcg@10"]);
    let sd = (figures[0] - figures[1]).abs() / 2f64.sqrt();
    assert!((mean.sd["ndcg@10"] - sd).abs() < 1e-9);

    // `--seeds` needs `--results`, and `--categories` needs data with categories.
    assert!(!localrec(&["compare", "--data", data_s, "--models", &models, "--seeds"]).status.success());
    let out = localrec(&["-q", "train", "--data", data_s, "--epochs", "1", "--categories"]);
    assert_one_line_error(&out, &["--categories", "no item categories"]);
}

/// Writes `lines` (one per line) into `reports.jsonl` in a new folder.
fn reports_file(lines: &[String]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reports.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (dir, path)
}

/// Private reports of synthetic devices, privatized by the library: `sasrec` devices click
/// rarely, `gru4rec` devices often (so the estimate of clicked is far apart), at ε = 4.
fn synthetic_reports(per_variant: u64) -> Vec<String> {
    use localrec::online::DeviceSummary;
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut lines = Vec::new();
    for i in 0..per_variant {
        for (variant, clicks) in [("sasrec", u64::from(i % 10 == 0)), ("gru4rec", u64::from(i % 10 < 8))] {
            let s = DeviceSummary {
                variant: variant.into(),
                impression_sets: 3,
                clicks,
                hits: i % 2,
                ..Default::default()
            };
            lines.push(serde_json::to_string(&s.privatize(4.0, &mut rng).unwrap()).unwrap());
        }
        if i % 100 == 0 {
            lines.push(String::new()); // blank lines are skipped
        }
    }
    lines
}

#[test]
fn ab_estimate_prints_each_variant_with_epsilon_and_the_difference() {
    let (_dir, path) = reports_file(&synthetic_reports(2_000));
    let out = localrec(&["ab-estimate", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("4000 private reports (randomized-response v1), 2 variants"), "{stdout}");
    assert!(stdout.contains("ε"), "{stdout}");
    // ε = 4 over 5 bits: 0.8 per bit, p = e^0.8 / (1 + e^0.8) = 0.690.
    let rows: Vec<&str> = stdout.lines().filter(|l| l.contains("2000") && l.contains("4 (0.8, p = 0.690)")).collect();
    assert_eq!(rows.len(), 10, "{stdout}");
    for variant in ["sasrec", "gru4rec"] {
        for ind in ["exposed", "clicked", "carted", "purchased", "hit"] {
            assert!(rows.iter().any(|r| r.starts_with(variant) && r.contains(ind)), "{variant} {ind}: {stdout}");
        }
    }
    assert!(stdout.contains("gru4rec − sasrec"), "{stdout}");
    // True clicked shares 0.1 and 0.8: the difference (0.7) is clearly not 0.
    let clicked = stdout.lines().find(|l| l.trim_start().starts_with("clicked") && l.contains("excludes 0"));
    assert!(clicked.is_some(), "{stdout}");

    let out = localrec(&["ab-estimate", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(v["mechanism"], "randomized-response");
    assert_eq!(v["variants"].as_array().unwrap().len(), 2);
    assert_eq!(v["variants"][0]["variant"], "sasrec");
    assert_eq!(v["variants"][1]["epsilon"], 4.0);
    assert_eq!(v["variants"][1]["reports"], 2000);
    let clicked = &v["variants"][1]["indicators"][1];
    assert_eq!(clicked["indicator"], "clicked");
    let (lo, hi) = (clicked["ci95"]["lo"].as_f64().unwrap(), clicked["ci95"]["hi"].as_f64().unwrap());
    assert!(lo <= 0.8 && 0.8 <= hi, "gru4rec clicked [{lo}, {hi}] should hold 0.8");
    assert_eq!(v["differences"].as_array().unwrap().len(), 5);
}

#[test]
fn ab_estimate_bad_lines_name_the_line() {
    let good = synthetic_reports(2);
    let mut lines = good.clone();
    lines.insert(2, "{\"mechanism\": \"randomized-response\", ".to_string());
    let (_dir, path) = reports_file(&lines);
    assert_one_line_error(
        &localrec(&["ab-estimate", path.to_str().unwrap()]),
        &["reports.jsonl:3:", "not a private report"],
    );

    let mut lines = good.clone();
    lines[1] = lines[1].replace("\"epsilon\":4.0", "\"epsilon\":-1.0");
    let (_dir, path) = reports_file(&lines);
    assert_one_line_error(&localrec(&["ab-estimate", path.to_str().unwrap()]), &["reports.jsonl:2:", "epsilon", "-1"]);

    let mut lines = good.clone();
    lines.push(lines[0].replace("\"epsilon\":4.0", "\"epsilon\":1.0"));
    let (_dir, path) = reports_file(&lines);
    let n = format!("reports.jsonl:{}:", lines.len());
    assert_one_line_error(&localrec(&["ab-estimate", path.to_str().unwrap()]), &[&n, "`sasrec`", "ε = 1", "line 1"]);

    let (_dir, path) = reports_file(&[String::new(), "  ".into()]);
    assert_one_line_error(&localrec(&["ab-estimate", path.to_str().unwrap()]), &["reports.jsonl", "no data"]);
}
