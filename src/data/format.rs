//! Data formats, format detection, column maps and dataset names.
//!
//! A dataset is named on the command line by a [`DataSpec`]: either a short name such as
//! `beauty` or `ml-100k` (see [`NAMED_DATASETS`]) or a path to a file or directory. The
//! format of a path is given with `--data-format` or found by [`detect`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::data::io::{Encoding, LineReader, find_plain_or_xz, name_without_xz};
use crate::error::{Error, Result};

/// The on-disk layouts localrec can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataFormat {
    /// RecBole atomic files: a TAB-separated `.inter` file with a typed header, plus an optional `.item`.
    Recbole,
    /// MovieLens `ratings.dat` (`user::item::rating::timestamp`), plus an optional `movies.dat`.
    MovielensDat,
    /// MovieLens `ratings.csv` (`userId,movieId,rating,timestamp`), plus an optional `movies.csv`.
    MovielensCsv,
    /// One user per line: `user item1 item2 …`, optionally a TAB and one time gap per item.
    UserLines,
    /// One interaction per line: `user item`, optionally `user item timestamp`.
    Pairs,
    /// DIGINETICA `train-item-views.csv`: `session_id;user_id;item_id;timeframe;eventdate`.
    Diginetica,
    /// A generic CSV/TSV event log with a header row (columns chosen by a [`ColumnMap`]).
    EventLog,
}

impl DataFormat {
    /// Every format, in the order `--help` lists them.
    pub const ALL: [DataFormat; 7] = [
        DataFormat::Recbole,
        DataFormat::MovielensDat,
        DataFormat::MovielensCsv,
        DataFormat::UserLines,
        DataFormat::Pairs,
        DataFormat::Diginetica,
        DataFormat::EventLog,
    ];

    /// The name used by `--data-format`.
    pub fn name(self) -> &'static str {
        match self {
            DataFormat::Recbole => "recbole",
            DataFormat::MovielensDat => "ml-dat",
            DataFormat::MovielensCsv => "ml-csv",
            DataFormat::UserLines => "user-lines",
            DataFormat::Pairs => "pairs",
            DataFormat::Diginetica => "diginetica",
            DataFormat::EventLog => "events",
        }
    }

    /// A one-line description for `--help`.
    pub fn description(self) -> &'static str {
        match self {
            DataFormat::Recbole => {
                "RecBole atomic files: <name>.inter (TAB-separated, typed header) and optional <name>.item"
            }
            DataFormat::MovielensDat => "MovieLens ratings.dat (user::item::rating::timestamp) and optional movies.dat",
            DataFormat::MovielensCsv => {
                "MovieLens ratings.csv (userId,movieId,rating,timestamp) and optional movies.csv"
            }
            DataFormat::UserLines => {
                "one user per line: `user item1 item2 ...`, optionally TAB and one gap in seconds per item"
            }
            DataFormat::Pairs => "one `user item` pair per line in time order, optionally a third timestamp column",
            DataFormat::Diginetica => "DIGINETICA item views: session_id;user_id;item_id;timeframe;eventdate",
            DataFormat::EventLog => "CSV/TSV event log with a header row (user, item, event, timestamp, query, value)",
        }
    }

    /// `name — description` for every format, one per line (for help texts and errors).
    pub fn help_list() -> String {
        DataFormat::ALL.iter().map(|f| format!("  {:<11} {}", f.name(), f.description())).collect::<Vec<_>>().join("\n")
    }
}

impl fmt::Display for DataFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DataFormat {
    type Err = Error;

