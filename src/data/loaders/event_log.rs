//! Generic event logs: CSV or TSV (the delimiter sniffed from the header) with a header, the
//! columns chosen by a [`ColumnMap`] or found by common names; timestamps in epoch seconds or
//! ms, or ISO-8601.

use std::borrow::Cow;
use std::path::Path;

use super::fields::Fields;
use super::{Sink, epoch_ts, field_count_error, parse_iso8601_ms};
use crate::data::format::{ColumnMap, sniff_delimiter};
use crate::data::io::{At, Encoding, LineReader};
use crate::error::Result;
use crate::events::{Event, EventKind, ts_from_f64_ms};

pub(super) fn load_event_log(path: &Path, columns: Option<&ColumnMap>, sink: &mut Sink) -> Result<()> {
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
