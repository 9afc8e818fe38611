//! Money and rates on the wire, one rule each, applied where requests are read
//! (`#[serde(deserialize_with = …)]`):
//!
//! - **money**: a string of at most 12 integer digits and at most 2
//!   decimals, an optional leading `-` where the field allows it; no exponent, no spaces, no
//!   `+`. Read as cents: `"189.5"` is `189.50`, so a request and its retry with `"189.50"` are
//!   the same request (the idempotency hash is over the parsed request). Answers always carry
//!   2 decimals.
//! - **rate**: a string with at most 4 decimals (`"0.006"` = 0.6%); no
//!   exponent. Read normalised (`"0.50"` is `0.5`). Its range belongs to the field's owner:
//!   plan validation reports a plan's (`rate_out_of_range`), settings check theirs (0 to 1).
//!
//! Anything else is 422 `validation` (the JSON error handler maps these messages), naming the
//! rule. JSON numbers are refused, as the document says (`type: string`): `189.5` as a number
//! may already not be 189.5, and one type per field keeps the contract and the server equal.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The prefix the JSON error handler recognises: these are 422, not 400.
pub const MARK: &str = "(amount rule) ";

/// Parses money text: at most 12 integer digits, at most 2 decimals, no exponent; the
/// result has exactly 2 decimals.
pub fn parse_money(s: &str) -> Result<Decimal, String> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 12 || !digits(int) || !digits(frac) || frac.len() > 2 || (body.contains('.') && frac.is_empty()) {
        return Err(format!("{MARK}money must be a decimal string with at most 2 decimals and no exponent, such as \"189.00\" (got {s:?})"));
    }
    let mut d = Decimal::from_str(s).map_err(|_| format!("{MARK}money {s:?} is not a number"))?;
    d.rescale(2);
    Ok(d)
}

/// Parses a rate: a decimal string with at most 4 decimals and no exponent (`"0.006"`);
/// normalised. Its range is the owner's rule (a plan's rates go through plan validation,
/// which names the finding; settings check theirs), so it is not judged here.
pub fn parse_rate(s: &str) -> Result<Decimal, String> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    let bad = || format!("{MARK}a rate must be a decimal string with at most 4 decimals and no exponent, such as \"0.03\" for 3% (got {s:?})");
    if int.is_empty() || int.len() > 3 || !digits(int) || !digits(frac) || frac.len() > 4 || (body.contains('.') && frac.is_empty()) {
        return Err(bad());
    }
    Ok(Decimal::from_str(s).map_err(|_| bad())?.normalize())
}

struct Text;

impl Visitor<'_> for Text {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a decimal string such as \"189.00\"")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Err(E::custom(format!("{MARK}amounts and rates are strings such as \"189.00\" or \"0.03\", not JSON numbers (got {v})")))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Err(E::custom(format!("{MARK}amounts and rates are strings such as \"189.00\" or \"0.03\", not JSON numbers (got {v})")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Err(E::custom(format!("{MARK}amounts are strings such as \"189.50\", not JSON floats (got {v})")))
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    d.deserialize_any(Text)
}

pub fn money<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    parse_money(&text(d)?).map_err(de::Error::custom)
}

pub fn money_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "money")] Decimal);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

pub fn money_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Decimal>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "money")] Decimal);
    Ok(BTreeMap::<String, W>::deserialize(d)?.into_iter().map(|(k, w)| (k, w.0)).collect())
}

pub fn rate<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    parse_rate(&text(d)?).map_err(de::Error::custom)
}

pub fn rate_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "rate")] Decimal);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

pub fn rates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Decimal>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "rate")] Decimal);
    Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_cents_without_exponents() {
        assert_eq!(parse_money("189.5").unwrap().to_string(), "189.50");
        assert_eq!(parse_money("189").unwrap().to_string(), "189.00");
        assert_eq!(parse_money("-3.10").unwrap().to_string(), "-3.10");
        for bad in ["1e3", "1.005", "", ".5", "5.", "+5", " 5", "1,000.00", "NaN", "0x10", "1234567890123.00", "--1"] {
            assert!(parse_money(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn rates_have_four_decimals_at_most_and_no_exponent() {
        assert_eq!(parse_rate("0.50").unwrap().to_string(), "0.5");
        assert_eq!(parse_rate("0.0125").unwrap().to_string(), "0.0125");
        assert_eq!(parse_rate("1.5").unwrap().to_string(), "1.5", "out of range is the validator's finding, not a parse error");
        for bad in ["0.00001", "1e-2", "", "0.", ".3", "1234", "0,5", "+0.1"] {
            assert!(parse_rate(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn json_money_retries_hash_alike() {
        #[derive(Debug, Deserialize, serde::Serialize)]
        struct R {
            #[serde(deserialize_with = "money")]
            unit_price: Decimal,
        }
        let a: R = serde_json::from_str(r#"{"unit_price": "199.5"}"#).unwrap();
        let b: R = serde_json::from_str(r#"{"unit_price": "199.50"}"#).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        assert!(serde_json::from_str::<R>(r#"{"unit_price": 199.5}"#).unwrap_err().to_string().contains(MARK));
        assert!(serde_json::from_str::<R>(r#"{"unit_price": "1e3"}"#).unwrap_err().to_string().contains(MARK));
        assert!(serde_json::from_str::<R>(r#"{"unit_price": 199}"#).unwrap_err().to_string().contains(MARK), "a number, even whole, is not money");
    }
}
