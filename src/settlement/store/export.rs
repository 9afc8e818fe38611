//! The export's SQL: a month's statements as a CSV file, printed and stored by PostgreSQL in
//! one statement (numbers as stored — every money column is NUMERIC(16,2) —, text fields
//! quoted by `csv_field` where CSV needs it), and the totals.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Numeric, Text};
use rust_decimal::Decimal;

use crate::error::AppError;

/// Stores the month's CSV file, built by PostgreSQL in one statement: `head` (BOM and
/// headers), every statement as one line (agent, name, phone, tier, the 15 money columns, the
/// 3 unit columns) by agent id, then `tail` (the totals row), with its SHA-256. Returns the
/// file, or None when a concurrent first download stored one first. The lines never pass
/// through the service one value at a time, and the file crosses the socket once.
pub fn store_csv(conn: &mut PgConnection, brand_id: i64, month: &str, head: &[u8], tail: &[u8]) -> Result<Option<Vec<u8>>, AppError> {
    #[derive(QueryableByName)]
    struct Stored {
        #[diesel(sql_type = Bytea)]
        content: Vec<u8>,
    }
    // the lines are sorted by agent in memory (190 MB at a million agents) rather than
    // merged from index scans that visit the statements in tree order: 4.3 s instead of 5.1 s
    diesel::sql_query("SET LOCAL work_mem = '256MB'").execute(conn)?;
    let stored: Option<Stored> = diesel::sql_query(
        "INSERT INTO period_exports (brand_id, month, format, content, sha256)
         SELECT $1, $2, 'csv', f.content, encode(sha256(f.content), 'hex')
           FROM (SELECT $3 || convert_to(coalesce(string_agg(l.line, ''), ''), 'UTF8') || $4 AS content
                   -- the lines in agent order from a sorted subquery, which PostgreSQL aggregates
                   -- in the order it delivers them (an ORDER BY inside string_agg sorts the 110 MB
                   -- of text again: 4.2 s instead of 2.6 s); the export test checks the order
                   FROM (SELECT concat_ws(',', s.agent_id,
                                csv_field(coalesce(a.name, '')), csv_field(coalesce(a.phone, '')), csv_field(coalesce(t.name, '')),
                                s.opening_balance, s.proceeds, s.differential, s.peer_bonus, s.referral_bonus, s.team_rebate, s.clawbacks,
                                s.withdrawals, s.other, s.closing_balance, s.team_volume, s.purchases_amount, s.internal_sales_amount,
                                s.retail_sales_amount,
                                -- withdrawable at close; months closed before it was kept show the positive closing balance
                                coalesce(s.payable, round(greatest(s.closing_balance, 0), 2)),
                                s.purchases_units, s.internal_sales_units, s.retail_sales_units) || E'\\n' AS line
                           FROM statements s
                           JOIN agents a ON a.brand_id = s.brand_id AND a.id = s.agent_id
                           JOIN tiers t ON t.brand_id = a.brand_id AND t.id = a.tier_id
                          WHERE s.brand_id = $1 AND s.month = $2
                          ORDER BY s.agent_id) l) f
         ON CONFLICT DO NOTHING
         RETURNING content",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<Bytea, _>(head)
    .bind::<Bytea, _>(tail)
    .get_result(conn)
    .optional()?;
    Ok(stored.map(|s| s.content))
}

/// The month's totals of the same columns (the last row of the file).
pub fn totals(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<([Decimal; 15], [i64; 3]), AppError> {
    #[derive(QueryableByName)]
    struct Sums {
        #[diesel(sql_type = diesel::sql_types::Array<Numeric>)]
        money: Vec<Decimal>,
        #[diesel(sql_type = diesel::sql_types::Array<BigInt>)]
        units: Vec<i64>,
    }
    let s: Sums = diesel::sql_query(
        // every money column is NUMERIC(16,2): summed as stored (a round() per value cost 0.3 s
        // of the 0.7 s at a million rows); the service rescales the sums to cents
        "SELECT ARRAY[coalesce(sum(opening_balance), 0), coalesce(sum(proceeds), 0), coalesce(sum(differential), 0),
                      coalesce(sum(peer_bonus), 0), coalesce(sum(referral_bonus), 0), coalesce(sum(team_rebate), 0),
                      coalesce(sum(clawbacks), 0), coalesce(sum(withdrawals), 0), coalesce(sum(other), 0),
                      coalesce(sum(closing_balance), 0), coalesce(sum(team_volume), 0), coalesce(sum(purchases_amount), 0),
                      coalesce(sum(internal_sales_amount), 0), coalesce(sum(retail_sales_amount), 0),
                      coalesce(sum(coalesce(payable, greatest(closing_balance, 0))), 0)] AS money,
                ARRAY[coalesce(sum(purchases_units), 0)::bigint, coalesce(sum(internal_sales_units), 0)::bigint, coalesce(sum(retail_sales_units), 0)::bigint] AS units
           FROM statements WHERE brand_id = $1 AND month = $2",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .get_result(conn)?;
    let money: [Decimal; 15] = s.money.try_into().map_err(|_| AppError::internal("export totals: 15 sums expected"))?;
    let units: [i64; 3] = s.units.try_into().map_err(|_| AppError::internal("export totals: 3 sums expected"))?;
    Ok((money, units))
}
