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

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::data::format::{
    ColumnMap, DataFormat, DataSpec, Source, find_shared_dir, is_diginetica_header, named_dataset,
    recbole_inter_in_dir, sniff_delimiter, split_gaps,
};
use crate::data::io::{At, Encoding, LineReader, find_plain_or_xz, name_without_xz};
use crate::data::{Dataset, DatasetBuilder};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, MAX_ID_CHARS, SequenceOptions, ts_from_f64_ms};

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
        DataFormat::Recbole => load_recbole(&file, &mut sink)?,
        DataFormat::MovielensDat => load_ml_dat(&file, &mut sink)?,
        DataFormat::MovielensCsv => load_ml_csv(&file, &mut sink)?,
        DataFormat::UserLines => load_user_lines(&file, &mut sink)?,
        DataFormat::Pairs => load_pairs(&file, &mut sink)?,
        DataFormat::Diginetica => load_diginetica(&file, &mut sink)?,
        DataFormat::EventLog => load_event_log(&file, opts.columns.as_ref(), &mut sink)?,
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

/// Checks a user or item id as [`Event::validate`] does, without allocating.
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

// ---------------------------------------------------------------------------------------
// RecBole atomic files

/// A RecBole header field: `name:type` → (`name` lower-cased, `type`).
fn recbole_field(f: &str) -> (String, &str) {
    let (name, ty) = f.trim().rsplit_once(':').unwrap_or((f.trim(), ""));
    (name.trim().to_ascii_lowercase(), ty.trim())
}

fn load_recbole(inter: &Path, sink: &mut Sink) -> Result<()> {
    let mut r = LineReader::open(inter, Encoding::Utf8)?;
    let header = r.header()?;
    let names: Vec<String> = header.split('\t').map(|f| recbole_field(f).0).collect();
    let col = |n: &str| names.iter().position(|x| x == n);
    let seen = || header.split('\t').map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ");
    let Some(user) = col("user_id") else {
        return Err(r.error(format!("no `user_id` column in the header (it has {})", seen())));
    };
    let Some(item) = col("item_id") else {
        return Err(r.error(format!("no `item_id` column in the header (it has {})", seen())));
    };
    let ts_col = col("timestamp");
    let kind = if col("rating").is_some() { EventKind::Rate } else { EventKind::View };
    sink.b.has_timestamps = ts_col.is_some();
    let want = names.len();
    while let Some((at, line)) = r.next_record()? {
        let ([u, i, t], n) = pick(line.split('\t'), [user, item, ts_col.unwrap_or(usize::MAX)]);
        if n != want {
            return Err(field_count_error(at, want, n, ""));
        }
        let (u, i) = (u.trim(), i.trim());
        check_ids(at, u, i)?;
        let ts = if ts_col.is_some() { scaled_ts(at, t, 1000.0)? } else { sink.arrival };
        sink.rows += 1;
        sink.push(u, i, kind, ts);
    }
    let stem = name_without_xz(inter);
    let stem = stem.strip_suffix(".inter").unwrap_or(&stem);
    if let Some(item_file) = find_plain_or_xz(&inter.with_file_name(format!("{stem}.item"))) {
        load_recbole_items(&item_file, sink)?;
    }
    Ok(())
}

