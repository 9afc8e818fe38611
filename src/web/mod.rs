//! The HQ console (总部后台): server-rendered pages (askama) with htmx for partial updates
//! and ECharts for charts, vendored at pinned versions and embedded in the binary.
//!
//! Pages are thin: they read the session cookie, call the same service functions as the
//! JSON handlers, and render. The session cookie holds the same opaque token as the API
//! (HttpOnly, SameSite=Strict); every form carries a CSRF token derived from it. An
//! agent's session never opens a console page.

mod adjustments;
mod agent;
mod agent_actions;
mod agents;
mod applications;
mod customers;
mod dashboard;
mod disputes;
pub(crate) mod format;
mod growth;
mod login;
mod orders;
mod plan;
pub mod portal;
mod products;
mod public;
mod reports;
pub(crate) mod session;
mod settings;
mod settlement;
mod staff;
mod stock;
mod tree;
mod upgrades;
mod withdrawals;

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

pub use session::{ConsoleUser, PageError};

#[derive(rust_embed::RustEmbed)]
#[folder = "static/"]
struct Assets;

/// Every page route (registered by `startup::configure`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    portal::configure(cfg);
    cfg.service(public::join)
        .service(public::apply)
        .service(public::verify)
        .service(root)
        .service(lang)
        .service(asset)
        .service(login::login_form)
        .service(login::login_submit)
        .service(login::logout)
        .service(dashboard::page)
        .service(dashboard::ranking)
        .service(agent_actions::new_form)
        .service(agent_actions::create)
        .service(agents::page)
        .service(agents::results)
        .service(agent::page)
        .service(agent_actions::change_tier)
        .service(agent_actions::change_status)
        .service(agent_actions::activate)
        .service(agent_actions::move_confirm)
        .service(agent_actions::move_agent)
        .service(agent_actions::exit_confirm)
        .service(agent_actions::exit)
        .service(orders::list)
        .service(orders::page)
        .service(orders::refund)
        .service(products::page)
        .service(products::create)
        .service(products::create_tier)
        .service(products::sale)
        .service(products::save)
        .service(plan::page)
        .service(plan::check)
        .service(plan::what_if)
        .service(plan::publish)
        .service(reports::page)
        .service(growth::page)
        .service(growth::teams)
        .service(customers::page)
        .service(settings::page)
        .service(settings::save)
        .service(stock::page)
        .service(stock::adjust)
        .service(tree::page)
        .service(tree::children)
        .service(withdrawals::page)
        .service(withdrawals::approve)
        .service(withdrawals::reject)
        .service(withdrawals::pay)
        .service(withdrawals::fail)
        .service(withdrawals::export)
        .service(withdrawals::payout_form)
        .service(withdrawals::payout)
        .service(applications::page)
        .service(applications::approve)
        .service(applications::reject)
        .service(applications::certificate)
        .service(upgrades::page)
        .service(upgrades::save_rule)
        .service(upgrades::delete_rule)
        .service(upgrades::approve)
        .service(upgrades::reject)
        .service(adjustments::page)
        .service(adjustments::create)
        .service(adjustments::approve)
        .service(adjustments::reject)
        .service(staff::page)
        .service(staff::create)
        .service(staff::update)
        .service(staff::reset)
        .service(staff::reset_agent)
        .service(staff::audit_csv)
        .service(staff::audit)
        .service(disputes::page)
        .service(disputes::resolve)
        .service(settlement::months)
        .service(settlement::confirm)
        .service(settlement::close)
        .service(settlement::export)
        .service(settlement::statements);
}

/// After a form: 303 to the page that shows its result.
fn see_other(location: impl Into<String>) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((actix_web::http::header::LOCATION, location.into())).finish()
}

/// A rendered page, 200.
fn html(page: &impl askama::Template) -> Result<HttpResponse, PageError> {
    html_with(actix_web::http::StatusCode::OK, page)
}

fn html_with(status: actix_web::http::StatusCode, page: &impl askama::Template) -> Result<HttpResponse, PageError> {
    let body = page.render().map_err(|e| PageError(crate::error::AppError::internal(format!("template: {e}"))))?;
    Ok(HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}

#[derive(serde::Deserialize)]
struct LangQuery {
    to: String,
}

/// The English switch: a preference cookie read by `static/lang.js`, then back to the page.
#[get("/console/lang")]
async fn lang(req: actix_web::HttpRequest, q: web::Query<LangQuery>) -> HttpResponse {
    let value = if q.to == "en" { "en" } else { "zh" };
    let cookie = actix_web::cookie::Cookie::build("al_lang", value)
        .path("/")
        .same_site(actix_web::cookie::SameSite::Lax)
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    // back where the switch was clicked, if that was a console page of this site
    let back = req
        .headers()
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| r.split_once("/console/").map(|(_, rest)| format!("/console/{rest}")))
        .filter(|p| !p.contains("//") && !p.starts_with("/console/lang"))
        .unwrap_or_else(|| "/console/".to_owned());
    HttpResponse::SeeOther().insert_header((header::LOCATION, back)).cookie(cookie).finish()
}

#[get("/")]
async fn root() -> HttpResponse {
    HttpResponse::Found().insert_header((header::LOCATION, "/console/")).finish()
}

/// Static files. Vendored ones carry their version in the name (`htmx-2.0.4.min.js`) and are
/// cached for a year; our own (stylesheets, small scripts) are revalidated against their
/// content hash (ETag), so a phone never keeps a stale stylesheet and pays a 304 otherwise.
#[get("/static/{path:.*}")]
async fn asset(req: actix_web::HttpRequest, path: web::Path<String>) -> HttpResponse {
    let path = path.into_inner();
    let Some(file) = Assets::get(&path) else {
        return HttpResponse::NotFound().content_type("text/plain; charset=utf-8").body("not found");
    };
    let mime = match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..8]));
    if path.starts_with("vendor/") {
        return HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, mime))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::ETAG, etag))
            .body(file.data.into_owned());
    }
    if req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return HttpResponse::NotModified().insert_header((header::ETAG, etag)).finish();
    }
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::ETAG, etag))
        .body(file.data.into_owned())
}
