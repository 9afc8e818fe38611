//! Connection pool, migrations and the one way handlers reach the database: a whole
//! transaction inside one `web::block` closure (diesel is synchronous).

pub mod embedded;
mod prepared;
pub use prepared::{next_ids, prepared, Bound, Prepared};

use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool as R2d2Pool};
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

pub type Pool = R2d2Pool<ConnectionManager<PgConnection>>;
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

pub fn pool(url: &str, size: u32) -> Result<Pool, AppError> {
    R2d2Pool::builder()
        .max_size(size)
        .connection_timeout(std::time::Duration::from_secs(10))
        .build(ConnectionManager::new(url))
        .map_err(|e| AppError::internal(format!("cannot connect to the database: {e}")))
}

pub fn migrate(conn: &mut PgConnection) -> Result<usize, AppError> {
    let applied = conn.run_pending_migrations(MIGRATIONS).map_err(|e| AppError::internal(format!("migration failed: {e}")))?;
    Ok(applied.len())
}

/// A connection, waiting in line while the pool is busy (up to 10 s) but not while the
/// database is down: with no live connection left after a second, the request fails with 503
/// (and Retry-After) instead of hanging.
pub fn checkout(pool: &Pool) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<PgConnection>>, AppError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match pool.get_timeout(std::time::Duration::from_secs(1)) {
            Ok(conn) => return Ok(conn),
            // busy, not down: every live connection is in use; keep waiting our turn
            Err(_) if pool.state().connections > 0 && std::time::Instant::now() < deadline => continue,
            Err(e) => return Err(AppError::unavailable(format!("no database connection: {e}"))),
        }
    }
}

/// Runs `f` on a pooled connection without a transaction: for single-statement reads on
/// the hot path (token lookups), where BEGIN/COMMIT would double the round trips.
pub async fn read<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = checkout(&pool)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
}

/// Runs `f` in one database transaction on a pooled connection, off the async executor.
pub async fn transaction<T, F>(pool: &Pool, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
{
    read(pool, move |conn| conn.transaction(f)).await
}

/// Runs a write in a transaction that is always rolled back and returns what it would have
/// returned: the exact answer to "what will this post?" from the very code that posts it.
pub fn dry_run<T>(conn: &mut PgConnection, f: impl FnOnce(&mut PgConnection) -> Result<T, AppError>) -> Result<T, AppError> {
    let mut outcome = None;
    let rolled_back = conn.transaction::<(), AppError, _>(|conn| {
        outcome = Some(f(conn)?);
        Err(AppError::internal("dry run: rolled back"))
    });
    match (outcome, rolled_back) {
        (Some(result), _) => Ok(result),
        (None, Err(e)) => Err(e),
        (None, Ok(())) => Err(AppError::internal("dry run neither finished nor failed")),
    }
}
