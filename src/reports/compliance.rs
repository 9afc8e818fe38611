//! The monthly compliance report (domain §11): facts that tell distribution from inventory
//! loading, for HQ to turn into limits. Not legal advice; see docs/compliance.md.
//!
//! One set-based query loads the month (`month.rs`: sales, purchases, stock on hand and
//! wallet earnings per agent, in the tree's depth-first order); rankings, team roll-ups
//! (prefix sums over that order) and income bands are computed here from those rows.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Numeric, Timestamptz};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::{ratio, retail_share, SalesSplit};

mod csv;
mod month;
pub mod retail;
pub use self::csv::{csv, TABLES};
use crate::auth::Principal;
use crate::error::AppError;

/// How many agents or teams each ranked table lists.
pub const LISTED: usize = 50;
/// The figure of the criminal threshold for pyramid selling in China (30+ members, 3+ levels).
pub const THRESHOLD_MEMBERS: i64 = 30;
pub const THRESHOLD_LEVELS: i32 = 3;

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ShareRow {
    pub agent_id: i64,
    pub name: String,
    /// Purchases of the agent (of the team's members, for a team) in the month.
    #[schema(value_type = String)]
    pub purchased_amount: Decimal,
    /// Sold to downline agents in the month (shown; not part of the share).
    #[schema(value_type = String)]
    pub internal_amount: Decimal,
    #[schema(value_type = String)]
    pub retail_amount: Decimal,
    #[schema(value_type = String)]
    pub retail_share: Decimal,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NoRetailRow {
    pub agent_id: i64,
    pub name: String,
    pub purchased_units: i64,
    #[schema(value_type = String)]
    pub purchased_amount: Decimal,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct LoadingRow {
    pub agent_id: i64,
    pub name: String,
    pub stock_units: i64,
    /// At moving average cost.
    #[schema(value_type = String)]
    pub stock_value: Decimal,
    pub retail_units: i64,
    /// Stock units ÷ the month's retail units; null when it sold nothing at retail.
    #[schema(value_type = Option<String>)]
    pub months_of_cover: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Payout {
    /// Differentials, peer and referral bonuses and team rebates of the month, net of reversals.
    #[schema(value_type = String)]
    pub cuts: Decimal,
    /// Purchase orders of the month, net of refunds.
    #[schema(value_type = String)]
    pub purchases: Decimal,
    #[schema(value_type = Option<String>)]
    pub ratio: Option<Decimal>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Network {
    /// Agents not exited.
    pub agents: i64,
    pub active: i64,
    /// Levels below HQ (an agent directly under HQ is level 1).
    pub levels: i32,
    pub threshold_members: i64,
    pub threshold_levels: i32,
    /// At least 30 members in at least 3 levels: the figure of the criminal threshold.
    pub meets_threshold: bool,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IncomeBand {
    pub band: String,
    pub agents: i64,
    #[schema(value_type = String)]
    pub share_of_agents: Decimal,
    #[schema(value_type = String)]
    pub total_net: Decimal,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct IncomeDisclosure {
    pub agents: i64,
    /// Net income = wallet earnings + retail sales − purchases, for the month.
    #[schema(value_type = String)]
    pub median_net: Decimal,
    pub bands: Vec<IncomeBand>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ComplianceReport {
    pub month: String,
    #[schema(value_type = String)]
    pub min_retail_share: Decimal,
    pub split: SalesSplit,
    /// Agents who bought or sold whose retail share (retail ÷ (retail + purchases)) is below
    /// `min_retail_share`, lowest first.
    pub agents_below: Vec<ShareRow>,
    /// Teams (an agent and its subtree) below `min_retail_share`, lowest first.
    pub teams_below: Vec<ShareRow>,
    pub bought_no_retail_count: i64,
    /// Agents who bought in the month but sold nothing at retail, biggest buyers first.
    pub bought_no_retail: Vec<NoRetailRow>,
    /// Stock on hand in months of retail cover, worst first (no retail at all first).
    pub inventory_loading: Vec<LoadingRow>,
    pub payout: Payout,
    /// The deepest upline generation paid a cut in the month.
    pub deepest_level_paid: Option<i32>,
    pub network: Network,
    pub income_disclosure: IncomeDisclosure,
    /// Retail that looks invented (absent from reports kept before it existed).
    #[serde(default)]
    pub retail_findings: retail::RetailFindings,
    pub disclaimer: String,
}

fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}

fn below(mut rows: Vec<ShareRow>, min: Decimal) -> Vec<ShareRow> {
    rows.retain(|r| r.retail_share < min);
    first(&mut rows, |a, b| a.retail_share.cmp(&b.retail_share).then(b.purchased_amount.cmp(&a.purchased_amount)).then(a.agent_id.cmp(&b.agent_id)));
    rows
}

/// Keeps the first `LISTED` rows in `order`, sorted: a selection, then a sort of those few —
/// not a sort of a million rows to list fifty.
fn first<T>(rows: &mut Vec<T>, order: impl Fn(&T, &T) -> std::cmp::Ordering) {
    if rows.len() > LISTED {
        rows.select_nth_unstable_by(LISTED - 1, &order);
        rows.truncate(LISTED);
    }
    rows.sort_by(order);
}

/// Income bands of the disclosure, matched by `band_of`.
const BANDS: [&str; 6] = ["< 0", "0", "0.01 – 99.99", "100 – 999.99", "1,000 – 9,999.99", "≥ 10,000"];

fn band_of(net: Decimal) -> usize {
    if net < Decimal::ZERO {
        0
    } else if net.is_zero() {
        1
    } else if net < Decimal::from(100) {
        2
    } else if net < Decimal::from(1000) {
        3
    } else if net < Decimal::from(10000) {
        4
    } else {
        5
    }
}

/// The month's report: as kept at close for a closed month (it never changes after), else
/// computed now.
pub fn report(conn: &mut PgConnection, who: &Principal, month: &str) -> Result<ComplianceReport, AppError> {
    who.require_hq()?;
    crate::period::parse_month(month)?;
    if let Some(body) = crate::settlement::store::kept_report(conn, who.brand_id, month, "compliance")? {
        return serde_json::from_value(body).map_err(|e| AppError::internal(format!("kept compliance report of {month} does not parse: {e}")));
    }
    compute(conn, who, month)
}

/// Computes the month's report from the books as they are now.
pub fn compute(conn: &mut PgConnection, who: &Principal, month: &str) -> Result<ComplianceReport, AppError> {
    who.require_hq()?;
    let settings = crate::brands::settings(conn, who.brand_id)?;
    let (start, end) = super::month_range(conn, who.brand_id, month)?;
    let split = super::sales_split(conn, who, month, None, super::Scope::Own)?;
    // closing: every agent's figures from the statements just written (they keep the tree)
    let rows = if crate::settlement::store::kept_tree(conn, who.brand_id, month)? {
        month::load_kept(conn, who.brand_id, month)?
    } else {
        month::load(conn, who.brand_id, start, end)?
    };
    let min = settings.min_retail_share;

    // names are filled in below, for the listed rows only
    let share_row = |id: i64, (purchased, internal, retail): (Decimal, Decimal, Decimal)| {
        retail_share(retail, purchased).map(|s| ShareRow {
            agent_id: id,
            name: String::new(),
            purchased_amount: cents(purchased),
            internal_amount: cents(internal),
            retail_amount: cents(retail),
            retail_share: s,
        })
    };
    let mut agents_below = below(rows.iter().filter_map(|r| share_row(r.id, (r.purchased_amount, r.internal_amount, r.retail_amount))).collect(), min);
    // a team's figures are its members': the range of places from the agent's to its team's last
    let mut teams_below = below(rows.iter().zip(month::teams(&rows)).filter_map(|(r, t)| share_row(r.id, t)).collect(), min);

    let mut no_retail: Vec<NoRetailRow> = rows
        .iter()
        .filter(|r| r.purchased_units > 0 && r.retail_units == 0)
        .map(|r| NoRetailRow { agent_id: r.id, name: String::new(), purchased_units: r.purchased_units, purchased_amount: cents(r.purchased_amount) })
        .collect();
    let bought_no_retail_count = no_retail.len() as i64;
    first(&mut no_retail, |a, b| b.purchased_amount.cmp(&a.purchased_amount).then(a.agent_id.cmp(&b.agent_id)));

    let mut loading: Vec<LoadingRow> = rows
        .iter()
        .filter(|r| r.stock_units > 0)
        .map(|r| LoadingRow {
            agent_id: r.id,
            name: String::new(),
            stock_units: r.stock_units,
            stock_value: cents(r.stock_value),
            retail_units: r.retail_units,
            months_of_cover: ratio(Decimal::from(r.stock_units), Decimal::from(r.retail_units)).map(|m| {
                let mut m = m.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
                m.rescale(1);
                m
            }),
        })
        .collect();
    // no retail at all is the worst cover; then the most months of stock; then the most value
    first(&mut loading, |a, b| {
        let key = |r: &LoadingRow| (r.months_of_cover.is_some(), std::cmp::Reverse(r.months_of_cover), std::cmp::Reverse(r.stock_value), r.agent_id);
        key(a).cmp(&key(b))
    });

    let listed: Vec<i64> = agents_below
        .iter()
        .chain(&teams_below)
        .map(|r| r.agent_id)
        .chain(no_retail.iter().map(|r| r.agent_id))
        .chain(loading.iter().map(|r| r.agent_id))
        .collect();
    let names = month::names(conn, who.brand_id, &listed)?;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
    agents_below.iter_mut().chain(teams_below.iter_mut()).for_each(|r| r.name = name(r.agent_id));
    no_retail.iter_mut().for_each(|r| r.name = name(r.agent_id));
    loading.iter_mut().for_each(|r| r.name = name(r.agent_id));

    #[derive(QueryableByName)]
    struct Cuts {
        #[diesel(sql_type = Numeric)]
        cuts: Decimal,
        #[diesel(sql_type = Nullable<diesel::sql_types::Integer>)]
        deepest: Option<i32>,
    }
    let cuts: Cuts = diesel::sql_query(
        "SELECT coalesce(sum(amount), 0) AS cuts,
                max(generation) FILTER (WHERE amount > 0) AS deepest
           FROM postings WHERE brand_id = $1 AND account = 'wallet' AND occurred_at >= $2 AND occurred_at < $3
            AND split_kind IN ('differential', 'peer_bonus', 'referral_bonus', 'team_rebate')",
    )
    .bind::<BigInt, _>(who.brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .get_result(conn)?;
    let purchases = split.purchases.amount;

    let members: Vec<&month::AgentMonth> = rows.iter().filter(|r| !r.exited).collect();
    let levels = members.iter().map(|r| r.level).max().unwrap_or(0);
    let network = Network {
        agents: members.len() as i64,
        active: members.iter().filter(|r| r.active).count() as i64,
        levels,
        threshold_members: THRESHOLD_MEMBERS,
        threshold_levels: THRESHOLD_LEVELS,
        meets_threshold: members.len() as i64 >= THRESHOLD_MEMBERS && levels >= THRESHOLD_LEVELS,
    };

    let mut nets: Vec<Decimal> = members.iter().map(|r| r.earned + r.retail_amount - r.purchased_amount).collect();
    let mut bands: Vec<IncomeBand> =
        BANDS.iter().map(|name| IncomeBand { band: (*name).into(), agents: 0, share_of_agents: Decimal::ZERO, total_net: Decimal::ZERO }).collect();
    for n in &nets {
        let b = &mut bands[band_of(*n)];
        b.agents += 1;
        b.total_net += *n;
    }
    for b in &mut bands {
        b.share_of_agents = ratio(Decimal::from(b.agents), Decimal::from(nets.len() as i64)).unwrap_or_default();
        b.total_net = cents(b.total_net);
    }
    // the median is the middle of the sorted nets: selected, not sorted for
    let middle = nets.len() / 2;
    let median_net = cents(if nets.is_empty() { Decimal::ZERO } else { *nets.select_nth_unstable(middle).1 });

    Ok(ComplianceReport {
        month: month.to_owned(),
        min_retail_share: min,
        split,
        agents_below,
        teams_below,
        bought_no_retail_count,
        bought_no_retail: no_retail,
        inventory_loading: loading,
        payout: Payout { cuts: cents(cuts.cuts), purchases, ratio: ratio(cuts.cuts, purchases) },
        deepest_level_paid: cuts.deepest,
        network,
        income_disclosure: IncomeDisclosure { agents: nets.len() as i64, median_net, bands },
        retail_findings: retail::findings(conn, who.brand_id, start, end, settings.jurisdiction == crate::commission::Jurisdiction::UsFtc)?,
        disclaimer: "Facts computed from the ledger for HQ's own review; not legal advice.".into(),
    })
}