/// Titles and categories from a RecBole `.item` file.
fn load_recbole_items(path: &Path, sink: &mut Sink) -> Result<()> {
    let mut r = LineReader::open(path, Encoding::Utf8)?;
    let header = r.header()?;
    let fields: Vec<(String, String)> =
        header.split('\t').map(recbole_field).map(|(n, t)| (n, t.to_string())).collect();
    let Some(item) = fields.iter().position(|(n, _)| n == "item_id") else {
        return Err(r.error("no `item_id` column in the header of the item file"));
    };
    let is_cat = |n: &str| {
        ["class", "genre", "genres", "categories", "category"].contains(&n)
            || n.contains("genre")
            || n.contains("categor")
    };
    let cats = fields.iter().position(|(n, _)| is_cat(n));
    let title = fields
        .iter()
        .position(|(n, _)| n.contains("title"))
        .or_else(|| fields.iter().position(|(n, _)| n.contains("name") && !is_cat(n)));
    let cats_are_seq = cats.and_then(|c| fields.get(c)).is_some_and(|(_, t)| t.ends_with("_seq"));
    let want = fields.len();
    while let Some((at, line)) = r.next_record()? {
        let ([id, t, c], n) = pick(line.split('\t'), [item, title.unwrap_or(usize::MAX), cats.unwrap_or(usize::MAX)]);
        if n != want {
            return Err(field_count_error(at, want, n, ""));
        }
        let title = Some(t.trim()).filter(|t| !t.is_empty()).map(str::to_string);
        let mut cat_buf: Vec<&str> = Vec::new();
        if cats_are_seq {
            cat_buf.extend(c.split(' ').filter(|s| !s.is_empty()));
        } else if c.contains('|') {
            cat_buf.extend(c.split('|'));
        } else if !c.trim().is_empty() {
            cat_buf.push(c);
        }
        sink.b.set_item_meta(id.trim(), title, &cat_buf);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// MovieLens

fn load_ml_dat(ratings: &Path, sink: &mut Sink) -> Result<()> {
    let mut r = LineReader::open(ratings, Encoding::Latin1)?;
    while let Some((at, line)) = r.next_record()? {
        let ([u, i, rating, t], n) = pick(line.split("::"), [0, 1, 2, 3]);
        if n != 4 {
            return Err(field_count_error(at, 4, n, " (user::item::rating::timestamp)"));
        }
        let (u, i) = (u.trim(), i.trim());
        check_ids(at, u, i)?;
        check_rating(at, rating)?;
        let ts = scaled_ts(at, t, 1000.0)?;
        sink.rows += 1;
        sink.push(u, i, EventKind::Rate, ts);
    }
    if let Some(movies) = find_plain_or_xz(&ratings.with_file_name("movies.dat")) {
        let mut r = LineReader::open(&movies, Encoding::Latin1)?;
        while let Some((at, line)) = r.next_record()? {
            let ([id, title, genres], n) = pick(line.split("::"), [0, 1, 2]);
            if n != 3 {
                return Err(field_count_error(at, 3, n, " (id::title::genres)"));
            }
            let cats: Vec<&str> = genres.split('|').filter(|g| *g != "(no genres listed)").collect();
            sink.b.set_item_meta(id.trim(), Some(title.trim().to_string()), &cats);
        }
    }
    Ok(())
}

fn check_rating(at: At<'_>, rating: &str) -> Result<()> {
    match rating.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(()),
        _ => Err(at.error(format!("rating `{rating}` is not a number"))),
    }
}

/// Finds the columns named `want` (compared without case, `_` and spaces) in a header.
fn header_columns<const N: usize>(at: At<'_>, header: &[Cow<'_, str>], want: [&str; N]) -> Result<[usize; N]> {
    let squash =
        |s: &str| s.chars().filter(|c| !matches!(c, '_' | ' ')).flat_map(char::to_lowercase).collect::<String>();
    let names: Vec<String> = header.iter().map(|h| squash(h)).collect();
    let mut out = [0; N];
    for (slot, w) in out.iter_mut().zip(want) {
        *slot = names.iter().position(|n| *n == squash(w)).ok_or_else(|| {
            let seen: Vec<String> = header.iter().map(|h| format!("`{h}`")).collect();
            at.error(format!("no `{w}` column in the header (it has {})", seen.join(", ")))
        })?;
    }
    Ok(out)
}

