//! 奖金方案 Plan: the plan in force in words, an editor whose findings are shown before
//! publishing, the what-if replay of closed months under the edited plan, and the versions.

use std::collections::HashMap;

use actix_web::{get, post, web, HttpResponse};
use askama::Template;

use super::format::{filters, local, zone};
use super::session::{ConsoleUser, PageError};
use crate::commission::{Plan, ValidationReport};
use crate::error::AppError;
use crate::plans::whatif::{WhatIf, WhatIfRequest};
use crate::AppState;

struct VersionRow {
    version: i32,
    effective: String,
    created: String,
    by: String,
    words: Vec<String>,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    csrf: String,
    words: Vec<String>,
    plan: Plan,
    editor: String,
    effective: String,
    versions: Vec<VersionRow>,
    closed_months: Vec<String>,
}

#[get("/console/plan")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, PageError> {
    let who = user.who;
    let (plan, versions, periods, tz) = crate::db::read(&state.pool, move |conn| {
        Ok((
            crate::plans::current(conn, who.brand_id)?,
            crate::plans::versions(conn, &who)?,
            crate::settlement::list(conn, &who)?,
            crate::brands::settings(conn, who.brand_id)?.timezone,
        ))
    })
    .await?;
    let tz = zone(&tz);
    let editor = serde_json::to_string_pretty(&plan).map_err(|e| PageError(AppError::internal(e.to_string())))?;
    let page = PlanPage {
        csrf: user.csrf,
        words: crate::commission::describe::describe(&plan),
        effective: local(&plan.effective_from.to_utc(), &tz),
        editor,
        versions: versions
            .into_iter()
            .map(|v| VersionRow {
                version: v.plan.version,
                effective: local(&v.plan.effective_from.to_utc(), &tz),
                created: local(&v.created_at, &tz),
                by: v.created_by,
                words: crate::commission::describe::describe(&v.plan),
            })
            .collect(),
        closed_months: periods.into_iter().filter(|p| p.status == "closed").map(|p| p.month).collect(),
        plan,
    };
    super::html(&page)
}

fn parse_plan(form: &HashMap<String, String>) -> Result<Plan, AppError> {
    let text = form.get("plan").map_or("", String::as_str);
    serde_json::from_str(text).map_err(|e| AppError::validation(format!("方案 JSON 有误 the plan is not valid JSON: {e}")))
}

#[derive(Template)]
#[template(path = "plan_findings.html")]
struct Findings {
    error: Option<String>,
    report: Option<ValidationReport>,
    words: Vec<String>,
}

/// Validates the edited plan (htmx): its findings and the plan in words, before publishing.
#[post("/console/plan/check")]
pub async fn check(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<HashMap<String, String>>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let plan = match parse_plan(&form) {
        Ok(p) => p,
        Err(e) => return super::html(&Findings { error: Some(e.detail), report: None, words: vec![] }),
    };
    let brand_id = user.who.brand_id;
    let words = crate::commission::describe::describe(&plan);
    let report = crate::db::read(&state.pool, move |conn| crate::plans::validate(conn, brand_id, &plan)).await?;
    super::html(&Findings { error: None, report: Some(report), words })
}

#[derive(Template)]
#[template(path = "plan_whatif.html")]
struct WhatIfView {
    error: Option<String>,
    result: Option<WhatIf>,
}

/// Replays the chosen closed months under the edited plan (htmx); writes nothing.
#[post("/console/plan/what-if")]
pub async fn what_if(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<Vec<(String, String)>>) -> Result<HttpResponse, PageError> {
    let pairs = form.into_inner();
    let fields: HashMap<String, String> = pairs.iter().filter(|(k, _)| k != "months").cloned().collect();
    user.check_csrf(fields.get("csrf").map_or("", String::as_str))?;
    let months: Vec<String> = pairs.iter().filter(|(k, _)| k == "months").map(|(_, v)| v.clone()).collect();
    let plan = match parse_plan(&fields) {
        Ok(p) => p,
        Err(e) => return super::html(&WhatIfView { error: Some(e.detail), result: None }),
    };
    if months.is_empty() {
        return super::html(&WhatIfView { error: Some("请选择至少一个已结账月份 choose at least one closed month".into()), result: None });
    }
    let who = user.who;
    let req = WhatIfRequest { plan, months };
    match crate::db::read(&state.pool, move |conn| crate::plans::whatif::what_if(conn, &who, &req)).await {
        Ok(result) => super::html(&WhatIfView { error: None, result: Some(result) }),
        Err(e) if e.kind != crate::error::ErrorKind::Internal => super::html(&WhatIfView { error: Some(e.detail), result: None }),
        Err(e) => Err(PageError(e)),
    }
}

/// Publishes the edited plan; "effective now" dates it at the moment it is published.
#[post("/console/plan")]
pub async fn publish(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<HashMap<String, String>>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(form.get("csrf").map_or("", String::as_str))?;
    let mut plan = parse_plan(&form)?;
    let now = form.get("effective_now").is_some_and(|v| v == "1");
    let who = user.who;
    crate::db::transaction(&state.pool, move |conn| {
        if now {
            plan.effective_from = chrono::Utc::now().fixed_offset();
        }
        crate::plans::publish(conn, &who, plan)
    })
    .await?;
    Ok(super::see_other("/console/plan"))
}
