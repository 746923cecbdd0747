//! Loaders: one per [`DataFormat`], each streaming a file line by line into a
//! [`DatasetBuilder`].
//!
//! | format | layout | time |
//! | --- | --- | --- |
//! | `recbole` | `<name>.inter` (TAB, header `user_id:token item_id:token rating:float timestamp:float`) + `<name>.item` | seconds, optional |
//! | `ml-dat` | `ratings.dat`: `user::item::rating::seconds` + `movies.dat` (`id::Title (year)::A\|B`, Latin-1) | seconds |
//! | `ml-csv` | `ratings.csv`: `userId,movieId,rating,timestamp` + `movies.csv` (`movieId,title,genres`) | seconds |
//! | `user-lines` | `user item1 item2 …`, optionally `\t gap1 gap2 …` (seconds since the previous item) | positions, or per-user gaps |
//! | `pairs` | `user item` per line in time order, optionally `user item timestamp` | positions, or s/ms |
//! | `diginetica` | `session_id;user_id;item_id;timeframe;eventdate` | date + ms |
//! | `events` | CSV/TSV with a header, columns chosen by a [`ColumnMap`] | s/ms or ISO-8601, optional |
//!
//! Without real timestamps, `ts` holds the arrival index (the number of interactions read
//! before this one), so sequences keep file order, and `has_timestamps` is false. The
//! time-gap variant of `user-lines` stores each user's cumulative gaps in ms, relative to the
//! user's first interaction, so it is also marked `has_timestamps = false`.
//!
//! Every problem in a file is an [`Error::Parse`] naming `file:line` and what is wrong.
//! Blank lines are skipped. A file without data rows is [`Error::EmptyFile`].
//!
//! # Files
//!
//! | file | concept |
//! | --- | --- |
//! | `mod.rs` | [`LoadOptions`], [`load`], [`load_path`], [`load_detailed`] and [`Loaded`]; finding the main file and name of a dataset, dispatch by format, and the sink and row checks every loader shares |
//! | `recbole.rs` | `recbole`: the `.inter` file and its `.item` titles and categories |
//! | `movielens.rs` | `ml-dat` and `ml-csv`: ratings and the movies' titles and genres |
//! | `user_lines.rs` | `user-lines`, with or without time gaps |
//! | `pairs.rs` | `pairs` |
//! | `diginetica.rs` | `diginetica` |
//! | `event_log.rs` | `events`: a CSV/TSV event log and its timestamps |
//! | `fields.rs` | delimited lines: quoted fields (RFC 4180) and columns found by header name |
//! | `dates.rs` | calendar dates and ISO-8601 timestamps: [`days_from_civil`], [`parse_date`], [`parse_iso8601_ms`] |

use std::path::{Path, PathBuf};

use crate::data::format::{
    ColumnMap, DataFormat, DataSpec, Source, find_shared_dir, named_dataset, recbole_inter_in_dir,
};
use crate::data::io::{At, find_plain_or_xz, name_without_xz};
use crate::data::{Dataset, DatasetBuilder};
use crate::error::{Error, Result};
use crate::events::{EventKind, MAX_ID_CHARS, SequenceOptions, ts_from_f64_ms};

pub(crate) mod dates;
mod diginetica;
mod event_log;
mod fields;
mod movielens;
mod pairs;
mod recbole;
mod user_lines;

pub use dates::{days_from_civil, parse_date, parse_iso8601_ms};

/// How to find, read and filter a dataset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// The format of a path; `None` detects it ([`crate::data::format::detect`]).
    pub format: Option<DataFormat>,
    /// Columns of an event log; `None` finds them by common header names.
    pub columns: Option<ColumnMap>,
    /// Where fetched datasets (ml-100k) are kept.
    pub data_dir: PathBuf,
    /// The shared data folder holding the named Amazon and DIGINETICA files.
    pub shared_dir: Option<PathBuf>,
    /// Drop an interaction with the same item as the one just before it (per user).
    pub dedupe_consecutive: bool,
    /// Keep the `(min per user, min per item)` k-core after loading.
    pub k_core: Option<(usize, usize)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            format: None,
            columns: None,
            data_dir: crate::data::format::default_data_dir(),
            shared_dir: find_shared_dir(),
            dedupe_consecutive: false,
            k_core: None,
        }
    }
}

/// A loaded dataset and how it was read.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The dataset (after de-duplication and k-core, when asked).
    pub dataset: Dataset,
    /// The file (or directory) it was read from.
    pub path: PathBuf,
    /// The format it was read as.
    pub format: DataFormat,
    /// Data rows read (header and blank lines excluded; for `user-lines`, one per user line).
    pub rows: u64,
    /// Search rows without an item, skipped (event logs only).
    pub skipped_searches: u64,
}