fn load_ml_csv(ratings: &Path, sink: &mut Sink) -> Result<()> {
    let mut r = LineReader::open(ratings, Encoding::Utf8)?;
    let header = r.header()?;
    let mut f = Fields::default();
    f.split(&header, b',').map_err(|p| r.error(p))?;
    let head: Vec<Cow<'_, str>> = (0..f.len()).map(|k| f.get(&header, k)).collect();
    let [user, item, rating, ts] = header_columns(r.at(), &head, ["userId", "movieId", "rating", "timestamp"])?;
    let want = f.len();
    while let Some((at, line)) = r.next_record()? {
        f.split(line, b',').map_err(|p| at.error(p))?;
        if f.len() != want {
            return Err(field_count_error(at, want, f.len(), ""));
        }
        let (u, i) = (f.get(line, user), f.get(line, item));
        let (u, i) = (u.trim(), i.trim());
        check_ids(at, u, i)?;
        check_rating(at, &f.get(line, rating))?;
        let t = scaled_ts(at, &f.get(line, ts), 1000.0)?;
        sink.rows += 1;
        sink.push(u, i, EventKind::Rate, t);
    }
    if let Some(movies) = find_plain_or_xz(&ratings.with_file_name("movies.csv")) {
        let mut r = LineReader::open(&movies, Encoding::Utf8)?;
        let header = r.header()?;
        f.split(&header, b',').map_err(|p| r.error(p))?;
        let head: Vec<Cow<'_, str>> = (0..f.len()).map(|k| f.get(&header, k)).collect();
        let [id, title, genres] = header_columns(r.at(), &head, ["movieId", "title", "genres"])?;
        let want = f.len();
        while let Some((at, line)) = r.next_record()? {
            f.split(line, b',').map_err(|p| at.error(p))?;
            if f.len() != want {
                return Err(field_count_error(at, want, f.len(), ""));
            }
            let g = f.get(line, genres);
            let cats: Vec<&str> = g.split('|').filter(|g| *g != "(no genres listed)").collect();
            sink.b.set_item_meta(f.get(line, id).trim(), Some(f.get(line, title).trim().to_string()), &cats);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// One user per line, pairs

fn load_user_lines(path: &Path, sink: &mut Sink) -> Result<()> {
    let mut r = LineReader::open(path, Encoding::Utf8)?;
    sink.b.has_timestamps = false;
    while let Some((at, line)) = r.next_record()? {
        let (ids, gaps) = split_gaps(line);
        let mut toks = ids.split_whitespace();
        let user = toks.next().unwrap_or("");
        let n_items = toks.clone().count();
        if n_items == 0 {
            return Err(at.error("expected at least 2 fields (user and an item), found 1"));
        }
        check_id("user", user).map_err(|p| at.error(p))?;
        match gaps {
            None => {
                for item in toks {
                    check_id("item", item).map_err(|p| at.error(p))?;
                    let ts = sink.arrival;
                    sink.push(user, item, EventKind::View, ts);
                }
            }
            Some(gaps) => {
                let n_gaps = gaps.split_whitespace().count();
                if n_gaps != n_items {
                    return Err(at.error(format!(
                        "expected one time gap per item: {n_items} items but {n_gaps} gaps after the TAB"
                    )));
                }
                let mut total = 0.0f64;
                for (item, gap) in toks.zip(gaps.split_whitespace()) {
                    check_id("item", item).map_err(|p| at.error(p))?;
                    let g: f64 = match gap.parse::<f64>() {
                        Ok(g) if g.is_finite() => g,
                        _ => return Err(at.error(format!("time gap `{gap}` is not a number"))),
                    };
                    if g < 0.0 {
                        return Err(at.error(format!("time gap `{gap}` is negative")));
                    }
                    total += g;
                    let ts = ts_from_f64_ms(total * 1000.0)
                        .map_err(|e| at.error(format!("time gaps add up to {total} seconds: {e}")))?;
                    sink.push(user, item, EventKind::View, ts);
                }
            }
        }
        sink.rows += 1;
    }
    Ok(())
}

fn load_pairs(path: &Path, sink: &mut Sink) -> Result<()> {
    let mut r = LineReader::open(path, Encoding::Utf8)?;
    let mut width = None;
    while let Some((at, line)) = r.next_record()? {
        let ([u, i, t], n) = pick(line.split_whitespace(), [0, 1, 2]);
        let w = match width {
            Some(w) => w,
            None if n == 2 || n == 3 => {
                sink.b.has_timestamps = n == 3;
                width = Some(n);
                n
            }
            None => {
                return Err(at.error(format!(
                    "expected 2 fields (user item) or 3 (user item timestamp), found {n}{}",
                    if n < 2 { " (truncated line?)" } else { "" }
                )));
            }
        };
        if n != w {
            let layout =
                if w == 2 { " (user item) like the first line" } else { " (user item timestamp) like the first line" };
            return Err(field_count_error(at, w, n, layout));
        }
        check_ids(at, u, i)?;
        let ts = if w == 3 { epoch_ts(at, t)? } else { sink.arrival };
        sink.rows += 1;
        sink.push(u, i, EventKind::View, ts);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// DIGINETICA

fn load_diginetica(path: &Path, sink: &mut Sink) -> Result<()> {
    let mut r = LineReader::open(path, Encoding::Utf8)?;
    let header = r.header()?;
    if !is_diginetica_header(&header) {
        return Err(r.error(format!(
            "expected the header `session_id;user_id;item_id;timeframe;eventdate` (or sessionId;userId;...), found `{header}`"
        )));
    }
    let head: Vec<Cow<'_, str>> = header.split(';').map(Cow::Borrowed).collect();
    let [session, item, frame, date] =
        header_columns(r.at(), &head, ["sessionId", "itemId", "timeframe", "eventdate"])?;
    let want = head.len();
    while let Some((at, line)) = r.next_record()? {
        let ([s, i, tf, d], n) = pick(line.split(';'), [session, item, frame, date]);
        if n != want {
            return Err(field_count_error(at, want, n, ""));
        }
        let (s, i) = (s.trim(), i.trim());
        check_ids(at, s, i)?;
        let Some(day) = parse_date(d.trim()) else {
            return Err(at.error(format!("eventdate `{d}` is not a date (YYYY-MM-DD)")));
        };
        let tf: i64 = match tf.trim().parse() {
            Ok(v) if v >= 0 => v,
            _ => return Err(at.error(format!("timeframe `{tf}` is not a non-negative whole number of ms"))),
        };
        let ts = day
            .checked_mul(86_400_000)
            .and_then(|ms| ms.checked_add(tf))
            .ok_or_else(|| at.error(format!("eventdate `{d}` + timeframe `{tf}` is out of range")))?;
        let ts = ts_from_f64_ms(ts as f64).map_err(|e| at.error(format!("eventdate `{d}` + timeframe `{tf}`: {e}")))?;
        sink.rows += 1;
        sink.push(s, i, EventKind::View, ts);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Generic event logs

fn load_event_log(path: &Path, columns: Option<&ColumnMap>, sink: &mut Sink) -> Result<()> {
    let mut r = LineReader::open(path, Encoding::Utf8)?;
    let header = r.header()?;
    let delim = sniff_delimiter(&header).ok_or_else(|| {
        r.error(format!("the header `{header}` has no delimiter (expected a comma, TAB or semicolon between names)"))
    })?;
    let delim = delim as u8;
    let mut f = Fields::default();
    f.split(&header, delim).map_err(|p| r.error(p))?;
    let head: Vec<Cow<'_, str>> = (0..f.len()).map(|k| f.get(&header, k)).collect();
    let head_refs: Vec<&str> = head.iter().map(|h| h.as_ref()).collect();
    let default_map = ColumnMap::default();
    let c = columns.unwrap_or(&default_map).resolve(&head_refs, path, r.line_no())?;
    sink.b.has_timestamps = c.timestamp.is_some();
    let want = f.len();
    while let Some((at, line)) = r.next_record()? {
        f.split(line, delim).map_err(|p| at.error(p))?;
        if f.len() != want {
            return Err(field_count_error(at, want, f.len(), " (as many as the header)"));
        }
        sink.rows += 1;
        let kind = match c.event {
            Some(k) => {
                let raw = f.get(line, k);
                raw.parse::<EventKind>().map_err(|e| at.error(e.to_string()))?
            }
            None => EventKind::View,
        };
        let user = f.get(line, c.user);
        let item = f.get(line, c.item);
        let (user, item) = (user.trim(), item.trim());
        if kind == EventKind::Search && item.is_empty() {
            sink.skipped_searches += 1;
            continue;
        }
        let ts = match c.timestamp {
            Some(t) => {
                let raw = f.get(line, t);
                parse_timestamp(at, raw.trim())?
            }
            None => sink.arrival,
        };
        let query = c.query.map(|q| f.get(line, q).trim().to_string()).filter(|q| !q.is_empty());
        let value = match c.value.map(|v| f.get(line, v)) {
            Some(v) if !v.trim().is_empty() => match v.trim().parse::<f32>() {
                Ok(x) => Some(x),
                Err(_) => return Err(at.error(format!("value `{v}` is not a number"))),
            },
            _ => None,
        };
        let event = Event { user: user.to_string(), item: item.to_string(), kind, ts, query, value };
        event.validate().map_err(|e| at.error(e.to_string()))?;
        sink.push(&event.user, &event.item, kind, ts);
    }
    Ok(())
}

/// An event-log timestamp: epoch seconds (below 1e11) or milliseconds, or ISO-8601.
fn parse_timestamp(at: At<'_>, raw: &str) -> Result<i64> {
    if raw.is_empty() {
        return Err(at.error("empty timestamp"));
    }
    if raw.parse::<f64>().is_ok() {
        return epoch_ts(at, raw);
    }
    match parse_iso8601_ms(raw) {
        Some(ms) => ts_from_f64_ms(ms as f64).map_err(|e| at.error(format!("timestamp `{raw}`: {e}"))),
        None => Err(at.error(format!(
            "timestamp `{raw}` is neither a number (epoch seconds or ms) nor an ISO-8601 date or date-time"
        ))),
    }
}

// ---------------------------------------------------------------------------------------
// Dates

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (negative before 1970).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    // Count in years that start on March 1st, so that February (and its leap day) comes last.
    let (y, m) = if m <= 2 { (y - 1, m + 12) } else { (y, m) };
    let cycle = y.div_euclid(400); // 400-year cycles of 146,097 days
    let yoc = y.rem_euclid(400);
    // Days from March 1st to the first of month m (m = 3..=14): 30.6 days a month, rounded.
    let day_of_year = (153 * (m as i64 - 3) + 2) / 5 + d as i64 - 1;
    let day_of_cycle = yoc * 365 + yoc / 4 - yoc / 100 + day_of_year;
    // 719,468 days separate 0000-03-01 from 1970-01-01.
    cycle * 146_097 + day_of_cycle - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn digits(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `YYYY-MM-DD` → days since 1970-01-01; `None` if it is not a valid date.
pub fn parse_date(s: &str) -> Option<i64> {
    let (y, rest) = s.split_once('-')?;
    let (m, d) = rest.split_once('-')?;
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d) = (digits(y)? as i64, digits(m)?, digits(d)?);
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// ISO-8601 date or date-time → ms since the epoch (UTC).
///
/// Accepts `2016-05-09`, `2016-05-09T10:11:12Z`, `2016-05-09 10:11:12`, `10:11` without
/// seconds, fractional seconds (`12.345`), and offsets `Z`, `±HH:MM`, `±HHMM` or `±HH`.
/// A date-time without an offset is taken as UTC.
pub fn parse_iso8601_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let days = parse_date(s.get(..10)?)?;
    let rest = s.get(10..)?;
    if rest.is_empty() {
        return days.checked_mul(86_400_000);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix('t')).or_else(|| rest.strip_prefix(' '))?;
    // Split off the offset: `Z`, or the last `+`/`-`.
    let (time, offset_min) = if let Some(t) = rest.strip_suffix('Z').or_else(|| rest.strip_suffix('z')) {
        (t, 0i64)
    } else if let Some(p) = rest.rfind(['+', '-']) {
        let (t, off) = rest.split_at(p);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let off = off.get(1..)?;
        let (hh, mm) = match off.split_once(':') {
            Some((h, m)) => (h, m),
            None if off.len() == 4 => off.split_at(2),
            None if off.len() == 2 => (off, "00"),
            None => return None,
        };
        if hh.len() != 2 || mm.len() != 2 {
            return None;
        }
        let (hh, mm) = (digits(hh)?, digits(mm)?);
        if hh > 23 || mm > 59 {
            return None;
        }
        (t, sign * (hh as i64 * 60 + mm as i64))
    } else {
        (rest, 0)
    };
    let mut parts = time.splitn(3, ':');
    let hh = parts.next()?;
    let mm = parts.next()?;
    let ss = parts.next().unwrap_or("00");
    if hh.len() != 2 || mm.len() != 2 {
        return None;
    }
    let (hh, mm) = (digits(hh)?, digits(mm)?);
    let (whole, frac) = ss.split_once(['.', ',']).unwrap_or((ss, ""));
    if whole.len() != 2 || (ss.len() > 2 && frac.is_empty()) {
        return None;
    }
    let sec = digits(whole)?;
    if hh > 23 || mm > 59 || sec > 60 {
        return None;
    }
    let mut frac_ms = 0i64;
    if !frac.is_empty() {
        digits(frac)?;
        // Milliseconds from the first three digits, rounded by the fourth.
        let padded: String = frac.chars().chain("000".chars()).take(4).collect();
        let v: i64 = padded.parse().ok()?;
        frac_ms = (v + 5) / 10;
    }
    let secs = days.checked_mul(86_400)? + hh as i64 * 3600 + mm as i64 * 60 + sec as i64 - offset_min * 60;
    secs.checked_mul(1000)?.checked_add(frac_ms)
}

// ---------------------------------------------------------------------------------------
// Delimited lines

/// The fields of one delimited line, as byte spans (no allocation per line).
///
/// Quoting follows RFC 4180: a field that starts with `"` runs to the next lone `"`, and `""`
/// inside it is one quote. A quoted field cannot span lines.
#[derive(Debug, Default)]
struct Fields {
    /// (start, end, has escaped quotes)
    spans: Vec<(usize, usize, bool)>,
}

impl Fields {
    fn split(&mut self, line: &str, delim: u8) -> std::result::Result<(), String> {
        self.spans.clear();
        let b = line.as_bytes();
        let mut pos = 0;
        loop {
            // Leading spaces before an opening quote are allowed (`a, "b"`).
            let lead = b.get(pos..).map_or(0, |r| r.iter().take_while(|&&c| c == b' ').count());
            if b.get(pos + lead) == Some(&b'"') {
                let start = pos + lead + 1;
                let mut j = start;
                let mut escaped = false;
                let end = loop {
                    match b.get(j..).and_then(|r| r.iter().position(|&c| c == b'"')) {
                        None => {
                            return Err(format!(
                                "unterminated quoted field {} (a quoted field cannot span lines)",
                                self.spans.len() + 1
                            ));
                        }
                        Some(q) if b.get(j + q + 1) == Some(&b'"') => {
                            escaped = true;
                            j += q + 2;
                        }
                        Some(q) => break j + q,
                    }
                };
                self.spans.push((start, end, escaped));
                let after = end + 1;
                let trail = b.get(after..).map_or(0, |r| r.iter().take_while(|&&c| c == b' ').count());
                match b.get(after + trail) {
                    None => return Ok(()),
                    Some(&c) if c == delim => pos = after + trail + 1,
                    Some(_) => {
                        return Err(format!(
                            "text after the closing quote of field {} (quote a quote as \"\")",
                            self.spans.len()
                        ));
                    }
                }
            } else {
                match b.get(pos..).and_then(|r| r.iter().position(|&c| c == delim)) {
                    Some(d) => {
                        self.spans.push((pos, pos + d, false));
                        pos += d + 1;
                    }
                    None => {
                        self.spans.push((pos, b.len(), false));
                        return Ok(());
                    }
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.spans.len()
    }

    /// Field `k` of `line` (the line given to the last `split`); empty when out of range.
    fn get<'a>(&self, line: &'a str, k: usize) -> Cow<'a, str> {
        match self.spans.get(k) {
            Some(&(s, e, escaped)) => {
                let f = line.get(s..e).unwrap_or("");
                if escaped { Cow::Owned(f.replace("\"\"", "\"")) } else { Cow::Borrowed(f) }
            }
            None => Cow::Borrowed(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str, d: u8) -> std::result::Result<Vec<String>, String> {
        let mut f = Fields::default();
        f.split(line, d)?;
        Ok((0..f.len()).map(|k| f.get(line, k).into_owned()).collect())
    }

    #[test]
    fn fields_split_with_quotes() {
        assert_eq!(fields("a,b,,c", b',').unwrap(), ["a", "b", "", "c"]);
        assert_eq!(fields("a,", b',').unwrap(), ["a", ""]);
        assert_eq!(fields("", b',').unwrap(), [""]);
        assert_eq!(
            fields(r#"1,"American President, The (1995)","say ""hi""",x"#, b',').unwrap(),
            ["1", "American President, The (1995)", r#"say "hi""#, "x"]
        );
        assert_eq!(fields("a;\"b;c\";d", b';').unwrap(), ["a", "b;c", "d"]);
        assert_eq!(fields(r#"a, "b" ,c"#, b',').unwrap(), ["a", "b", "c"]);
        assert!(fields(r#"a,"open"#, b',').unwrap_err().contains("unterminated quoted field 2"));
        assert!(fields(r#""a"b,c"#, b',').unwrap_err().contains("after the closing quote"));
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // 2016-05-09 is 1462752000 s (DIGINETICA's first session date).
        assert_eq!(days_from_civil(2016, 5, 9) * 86_400, 1_462_752_000);
        assert_eq!(days_from_civil(2024, 2, 29) - days_from_civil(2024, 2, 28), 1);
        assert_eq!(days_from_civil(2100, 1, 1) * 86_400_000, crate::events::MAX_TS_MS);
        // Every day of 1900..2100 follows the one before.
        let mut prev = days_from_civil(1899, 12, 31);
        for y in 1900..2100 {
            for m in 1..=12 {
                for d in 1..=days_in_month(y, m) {
                    let n = days_from_civil(y, m, d);
                    assert_eq!(n, prev + 1, "{y}-{m}-{d}");
                    prev = n;
                }
            }
        }
    }

    #[test]
    fn iso8601_forms() {
        let base = 1_462_752_000_000; // 2016-05-09T00:00:00Z
        let t = base + (10 * 3600 + 11 * 60 + 12) * 1000;
        assert_eq!(parse_iso8601_ms("2016-05-09"), Some(base));
        assert_eq!(parse_iso8601_ms("2016-05-09T10:11:12Z"), Some(t));
        assert_eq!(parse_iso8601_ms("2016-05-09 10:11:12"), Some(t));
        assert_eq!(parse_iso8601_ms("2016-05-09T10:11:12.345Z"), Some(t + 345));
        assert_eq!(parse_iso8601_ms("2016-05-09T10:11:12.3456"), Some(t + 346));
        assert_eq!(parse_iso8601_ms("2016-05-09T10:11:12.5"), Some(t + 500));
        assert_eq!(parse_iso8601_ms("2016-05-09T12:11:12+02:00"), Some(t));
        assert_eq!(parse_iso8601_ms("2016-05-09T08:41:12-0130"), Some(t));
        assert_eq!(parse_iso8601_ms("2016-05-09T10:11"), Some(t - 12_000));
        for bad in [
            "2016-5-9",
            "2016-02-30",
            "2016-13-01",
            "2016-05-09T25:00:00",
            "2016-05-09X10:11",
            "2016-05-09T10:11:12+5",
            "2016-05-09T10:11:12.",
        ] {
            assert_eq!(parse_iso8601_ms(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2015-02-29"), None);
        assert_eq!(parse_date("2016-02-29"), Some(days_from_civil(2016, 2, 29)));
    }

    #[test]
    fn dataset_names_drop_extensions() {
        assert_eq!(dataset_name(Path::new("/d/Beauty.txt.xz"), DataFormat::UserLines), "Beauty");
        assert_eq!(dataset_name(Path::new("/d/ml-1m/ratings.dat"), DataFormat::MovielensDat), "ml-1m");
        assert_eq!(dataset_name(Path::new("/d/ml-100k/ml-100k.inter"), DataFormat::Recbole), "ml-100k");
        assert_eq!(dataset_name(Path::new("events"), DataFormat::EventLog), "events");
    }
}
