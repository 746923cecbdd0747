//! One user per line: `user item1 item2 …`, optionally followed by a TAB and one time gap per
//! item (`gap1 gap2 …`, seconds since the previous item).

use std::path::Path;

use super::{Sink, check_id};
use crate::data::format::split_gaps;
use crate::data::io::{Encoding, LineReader};
use crate::error::Result;
use crate::events::{EventKind, ts_from_f64_ms};

pub(super) fn load_user_lines(path: &Path, sink: &mut Sink) -> Result<()> {
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
