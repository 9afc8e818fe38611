//! Whether an agent qualifies for a better tier: plain functions over plain data, like the
//! commission engine. The service feeds them figures read from the closed statements.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Every minimum that is set must be met.
    All,
    /// One of the minimums that are set is enough.
    Any,
}

impl Combine {
    pub fn as_str(self) -> &'static str {
        match self {
            Combine::All => "all",
            Combine::Any => "any",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "all" => Some(Combine::All),
            "any" => Some(Combine::Any),
            _ => None,
        }
    }
}

/// What it takes to reach a tier. `rank` is the target tier's rank (1 is the best).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub tier_id: i64,
    pub rank: i32,
    /// The window: the last `months` closed months (1–12).
    pub months: i32,
    pub own_purchases_min: Option<Decimal>,
    pub direct_recruits_min: Option<i32>,
    pub team_volume_min: Option<Decimal>,
    pub combine: Combine,
}

/// An agent's figures over a rule's window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// Its own net purchases over the window.
    #[schema(value_type = String)]
    pub own_purchases: Decimal,
    /// Its direct recruits (sponsored agents) that are active now.
    pub direct_recruits: i64,
    /// Its team's net purchases over the window, its own included (as the team rebate counts).
    #[schema(value_type = String)]
    pub team_volume: Decimal,
}

/// One line of a rule against the figures: what is needed, what there is, met or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// own_purchases, direct_recruits or team_volume
    pub measure: &'static str,
    pub need: String,
    pub have: String,
    pub met: bool,
}

/// Refuses a rule that could never mean anything: a window outside 1–12 months, no minimum
/// at all, or a minimum of zero or less (met by doing nothing).
pub fn validate(rule: &Rule) -> Result<(), String> {
    if !(1..=12).contains(&rule.months) {
        return Err("months must be between 1 and 12".into());
    }
    if rule.own_purchases_min.is_none() && rule.direct_recruits_min.is_none() && rule.team_volume_min.is_none() {
        return Err("set at least one of own_purchases_min, direct_recruits_min, team_volume_min".into());
    }
    if rule.own_purchases_min.is_some_and(|m| m <= Decimal::ZERO)
        || rule.team_volume_min.is_some_and(|m| m <= Decimal::ZERO)
        || rule.direct_recruits_min.is_some_and(|m| m <= 0)
    {
        return Err("a minimum must be greater than zero (leave it out to not require it)".into());
    }
    if rule.own_purchases_min.is_some_and(|m| m.scale() > 2) || rule.team_volume_min.is_some_and(|m| m.scale() > 2) {
        return Err("amounts have at most 2 decimals".into());
    }
    Ok(())
}

fn money(d: Decimal) -> String {
    let mut d = d;
    d.rescale(2);
    d.to_string()
}

/// Each minimum the rule sets, against the figures.
pub fn checks(rule: &Rule, f: &Figures) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(min) = rule.own_purchases_min {
        out.push(Check { measure: "own_purchases", need: money(min), have: money(f.own_purchases), met: f.own_purchases >= min });
    }
    if let Some(min) = rule.direct_recruits_min {
        out.push(Check { measure: "direct_recruits", need: min.to_string(), have: f.direct_recruits.to_string(), met: f.direct_recruits >= i64::from(min) });
    }
    if let Some(min) = rule.team_volume_min {
        out.push(Check { measure: "team_volume", need: money(min), have: money(f.team_volume), met: f.team_volume >= min });
    }
    out
}

pub fn qualifies(rule: &Rule, f: &Figures) -> bool {
    let checks = checks(rule, f);
    match rule.combine {
        Combine::All => !checks.is_empty() && checks.iter().all(|c| c.met),
        Combine::Any => checks.iter().any(|c| c.met),
    }
}

