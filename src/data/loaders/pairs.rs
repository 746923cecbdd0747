//! Pairs: `user item` per line in time order, or `user item timestamp` (epoch seconds or ms)
//! when the first line has three fields.

use std::path::Path;

use super::{Sink, check_ids, epoch_ts, field_count_error, pick};
use crate::data::io::{Encoding, LineReader};
use crate::error::Result;
use crate::events::EventKind;

pub(super) fn load_pairs(path: &Path, sink: &mut Sink) -> Result<()> {
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
