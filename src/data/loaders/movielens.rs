//! MovieLens: `ratings.dat` (`user::item::rating::seconds`) with `movies.dat`
//! (`id::Title (year)::A|B`, Latin-1), and `ratings.csv` (`userId,movieId,rating,timestamp`)
//! with `movies.csv` (`movieId,title,genres`).

use std::borrow::Cow;
use std::path::Path;

use super::fields::{Fields, header_columns};
use super::{Sink, check_ids, field_count_error, pick, scaled_ts};
use crate::data::io::{At, Encoding, LineReader, find_plain_or_xz};
use crate::error::Result;
use crate::events::EventKind;

pub(super) fn load_ml_dat(ratings: &Path, sink: &mut Sink) -> Result<()> {
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

pub(super) fn load_ml_csv(ratings: &Path, sink: &mut Sink) -> Result<()> {
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
