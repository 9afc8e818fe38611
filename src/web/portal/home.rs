//! 首页 Home: this month's own purchases, retail sales, team volume and earnings, the wallet,
//! and how far the next team-rebate bracket is.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use rust_decimal::Decimal;

use super::session::{AgentUser, PortalError};
use crate::web::format::filters;
use crate::AppState;

#[derive(Template)]
#[template(path = "m/home.html")]
struct HomePage {
    csrf: String,
    name: String,
    tier: String,
    month: String,
    own: Decimal,
    retail: Decimal,
    team: Decimal,
    team_size: i64,
    earned: Decimal,
    wallet: crate::ledger::Wallet,
    /// (the bracket's threshold, its rate in %, what is still missing) when there is a next one.
    next_bracket: Option<(Decimal, String, Decimal)>,
    /// The bracket reached, as a rate in %.
    bracket_now: Option<String>,
    /// This month's customers: new, returning, last month's who bought again.
    growth: crate::growth::Growth,
    /// Customers due to buy again this week (复购提醒).
    due: usize,
}

#[get("/m/")]
pub async fn page(state: web::Data<AppState>, user: AgentUser) -> Result<HttpResponse, PortalError> {
    let (who, id) = (user.who, user.id);
    let (me, tier, month, retail, earned, wallet, plan) = crate::db::read(&state.pool, move |conn| {
        let me = crate::tree::get(conn, &who, id)?;
        let tier = crate::catalog::list_tiers(conn, who.brand_id)?.into_iter().find(|t| t.id == me.tier_id).map(|t| t.name).unwrap_or_default();
        let month = crate::period::month_of(chrono::Utc::now(), &crate::brands::settings(conn, who.brand_id)?.timezone)?;
        let retail = crate::reports::sales_split(conn, &who, &month, Some(id), crate::reports::Scope::Own)?.retail_sales.amount;
        let earned = crate::ledger::earnings(conn, &who, id, &month)?.total;
        Ok((me, tier, month.clone(), retail, earned, crate::ledger::wallet(conn, &who, id)?, crate::plans::current(conn, who.brand_id)?))
    })
    .await?;
    let (growth, due) = {
        let month = month.clone();
        crate::db::read(&state.pool, move |conn| {
            let now = chrono::Utc::now();
            let growth = crate::growth::figures(conn, &who, &month, Some(id), crate::reports::Scope::Own, now)?;
            let due = crate::customers::list(conn, &who, id, true, &crate::pagination::PageQuery { limit: Some(1000), cursor: None }, now)?.items.len();
            Ok((growth, due))
        })
        .await?
    };
    let summary = crate::reports::team::downline_summary(&state, user.who, id, month.clone()).await?;
    let team = summary.team_purchases.amount;
    let pct = |r: Decimal| format!("{}%", (r * Decimal::ONE_HUNDRED).normalize());
    let mut brackets = if plan.team_rebate.enabled { plan.team_rebate.brackets.clone() } else { Vec::new() };
    brackets.sort_by(|a, b| a.min_volume.cmp(&b.min_volume));
    let next_bracket = brackets.iter().find(|b| b.min_volume > team).map(|b| (b.min_volume, pct(b.rate), b.min_volume - team));
    let bracket_now = brackets.iter().rev().find(|b| b.min_volume <= team).map(|b| pct(b.rate));
    let page = HomePage {
        csrf: user.csrf,
        name: me.name,
        tier,
        month,
        own: summary.own_purchases.amount,
        retail,
        team,
        team_size: summary.total,
        earned,
        wallet,
        next_bracket,
        bracket_now,
        growth,
        due,
    };
    super::html(&page)
}

#[derive(Template)]
#[template(path = "m/team_growth.html")]
struct TeamGrowth {
    g: crate::growth::Growth,
}

/// The agent's team (itself and its subtree) this month: new and returning customers,
/// repurchase, retention and recruitment — loaded after the home page (htmx), since a big
/// team's figures are computed from its orders.
#[get("/m/team-growth")]
pub async fn team_growth(state: web::Data<AppState>, user: AgentUser) -> Result<HttpResponse, PortalError> {
    let (who, id) = (user.who, user.id);
    let g = crate::db::read(state.reads(), move |conn| {
        let month = crate::period::month_of(chrono::Utc::now(), &crate::brands::settings(conn, who.brand_id)?.timezone)?;
        crate::growth::figures(conn, &who, &month, Some(id), crate::reports::Scope::Team, chrono::Utc::now())
    })
    .await?;
    super::html(&TeamGrowth { g })
}
