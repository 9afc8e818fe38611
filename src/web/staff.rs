//! 员工 Staff (the owner): who works in the console with which role; add, change a role,
//! disable a login, reset a password. 审计 Audit (owner, auditor): every HQ write, filtered,
//! and its CSV.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::format::{local, query, zone};
use super::session::{ConsoleUser, PageError};
use crate::audit::{AuditRow, ListFilter};
use crate::auth::policy::{StaffRole, ROLES};
use crate::auth::staff::{NewStaff, Staff, StaffPatch};
use crate::error::AppError;
use crate::AppState;

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    csrf: String,
    me: i64,
    roles: [StaffRole; 4],
    rows: Vec<(Staff, String)>,
}

#[get("/console/staff")]
pub async fn page(state: web::Data<AppState>, user: ConsoleUser) -> Result<HttpResponse, PageError> {
    let who = user.who;
    let (rows, tz) =
        crate::db::read(&state.pool, move |conn| Ok((crate::auth::staff::list(conn, &who)?, crate::brands::settings(conn, who.brand_id)?.timezone))).await?;
    let tz = zone(&tz);
    let rows = rows
        .into_iter()
        .map(|s| {
            let at = local(&s.created_at, &tz);
            (s, at)
        })
        .collect();
    super::html(&StaffPage { csrf: user.csrf, me: who.user_id().unwrap_or_default(), roles: ROLES, rows })
}

#[derive(Debug, Deserialize)]
pub struct StaffForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    active: String,
}

fn role(s: &str) -> Result<StaffRole, PageError> {
    StaffRole::parse(s).ok_or_else(|| PageError(AppError::validation("角色无效 role must be owner, operations, finance or auditor")))
}

fn back() -> HttpResponse {
    super::see_other("/console/staff")
}

#[post("/console/staff")]
pub async fn create(state: web::Data<AppState>, user: ConsoleUser, form: web::Form<StaffForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let new = NewStaff { login: form.login.trim().to_owned(), name: form.name, role: role(&form.role)?, password: form.password };
    let who = user.who;
    crate::db::transaction(&state.pool, move |conn| crate::auth::staff::create(conn, &who, &new)).await?;
    Ok(back())
}

#[post("/console/staff/{id}")]
pub async fn update(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<StaffForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let patch = StaffPatch { name: None, role: Some(role(&form.role)?), active: Some(form.active == "true") };
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::auth::staff::update(conn, &who, id, &patch)).await?;
    Ok(back())
}

#[post("/console/staff/{id}/password")]
pub async fn reset(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<StaffForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::auth::staff::reset_staff_password(conn, &who, id, &form.password)).await?;
    Ok(back())
}

/// The owner sets a new password for an agent (from the agent's page).
#[post("/console/agents/{id}/password")]
pub async fn reset_agent(state: web::Data<AppState>, user: ConsoleUser, id: web::Path<i64>, form: web::Form<StaffForm>) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    user.check_csrf(&form.csrf)?;
    let (id, who) = (id.into_inner(), user.who);
    crate::db::transaction(&state.pool, move |conn| crate::auth::staff::reset_agent_password(conn, &who, id, &form.password)).await?;
    Ok(HttpResponse::SeeOther().insert_header((header::LOCATION, format!("/console/agents/{id}"))).finish())
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditFilters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    /// YYYY-MM-DD, the brand's zone.
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: String,
}

impl AuditFilters {
    fn filter(&self, tz: &chrono_tz::Tz) -> Result<ListFilter, AppError> {
        let day = |s: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
            if s.trim().is_empty() {
                return Ok(None);
            }
            let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| AppError::bad_request("invalid_query", "dates are YYYY-MM-DD"))?;
            Ok(d.and_hms_opt(0, 0, 0).and_then(|t| t.and_local_timezone(*tz).earliest()).map(|t| t.with_timezone(&chrono::Utc)))
        };
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        // `to` is inclusive of its day
        let to = day(&self.to)?.map(|t| t + chrono::Duration::days(1));
        Ok(ListFilter { actor: text(&self.actor), action: text(&self.action), from: day(&self.from)?, to })
    }
}

struct AuditLine {
    row: AuditRow,
    at: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    csrf: String,
    f: AuditFilters,
    rows: Vec<AuditLine>,
    next: Option<String>,
    export: String,
}

const PAGE: i64 = 50;

fn pretty(v: &Option<serde_json::Value>) -> String {
    v.as_ref().map(|v| serde_json::to_string_pretty(v).unwrap_or_default()).unwrap_or_default()
}

#[get("/console/audit")]
pub async fn audit(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<AuditFilters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let before = if f.before.is_empty() {
        0
    } else {
        f.before.parse::<i64>().map_err(|_| PageError(AppError::bad_request("invalid_query", "cursor must be a number")))?
    };
    let who = user.who;
    let tz = zone(&crate::db::read(&state.pool, move |conn| Ok(crate::brands::settings(conn, who.brand_id)?.timezone)).await?);
    let filter = f.filter(&tz)?;
    let mut rows = crate::db::read(&state.pool, move |conn| crate::audit::list(conn, who.brand_id, &filter, before, PAGE + 1)).await?;
    let next = (rows.len() as i64 > PAGE).then(|| {
        rows.truncate(PAGE as usize);
        let last = rows.last().map_or(0, |r| r.id).to_string();
        query(&[("actor", &f.actor), ("action", &f.action), ("from", &f.from), ("to", &f.to), ("before", &last)])
    });
    let export = query(&[("actor", &f.actor), ("action", &f.action), ("from", &f.from), ("to", &f.to)]);
    let rows = rows.into_iter().map(|row| AuditLine { at: local(&row.at, &tz), before: pretty(&row.before), after: pretty(&row.after), row }).collect();
    super::html(&AuditPage { csrf: user.csrf, f, rows, next, export })
}

#[get("/console/audit/audit.csv")]
pub async fn audit_csv(state: web::Data<AppState>, user: ConsoleUser, f: web::Query<AuditFilters>) -> Result<HttpResponse, PageError> {
    let f = f.into_inner();
    let who = user.who;
    let tz = zone(&crate::db::read(&state.pool, move |conn| Ok(crate::brands::settings(conn, who.brand_id)?.timezone)).await?);
    let filter = f.filter(&tz)?;
    let mut rows = crate::db::read(&state.pool, move |conn| crate::audit::list(conn, who.brand_id, &filter, 0, crate::audit::http::EXPORT_MAX)).await?;
    rows.reverse();
    let bytes = crate::audit::csv(&rows)?;
    Ok(HttpResponse::Ok().content_type("text/csv; charset=utf-8").insert_header(("Content-Disposition", "attachment; filename=\"audit.csv\"")).body(bytes))
}