    /// Parses a format name (case-insensitive); a few long forms are accepted too.
    fn from_str(s: &str) -> Result<Self> {
        let k = s.trim().to_ascii_lowercase();
        Ok(match k.as_str() {
            "recbole" | "atomic" | "inter" => DataFormat::Recbole,
            "ml-dat" | "movielens-dat" | "dat" => DataFormat::MovielensDat,
            "ml-csv" | "movielens-csv" => DataFormat::MovielensCsv,
            "user-lines" | "userlines" | "lines" => DataFormat::UserLines,
            "pairs" => DataFormat::Pairs,
            "diginetica" => DataFormat::Diginetica,
            "events" | "event-log" | "eventlog" | "csv" | "tsv" => DataFormat::EventLog,
            _ => {
                let names: Vec<&str> = DataFormat::ALL.iter().map(|f| f.name()).collect();
                return Err(Error::invalid(
                    "data-format",
                    format!("`{s}` is not a data format (expected one of: {})", names.join(", ")),
                ));
            }
        })
    }
}

/// Lines looked at by [`detect`] when the name does not decide.
const SNIFF_LINES: usize = 50;

fn unknown(path: &Path, why: &str) -> Error {
    let names: Vec<&str> = DataFormat::ALL.iter().map(|f| f.name()).collect();
    Error::UnknownFormat {
        path: path.display().to_string(),
        reason: format!("{why}; pass --data-format with one of: {}", names.join(", ")),
    }
}

/// The RecBole `.inter` file of a directory: `<dir name>.inter`, else the only `*.inter` in it.
pub(crate) fn recbole_inter_in_dir(dir: &Path) -> Option<PathBuf> {
    if let Some(name) = dir.file_name() {
        let mut f = name.to_os_string();
        f.push(".inter");
        if let Some(p) = find_plain_or_xz(&dir.join(f)) {
            return Some(p);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && name_without_xz(p).ends_with(".inter"))
        .collect();
    if found.len() == 1 { found.pop() } else { None }
}

/// Normalises a header name for comparison: lower case, without `_`, `-` and spaces.
fn squash(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '_' | '-' | ' ' | '"')).flat_map(char::to_lowercase).collect()
}

/// True when `header` is the DIGINETICA item-views header (snake_case or camelCase).
pub(crate) fn is_diginetica_header(header: &str) -> bool {
    let names: Vec<String> = header.split(';').map(squash).collect();
    names.len() >= 4 && names.iter().take(3).map(String::as_str).eq(["sessionid", "userid", "itemid"])
}

/// Finds the format of a file or directory: by name first, then by content.
///
/// Directories are recognised by the files they hold (`<name>.inter`, `ratings.dat`,
/// `ratings.csv`). For files, see the module docs of [`crate::data::loaders`]. When nothing
/// matches, the error lists the formats and says to pass `--data-format`.
pub fn detect(path: impl AsRef<Path>) -> Result<DataFormat> {
    let path = path.as_ref();
    if path.is_dir() {
        if recbole_inter_in_dir(path).is_some() {
            return Ok(DataFormat::Recbole);
        }
        if find_plain_or_xz(&path.join("ratings.dat")).is_some() {
            return Ok(DataFormat::MovielensDat);
        }
        if find_plain_or_xz(&path.join("ratings.csv")).is_some() {
            return Ok(DataFormat::MovielensCsv);
        }
        return Err(unknown(path, "the directory holds no <name>.inter, ratings.dat or ratings.csv"));
    }
    let name = name_without_xz(path).to_ascii_lowercase();
    if name.ends_with(".inter") {
        return Ok(DataFormat::Recbole);
    }
    if name == "ratings.dat" {
        return Ok(DataFormat::MovielensDat);
    }
    if name == "ratings.csv" {
        return Ok(DataFormat::MovielensCsv);
    }
    if name.contains("item-views") && name.ends_with(".csv") {
        return Ok(DataFormat::Diginetica);
    }
    sniff(path)
}

