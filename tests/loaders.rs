//! Loaders, format detection and fetching, against tiny fixtures (exact values worked out by
//! hand) and, where present, the shared data folder and the recbole wheel.

use std::path::{Path, PathBuf};

use localrec::Error;
use localrec::data::format::{detect, find_shared_dir};
use localrec::data::{ColumnMap, DataFormat, DataSpec, Dataset, LoadOptions, load, load_detailed, load_path};
use localrec::events::EventKind;

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Options that never touch the network or the shared folder.
fn opts() -> LoadOptions {
    LoadOptions { data_dir: PathBuf::from("/nonexistent/localrec-data"), shared_dir: None, ..LoadOptions::default() }
}

fn ld(rel: &str) -> Dataset {
    load_path(fixture(rel), None, &opts()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Sequence of user `u` as external item ids.
fn items_of(ds: &Dataset, user: &str) -> Vec<String> {
    let u = ds.users.iter().position(|x| x == user).unwrap_or_else(|| panic!("no user {user}"));
    ds.seqs[u].items.iter().map(|&i| ds.items.id(i).unwrap().to_string()).collect()
}

fn ts_of(ds: &Dataset, user: &str) -> Vec<i64> {
    let u = ds.users.iter().position(|x| x == user).unwrap();
    ds.seqs[u].ts.clone()
}

fn title(ds: &Dataset, item: &str) -> Option<String> {
    ds.meta.titles[ds.items.get(item).unwrap() as usize].clone()
}

fn cats(ds: &Dataset, item: &str) -> Vec<String> {
    let i = ds.items.get(item).unwrap();
    ds.meta.categories_of(i).iter().map(|&c| ds.meta.category_names[c as usize].clone()).collect()
}

fn err(rel: &str, format: Option<DataFormat>) -> String {
    match load_path(fixture(rel), format, &opts()) {
        Ok(_) => panic!("{rel} loaded without error"),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Formats

#[test]
fn recbole_inter_with_item_file() {
    let dir = fixture("recbole/tiny");
    assert_eq!(detect(&dir).unwrap(), DataFormat::Recbole);
    assert_eq!(detect(dir.join("tiny.inter")).unwrap(), DataFormat::Recbole);
    let ds = ld("recbole/tiny");
    assert_eq!(ds.name, "tiny");
    assert_eq!(ds.users, ["u1", "u2"]);
    assert_eq!(ds.items.ids(), ["i1", "i2", "i3"], "items interned in order of first appearance");
    assert_eq!(ds.num_interactions(), 5, "the blank line is skipped");
    assert!(ds.has_timestamps);
    assert_eq!(items_of(&ds, "u1"), ["i3", "i1", "i2"]);
    assert_eq!(ts_of(&ds, "u1"), [90_000, 100_000, 100_500]);
    assert_eq!(items_of(&ds, "u2"), ["i1", "i2"]);
    assert_eq!(ts_of(&ds, "u2"), [40_000, 50_000]);
    assert!(ds.seqs.iter().all(|s| s.kinds.iter().all(|&k| k == EventKind::Rate)));
    assert_eq!(title(&ds, "i1").as_deref(), Some("Toy Story"));
    assert_eq!(cats(&ds, "i1"), ["Animation", "Children's", "Comedy"]);
    assert_eq!(cats(&ds, "i2"), ["Action", "Crime"]);
    assert_eq!(title(&ds, "i3").as_deref(), Some("Unrated"));
    assert!(cats(&ds, "i3").is_empty());
    assert!(ds.items.get("i9").is_none(), "items only in the .item file are not in the catalog");
}

#[test]
fn recbole_without_timestamps_keeps_file_order() {
    let ds = ld("recbole/nots.inter");
    assert!(!ds.has_timestamps);
    assert_eq!(items_of(&ds, "a"), ["x", "y"]);
    assert_eq!(ts_of(&ds, "a"), [0, 2]);
    assert_eq!(ts_of(&ds, "b"), [1]);
    assert_eq!(ds.seqs[0].kinds, [EventKind::View, EventKind::View], "no rating column: views");
}

#[test]
fn movielens_dat_with_latin1_movies() {
    let dir = fixture("ml-dat");
    assert_eq!(detect(&dir).unwrap(), DataFormat::MovielensDat);
    assert_eq!(detect(dir.join("ratings.dat")).unwrap(), DataFormat::MovielensDat);
    let ds = ld("ml-dat/ratings.dat");
    assert_eq!(ds.name, "ml-dat", "named after the folder holding ratings.dat");
    assert_eq!(ds.users, ["1", "2"]);
    assert_eq!(ds.items.ids(), ["10", "20"]);
    assert_eq!(items_of(&ds, "1"), ["20", "10"]);
    assert_eq!(ts_of(&ds, "1"), [978_300_700_000, 978_300_760_000]);
    assert_eq!(ts_of(&ds, "2"), [978_300_000_000]);
    assert_eq!(ds.seqs[0].kinds, [EventKind::Rate, EventKind::Rate]);
    // 0xE9 in the Latin-1 file is é; the CRLF line endings are stripped.
    assert_eq!(title(&ds, "10").as_deref(), Some("Café Society (1995)"));
    assert_eq!(cats(&ds, "10"), ["Drama", "Romance"]);
    assert_eq!(cats(&ds, "20"), ["Animation", "Children's", "Comedy"]);
    assert_eq!(ld("ml-dat").num_interactions(), 3, "the directory loads the same");
}

#[test]
fn movielens_csv_with_quoted_titles() {
    assert_eq!(detect(fixture("ml-csv")).unwrap(), DataFormat::MovielensCsv);
    let ds = ld("ml-csv");
    assert_eq!(ds.name, "ml-csv");
    assert_eq!(items_of(&ds, "1"), ["20", "10"]);
    assert_eq!(ts_of(&ds, "1"), [999_000, 1_000_000]);
    assert_eq!(items_of(&ds, "2"), ["20"]);
    assert_eq!(title(&ds, "10").as_deref(), Some("American President, The (1995)"));
    assert_eq!(cats(&ds, "10"), ["Comedy", "Drama", "Romance"]);
    assert_eq!(title(&ds, "20").as_deref(), Some(r#"Say "Hi" (2001)"#));
    assert!(cats(&ds, "20").is_empty(), "(no genres listed) is no category");
}

#[test]
fn user_lines_plain_and_xz() {
    assert_eq!(detect(fixture("user_lines.txt")).unwrap(), DataFormat::UserLines);
    let ds = ld("user_lines.txt");
    assert_eq!(ds.name, "user_lines");
    assert_eq!(ds.users, ["1", "2", "3"]);
    assert_eq!(ds.items.ids(), ["5", "6", "7", "8"]);
    assert_eq!(items_of(&ds, "1"), ["5", "6", "7"]);
    assert_eq!(items_of(&ds, "2"), ["6", "8"]);
    assert_eq!(items_of(&ds, "3"), ["5"]);
    assert_eq!(ts_of(&ds, "1"), [0, 1, 2]);
    assert_eq!(ts_of(&ds, "2"), [3, 4]);
    assert_eq!(ts_of(&ds, "3"), [5]);
    assert!(!ds.has_timestamps);
    // The same file compressed with the xz CLI: by extension, and by magic bytes alone.
    let xz = ld("user_lines_copy.txt.xz");
    assert_eq!(xz.name, "user_lines_copy");
    assert_eq!(xz.fingerprint(), ds.fingerprint());
    assert_eq!(detect(fixture("xz_magic_only.bin")).unwrap(), DataFormat::UserLines);
    assert_eq!(ld("xz_magic_only.bin").fingerprint(), ds.fingerprint());
}

#[test]
fn user_lines_with_time_gaps() {
    assert_eq!(detect(fixture("user_lines_gaps.txt")).unwrap(), DataFormat::UserLines);
    let ds = ld("user_lines_gaps.txt");
    assert!(!ds.has_timestamps, "gaps are relative to each user's first item");
    assert_eq!(items_of(&ds, "1"), ["5", "6", "7"]);
    assert_eq!(ts_of(&ds, "1"), [0, 86_400_000, 86_400_000]);
    assert_eq!(ts_of(&ds, "2"), [0, 10_000]);
}

#[test]
fn pairs_without_and_with_timestamps() {
    assert_eq!(detect(fixture("pairs.txt")).unwrap(), DataFormat::Pairs);
    let ds = ld("pairs.txt");
    assert!(!ds.has_timestamps);
    assert_eq!(ds.items.ids(), ["100", "200", "300"]);
    assert_eq!(items_of(&ds, "1"), ["100", "200", "300"]);
    assert_eq!(ts_of(&ds, "1"), [0, 1, 3], "ts is the line index");
    assert_eq!(ts_of(&ds, "2"), [2]);

    assert_eq!(detect(fixture("pairs_ts.txt")).unwrap(), DataFormat::Pairs);
    let ds = ld("pairs_ts.txt");
    assert!(ds.has_timestamps);
    assert_eq!(items_of(&ds, "1"), ["200", "100"], "sorted by the third column");
    assert_eq!(ts_of(&ds, "1"), [1_400_000_000_000, 1_500_000_000_000], "seconds become ms");
    assert_eq!(ts_of(&ds, "2"), [1_700_000_000_000], "ms stay ms");
}

#[test]
fn diginetica_sessions() {
    let p = "tiny_train-item-views.csv";
    assert_eq!(detect(fixture(p)).unwrap(), DataFormat::Diginetica);
    let ds = ld(p);
    assert_eq!(ds.users, ["1", "2"], "one sequence per session");
    assert_eq!(ds.items.ids(), ["81766", "31331", "32118"]);
    assert_eq!(items_of(&ds, "1"), ["32118", "81766", "31331"]);
    let day = 1_462_752_000_000; // 2016-05-09T00:00:00Z
    assert_eq!(ts_of(&ds, "1"), [day + 243_569, day + 526_309, day + 1_031_018]);
    assert_eq!(ts_of(&ds, "2"), [day + 86_400_000 + 100], "the last line has no newline");
    assert!(ds.has_timestamps);
    // camelCase header, found by content.
    assert_eq!(detect(fixture("views_camel.csv")).unwrap(), DataFormat::Diginetica);
    let ds = ld("views_camel.csv");
    assert_eq!(ts_of(&ds, "7"), [1_451_779_200_000 + 5]); // 2016-01-03
}

#[test]
fn event_log_csv_with_default_columns() {
    assert_eq!(detect(fixture("events.csv")).unwrap(), DataFormat::EventLog);
    let l = load_detailed(&DataSpec::Path(fixture("events.csv")), &opts()).unwrap();
    assert_eq!((l.format, l.rows, l.skipped_searches), (DataFormat::EventLog, 5, 1));
    let ds = l.dataset;
    assert!(ds.has_timestamps);
    assert_eq!(ds.users, ["v1", "v2"]);
    assert_eq!(ds.items.ids(), ["i1", "i2", "i3"]);
    let ten = 1_462_788_000_000; // 2016-05-09T10:00:00Z
    assert_eq!(items_of(&ds, "v1"), ["i2", "i1"]);
    assert_eq!(ts_of(&ds, "v1"), [ten - 3_600_000, ten]);
    assert_eq!(ds.seqs[0].kinds, [EventKind::Cart, EventKind::View]);
    // Epoch seconds and 12:00+02:00 are the same instant; ties keep file order.
    assert_eq!(items_of(&ds, "v2"), ["i1", "i3"]);
    assert_eq!(ts_of(&ds, "v2"), [ten, ten]);
    assert_eq!(ds.seqs[1].kinds, [EventKind::Purchase, EventKind::Search]);
}

#[test]
fn event_log_tsv_with_column_map_and_no_time() {
    let o = LoadOptions { columns: Some("user=who,item=what,event=kind".parse().unwrap()), ..opts() };
    let ds = load_path(fixture("events.tsv"), None, &o).unwrap();
    assert!(!ds.has_timestamps);
    assert_eq!(items_of(&ds, "a"), ["x", "z"]);
    assert_eq!(ts_of(&ds, "a"), [0, 2]);
    assert_eq!(ds.seqs[0].kinds, [EventKind::View, EventKind::Purchase]);
    assert_eq!(ds.seqs[1].kinds, [EventKind::Cart]);
    // Without the map there is no user column, and the message shows the header.
    let e = err("events.tsv", None);
    assert!(e.contains("events.tsv:1: no user column"), "{e}");
    assert!(e.contains("`who`, `what`, `kind`"), "{e}");
}

#[test]
fn k_core_and_dedupe_options() {
    let o = LoadOptions { k_core: Some((2, 1)), ..opts() };
    let ds = load_path(fixture("user_lines.txt"), None, &o).unwrap();
    assert_eq!(ds.users, ["1", "2"], "user 3 has one interaction");
    assert_eq!(ds.num_items(), 4);
    let o = LoadOptions { k_core: Some((1, 2)), ..opts() };
    let ds = load_path(fixture("user_lines.txt"), None, &o).unwrap();
    // Items 7 and 8 occur once; then user 2 keeps only item 6.
    assert_eq!(ds.items.ids(), ["5", "6"]);
    assert_eq!(items_of(&ds, "2"), ["6"]);

    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("dups.txt");
    std::fs::write(&p, "1 5 5 6 5\n").unwrap();
    let o = LoadOptions { dedupe_consecutive: true, format: Some(DataFormat::UserLines), ..opts() };
    assert_eq!(items_of(&load_path(&p, None, &o).unwrap(), "1"), ["5", "6", "5"]);
    assert_eq!(items_of(&load_path(&p, Some(DataFormat::UserLines), &opts()).unwrap(), "1"), ["5", "5", "6", "5"]);
}

#[test]
fn column_map_from_str_feeds_the_loader() {
    let m: ColumnMap = "user=visitorid,item=itemid,event=event,timestamp=-".parse().unwrap();
    let o = LoadOptions { columns: Some(m), ..opts() };
    let ds = load_path(fixture("events.csv"), None, &o).unwrap();
    assert!(!ds.has_timestamps);
    assert_eq!(items_of(&ds, "v1"), ["i1", "i2"], "without time, file order");
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn truncated_line_names_file_line_and_problem() {
    let e = err("errors/truncated.inter", None);
    assert!(e.ends_with("truncated.inter:3: expected 4 fields, found 2 (truncated line?)"), "{e}");
}

#[test]
fn non_numeric_timestamp() {
    let e = err("errors/bad_ts.inter", None);
    assert!(e.ends_with("bad_ts.inter:5: timestamp `abc` is not a number"), "{e}");
    let e = err("errors/bad_date.csv", None);
    assert!(e.contains("bad_date.csv:3: timestamp `yesterday` is neither a number"), "{e}");
}

#[test]
fn empty_files() {
    let path = fixture("errors/empty.txt");
    match load_path(&path, None, &opts()) {
        Err(Error::EmptyFile { path: p }) => assert!(p.ends_with("empty.txt"), "{p}"),
        other => panic!("{other:?}"),
    }
    // A header and a blank line but no rows.
    let e = load_path(fixture("errors/ratings.csv"), None, &opts()).unwrap_err();
    assert!(matches!(e, Error::EmptyFile { .. }), "{e}");
    assert!(e.to_string().contains("ratings.csv: the file holds no data"), "{e}");
    for f in DataFormat::ALL {
        let e = load_path(&path, Some(f), &opts()).unwrap_err();
        assert!(matches!(e, Error::EmptyFile { .. }), "{f}: {e}");
    }
}

#[test]
fn missing_file() {
    let e = load(&DataSpec::parse("/nonexistent/ratings.dat"), &opts()).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(e.to_string().contains("/nonexistent/ratings.dat"), "{e}");
}

#[test]
fn unknown_format() {
    let e = load_path(fixture("errors/unknown.txt"), None, &opts()).unwrap_err();
    assert!(matches!(e, Error::UnknownFormat { .. }), "{e}");
    let e = e.to_string();
    assert!(e.contains("unknown.txt: unknown data format: line 1"), "{e}");
    assert!(e.contains("--data-format") && e.contains("user-lines") && e.contains("diginetica"), "{e}");
}

#[test]
fn unknown_event_kind() {
    let e = err("errors/bad_kind.csv", None);
    assert!(e.contains("bad_kind.csv:3: unknown event kind `teleport`"), "{e}");
}

#[test]
fn short_user_line() {
    let e = err("errors/short_line.txt", Some(DataFormat::UserLines));
    assert!(e.ends_with("short_line.txt:2: expected at least 2 fields (user and an item), found 1"), "{e}");
}

#[test]
fn inconsistent_pairs_and_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.txt");
    std::fs::write(&p, "1 2\n1 3\n1 4 1500000000\n").unwrap();
    let e = load_path(&p, Some(DataFormat::Pairs), &opts()).unwrap_err().to_string();
    assert!(e.ends_with("p.txt:3: expected 2 fields (user item) like the first line, found 3"), "{e}");
    std::fs::write(&p, "1 2 3\t0\n").unwrap();
    let e = load_path(&p, Some(DataFormat::UserLines), &opts()).unwrap_err().to_string();
    assert!(e.ends_with("p.txt:1: expected one time gap per item: 2 items but 1 gaps after the TAB"), "{e}");
    std::fs::write(&p, "1 2 3\t0 -5\n").unwrap();
    let e = load_path(&p, Some(DataFormat::UserLines), &opts()).unwrap_err().to_string();
    assert!(e.ends_with("p.txt:1: time gap `-5` is negative"), "{e}");
}

#[test]
fn named_datasets_need_the_shared_folder() {
    let e = load(&DataSpec::parse("beauty"), &opts()).unwrap_err();
    let e = e.to_string();
    assert!(e.contains("`beauty`") && e.contains("shared/data") && e.contains("LOCALREC_SHARED_DIR"), "{e}");
    let e = load(&DataSpec::parse("ml-1m"), &opts()).unwrap_err().to_string();
    assert!(e.contains("ratings.dat") && e.contains("ml-1m directory"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Real data (skipped when absent)

fn shared_opts() -> Option<LoadOptions> {
    match find_shared_dir() {
        Some(dir) => Some(LoadOptions { shared_dir: Some(dir), ..opts() }),
        None => {
            eprintln!("skipped: no shared data folder (set LOCALREC_SHARED_DIR)");
            None
        }
    }
}

#[test]
fn shared_beauty() {
    let Some(o) = shared_opts() else { return };
    let dir = o.shared_dir.clone().unwrap();
    for (file, format) in [
        ("amazon-s3rec-5core/Beauty.txt.xz", DataFormat::UserLines),
        ("amazon-s3rec-5core/time-gaps/Toys_and_Games.txt.xz", DataFormat::UserLines),
        ("sasrec-amazon-video-games/Video.txt.xz", DataFormat::Pairs),
        ("diginetica-sample/sample_train-item-views.csv.xz", DataFormat::Diginetica),
    ] {
        assert_eq!(detect(dir.join(file)).unwrap(), format, "{file}");
    }
    let ds = load(&DataSpec::parse("beauty"), &o).unwrap();
    let s = ds.stats();
    assert_eq!(ds.name, "beauty");
    assert_eq!((s.users, s.items, s.interactions), (22_363, 12_101, 198_502));
    assert_eq!((s.min_len, s.max_len), (5, 204));
    assert!(!ds.has_timestamps);
    // `1 1 2 3 4 5`, `2 6 7 8 9 10 4 11`
    assert_eq!(items_of(&ds, "1"), ["1", "2", "3", "4", "5"]);
    assert_eq!(items_of(&ds, "2"), ["6", "7", "8", "9", "10", "4", "11"]);
}

#[test]
fn shared_beauty_time_gaps() {
    let Some(o) = shared_opts() else { return };
    let ds = load(&DataSpec::parse("beauty-time"), &o).unwrap();
    assert_eq!((ds.num_users(), ds.num_items(), ds.num_interactions()), (22_363, 12_101, 198_502));
    // `1 1 2 3 4 5<TAB>0 0 9244800 62899200 0`
    assert_eq!(ts_of(&ds, "1"), [0, 0, 9_244_800_000, 72_144_000_000, 72_144_000_000]);
    assert_eq!(items_of(&ds, "1"), ["1", "2", "3", "4", "5"]);
}

#[test]
fn shared_video_games_pairs() {
    let Some(o) = shared_opts() else { return };
    let ds = load(&DataSpec::parse("games"), &o).unwrap();
    assert_eq!(ds.name, "video-games");
    assert_eq!((ds.num_users(), ds.num_items(), ds.num_interactions()), (31_013, 23_715, 287_107));
    assert_eq!(items_of(&ds, "1")[..3], ["6393", "13504", "14087"]);
}

#[test]
fn shared_diginetica_sample() {
    let Some(o) = shared_opts() else { return };
    // Counted independently with Python: 12,391 rows, 2,986 sessions, 7,139 items; 11,550
    // rows remain after dropping repeats of the previous item within a time-sorted session.
    let ds = load(&DataSpec::parse("diginetica"), &o).unwrap();
    assert_eq!((ds.num_users(), ds.num_items(), ds.num_interactions()), (2_986, 7_139, 12_391));
    assert!(ds.has_timestamps);
    let s1 = ts_of(&ds, "1");
    assert_eq!(s1.len(), 10);
    assert_eq!((s1[0], s1[9]), (1_462_752_075_848, 1_462_753_112_408));
    let o = LoadOptions { dedupe_consecutive: true, ..o };
    assert_eq!(load(&DataSpec::parse("diginetica"), &o).unwrap().num_interactions(), 11_550);
}

const WHEEL_DIR: &str = "/tmp/wheel/recbole/dataset_example/ml-100k";
const WHEEL: &str = "/tmp/wheel/recbole-1.2.1-py3-none-any.whl";

fn check_ml100k(ds: &Dataset) {
    assert_eq!(ds.name, "ml-100k");
    assert_eq!((ds.num_users(), ds.num_items(), ds.num_interactions()), (943, 1_682, 100_000));
    assert!(ds.has_timestamps);
    assert_eq!(ds.users[0], "196");
    assert_eq!(ds.items.id(1), Some("242"));
    assert_eq!(title(ds, "1").as_deref(), Some("Toy Story"));
    assert_eq!(cats(ds, "1"), ["Animation", "Children's", "Comedy"]);
    assert_eq!(ds.meta.titles.iter().filter(|t| t.is_some()).count(), 1_682);
    assert_eq!(ds.meta.category_names.len(), 19, "18 genres and `unknown`");
}

#[test]
fn ml100k_from_unpacked_wheel() {
    if !Path::new(WHEEL_DIR).is_dir() {
        eprintln!("skipped: {WHEEL_DIR} not found");
        return;
    }
    assert_eq!(detect(WHEEL_DIR).unwrap(), DataFormat::Recbole);
    check_ml100k(&load_path(WHEEL_DIR, None, &opts()).unwrap());
}

#[test]
fn ml100k_fetched_from_wheel() {
    if !Path::new(WHEEL).is_file() {
        eprintln!("skipped: {WHEEL} not found");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let dir = localrec::data::fetch::fetch_ml100k(data.path(), Some(Path::new(WHEEL))).unwrap();
    assert_eq!(dir, data.path().join("ml-100k"));
    let source = std::fs::read_to_string(dir.join("SOURCE.txt")).unwrap();
    assert!(source.contains("recbole==1.2.1"), "{source}");
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["SOURCE.txt", "ml-100k.inter", "ml-100k.item"], "no temporary files left");
    // `load` by name now finds the cached copy without pip.
    let o = LoadOptions { data_dir: data.path().to_path_buf(), ..opts() };
    check_ml100k(&load(&DataSpec::parse("ml-100k"), &o).unwrap());
}
