//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::{get, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{audit, auth, brands, recruiting, catalog, commission, exits, inventory, ledger, orders, pagination, plans, reports, settlement, startup, tree};

#[derive(OpenApi)]
#[openapi(
    info(title = "agent-ledger", description = "Books of a brand that sells through a pyramid of agents."),
    paths(
        startup::health,
        auth::http::login, auth::http::logout, auth::http::change_password,
        auth::http::list_staff, auth::http::create_staff, auth::http::update_staff, auth::http::reset_staff_password, auth::http::reset_agent_password,
        audit::http::list, audit::http::export,
        catalog::http::list_tiers, catalog::http::create_tier, catalog::http::update_tier,
        catalog::http::list_products, catalog::http::get_product, catalog::http::create_product, catalog::http::update_product, catalog::http::set_sale,
        brands::http::get_settings, brands::http::patch_settings,
        tree::http::create, tree::http::search, tree::http::get, tree::http::children, tree::http::downline, tree::http::upline,
        tree::http::move_agent, tree::http::change_tier, tree::http::change_status, tree::http::events, tree::http::activate,
        plans::http::get_plan, plans::http::versions, plans::http::put_plan, plans::http::validate, plans::http::what_if,
        inventory::http::adjust, inventory::http::agent_inventory,
        orders::http::create, orders::http::list, orders::http::get, orders::http::refund,
        ledger::http::wallet, ledger::http::earnings, ledger::http::request_withdrawal, ledger::http::quote, ledger::http::get_payee, ledger::http::put_payee, ledger::http::list, ledger::http::get_withdrawal,
        ledger::payouts_http::approve, ledger::payouts_http::reject, ledger::payouts_http::pay, ledger::payouts_http::fail, ledger::payouts_http::export, ledger::payouts_http::batches,
        ledger::payouts_http::create_adjustment, ledger::payouts_http::list_adjustments, ledger::payouts_http::approve_adjustment, ledger::payouts_http::reject_adjustment,
        settlement::http::list, settlement::http::close, settlement::http::statements, settlement::http::export, settlement::http::agent_statement, settlement::http::confirm, settlement::http::dispute, settlement::http::disputes, settlement::http::resolve,
        reports::http::sales_split, reports::http::downline_summary, reports::http::compliance, reports::http::dashboard, exits::http::exit,
        recruiting::http::invite, recruiting::http::renew, recruiting::http::revoke, recruiting::http::apply, recruiting::http::list, recruiting::http::approve,
        recruiting::http::reject, recruiting::http::certificate, recruiting::http::check,
        recruiting::upgrades::http::rules, recruiting::upgrades::http::set_rule, recruiting::upgrades::http::delete_rule, recruiting::upgrades::http::list,
        recruiting::upgrades::http::approve, recruiting::upgrades::http::reject, recruiting::upgrades::http::progress, recruiting::upgrades::http::request,
    ),
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

#[get("/api/openapi.json")]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