/// Detection by content: looks at the first [`SNIFF_LINES`] non-blank lines.
fn sniff(path: &Path) -> Result<DataFormat> {
    // Latin-1 never fails to decode; only the ASCII structure matters here.
    let mut r = LineReader::open(path, Encoding::Latin1)?;
    let first = r.header()?;
    if is_diginetica_header(&first) {
        return Ok(DataFormat::Diginetica);
    }
    let typed =
        |f: &str| f.rsplit_once(':').is_some_and(|(_, t)| matches!(t, "token" | "float" | "token_seq" | "float_seq"));
    if first.contains('\t') && first.split('\t').filter(|f| typed(f)).count() >= 2 {
        return Ok(DataFormat::Recbole);
    }
    let dat: Vec<&str> = first.split("::").collect();
    if dat.len() == 4 && dat.iter().all(|f| is_number(f)) {
        return Ok(DataFormat::MovielensDat);
    }
    // Header row of a delimited file: a delimiter, and a field that is not a number.
    if let Some(delim) = sniff_delimiter(&first) {
        let fields: Vec<String> = first.split(delim).map(squash).collect();
        if fields.len() >= 2 && fields.iter().any(|f| !f.is_empty() && !is_number(f)) {
            if fields.iter().map(String::as_str).eq(["userid", "movieid", "rating", "timestamp"]) {
                return Ok(DataFormat::MovielensCsv);
            }
            return Ok(DataFormat::EventLog);
        }
    }
    // Whitespace-separated integers: pairs or one user per line.
    let mut counts = Vec::with_capacity(SNIFF_LINES);
    let mut third_is_time = true;
    let mut gaps = false;
    let mut line = first;
    loop {
        let (ids, tail) = split_gaps(&line);
        let toks: Vec<&str> = ids.split_whitespace().collect();
        if toks.len() < 2 || !toks.iter().all(|t| is_integer(t)) {
            return Err(unknown(
                path,
                &format!("line {} is neither whitespace-separated ids nor a delimited header row", r.line_no()),
            ));
        }
        if let Some(t) = tail {
            if !t.split_whitespace().all(is_number) {
                return Err(unknown(path, &format!("line {}: the part after the TAB is not numbers", r.line_no())));
            }
            gaps = true;
        }
        if toks.len() == 3 {
            third_is_time &= toks.get(2).and_then(|t| t.parse::<i64>().ok()).is_some_and(|t| t >= 100_000_000);
        }
        counts.push(toks.len());
        if counts.len() >= SNIFF_LINES {
            break;
        }
        match r.next_nonblank()? {
            Some(l) => line = l.to_string(),
            None => break,
        }
    }
    let all = |n: usize| counts.iter().all(|&c| c == n);
    if gaps {
        return Ok(DataFormat::UserLines);
    }
    if all(2) || (all(3) && third_is_time) {
        return Ok(DataFormat::Pairs);
    }
    Ok(DataFormat::UserLines)
}

/// Splits a one-user-per-line record into its ids and, after a TAB, its time gaps. The TAB
/// only separates gaps when the part before it holds spaces (`1 5 7\t0 86400`); a line of
/// TAB-separated ids has no gaps.
pub(crate) fn split_gaps(line: &str) -> (&str, Option<&str>) {
    match line.split_once('\t') {
        Some((ids, gaps)) if ids.trim().contains(' ') => (ids, Some(gaps)),
        _ => (line, None),
    }
}

/// The delimiter of a header row: the most frequent of TAB, `,` and `;` (ties: TAB, `,`, `;`).
pub(crate) fn sniff_delimiter(header: &str) -> Option<char> {
    let mut best = None;
    let mut best_n = 0;
    for d in ['\t', ',', ';'] {
        let n = header.matches(d).count();
        if n > best_n {
            best = Some(d);
            best_n = n;
        }
    }
    best
}

