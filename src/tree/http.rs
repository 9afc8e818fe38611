use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::{Agent, AgentEvent, DownlineQuery, NewAgentRequest, SettableStatus};
use crate::auth::Principal;
use crate::db::transaction;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};
use crate::pagination::{Page, PageQuery};
use crate::AppState;

/// Creates an agent: HQ anywhere, an agent only directly under itself.
#[utoipa::path(post, tag = "agents", request_body = NewAgentRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "replay-safe retries")),
    responses((status = 201, body = Agent), (status = 403), (status = 409, description = "phone_taken, agent_exited, idempotency_conflict"), (status = 422)), security(("bearer" = [])))]
#[post("/agents")]
pub async fn create(state: web::Data<AppState>, who: Principal, key: IdempotencyKey, body: web::Json<NewAgentRequest>) -> Result<HttpResponse, AppError> {
    let req = body.into_inner();
    let resp = transaction(&state.pool, move |conn| {
        // the password is part of the request identity, but only as its hash
        let fingerprint = (&req.name, &req.phone, req.tier_id, req.parent_id, sha_hex(&req.password));
        idempotency::once(conn, &who, &key, "POST /agents", &fingerprint, StatusCode::CREATED, |conn| super::create(conn, &who, &req))
    })
    .await?;
    Ok(resp.into_http())
}

fn sha_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// A fragment of the name (case-insensitive) or a prefix of the phone.
    pub q: Option<String>,
    pub tier_id: Option<i64>,
    /// active, suspended, exited or pending_activation
    #[param(pattern = "^(active|suspended|exited|pending_activation)$")]
    pub status: Option<String>,
    /// Direct children of this agent.
    pub parent_id: Option<i64>,
    /// true: only agents directly under HQ.
    pub top: Option<bool>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Search and list agents, by id: HQ over the brand, an agent over its own subtree only.
#[utoipa::path(get, tag = "agents", params(SearchParams), responses((status = 200, body = Page<Agent>), (status = 400)), security(("bearer" = [])))]
#[get("/agents")]
pub async fn search(state: web::Data<AppState>, who: Principal, params: web::Query<SearchParams>) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let page = PageQuery { limit: p.limit, cursor: p.cursor };
    let (limit, after) = (page.limit()?, page.id_cursor()?);
    let query = super::SearchQuery { q: p.q, tier_id: p.tier_id, status: p.status, parent_id: p.parent_id, top: p.top.unwrap_or(false) };
    let rows = crate::db::read(state.reads(), move |conn| super::search(conn, &who, &query, after, limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |a| a.id.to_string())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AgentQuery {
    /// The agent as it stood at this instant (RFC 3339): parent, tier, status and depth
    /// from the dated history. Default: now.
    #[param(value_type = Option<String>, format = DateTime)]
    pub as_of: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// One agent, now or as it stood at `as_of`.
#[utoipa::path(get, tag = "agents", params(("id" = i64, Path), AgentQuery), responses((status = 200, body = Agent), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}")]
pub async fn get(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, q: web::Query<AgentQuery>) -> Result<HttpResponse, AppError> {
    let (id, as_of) = (id.into_inner(), q.into_inner().as_of);
    let agent = transaction(&state.pool, move |conn| match as_of {
        None => super::get(conn, &who, id),
        Some(at) => super::get_as_of(conn, &who, id, at.with_timezone(&chrono::Utc)),
    })
    .await?;
    Ok(HttpResponse::Ok().json(agent))
}

/// Direct children, by id.
#[utoipa::path(get, tag = "agents", params(("id" = i64, Path), PageQuery), responses((status = 200, body = Page<Agent>), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/children")]
pub async fn children(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, page: web::Query<PageQuery>) -> Result<HttpResponse, AppError> {
    let (id, limit) = (id.into_inner(), page.limit()?);
    let after = page.id_cursor()?;
    let rows = transaction(&state.pool, move |conn| super::children(conn, &who, id, Some(after), limit + 1)).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, limit, |a| a.id.to_string())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DownlineParams {
    /// Only agents at most this many levels below (children = 1).
    pub max_depth: Option<i32>,
    /// Only agents of this tier.
    pub tier_id: Option<i64>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The whole subtree, depth-first, each agent with `depth` relative to `{id}`.
#[utoipa::path(get, tag = "agents", params(("id" = i64, Path), DownlineParams), responses((status = 200, body = Page<Agent>), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/downline")]
pub async fn downline(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, params: web::Query<DownlineParams>) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let page = PageQuery { limit: params.limit, cursor: params.cursor };
    let (id, limit) = (id.into_inner(), page.limit()?);
    let after =
        page.cursor()?.map(|c| c.split('.').map(str::parse::<i64>).collect::<Result<Vec<_>, _>>().map_err(|_| crate::pagination::bad_cursor())).transpose()?;
    let query = DownlineQuery { max_depth: params.max_depth, tier_id: params.tier_id };
    let rows = transaction(state.reads(), move |conn| super::downline(conn, &who, id, &query, after, limit + 1)).await?;
    let page = Page::from_rows(rows, limit, |(_, path)| path.iter().map(i64::to_string).collect::<Vec<_>>().join("."));
    Ok(HttpResponse::Ok().json(Page { items: page.items.into_iter().map(|(a, _)| a).collect::<Vec<_>>(), next_cursor: page.next_cursor }))
}

/// Ancestors, nearest first: HQ, or the agent itself.
#[utoipa::path(get, tag = "agents", params(("id" = i64, Path)), responses((status = 200, body = Page<Agent>), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/upline")]
pub async fn upline(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let rows = transaction(&state.pool, move |conn| super::upline(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(Page::all(rows)))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    /// The new parent; null moves the agent directly under HQ.
    pub parent_id: Option<i64>,
    /// Why (kept in the agent's history).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Moves the agent with its whole subtree. 409 `cycle` under its own subtree.
#[utoipa::path(post, tag = "agents", params(("id" = i64, Path)), request_body = MoveRequest,
    responses((status = 200, body = Agent), (status = 404), (status = 409, description = "cycle"), (status = 422)), security(("bearer" = [])))]
#[post("/agents/{id}/move")]
pub async fn move_agent(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<MoveRequest>) -> Result<HttpResponse, AppError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let agent = transaction(&state.pool, move |conn| super::move_agent(conn, &who, id, body.parent_id, body.reason.as_deref())).await?;
    Ok(HttpResponse::Ok().json(agent))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TierRequest {
    pub tier_id: i64,
}

/// Upgrade or downgrade, kept as a dated event.
#[utoipa::path(post, tag = "agents", params(("id" = i64, Path)), request_body = TierRequest,
    responses((status = 200, body = Agent), (status = 404), (status = 409), (status = 422)), security(("bearer" = [])))]
