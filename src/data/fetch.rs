//! Fetching the default dataset, MovieLens-100k.
//!
//! localrec's default dataset is MovieLens-100k in RecBole's atomic-file layout, exactly as
//! the PyPI wheel `recbole==1.2.1` ships it (`recbole/dataset_example/ml-100k/`). The wheel
//! is downloaded with pip (or given with `--wheel`), the two files are extracted into
//! `<data_dir>/ml-100k/`, checked, and kept there. A failed fetch never leaves a partial file:
//! files are written under temporary names and renamed into place only when complete.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::data::io::find_plain_or_xz;
use crate::error::{Error, Result};

/// The PyPI requirement whose wheel holds the dataset.
pub const RECBOLE_REQUIREMENT: &str = "recbole==1.2.1";
/// The wheel's file name on PyPI.
pub const RECBOLE_WHEEL: &str = "recbole-1.2.1-py3-none-any.whl";
/// Folder inside the wheel.
const WHEEL_DIR: &str = "recbole/dataset_example/ml-100k";
/// Lines of `ml-100k.inter`: a header and 100,000 ratings.
pub const ML100K_INTER_LINES: u64 = 100_001;
/// Lines of `ml-100k.item`: a header and 1,682 movies.
pub const ML100K_ITEM_LINES: u64 = 1_683;

const WHAT: &str = "MovieLens-100k";

fn fetch_err(problem: impl Into<String>) -> Error {
    Error::Fetch { what: WHAT.into(), problem: problem.into() }
}

/// One file to take out of an archive.
#[derive(Clone, Copy, Debug)]
pub struct Member<'a> {
    /// Path inside the archive.
    pub name: &'a str,
    /// File name to write in the destination folder.
    pub dest: &'a str,
    /// Expected number of lines (a last line without `\n` counts).
    pub lines: u64,
}

/// `<data_dir>/ml-100k`, with `ml-100k.inter` and `ml-100k.item`, fetching them if needed.
///
/// Cached files are used as they are. Otherwise the wheel is `wheel`, or is downloaded with
/// `python3 -m pip download` (falling back to `pip`) into `<data_dir>/.downloads`.
pub fn fetch_ml100k(data_dir: &Path, wheel: Option<&Path>) -> Result<PathBuf> {
    let dir = data_dir.join("ml-100k");
    let cached = ["ml-100k.inter", "ml-100k.item"].iter().all(|f| find_plain_or_xz(&dir.join(f)).is_some());
    if cached {
        return Ok(dir);
    }
    let wheel = match wheel {
        Some(w) => w.to_path_buf(),
        None => download_wheel(&data_dir.join(".downloads"))?,
    };
    extract_ml100k(&wheel, &dir)?;
    Ok(dir)
}

/// Extracts and checks `ml-100k.inter` and `ml-100k.item` from the recbole wheel into `dir`,
/// and writes `dir/SOURCE.txt`.
pub fn extract_ml100k(wheel: &Path, dir: &Path) -> Result<()> {
    let inter = format!("{WHEEL_DIR}/ml-100k.inter");
    let item = format!("{WHEEL_DIR}/ml-100k.item");
    let members = [
        Member { name: &inter, dest: "ml-100k.inter", lines: ML100K_INTER_LINES },
        Member { name: &item, dest: "ml-100k.item", lines: ML100K_ITEM_LINES },
    ];
    extract_members(wheel, dir, &members)?;
    let source = format!(
        "MovieLens-100k (GroupLens, https://grouplens.org/datasets/movielens/100k/) in RecBole's atomic-file layout.\n\
         Extracted by localrec from {WHEEL_DIR}/ of the PyPI wheel {RECBOLE_REQUIREMENT} ({RECBOLE_WHEEL}),\n\
         read from {}.\n\
         ml-100k.inter: {ML100K_INTER_LINES} lines (header + 100,000 ratings of 1,682 movies by 943 users).\n\
         ml-100k.item: {ML100K_ITEM_LINES} lines (header + 1,682 movies: title, release year, genres).\n\
         The MovieLens data is licensed by GroupLens for research use; see their README for the terms.\n",
        wheel.display()
    );
    write_atomic(&dir.join("SOURCE.txt"), source.as_bytes())
}

