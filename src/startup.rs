//! Builds the HTTP application: routes, error policy for malformed input, the server.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{get, middleware, web, App, HttpRequest, HttpResponse, HttpServer};
use diesel::RunQueryDsl;

use crate::error::AppError;
use crate::{
    audit, auth, brands, catalog, customers, exits, growth, inventory, ledger, openapi, orders, plans, recruiting, reports, settlement, tree, AppState,
};

/// The JSON API under `/api/v1`: each endpoint registered once, here — the routes and the
/// OpenAPI document are both made from this list (utoipa-actix-web), so neither can have
/// what the other lacks.
pub fn api(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(auth::http::login)
        .service(auth::http::logout)
        .service(auth::http::change_password)
        .service(auth::http::list_staff)
        .service(auth::http::create_staff)
        .service(auth::http::update_staff)
        .service(auth::http::reset_staff_password)
        .service(auth::http::reset_agent_password)
        .service(audit::http::export)
        .service(audit::http::list)
        .service(catalog::http::list_tiers)
        .service(catalog::http::create_tier)
        .service(catalog::http::update_tier)
        .service(catalog::http::list_products)
        .service(catalog::http::get_product)
        .service(catalog::http::create_product)
        .service(catalog::http::update_product)
        .service(catalog::http::set_sale)
        .service(brands::http::get_settings)
        .service(brands::http::patch_settings)
        .service(tree::http::create)
        .service(tree::http::search)
        .service(tree::http::get)
        .service(tree::http::children)
        .service(tree::http::downline)
        .service(tree::http::upline)
        .service(tree::http::move_agent)
        .service(tree::http::change_tier)
        .service(tree::http::change_status)
        .service(tree::http::events)
        .service(tree::http::activate)
        .service(plans::http::get_plan)
        .service(plans::http::versions)
        .service(plans::http::put_plan)
        .service(plans::http::validate)
        .service(plans::http::what_if)
        .service(inventory::http::adjust)
        .service(inventory::http::agent_inventory)
        .service(orders::http::create)
        .service(orders::http::batch)
        .service(orders::http::list)
        .service(orders::http::get)
        .service(orders::http::refund)
        .service(ledger::http::wallet)
        .service(ledger::http::earnings)
        .service(ledger::http::request_withdrawal)
        .service(ledger::http::quote)
        .service(ledger::http::get_payee)
        .service(ledger::http::put_payee)
        .service(ledger::http::list)
        .service(ledger::http::get_withdrawal)
        .service(ledger::payouts_http::approve)
        .service(ledger::payouts_http::reject)
        .service(ledger::payouts_http::pay)
        .service(ledger::payouts_http::fail)
        .service(ledger::payouts_http::export)
        .service(ledger::payouts_http::batches)
        .service(ledger::payouts_http::create_adjustment)
        .service(ledger::payouts_http::list_adjustments)
        .service(ledger::payouts_http::approve_adjustment)
        .service(ledger::payouts_http::reject_adjustment)
        .service(settlement::http::list)
        .service(settlement::http::close)
        .service(settlement::http::statements)
        .service(settlement::http::export)
        .service(settlement::http::agent_statement)
        .service(settlement::http::confirm)
        .service(settlement::http::dispute)
        .service(settlement::http::disputes)
        .service(settlement::http::resolve)
        .service(reports::http::sales_split)
        .service(reports::http::downline_summary)
        .service(reports::http::compliance)
        .service(reports::http::dashboard)
        .service(growth::http::growth)
        .service(customers::http::customers)
        .service(exits::http::exit)
        .service(recruiting::http::invite)
        .service(recruiting::http::renew)
        .service(recruiting::http::revoke)
        .service(recruiting::http::apply)
        .service(recruiting::http::list)
        .service(recruiting::http::approve)
        .service(recruiting::http::reject)
        .service(recruiting::http::certificate)
        .service(recruiting::http::check)
        .service(recruiting::upgrades::http::rules)
        .service(recruiting::upgrades::http::set_rule)
        .service(recruiting::upgrades::http::delete_rule)
        .service(recruiting::upgrades::http::list)
        .service(recruiting::upgrades::http::approve)
        .service(recruiting::upgrades::http::reject)
        .service(recruiting::upgrades::http::progress)
        .service(recruiting::upgrades::http::request);
}

