//! Spawns the real application against a real PostgreSQL: the embedded cluster in
//! target/tmp, a migrated template database built once per migration set, and a fresh
//! database cloned from it for every test.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use agent_ledger::db::embedded::{Durability, EmbeddedPostgres};
use agent_ledger::{brands, db, startup, AppState};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Cluster {
    /// libpq connection string with `{db}` for the database name.
    url_pattern: String,
    template: String,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static COUNTER: AtomicU32 = AtomicU32::new(0);

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let mut pg = EmbeddedPostgres::new(concat!(env!("CARGO_TARGET_TMPDIR"), "/pg").as_ref()).expect("embedded PostgreSQL");
        pg.ensure_running(Durability::Ephemeral).expect("start embedded PostgreSQL");
        let url_pattern = pg.url("{db}");
        let template = format!("tpl_{}", migrations_fingerprint());
        let mut admin = PgConnection::establish(&pg.url("postgres")).expect("connect to postgres");
        diesel::sql_query("SELECT pg_advisory_lock(4242)").execute(&mut admin).unwrap();
        drop_stale_test_databases(&mut admin);
        if !database_exists(&mut admin, &template) {
            let building = format!("{template}_building");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}")).execute(&mut admin).unwrap();
            diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut admin).unwrap();
            {
                let mut conn = PgConnection::establish(&pg.url(&building)).unwrap();
                db::migrate(&mut conn).expect("migrations apply");
            }
            diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}")).execute(&mut admin).unwrap();
        }
        diesel::sql_query("SELECT pg_advisory_unlock(4242)").execute(&mut admin).unwrap();
        Cluster { url_pattern, template }
    })
}

fn migrations_fingerprint() -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let mut files: Vec<_> = walk(dir.as_ref());
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap());
    }
    hex::encode(&h.finalize()[..6])
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir).unwrap().flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect()
}

fn database_exists(conn: &mut PgConnection, name: &str) -> bool {
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = Bool)]
        exists: bool,
    }
    let row: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists").bind::<Text, _>(name).get_result(conn).unwrap();
    row.exists
}

/// Test databases are named t_<pid>_<n>; those of processes that are gone are dropped.
fn drop_stale_test_databases(conn: &mut PgConnection) {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        datname: String,
    }
    let names: Vec<Name> = diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 't\\_%'").load(conn).unwrap();
    for Name { datname } in names {
        let pid = datname.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists()) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)")).execute(conn);
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub pool: db::Pool,
    pub client: reqwest::Client,
    /// The test database's libpq URL (for a server run as its own process).
    pub url: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app with some of its state (policies, limits) changed.