/// Extracts `members` of the zip archive `archive` into `dir`, checking their line counts.
///
/// Every member is first written to a temporary file in `dir`; only when all are complete and
/// have the expected number of lines are they renamed into place. On any error the
/// temporary files are removed and nothing under the final names is touched.
pub fn extract_members(archive: &Path, dir: &Path, members: &[Member<'_>]) -> Result<()> {
    let file = File::open(archive).map_err(|e| Error::io(archive, e))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| fetch_err(format!("{} is not a readable zip/wheel archive: {e}", archive.display())))?;
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| -> Result<()> {
        for m in members {
            let tmp = dir.join(format!(".{}.part-{}", m.dest, std::process::id()));
            temps.push((tmp.clone(), dir.join(m.dest)));
            let mut entry = zip.by_name(m.name).map_err(|e| {
                fetch_err(format!(
                    "{} has no `{}` ({e}); is it the {RECBOLE_REQUIREMENT} wheel ({RECBOLE_WHEEL})?",
                    archive.display(),
                    m.name
                ))
            })?;
            let lines = copy_counting_lines(&mut entry, &tmp)?;
            if lines != m.lines {
                return Err(fetch_err(format!(
                    "`{}` in {} has {lines} lines, expected {}; the archive is not the expected version",
                    m.name,
                    archive.display(),
                    m.lines
                )));
            }
        }
        for (tmp, dest) in &temps {
            fs::rename(tmp, dest).map_err(|e| Error::io(dest, e))?;
        }
        Ok(())
    })();
    if result.is_err() {
        for (tmp, _) in &temps {
            let _ = fs::remove_file(tmp);
        }
    }
    result
}

/// Copies `src` to a new file `dest`, returning its number of lines.
fn copy_counting_lines(src: &mut impl Read, dest: &Path) -> Result<u64> {
    let mut out = File::create(dest).map_err(|e| Error::io(dest, e))?;
    let mut buf = vec![0u8; 64 << 10];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fetch_err(format!("reading the archive member failed: {e}"))),
        };
        let chunk = buf.get(..n).unwrap_or(&[]);
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        last = chunk.last().copied().unwrap_or(last);
        out.write_all(chunk).map_err(|e| Error::io(dest, e))?;
    }
    out.sync_all().map_err(|e| Error::io(dest, e))?;
    if last != b'\n' {
        lines += 1;
    }
    Ok(lines)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("part-{}", std::process::id()));
    let r = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path));
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r.map_err(|e| Error::io(path, e))
}

/// A `recbole-1.2.1*.whl` file in `dir`.
fn find_wheel(dir: &Path) -> Option<PathBuf> {
    fs::read_dir(dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).find(|p| {
        p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("recbole-1.2.1") && n.ends_with(".whl"))
    })
}

