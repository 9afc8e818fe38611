//! 概览 Dashboard: this month and the last 12 — purchases against retail, the retail share,
//! new and active agents, payouts and the payout ratio, withdrawals waiting.

use actix_web::{get, web, HttpResponse};
use askama::Template;

use super::format::{filters, percent, yuan};
use super::session::{ConsoleUser, PageError};
use crate::reports::dashboard::{Dashboard, MonthRow};
use crate::AppState;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    csrf: String,
    current: MonthRow,
    months: Vec<MonthRow>,
    pending_count: i64,
    pending_amount: String,
    /// {months, purchases, retail, share} for the chart, as JSON.
    chart: String,
    /// The last closed month's 复购 and 留存 (the growth page has the rest).
    growth: crate::growth::Growth,
}

impl DashboardPage {
    fn yuan(&self, d: &rust_decimal::Decimal) -> String {
        yuan(d)
    }
    fn percent(&self, d: &Option<rust_decimal::Decimal>) -> String {
        percent(d)
    }
}

#[get("/console/")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, PageError> {
    let who = user.who;
    let (Dashboard { months, pending_withdrawals }, growth) = crate::db::read(&state.pool, move |conn| {
        conn.build_transaction().read_only().repeatable_read().run(|conn| {
            let dashboard = crate::reports::dashboard::dashboard(conn, &who, 12)?;
            // the last closed month's, as kept (an open month's are computed live: the growth page)
            let now = chrono::Utc::now();
            let month = crate::growth::default_month(conn, who.brand_id, now)?;
            Ok((dashboard, crate::growth::figures(conn, &who, &month, None, crate::reports::Scope::Own, now)?))
        })
    })
    .await?;
    let chart = serde_json::json!({
        "months": months.iter().map(|m| m.month.clone()).collect::<Vec<_>>(),
        "purchases": months.iter().map(|m| m.purchases.to_string()).collect::<Vec<_>>(),
        "retail": months.iter().map(|m| m.retail.to_string()).collect::<Vec<_>>(),
        "share": months.iter().map(|m| m.retail_share.map(|s| s.to_string())).collect::<Vec<_>>(),
    });
    let current = months.last().cloned().ok_or_else(|| PageError(crate::error::AppError::internal("dashboard without months")))?;
    let page = DashboardPage {
        csrf: user.csrf,
        current,
        months: months.into_iter().rev().collect(),
        pending_count: pending_withdrawals.count,
        pending_amount: yuan(&pending_withdrawals.amount),
        chart: chart.to_string().replace("</", "<\\/"),
        growth,
    };
    super::html(&page)
}

#[derive(Template)]
#[template(path = "dashboard_ranking.html")]
struct Ranking {
    month: String,
    teams: Vec<crate::reports::RankedTeam>,
    /// The last closed month's kept compliance report: (month, agents below, teams below, bought without retail).
    findings: Option<(String, usize, usize, i64)>,
}

/// 业绩排行 and the last closed month's compliance findings, loaded after the page (htmx).
#[get("/console/ranking")]
pub async fn ranking(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, PageError> {
    let who = user.who;
    let (month, teams, findings) = crate::db::read(&state.pool, move |conn| {
        let tz = crate::brands::settings(conn, who.brand_id)?.timezone;
        let month = crate::period::month_of(chrono::Utc::now(), &tz)?;
        let teams = crate::reports::top_teams(conn, &who, &month, 10)?;
        let findings = match crate::settlement::store::last_closed(conn, who.brand_id)? {
            Some(p) => {
                let r = crate::reports::compliance::report(conn, &who, &p.month)?;
                Some((p.month, r.agents_below.len(), r.teams_below.len(), r.bought_no_retail_count))
            }
            None => None,
        };
        Ok((month, teams, findings))
    })
    .await?;
    super::html(&Ranking { month, teams, findings })
}