#[post("/agents/{id}/tier")]
pub async fn change_tier(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<TierRequest>) -> Result<HttpResponse, AppError> {
    let (id, tier_id) = (id.into_inner(), body.tier_id);
    let agent = transaction(&state.pool, move |conn| super::change_tier(conn, &who, id, tier_id)).await?;
    Ok(HttpResponse::Ok().json(agent))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    pub status: SettableStatus,
}

/// Suspend or reactivate, kept as a dated event.
#[utoipa::path(post, tag = "agents", params(("id" = i64, Path)), request_body = StatusRequest,
    responses((status = 200, body = Agent), (status = 404), (status = 409)), security(("bearer" = [])))]
#[post("/agents/{id}/status")]
pub async fn change_status(state: web::Data<AppState>, who: Principal, id: web::Path<i64>, body: web::Json<StatusRequest>) -> Result<HttpResponse, AppError> {
    let (id, status) = (id.into_inner(), body.status);
    let agent = transaction(&state.pool, move |conn| super::change_status(conn, &who, id, status)).await?;
    Ok(HttpResponse::Ok().json(agent))
}

/// Every dated change of parent, tier and status.
#[utoipa::path(get, tag = "agents", params(("id" = i64, Path)), responses((status = 200, body = Page<AgentEvent>), (status = 404)), security(("bearer" = [])))]
#[get("/agents/{id}/events")]
pub async fn events(state: web::Data<AppState>, who: Principal, id: web::Path<i64>) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let rows = transaction(&state.pool, move |conn| super::events(conn, &who, id)).await?;
    Ok(HttpResponse::Ok().json(Page::all(rows)))
}

/// HQ activates an agent waiting for its first purchase, without it; the reason is kept.
#[utoipa::path(post, tag = "tree", params(("id" = i64, Path)), request_body = super::activation::WaiveRequest,
    responses((status = 200, body = Agent), (status = 400, description = "reason_required"), (status = 404), (status = 409, description = "not_pending")), security(("bearer" = [])))]
#[post("/agents/{id}/activate")]
pub async fn activate(
    state: web::Data<AppState>,
    who: Principal,
    id: web::Path<i64>,
    body: web::Json<super::activation::WaiveRequest>,
) -> Result<HttpResponse, AppError> {
    let (id, body) = (id.into_inner(), body.into_inner());
    let agent = crate::db::transaction(&state.pool, move |conn| super::activation::waive(conn, &who, id, &body.reason)).await?;
    Ok(HttpResponse::Ok().json(agent))
}
