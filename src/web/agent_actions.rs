//! What HQ does to an agent from its page: create (under HQ or a parent), change tier,
//! suspend/resume, move (the size of what moves shown before confirming, with a reason),
//! exit (the buyback shown before confirming). Every form carries the CSRF token; the
//! creating ones carry an idempotency key, so a double click writes once.

use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{filters, form_key};
use super::session::{ConsoleUser, PageError};
use crate::catalog::Tier;
use crate::error::AppError;
use crate::exits::ExitResult;
use crate::idempotency::IdempotencyKey;
use crate::tree::{Agent, NewAgentRequest, SettableStatus};
use crate::AppState;

fn to(path: String) -> HttpResponse {
    super::see_other(path)
}

fn optional_id(what: &str, s: &str) -> Result<Option<i64>, PageError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| PageError(AppError::validation(format!("{what} 必须是代理编号 must be an agent number"))))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    parent_id: String,
}

#[derive(Template)]
#[template(path = "agent_new.html")]
struct NewPage {
    csrf: String,
    idem: String,
    tiers: Vec<Tier>,
    parent_id: String,
}

#[get("/console/agents/new")]
pub async fn new_form(state: web::Data<AppState>, user: ConsoleUser, q: web::Query<NewQuery>) -> Result<HttpResponse, PageError> {
    let brand_id = user.who.brand_id;
    let tiers = crate::db::read(&state.pool, move |conn| crate::catalog::list_tiers(conn, brand_id)).await?;
    super::html(&NewPage { csrf: user.csrf, idem: form_key(), tiers, parent_id: q.into_inner().parent_id })
}

#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    idem: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    tier_id: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    password: String,
}

#[post("/console/agents")]
pub async fn create(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<NewForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let tier_id = form.tier_id.trim().parse().map_err(|_| PageError(AppError::validation("请选择等级 choose a tier")))?;
    let req = NewAgentRequest {
        name: form.name,
        phone: form.phone,
        tier_id,
        parent_id: optional_id("上级 parent", &form.parent_id)?,
        password: form.password,
        joined_at: None,
    };
    let key = IdempotencyKey(Some(form.idem).filter(|k| !k.is_empty() && k.len() <= 200));
    let who = user.who;
    let stored = crate::db::transaction(&state.pool, move |conn| {
        crate::idempotency::once(conn, &who, &key, "POST /agents", &req, actix_web::http::StatusCode::CREATED, |conn| crate::tree::create(conn, &who, &req))
    })
    .await?;
    let id = serde_json::from_str::<serde_json::Value>(&stored.body)
        .ok()
        .and_then(|v| v["id"].as_i64())
        .ok_or_else(|| PageError(AppError::internal("created agent has no id")))?;
    Ok(to(format!("/console/agents/{id}")))
}

#[derive(Debug, Deserialize)]
pub struct TierForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    tier_id: String,
}

#[post("/console/agents/{id}/tier")]
pub async fn change_tier(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<TierForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let tier_id: i64 = form.tier_id.trim().parse().map_err(|_| PageError(AppError::validation("请选择等级 choose a tier")))?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::tree::change_tier(conn, &who, id, tier_id)).await?;
    Ok(to(format!("/console/agents/{id}")))
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

#[post("/console/agents/{id}/status")]
pub async fn change_status(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<StatusForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let status = match form.status.as_str() {
        "active" => SettableStatus::Active,
        "suspended" => SettableStatus::Suspended,
        _ => return Err(PageError(AppError::validation("status must be active or suspended"))),
    };
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::tree::change_status(conn, &who, id, status)).await?;
    Ok(to(format!("/console/agents/{id}")))
}

#[derive(Debug, Deserialize)]
pub struct WaiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// 免首批进货: HQ activates a waiting agent without its first-order threshold, with a reason.
#[post("/console/agents/{id}/activate")]
pub async fn activate(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<WaiveForm>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let (id, who, reason) = (id.into_inner(), user.who, form.reason.clone());
    crate::db::transaction(&state.pool, move |conn| crate::tree::activation::waive(conn, &who, id, &reason)).await?;
    Ok(to(format!("/console/agents/{id}")))
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveQuery {
    #[serde(default)]
    parent_id: String,
}

#[derive(Template)]
#[template(path = "agent_move.html")]
struct MovePage {
    csrf: String,
    agent: Agent,
    /// Agents that move: the agent and its whole downline.
    moving: i64,
    from: Option<Agent>,
    to: Option<Agent>,
    parent_id: String,
}

/// The move's confirmation: what moves (the agent and its downline), from where, to where.
#[get("/console/agents/{id}/move")]
pub async fn move_confirm(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, q: web::Query<MoveQuery>) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let parent_id = q.into_inner().parent_id.trim().to_owned();
    let new_parent = optional_id("新上级 new parent", &parent_id)?;
    let who = user.who;
    let (agent, downline, from, to) = crate::db::read(&state.pool, move |conn| {
        let agent = crate::tree::get(conn, &who, id)?;
        let from = agent.parent_id.map(|p| crate::tree::get(conn, &who, p)).transpose()?;
        let to = new_parent
            .map(|p| crate::tree::get(conn, &who, p).map_err(|_| AppError::validation(format!("新上级 #{p} 不存在 parent agent {p} does not exist"))))
            .transpose()?;
        if let Some(p) = new_parent {
            // refused here already, not only when confirmed: under itself or its own team
            if crate::tree::visible(conn, &who, p)?.path.contains(&id) {
                return Err(AppError::conflict(
                    "cycle",
                    format!("代理 #{p} 在 #{id} 的团队中，不能作为其上级 agent {p} is in the team of agent {id}; moving {id} under it would make a cycle"),
                ));
            }
        }
        Ok((agent, crate::tree::subtree_size(conn, &who, id)?, from, to))
    })
    .await?;
    super::html(&MovePage { csrf: user.csrf, agent, moving: downline + 1, from, to, parent_id })
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    reason: String,
}

#[post("/console/agents/{id}/move")]
pub async fn move_agent(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<MoveForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    if form.reason.trim().is_empty() {
        return Err(PageError(AppError::bad_request("reason_required", "请写明调整原因 say why the agent moves")));
    }
    let new_parent = optional_id("新上级 new parent", &form.parent_id)?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::tree::move_agent(conn, &who, id, new_parent, Some(&form.reason))).await?;
    Ok(to(format!("/console/agents/{id}")))
}

#[derive(Template)]
#[template(path = "agent_exit.html")]
struct ExitPage {
    csrf: String,
    agent: Agent,
    preview: ExitResult,
}

/// The exit's confirmation: the buyback it will pay and who moves up.
#[get("/console/agents/{id}/exit")]
pub async fn exit_confirm(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>) -> Result<HttpResponse, PageError> {
    let (id, who) = (id.into_inner(), user.who);
    let (agent, preview) = crate::db::read(&state.pool, move |conn| Ok((crate::tree::get(conn, &who, id)?, crate::exits::preview(conn, &who, id)?))).await?;
    super::html(&ExitPage { csrf: user.csrf, agent, preview })
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

#[post("/console/agents/{id}/exit")]
pub async fn exit(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<CsrfOnly>) -> Result<HttpResponse, PageError> {
    user.check_csrf(&form.csrf)?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::exits::exit(conn, &who, id)).await?;
    Ok(to(format!("/console/agents/{id}")))
}
