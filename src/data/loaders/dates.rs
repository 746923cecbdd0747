//! Calendar dates without a date library: days since 1970-01-01 in the proleptic Gregorian
//! calendar, `YYYY-MM-DD` dates and ISO-8601 date-times.

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

/// The proleptic Gregorian date `(y, m, d)` of a day counted from 1970-01-01: the inverse of
/// [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01
    let cycle = z.div_euclid(146_097);
    let doc = z.rem_euclid(146_097);
    let yoc = (doc - doc / 1460 + doc / 36_524 - doc / 146_096) / 365;
    let day_of_year = doc - (365 * yoc + yoc / 4 - yoc / 100);
    let mp = (5 * day_of_year + 2) / 153; // month from March = 0
    let d = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoc + cycle * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d)
}

/// The UTC date `YYYY-MM-DD` of a time in milliseconds since the epoch.
pub fn iso_day(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_from_days_inverts_days_from_civil() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(iso_day(0), "1970-01-01");
        assert_eq!(iso_day(1_767_225_600_000), "2026-01-01");
        assert_eq!(iso_day(951_782_400_000), "2000-02-29");
        assert_eq!(iso_day(-1), "1969-12-31");
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
}
