//! 客户 Customers on the phone: the agent's own retail customers, latest first, and the
//! 复购提醒 tab — who is due to buy again this week, the most overdue first, with a tap to
//! call. The same service function as `GET /agents/{id}/customers`.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::session::{AgentUser, PortalError};
use crate::customers::CustomerView;
use crate::pagination::PageQuery;
use crate::web::format::filters;
use crate::AppState;

#[derive(Template)]
#[template(path = "m/customers.html")]
struct CustomersPage {
    csrf: String,
    due: bool,
    due_by: Option<NaiveDate>,
    today: NaiveDate,
    items: Vec<CustomerView>,
    next: Option<String>,
    tz: chrono_tz::Tz,
}

impl CustomersPage {
    fn day(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&self.tz).format("%Y-%m-%d").to_string()
    }

    /// "逾期 3 天" / "今天" / "5 天后" for a due day.
    fn when(&self, due: &NaiveDate) -> String {
        let days = (*due - self.today).num_days();
        match days {
            0 => "今天 today".into(),
            d if d < 0 => format!("逾期 {} 天 {} days overdue", -d, -d),
            d => format!("{d} 天后 in {d} days"),
        }
    }

    fn is_due(&self, due: &Option<NaiveDate>) -> bool {
        due.is_some_and(|d| d <= self.today + chrono::Duration::days(crate::customers::DUE_WITHIN_DAYS))
    }
}

#[derive(Debug, Deserialize)]
pub struct Query {
    due: Option<String>,
    cursor: Option<String>,
}

#[get("/m/customers")]
pub async fn page(state: web::Data<AppState>, user: AgentUser, q: web::Query<Query>) -> Result<HttpResponse, PortalError> {
    let q = q.into_inner();
    let due = q.due.as_deref().is_some_and(|d| d == "1" || d == "true");
    let (who, id) = (user.who, user.id);
    let page = PageQuery { limit: Some(30), cursor: q.cursor };
    let now = chrono::Utc::now();
    let (list, tz) = crate::db::read(&state.pool, move |conn| {
        let tz = crate::web::format::zone(&crate::brands::settings(conn, who.brand_id)?.timezone);
        Ok((crate::customers::list(conn, &who, id, due, &page, now)?, tz))
    })
    .await?;
    super::html(&CustomersPage {
        csrf: user.csrf,
        due,
        due_by: list.due_by,
        today: now.with_timezone(&tz).date_naive(),
        items: list.items,
        next: list.next_cursor,
        tz,
    })
}
