//! 报表 Reports: the sales split (brand, one agent, its team), the compliance report with its
//! findings, and the income disclosure as a chart. A closed month reads its kept report.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::filters;
use super::session::{ConsoleUser, PageError};
use crate::error::AppError;
use crate::reports::compliance::ComplianceReport;
use crate::reports::{SalesSplit, Scope};
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    month: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    scope: String,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    csrf: String,
    month: String,
    f: Filters,
    agent_split: Option<(String, SalesSplit)>,
    report: ComplianceReport,
    /// {bands, agents, net} for the income chart, as JSON.
    chart: String,
}

#[get("/console/reports")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<Filters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let agent_id = if f.agent_id.trim().is_empty() {
        None
    } else {
        Some(f.agent_id.trim().parse::<i64>().map_err(|_| PageError(AppError::bad_request("invalid_query", "agent must be a number")))?)
    };
    let scope = if f.scope == "self" { Scope::Own } else { Scope::Team };
    let (who, wanted) = (user.who, f.month.trim().to_owned());
    let (month, report, agent_split) = crate::db::read(&state.pool, move |conn| {
        // default: the last closed month (its report is kept), else the current one
        let month = if wanted.is_empty() {
            match crate::settlement::store::last_closed(conn, who.brand_id)? {
                Some(p) => p.month,
                None => crate::period::month_of(chrono::Utc::now(), &crate::brands::settings(conn, who.brand_id)?.timezone)?,
            }
        } else {
            wanted
        };
        let report = crate::reports::compliance::report(conn, &who, &month)?;
        let agent_split = match agent_id {
            Some(id) => Some((crate::tree::get(conn, &who, id)?.name, crate::reports::sales_split(conn, &who, &month, Some(id), scope)?)),
            None => None,
        };
        Ok((month, report, agent_split))
    })
    .await?;
    let chart = serde_json::json!({
        "bands": report.income_disclosure.bands.iter().map(|b| b.band.clone()).collect::<Vec<_>>(),
        "agents": report.income_disclosure.bands.iter().map(|b| b.agents).collect::<Vec<_>>(),
        "net": report.income_disclosure.bands.iter().map(|b| b.total_net.to_string()).collect::<Vec<_>>(),
    })
    .to_string()
    .replace("</", "<\\/");
    super::html(&ReportsPage { csrf: user.csrf, month, f, agent_split, report, chart })
}