/// The extractor error policy (bad JSON, query or path → problem+json; bodies over 1 MiB → 413).
fn input_errors(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(crate::input::MAX_BODY))
        .app_data(web::JsonConfig::default().limit(crate::input::MAX_BODY).error_handler(|err, _| {
            use actix_web::error::JsonPayloadError;
            match err {
                JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                    AppError::new(crate::error::ErrorKind::TooLarge, "too_large", "the request body is over the 1 MiB limit").into()
                }
                // a well-formed body whose amount breaks the money or rate rule: 422, like any invalid value
                err if err.to_string().contains(crate::amount::MARK) => AppError::validation(amount_detail(&err.to_string())).into(),
                err => AppError::bad_request("invalid_body", format!("request body: {err}")).into(),
            }
        }))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            let text = err.to_string();
            if text.contains(crate::amount::MARK) {
                return AppError::validation(amount_detail(&text)).into();
            }
            AppError::bad_request("invalid_query", format!("query string: {err}")).into()
        }))
        .app_data(web::PathConfig::default().error_handler(|err, req| {
            // `GET /orders/batch` matched `GET /orders/{id}`: the path is served, not that way
            if let Some(resp) = req.app_data::<web::Data<openapi::Document>>().and_then(|doc| not_allowed(req, doc)) {
                return actix_web::error::InternalError::from_response(err, resp).into();
            }
            AppError::bad_request("invalid_path", format!("path: {err}")).into()
        }));
}

/// The amount rule's own words, without the marker and serde's position suffix.
fn amount_detail(text: &str) -> String {
    let from = text.find(crate::amount::MARK).map_or(0, |i| i + crate::amount::MARK.len());
    let rest = &text[from..];
    rest.rfind(" at line ").map_or(rest, |i| &rest[..i]).to_owned()
}

/// The whole application: the API (and its document, from the same registration), the
/// pages, health, and the fallbacks.
pub fn app(
    data: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use utoipa::OpenApi;
    use utoipa_actix_web::AppExt;
    let (app, document) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .service(health)
        .service(utoipa_actix_web::scope("/api/v1").configure(api))
        .split_for_parts();
    app.wrap(middleware::from_fn(crate::input::guard))
        .wrap(middleware::from_fn(openapi::whole::middleware))
        .wrap(middleware::from_fn(auth::http::gate))
        .wrap(middleware::Compress::default())
        .wrap(middleware::Logger::new("%r %s %Dms"))
        .app_data(data)
        .app_data(web::Data::new(openapi::Document::new(document)))
        .configure(input_errors)
        .service(openapi::serve)
        .configure(crate::web::configure)
        .default_service(web::to(not_found))
}

/// 405 with `Allow` when the API serves this path literally, but not with this method.
fn not_allowed(req: &HttpRequest, doc: &openapi::Document) -> Option<HttpResponse> {
    use actix_web::ResponseError;
    let allowed = doc.methods_at(req.path())?;
    if allowed.iter().any(|m| m == req.method().as_str()) {
        return None;
    }
    let e = AppError::new(
        crate::error::ErrorKind::MethodNotAllowed,
        "method_not_allowed",
        format!("{} is not served at {}; it answers {}", req.method(), req.path(), allowed.join(", ")),
    );
    let mut resp = e.error_response();
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&allowed.join(", ")) {
        resp.headers_mut().insert(actix_web::http::header::ALLOW, v);
    }
    Some(resp)
}

/// No route: 405 with `Allow` where the API serves the path with other methods, else 404.
async fn not_found(req: HttpRequest, doc: web::Data<openapi::Document>) -> HttpResponse {
    use actix_web::ResponseError;
    not_allowed(&req, &doc).unwrap_or_else(|| AppError::not_found(format!("{} {}", req.method(), req.path())).error_response())
}

/// 200 when the database answers; 503 at once (half a second at most) when it does not.
#[utoipa::path(get, path = "/health", tag = "ops", responses((status = 200, description = "database answers"), (status = 503)))]
#[get("/health")]
async fn health(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let pool = state.pool.clone();
    web::block(move || -> Result<(), AppError> {
        let mut conn = pool.get_timeout(std::time::Duration::from_millis(500)).map_err(|e| AppError::unavailable(format!("health: {e}")))?;
        diesel::sql_query("SELECT 1").execute(&mut conn)?;
        Ok(())
    })
    .await
    .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))??;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ok"})))
}

pub fn run(listener: TcpListener, state: AppState, workers: usize) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    let server = HttpServer::new(move || app(data.clone())).workers(workers.max(1)).listen(listener)?.run();
    Ok(server)
}
