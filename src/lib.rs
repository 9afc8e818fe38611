//! agent-ledger: the books of a brand that sells through a pyramid of agents.
//!
//! Capabilities live in their own folders (`tree`, `catalog`, `brands`, `auth`; the pure
//! `commission` engine); `startup` wires them into one actix-web app.

pub mod amount;
pub mod audit;
pub mod auth;
pub mod brands;
pub mod catalog;
pub mod cli;
pub mod commission;
pub mod customers;
pub mod db;
pub mod demo;
pub mod error;
pub mod exits;
pub mod growth;
pub mod idempotency;
pub mod input;
pub mod inventory;
pub mod ledger;
pub mod openapi;
pub mod orders;
pub mod pagination;
pub mod period;
pub mod plans;
pub mod recruiting;
pub mod reports;
pub mod schema;
pub mod settlement;
pub mod startup;
pub mod tree;
pub mod verify;
pub mod web;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub pool: db::Pool,
    /// A streaming standby for reports and lists (`--replica-url`); none: the primary.
    pub replica: Option<db::Pool>,
    /// When big teams' downline summaries are served from snapshots.
    pub summaries: reports::team::SnapshotPolicy,
    /// Login attempts per client address.
    pub login_limit: auth::limit::LoginLimiter,
    /// Public requests (applications, certificate checks) per client address.
    pub public_limit: auth::limit::LoginLimiter,
    /// `POST /orders`: concurrent orders placed in shared transactions (group commit).
    pub orders: std::sync::Arc<orders::group::GroupCommit>,
}

impl AppState {
    /// Where reports and lists read: the standby when there is one. Never for a read that
    /// must see the caller's own write (an agent's wallet, a page after its form).
    pub fn reads(&self) -> &db::Pool {
        self.replica.as_ref().unwrap_or(&self.pool)
    }

    pub fn new(pool: db::Pool) -> Self {
        AppState {
            orders: std::sync::Arc::new(orders::group::GroupCommit::new(pool.clone())),
            pool,
            replica: None,
            summaries: reports::team::SnapshotPolicy::default(),
            login_limit: auth::limit::LoginLimiter::default(),
            public_limit: auth::limit::LoginLimiter::per_minute(20),
        }
    }
}
