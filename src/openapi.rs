//! The OpenAPI document: its base (title, the bearer scheme, the schemas) here; its paths
//! collected from the one registration of the routes (`startup::api`).

use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{audit, auth, brands, recruiting, catalog, commission, exits, inventory, ledger, orders, pagination, plans, reports, settlement, tree};

#[derive(OpenApi)]
#[openapi(
    info(title = "agent-ledger", description = "Books of a brand that sells through a pyramid of agents."),
    components(schemas(
        auth::http::LoginRequest, auth::http::PasswordRequest, auth::LoginResponse, auth::StaffRole,
        auth::staff::Staff, auth::staff::NewStaff, auth::staff::StaffPatch, auth::staff::ResetPassword, audit::AuditRow, pagination::Page<audit::AuditRow>,
        catalog::Tier, catalog::TierInput, catalog::Product, catalog::ProductInput, catalog::ProductUpdate, catalog::SaleRequest,
        brands::Settings, brands::SettingsPatch, brands::SupplyMode, commission::Jurisdiction,
        tree::Agent, tree::NewAgentRequest, tree::activation::WaiveRequest, tree::AgentEvent, tree::SettableStatus,
        tree::http::MoveRequest, tree::http::TierRequest, tree::http::StatusRequest,
        pagination::Page<tree::Agent>,
        commission::Plan, commission::ValidationReport, commission::Finding, plans::Published, plans::VersionView,
        plans::whatif::WhatIfRequest, plans::whatif::WhatIf, plans::whatif::MonthWhatIf, plans::whatif::Payouts, plans::whatif::TierAmount, plans::whatif::AgentChange,
        inventory::Adjustment, inventory::AdjustmentResult, inventory::StockLine,
        orders::OrderRequest, orders::PurchaseRequest, orders::PurchaseLine, orders::RetailRequest, orders::RetailLine, orders::Customer,
        orders::OrderView, orders::LineView, orders::SplitView, orders::RefundRequest, orders::RefundView, orders::RefundLineView,
        ledger::Wallet, ledger::Earnings, ledger::PostingView, ledger::Withdrawal, ledger::WithdrawalRequest, ledger::withdrawals::RejectRequest, ledger::withdrawals::QueuedWithdrawal, pagination::Page<ledger::withdrawals::QueuedWithdrawal>,
        ledger::withdrawals::QuoteView, ledger::quote::Quote, ledger::quote::WithdrawalRules, ledger::payee::Payee, ledger::payee::PayeeInput,
        ledger::payouts::PayRequest, ledger::payouts::FailRequest, ledger::payout_file::Batch,
        ledger::adjustments::NewAdjustment, ledger::adjustments::Adjustment, ledger::adjustments::AdjustmentView, pagination::Page<ledger::adjustments::AdjustmentView>,
        pagination::Page<orders::OrderView>,
        exits::ExitResult, exits::BuybackLine,
        reports::compliance::ComplianceReport, reports::compliance::ShareRow, reports::compliance::NoRetailRow, reports::compliance::LoadingRow,
        reports::compliance::Payout, reports::compliance::Network, reports::compliance::IncomeBand, reports::compliance::IncomeDisclosure,
        reports::dashboard::Dashboard, reports::dashboard::MonthRow, reports::dashboard::Pending,
        recruiting::invites::Invite, recruiting::applications::ApplicationRequest, recruiting::applications::Created, recruiting::applications::Application,
        recruiting::certificates::Certificate, recruiting::certificates::PublicCertificate,
        recruiting::upgrades::RuleInput, recruiting::upgrades::RuleView, recruiting::upgrades::Rules, recruiting::upgrades::Combine, recruiting::upgrades::Proposal,
        recruiting::upgrades::AgentProgress, recruiting::upgrades::Target, recruiting::upgrades::Figures, recruiting::upgrades::Check, recruiting::upgrades::UpgradeRequest,
        recruiting::upgrades::CloseUpgrades,
        reports::SalesSplit, reports::Volume, reports::Scope, reports::DownlineSummary,
        settlement::reviews::Review, settlement::http::DisputeRequest, settlement::http::ResolveRequest, pagination::Page<settlement::reviews::Review>, settlement::PeriodView, settlement::CloseResult, settlement::Statement, pagination::Page<settlement::Statement>,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The document as served: the base above plus every path registered in
/// `startup::api`, rendered once per worker.
pub struct Document {
    json: String,
    /// Each path's segments (`{…}` matches any one) and its methods, upper case.
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl Document {
    pub fn new(doc: utoipa::openapi::OpenApi) -> Self {
        let mut doc = serde_json::to_value(doc).unwrap_or_default();
        problems(&mut doc);
        flattened(&mut doc);
        parameters(&mut doc);
        let routes = doc
            .get("paths")
            .and_then(serde_json::Value::as_object)
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, item)| {
                        let segments = path.split('/').map(str::to_owned).collect();
                        let methods = item.as_object().map(|m| m.keys().map(|k| k.to_uppercase()).collect()).unwrap_or_default();
                        (segments, methods)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Document { json: serde_json::to_string(&doc).unwrap_or_default(), routes }
    }

    /// The methods the API serves at `path`, if it serves any there.
    pub fn methods_at(&self, path: &str) -> Option<Vec<String>> {
        let parts: Vec<&str> = path.split('/').collect();
        let fits = |segments: &Vec<String>| segments.len() == parts.len() && segments.iter().zip(&parts).all(|(s, p)| s == p || (s.starts_with('{') && !p.is_empty()));
        let mut methods: Vec<String> = self.routes.iter().filter(|(s, _)| fits(s)).flat_map(|(_, m)| m.clone()).collect();
        methods.sort();
        methods.dedup();
        (!methods.is_empty()).then_some(methods)
    }
}

/// The rules every parameter of a name follows, stated once for the whole API: a page
/// size is 1–1000; a cursor is what a page's `next_cursor` gave (base64url); a month is `YYYY-MM` in 2000–2099 (what `period::parse_month` takes); a
/// dashboard spans 1–36 months.
fn parameters(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else { continue };
            for p in params.iter_mut() {
                let name = p.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) else { continue };
                match name.as_str() {
                    "limit" => {
                        schema.insert("minimum".into(), json!(1));
                        schema.insert("maximum".into(), json!(crate::pagination::MAX_LIMIT));
                    }
                    "month" => {
                        schema.insert("pattern".into(), json!(crate::period::MONTH_PATTERN));
                    }
                    "cursor" => {
                        schema.insert("pattern".into(), json!("^[A-Za-z0-9_-]*$"));
                    }
                    "months" => {
                        schema.insert("minimum".into(), json!(1));
                        schema.insert("maximum".into(), json!(36));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A struct flattened into another (`#[serde(flatten)]`) or tagged (`#[serde(tag = "kind")]`)
/// is documented as an `allOf` of its parts; where a part refuses unknown fields
/// (`additionalProperties: false`, from `deny_unknown_fields`) no body could match both parts.
/// Such an `allOf` is merged into the one object it describes: every part's properties and
/// required fields, unknown fields refused when a part refuses them.
fn flattened(doc: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(schemas) = doc.pointer("/components/schemas").and_then(Value::as_object).cloned() else { return };
    fn walk(v: &mut Value, schemas: &serde_json::Map<String, Value>) {
        match v {
            Value::Object(o) => {
                if let Some(merged) = o.get("allOf").and_then(Value::as_array).and_then(|parts| merge(parts, schemas)) {
                    o.remove("allOf");
                    for (k, val) in merged {
                        o.insert(k, val);
                    }
                }
                for child in o.values_mut() {
                    walk(child, schemas);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, schemas)),
            _ => {}
        }
    }
    fn merge(parts: &[Value], schemas: &serde_json::Map<String, Value>) -> Option<serde_json::Map<String, Value>> {
        let resolved: Vec<&Value> = parts
            .iter()
            .map(|p| match p.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/")) {
                Some(name) => schemas.get(name),
                None => Some(p),
            })
            .collect::<Option<_>>()?;
        if !resolved.iter().all(|p| p.get("properties").is_some()) || !resolved.iter().any(|p| p.get("additionalProperties") == Some(&Value::Bool(false))) {
            return None;
        }
        let mut properties = serde_json::Map::new();
        let mut required: Vec<Value> = Vec::new();
        for p in &resolved {
            if let Some(props) = p.get("properties").and_then(Value::as_object) {
                properties.extend(props.clone());
            }
            for r in p.get("required").and_then(Value::as_array).into_iter().flatten() {
                if !required.contains(r) {
                    required.push(r.clone());
                }
            }
        }
        let mut out = serde_json::Map::new();
        out.insert("type".into(), Value::from("object"));
        out.insert("properties".into(), Value::Object(properties));
        out.insert("required".into(), Value::Array(required));
        out.insert("additionalProperties".into(), Value::Bool(false));
        Some(out)
    }
    if let Some(target) = doc.pointer_mut("/components/schemas") {
        walk(target, &schemas);
    }
}

/// What any operation may answer besides what its handler declares, and why: the gate, the
/// extractors and the error type answer these for every route alike.
const COMMON: [(&str, &str); 5] = [
    ("400", "malformed request: a query, path or body that does not parse (`invalid_query`, `invalid_path`, `invalid_body`, `invalid_month`)"),
    ("404", "something the request names does not exist, or is outside the caller's subtree (`not_found`)"),
    ("422", "the request parses but is not valid (`validation` and the codes named above)"),
    ("500", "a bug: no internal text, quote the response's X-Request-Id"),
    ("503", "the database does not answer (`unavailable`); retry after the `Retry-After` seconds"),
];

/// Every error answer is problem+json (RFC 9457) with a stable `code`: the document says so
/// for every operation and every 4xx/5xx, and lists the statuses any route can give.
fn problems(doc: &mut serde_json::Value) {
    use serde_json::{json, Value};
    let problem = json!({"$ref": "#/components/schemas/Problem"});
    let content = json!({"application/problem+json": {"schema": problem}});
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.insert(
            "Problem".into(),
            json!({"type": "object", "required": ["type", "title", "status", "detail", "code"], "description": "RFC 9457 problem details; some codes add members (e.g. `figures`, `findings`)",
                   "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}, "code": {"type": "string"}}}),
        );
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(op) = op.as_object_mut() else { continue };
            let authenticated = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let has_body = op.contains_key("requestBody");
            let mut extra: Vec<(&str, &str)> = COMMON.to_vec();
            if authenticated {
                extra.push(("401", "no valid session: log in (`unauthorized`)"));
                extra.push(("403", "the caller's role or kind may not do this (`role_forbidden`, `forbidden`)"));
            } else {
                extra.push(("429", "too many requests from this address (`rate_limited`); retry after `Retry-After` seconds"));
            }
            if has_body {
                extra.push(("413", "the body is over the 1 MiB limit (`too_large`)"));
            }
            extra.push(("409", "the state does not allow it now (the codes named above)"));
            let responses = op.entry("responses").or_insert_with(|| json!({}));
            let Some(responses) = responses.as_object_mut() else { continue };
            for (status, why) in extra {
                responses.entry(status).or_insert_with(|| json!({"description": why}));
            }
            for (status, r) in responses.iter_mut() {
                if status.starts_with('4') || status.starts_with('5') {
                    if let Some(r) = r.as_object_mut() {
                        r.entry("content").or_insert_with(|| content.clone());
                        r.entry("description").or_insert_with(|| json!(""));
                    }
                }
            }
        }
    }
}

#[get("/api/openapi.json")]
pub async fn serve(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(doc.json.clone())
}