fn is_integer(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_number(s: &str) -> bool {
    let s = s.trim();
    !s.is_empty() && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Which columns of an event log hold what. `None` means: find it by a common header name.
///
/// Parsed from `user=visitorid,item=itemid,event=event,timestamp=timestamp`. A value of `-`
/// (e.g. `timestamp=-`) says the file has no such column even if a header name matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMap {
    /// User (or session) id column.
    pub user: Option<String>,
    /// Item id column.
    pub item: Option<String>,
    /// Event kind column (absent: every row is a view).
    pub event: Option<String>,
    /// Timestamp column (absent: rows are ordered by position).
    pub timestamp: Option<String>,
    /// Search query column.
    pub query: Option<String>,
    /// Value (rating, price) column.
    pub value: Option<String>,
}

/// Header names tried, in order, when a [`ColumnMap`] field is `None`.
pub const USER_COLUMNS: &[&str] =
    &["user", "user_id", "userid", "visitorid", "visitor_id", "session_id", "sessionid", "customer_id"];
/// Default item column names.
pub const ITEM_COLUMNS: &[&str] = &["item", "item_id", "itemid", "product_id", "productid", "sku", "movieid"];
/// Default event kind column names.
pub const EVENT_COLUMNS: &[&str] = &["event", "event_type", "type", "kind", "action"];
/// Default timestamp column names.
pub const TIMESTAMP_COLUMNS: &[&str] = &["timestamp", "ts", "time", "datetime", "date", "event_time"];
/// Default query column names.
pub const QUERY_COLUMNS: &[&str] = &["query", "search", "search_query", "search_term"];
/// Default value column names.
pub const VALUE_COLUMNS: &[&str] = &["value", "rating", "price"];

/// Column positions found in a header by [`ColumnMap::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Columns {
    /// User column.
    pub user: usize,
    /// Item column.
    pub item: usize,
    /// Event kind column.
    pub event: Option<usize>,
    /// Timestamp column.
    pub timestamp: Option<usize>,
    /// Query column.
    pub query: Option<usize>,
    /// Value column.
    pub value: Option<usize>,
}

impl ColumnMap {
    /// Finds every column in `header` (names compared case-insensitively, surrounding
    /// spaces and quotes ignored). `path` and `line` locate the header in messages.
    pub fn resolve(&self, header: &[&str], path: &Path, line: u64) -> Result<Columns> {
        let clean = |h: &str| h.trim().trim_matches('"').trim().to_ascii_lowercase();
        let names: Vec<String> = header.iter().map(|h| clean(h)).collect();
        let seen = || header.iter().map(|h| format!("`{}`", h.trim())).collect::<Vec<_>>().join(", ");
        let find = |field: &str, given: &Option<String>, defaults: &[&str]| -> Result<Option<usize>> {
            match given.as_deref() {
                Some("-") => Ok(None),
                Some(name) => match names.iter().position(|n| *n == clean(name)) {
                    Some(i) => Ok(Some(i)),
                    None => Err(Error::parse(
                        path,
                        line,
                        format!("no column `{name}` (given for {field}) in the header; it has {}", seen()),
                    )),
                },
                None => Ok(defaults.iter().find_map(|d| names.iter().position(|n| n == d))),
            }
        };
        let required = |field: &str, given: &Option<String>, defaults: &[&str]| -> Result<usize> {
            find(field, given, defaults)?.ok_or_else(|| {
                Error::parse(
                    path,
                    line,
                    format!(
                        "no {field} column in the header (it has {}; looked for {}); name it with --columns {field}=NAME",
                        seen(),
                        defaults.join(", ")
                    ),
                )
            })
        };
        Ok(Columns {
            user: required("user", &self.user, USER_COLUMNS)?,
            item: required("item", &self.item, ITEM_COLUMNS)?,
            event: find("event", &self.event, EVENT_COLUMNS)?,
            timestamp: find("timestamp", &self.timestamp, TIMESTAMP_COLUMNS)?,
            query: find("query", &self.query, QUERY_COLUMNS)?,
            value: find("value", &self.value, VALUE_COLUMNS)?,
        })
    }
}

impl FromStr for ColumnMap {
    type Err = Error;

