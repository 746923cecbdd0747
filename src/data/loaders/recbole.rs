//! RecBole atomic files: a `<name>.inter` file of interactions (TAB-separated, typed header
//! `user_id:token item_id:token rating:float timestamp:float`, the timestamp optional) and,
//! beside it, a `<name>.item` file of titles and categories.

use std::path::Path;

use super::{Sink, check_ids, field_count_error, pick, scaled_ts};
use crate::data::io::{Encoding, LineReader, find_plain_or_xz, name_without_xz};
use crate::error::Result;
use crate::events::EventKind;

/// A RecBole header field: `name:type` → (`name` lower-cased, `type`).
fn recbole_field(f: &str) -> (String, &str) {
    let (name, ty) = f.trim().rsplit_once(':').unwrap_or((f.trim(), ""));
    (name.trim().to_ascii_lowercase(), ty.trim())
}

pub(super) fn load_recbole(inter: &Path, sink: &mut Sink) -> Result<()> {
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
