//! The `us_ftc` hold (domain §11): an agent's downline pay — differentials, peer and
//! referral bonuses — of a month that is not closed is held while its team's retail share
//! for that month is at or below 50%; it is released by itself if the share recovers, and
//! reversed when the month closes if it has not.
//!
//! The share is the reports' one retail share (retail ÷ (retail + the team's purchases),
//! the team being the agent and its subtree): the Vemma test asks how much of the team's
//! money came from non-participants, which is this. Only retail that can be believed
//! counts: the orders of the SQL function `retail_findings` (no customer contact, one
//! customer buying from many agents or more than the brand's monthly quantity, a month of
//! retail recorded at its very end — docs/compliance.md) are left out of it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Numeric, Timestamptz};
use rust_decimal::Decimal;

use crate::error::AppError;
use crate::tree::store::subtree_upper_bound;

/// The share above which downline pay is released.
pub const THRESHOLD: Decimal = Decimal::from_parts(5, 0, 0, false, 1);
pub const DOWNLINE_PAY: [&str; 3] = ["differential", "peer_bonus", "referral_bonus"];

/// The one retail share of the reports (retail ÷ (retail + purchases)).
pub fn share(retail: Decimal, purchases: Decimal) -> Option<Decimal> {
    crate::reports::retail_share_exact(retail, purchases)
}

pub fn releases(share: Option<Decimal>) -> bool {
    share.is_some_and(|s| s > THRESHOLD)
}

#[derive(QueryableByName)]
struct TeamMonth {
    #[diesel(sql_type = Numeric)]
    retail: Decimal,
    #[diesel(sql_type = Numeric)]
    purchases: Decimal,
    #[diesel(sql_type = Numeric)]
    pay: Decimal,
}

/// What is held now for one agent: its downline pay in every month after the last closed
/// one whose team share does not release it (pay still inside `hold_days` is already
/// `pending`, so it is not counted twice).
pub fn held_for(conn: &mut PgConnection, brand_id: i64, agent_id: i64, now: DateTime<Utc>) -> Result<Decimal, AppError> {
    let settings = crate::brands::settings(conn, brand_id)?;
    if settings.jurisdiction != crate::commission::Jurisdiction::UsFtc {
        return Ok(Decimal::ZERO);
    }
    let Some(agent) = crate::tree::store::find(conn, brand_id, agent_id)? else { return Ok(Decimal::ZERO) };
    // every month after the last closed one (orders may be backdated into open months)
    let since = match crate::settlement::store::last_closed(conn, brand_id)? {
        Some(p) => p.ends_at,
        None => crate::settlement::store::first_activity(conn, brand_id)?.unwrap_or(now),
    };
    let tz = settings.timezone;
    let mut month = crate::period::month_of(since.min(now), &tz)?;
    let current = crate::period::month_of(now, &tz)?;
    let mut held = Decimal::ZERO;
    loop {
        let (start, end) = crate::period::month_bounds(&month, &tz)?;
        let t: TeamMonth = diesel::sql_query(
            "WITH team AS (SELECT id FROM agents WHERE brand_id = $1 AND path >= $2 AND path < $3),
                  refunded AS (SELECT order_id, sum(amount) AS amount FROM refund_lines WHERE brand_id = $1 GROUP BY 1),
                  excluded AS (SELECT DISTINCT order_id FROM retail_findings($1, $4, $5)),
                  net AS (SELECT o.kind, o.buyer_id, o.seller_id, o.amount - coalesce(r.amount, 0) AS amount
                            FROM orders o LEFT JOIN refunded r ON r.order_id = o.id
                           WHERE o.brand_id = $1 AND o.placed_at >= $4 AND o.placed_at < $5 AND o.id NOT IN (SELECT order_id FROM excluded))
             SELECT coalesce((SELECT sum(amount) FROM net WHERE kind = 'retail' AND seller_id IN (SELECT id FROM team)), 0) AS retail,
                    coalesce((SELECT sum(amount) FROM net WHERE kind = 'purchase' AND buyer_id IN (SELECT id FROM team)), 0) AS purchases,
                    coalesce((SELECT sum(amount) FROM postings WHERE brand_id = $1 AND agent_id = $6 AND account = 'wallet'
                               AND occurred_at >= $4 AND occurred_at < $5 AND available_at <= $7
                               AND split_kind IN ('differential', 'peer_bonus', 'referral_bonus')), 0) AS pay",
        )
        .bind::<BigInt, _>(brand_id)
        .bind::<Array<BigInt>, _>(&agent.path)
        .bind::<Array<BigInt>, _>(subtree_upper_bound(&agent.path))
        .bind::<Timestamptz, _>(start)
        .bind::<Timestamptz, _>(end)
        .bind::<BigInt, _>(agent_id)
        .bind::<Timestamptz, _>(now)
        .get_result(conn)?;
        if t.pay > Decimal::ZERO && !releases(share(t.retail, t.purchases)) {
            held += t.pay;
        }
        if month >= current {
            break;
        }
        month = crate::period::month_of(end, &tz)?;
    }
    Ok(held)
}

