//! 代理 Agents: search by a name fragment or a phone prefix, filter by tier and status, list
//! the top-level agents; the results refresh in place as the staff member types (htmx).

use actix_web::{get, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{ConsoleUser, PageError};
use crate::catalog::Tier;
use crate::tree::{Agent, SearchQuery};
use crate::AppState;

pub const PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tier_id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    top: String,
    #[serde(default)]
    after: String,
}

struct Row {
    agent: Agent,
    tier: String,
    /// The joining date in the brand's time zone.
    joined: String,
}

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    csrf: String,
    f: Filters,
    tiers: Vec<Tier>,
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "agents_results.html")]
struct Results {
    rows: Vec<Row>,
    next: Option<String>,
}

/// The matching agents (one page after `f.after`) and the link to the next page.
async fn search(state: &AppState, user: &ConsoleUser, f: &Filters) -> Result<(Vec<Tier>, Vec<Row>, Option<String>), PageError> {
    let who = user.who;
    let bad = |what: &str| PageError(crate::error::AppError::bad_request("invalid_query", format!("{what} is not a number")));
    let tier_id = if f.tier_id.is_empty() { None } else { Some(f.tier_id.parse::<i64>().map_err(|_| bad("tier"))?) };
    let after = if f.after.is_empty() { 0 } else { f.after.parse::<i64>().map_err(|_| bad("after"))? };
    let query = SearchQuery {
        q: Some(f.q.clone()).filter(|q| !q.trim().is_empty()),
        tier_id,
        status: Some(f.status.clone()).filter(|s| !s.is_empty()),
        parent_id: None,
        top: f.top == "1",
    };
    let (tiers, tz, mut agents) = crate::db::read(&state.pool, move |conn| {
        let tiers = crate::catalog::list_tiers(conn, who.brand_id)?;
        let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
        Ok((tiers, tz, crate::tree::search(conn, &who, &query, after, PAGE + 1)?))
    })
    .await?;
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::Asia::Shanghai);
    let next = (agents.len() as i64 > PAGE).then(|| {
        agents.truncate(PAGE as usize);
        let last = agents.last().map_or(0, |a| a.id);
        let enc = |s: &str| s.replace('%', "%25").replace('&', "%26").replace('#', "%23").replace('+', "%2B").replace(' ', "+");
        format!("q={}&tier_id={}&status={}&top={}&after={last}", enc(&f.q), enc(&f.tier_id), enc(&f.status), enc(&f.top))
    });
    let rows = agents
        .into_iter()
        .map(|agent| Row {
            tier: tiers.iter().find(|t| t.id == agent.tier_id).map_or_else(|| agent.tier_id.to_string(), |t| t.name.clone()),
            joined: agent.joined_at.with_timezone(&tz).format("%Y-%m-%d").to_string(),
            agent,
        })
        .collect();
    Ok((tiers, rows, next))
}

#[get("/console/agents")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let (tiers, rows, next) = search(&state, &user, &f).await?;
    super::html(&AgentsPage { csrf: user.csrf, f, tiers, rows, next })
}

/// The results table alone, for htmx.
#[get("/console/agents/results")]
pub async fn results(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let (_, rows, next) = search(&state, &user, &f).await?;
    super::html(&Results { rows, next })
}
