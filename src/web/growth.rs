//! 增长 Growth: a month's 复购, 裂变 and 转化 for the brand and for every team led from
//! directly under HQ, with six months of the brand's rates as a chart. Frozen months say so.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::percent;
use super::session::{ConsoleUser, PageError};
use crate::growth::{Growth, TeamGrowth};
use crate::AppState;

/// How many months the chart shows, and how many teams the table lists.
const CHART_MONTHS: usize = 6;
const TEAMS: i64 = 50;

#[derive(Template)]
#[template(path = "growth.html")]
struct GrowthPage {
    csrf: String,
    month: String,
    months: Vec<String>,
    brand: Growth,
    /// {months, repurchase, retention, customers} as JSON for the chart.
    chart: String,
}

impl GrowthPage {
    fn pct(&self, d: &Option<rust_decimal::Decimal>) -> String {
        percent(d)
    }
    fn num(&self, d: &Option<rust_decimal::Decimal>) -> String {
        d.map(|d| d.round_dp(1).to_string()).unwrap_or_else(|| "—".into())
    }
}

#[derive(Debug, Deserialize)]
pub struct Query {
    month: Option<String>,
}

#[get("/console/growth")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, q: web::Query<Query>) -> Result<HttpResponse, PageError> {
    let who = user.who;
    let asked = q.into_inner().month;
    let now = chrono::Utc::now();
    let (month, months, brand, trend) = crate::db::read(state.reads(), move |conn| {
        conn.build_transaction().read_only().repeatable_read().run(|conn| {
            let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
            let months = crate::period::months_back(&crate::period::month_of(now, &tz)?, 12)?;
            let month = match asked.filter(|m| !m.is_empty()) {
                Some(m) => m,
                None => crate::growth::default_month(conn, who.brand_id, now)?,
            };
            let brand = crate::growth::figures(conn, &who, &month, None, crate::reports::Scope::Own, now)?;
            let chart_months: Vec<String> = months.iter().take(CHART_MONTHS).rev().cloned().collect();
            let trend = crate::growth::brand_trend(conn, &who, &chart_months, &brand, now)?;
            Ok((month, months, brand, trend))
        })
    })
    .await?;
    let rate = |r: &Option<rust_decimal::Decimal>| r.map(|r| (r * rust_decimal::Decimal::ONE_HUNDRED).round_dp(1).to_string());
    let chart = serde_json::json!({
        "months": trend.iter().map(|g| g.month.clone()).collect::<Vec<_>>(),
        "repurchase": trend.iter().map(|g| rate(&g.repurchase_rate)).collect::<Vec<_>>(),
        "retention": trend.iter().map(|g| rate(&g.agent_retention)).collect::<Vec<_>>(),
        "new_customers": trend.iter().map(|g| g.new_customers).collect::<Vec<_>>(),
        "returning": trend.iter().map(|g| g.returning_customers).collect::<Vec<_>>(),
    });
    super::html(&GrowthPage { csrf: user.csrf, month, months, brand, chart: chart.to_string().replace("</", "<\\/") })
}

#[derive(Template)]
#[template(path = "growth_teams.html")]
struct TeamsTable {
    teams: Vec<TeamGrowth>,
}

impl TeamsTable {
    fn pct(&self, d: &Option<rust_decimal::Decimal>) -> String {
        percent(d)
    }
    fn num(&self, d: &Option<rust_decimal::Decimal>) -> String {
        d.map(|d| d.round_dp(1).to_string()).unwrap_or_else(|| "—".into())
    }
}

/// The per-team table, loaded after the page (htmx): each team is computed from the books
/// (about 2 s for a 100,000-agent team), so the page does not wait for it.
#[get("/console/growth/teams")]
pub async fn teams(state: web::Data<AppState>, user: ConsoleUser, q: web::Query<Query>) -> Result<HttpResponse, PageError> {
    let who = user.who;
    let asked = q.into_inner().month;
    let now = chrono::Utc::now();
    let teams = crate::db::read(state.reads(), move |conn| {
        conn.build_transaction().read_only().repeatable_read().run(|conn| {
            let month = match asked.filter(|m| !m.is_empty()) {
                Some(m) => m,
                None => crate::growth::default_month(conn, who.brand_id, now)?,
            };
            crate::growth::top_teams(conn, &who, &month, TEAMS, now)
        })
    })
    .await?;
    super::html(&TeamsTable { teams })
}
