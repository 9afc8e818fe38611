//! The command line, the one configuration surface (flags, or the environment variables
//! named beside them).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "agent-ledger", version, about = "The books of a brand that sells through a pyramid of agents.")]
pub struct Cli {
    /// PostgreSQL to use. Without it, an embedded PostgreSQL is started from the locally
    /// installed server binaries, with its data in --data-dir.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder of the embedded database (ignored with DATABASE_URL).
    #[arg(long, env = "AGENT_LEDGER_DATA_DIR", default_value = ".agent-ledger", global = true)]
    pub data_dir: PathBuf,

    /// A PostgreSQL streaming standby of the database: reports, dashboards and lists read
    /// there; everything else (and any read right after a write) stays on the primary.
    #[arg(long, env = "AGENT_LEDGER_REPLICA_URL", global = true, hide_env_values = true)]
    pub replica_url: Option<String>,

    /// Database connections in the pool.
    #[arg(long, env = "AGENT_LEDGER_POOL_SIZE", default_value_t = 16, global = true)]
    pub pool_size: u32,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (migrates first).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Seed a demo brand (tiers, products, a few hundred agents, three months of history),
    /// print logins, then serve.
    Demo(DemoArgs),
    /// Check the database's invariants; exits non-zero naming every offending row.
    Verify,
    /// Close a month (team rebates, statements) and optionally write its export. A month
    /// that is already closed is only exported.
    Settle {
        /// Brand code.
        #[arg(long)]
        brand: String,
        /// YYYY-MM, in the brand's time zone.
        #[arg(long)]
        month: String,
        /// Write the settlement file here (.csv or .xlsx, by extension).
        #[arg(long)]
        export: Option<std::path::PathBuf>,
    },
    /// Replay closed months under a proposed plan and compare with what was paid; writes
    /// nothing.
    WhatIf {
        /// Brand code.
        #[arg(long)]
        brand: String,
        /// The proposed plan, as JSON in the shape of `PUT /api/v1/plan`.
        #[arg(long)]
        plan: std::path::PathBuf,
        /// Closed months: `2026-08..2026-10` or `2026-08,2026-10`.
        #[arg(long)]
        months: String,
        /// Print the full result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Import order history from a CSV file (有赞, 微店, a spreadsheet): one row per order
    /// line, placed as `POST /orders` places each order, under the key it had in the old
    /// system — a rerun changes nothing. Columns: key, kind, placed_at, agent_phone, supply,
    /// customer_name, customer_phone, sku, qty, unit_price (docs/operations.md).
    Import {
        /// Brand code.
        #[arg(long)]
        brand: String,
        /// The CSV file.
        file: std::path::PathBuf,
        /// Orders per transaction (1 to 1000).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Manage brands.
    Brand {
        #[command(subcommand)]
        command: BrandCommand,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AGENT_LEDGER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "AGENT_LEDGER_WORKERS")]
    pub workers: Option<usize>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Start the demo afresh: drop the embedded database and seed again (refused with
    /// DATABASE_URL: it never drops a database it did not create).
    #[arg(long)]
    pub reset: bool,
}

#[derive(Debug, Subcommand)]
pub enum BrandCommand {
    /// Create a brand and its first HQ admin; prints the brand id.
    Create {
        /// Short unique code agents type at login, e.g. `acme`.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_login: String,
        /// At least 8 characters.
        #[arg(long, env = "AGENT_LEDGER_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
    },
}
