//! The compensation plan: a versioned, serde-friendly description of which cuts a brand pays.
//! The JSON shape is the one in `docs/api.md` ("Plan version").

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Assigned by the server on `PUT /plan`; ignored on input.
    #[serde(default)]
    pub version: i32,
    #[schema(value_type = String, format = DateTime)]
    pub effective_from: DateTime<FixedOffset>,
    #[serde(default)]
    pub differential: Toggle,
    #[serde(default)]
    pub peer_bonus: PeerBonus,
    #[serde(default)]
    pub referral_bonus: ReferralBonus,
    #[serde(default)]
    pub team_rebate: TeamRebate,
    /// Only ancestors of generation <= max_depth earn from an order (None: no cap).
    #[serde(default)]
    pub max_depth: Option<u32>,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Toggle {
    pub enabled: bool,
}

impl Default for Toggle {
    fn default() -> Self {
        Toggle { enabled: true }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerBonus {
    pub enabled: bool,
    /// rates[g-1] is paid to the g-th peer found above the buyer.
    #[serde(default, deserialize_with = "crate::amount::rates")]
    #[schema(value_type = Vec<String>)]
    pub rates: Vec<Decimal>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralBonus {
    pub enabled: bool,
    #[serde(default, deserialize_with = "crate::amount::rate")]
    #[schema(value_type = String)]
    pub rate: Decimal,
    /// 0: only the buyer's first purchase order; n: every purchase in the n months after joining.
    #[serde(default)]
    pub months: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamRebate {
    pub enabled: bool,
    #[serde(default)]
    pub brackets: Vec<Bracket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bracket {
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::money")]
    pub min_volume: Decimal,
    #[schema(value_type = String)]
    #[serde(deserialize_with = "crate::amount::rate")]
    pub rate: Decimal,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, deserialize_with = "crate::amount::rate_opt")]
    #[schema(value_type = Option<String>)]
    pub max_payout_ratio: Option<Decimal>,
    #[serde(default)]
    pub max_paid_levels: Option<u32>,
}

impl TeamRebate {
    /// Rate of the highest bracket whose `min_volume <= volume` (0 below the first).
    /// Brackets need not be sorted; the highest qualifying threshold wins.
    pub fn rate_for(&self, volume: Decimal) -> Decimal {
        self.brackets.iter().filter(|b| b.min_volume <= volume).max_by(|a, b| a.min_volume.cmp(&b.min_volume)).map(|b| b.rate).unwrap_or(Decimal::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_example() {
        let json = r#"{"version": 3, "effective_from": "2026-10-01T00:00:00+08:00",
 "differential": {"enabled": true},
 "peer_bonus": {"enabled": true, "rates": ["0.03", "0.01"]},
 "referral_bonus": {"enabled": false, "rate": "0.10", "months": 0},
 "team_rebate": {"enabled": true, "brackets": [{"min_volume": "10000.00", "rate": "0.02"}]},
 "max_depth": null,
 "limits": {"max_payout_ratio": "0.30", "max_paid_levels": 3}}"#;
        let plan: Plan = serde_json::from_str(json).expect("contract example parses");
        assert_eq!(plan.version, 3);
        assert_eq!(plan.peer_bonus.rates.len(), 2);
        assert_eq!(plan.limits.max_paid_levels, Some(3));
        let back = serde_json::to_value(&plan).unwrap();
        assert_eq!(back["peer_bonus"]["rates"][0], "0.03");
    }

    #[test]
    fn rejects_unknown_fields() {
        let json = r#"{"effective_from": "2026-10-01T00:00:00+08:00", "bogus": 1}"#;
        assert!(serde_json::from_str::<Plan>(json).is_err());
    }
}