/// At close: every agent's team share for the month, from per-agent figures rolled up the
/// tree (each member's retail and purchases added to all its ancestors).
pub fn team_shares(conn: &mut PgConnection, brand_id: i64, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<HashMap<i64, Option<Decimal>>, AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Array<BigInt>)]
        path: Vec<i64>,
        #[diesel(sql_type = Numeric)]
        retail: Decimal,
        #[diesel(sql_type = Numeric)]
        purchases: Decimal,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "WITH refunded AS (SELECT order_id, sum(amount) AS amount FROM refund_lines WHERE brand_id = $1 GROUP BY 1),
              excluded AS (SELECT DISTINCT order_id FROM retail_findings($1, $2, $3)),
              net AS (SELECT o.kind, o.buyer_id, o.seller_id, o.amount - coalesce(r.amount, 0) AS amount
                        FROM orders o LEFT JOIN refunded r ON r.order_id = o.id
                       WHERE o.brand_id = $1 AND o.placed_at >= $2 AND o.placed_at < $3 AND o.id NOT IN (SELECT order_id FROM excluded)),
              per AS (SELECT coalesce(buyer_id, seller_id) AS id,
                             sum(amount) FILTER (WHERE kind = 'retail') AS retail, sum(amount) FILTER (WHERE kind = 'purchase') AS purchases
                        FROM (SELECT kind, CASE WHEN kind = 'retail' THEN NULL ELSE buyer_id END AS buyer_id,
                                     CASE WHEN kind = 'retail' THEN seller_id END AS seller_id, amount FROM net) n
                       GROUP BY 1)
         SELECT a.path, coalesce(per.retail, 0) AS retail, coalesce(per.purchases, 0) AS purchases
           FROM per JOIN agents a ON a.brand_id = $1 AND a.id = per.id",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(conn)?;
    let mut team: HashMap<i64, (Decimal, Decimal)> = HashMap::new();
    for r in rows {
        for id in r.path {
            let t = team.entry(id).or_default();
            t.0 += r.retail;
            t.1 += r.purchases;
        }
    }
    Ok(team.into_iter().map(|(id, (retail, purchases))| (id, share(retail, purchases))).collect())
}

/// At close: reverses the month's downline pay of every agent whose team share does not
/// release it — differentials back to HQ revenue, bonuses back to bonus expense — as one
/// entry dated in the month. Returns the agents whose pay was reversed.
pub fn reverse_unreleased(
    conn: &mut PgConnection,
    brand_id: i64,
    month: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    shares: &HashMap<i64, Option<Decimal>>,
    by: &str,
) -> Result<Vec<i64>, AppError> {
    #[derive(QueryableByName)]
    struct Pay {
        #[diesel(sql_type = BigInt)]
        agent_id: i64,
        #[diesel(sql_type = Numeric)]
        differential: Decimal,
        #[diesel(sql_type = Numeric)]
        bonuses: Decimal,
    }
    let pay: Vec<Pay> = diesel::sql_query(
        "SELECT agent_id,
                coalesce(sum(amount) FILTER (WHERE split_kind = 'differential'), 0) AS differential,
                coalesce(sum(amount) FILTER (WHERE split_kind IN ('peer_bonus', 'referral_bonus')), 0) AS bonuses
           FROM postings WHERE brand_id = $1 AND account = 'wallet' AND occurred_at >= $2 AND occurred_at < $3
            AND split_kind IN ('differential', 'peer_bonus', 'referral_bonus')
          GROUP BY agent_id ORDER BY agent_id",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(conn)?;
    let reversed: Vec<&Pay> =
        pay.iter().filter(|p| p.differential + p.bonuses > Decimal::ZERO && !releases(shares.get(&p.agent_id).copied().flatten())).collect();
    if reversed.is_empty() {
        return Ok(Vec::new());
    }
    let at = end - chrono::Duration::microseconds(1);
    let entry = crate::ledger::post(
        conn,
        brand_id,
        &crate::ledger::Entry {
            kind: "ftc_hold",
            occurred_at: at,
            memo: Some(&format!("us_ftc: downline pay of {month} not released")),
            created_by: by,
            ..Default::default()
        },
        &[],
    )?;
    let agents: Vec<i64> = reversed.iter().map(|p| p.agent_id).collect();
    let amounts: Vec<Decimal> = reversed.iter().map(|p| -(p.differential + p.bonuses)).collect();
    let differential: Decimal = reversed.iter().map(|p| p.differential).sum();
    let bonuses: Decimal = reversed.iter().map(|p| p.bonuses).sum();
    diesel::sql_query(
        "INSERT INTO postings (brand_id, entry_id, account, agent_id, amount, split_kind, occurred_at, available_at, entry_kind)
         SELECT $1, $2, 'wallet', t.agent_id, t.amount, 'ftc_hold', $5, $5, 'ftc_hold' FROM unnest($3::bigint[], $4::numeric[]) AS t(agent_id, amount)
         UNION ALL SELECT $1, $2, 'revenue', NULL, $6, 'ftc_hold', $5, $5, 'ftc_hold' WHERE $6 <> 0
         UNION ALL SELECT $1, $2, 'bonus_expense', NULL, $7, 'ftc_hold', $5, $5, 'ftc_hold' WHERE $7 <> 0",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(entry)
    .bind::<Array<BigInt>, _>(&agents)
    .bind::<Array<Numeric>, _>(&amounts)
    .bind::<Timestamptz, _>(at)
    .bind::<Numeric, _>(differential)
    .bind::<Numeric, _>(bonuses)
    .execute(conn)?;
    Ok(agents)
}
