//! Streaming text input: plain or xz-compressed files, read line by line.
//!
//! [`LineReader`] opens a file, decompresses it on the fly when it is xz (by the `.xz`
//! extension or by the xz magic bytes `FD 37 7A 58 5A 00`), and hands out one line at a time
//! with its 1-based number. Memory stays bounded: one line is held at a time, and a line
//! longer than [`MAX_LINE_BYTES`] is an error rather than an allocation.
//!
//! ```no_run
//! use localrec::data::io::{Encoding, LineReader};
//! let mut r = LineReader::open("data/Beauty.txt.xz", Encoding::Utf8)?;
//! while let Some((at, line)) = r.next_record()? {
//!     if line.split_whitespace().count() < 2 {
//!         return Err(at.error("expected a user and at least one item"));
//!     }
//! }
//! # Ok::<(), localrec::Error>(())
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The xz magic bytes that open every `.xz` stream.
pub const XZ_MAGIC: [u8; 6] = [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00];

/// Longest accepted line, in bytes (after decompression).
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// How the bytes of a text file are turned into characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8; an invalid byte sequence is an error naming the file and line.
    #[default]
    Utf8,
    /// ISO-8859-1: every byte is the character with the same code point (MovieLens `.dat`).
    Latin1,
}

/// True when `path`'s name ends in `.xz` (any case).
pub fn has_xz_extension(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("xz"))
}

/// The file name of `path` without a trailing `.xz` (`Beauty.txt.xz` → `Beauty.txt`).
pub fn name_without_xz(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    match name.len().checked_sub(3) {
        Some(cut) if name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(".xz") => name[..cut].to_string(),
        _ => name,
    }
}

/// `path` itself if it exists, else `path.xz` if that exists, else `None`.
pub fn find_plain_or_xz(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    let mut xz = path.as_os_str().to_owned();
    xz.push(".xz");
    let xz = PathBuf::from(xz);
    xz.is_file().then_some(xz)
}

/// Opens `path` for buffered reading, decompressing xz on the fly.
///
/// A missing or unreadable file is [`Error::Io`] naming the path; a file named `.xz` that
/// is not xz data is an [`Error::Io`] of kind `InvalidData`.
pub fn open_buffered(path: &Path) -> Result<Box<dyn BufRead>> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    // Read the first bytes ourselves (a single read may return fewer), then chain them back.
    let mut head = [0u8; 6];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    let magic = got == head.len() && head == XZ_MAGIC;
    if has_xz_extension(path) && !magic && got > 0 {
        return Err(Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidData, "the name ends in .xz but the file is not xz-compressed"),
        ));
    }
    let raw = io::Cursor::new(head).take(got as u64).chain(file);
    if magic { xz_reader(path, raw) } else { Ok(Box::new(BufReader::with_capacity(64 << 10, raw))) }
}

#[cfg(not(target_arch = "wasm32"))]
fn xz_reader(_path: &Path, raw: impl Read + 'static) -> Result<Box<dyn BufRead>> {
    // The multi-stream decoder also reads files made by concatenating `.xz` streams, as `xz -d` does.
    let dec = liblzma::read::XzDecoder::new_multi_decoder(BufReader::with_capacity(64 << 10, raw));
    Ok(Box::new(BufReader::with_capacity(64 << 10, dec)))
}

#[cfg(target_arch = "wasm32")]
fn xz_reader(path: &Path, _raw: impl Read + 'static) -> Result<Box<dyn BufRead>> {
    Err(Error::io(
        path,
        io::Error::new(io::ErrorKind::Unsupported, "xz-compressed files cannot be read in the WebAssembly build"),
    ))
}

/// Where a line is: file and 1-based line number. Copy it out of a [`LineReader`] to build
/// errors while the line is still borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct At<'a> {
    /// The file.
    pub path: &'a Path,
    /// 1-based line number.
    pub line: u64,
}

impl At<'_> {
    /// An [`Error::Parse`] at this place.
    pub fn error(self, problem: impl Into<String>) -> Error {
        Error::parse(self.path, self.line, problem)
    }
}

/// Reads a text file one line at a time, tracking 1-based line numbers.
///
/// Line endings (`\n`, `\r\n`) are stripped, as is a UTF-8 byte-order mark at the start of
/// the file. The reader lends each line until the next call, and reuses its buffers, so
/// reading allocates nothing per line.
pub struct LineReader {
    path: PathBuf,
    inner: Box<dyn BufRead>,
    encoding: Encoding,
    buf: Vec<u8>,
    text: String,
    line_no: u64,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader").field("path", &self.path).field("line_no", &self.line_no).finish_non_exhaustive()
    }
}

impl LineReader {
    /// Opens `path` (plain or xz). Missing file → [`Error::Io`] with the path.
    pub fn open(path: impl AsRef<Path>, encoding: Encoding) -> Result<Self> {
        let path = path.as_ref();
        Ok(Self::from_reader(path, open_buffered(path)?, encoding))
    }

    /// Reads lines from any buffered reader; `path` is only used in messages.
    pub fn from_reader(path: impl AsRef<Path>, reader: Box<dyn BufRead>, encoding: Encoding) -> Self {
        LineReader {
            path: path.as_ref().to_path_buf(),
            inner: reader,
            encoding,
            buf: Vec::with_capacity(256),
            text: String::with_capacity(256),
            line_no: 0,
        }
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of the line last returned (1-based; 0 before the first).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The place of the line last returned.
    pub fn at(&self) -> At<'_> {
        At { path: &self.path, line: self.line_no }
    }