pub async fn spawn_app_with(configure: impl FnOnce(&mut AppState)) -> TestApp {
    let cluster = cluster();
    let name = format!("t_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst));
    let mut admin = PgConnection::establish(&cluster.url_pattern.replace("{db}", "postgres")).unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {}", cluster.template)).execute(&mut admin).expect("clone template");
    let url = cluster.url_pattern.replace("{db}", &name);
    let pool = db::pool(&url, 12).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let mut state = AppState::new(pool.clone());
    configure(&mut state);
    let server = startup::run(listener, state, 2).unwrap();
    tokio::spawn(server);
    TestApp { address, pool, client: reqwest::Client::new(), url }
}

/// A brand with HQ logged in: `brand_code`, HQ token, and the ids of its five tiers.
pub struct Brand {
    pub code: String,
    pub hq: String,
    pub tiers: Vec<i64>,
}

pub const PASSWORD: &str = "secret-pass-1";

impl TestApp {
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        self.call_with(method, path, token, body, None).await
    }

    pub async fn call_with(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>, idempotency_key: Option<&str>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.address));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let content_type = resp.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let text = resp.text().await.unwrap();
        assert!(status != StatusCode::INTERNAL_SERVER_ERROR, "500 from {path}: {text}");
        if !status.is_success() {
            assert_eq!(content_type, "application/problem+json", "errors are problem+json: {path} {status} {text}");
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn login(&self, brand: &str, login: &str, password: &str) -> (StatusCode, Value) {
        self.call(Method::POST, "/api/v1/auth/login", None, Some(json!({"brand": brand, "login": login, "password": password}))).await
    }

    /// Creates a brand the way `agent-ledger brand create` does, with the spec's five
    /// tiers and MASK-01 priced as in domain §10, and logs HQ in.
    pub async fn brand(&self, code: &str) -> Brand {
        let pool = self.pool.clone();
        let owned = code.to_owned();
        tokio::task::spawn_blocking(move || brands::create_brand(&mut pool.get().unwrap(), &owned, "Test brand", "hq", PASSWORD).unwrap()).await.unwrap();
        let (status, body) = self.login(code, "hq", PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let hq = body["token"].as_str().unwrap().to_owned();
        let mut tiers = Vec::new();
        for (rank, name) in ["联创", "总代", "省代", "市代", "特约"].iter().enumerate() {
            let (status, tier) = self.post("/api/v1/tiers", &hq, json!({"rank": rank + 1, "name": name})).await;
            assert_eq!(status, StatusCode::CREATED, "{tier}");
            tiers.push(tier["id"].as_i64().unwrap());
        }
        let prices: serde_json::Map<String, Value> =
            tiers.iter().zip(["59.70", "79.60", "99.50", "119.40", "139.30"]).map(|(t, p)| (t.to_string(), json!(p))).collect();
        let (status, product) = self.post("/api/v1/products", &hq, json!({"sku": "MASK-01", "name": "Mask", "retail_price": "199.00", "prices": prices})).await;
        assert_eq!(status, StatusCode::CREATED, "{product}");
        Brand { code: code.to_owned(), hq, tiers }
    }

    /// Creates an agent as `token` and returns its id.
    pub async fn agent(&self, token: &str, name: &str, phone: &str, tier_id: i64, parent_id: Option<i64>) -> i64 {
        let (status, body) =
            self.post("/api/v1/agents", token, json!({"name": name, "phone": phone, "tier_id": tier_id, "parent_id": parent_id, "password": PASSWORD})).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// Creates an agent as HQ with a backdated `joined_at`, for orders dated in the past.
    pub async fn agent_joined(
        &self,
        token: &str,
        name: &str,
        phone: &str,
        tier_id: i64,
        parent_id: Option<i64>,
        joined_at: chrono::DateTime<chrono::Utc>,
    ) -> i64 {
        let body = json!({"name": name, "phone": phone, "tier_id": tier_id, "parent_id": parent_id, "password": PASSWORD, "joined_at": joined_at.to_rfc3339()});
        let (status, body) = self.post("/api/v1/agents", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_i64().unwrap()
    }

    pub async fn agent_token(&self, brand: &Brand, phone: &str) -> String {
        let (status, body) = self.login(&brand.code, phone, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// The agent (logged in with `token`) sets a bank card to be paid to.
    pub async fn set_payee(&self, token: &str, agent_id: i64) {
        let body = serde_json::json!({"method": "bank", "name": "收款人", "account": format!("62220210{:011}", agent_id), "bank": "ICBC"});
        let (status, payee) = self.call(reqwest::Method::PUT, &format!("/api/v1/agents/{agent_id}/payee"), Some(token), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{payee}");
    }

    /// Every id of a paginated list, following `next_cursor` to the end.
    pub async fn collect_ids(&self, path: &str, token: &str) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}cursor={c}"),
                None => path.to_owned(),
            };
            let (status, page) = self.get(&url, token).await;
            assert_eq!(status, StatusCode::OK, "{page}");
            out.extend(
                page["items"].as_array().unwrap().iter().map(|a| (a["id"].as_i64().or(a["agent_id"].as_i64()).unwrap(), a["depth"].as_i64().unwrap_or(0))),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }

    /// `agent-ledger verify` over this test's database must pass.
    pub async fn assert_verified(&self) {
        let pool = self.pool.clone();
        let failures = tokio::task::spawn_blocking(move || agent_ledger::verify::run(&mut pool.get().unwrap()).unwrap()).await.unwrap();
        assert!(failures.is_empty(), "verify failed: {failures:?}");
    }
}
