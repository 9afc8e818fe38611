use std::net::TcpListener;
use std::process::ExitCode;

use agent_ledger::cli::{BrandCommand, Cli, Command, ServeArgs};
use agent_ledger::db::embedded::{Durability, EmbeddedPostgres};
use agent_ledger::{brands, db, demo, startup, verify, AppState};
use clap::Parser;
use diesel::{Connection, PgConnection, RunQueryDsl};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The database to use: DATABASE_URL, or the embedded one (started if needed).
struct Database {
    url: String,
    embedded: Option<std::sync::Arc<std::sync::Mutex<EmbeddedPostgres>>>,
    stopping: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Database {
    fn open(cli: &Cli) -> Result<Self, Box<dyn std::error::Error>> {
        let reset = matches!(&cli.command, Command::Demo(args) if args.reset);
        if let Some(url) = &cli.database_url {
            if reset {
                return Err("demo --reset only resets the embedded database; with DATABASE_URL, drop and recreate the database yourself".into());
            }
            return Ok(Database { url: url.clone(), embedded: None, stopping: Default::default() });
        }
        let mut pg = EmbeddedPostgres::new(&cli.data_dir)?;
        pg.ensure_running(Durability::Full)?;
        eprintln!(
            "embedded PostgreSQL ({}): data in {}, socket in {}, log {}",
            pg.bin_dir().display(),
            pg.data_dir().display(),
            pg.socket_dir().display(),
            pg.log_file().display()
        );
        let mut admin = PgConnection::establish(&pg.url("postgres"))?;
        if reset {
            diesel::sql_query("DROP DATABASE IF EXISTS agent_ledger WITH (FORCE)").execute(&mut admin)?;
            eprintln!("demo --reset: the embedded database was dropped; seeding afresh");
        }
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>("EXISTS (SELECT 1 FROM pg_database WHERE datname = 'agent_ledger')"))
            .get_result(&mut admin)?;
        if !exists {
            diesel::sql_query("CREATE DATABASE agent_ledger").execute(&mut admin)?;
        }
        Ok(Database { url: pg.url("agent_ledger"), embedded: Some(std::sync::Arc::new(std::sync::Mutex::new(pg))), stopping: Default::default() })
    }

    fn migrated_pool(&self, size: u32) -> Result<db::Pool, Box<dyn std::error::Error>> {
        let pool = db::pool(&self.url, size)?;
        let applied = db::migrate(&mut *pool.get()?)?;
        if applied > 0 {
            log::info!("applied {applied} migration(s)");
        }
        Ok(pool)
    }
}

impl Database {
    /// In embedded mode, a watchdog: when the PostgreSQL this process runs dies (a crash, a
    /// kill), it is started again — PostgreSQL recovers from its write-ahead log — and the
    /// log says so. Requests meanwhile get 503 with Retry-After; the pool reconnects alone.
    fn watch(&self) {
        use std::sync::atomic::Ordering;
        let Some(pg) = self.embedded.clone() else { return };
        let stopping = self.stopping.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_secs(2));
            let Ok(mut pg) = pg.lock() else { return };
            if stopping.load(Ordering::SeqCst) {
                return;
            }
            if !pg.is_running() {
                log::warn!("embedded PostgreSQL is not running; restarting it (it recovers from its write-ahead log)");
                match pg.ensure_running(Durability::Full) {
                    Ok(()) => log::warn!("embedded PostgreSQL restarted; the service reconnects by itself"),
                    Err(e) => log::error!("embedded PostgreSQL did not restart: {e}; trying again shortly"),
                }
            }
        });
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(pg) = &self.embedded {
            if let Ok(mut pg) = pg.lock() {
                pg.stop();
            }
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let database = Database::open(&cli)?;
    let pool = database.migrated_pool(cli.pool_size)?;
    match &cli.command {
        Command::Migrate => println!("database is up to date"),
        Command::Serve(args) => {
            database.watch();
            serve(pool, replica(&cli)?, args)?
        }
        Command::Demo(demo_args) => {
            let args = &demo_args.serve;
            let logins = demo::seed(&mut *pool.get()?)?;
            let base = format!("http://{}", args.bind);
            println!("\nDemo brand `{}` with {} agents.", demo::BRAND, logins.total_agents);
            println!("  HQ:     brand={} login={} password={} (owner)", demo::BRAND, demo::ADMIN_LOGIN, demo::ADMIN_PASSWORD);
            for (login, _, role) in demo::STAFF {
                println!("          brand={} login={login} password={} ({})", demo::BRAND, demo::ADMIN_PASSWORD, role.as_str());
            }
            for (tier, name, phone) in &logins.agents {
                println!("  {tier} {name}: brand={} login={phone} password={}", demo::BRAND, demo::AGENT_PASSWORD);
            }
            println!(
                "Try:\n  curl -s {base}/api/v1/auth/login -H 'content-type: application/json' -d '{{\"brand\":\"{}\",\"login\":\"{}\",\"password\":\"{}\"}}'",
                demo::BRAND,
                demo::ADMIN_LOGIN,
                demo::ADMIN_PASSWORD
            );
            println!("  API description: {base}/api/openapi.json — Ctrl-C stops the service and its database.\n");
            database.watch();
            serve(pool, replica(&cli)?, args)?;
        }
        Command::Verify => {
            let failures = verify::run(&mut *pool.get()?)?;
            for (check, rows) in &failures {
                println!("FAIL {check}");
                for row in rows {
                    println!("  {row}");
                }
            }
            if !failures.is_empty() {
                return Ok(ExitCode::FAILURE);
            }
            println!("ok: {} checks passed", verify::CHECKS.len());
        }
        Command::Settle { brand, month, export } => {
            let report = agent_ledger::settlement::cli::settle(&mut *pool.get()?, brand, month, export.as_deref())?;
            print!("{report}");
        }
        Command::Import { brand, file, batch } => {
            let (report, clean) = agent_ledger::orders::import::run(&mut *pool.get()?, brand, file, *batch)?;
            print!("{report}");
            if !clean {
                return Ok(ExitCode::from(2));
            }
        }
        Command::WhatIf { brand, plan, months, json } => {
            print!("{}", agent_ledger::plans::cli::run(&mut *pool.get()?, brand, plan, months, *json)?);
        }
        Command::Brand { command: BrandCommand::Create { code, name, admin_login, admin_password } } => {
            let id = brands::create_brand(&mut *pool.get()?, code, name, admin_login, admin_password)?;
            println!("{id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The standby's pool, when `--replica-url` names one (not migrated: it follows the primary).
fn replica(cli: &Cli) -> Result<Option<db::Pool>, Box<dyn std::error::Error>> {
    Ok(cli.replica_url.as_deref().map(|url| db::pool(url, cli.pool_size)).transpose()?)
}

fn serve(pool: db::Pool, replica: Option<db::Pool>, args: &ServeArgs) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(&args.bind).map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    log::info!("listening on http://{}", listener.local_addr()?);
    let mut state = AppState::new(pool);
    if replica.is_some() {
        log::info!("reports, dashboards and lists read from the replica");
    }
    state.replica = replica;
    actix_web::rt::System::new().block_on(async move { startup::run(listener, state, workers)?.await })?;
    Ok(())
}