    /// Parses `field=column` pairs separated by commas; fields are user, item, event,
    /// timestamp (or ts), query and value.
    fn from_str(s: &str) -> Result<Self> {
        let mut m = ColumnMap::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((k, v)) = part.split_once('=') else {
                return Err(Error::invalid("columns", format!("`{part}` is not FIELD=COLUMN")));
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if v.is_empty() {
                return Err(Error::invalid("columns", format!("no column name given for `{k}`")));
            }
            let slot = match k.as_str() {
                "user" => &mut m.user,
                "item" => &mut m.item,
                "event" | "kind" => &mut m.event,
                "timestamp" | "ts" | "time" => &mut m.timestamp,
                "query" => &mut m.query,
                "value" => &mut m.value,
                _ => {
                    return Err(Error::invalid(
                        "columns",
                        format!("unknown field `{k}` (expected user, item, event, timestamp, query, value)"),
                    ));
                }
            };
            if slot.is_some() {
                return Err(Error::invalid("columns", format!("`{k}` is given twice")));
            }
            *slot = Some(v.to_string());
        }
        Ok(m)
    }
}

impl fmt::Display for ColumnMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts = [
            ("user", &self.user),
            ("item", &self.item),
            ("event", &self.event),
            ("timestamp", &self.timestamp),
            ("query", &self.query),
            ("value", &self.value),
        ];
        let s: Vec<String> = parts.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}"))).collect();
        f.write_str(&s.join(","))
    }
}

/// Where a named dataset comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Downloaded into the data directory on first use (`<data_dir>/<dir>`).
    Fetched {
        /// Folder under the data directory.
        dir: &'static str,
    },
    /// A file in the shared data folder (`../shared/data`).
    Shared {
        /// Path relative to the shared data folder.
        path: &'static str,
    },
    /// Not available here; the text says why and what to do.
    Unavailable {
        /// Why it cannot be loaded by name.
        why: &'static str,
    },
}

/// A dataset known by a short name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NamedDataset {
    /// The short name.
    pub name: &'static str,
    /// Other accepted names.
    pub aliases: &'static [&'static str],
    /// Its format.
    pub format: DataFormat,
    /// Where it lives.
    pub source: Source,
    /// One line for `--help`.
    pub description: &'static str,
}

