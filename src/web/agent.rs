//! An agent's page: its upline path, its team this month by tier and depth, its stock and
//! wallet, and its dated history (joined, moves, tier and status changes).

use actix_web::{get, web, HttpResponse};
use askama::Template;

use super::format::{filters, yuan};
use super::session::{ConsoleUser, PageError};
use crate::ledger::Wallet;
use crate::reports::DownlineSummary;
use crate::tree::{Agent, AgentEvent};
use crate::AppState;

#[derive(Template)]
#[template(path = "agent.html")]
struct AgentPage {
    csrf: String,
    agent: Agent,
    tier: String,
    /// Top-level ancestor first.
    upline: Vec<(Agent, String)>,
    team: DownlineSummary,
    /// (tier name, agents) best tier first.
    team_by_tier: Vec<(String, i64)>,
    stock: Vec<crate::inventory::StockLine>,
    wallet: Wallet,
    events: Vec<(String, AgentEvent)>,
    tiers: Vec<crate::catalog::Tier>,
    /// This month's earnings by kind, and their total.
    earnings: crate::ledger::Earnings,
    /// The latest orders it bought or sold: (order, local time).
    orders: Vec<(crate::orders::OrderView, String)>,
}

impl AgentPage {
    fn kind_name(&self, kind: &str) -> &'static str {
        crate::orders::explain::rule_name(kind)
    }

    fn yuan(&self, d: &rust_decimal::Decimal) -> String {
        yuan(d)
    }
}

#[get("/console/agents/{id}")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let who = user.who;
    let tz_name = {
        let brand_id = user.who.brand_id;
        crate::db::read(&state.pool, move |conn| Ok(crate::brands::settings(conn, brand_id)?.timezone)).await?
    };
    let month = crate::period::month_of(chrono::Utc::now(), &tz_name)?;
    let m = month.clone();
    let (agent, upline, stock, wallet, events, tiers, tz, earnings, orders) = crate::db::read(&state.pool, move |conn| {
        let recent = crate::orders::ListQuery { agent_id: Some(id), desc: true, ..Default::default() };
        Ok((
            crate::tree::get(conn, &who, id)?,
            crate::tree::upline(conn, &who, id)?,
            crate::inventory::agent_stock(conn, &who, id)?,
            crate::ledger::wallet(conn, &who, id)?,
            crate::tree::events(conn, &who, id)?,
            crate::catalog::list_tiers(conn, who.brand_id)?,
            tz_name,
            crate::ledger::earnings(conn, &who, id, &m)?,
            crate::orders::list(conn, &who, &recent, 0, 10)?,
        ))
    })
    .await?;
    let tz_parsed: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let team = crate::reports::team::downline_summary(&state, user.who, id, month).await?;
    let tier_name = |tier_id: i64| tiers.iter().find(|t| t.id == tier_id).map_or_else(|| tier_id.to_string(), |t| t.name.clone());
    let team_by_tier = tiers.iter().map(|t| (t.name.clone(), team.by_tier.get(&t.id.to_string()).copied().unwrap_or(0))).collect();
    let page = AgentPage {
        csrf: user.csrf,
        tier: tier_name(agent.tier_id),
        upline: upline
            .into_iter()
            .rev()
            .map(|a| {
                let t = tier_name(a.tier_id);
                (a, t)
            })
            .collect(),
        team,
        team_by_tier,
        stock,
        wallet,
        orders: orders
            .into_iter()
            .map(|o| {
                let at = super::format::local(&o.placed_at, &tz_parsed);
                (o, at)
            })
            .collect(),
        earnings,
        events: events.into_iter().map(|e| (e.at.with_timezone(&tz_parsed).format("%Y-%m-%d %H:%M").to_string(), e)).collect(),
        agent,
        tiers,
    };
    super::html(&page)
}
