//! Delimited lines: the fields of a line, quoted as in CSV (RFC 4180), and columns found by
//! their header names.

use std::borrow::Cow;

use crate::data::io::At;
use crate::error::Result;

/// The fields of one delimited line, as byte spans (no allocation per line).
///
/// Quoting follows RFC 4180: a field that starts with `"` runs to the next lone `"`, and `""`
/// inside it is one quote. A quoted field cannot span lines.
#[derive(Debug, Default)]
pub(super) struct Fields {
    /// (start, end, has escaped quotes)
    spans: Vec<(usize, usize, bool)>,
}

impl Fields {
    pub(super) fn split(&mut self, line: &str, delim: u8) -> std::result::Result<(), String> {
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

    pub(super) fn len(&self) -> usize {
        self.spans.len()
    }

    /// Field `k` of `line` (the line given to the last `split`); empty when out of range.
    pub(super) fn get<'a>(&self, line: &'a str, k: usize) -> Cow<'a, str> {
        match self.spans.get(k) {
            Some(&(s, e, escaped)) => {
                let f = line.get(s..e).unwrap_or("");
                if escaped { Cow::Owned(f.replace("\"\"", "\"")) } else { Cow::Borrowed(f) }
            }
            None => Cow::Borrowed(""),
        }
    }
}

/// Finds the columns named `want` (compared without case, `_` and spaces) in a header.
pub(super) fn header_columns<const N: usize>(
    at: At<'_>,
    header: &[Cow<'_, str>],
    want: [&str; N],
) -> Result<[usize; N]> {
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
}