/// Loads a named dataset or a path. See [`load_detailed`].
pub fn load(spec: &DataSpec, opts: &LoadOptions) -> Result<Dataset> {
    load_detailed(spec, opts).map(|l| l.dataset)
}

/// Loads a file or directory in `format` (`None`: `opts.format`, else detected).
pub fn load_path(path: impl AsRef<Path>, format: Option<DataFormat>, opts: &LoadOptions) -> Result<Dataset> {
    load_path_detailed(path.as_ref(), format, None, opts).map(|l| l.dataset)
}

/// Loads a named dataset (fetching ml-100k when needed) or a path, and says how it was read.
pub fn load_detailed(spec: &DataSpec, opts: &LoadOptions) -> Result<Loaded> {
    let name = match spec {
        DataSpec::Path(p) => return load_path_detailed(p, None, None, opts),
        DataSpec::Named(n) => n,
    };
    let Some(d) = named_dataset(name) else {
        let names: Vec<&str> = crate::data::format::NAMED_DATASETS.iter().map(|d| d.name).collect();
        return Err(Error::DatasetUnavailable(format!("no dataset is called `{name}` (known: {})", names.join(", "))));
    };
    let path = match d.source {
        Source::Unavailable { why } => {
            return Err(Error::DatasetUnavailable(format!("cannot load `{}`: {why}", d.name)));
        }
        Source::Fetched { .. } => fetch_named(d.name, opts)?,
        Source::Shared { path } => match &opts.shared_dir {
            Some(dir) => dir.join(path),
            None => {
                return Err(Error::DatasetUnavailable(format!(
                    "dataset `{}` lives in the shared data folder (../shared/data/{path}), which was not found; \
                     set LOCALREC_SHARED_DIR to that folder, or give the path to the file",
                    d.name
                )));
            }
        },
    };
    load_path_detailed(&path, Some(d.format), Some(d.name), opts)
}

#[cfg(not(target_arch = "wasm32"))]
fn fetch_named(name: &str, opts: &LoadOptions) -> Result<PathBuf> {
    match name {
        "ml-100k" => crate::data::fetch::fetch_ml100k(&opts.data_dir, None),
        _ => Err(Error::DatasetUnavailable(format!("no fetcher for `{name}`"))),
    }
}

#[cfg(target_arch = "wasm32")]
fn fetch_named(name: &str, _opts: &LoadOptions) -> Result<PathBuf> {
    Err(Error::DatasetUnavailable(format!("`{name}` cannot be fetched in the WebAssembly build")))
}

fn load_path_detailed(
    path: &Path,
    format: Option<DataFormat>,
    name: Option<&str>,
    opts: &LoadOptions,
) -> Result<Loaded> {
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory")));
    }
    let format = match format.or(opts.format) {
        Some(f) => f,
        None => crate::data::format::detect(path)?,
    };
    let file = main_file(path, format)?;
    let name = name.map(str::to_string).unwrap_or_else(|| dataset_name(&file, format));
    let mut sink = Sink::new(&name);
    match format {
        DataFormat::Recbole => recbole::load_recbole(&file, &mut sink)?,
        DataFormat::MovielensDat => movielens::load_ml_dat(&file, &mut sink)?,
        DataFormat::MovielensCsv => movielens::load_ml_csv(&file, &mut sink)?,
        DataFormat::UserLines => user_lines::load_user_lines(&file, &mut sink)?,
        DataFormat::Pairs => pairs::load_pairs(&file, &mut sink)?,
        DataFormat::Diginetica => diginetica::load_diginetica(&file, &mut sink)?,
        DataFormat::EventLog => event_log::load_event_log(&file, opts.columns.as_ref(), &mut sink)?,
    }
    let (rows, skipped_searches) = (sink.rows, sink.skipped_searches);
    if sink.b.is_empty() {
        if skipped_searches > 0 {
            return Err(Error::Empty(format!(
                "{}: every one of its {rows} rows is a search without an item; there are no interactions",
                file.display()
            )));
        }
        return Err(Error::EmptyFile { path: file.display().to_string() });
    }
    let seq_opts = SequenceOptions { dedupe_consecutive: opts.dedupe_consecutive, max_len: None };
    let mut dataset = sink.b.build(&seq_opts)?;
    if let Some((min_user, min_item)) = opts.k_core {
        dataset = dataset.k_core(min_user, min_item)?;
    }
    Ok(Loaded { dataset, path: file, format, rows, skipped_searches })
}

