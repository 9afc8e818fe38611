//! Every SQL statement of settlement. The heavy parts are set-based: one query computes
//! every agent's own volume, one INSERT … SELECT writes every statement.

pub mod reviews;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::commission::RebateNode;
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

/// An agent's path in the tree kept with `month`'s statements; None if it was not in it.
pub fn path_at_close(conn: &mut PgConnection, brand_id: i64, month: &str, agent_id: i64) -> Result<Option<Vec<i64>>, AppError> {
    Ok(statements::table.find((brand_id, month, agent_id)).select(statements::path).first::<Option<Vec<i64>>>(conn).optional()?.flatten())
}

/// Whether `month`'s statements keep the tree (months closed before migration 000006 do not).
pub fn kept_tree(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        statements::table.filter(statements::brand_id.eq(brand_id)).filter(statements::month.eq(month)).filter(statements::path.is_not_null()),
    ))
    .get_result(conn)?)
}

/// Sums of the kept statements whose path lies in [lower, upper) (all of them when None):
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

pub fn kept_sums(conn: &mut PgConnection, brand_id: i64, month: &str, range: Option<(&[i64], &[i64])>) -> Result<KeptSums, AppError> {
    let (lower, upper) = range.map_or((None, None), |(l, u)| (Some(l.to_vec()), Some(u.to_vec())));
    Ok(diesel::sql_query(
        "SELECT coalesce(sum(purchases_units), 0)::bigint AS purchases_units, coalesce(sum(purchases_amount), 0) AS purchases_amount,
                coalesce(sum(internal_sales_units), 0)::bigint AS internal_units, coalesce(sum(internal_sales_amount), 0) AS internal_amount,
                coalesce(sum(retail_sales_units), 0)::bigint AS retail_units, coalesce(sum(retail_sales_amount), 0) AS retail_amount
           FROM statements
          WHERE brand_id = $1 AND month = $2 AND path IS NOT NULL
            AND ($3::bigint[] IS NULL OR (path >= $3 AND path < $4))",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<Nullable<Array<BigInt>>, _>(lower)
    .bind::<Nullable<Array<BigInt>>, _>(upper)
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

/// Every (tier, depth) group of the kept statements in [path, upper), the agent itself at depth 0.
pub fn kept_team(conn: &mut PgConnection, brand_id: i64, month: &str, path: &[i64], upper: &[i64]) -> Result<Vec<KeptCount>, AppError> {
    Ok(diesel::sql_query(
        "SELECT tier_id, cardinality(path) - $5 AS depth, count(*) AS n, sum(purchases_units)::bigint AS units, sum(purchases_amount) AS amount
           FROM statements
          WHERE brand_id = $1 AND month = $2 AND path IS NOT NULL AND path >= $3 AND path < $4
          GROUP BY 1, 2",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<Array<BigInt>, _>(path)
    .bind::<Array<BigInt>, _>(upper)
    .bind::<diesel::sql_types::Integer, _>(path.len() as i32)
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
pub fn earliest_activity_between(conn: &mut PgConnection, brand_id: i64, since: Option<DateTime<Utc>>, before: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, AppError> {
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

pub fn insert_period(conn: &mut PgConnection, brand_id: i64, month: &str, start: DateTime<Utc>, end: DateTime<Utc>, by: &str, rebate_entry: Option<i64>) -> Result<(), AppError> {
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

/// Every agent with its parent and status as the tree stands now, and its own purchase
/// volume placed in [start, end), net of refunds recorded so far.
pub fn rebate_tree(conn: &mut PgConnection, brand_id: i64, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<RebateNode>, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Nullable<BigInt>)]
        parent_id: Option<i64>,
        #[diesel(sql_type = Bool)]
        active: bool,
        #[diesel(sql_type = Numeric)]
        volume: Decimal,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "WITH refunded AS (
             SELECT r.order_id, sum(r.amount) AS amount FROM refund_lines r WHERE r.brand_id = $1 GROUP BY r.order_id),
         own AS (
             SELECT o.buyer_id, sum(o.amount - coalesce(f.amount, 0)) AS volume
               FROM orders o LEFT JOIN refunded f ON f.order_id = o.id
              WHERE o.brand_id = $1 AND o.kind = 'purchase' AND o.placed_at >= $2 AND o.placed_at < $3
              GROUP BY o.buyer_id)
         SELECT a.id, a.parent_id, a.status = 'active' AS active, coalesce(own.volume, 0) AS volume
           FROM agents a LEFT JOIN own ON own.buyer_id = a.id
          WHERE a.brand_id = $1",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| RebateNode { agent_id: r.id, parent_id: r.parent_id, active: r.active, own_volume: r.volume }).collect())
}

/// One journal entry for the month's rebates: a credit per agent and HQ's bonus expense,
/// in one INSERT so the entry balances per statement.
pub fn post_rebates(conn: &mut PgConnection, brand_id: i64, month: &str, at: DateTime<Utc>, now: DateTime<Utc>, by: &str, paid: &[(i64, Decimal)]) -> Result<i64, AppError> {
    let (agents, amounts): (Vec<i64>, Vec<Decimal>) = paid.iter().copied().unzip();
    let total: Decimal = amounts.iter().sum();
    let entry = crate::ledger::post(
        conn,
        brand_id,
        &crate::ledger::Entry { kind: "rebate", occurred_at: at, memo: Some(&format!("team rebate {month}")), created_by: by, wallet_cuts: Some(total), ..Default::default() },
        &[],
    )?;
    diesel::sql_query(
        "INSERT INTO postings (brand_id, entry_id, account, agent_id, amount, split_kind, occurred_at, available_at)
         SELECT $1, $2, 'wallet', t.agent_id, t.amount, 'team_rebate', $5, $6 FROM unnest($3::bigint[], $4::numeric[]) AS t(agent_id, amount)
         UNION ALL
         SELECT $1, $2, 'bonus_expense', NULL, -$7, NULL, $5, $6",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(entry)
    .bind::<Array<BigInt>, _>(agents)
    .bind::<Array<Numeric>, _>(amounts)
    .bind::<Timestamptz, _>(at)
    .bind::<Timestamptz, _>(now)
    .bind::<Numeric, _>(total)
    .execute(conn)?;
    Ok(entry)
}

/// Writes every agent's statement in one statement, each keeping the agent's place in the
/// tree (path, tier, status) as it stands at close. The opening balance is the previous
/// closed month's closing balance when there is one (a checkpoint), otherwise the ledger's
/// wallet balance at the month's start.
pub fn write_statements(conn: &mut PgConnection, brand_id: i64, month: &str, start: DateTime<Utc>, end: DateTime<Utc>, previous: Option<&str>, volumes: &[(i64, Decimal)]) -> Result<i64, AppError> {
    let (vol_agents, vol_amounts): (Vec<i64>, Vec<Decimal>) = volumes.iter().copied().unzip();
    // The team volumes go through a temporary table the planner has statistics for: joined
    // as two bound arrays of a million elements, the statement below ran for minutes (a plan
    // that did not see the arrays' length).
    diesel::sql_query("DROP TABLE IF EXISTS pg_temp.close_volumes").execute(conn)?;
    diesel::sql_query("CREATE TEMP TABLE close_volumes (agent_id BIGINT NOT NULL, team_volume NUMERIC NOT NULL) ON COMMIT DROP").execute(conn)?;
    diesel::sql_query("INSERT INTO close_volumes SELECT * FROM unnest($1::bigint[], $2::numeric[])")
        .bind::<Array<BigInt>, _>(&vol_agents)
        .bind::<Array<Numeric>, _>(&vol_amounts)
        .execute(conn)?;
    diesel::sql_query("ANALYZE close_volumes").execute(conn)?;
    let n = diesel::sql_query(
        "WITH prev AS (
             SELECT agent_id, closing_balance FROM statements WHERE brand_id = $1 AND month = $5),
         ledger_open AS (
             SELECT agent_id, sum(amount) AS amount FROM postings
              WHERE $5 IS NULL AND brand_id = $1 AND account = 'wallet' AND occurred_at < $3 GROUP BY agent_id),
         moves AS (
             SELECT p.agent_id,
                    sum(p.amount) FILTER (WHERE e.kind = 'purchase' AND p.split_kind = 'proceeds') AS proceeds,
                    sum(p.amount) FILTER (WHERE e.kind = 'purchase' AND p.split_kind = 'differential') AS differential,
                    sum(p.amount) FILTER (WHERE e.kind = 'purchase' AND p.split_kind = 'peer_bonus') AS peer_bonus,
                    sum(p.amount) FILTER (WHERE e.kind = 'purchase' AND p.split_kind = 'referral_bonus') AS referral_bonus,
                    sum(p.amount) FILTER (WHERE e.kind = 'rebate') AS team_rebate,
                    sum(p.amount) FILTER (WHERE e.kind = 'refund') AS clawbacks,
                    sum(p.amount) FILTER (WHERE e.kind IN ('withdrawal', 'payout_failed')) AS withdrawals,
                    sum(p.amount) FILTER (WHERE e.kind NOT IN ('purchase', 'rebate', 'refund', 'withdrawal', 'payout_failed')) AS other,
                    sum(p.amount) AS total
               FROM postings p JOIN journal_entries e ON e.brand_id = p.brand_id AND e.id = p.entry_id
              WHERE p.brand_id = $1 AND p.account = 'wallet' AND p.occurred_at >= $3 AND p.occurred_at < $4
              GROUP BY p.agent_id),
         sales AS (SELECT kind, buyer_id, seller_id, amount, units FROM order_lines_net WHERE brand_id = $1 AND placed_at >= $3 AND placed_at < $4),
         bought AS (SELECT buyer_id AS agent_id, sum(amount) AS amount, sum(units) AS units FROM sales WHERE kind = 'purchase' GROUP BY 1),
         sold_internal AS (SELECT seller_id AS agent_id, sum(amount) AS amount, sum(units) AS units FROM sales WHERE kind = 'purchase' AND seller_id IS NOT NULL GROUP BY 1),
         sold_retail AS (SELECT seller_id AS agent_id, sum(amount) AS amount, sum(units) AS units FROM sales WHERE kind = 'retail' GROUP BY 1),
         volumes AS (SELECT agent_id, team_volume FROM close_volumes),
         -- payable: what the agent could withdraw at close — the closing balance less credits
         -- still inside the hold at month end, less withdrawals asked for and not yet decided,
         -- less those approved (or returned) after month end (not yet in the closing balance)
         held AS (
             SELECT agent_id, sum(amount) AS amount FROM postings
              WHERE brand_id = $1 AND account = 'wallet' AND occurred_at < $4 AND available_at > $4
                AND occurred_at >= $4 - (SELECT hold_days + 1 FROM brands WHERE id = $1) * interval '1 day'
              GROUP BY agent_id),
         asked AS (SELECT agent_id, sum(amount) AS amount FROM withdrawals WHERE brand_id = $1 AND status = 'requested' GROUP BY agent_id),
         out_since AS (
             SELECT agent_id, sum(amount) AS amount FROM postings
              WHERE brand_id = $1 AND account = 'wallet' AND occurred_at >= $4 AND split_kind IN ('withdrawal', 'withdrawal_fee', 'withholding_tax')
              GROUP BY agent_id),
         opening AS (
             SELECT a.id AS agent_id, a.path, a.tier_id, a.status, coalesce(prev.closing_balance, ledger_open.amount, 0) AS amount
               FROM agents a LEFT JOIN prev ON prev.agent_id = a.id LEFT JOIN ledger_open ON ledger_open.agent_id = a.id
              WHERE a.brand_id = $1)
         INSERT INTO statements (brand_id, month, agent_id, opening_balance, proceeds, differential, peer_bonus, referral_bonus, team_rebate,
                                 clawbacks, withdrawals, other, closing_balance, team_volume, purchases_amount, purchases_units,
                                 internal_sales_amount, internal_sales_units, retail_sales_amount, retail_sales_units, path, tier_id, status, payable)
         SELECT $1, $2, op.agent_id, op.amount,
                coalesce(m.proceeds, 0), coalesce(m.differential, 0), coalesce(m.peer_bonus, 0), coalesce(m.referral_bonus, 0),
                coalesce(m.team_rebate, 0), coalesce(m.clawbacks, 0), coalesce(m.withdrawals, 0), coalesce(m.other, 0),
                op.amount + coalesce(m.total, 0), coalesce(v.team_volume, 0),
                coalesce(b.amount, 0), coalesce(b.units, 0), coalesce(si.amount, 0), coalesce(si.units, 0), coalesce(sr.amount, 0), coalesce(sr.units, 0),
                op.path, op.tier_id, op.status,
                greatest(op.amount + coalesce(m.total, 0) - greatest(coalesce(h.amount, 0), 0) - coalesce(ask.amount, 0) + coalesce(os.amount, 0), 0)
           FROM opening op
           LEFT JOIN held h ON h.agent_id = op.agent_id
           LEFT JOIN asked ask ON ask.agent_id = op.agent_id
           LEFT JOIN out_since os ON os.agent_id = op.agent_id
           LEFT JOIN moves m ON m.agent_id = op.agent_id
           LEFT JOIN volumes v ON v.agent_id = op.agent_id
           LEFT JOIN bought b ON b.agent_id = op.agent_id
           LEFT JOIN sold_internal si ON si.agent_id = op.agent_id
           LEFT JOIN sold_retail sr ON sr.agent_id = op.agent_id",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Nullable<Text>, _>(previous)
    .execute(conn)?;
    Ok(n as i64)
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
