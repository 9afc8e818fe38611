//! What a closed month keeps: the tree at close (each statement's path, tier, status and its
//! place in the tree's depth-first order), read as ranges of places, and the reports frozen
//! at close.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Numeric, Text};
use rust_decimal::Decimal;

use crate::error::AppError;
use crate::schema::statements;

/// An agent's place in the tree kept with a month's statements: its path then, and its team
/// as the range of places `[pos, end]`.
#[derive(Debug, Clone, Queryable)]
pub struct KeptPlace {
    pub path: Vec<i64>,
    pub pos: i64,
    pub end: i64,
}

/// Where the agent stood in the tree kept with `month`'s statements; None if it was not in it.
pub fn place_at_close(conn: &mut PgConnection, brand_id: i64, month: &str, agent_id: i64) -> Result<Option<KeptPlace>, AppError> {
    let row: Option<(Option<Vec<i64>>, Option<i64>, Option<i64>)> =
        statements::table.find((brand_id, month, agent_id)).select((statements::path, statements::tree_pos, statements::team_end)).first(conn).optional()?;
    Ok(match row {
        Some((Some(path), Some(pos), Some(end))) => Some(KeptPlace { path, pos, end }),
        _ => None,
    })
}

/// Whether `month`'s statements keep the tree (months closed before migration 000006 do not).
pub fn kept_tree(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        statements::table.filter(statements::brand_id.eq(brand_id)).filter(statements::month.eq(month)).filter(statements::tree_pos.is_not_null()),
    ))
    .get_result(conn)?)
}

/// Sums of the kept statements whose place lies in [first, last] (all of them when None):
/// a closed month's purchases, internal and retail sales of an agent, a team or the brand.
#[derive(Debug, Default, QueryableByName)]
pub struct KeptSums {
    #[diesel(sql_type = BigInt)]
    pub purchases_units: i64,
    #[diesel(sql_type = Numeric)]
    pub purchases_amount: Decimal,
    #[diesel(sql_type = BigInt)]
    pub internal_units: i64,
    #[diesel(sql_type = Numeric)]
    pub internal_amount: Decimal,
    #[diesel(sql_type = BigInt)]
    pub retail_units: i64,
    #[diesel(sql_type = Numeric)]
    pub retail_amount: Decimal,
}

pub fn kept_sums(conn: &mut PgConnection, brand_id: i64, month: &str, range: Option<(i64, i64)>) -> Result<KeptSums, AppError> {
    Ok(diesel::sql_query(
        "SELECT coalesce(sum(purchases_units), 0)::bigint AS purchases_units, coalesce(sum(purchases_amount), 0) AS purchases_amount,
                coalesce(sum(internal_sales_units), 0)::bigint AS internal_units, coalesce(sum(internal_sales_amount), 0) AS internal_amount,
                coalesce(sum(retail_sales_units), 0)::bigint AS retail_units, coalesce(sum(retail_sales_amount), 0) AS retail_amount
           FROM statements
          WHERE brand_id = $1 AND month = $2 AND tree_pos IS NOT NULL
            AND ($3::bigint IS NULL OR tree_pos BETWEEN $3 AND $4)",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<Nullable<BigInt>, _>(range.map(|r| r.0))
    .bind::<Nullable<BigInt>, _>(range.map(|r| r.1))
    .get_result(conn)?)
}

/// A kept team by (tier, depth below `path`), and its purchases: one index-only range.
#[derive(Debug, QueryableByName)]
pub struct KeptCount {
    #[diesel(sql_type = BigInt)]
    pub tier_id: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub depth: i32,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    #[diesel(sql_type = BigInt)]
    pub units: i64,
    #[diesel(sql_type = Numeric)]
    pub amount: Decimal,
}

/// Every (tier, depth) group of the agent's kept team, the agent itself at depth 0.
pub fn kept_team(conn: &mut PgConnection, brand_id: i64, month: &str, place: &KeptPlace) -> Result<Vec<KeptCount>, AppError> {
    Ok(diesel::sql_query(
        "SELECT tier_id, cardinality(path) - $5 AS depth, count(*) AS n, sum(purchases_units)::bigint AS units, sum(purchases_amount) AS amount
           FROM statements
          WHERE brand_id = $1 AND month = $2 AND tree_pos IS NOT NULL AND tree_pos BETWEEN $3 AND $4
          GROUP BY 1, 2",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<BigInt, _>(place.pos)
    .bind::<BigInt, _>(place.end)
    .bind::<diesel::sql_types::Integer, _>(place.path.len() as i32)
    .load(conn)?)
}

/// Stores a report of a closed month as served; kept forever.
pub fn keep_report(conn: &mut PgConnection, brand_id: i64, month: &str, kind: &str, body: &serde_json::Value) -> Result<(), AppError> {
    use crate::schema::period_reports;
    diesel::insert_into(period_reports::table)
        .values((period_reports::brand_id.eq(brand_id), period_reports::month.eq(month), period_reports::kind.eq(kind), period_reports::body.eq(body)))
        .execute(conn)?;
    Ok(())
}

/// Keeps a report unless one of its kind is kept already (concurrent keepers: one wins).
pub fn keep_report_once(conn: &mut PgConnection, brand_id: i64, month: &str, kind: &str, body: &serde_json::Value) -> Result<(), AppError> {
    use crate::schema::period_reports;
    diesel::insert_into(period_reports::table)
        .values((period_reports::brand_id.eq(brand_id), period_reports::month.eq(month), period_reports::kind.eq(kind), period_reports::body.eq(body)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(())
}

pub fn kept_report(conn: &mut PgConnection, brand_id: i64, month: &str, kind: &str) -> Result<Option<serde_json::Value>, AppError> {
    use crate::schema::period_reports;
    Ok(period_reports::table.find((brand_id, month, kind)).select(period_reports::body).first(conn).optional()?)
}