/// The file holding the interactions: for directories, the format's main file.
fn main_file(path: &Path, format: DataFormat) -> Result<PathBuf> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let found = match format {
        DataFormat::Recbole => recbole_inter_in_dir(path),
        DataFormat::MovielensDat => find_plain_or_xz(&path.join("ratings.dat")),
        DataFormat::MovielensCsv => find_plain_or_xz(&path.join("ratings.csv")),
        _ => None,
    };
    found.ok_or_else(|| {
        let want = match format {
            DataFormat::Recbole => "a <name>.inter file",
            DataFormat::MovielensDat => "ratings.dat",
            DataFormat::MovielensCsv => "ratings.csv",
            _ => "nothing: this format is read from a file, give its path",
        };
        Error::Data(format!("{} is a directory; as {format} it should hold {want}", path.display()))
    })
}

/// The dataset name of a file: its stem (`Beauty.txt.xz` → `Beauty`); for MovieLens
/// `ratings.*` the name of the folder holding it.
fn dataset_name(file: &Path, format: DataFormat) -> String {
    let name = name_without_xz(file);
    let stem = match name.rsplit_once('.') {
        Some((s, _)) if !s.is_empty() => s.to_string(),
        _ => name,
    };
    let parent = || file.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
    match format {
        DataFormat::MovielensDat | DataFormat::MovielensCsv if stem.eq_ignore_ascii_case("ratings") => {
            parent().unwrap_or(stem)
        }
        _ => stem,
    }
}

// ---------------------------------------------------------------------------------------
// What every loader shares

/// The builder and counters shared by every loader.
struct Sink {
    b: DatasetBuilder,
    rows: u64,
    skipped_searches: u64,
    /// Interactions pushed so far: the `ts` of rows without time.
    arrival: i64,
}

impl Sink {
    fn new(name: &str) -> Self {
        Sink { b: DatasetBuilder::new(name), rows: 0, skipped_searches: 0, arrival: 0 }
    }

    fn push(&mut self, user: &str, item: &str, kind: EventKind, ts: i64) {
        self.b.push(user, item, kind, ts);
        self.arrival += 1;
    }
}

/// Checks a user or item id as [`Event::validate`](crate::events::Event::validate) does, without allocating.
fn check_id(field: &'static str, id: &str) -> std::result::Result<(), String> {
    if id.trim().is_empty() {
        return Err(Error::EmptyField { field }.to_string());
    }
    if id.len() > MAX_ID_CHARS {
        let len = id.chars().count();
        if len > MAX_ID_CHARS {
            return Err(Error::TooLong { field, len, max: MAX_ID_CHARS }.to_string());
        }
    }
    Ok(())
}

fn check_ids(at: At<'_>, user: &str, item: &str) -> Result<()> {
    check_id("user", user).and_then(|()| check_id("item", item)).map_err(|p| at.error(p))
}

/// A validated timestamp from a count of `unit_ms` milliseconds (1000 for seconds).
fn scaled_ts(at: At<'_>, raw: &str, unit_ms: f64) -> Result<i64> {
    let v: f64 = raw.trim().parse().map_err(|_| at.error(format!("timestamp `{raw}` is not a number")))?;
    ts_from_f64_ms(v * unit_ms).map_err(|e| at.error(format!("timestamp `{raw}`: {e}")))
}

/// A validated timestamp from an epoch number: seconds below 1e11, else milliseconds.
fn epoch_ts(at: At<'_>, raw: &str) -> Result<i64> {
    let v: f64 = raw.trim().parse().map_err(|_| at.error(format!("timestamp `{raw}` is not a number")))?;
    let unit = if v.abs() < 1e11 { 1000.0 } else { 1.0 };
    ts_from_f64_ms(v * unit).map_err(|e| at.error(format!("timestamp `{raw}`: {e}")))
}

/// Picks fields `want` (`usize::MAX`: none) out of `fields` and counts them, without allocating.
fn pick<'a, const N: usize>(fields: impl Iterator<Item = &'a str>, want: [usize; N]) -> ([&'a str; N], usize) {
    let mut out = [""; N];
    let mut n = 0;
    for (i, f) in fields.enumerate() {
        for (slot, &w) in out.iter_mut().zip(&want) {
            if w == i {
                *slot = f;
            }
        }
        n += 1;
    }
    (out, n)
}

fn field_count_error(at: At<'_>, want: usize, found: usize, layout: &str) -> Error {
    let hint = if found < want { " (truncated line?)" } else { "" };
    at.error(format!("expected {want} fields{layout}, found {found}{hint}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dataset_names_drop_extensions() {
        assert_eq!(dataset_name(Path::new("/d/Beauty.txt.xz"), DataFormat::UserLines), "Beauty");
        assert_eq!(dataset_name(Path::new("/d/ml-1m/ratings.dat"), DataFormat::MovielensDat), "ml-1m");
        assert_eq!(dataset_name(Path::new("/d/ml-100k/ml-100k.inter"), DataFormat::Recbole), "ml-100k");
        assert_eq!(dataset_name(Path::new("events"), DataFormat::EventLog), "events");
    }
}
