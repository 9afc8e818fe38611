//! The plan in words, for the people who approve it: one sentence per rule, Chinese first.

use rust_decimal::Decimal;

use super::Plan;

fn pct(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

fn yuan(amount: Decimal) -> String {
    format!("¥{}", amount.normalize())
}

/// One sentence per rule of the plan, in the order the engine applies them.
pub fn describe(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    out.push(if plan.differential.enabled {
        "级差：上级按自己与下级的进货价差赚取差价，逐级向上，每级只拿与下方最低价之间的差。 Differential: each upline earns the gap between its own price and the lowest price below it.".to_owned()
    } else {
        "级差：不发放。 Differential: off.".to_owned()
    });
    if plan.peer_bonus.enabled && !plan.peer_bonus.rates.is_empty() {
        let gens: Vec<String> = plan.peer_bonus.rates.iter().enumerate().map(|(i, r)| format!("第{}代 {}", i + 1, pct(*r))).collect();
        let en: Vec<String> = plan.peer_bonus.rates.iter().enumerate().map(|(i, r)| format!("generation {} {}", i + 1, pct(*r))).collect();
        out.push(format!(
            "平级奖：向上找到的同等级代理按订单金额获奖，{}，共{}代；遇到更高等级即停止。 Peer bonus: same-tier uplines earn {} of the order, over {} generation(s), stopping at the first better tier.",
            gens.join("、"),
            plan.peer_bonus.rates.len(),
            en.join(", "),
            plan.peer_bonus.rates.len()
        ));
    } else {
        out.push("平级奖：不发放。 Peer bonus: off.".to_owned());
    }
    if plan.referral_bonus.enabled {
        let when = if plan.referral_bonus.months == 0 {
            ("仅限被推荐人的首单", "on the recruit's first purchase only".to_owned())
        } else {
            ("被推荐人加入后的每笔进货", format!("on every purchase in the {} months after joining", plan.referral_bonus.months))
        };
        out.push(format!(
            "推荐奖：推荐人获得订单金额的 {}，{}。 Referral bonus: the sponsor earns {} {}.",
            pct(plan.referral_bonus.rate),
            when.0,
            pct(plan.referral_bonus.rate),
            when.1
        ));
    } else {
        out.push("推荐奖：不发放。 Referral bonus: off.".to_owned());
    }
    if plan.team_rebate.enabled && !plan.team_rebate.brackets.is_empty() {
        let mut brackets = plan.team_rebate.brackets.clone();
        brackets.sort_by(|a, b| a.min_volume.cmp(&b.min_volume));
        let steps: Vec<String> = brackets.iter().map(|b| format!("≥{} 返 {}", yuan(b.min_volume), pct(b.rate))).collect();
        out.push(format!(
            "团队返利（月结）：按整个团队当月进货额分档，{}；扣除下级团队已得部分。 Monthly team rebate by team purchases: {}; less what each downline team earns itself.",
            steps.join("，"),
            brackets.iter().map(|b| format!("≥{} pays {}", yuan(b.min_volume), pct(b.rate))).collect::<Vec<_>>().join(", ")
        ));
    } else {
        out.push("团队返利：不发放。 Team rebate: off.".to_owned());
    }
    out.push(match plan.max_depth {
        Some(d) => format!("封顶：只有上方 {d} 代以内的上级从订单中获利。 Depth cap: only the {d} nearest generations earn from an order."),
        None => "封顶：不限代数。 Depth cap: none.".to_owned(),
    });
    if let Some(r) = plan.limits.max_payout_ratio {
        out.push(format!("总拨出比例上限 {}。 Payout ratio at most {}.", pct(r), pct(r)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commission::plan::{Bracket, PeerBonus, TeamRebate};
    use rust_decimal_macros::dec;

    #[test]
    fn the_demo_plan_reads_as_people_say_it() {
        let plan = Plan {
            version: 1,
            effective_from: chrono::Utc::now().fixed_offset(),
            differential: Default::default(),
            peer_bonus: PeerBonus { enabled: true, rates: vec![dec!(0.03), dec!(0.01)] },
            referral_bonus: Default::default(),
            team_rebate: TeamRebate {
                enabled: true,
                brackets: vec![Bracket { min_volume: dec!(50000), rate: dec!(0.04) }, Bracket { min_volume: dec!(10000), rate: dec!(0.02) }],
            },
            max_depth: None,
            limits: Default::default(),
        };
        let words = describe(&plan);
        assert!(words[1].contains("第1代 3%、第2代 1%，共2代"), "{}", words[1]);
        assert!(words[2].contains("不发放"));
        assert!(words[3].contains("≥¥10000 返 2%，≥¥50000 返 4%"), "{}", words[3]);
    }
}
