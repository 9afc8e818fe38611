//! The OpenAPI document: its base (title, the bearer scheme, the schemas) here; its paths
//! collected from the one registration of the routes (`startup::api`).

use actix_web::{get, web, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

mod bodies;
mod rules;
pub mod whole;

use crate::{audit, auth, brands, catalog, commission, exits, inventory, ledger, orders, pagination, plans, recruiting, reports, settlement, tree};

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
    /// Each operation's integer parameters: (segments, method upper case, which).
    integers: Vec<(Vec<String>, String, whole::Integers)>,
    /// Each operation's JSON body validator: (segments, method upper case, validator).
    bodies: Vec<bodies::Body>,
}

impl Document {
    pub fn new(doc: utoipa::openapi::OpenApi) -> Self {
        let mut doc = serde_json::to_value(doc).unwrap_or_default();
        rules::problems(&mut doc);
        rules::flattened(&mut doc);
        // once more: a part merged above may be a variant of a body flattened beside fields
        rules::flattened(&mut doc);
        rules::parameters(&mut doc);
        rules::fields(&mut doc);
        rules::unsigned(&mut doc);
        rules::safe_integers(&mut doc);
        let bodies = bodies::compile(&doc);
        let mut integers = Vec::new();
        for (path, item) in doc.get("paths").and_then(serde_json::Value::as_object).into_iter().flatten() {
            let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
            for (method, op) in item.as_object().into_iter().flatten() {
                integers.push((segments.clone(), method.to_uppercase(), whole::Integers::of(op, &segments)));
            }
        }
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
        Document { json: serde_json::to_string(&doc).unwrap_or_default(), routes, integers, bodies }
    }

    /// `body` against the schema the document gives the body of `method path` (none: Ok);
    /// an operation that needs a session is judged only for a caller `identified`.
    pub fn check_body(&self, method: &str, path: &str, identified: bool, body: &serde_json::Value) -> Result<(), crate::error::AppError> {
        let parts: Vec<&str> = path.split('/').collect();
        match self.bodies.iter().filter(|b| b.method == method && fits(&b.segments, &parts)).min_by_key(|b| holes(&b.segments)) {
            Some(b) if identified || !b.secured => bodies::check(&b.validator, body),
            _ => Ok(()),
        }
    }

    /// The integer parameters of the operation `method path` names, routed as the server
    /// routes (the most literal template wins).
    pub fn integers_at(&self, method: &str, path: &str) -> Option<&whole::Integers> {
        let parts: Vec<&str> = path.split('/').collect();
        self.integers.iter().filter(|(s, m, _)| m == method && fits(s, &parts)).min_by_key(|(s, _, _)| holes(s)).map(|(_, _, i)| i)
    }

    /// The methods the API serves at `path`, if it serves any there.
    pub fn methods_at(&self, path: &str) -> Option<Vec<String>> {
        let parts: Vec<&str> = path.split('/').collect();
        // the most literal templates win, as in routing: /orders/batch is not /orders/{id}
        let matching: Vec<&(Vec<String>, Vec<String>)> = self.routes.iter().filter(|(s, _)| fits(s, &parts)).collect();
        let fewest = matching.iter().map(|(s, _)| holes(s)).min().unwrap_or(0);
        let mut methods: Vec<String> = matching.into_iter().filter(|(s, _)| holes(s) == fewest).flat_map(|(_, m)| m.clone()).collect();
        methods.sort();
        methods.dedup();
        (!methods.is_empty()).then_some(methods)
    }
}

fn fits(segments: &[String], parts: &[&str]) -> bool {
    segments.len() == parts.len() && segments.iter().zip(parts).all(|(s, p)| s == p || (s.starts_with('{') && !p.is_empty()))
}

fn holes(segments: &[String]) -> usize {
    segments.iter().filter(|s| s.starts_with('{')).count()
}

#[get("/api/openapi.json")]
pub async fn serve(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(doc.json.clone())
}
