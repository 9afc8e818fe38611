//! The close's heavy SQL: the tree with each agent's own volume (from the monthly totals kept
//! as orders are written), the month's rebates in one entry, and every statement in one
//! INSERT … SELECT. Measured and shaped in docs/performance.md ("Month close").

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Numeric, Text, Timestamptz};
use rust_decimal::Decimal;

use crate::commission::RebateNode;
use crate::error::AppError;

/// Every agent with its parent and status as the tree stands now, and its own purchases of
/// `month` net of the refunds recorded so far — the monthly totals the order path keeps
/// (`agent_month_purchases`, by the order's month), not a pass over the month's orders.
pub fn rebate_tree(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<Vec<RebateNode>, AppError> {
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
        "SELECT a.id, a.parent_id, a.status = 'active' AS active, coalesce(m.amount, 0) AS volume
           FROM agents a LEFT JOIN agent_month_purchases m ON m.brand_id = a.brand_id AND m.month = $2 AND m.agent_id = a.id
          WHERE a.brand_id = $1",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| RebateNode { agent_id: r.id, parent_id: r.parent_id, active: r.active, own_volume: r.volume }).collect())
}

/// One journal entry for the month's rebates: a credit per agent and HQ's bonus expense,
/// in one INSERT so the entry balances per statement.
pub fn post_rebates(
    conn: &mut PgConnection,
    brand_id: i64,
    month: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    by: &str,
    paid: &[(i64, Decimal)],
) -> Result<i64, AppError> {
    let (agents, amounts): (Vec<i64>, Vec<Decimal>) = paid.iter().copied().unzip();
    let total: Decimal = amounts.iter().sum();
    let entry = crate::ledger::post(
        conn,
        brand_id,
        &crate::ledger::Entry {
            kind: "rebate",
            occurred_at: at,
            memo: Some(&format!("team rebate {month}")),
            created_by: by,
            wallet_cuts: Some(total),
            ..Default::default()
        },
        &[],
    )?;
    diesel::sql_query(
        "INSERT INTO postings (brand_id, entry_id, account, agent_id, amount, split_kind, occurred_at, available_at, entry_kind)
         SELECT $1, $2, 'wallet', t.agent_id, t.amount, 'team_rebate', $5, $6, 'rebate' FROM unnest($3::bigint[], $4::numeric[]) AS t(agent_id, amount)
         UNION ALL
         SELECT $1, $2, 'bonus_expense', NULL, -$7, NULL, $5, $6, 'rebate'",
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

/// One agent of the tree at close: its team volume and its place (`tree::places`).
pub struct AtClose {
    pub agent_id: i64,
    pub team_volume: Decimal,
    pub pos: i64,
    pub end: i64,
}

/// Writes the statement of every agent in `tree`, in one statement, each keeping the agent's
/// place in the tree (path, tier, status, depth-first place) as it stands at close. The
/// opening balance is the previous closed month's closing balance when there is one (a
/// checkpoint), otherwise the ledger's wallet balance at the month's start.
///
/// Shaped for a million agents: the month's wallet moves are one scan of postings (each
/// carries its entry's kind), purchases come from the monthly totals, sales are one pass
/// over the month's internal and retail orders, and the tree arrives as a temporary table
/// the planner has statistics for (as two bound arrays of a million elements it chose a plan
/// that ran for minutes). Rows go in in tree order: the tree index then grows at its right
/// edge instead of taking a million inserts at random places (19.3 → 15.7 s at a million).
pub fn write_statements(
    conn: &mut PgConnection,
    brand_id: i64,
    month: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    previous: Option<&str>,
    tree: &[AtClose],
) -> Result<i64, AppError> {
    // the hash aggregates below hold one entry per agent: in memory, not spilled in batches
    diesel::sql_query("SET LOCAL work_mem = '256MB'").execute(conn)?;
    diesel::sql_query("DROP TABLE IF EXISTS pg_temp.close_tree").execute(conn)?;
    diesel::sql_query("CREATE TEMP TABLE close_tree (agent_id BIGINT NOT NULL, team_volume NUMERIC NOT NULL, tree_pos BIGINT NOT NULL, team_end BIGINT NOT NULL) ON COMMIT DROP")
        .execute(conn)?;
    diesel::sql_query("INSERT INTO close_tree SELECT * FROM unnest($1::bigint[], $2::numeric[], $3::bigint[], $4::bigint[])")
        .bind::<Array<BigInt>, _>(tree.iter().map(|t| t.agent_id).collect::<Vec<_>>())
        .bind::<Array<Numeric>, _>(tree.iter().map(|t| t.team_volume).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(tree.iter().map(|t| t.pos).collect::<Vec<_>>())
        .bind::<Array<BigInt>, _>(tree.iter().map(|t| t.end).collect::<Vec<_>>())
        .execute(conn)?;
    diesel::sql_query("ANALYZE close_tree").execute(conn)?;
    let n = diesel::sql_query(
        "WITH prev AS (
             SELECT agent_id, closing_balance FROM statements WHERE brand_id = $1 AND month = $5),
         ledger_open AS (
             SELECT agent_id, sum(amount) AS amount FROM postings
              WHERE $5 IS NULL AND brand_id = $1 AND account = 'wallet' AND occurred_at < $3 GROUP BY agent_id),
         moves AS (
             SELECT agent_id,
                    sum(amount) FILTER (WHERE entry_kind = 'purchase' AND split_kind = 'proceeds') AS proceeds,
                    sum(amount) FILTER (WHERE entry_kind = 'purchase' AND split_kind = 'differential') AS differential,
                    sum(amount) FILTER (WHERE entry_kind = 'purchase' AND split_kind = 'peer_bonus') AS peer_bonus,
                    sum(amount) FILTER (WHERE entry_kind = 'purchase' AND split_kind = 'referral_bonus') AS referral_bonus,
                    sum(amount) FILTER (WHERE entry_kind = 'rebate') AS team_rebate,
                    sum(amount) FILTER (WHERE entry_kind = 'refund') AS clawbacks,
                    sum(amount) FILTER (WHERE entry_kind IN ('withdrawal', 'payout_failed')) AS withdrawals,
                    sum(amount) FILTER (WHERE entry_kind NOT IN ('purchase', 'rebate', 'refund', 'withdrawal', 'payout_failed')) AS other,
                    sum(amount) AS total
               FROM postings
              WHERE brand_id = $1 AND account = 'wallet' AND occurred_at >= $3 AND occurred_at < $4
              GROUP BY agent_id),
         bought AS (SELECT agent_id, amount, units FROM agent_month_purchases WHERE brand_id = $1 AND month = $2),
         sold AS (
             SELECT seller_id AS agent_id,
                    sum(amount) FILTER (WHERE kind = 'purchase') AS internal_amount, sum(units) FILTER (WHERE kind = 'purchase') AS internal_units,
                    sum(amount) FILTER (WHERE kind = 'retail') AS retail_amount, sum(units) FILTER (WHERE kind = 'retail') AS retail_units
               FROM order_lines_net WHERE brand_id = $1 AND seller_id IS NOT NULL AND placed_at >= $3 AND placed_at < $4
              GROUP BY 1),
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
             SELECT a.id AS agent_id, a.path, a.tier_id, a.status, t.team_volume, t.tree_pos, t.team_end,
                    coalesce(prev.closing_balance, ledger_open.amount, 0) AS amount
               FROM agents a JOIN close_tree t ON t.agent_id = a.id
               LEFT JOIN prev ON prev.agent_id = a.id LEFT JOIN ledger_open ON ledger_open.agent_id = a.id
              WHERE a.brand_id = $1)
         INSERT INTO statements (brand_id, month, agent_id, opening_balance, proceeds, differential, peer_bonus, referral_bonus, team_rebate,
                                 clawbacks, withdrawals, other, closing_balance, team_volume, purchases_amount, purchases_units,
                                 internal_sales_amount, internal_sales_units, retail_sales_amount, retail_sales_units, path, tier_id, status, payable,
                                 tree_pos, team_end)
         SELECT $1, $2, op.agent_id, op.amount,
                coalesce(m.proceeds, 0), coalesce(m.differential, 0), coalesce(m.peer_bonus, 0), coalesce(m.referral_bonus, 0),
                coalesce(m.team_rebate, 0), coalesce(m.clawbacks, 0), coalesce(m.withdrawals, 0), coalesce(m.other, 0),
                op.amount + coalesce(m.total, 0), op.team_volume,
                coalesce(b.amount, 0), coalesce(b.units, 0), coalesce(s.internal_amount, 0), coalesce(s.internal_units, 0),
                coalesce(s.retail_amount, 0), coalesce(s.retail_units, 0),
                op.path, op.tier_id, op.status,
                greatest(op.amount + coalesce(m.total, 0) - greatest(coalesce(h.amount, 0), 0) - coalesce(ask.amount, 0) + coalesce(os.amount, 0), 0),
                op.tree_pos, op.team_end
           FROM opening op
           LEFT JOIN held h ON h.agent_id = op.agent_id
           LEFT JOIN asked ask ON ask.agent_id = op.agent_id
           LEFT JOIN out_since os ON os.agent_id = op.agent_id
           LEFT JOIN moves m ON m.agent_id = op.agent_id
           LEFT JOIN bought b ON b.agent_id = op.agent_id
           LEFT JOIN sold s ON s.agent_id = op.agent_id
          ORDER BY op.tree_pos",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Text, _>(month)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<Nullable<Text>, _>(previous)
    .execute(conn)?;
    Ok(n as i64)
}