    /// A parse error at the line last returned.
    pub fn error(&self, problem: impl Into<String>) -> Error {
        self.at().error(problem)
    }

    /// [`Error::EmptyFile`] for this file.
    pub fn empty_error(&self) -> Error {
        Error::EmptyFile { path: self.path.display().to_string() }
    }

    /// Reads the next line into `self.text`; false at the end of the file.
    fn advance(&mut self) -> Result<bool> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.inner).take(limit).read_until(b'\n', &mut self.buf).map_err(|e| Error::io(&self.path, e))?;
        if n == 0 {
            self.text.clear();
            return Ok(false);
        }
        self.line_no += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() > MAX_LINE_BYTES {
            return Err(self.error(format!("line is longer than {MAX_LINE_BYTES} bytes (is this a text file?)")));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        let mut bytes: &[u8] = &self.buf;
        if self.line_no == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        self.text.clear();
        match self.encoding {
            Encoding::Utf8 => match std::str::from_utf8(bytes) {
                Ok(s) => self.text.push_str(s),
                Err(e) => {
                    return Err(Error::parse(
                        &self.path,
                        self.line_no,
                        format!(
                            "invalid UTF-8 at byte {} of the line (is the file Latin-1? convert it to UTF-8)",
                            e.valid_up_to() + 1
                        ),
                    ));
                }
            },
            Encoding::Latin1 => self.text.extend(bytes.iter().map(|&b| char::from(b))),
        }
        Ok(true)
    }

    /// The next line without its line ending, or `None` at the end of the file.
    pub fn next_line(&mut self) -> Result<Option<&str>> {
        Ok(if self.advance()? { Some(&self.text) } else { None })
    }

    /// The next line that is not blank (only whitespace), or `None` at the end.
    pub fn next_nonblank(&mut self) -> Result<Option<&str>> {
        loop {
            if !self.advance()? {
                return Ok(None);
            }
            if !self.text.trim().is_empty() {
                return Ok(Some(&self.text));
            }
        }
    }

    /// The next non-blank line with its place, for loaders that report errors while they
    /// still hold the line.
    pub fn next_record(&mut self) -> Result<Option<(At<'_>, &str)>> {
        loop {
            if !self.advance()? {
                return Ok(None);
            }
            if !self.text.trim().is_empty() {
                return Ok(Some((At { path: &self.path, line: self.line_no }, &self.text)));
            }
        }
    }

    /// The first non-blank line (a header), or [`Error::EmptyFile`] when there is none.
    pub fn header(&mut self) -> Result<String> {
        match self.next_nonblank()? {
            Some(l) => Ok(l.to_string()),
            None => Err(self.empty_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &'static [u8], enc: Encoding) -> LineReader {
        LineReader::from_reader("mem.txt", Box::new(io::Cursor::new(bytes)), enc)
    }

    #[test]
    fn lines_strip_endings_and_count() {
        let mut r = reader(b"\xEF\xBB\xBFa b\r\n\n  \nlast\n\nx", Encoding::Utf8);
        assert_eq!(r.next_line().unwrap(), Some("a b"));
        assert_eq!(r.line_no(), 1);
        assert_eq!(r.next_nonblank().unwrap(), Some("last"));
        assert_eq!(r.line_no(), 4);
        let (at, line) = r.next_record().unwrap().unwrap();
        assert_eq!((at.line, line), (6, "x"));
        assert_eq!(at.error("bad").to_string(), "mem.txt:6: bad");
        assert_eq!(r.next_line().unwrap(), None);
        assert_eq!(r.line_no(), 6);
    }

    #[test]
    fn latin1_maps_bytes_to_code_points_and_utf8_rejects_them() {
        let mut r = reader(b"1::Caf\xE9 (1990)\n", Encoding::Latin1);
        assert_eq!(r.next_line().unwrap(), Some("1::Café (1990)"));
        let mut r = reader(b"ok\n1::Caf\xE9\n", Encoding::Utf8);
        r.next_line().unwrap();
        let e = r.next_line().unwrap_err().to_string();
        assert!(e.starts_with("mem.txt:2: invalid UTF-8 at byte 7"), "{e}");
    }

    #[test]
    fn header_of_blank_file_is_empty_file() {
        let mut r = reader(b"\n \n", Encoding::Utf8);
        assert!(matches!(r.header(), Err(Error::EmptyFile { .. })));
    }

    #[test]
    fn name_without_xz_strips_only_xz() {
        assert_eq!(name_without_xz(Path::new("/a/Beauty.txt.xz")), "Beauty.txt");
        assert_eq!(name_without_xz(Path::new("b.XZ")), "b");
        assert_eq!(name_without_xz(Path::new("ratings.dat")), "ratings.dat");
        assert_eq!(name_without_xz(Path::new("xz")), "xz");
    }

    #[test]
    fn missing_file_is_io_error_with_path() {
        let e = LineReader::open("/nonexistent/dir/f.txt", Encoding::Utf8).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        assert!(e.to_string().contains("/nonexistent/dir/f.txt"), "{e}");
    }
}