/// Every dataset that can be named on the command line.
pub const NAMED_DATASETS: &[NamedDataset] = &[
    NamedDataset {
        name: "ml-100k",
        aliases: &["movielens-100k"],
        format: DataFormat::Recbole,
        source: Source::Fetched { dir: "ml-100k" },
        description: "MovieLens-100k (943 users, 1,682 movies, genres), fetched from the recbole 1.2.1 wheel",
    },
    NamedDataset {
        name: "beauty",
        aliases: &[],
        format: DataFormat::UserLines,
        source: Source::Shared { path: "amazon-s3rec-5core/Beauty.txt.xz" },
        description: "Amazon Beauty 5-core (S3Rec/ICLRec): 22,363 users, 12,101 items, no timestamps",
    },
    NamedDataset {
        name: "sports",
        aliases: &[],
        format: DataFormat::UserLines,
        source: Source::Shared { path: "amazon-s3rec-5core/Sports_and_Outdoors.txt.xz" },
        description: "Amazon Sports and Outdoors 5-core (S3Rec/ICLRec): 35,598 users, 18,357 items",
    },
    NamedDataset {
        name: "toys",
        aliases: &[],
        format: DataFormat::UserLines,
        source: Source::Shared { path: "amazon-s3rec-5core/Toys_and_Games.txt.xz" },
        description: "Amazon Toys and Games 5-core (S3Rec/ICLRec): 19,412 users, 11,924 items",
    },
    NamedDataset {
        name: "beauty-time",
        aliases: &[],
        format: DataFormat::UserLines,
        source: Source::Shared { path: "amazon-s3rec-5core/time-gaps/Beauty.txt.xz" },
        description: "Beauty with per-user time gaps (day resolution, relative to each user's first review)",
    },
    NamedDataset {
        name: "sports-time",
        aliases: &[],
        format: DataFormat::UserLines,
        source: Source::Shared { path: "amazon-s3rec-5core/time-gaps/Sports_and_Outdoors.txt.xz" },
        description: "Sports and Outdoors with per-user time gaps",
    },
    NamedDataset {
        name: "toys-time",
        aliases: &[],
        format: DataFormat::UserLines,
        source: Source::Shared { path: "amazon-s3rec-5core/time-gaps/Toys_and_Games.txt.xz" },
        description: "Toys and Games with per-user time gaps",
    },
    NamedDataset {
        name: "video-games",
        aliases: &["games", "video"],
        format: DataFormat::Pairs,
        source: Source::Shared { path: "sasrec-amazon-video-games/Video.txt.xz" },
        description: "Amazon Video Games (SASRec's Video.txt): 31,013 users, 23,715 items, no timestamps",
    },
    NamedDataset {
        name: "diginetica",
        aliases: &["diginetica-sample"],
        format: DataFormat::Diginetica,
        source: Source::Shared { path: "diginetica-sample/sample_train-item-views.csv.xz" },
        description: "DIGINETICA item views, SR-GNN's 12,391-row sample: 2,986 sessions, with timestamps",
    },
    NamedDataset {
        name: "ml-1m",
        aliases: &["movielens-1m"],
        format: DataFormat::MovielensDat,
        source: Source::Unavailable {
            why: "ml-1m's ratings.dat is not in the shared data folder (it holds only movies.dat and users.dat); \
                  download MovieLens-1M from GroupLens and give the path to its ml-1m directory instead",
        },
        description: "MovieLens-1M: give the path to a full ml-1m directory (ratings.dat is not shipped)",
    },
];

/// The named dataset called `name` (or one of its aliases), case-insensitively.
pub fn named_dataset(name: &str) -> Option<&'static NamedDataset> {
    let k = name.trim().to_ascii_lowercase();
    NAMED_DATASETS.iter().find(|d| d.name == k || d.aliases.contains(&k.as_str()))
}

/// What the user asked to load: a short dataset name or a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DataSpec {
    /// A dataset from [`NAMED_DATASETS`], by its canonical name.
    Named(String),
    /// A file or directory.
    Path(PathBuf),
}

impl DataSpec {
    /// A known short name (if no file or directory of that name exists), else a path.
    pub fn parse(s: &str) -> DataSpec {
        if !Path::new(s).exists() {
            if let Some(d) = named_dataset(s) {
                return DataSpec::Named(d.name.to_string());
            }
        }
        DataSpec::Path(PathBuf::from(s))
    }
}

impl FromStr for DataSpec {
    type Err = Error;

    /// Like [`DataSpec::parse`]; only an empty string is an error.
    fn from_str(s: &str) -> Result<Self> {
        if s.trim().is_empty() {
            return Err(Error::invalid("data", "no dataset given (a name such as ml-100k, or a path)"));
        }
        Ok(DataSpec::parse(s))
    }
}

impl fmt::Display for DataSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataSpec::Named(n) => f.write_str(n),
            DataSpec::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The shared data folder: `$LOCALREC_SHARED_DIR` if set, else the first existing of
/// `./shared/data`, `../shared/data` and `<crate>/../shared/data`.
pub fn find_shared_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("LOCALREC_SHARED_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    [PathBuf::from("shared/data"), PathBuf::from("../shared/data"), crate_dir.join("../shared/data")]
        .into_iter()
        .find(|p| p.is_dir())
}

