//! Every SQL statement of settlement. The heavy parts are set-based: one query computes
//! every agent's own volume, one INSERT … SELECT writes every statement.

pub mod close;
pub mod export;
pub mod kept;
pub mod reviews;

pub use close::{post_rebates, rebate_tree, write_statements};
pub use kept::*;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::error::AppError;
use crate::schema::{periods, statements};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = periods)]
pub struct ClosedPeriod {
    pub month: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
}

pub fn closed(conn: &mut PgConnection, brand_id: i64) -> Result<Vec<ClosedPeriod>, AppError> {
    Ok(periods::table.filter(periods::brand_id.eq(brand_id)).order(periods::month).select(ClosedPeriod::as_select()).load(conn)?)
}

pub fn last_closed(conn: &mut PgConnection, brand_id: i64) -> Result<Option<ClosedPeriod>, AppError> {
    Ok(periods::table.filter(periods::brand_id.eq(brand_id)).order(periods::month.desc()).select(ClosedPeriod::as_select()).first(conn).optional()?)
}

pub fn require_closed(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<ClosedPeriod, AppError> {
    periods::table
        .find((brand_id, month))
        .select(ClosedPeriod::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::conflict("period_open", format!("{month} is not closed yet; statements and exports exist for closed months")))
}

/// The month's period if it is closed.
pub fn closed_period(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<Option<ClosedPeriod>, AppError> {
    Ok(periods::table.find((brand_id, month)).select(ClosedPeriod::as_select()).first(conn).optional()?)
}

#[derive(QueryableByName)]
struct At {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    at: Option<DateTime<Utc>>,
}

/// When the brand's first order or journal entry is dated.
pub fn first_activity(conn: &mut PgConnection, brand_id: i64) -> Result<Option<DateTime<Utc>>, AppError> {
    let row: At = diesel::sql_query(
        "SELECT least((SELECT min(placed_at) FROM orders WHERE brand_id = $1), (SELECT min(occurred_at) FROM journal_entries WHERE brand_id = $1)) AS at",
    )
    .bind::<BigInt, _>(brand_id)
    .get_result(conn)?;
    Ok(row.at)
}

/// The earliest order or journal entry dated in [since, before): activity in months that
/// would be left open behind the one being closed.
pub fn earliest_activity_between(
    conn: &mut PgConnection,
    brand_id: i64,
    since: Option<DateTime<Utc>>,
    before: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let row: At = diesel::sql_query(
        "SELECT least((SELECT min(placed_at) FROM orders WHERE brand_id = $1 AND ($2::timestamptz IS NULL OR placed_at >= $2) AND placed_at < $3),
                      (SELECT min(occurred_at) FROM journal_entries WHERE brand_id = $1 AND ($2::timestamptz IS NULL OR occurred_at >= $2) AND occurred_at < $3)) AS at",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Nullable<Timestamptz>, _>(since)
    .bind::<Timestamptz, _>(before)
    .get_result(conn)?;
    Ok(row.at)
}

pub fn insert_period(
    conn: &mut PgConnection,
    brand_id: i64,
    month: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    by: &str,
    rebate_entry: Option<i64>,
) -> Result<(), AppError> {
    diesel::insert_into(periods::table)
        .values((
            periods::brand_id.eq(brand_id),
            periods::month.eq(month),
            periods::starts_at.eq(start),
            periods::ends_at.eq(end),
            periods::closed_by.eq(by),
            periods::rebate_entry_id.eq(rebate_entry),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = statements)]
pub struct Statement {
    pub month: String,
    pub agent_id: i64,
    #[schema(value_type = String)]
    pub opening_balance: Decimal,
    /// Internal-sale proceeds (as seller in upline supply).
    #[schema(value_type = String)]
    pub proceeds: Decimal,
    #[schema(value_type = String)]
    pub differential: Decimal,
    #[schema(value_type = String)]
    pub peer_bonus: Decimal,
    #[schema(value_type = String)]
    pub referral_bonus: Decimal,
    #[schema(value_type = String)]
    pub team_rebate: Decimal,
    /// Reversals of refunded orders posted in the month (negative).
    #[schema(value_type = String)]
    pub clawbacks: Decimal,
    /// Approved withdrawals, their fees and tax withheld, less failed ones returned (negative).
    #[schema(value_type = String)]
    pub withdrawals: Decimal,
    /// Anything else posted to the wallet (e.g. buybacks).
    #[schema(value_type = String)]
    pub other: Decimal,
    #[schema(value_type = String)]
    pub closing_balance: Decimal,
    #[schema(value_type = String)]
    pub team_volume: Decimal,
    #[schema(value_type = String)]
    pub purchases_amount: Decimal,
    pub purchases_units: i64,
    #[schema(value_type = String)]
    pub internal_sales_amount: Decimal,
    pub internal_sales_units: i64,
    #[schema(value_type = String)]
    pub retail_sales_amount: Decimal,
    pub retail_sales_units: i64,
    /// What could be withdrawn at close: the closing balance less credits still held at month
    /// end and withdrawals asked for or approved since (null for months closed before it was kept).
    #[schema(value_type = Option<String>)]
    pub payable: Option<Decimal>,
}

pub fn statements(conn: &mut PgConnection, brand_id: i64, month: &str, after: i64, limit: i64) -> Result<Vec<Statement>, AppError> {
    Ok(statements::table
        .filter(statements::brand_id.eq(brand_id))
        .filter(statements::month.eq(month))
        .filter(statements::agent_id.gt(after))
        .order(statements::agent_id)
        .limit(limit)
        .select(Statement::as_select())
        .load(conn)?)
}

pub fn statement(conn: &mut PgConnection, brand_id: i64, month: &str, agent_id: i64) -> Result<Option<Statement>, AppError> {
    Ok(statements::table.find((brand_id, month, agent_id)).select(Statement::as_select()).first(conn).optional()?)
}

/// VACUUM (ANALYZE) of the statements table, outside any transaction: it visits only pages
/// not yet all-visible, i.e. those of the months closed since the last one.
pub fn vacuum_statements(conn: &mut PgConnection) -> Result<(), AppError> {
    diesel::sql_query("VACUUM (ANALYZE) statements").execute(conn)?;
    Ok(())
}
