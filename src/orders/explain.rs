//! Why each cut of an order is what it is: the rule, the generation and the arithmetic,
//! e.g. 级差 199.00 = 10 × (139.30 − 119.40). A plain function over the stored order and
//! the plan version it was split with; nothing is recomputed from today's prices.
//!
//! The engine takes each differential off a descending floor that starts at the buyer's
//! unit price, so the receiver's price is recovered exactly: floor − amount ÷ qty.

use rust_decimal::Decimal;

use super::{OrderView, SplitView};
use crate::commission::Plan;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    pub line_no: i32,
    pub kind: String,
    /// 级差, 平级奖, 推荐奖, 货款, 退款冲回.
    pub rule: &'static str,
    /// None: HQ.
    pub agent_id: Option<i64>,
    pub generation: Option<i32>,
    pub amount: Decimal,
    /// The arithmetic, e.g. `10 × (139.30 − 119.40)`; empty when there is none to show.
    pub formula: String,
    pub refund_id: Option<i64>,
}

pub fn rule_name(kind: &str) -> &'static str {
    match kind {
        "proceeds" => "货款 Proceeds",
        "differential" => "级差 Differential",
        "peer_bonus" => "平级奖 Peer bonus",
        "referral_bonus" => "推荐奖 Referral bonus",
        "team_rebate" => "团队返利 Team rebate",
        "withdrawal" => "提现 Withdrawal",
        "withdrawal_fee" => "提现手续费 Withdrawal fee",
        "withholding_tax" => "代扣税 Tax withheld",
        "adjustment" => "调整 Adjustment",
        "buyback" => "回购 Buyback",
        "ftc_hold" => "未放行冲回 us_ftc hold",
        _ => "其他 Other",
    }
}

fn percent(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::ONE_HUNDRED).normalize())
}

/// Every cut of the order in the stored order, each with its arithmetic.
pub fn explain(order: &OrderView, plan: Option<&Plan>) -> Vec<Cut> {
    let mut out = Vec::with_capacity(order.splits.len());
    for line in &order.lines {
        let qty = Decimal::from(line.qty);
        let of_line = |s: &&SplitView| s.line_no == line.line_no;
        let sales: Vec<&SplitView> = order.splits.iter().filter(of_line).filter(|s| s.refund_id.is_none()).collect();
        // floors: the buyer's price, then each differential receiver's price in generation order
        let mut floor = line.unit_price;
        let mut formulas = Vec::with_capacity(sales.len());
        let mut peers = 0usize;
        let mut differentials = sales.clone();
        differentials.retain(|s| s.kind == "differential");
        differentials.sort_by_key(|s| s.generation);
        let mut receiver_price = std::collections::HashMap::new();
        for d in &differentials {
            let below = floor - d.amount / qty;
            receiver_price.insert((d.generation, d.agent_id), (floor, below));
            floor = below;
        }
        for s in &sales {
            let formula = match s.kind.as_str() {
                "proceeds" if order.kind == "purchase" => format!("{} × {}", line.qty, floor),
                "proceeds" => format!("{} × {}", line.qty, line.unit_price),
                "differential" => match receiver_price.get(&(s.generation, s.agent_id)) {
                    Some((above, below)) => format!("{} × ({} − {})", line.qty, above, below),
                    None => String::new(),
                },
                "peer_bonus" => {
                    let rate = plan.and_then(|p| p.peer_bonus.rates.get(peers).copied());
                    peers += 1;
                    rate.map(|r| format!("{} × {}", percent(r), line.amount)).unwrap_or_default()
                }
                "referral_bonus" => plan.map(|p| format!("{} × {}（首单 first purchase）", percent(p.referral_bonus.rate), line.amount)).unwrap_or_default(),
                _ => String::new(),
            };
            formulas.push(formula);
        }
        for (s, formula) in sales.iter().zip(formulas) {
            out.push(Cut {
                line_no: s.line_no,
                kind: s.kind.clone(),
                rule: rule_name(&s.kind),
                agent_id: s.agent_id,
                generation: s.generation,
                amount: s.amount,
                formula,
                refund_id: None,
            });
        }
    }
    for s in order.splits.iter().filter(|s| s.refund_id.is_some()) {
        out.push(Cut {
            line_no: s.line_no,
            kind: s.kind.clone(),
            rule: rule_name(&s.kind),
            agent_id: s.agent_id,
            generation: s.generation,
            amount: s.amount,
            formula: format!("退款 #{} 冲回 reversal", s.refund_id.unwrap_or_default()),
            refund_id: s.refund_id,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::LineView;
    use rust_decimal_macros::dec;

    fn split(kind: &str, agent: Option<i64>, amount: Decimal, generation: Option<i32>) -> SplitView {
        SplitView { line_no: 1, kind: kind.into(), agent_id: agent, amount, generation, refund_id: None }
    }

    #[test]
    fn differentials_show_the_prices_they_came_from() {
        // 10 masks bought at 139.30 by a 代理; 总代 (119.40) and 联创 (59.70) above; HQ sells.
        let order = OrderView {
            id: 1,
            kind: "purchase".into(),
            buyer_id: Some(9),
            seller_id: None,
            customer: None,
            amount: dec!(1393.00),
            placed_at: chrono::Utc::now(),
            plan_version: Some(1),
            lines: vec![LineView {
                line_no: 1,
                sku: "MASK-01".into(),
                qty: 10,
                unit_price: dec!(139.30),
                amount: dec!(1393.00),
                refunded_qty: 0,
                below_floor: false,
            }],
            splits: vec![
                split("proceeds", None, dec!(597.00), None),
                split("differential", Some(7), dec!(199.00), Some(1)),
                split("differential", Some(5), dec!(597.00), Some(2)),
            ],
        };
        let cuts = explain(&order, None);
        assert_eq!(cuts[0].formula, "10 × 59.70");
        assert_eq!(cuts[1].formula, "10 × (139.30 − 119.40)");
        assert_eq!(cuts[2].formula, "10 × (119.40 − 59.70)");
        // the arithmetic is the amount
        assert_eq!(dec!(10) * (dec!(139.30) - dec!(119.40)), cuts[1].amount);
        assert_eq!(cuts.iter().map(|c| c.amount).sum::<Decimal>(), order.amount);
    }
}