/// Downloads the recbole wheel into `dir` with pip and returns its path.
fn download_wheel(dir: &Path) -> Result<PathBuf> {
    if let Some(w) = find_wheel(dir) {
        return Ok(w);
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let pip_args = ["download", "--no-deps", "--disable-pip-version-check", "-q", RECBOLE_REQUIREMENT, "-d"];
    let mut failures = Vec::new();
    for (program, prefix) in [("python3", &["-m", "pip"][..]), ("pip", &[][..])] {
        let out = Command::new(program).args(prefix).args(pip_args).arg(dir).output();
        match out {
            Ok(o) if o.status.success() => {
                if let Some(w) = find_wheel(dir) {
                    return Ok(w);
                }
                failures.push(format!("`{program}` succeeded but left no recbole-1.2.1 wheel in {}", dir.display()));
            }
            Ok(o) => {
                let err = String::from_utf8_lossy(&o.stderr);
                let tail: Vec<&str> = err.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
                failures.push(format!("`{program}` exited with {}: {}", o.status, tail.join(" / ")));
            }
            Err(e) => failures.push(format!("`{program}` could not be run: {e}")),
        }
    }
    Err(fetch_err(format!(
        "downloading the {RECBOLE_REQUIREMENT} wheel with pip failed ({}). Download {RECBOLE_WHEEL} from \
         https://pypi.org/project/recbole/1.2.1/#files on a machine with internet access (or run \
         `pip download --no-deps {RECBOLE_REQUIREMENT}`), then pass it with --wheel PATH",
        failures.join("; ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn make_zip(path: &Path, files: &[(&str, &str)]) {
        let mut w = zip::ZipWriter::new(File::create(path).unwrap());
        for (name, body) in files {
            let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            w.start_file(*name, opts).unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap();
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = match fs::read_dir(dir) {
            Ok(rd) => rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
            Err(_) => Vec::new(),
        };
        v.sort();
        v
    }

    #[test]
    fn extracts_members_and_counts_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let zip_path = tmp.path().join("w.whl");
        make_zip(&zip_path, &[("a/x.inter", "h\n1\n2\n"), ("a/x.item", "h\nno newline at end"), ("b", "other")]);
        let out = tmp.path().join("out");
        let members = [
            Member { name: "a/x.inter", dest: "x.inter", lines: 3 },
            Member { name: "a/x.item", dest: "x.item", lines: 2 },
        ];
        extract_members(&zip_path, &out, &members).unwrap();
        assert_eq!(listing(&out), ["x.inter", "x.item"]);
        assert_eq!(fs::read_to_string(out.join("x.inter")).unwrap(), "h\n1\n2\n");
        assert_eq!(fs::read_to_string(out.join("x.item")).unwrap(), "h\nno newline at end");
    }

    #[test]
    fn failed_extraction_leaves_no_file() {
        let tmp = tempfile::tempdir().unwrap();
        let zip_path = tmp.path().join("w.whl");
        make_zip(&zip_path, &[("a/x.inter", "h\n1\n"), ("a/x.item", "h\n")]);
        let out = tmp.path().join("out");
        // Wrong line count on the second member: the first must not be renamed into place either.
        let members = [
            Member { name: "a/x.inter", dest: "x.inter", lines: 2 },
            Member { name: "a/x.item", dest: "x.item", lines: 5 },
        ];
        let e = extract_members(&zip_path, &out, &members).unwrap_err();
        assert!(matches!(e, Error::Fetch { .. }), "{e}");
        assert!(e.to_string().contains("has 1 lines, expected 5"), "{e}");
        assert!(listing(&out).is_empty(), "{:?}", listing(&out));
        // A missing member names the member.
        let members = [Member { name: "a/none", dest: "n", lines: 1 }];
        let e = extract_members(&zip_path, &out, &members).unwrap_err().to_string();
        assert!(e.contains("no `a/none`"), "{e}");
        assert!(listing(&out).is_empty());
        // Not a zip at all.
        fs::write(tmp.path().join("bad.whl"), "not a zip").unwrap();
        let e = extract_members(&tmp.path().join("bad.whl"), &out, &members).unwrap_err().to_string();
        assert!(e.contains("not a readable zip"), "{e}");
    }

    #[test]
    fn ml100k_checks_line_counts() {
        let tmp = tempfile::tempdir().unwrap();
        let zip_path = tmp.path().join("recbole.whl");
        let inter = format!("{WHEEL_DIR}/ml-100k.inter");
        let item = format!("{WHEEL_DIR}/ml-100k.item");
        make_zip(&zip_path, &[(&inter, "user_id:token\titem_id:token\n1\t2\n"), (&item, "item_id:token\n2\n")]);
        let e = fetch_ml100k(tmp.path(), Some(&zip_path)).unwrap_err().to_string();
        assert!(e.contains("has 2 lines, expected 100001"), "{e}");
        assert!(listing(&tmp.path().join("ml-100k")).is_empty());
        // Cached files are used without looking at the wheel.
        let dir = tmp.path().join("ml-100k");
        fs::write(dir.join("ml-100k.inter"), "x").unwrap();
        fs::write(dir.join("ml-100k.item"), "x").unwrap();
        assert_eq!(fetch_ml100k(tmp.path(), Some(Path::new("/nonexistent.whl"))).unwrap(), dir);
    }
}
