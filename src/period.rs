//! Months in a brand's time zone: an order placed at 2026-10-31T16:30Z is 00:30 on
//! 1 November in Shanghai and belongs to November.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::AppError;

/// What a month looks like on the wire (the OpenAPI document says so for every `month`).
pub const MONTH_PATTERN: &str = "^20[0-9]{2}-(0[1-9]|1[0-2])$";

/// Parses `YYYY-MM`, years 2000–2099: books of this century (a `0000-01` or `+99999-01` is a
/// mistake, not a month to keep books for).
pub fn parse_month(month: &str) -> Result<NaiveDate, AppError> {
    let bad = || AppError::bad_request("invalid_month", format!("month must be YYYY-MM between 2000-01 and 2099-12 (got {month:?})"));
    let b = month.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit()) || !month.starts_with("20") {
        return Err(bad());
    }
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())
}

/// The instants the books take (dates of orders, refunds, joinings, plans): 2000 to 2099,
/// like months. Anything else is a typo or a probe, and would not print as RFC 3339.
pub fn check_range(at: DateTime<Utc>, what: &str) -> Result<(), AppError> {
    let from = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).single();
    let until = Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).single();
    match (from, until) {
        (Some(from), Some(until)) if at >= from && at < until => Ok(()),
        _ => Err(AppError::validation(format!("{what} must be between 2000-01-01 and 2099-12-31 (got {at})"))),
    }
}

fn zone(tz: &str) -> Result<Tz, AppError> {
    tz.parse::<Tz>().map_err(|_| AppError::internal(format!("brand time zone {tz:?} is not valid")))
}

/// [start, end) of the month in UTC.
pub fn month_bounds(month: &str, tz: &str) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let first = parse_month(month)?;
    let next = first.checked_add_months(chrono::Months::new(1)).ok_or_else(|| AppError::bad_request("invalid_month", "month out of range"))?;
    let zone = zone(tz)?;
    let at_midnight = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| AppError::internal("no local midnight"))
    };
    Ok((at_midnight(first)?, at_midnight(next)?))
}

/// The `YYYY-MM` that `at` falls in, in the brand's time zone.
pub fn month_of(at: DateTime<Utc>, tz: &str) -> Result<String, AppError> {
    Ok(at.with_timezone(&zone(tz)?).format("%Y-%m").to_string())
}

/// `month` and the `n - 1` months before it, newest first (stopping at 2000-01).
pub fn months_back(month: &str, n: usize) -> Result<Vec<String>, AppError> {
    let first = parse_month(month)?;
    Ok((0..n as u32)
        .map_while(|i| first.checked_sub_months(chrono::Months::new(i)))
        .map(|d| d.format("%Y-%m").to_string())
        .take_while(|m| parse_month(m).is_ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_back_stop_at_2000() {
        assert_eq!(months_back("2026-02", 3).unwrap(), ["2026-02", "2026-01", "2025-12"]);
        assert_eq!(months_back("2000-02", 3).unwrap(), ["2000-02", "2000-01"]);
    }

    #[test]
    fn shanghai_month_boundary() {
        let at: DateTime<Utc> = "2026-10-31T16:30:00Z".parse().unwrap();
        assert_eq!(month_of(at, "Asia/Shanghai").unwrap(), "2026-11");
        let (start, end) = month_bounds("2026-11", "Asia/Shanghai").unwrap();
        assert_eq!(start.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("2026-1").is_err());
    }
}
