//! Months in a brand's time zone: an order placed at 2026-10-31T16:30Z is 00:30 on
//! 1 November in Shanghai and belongs to November.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::AppError;

/// Parses `YYYY-MM`.
pub fn parse_month(month: &str) -> Result<NaiveDate, AppError> {
    let bad = || AppError::bad_request("invalid_month", format!("month must be YYYY-MM (got {month:?})"));
    if month.len() != 7 {
        return Err(bad());
    }
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())
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
        zone.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest().map(|t| t.with_timezone(&Utc)).ok_or_else(|| AppError::internal("no local midnight"))
    };
    Ok((at_midnight(first)?, at_midnight(next)?))
}

/// The `YYYY-MM` that `at` falls in, in the brand's time zone.
pub fn month_of(at: DateTime<Utc>, tz: &str) -> Result<String, AppError> {
    Ok(at.with_timezone(&zone(tz)?).format("%Y-%m").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
