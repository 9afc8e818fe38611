//! Plan validation (domain §11): structural errors, brand limits, and compliance findings
//! whose severity depends on the brand's jurisdiction profile.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::plan::Plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    #[default]
    None,
    CnDirectSelling,
    UsFtc,
}

impl Jurisdiction {
    pub fn as_str(self) -> &'static str {
        match self {
            Jurisdiction::None => "none",
            Jurisdiction::CnDirectSelling => "cn_direct_selling",
            Jurisdiction::UsFtc => "us_ftc",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Jurisdiction::None),
            "cn_direct_selling" => Some(Jurisdiction::CnDirectSelling),
            "us_ftc" => Some(Jurisdiction::UsFtc),
            _ => None,
        }
    }
}

/// What validation needs to know about the brand besides the plan itself.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    pub jurisdiction: Jurisdiction,
    /// `min_first_order` of every tier (None: no entry threshold).
    pub tier_thresholds: Vec<Option<Decimal>>,
    /// For every product, its tier prices ordered best tier (rank 1) first.
    pub product_prices: Vec<Vec<Decimal>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// Stable machine code, e.g. `team_pay_depth`.
    pub code: String,
    /// The rule the finding reflects.
    pub rule: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ValidationReport {
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

impl ValidationReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

const CN_DIRECT_SELLING_MAX_PAY: Decimal = Decimal::from_parts(30, 0, 0, false, 2);

#[derive(Clone, Copy, PartialEq)]
enum Severity {
    Error,
    Warning,
}

struct Findings(ValidationReport);

impl Findings {
    fn add(&mut self, severity: Severity, code: &str, rule: &str, detail: String) {
        let finding = Finding { code: code.into(), rule: rule.into(), detail };
        match severity {
            Severity::Error => self.0.errors.push(finding),
            Severity::Warning => self.0.warnings.push(finding),
        }
    }
}

/// Validates a proposed plan. Never panics; every problem becomes a finding.
pub fn validate_plan(plan: &Plan, ctx: &PlanContext) -> ValidationReport {
    let mut f = Findings(ValidationReport::default());
    check_structure(plan, &mut f);
    check_limits(plan, ctx, &mut f);
    check_compliance(plan, ctx, &mut f);
    f.0
}

fn rate_ok(rate: Decimal) -> bool {
    !rate.is_sign_negative() && rate <= Decimal::ONE
}

fn check_structure(plan: &Plan, f: &mut Findings) {
    const RULE: &str = "domain §3: rates are decimals in [0, 1]";
    for (g, rate) in plan.peer_bonus.rates.iter().enumerate() {
        if !rate_ok(*rate) {
            f.add(Severity::Error, "rate_out_of_range", RULE, format!("peer_bonus.rates[{g}] = {rate} is outside [0, 1]"));
        }
    }
    if !rate_ok(plan.referral_bonus.rate) {
        f.add(Severity::Error, "rate_out_of_range", RULE, format!("referral_bonus.rate = {} is outside [0, 1]", plan.referral_bonus.rate));
    }
    if let Some(ratio) = plan.limits.max_payout_ratio {
        if !rate_ok(ratio) {
            f.add(Severity::Error, "rate_out_of_range", RULE, format!("limits.max_payout_ratio = {ratio} is outside [0, 1]"));
        }
    }
    let brackets = &plan.team_rebate.brackets;
    for (i, b) in brackets.iter().enumerate() {
        if !rate_ok(b.rate) {
            f.add(Severity::Error, "rate_out_of_range", RULE, format!("team_rebate.brackets[{i}].rate = {} is outside [0, 1]", b.rate));
        }
        if b.min_volume.is_sign_negative() {
            f.add(Severity::Error, "brackets_not_monotone", "domain §6", format!("team_rebate.brackets[{i}].min_volume is negative"));
        }
    }
    for (i, pair) in brackets.windows(2).enumerate() {
        if pair[1].min_volume <= pair[0].min_volume || pair[1].rate < pair[0].rate {
            f.add(
                Severity::Error,
                "brackets_not_monotone",
                "domain §6: brackets must rise in volume and never fall in rate",
                format!(
                    "team_rebate.brackets[{}] ({} at {}) does not follow brackets[{i}] ({} at {})",
                    i + 1,
                    pair[1].rate,
                    pair[1].min_volume,
                    pair[0].rate,
                    pair[0].min_volume
                ),
            );
        }
    }
    if plan.max_depth == Some(0) {
        f.add(Severity::Warning, "max_depth_zero", "domain §5.4", "max_depth = 0 pays no ancestor at all".into());
    }
}

/// The largest share of a purchase the plan can pay out in cuts (differentials + bonuses +
/// the top rebate rate), over every product and buyer tier.
pub fn worst_case_payout_ratio(plan: &Plan, ctx: &PlanContext) -> Decimal {
    let mut differential = Decimal::ZERO;
    if plan.differential.enabled {
        for prices in &ctx.product_prices {
            let Some(best) = prices.iter().min() else { continue };
            for p in prices.iter().filter(|p| !p.is_zero()) {
                differential = differential.max((p - best) / p);
            }
        }
    }
    let peer: Decimal = if plan.peer_bonus.enabled { plan.peer_bonus.rates.iter().sum() } else { Decimal::ZERO };
    let referral = if plan.referral_bonus.enabled { plan.referral_bonus.rate } else { Decimal::ZERO };
    let rebate = if plan.team_rebate.enabled { plan.team_rebate.brackets.iter().map(|b| b.rate).max().unwrap_or_default() } else { Decimal::ZERO };
    (differential + peer + referral + rebate).round_dp(4)
}

/// How many ancestors one order can pay: every better tier once (differential), each peer
/// generation, and the sponsor; capped by `max_depth`.
pub fn paid_levels(plan: &Plan, ctx: &PlanContext) -> u32 {
    let tiers = ctx.tier_thresholds.len().max(ctx.product_prices.iter().map(Vec::len).max().unwrap_or(0)) as u32;
    let mut levels = 0;
    if plan.differential.enabled {
        levels += tiers.saturating_sub(1);
    }
    if plan.peer_bonus.enabled {
        levels += plan.peer_bonus.rates.len() as u32;
    }
    if plan.referral_bonus.enabled {
        levels += 1;
    }
    plan.max_depth.map_or(levels, |cap| levels.min(cap))
}

fn check_limits(plan: &Plan, ctx: &PlanContext, f: &mut Findings) {
    let ratio = worst_case_payout_ratio(plan, ctx);
    if let Some(max) = plan.limits.max_payout_ratio {
        if ratio > max {
            f.add(Severity::Error, "payout_ratio", "brand limit max_payout_ratio", format!("worst-case payout ratio {ratio} exceeds the brand limit {max}"));
        }
    }
    let levels = paid_levels(plan, ctx);
    if let Some(max) = plan.limits.max_paid_levels {
        if levels > max {
            f.add(
                Severity::Error,
                "paid_levels",
                "brand limit max_paid_levels",
                format!("one order can pay {levels} upline levels, above the brand limit {max}; set max_depth or fewer peer generations"),
            );
        }
    }
    if ctx.jurisdiction == Jurisdiction::CnDirectSelling && ratio > CN_DIRECT_SELLING_MAX_PAY {
        f.add(
            Severity::Error,
            "payout_ratio",
            "直销管理条例 art. 24: pay at most 30% of own retail sales",
            format!("worst-case payout ratio {ratio} exceeds 0.30"),
        );
    }
}

fn check_compliance(plan: &Plan, ctx: &PlanContext, f: &mut Findings) {
    let cn = ctx.jurisdiction == Jurisdiction::CnDirectSelling;
    let strict = if cn { Severity::Error } else { Severity::Warning };
    const TEAM_PAY: &str = "禁止传销条例 art. 7(3): pay computed from the downline's sales (团队计酬)";
    let mut team_pay = Vec::new();
    if plan.differential.enabled {
        team_pay.push("differential (级差)");
    }
    if plan.peer_bonus.enabled && !plan.peer_bonus.rates.is_empty() {
        team_pay.push("peer bonus (平级奖)");
    }
    if plan.team_rebate.enabled && !plan.team_rebate.brackets.is_empty() {
        team_pay.push("team rebate (团队返利)");
    }
    if !team_pay.is_empty() {
        let depth = match plan.max_depth {
            Some(d) => format!("up to {d} levels"),
            None => "with no depth cap".into(),
        };
        let ftc = if ctx.jurisdiction == Jurisdiction::UsFtc { "; under us_ftc it is held in any month whose team retail share is <= 50%" } else { "" };
        f.add(strict, "team_pay_depth", TEAM_PAY, format!("{} pay uplines from downline purchases {depth}{ftc}", team_pay.join(", ")));
    }
    if plan.referral_bonus.enabled && !plan.referral_bonus.rate.is_zero() {
        f.add(
            strict,
            "recruitment_reward",
            "禁止传销条例 art. 7(2): pay per recruit",
            format!("referral bonus pays {} of a recruit's purchases to the recruiter", plan.referral_bonus.rate),
        );
    }
    let thresholds = ctx.tier_thresholds.iter().flatten().filter(|t| !t.is_zero()).count();
    if thresholds > 0 {
        f.add(
            strict,
            "entry_threshold",
            "禁止传销条例 art. 7(1): entry fees, incl. buying stock to join",
            format!("{thresholds} tier(s) require a minimum first order to join"),
        );
    }
}
