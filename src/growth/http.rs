use actix_web::{get, web, HttpResponse};
use serde::Deserialize;

use super::Growth;
use crate::auth::Principal;
use crate::error::AppError;
use crate::reports::Scope;
use crate::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GrowthQuery {
    /// YYYY-MM in the brand's time zone.
    pub month: String,
    /// An agent (an agent: itself by default); none: the whole brand (HQ).
    pub agent_id: Option<i64>,
    /// self (default) or team.
    pub scope: Option<Scope>,
}

/// 复购, 裂变 and 转化 of a month: repurchase rate, new and returning customers, agent
/// retention, recruitment rate, application conversion and months of retail cover, for the
/// brand (HQ), an agent or a team (HQ; an agent for its own subtree). Frozen once the
/// month is closed.
#[utoipa::path(get, tag = "reports", params(GrowthQuery), responses((status = 200, body = Growth), (status = 403), (status = 404)), security(("bearer" = [])))]
#[get("/reports/growth")]
pub async fn growth(state: web::Data<AppState>, who: Principal, q: web::Query<GrowthQuery>) -> Result<HttpResponse, AppError> {
    let q = q.into_inner();
    let body = crate::db::read(state.reads(), move |conn| {
        conn.build_transaction()
            .read_only()
            .repeatable_read()
            .run(|conn| super::figures(conn, &who, &q.month, q.agent_id, q.scope.unwrap_or(Scope::Own), chrono::Utc::now()))
    })
    .await?;
    Ok(HttpResponse::Ok().json(body))
}
