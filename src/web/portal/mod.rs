//! The agent portal (代理端) at `/m/`: an agent's phone shows its team, stock, earnings and
//! wallet, places orders and asks to be paid. The console's stack (askama, htmx, vendored
//! assets, cookie session, CSRF), laid out for 360–430 px. An agent sees only its subtree:
//! every read goes through the same service functions as the API, with the agent's principal.

mod customers;
mod home;
mod login;
mod money;
mod orders;
pub mod recruit;
mod session;
mod statements;
mod team;
mod upgrade;

use actix_web::web;

pub use session::{AgentUser, PortalError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(recruit::page)
        .service(recruit::renew)
        .service(recruit::approve)
        .service(recruit::reject)
        .service(recruit::certificate)
        .service(upgrade::page)
        .service(upgrade::apply)
        .service(login::login_form)
        .service(login::submit)
        .service(login::logout)
        .service(login::password_form)
        .service(login::change_password)
        .service(home::page)
        .service(home::team_growth)
        .service(customers::page)
        .service(team::page)
        .service(team::search)
        .service(team::stock)
        .service(orders::order_form)
        .service(orders::purchase)
        .service(orders::retail)
        .service(money::earnings)
        .service(money::withdraw_page)
        .service(money::withdraw)
        .service(money::quote)
        .service(money::payee_page)
        .service(money::save_payee)
        .service(statements::list)
        .service(statements::page)
        .service(statements::confirm)
        .service(statements::dispute);
}

/// A rendered portal page.
fn html(page: &impl askama::Template) -> Result<actix_web::HttpResponse, PortalError> {
    html_with(actix_web::http::StatusCode::OK, page)
}

fn html_with(status: actix_web::http::StatusCode, page: &impl askama::Template) -> Result<actix_web::HttpResponse, PortalError> {
    let body = page.render().map_err(|e| PortalError(crate::error::AppError::internal(format!("template: {e}"))))?;
    Ok(actix_web::HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body))
}