/// Where fetched datasets are kept: `$LOCALREC_DATA_DIR`, else `<crate>/data` when the crate
/// directory exists (a source checkout), else `./data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("LOCALREC_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    if crate_dir.is_dir() { crate_dir.join("data") } else { PathBuf::from("data") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in DataFormat::ALL {
            assert_eq!(f.name().parse::<DataFormat>().unwrap(), f);
            assert_eq!(f.to_string(), f.name());
            assert!(!f.description().is_empty());
        }
        let e = "parquet".parse::<DataFormat>().unwrap_err().to_string();
        assert!(e.contains("`parquet`") && e.contains("ml-dat") && e.contains("events"), "{e}");
    }

    #[test]
    fn column_map_parses_and_resolves() {
        let m: ColumnMap = "user=visitorid, item=itemid,event=event,timestamp=timestamp".parse().unwrap();
        assert_eq!(m.user.as_deref(), Some("visitorid"));
        assert_eq!(m.to_string(), "user=visitorid,item=itemid,event=event,timestamp=timestamp");
        let header = ["timestamp", "VisitorId", "event", "itemid", "transactionid"];
        let c = m.resolve(&header, Path::new("e.csv"), 1).unwrap();
        assert_eq!((c.user, c.item, c.event, c.timestamp, c.query, c.value), (1, 3, Some(2), Some(0), None, None));
        // Defaults, case-insensitive; user_id wins over session_id by list order.
        let header = ["Session_ID", "ts", "Product_ID", "USER_ID", "Rating", "Type"];
        let c = ColumnMap::default().resolve(&header, Path::new("e.csv"), 1).unwrap();
        assert_eq!((c.user, c.item, c.event, c.timestamp, c.value), (3, 2, Some(5), Some(1), Some(4)));
        let c = "timestamp=-".parse::<ColumnMap>().unwrap().resolve(&header, Path::new("e.csv"), 1).unwrap();
        assert_eq!(c.timestamp, None);
        for bad in ["user", "user=", "color=x", "user=a,user=b"] {
            assert!(bad.parse::<ColumnMap>().is_err(), "{bad}");
        }
    }

    #[test]
    fn missing_columns_name_the_header() {
        let e = ColumnMap::default().resolve(&["who", "item"], Path::new("e.csv"), 3).unwrap_err().to_string();
        assert!(e.starts_with("e.csv:3: no user column"), "{e}");
        assert!(e.contains("`who`, `item`"), "{e}");
        let m: ColumnMap = "item=sku".parse().unwrap();
        let e = m.resolve(&["user", "item"], Path::new("e.csv"), 1).unwrap_err().to_string();
        assert!(e.contains("no column `sku`"), "{e}");
    }

    #[test]
    fn specs_prefer_existing_paths() {
        assert_eq!(DataSpec::parse("Beauty"), DataSpec::Named("beauty".into()));
        assert_eq!(DataSpec::parse("games"), DataSpec::Named("video-games".into()));
        assert_eq!(DataSpec::parse("ml-100k"), DataSpec::Named("ml-100k".into()));
        assert_eq!(DataSpec::parse("x/y.csv"), DataSpec::Path("x/y.csv".into()));
        // `src` exists in the crate directory (tests run there) and is no dataset name anyway;
        // a directory named like a dataset must win over the name.
        let dir = tempfile::tempdir().unwrap();
        let beauty = dir.path().join("beauty");
        std::fs::create_dir(&beauty).unwrap();
        let s = beauty.to_str().unwrap();
        assert_eq!(DataSpec::parse(s), DataSpec::Path(beauty.clone()));
        assert!("".parse::<DataSpec>().is_err());
    }

    #[test]
    fn delimiter_and_diginetica_header() {
        assert_eq!(sniff_delimiter("a,b;c,d"), Some(','));
        assert_eq!(sniff_delimiter("a\tb"), Some('\t'));
        assert_eq!(sniff_delimiter("ab"), None);
        assert!(is_diginetica_header("sessionId;userId;itemId;timeframe;eventdate"));
        assert!(is_diginetica_header("session_id;user_id;item_id;timeframe;eventdate"));
        assert!(!is_diginetica_header("session_id,user_id,item_id,timeframe,eventdate"));
    }
}
