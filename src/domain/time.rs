//! Dates for display. Times are Unix seconds in UTC everywhere; this turns them into calendar
//! dates without a time-zone database, for the server and the browser bundle alike.

/// (year, month, day) of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 of a calendar date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The start (00:00 UTC) of a `YYYY-MM-DD` date, in Unix seconds; `None` unless it is a real
/// calendar date.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (year, month, day) = (y.parse::<i64>().ok()?, m.parse().ok()?, d.parse().ok()?);
    let days = days_from_civil(year, month, day);
    // Round-tripping rejects 2026-02-30 and month 13.
    (civil_from_days(days) == (year, month, day)).then_some(days * 86_400)
}

/// `2026-11-28`
pub fn format_date(unix_seconds: i64) -> String {
    let (y, m, d) = civil_from_days(unix_seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2026-11-28 12:00 UTC`
pub fn format_date_time(unix_seconds: i64) -> String {
    let minutes = unix_seconds.rem_euclid(86_400) / 60;
    format!(
        "{} {:02}:{:02} UTC",
        format_date(unix_seconds),
        minutes / 60,
        minutes % 60
    )
}

/// `2026-11-28T12:00:00Z`, as SCIM and JSON APIs write times.
pub fn format_rfc3339(unix_seconds: i64) -> String {
    let secs = unix_seconds.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(unix_seconds),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_match_the_calendar() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date_time(1_795_867_200), "2026-11-28 12:00 UTC");
        assert_eq!(format_date(951_782_400), "2000-02-29");
        assert_eq!(format_date(951_868_799), "2000-02-29");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_rfc3339(1_795_867_261), "2026-11-28T12:01:01Z");
    }

    #[test]
    fn only_real_dates_parse() {
        assert_eq!(parse_date("2026-11-28"), Some(1_795_824_000));
        assert_eq!(
            parse_date("2000-02-29").map(format_date).as_deref(),
            Some("2000-02-29")
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "26-11-28",
            "2026-1-28",
            "soon",
            "",
            "2026-11-28x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
