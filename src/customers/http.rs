use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

use super::CustomerPage;
use crate::auth::Principal;
use crate::error::AppError;
use crate::pagination::PageQuery;
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CustomersQuery {
    /// true: only customers with a product due to be bought again by today + 7 days (复购提醒), the most overdue first.
    pub due: Option<bool>,
    /// 1 to 1000, default 50.
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// 客户: an agent's retail customers (the agent itself; HQ with phones masked by role):
/// first and last purchase, orders, total, products and when each is due again.
#[utoipa::path(get, tag = "customers", params(("id" = i64, Path), CustomersQuery),
    responses((status = 200, body = CustomerPage), (status = 400), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/customers")]
pub async fn customers(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, q: web::Query<CustomersQuery>) -> Result<HttpResponse, AppError> {
    let (id, q) = (id.into_inner(), q.into_inner());
    let page = PageQuery { limit: q.limit, cursor: q.cursor };
    let due = q.due.unwrap_or(false);
    let body = crate::db::read(state.reads(), move |conn| super::list(conn, &who, id, due, &page, chrono::Utc::now())).await?;
    Ok(HttpResponse::Ok().json(body))
}
