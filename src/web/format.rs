//! How the console writes money and shares: `¥1,234.50`, `31.48%`.

use rust_decimal::{Decimal, RoundingStrategy};

/// `¥1,234.50` (negative: `-¥1,234.50`).
pub fn yuan(amount: &Decimal) -> String {
    let mut d = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    d.rescale(2);
    let text = d.abs().to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{}¥{grouped}.{frac}", if d.is_sign_negative() && !d.is_zero() { "-" } else { "" })
}

/// A share (0.3148) as a percentage with two places (31.48%); `—` when there is none.
pub fn percent(share: &Option<Decimal>) -> String {
    share.map_or_else(
        || "—".to_owned(),
        |s| {
            let mut p = (s * Decimal::ONE_HUNDRED).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            p.rescale(2);
            format!("{p}%")
        },
    )
}

#[cfg(test)]
mod tests {
    use rust_decimal_macros::dec;

    use super::*;

    #[test]
    fn money_and_shares_read_as_people_write_them() {
        assert_eq!(yuan(&dec!(1234.5)), "¥1,234.50");
        assert_eq!(yuan(&dec!(0)), "¥0.00");
        assert_eq!(yuan(&dec!(-1234567.891)), "-¥1,234,567.89");
        assert_eq!(yuan(&dec!(999)), "¥999.00");
        assert_eq!(percent(&Some(dec!(0.3148))), "31.48%");
        assert_eq!(percent(&Some(dec!(0.0000))), "0.00%");
        assert_eq!(percent(&None), "—");
    }
}

/// Template filters: `{{ amount|yuan }}`, `{{ share|percent }}`.
pub mod filters {
    use rust_decimal::Decimal;

    #[askama::filter_fn]
    pub fn yuan(amount: &Decimal, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::yuan(amount))
    }

    #[askama::filter_fn]
    pub fn share(share: &Decimal, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::percent(&Some(*share)))
    }

    #[askama::filter_fn]
    pub fn percent(share: &Option<Decimal>, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::percent(share))
    }
}

/// A time in the brand's zone, to the minute.
pub fn local(at: &chrono::DateTime<chrono::Utc>, tz: &chrono_tz::Tz) -> String {
    at.with_timezone(tz).format("%Y-%m-%d %H:%M").to_string()
}

/// The brand's zone; Shanghai when the stored name is unknown (settings validate it).
pub fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::Asia::Shanghai)
}

/// A fresh idempotency key for a form that creates something: a double click or a resent
/// form replays the first result instead of writing twice.
pub fn form_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("console-{}", hex::encode(bytes))
}

/// A query string from pairs, empty values left out.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = pairs.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
    serde_urlencoded::to_string(kept).unwrap_or_default()
}

/// `hq:7` → that staff member's login; any other actor (`agent:42`, `migration`) as it is.
pub fn actor_name(actor: &str, logins: &std::collections::HashMap<i64, String>) -> String {
    actor.strip_prefix("hq:").and_then(|id| id.parse::<i64>().ok()).and_then(|id| logins.get(&id).cloned()).unwrap_or_else(|| actor.to_owned())
}