/// The best tier the agent qualifies for that is better than its own (`rank` smaller), if
/// any: an agent that meets the top tier's rule goes straight there (直升), not one step.
/// `figures` gives the agent's figures over a rule's window.
pub fn best<'r>(rules: &'r [Rule], current_rank: i32, mut figures: impl FnMut(&Rule) -> Figures) -> Option<&'r Rule> {
    rules.iter().filter(|r| r.rank < current_rank).filter(|r| qualifies(r, &figures(r))).min_by_key(|r| r.rank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn rule(rank: i32, own: Option<Decimal>, recruits: Option<i32>, team: Option<Decimal>, combine: Combine) -> Rule {
        Rule { tier_id: i64::from(rank) * 10, rank, months: 3, own_purchases_min: own, direct_recruits_min: recruits, team_volume_min: team, combine }
    }

    #[test]
    fn all_needs_every_minimum_any_needs_one() {
        let f = Figures { own_purchases: dec!(30000), direct_recruits: 2, team_volume: dec!(80000) };
        let all = rule(2, Some(dec!(30000)), Some(3), None, Combine::All);
        assert!(!qualifies(&all, &f), "2 recruits of 3 fails `all`");
        let any = Rule { combine: Combine::Any, ..all.clone() };
        assert!(qualifies(&any, &f), "30000 of 30000 is enough for `any`");
        let c = checks(&all, &f);
        assert_eq!(c[0], Check { measure: "own_purchases", need: "30000.00".into(), have: "30000.00".into(), met: true });
        assert_eq!(c[1], Check { measure: "direct_recruits", need: "3".into(), have: "2".into(), met: false });
    }

    #[test]
    fn best_is_the_best_qualifying_tier_above_the_agent() {
        let rules = vec![
            rule(1, Some(dec!(100000)), None, None, Combine::All),
            rule(2, Some(dec!(20000)), None, None, Combine::All),
            rule(3, Some(dec!(5000)), None, None, Combine::All),
        ];
        let with = |own: Decimal| move |_: &Rule| Figures { own_purchases: own, ..Figures::default() };
        assert_eq!(best(&rules, 4, with(dec!(25000))).map(|r| r.rank), Some(2), "skips rank 3 straight to 2");
        assert_eq!(best(&rules, 2, with(dec!(25000))), None, "nothing better than its own");
        assert_eq!(best(&rules, 4, with(dec!(4999.99))), None);
        assert_eq!(best(&rules, 4, with(dec!(100000))).map(|r| r.rank), Some(1));
    }

    #[test]
    fn refuses_meaningless_rules() {
        assert!(validate(&rule(2, None, None, None, Combine::All)).is_err());
        assert!(validate(&rule(2, Some(dec!(0)), None, None, Combine::Any)).is_err());
        assert!(validate(&rule(2, None, Some(0), None, Combine::Any)).is_err());
        assert!(validate(&rule(2, Some(dec!(1.005)), None, None, Combine::Any)).is_err());
        assert!(validate(&Rule { months: 13, ..rule(2, Some(dec!(1)), None, None, Combine::Any) }).is_err());
        assert!(validate(&rule(2, Some(dec!(1)), None, None, Combine::Any)).is_ok());
    }

    fn amount() -> impl Strategy<Value = Decimal> {
        (0i64..10_000_000).prop_map(|c| Decimal::new(c, 2))
    }

    fn min() -> impl Strategy<Value = Option<Decimal>> {
        prop::option::of((1i64..10_000_000).prop_map(|c| Decimal::new(c, 2)))
    }

    proptest! {
        /// More never hurts: raising any figure never takes a qualification away; `all`
        /// qualifying implies `any` qualifying; and a qualified agent's every met check has
        /// `have >= need`.
        #[test]
        fn monotone_and_all_implies_any(own in min(), rec in prop::option::of(1i32..50), team in min(),
                                        f_own in amount(), f_rec in 0i64..60, f_team in amount(),
                                        more_own in amount(), more_rec in 0i64..10, more_team in amount()) {
            let r = rule(2, own, rec, team, Combine::All);
            prop_assume!(validate(&r).is_ok());
            let f = Figures { own_purchases: f_own, direct_recruits: f_rec, team_volume: f_team };
            let g = Figures { own_purchases: f_own + more_own, direct_recruits: f_rec + more_rec, team_volume: f_team + more_team };
            let any = Rule { combine: Combine::Any, ..r.clone() };
            if qualifies(&r, &f) { prop_assert!(qualifies(&r, &g)); prop_assert!(qualifies(&any, &f)); }
            if qualifies(&any, &f) { prop_assert!(qualifies(&any, &g)); }
            // with every figure at zero nobody qualifies: minimums are positive
            prop_assert!(!qualifies(&r, &Figures::default()) && !qualifies(&any, &Figures::default()));
        }

        /// The chosen tier is always better than the agent's and its rule is met; no better
        /// qualifying tier was passed over.
        #[test]
        fn best_is_sound(mins in prop::collection::vec(1i64..100_000, 1..5), current in 1i32..7, own in 0i64..200_000) {
            let rules: Vec<Rule> = mins.iter().enumerate().map(|(i, m)| rule(i as i32 + 1, Some(Decimal::from(*m)), None, None, Combine::All)).collect();
            let f = Figures { own_purchases: Decimal::from(own), ..Figures::default() };
            match best(&rules, current, |_| f) {
                Some(b) => {
                    prop_assert!(b.rank < current && qualifies(b, &f));
                    prop_assert!(!rules.iter().any(|r| r.rank < b.rank && qualifies(r, &f)));
                }
                None => prop_assert!(!rules.iter().any(|r| r.rank < current && qualifies(r, &f))),
            }
        }
    }
}
