//! 组织树 Tree: the pyramid level by level. Each node shows its tier and team size; its
//! children load only when it is opened (htmx), a page of them at a time, so a team of
//! 100,000 never loads at once.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::session::{ConsoleUser, PageError};
use crate::error::AppError;
use crate::tree::Agent;
use crate::AppState;

const PAGE: i64 = 50;

struct Node {
    agent: Agent,
    tier: String,
    team: i64,
}

#[derive(Template)]
#[template(path = "tree.html")]
struct TreePage {
    csrf: String,
    root: Option<Agent>,
    nodes: Vec<Node>,
    parent: String,
    next: Option<i64>,
}

#[derive(Template)]
#[template(path = "tree_level.html")]
struct Level {
    nodes: Vec<Node>,
    parent: String,
    next: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TreeQuery {
    #[serde(default)]
    root: String,
    #[serde(default)]
    after: String,
}

async fn level(state: &AppState, user: &ConsoleUser, parent: Option<i64>, after: i64) -> Result<(Vec<Node>, Option<i64>, Option<Agent>), PageError> {
    let who = user.who;
    let (mut rows, tiers, root, month) = crate::db::read(&state.pool, move |conn| {
        let root = parent.map(|p| crate::tree::get(conn, &who, p)).transpose()?;
        let month = crate::period::month_of(chrono::Utc::now(), &crate::brands::settings(conn, who.brand_id)?.timezone)?;
        Ok((crate::tree::level(conn, &who, parent, after, PAGE + 1)?, crate::catalog::list_tiers(conn, who.brand_id)?, root, month))
    })
    .await?;
    let next = (rows.len() as i64 > PAGE).then(|| {
        rows.truncate(PAGE as usize);
        rows.last().map_or(0, |r| r.id)
    });
    let sizes = crate::reports::team::team_sizes(state, user.who, rows.iter().map(|a| a.id).collect(), month).await?;
    let nodes = rows
        .into_iter()
        .zip(sizes)
        .map(|(agent, team)| Node { tier: tiers.iter().find(|t| t.id == agent.tier_id).map_or_else(String::new, |t| t.name.clone()), agent, team })
        .collect();
    Ok((nodes, next, root))
}

fn parse(q: &TreeQuery) -> Result<(Option<i64>, i64), PageError> {
    let bad = || PageError(AppError::bad_request("invalid_query", "root and after must be agent numbers"));
    let root = if q.root.trim().is_empty() { None } else { Some(q.root.trim().parse().map_err(|_| bad())?) };
    let after = if q.after.is_empty() { 0 } else { q.after.parse().map_err(|_| bad())? };
    Ok((root, after))
}

#[get("/console/tree")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser, q: web::Query<TreeQuery>) -> Result<HttpResponse, PageError> {
    let (root, after) = parse(&q)?;
    let (nodes, next, root_agent) = level(&state, &user, root, after).await?;
    super::html(&TreePage { csrf: user.csrf, root: root_agent, nodes, parent: q.root.trim().to_owned(), next })
}

/// One level below a node, for htmx.
#[get("/console/tree/level")]
pub async fn children(state: web::Data<AppState>, user: ConsoleUser, q: web::Query<TreeQuery>) -> Result<HttpResponse, PageError> {
    let (root, after) = parse(&q)?;
    let (nodes, next, _) = level(&state, &user, root, after).await?;
    super::html(&Level { nodes, parent: q.root.trim().to_owned(), next })
}
