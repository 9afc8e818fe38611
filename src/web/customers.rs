//! 客户 An agent's customers in the console: the same list the agent sees, phones masked
//! unless the staff role may call customers (owner, operations); the 复购提醒 tab.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::filters;
use super::session::{ConsoleUser, PageError};
use crate::customers::CustomerPage;
use crate::pagination::PageQuery;
use crate::AppState;

#[derive(Template)]
#[template(path = "customers.html")]
struct CustomersPage {
    csrf: String,
    agent: crate::tree::Agent,
    due: bool,
    list: CustomerPage,
    tz: chrono_tz::Tz,
    masked: bool,
}

impl CustomersPage {
    fn day(&self, at: &chrono::DateTime<chrono::Utc>) -> String {
        at.with_timezone(&self.tz).format("%Y-%m-%d").to_string()
    }
}

#[derive(Debug, Deserialize)]
pub struct Query {
    due: Option<String>,
    cursor: Option<String>,
}

#[get("/console/agents/{id}/customers")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, q: web::Query<Query>) -> Result<HttpResponse, PageError> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let due = q.due.as_deref().is_some_and(|d| d == "1" || d == "true");
    let who = user.who;
    let page = PageQuery { limit: Some(100), cursor: q.cursor };
    let (agent, list, tz) = crate::db::read(state.reads(), move |conn| {
        let tz = super::format::zone(&crate::brands::settings(conn, who.brand_id)?.timezone);
        Ok((crate::tree::get(conn, &who, id)?, crate::customers::list(conn, &who, id, due, &page, chrono::Utc::now())?, tz))
    })
    .await?;
    let masked = !crate::customers::may_see_phones(&who, None);
    super::html(&CustomersPage { csrf: user.csrf, agent, due, list, tz, masked })
}
