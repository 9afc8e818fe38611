//! 团队 Team: the direct downline with each member's tier, this month's purchases and team
//! size, level by level; counts by tier; a search inside the own subtree only. 库存 Stock.

use std::collections::HashMap;

use actix_web::{get, web, HttpResponse};
use askama::Template;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::session::{AgentUser, PortalError};
use crate::error::AppError;
use crate::tree::Agent;
use crate::web::format::filters;
use crate::AppState;

const PAGE: i64 = 30;

struct Member {
    agent: Agent,
    tier: String,
    team: i64,
    bought: Decimal,
}

#[derive(Template)]
#[template(path = "m/team.html")]
struct TeamPage {
    csrf: String,
    root: Agent,
    /// From the agent itself down to `root`.
    crumbs: Vec<Agent>,
    by_tier: Vec<(String, i64)>,
    total: i64,
    members: Vec<Member>,
    next: Option<i64>,
    month: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct TeamQuery {
    #[serde(default)]
    root: String,
    #[serde(default)]
    after: String,
}

fn number(what: &str, s: &str) -> Result<Option<i64>, PortalError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| PortalError(AppError::bad_request("invalid_query", format!("{what} must be a number"))))
}

#[get("/m/team")]
pub async fn page(state: web::Data<AppState>, user: AgentUser, q: web::Query<TeamQuery>) -> Result<HttpResponse, PortalError> {
    let root_id = number("root", &q.root)?.unwrap_or(user.id);
    let after = number("after", &q.after)?.unwrap_or(0);
    let (who, me) = (user.who, user.id);
    let (root, upline, mut children, tiers, month) = crate::db::read(&state.pool, move |conn| {
        let root = crate::tree::get(conn, &who, root_id)?; // outside the own subtree: not found
        let upline = crate::tree::upline(conn, &who, root_id)?;
        let month = crate::period::month_of(chrono::Utc::now(), &crate::brands::settings(conn, who.brand_id)?.timezone)?;
        Ok((root, upline, crate::tree::level(conn, &who, Some(root_id), after, PAGE + 1)?, crate::catalog::list_tiers(conn, who.brand_id)?, month))
    })
    .await?;
    let next = (children.len() as i64 > PAGE).then(|| {
        children.truncate(PAGE as usize);
        children.last().map_or(0, |a| a.id)
    });
    let ids: Vec<i64> = children.iter().map(|a| a.id).collect();
    let sizes = crate::reports::team::team_sizes(&state, user.who, ids.clone(), month.clone()).await?;
    let summary = crate::reports::team::downline_summary(&state, user.who, root_id, month.clone()).await?;
    let (who, m) = (user.who, month.clone());
    let bought: HashMap<i64, Decimal> = crate::db::read(&state.pool, move |conn| crate::reports::own_purchases(conn, &who, &m, &ids)).await?;
    let tier_name = |id: i64| tiers.iter().find(|t| t.id == id).map_or_else(String::new, |t| t.name.clone());
    // the path from the agent itself down to the root (uplines above the agent are not shown)
    let mut crumbs: Vec<Agent> = upline.into_iter().rev().skip_while(|a| a.id != me).collect();
    if root.id != me || crumbs.is_empty() {
        crumbs.push(root.clone());
    }
    let members = children
        .into_iter()
        .zip(sizes)
        .map(|(agent, team)| Member { tier: tier_name(agent.tier_id), bought: bought.get(&agent.id).copied().unwrap_or_default(), team, agent })
        .collect();
    let by_tier = tiers.iter().map(|t| (t.name.clone(), summary.by_tier.get(&t.id.to_string()).copied().unwrap_or(0))).filter(|(_, n)| *n > 0).collect();
    super::html(&TeamPage { csrf: user.csrf, root, crumbs, by_tier, total: summary.total, members, next, month })
}

#[derive(Template)]
#[template(path = "m/search.html")]
struct SearchPage {
    csrf: String,
    q: String,
    found: Vec<(Agent, String)>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// A search by name fragment or phone prefix, inside the agent's own subtree only.
#[get("/m/team/search")]
pub async fn search(state: web::Data<AppState>, user: AgentUser, q: web::Query<SearchQuery>) -> Result<HttpResponse, PortalError> {
    let text = q.into_inner().q;
    let who = user.who;
    let query = crate::tree::SearchQuery { q: Some(text.trim().to_owned()).filter(|s| !s.is_empty()), ..Default::default() };
    let (found, tiers) =
        crate::db::read(&state.pool, move |conn| Ok((crate::tree::search(conn, &who, &query, 0, 30)?, crate::catalog::list_tiers(conn, who.brand_id)?)))
            .await?;
    let found = found
        .into_iter()
        .map(|a| {
            let t = tiers.iter().find(|t| t.id == a.tier_id).map_or_else(String::new, |t| t.name.clone());
            (a, t)
        })
        .collect();
    super::html(&SearchPage { csrf: user.csrf, q: text, found })
}

#[derive(Template)]
#[template(path = "m/stock.html")]
struct StockPage {
    csrf: String,
    lines: Vec<crate::inventory::StockLine>,
    retail_units: i64,
    /// Units on hand ÷ this month's retail units; None when nothing was sold at retail.
    cover: Option<Decimal>,
}

/// 库存 Stock: units, average cost, and months of retail cover at this month's pace.
#[get("/m/stock")]
pub async fn stock(state: web::Data<AppState>, user: AgentUser) -> Result<HttpResponse, PortalError> {
    let (who, id) = (user.who, user.id);
    let (lines, retail_units) = crate::db::read(&state.pool, move |conn| {
        let month = crate::period::month_of(chrono::Utc::now(), &crate::brands::settings(conn, who.brand_id)?.timezone)?;
        Ok((
            crate::inventory::agent_stock(conn, &who, id)?,
            crate::reports::sales_split(conn, &who, &month, Some(id), crate::reports::Scope::Own)?.retail_sales.units,
        ))
    })
    .await?;
    let units: i64 = lines.iter().map(|l| l.qty).sum();
    let cover = (retail_units > 0).then(|| (Decimal::from(units) / Decimal::from(retail_units)).round_dp(1));
    super::html(&StockPage { csrf: user.csrf, lines, retail_units, cover })
}
