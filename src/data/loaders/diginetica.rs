//! DIGINETICA (CIKM Cup 2016): `session_id;user_id;item_id;timeframe;eventdate`, one view per
//! line; a session is a user, and its time is the date plus the timeframe in ms.

use std::borrow::Cow;
use std::path::Path;

use super::fields::header_columns;
use super::{Sink, check_ids, field_count_error, parse_date, pick};
use crate::data::format::is_diginetica_header;
use crate::data::io::{Encoding, LineReader};
use crate::error::Result;
use crate::events::{EventKind, ts_from_f64_ms};

pub(super) fn load_diginetica(path: &Path, sink: &mut Sink) -> Result<()> {
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
