//! 升级 Upgrade: the agent's way up on its phone — each better tier's rule against its own
//! figures (bars), its waiting or last proposal (with HQ's reason), and 申请升级.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{AgentUser, PortalError};
use crate::error::ErrorKind;
use crate::recruiting::upgrades::{AgentProgress, UpgradeRequest};
use crate::AppState;

#[derive(Template)]
#[template(path = "m/upgrade.html")]
struct UpgradePage {
    csrf: String,
    tier: String,
    progress: AgentProgress,
    /// The proposal's tiers by name: (from, to).
    proposal_tiers: (String, String),
    /// What the last request was told (not qualified, already waiting).
    problem: String,
}

impl UpgradePage {
    /// How far along a check is, 0–100, for the bar.
    fn percent(have: &str, need: &str) -> u32 {
        let (h, n) = (have.parse::<f64>().unwrap_or(0.0), need.parse::<f64>().unwrap_or(1.0));
        if n <= 0.0 {
            return 100;
        }
        ((h / n) * 100.0).clamp(0.0, 100.0) as u32
    }

    fn measure(m: &str) -> &'static str {
        match m {
            "own_purchases" => "个人进货 Own purchases",
            "direct_recruits" => "直推代理 Direct recruits",
            _ => "团队业绩 Team volume",
        }
    }
}

async fn render(state: &web::Data<AppState>, user: AgentUser, problem: String) -> Result<HttpResponse, PortalError> {
    let (who, id) = (user.who, user.id);
    let (progress, tiers) =
        crate::db::read(&state.pool, move |conn| Ok((crate::recruiting::upgrades::progress(conn, &who, id)?, crate::catalog::list_tiers(conn, who.brand_id)?)))
            .await?;
    let name = |id: i64| tiers.iter().find(|t| t.id == id).map(|t| t.name.clone()).unwrap_or_default();
    let proposal_tiers = progress.proposal.as_ref().map(|p| (name(p.from_tier_id), name(p.to_tier_id))).unwrap_or_default();
    super::html(&UpgradePage { csrf: user.csrf, tier: name(progress.tier_id), progress, proposal_tiers, problem })
}

#[get("/m/upgrade")]
pub async fn page(state: web::Data<AppState>, user: AgentUser) -> Result<HttpResponse, PortalError> {
    render(&state, user, String::new()).await
}

#[derive(Debug, Deserialize)]
pub struct Form {
    #[serde(default)]
    csrf: String,
    tier_id: i64,
}

/// Applies; a refusal the agent can act on (not qualified yet, one already waiting) is shown
/// on the page itself, with its figures still in view.
#[post("/m/upgrade")]
pub async fn apply(state: web::Data<AppState>, user: AgentUser, form: web::Form<Form>) -> Result<HttpResponse, PortalError> {
    user.check_csrf(&form.csrf)?;
    let (who, id, req) = (user.who, user.id, UpgradeRequest { tier_id: form.tier_id });
    match crate::db::transaction(&state.pool, move |conn| crate::recruiting::upgrades::request(conn, &who, id, &req)).await {
        Ok(_) => Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, "/m/upgrade")).finish()),
        Err(e) if matches!(e.kind, ErrorKind::Unprocessable | ErrorKind::Conflict) => render(&state, user, e.detail).await,
        Err(e) => Err(PortalError(e)),
    }
}
