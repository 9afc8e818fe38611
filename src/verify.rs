//! `agent-ledger verify`: the database's invariants, checked set-wise over every brand.
//! Each check is one query returning the offending rows; an empty result is a pass.

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::error::AppError;

pub struct Check {
    pub name: &'static str,
    /// A query whose rows, each rendered as one text column `what`, are violations.
    pub sql: &'static str,
}

pub const CHECKS: &[Check] = &[
    Check {
        name: "dashboard: each month's kept figures equal the books",
        sql: "WITH books AS (
                SELECT brand_id, month, sum(purchases) AS purchases, sum(retail) AS retail, sum(payouts) AS payouts, sum(new_agents) AS new_agents, sum(active) AS active FROM (
                    SELECT o.brand_id, brand_month(o.brand_id, o.placed_at) AS month,
                           coalesce(sum(o.amount - coalesce(r.amount, 0)) FILTER (WHERE o.kind = 'purchase'), 0) AS purchases,
                           coalesce(sum(o.amount - coalesce(r.amount, 0)) FILTER (WHERE o.kind = 'retail'), 0) AS retail, 0 AS payouts, 0 AS new_agents,
                           count(DISTINCT CASE WHEN o.kind = 'purchase' THEN o.buyer_id ELSE o.seller_id END) AS active
                      FROM orders o LEFT JOIN (SELECT brand_id, order_id, sum(amount) AS amount FROM refund_lines GROUP BY 1, 2) r
                        ON r.brand_id = o.brand_id AND r.order_id = o.id
                     GROUP BY 1, 2
                    UNION ALL
                    SELECT brand_id, brand_month(brand_id, occurred_at), 0, 0, sum(amount), 0, 0 FROM postings
                     WHERE account = 'wallet' AND split_kind IN ('differential', 'peer_bonus', 'referral_bonus', 'team_rebate') GROUP BY 1, 2
                    UNION ALL
                    SELECT brand_id, brand_month(brand_id, joined_at), 0, 0, 0, count(*), 0 FROM agents GROUP BY 1, 2) t
                 GROUP BY 1, 2),
              kept AS (
                SELECT brand_id, month, sum(purchases) AS purchases, sum(retail) AS retail, sum(payouts) AS payouts, sum(new_agents) AS new_agents, sum(active) AS active
                  FROM month_figures GROUP BY 1, 2)
              SELECT format('brand %s %s: kept (%s, %s, %s, %s, %s) but the books say (%s, %s, %s, %s, %s) (purchases, retail, payouts, new, active)',
                            coalesce(b.brand_id, k.brand_id), coalesce(b.month, k.month), k.purchases, k.retail, k.payouts, k.new_agents, k.active,
                            b.purchases, b.retail, b.payouts, b.new_agents, b.active) AS what
                FROM books b FULL JOIN kept k ON k.brand_id = b.brand_id AND k.month = b.month
               WHERE (coalesce(b.purchases, 0), coalesce(b.retail, 0), coalesce(b.payouts, 0), coalesce(b.new_agents, 0), coalesce(b.active, 0))
                     IS DISTINCT FROM (coalesce(k.purchases, 0), coalesce(k.retail, 0), coalesce(k.payouts, 0), coalesce(k.new_agents, 0), coalesce(k.active, 0))",
    },
    Check {
        name: "tree: path ends with the agent and extends the parent's path",
        sql: "SELECT format('brand %s agent %s: path %s, parent %s', a.brand_id, a.id, a.path, a.parent_id) AS what
                FROM agents a LEFT JOIN agents p ON p.brand_id = a.brand_id AND p.id = a.parent_id
               WHERE a.path[cardinality(a.path)] <> a.id
                  OR (a.parent_id IS NULL AND cardinality(a.path) <> 1)
                  OR (a.parent_id IS NOT NULL AND (p.id IS NULL OR a.path <> p.path || a.id))",
    },
    Check {
        name: "tree: every agent appears once in its own path",
        sql: "SELECT format('brand %s agent %s: path %s repeats an id', brand_id, id, path) AS what
                FROM agents WHERE cardinality(path) <> (SELECT count(DISTINCT x) FROM unnest(path) x)",
    },
    Check {
        name: "catalog: no better tier pays more, and no price is above retail",
        sql: "SELECT format('brand %s sku %s: tier %s (rank %s) pays %s, tier %s (rank %s) pays %s', b.brand_id, b.sku, tb.id, tb.rank, b.price, tw.id, tw.rank, w.price) AS what
                FROM product_prices b JOIN tiers tb ON tb.brand_id = b.brand_id AND tb.id = b.tier_id
                JOIN product_prices w ON w.brand_id = b.brand_id AND w.sku = b.sku
                JOIN tiers tw ON tw.brand_id = w.brand_id AND tw.id = w.tier_id
               WHERE tb.rank < tw.rank AND b.price > w.price
              UNION ALL
              SELECT format('brand %s sku %s: tier %s price %s above retail %s', p.brand_id, p.sku, pp.tier_id, pp.price, p.retail_price)
                FROM product_prices pp JOIN products p ON p.brand_id = pp.brand_id AND p.sku = pp.sku
               WHERE pp.price > p.retail_price",
    },
    Check {
        name: "ledger: every journal entry sums to 0.00",
        sql: "SELECT format('brand %s entry %s (%s): postings sum to %s', brand_id, entry_id, min(account), sum(amount)) AS what
                FROM postings GROUP BY brand_id, entry_id HAVING sum(amount) <> 0",
    },
    Check {
        name: "orders: an order's amount is the sum of its lines",
        sql: "SELECT format('brand %s order %s: amount %s, lines sum to %s', o.brand_id, o.id, o.amount, coalesce(sum(l.amount), 0)) AS what
                FROM orders o LEFT JOIN order_lines l ON l.brand_id = o.brand_id AND l.order_id = o.id
               GROUP BY o.brand_id, o.id, o.amount HAVING o.amount <> coalesce(sum(l.amount), 0)",
    },
    Check {
        name: "orders: each purchase line's proceeds + differentials equal its amount, net of refunds",
        sql: "WITH refunded AS (SELECT brand_id, order_id, line_no, sum(qty) AS qty FROM refund_lines GROUP BY 1, 2, 3),
                   shared AS (SELECT brand_id, order_id, line_no, sum(amount) AS amount FROM postings
                               WHERE split_kind IN ('proceeds', 'differential') GROUP BY 1, 2, 3)
              SELECT format('brand %s order %s line %s: proceeds + differentials %s, expected %s', l.brand_id, l.order_id, l.line_no,
                            coalesce(s.amount, 0), l.unit_price * (l.qty - coalesce(r.qty, 0))) AS what
                FROM order_lines l JOIN orders o ON o.brand_id = l.brand_id AND o.id = l.order_id AND o.kind = 'purchase'
                LEFT JOIN refunded r ON r.brand_id = l.brand_id AND r.order_id = l.order_id AND r.line_no = l.line_no
                LEFT JOIN shared s ON s.brand_id = l.brand_id AND s.order_id = l.order_id AND s.line_no = l.line_no
               WHERE coalesce(s.amount, 0) <> l.unit_price * (l.qty - coalesce(r.qty, 0))",
    },
    Check {
        name: "orders: every purchase was split with the plan version in force at its placed_at",
        sql: "SELECT format('brand %s order %s placed at %s: split with plan version %s, version %s was in force', o.brand_id, o.id, o.placed_at,
                            o.plan_version, pv.version) AS what
                FROM orders o
                LEFT JOIN LATERAL (SELECT p.version FROM plan_versions p WHERE p.brand_id = o.brand_id AND p.effective_from <= o.placed_at
                                    ORDER BY p.effective_from DESC, p.version DESC LIMIT 1) pv ON true
               WHERE o.kind = 'purchase' AND o.plan_version IS DISTINCT FROM pv.version",
    },
    Check {
        name: "orders: a first-purchase referral bonus is paid at most once per buyer",
        sql: "SELECT format('brand %s buyer %s: %s orders paid a first-purchase referral bonus (orders %s)', o.brand_id, o.buyer_id,
                            count(DISTINCT o.id), string_agg(DISTINCT o.id::text, ', ')) AS what
                FROM postings p
                JOIN orders o ON o.brand_id = p.brand_id AND o.id = p.order_id
                JOIN plan_versions pv ON pv.brand_id = o.brand_id AND pv.version = o.plan_version
               WHERE p.split_kind = 'referral_bonus' AND p.amount > 0
                 AND coalesce((pv.body -> 'referral_bonus' ->> 'months')::int, 0) = 0
               GROUP BY o.brand_id, o.buyer_id HAVING count(DISTINCT o.id) > 1",
    },
    Check {
        name: "orders: every purchase was placed after its buyer joined, at the buyer's tier as of placed_at",
        sql: "SELECT format('brand %s order %s placed at %s: buyer %s joined %s, tier then %s, the order says %s', o.brand_id, o.id, o.placed_at,
                            o.buyer_id, x.joined_at, x.tier_id, o.buyer_tier_id) AS what
                FROM orders o CROSS JOIN LATERAL agent_as_of(o.brand_id, o.buyer_id, o.placed_at) x
               WHERE o.kind = 'purchase' AND o.buyer_tier_id IS NOT NULL
                 AND (o.placed_at < x.joined_at OR o.buyer_tier_id IS DISTINCT FROM x.tier_id)",
    },
    Check {
        name: "orders: no line is refunded beyond its quantity",
        sql: "SELECT format('brand %s order %s line %s: %s of %s units refunded', l.brand_id, l.order_id, l.line_no, sum(r.qty), l.qty) AS what
                FROM order_lines l JOIN refund_lines r ON r.brand_id = l.brand_id AND r.order_id = l.order_id AND r.line_no = l.line_no
               GROUP BY l.brand_id, l.order_id, l.line_no, l.qty HAVING sum(r.qty) > l.qty",
    },
    Check {
        name: "stock: never negative, and every agent's units equal the units moved in minus out",
        sql: "WITH moved AS (
                SELECT brand_id, agent_id, sku, sum(qty) AS qty FROM (
                    SELECT brand_id, to_agent AS agent_id, sku, qty FROM stock_moves WHERE to_agent IS NOT NULL
                    UNION ALL
                    SELECT brand_id, from_agent, sku, -qty FROM stock_moves WHERE from_agent IS NOT NULL) m
                GROUP BY 1, 2, 3)
              SELECT format('brand %s agent %s sku %s: holds %s, moves say %s', coalesce(s.brand_id, m.brand_id), coalesce(s.agent_id, m.agent_id),
                            coalesce(s.sku, m.sku), coalesce(s.qty, 0), coalesce(m.qty, 0)) AS what
                FROM stock s FULL JOIN moved m ON m.brand_id = s.brand_id AND m.agent_id = s.agent_id AND m.sku = s.sku
               WHERE coalesce(s.qty, 0) <> coalesce(m.qty, 0) OR coalesce(s.qty, 0) < 0",
    },
    Check {
        name: "settlement: each closed month's statements equal the ledger as of the month's end",
        sql: "SELECT format('brand %s %s agent %s: statement closes at %s, the ledger says %s', s.brand_id, s.month, s.agent_id,
                            s.closing_balance, coalesce(l.amount, 0)) AS what
                FROM statements s JOIN periods pe ON pe.brand_id = s.brand_id AND pe.month = s.month
                LEFT JOIN LATERAL (SELECT sum(p.amount) AS amount FROM postings p
                                    WHERE p.brand_id = s.brand_id AND p.agent_id = s.agent_id AND p.account = 'wallet'
                                      AND p.occurred_at < pe.ends_at) l ON true
               WHERE s.closing_balance <> coalesce(l.amount, 0)",
    },
    Check {
        name: "settlement: every statement names an agent and a closed period, and keeps its place in the tree",
        sql: "SELECT format('brand %s %s agent %s: %s', s.brand_id, s.month, s.agent_id,
                            CASE WHEN a.id IS NULL THEN 'no such agent' WHEN pe.month IS NULL THEN 'the period is not closed'
                                 ELSE format('place %s to %s with path %s', s.tree_pos, s.team_end, s.path) END) AS what
                FROM statements s
                LEFT JOIN agents a ON a.brand_id = s.brand_id AND a.id = s.agent_id
                LEFT JOIN periods pe ON pe.brand_id = s.brand_id AND pe.month = s.month
               WHERE a.id IS NULL OR pe.month IS NULL
                  OR (s.path IS NULL) <> (s.tree_pos IS NULL) OR (s.tree_pos IS NULL) <> (s.team_end IS NULL) OR s.team_end < s.tree_pos",
    },
    Check {
        name: "ledger: every posting carries its entry's kind",
        sql: "SELECT format('brand %s entry %s (%s): a posting says %s', e.brand_id, e.id, e.kind, p.entry_kind) AS what
                FROM postings p JOIN journal_entries e ON e.brand_id = p.brand_id AND e.id = p.entry_id
               WHERE p.entry_kind <> e.kind",
    },
    Check {
        name: "reports: monthly purchase totals equal the orders, and follow the tree",
        sql: "WITH net AS (
                SELECT o.brand_id, to_char(o.placed_at AT TIME ZONE b.timezone, 'YYYY-MM') AS month, o.buyer_id AS agent_id,
                       sum(l.qty - coalesce(r.qty, 0)) AS units, sum(l.amount - coalesce(r.amount, 0)) AS amount
                  FROM orders o JOIN brands b ON b.id = o.brand_id
                  JOIN order_lines l ON l.brand_id = o.brand_id AND l.order_id = o.id
                  LEFT JOIN (SELECT brand_id, order_id, line_no, sum(qty) AS qty, sum(amount) AS amount FROM refund_lines GROUP BY 1, 2, 3) r
                         ON r.brand_id = l.brand_id AND r.order_id = l.order_id AND r.line_no = l.line_no
                 WHERE o.kind = 'purchase' GROUP BY 1, 2, 3)
              SELECT format('brand %s %s agent %s: totals say %s units / %s, orders say %s / %s%s', coalesce(t.brand_id, n.brand_id), coalesce(t.month, n.month),
                            coalesce(t.agent_id, n.agent_id), t.units, t.amount, n.units, n.amount,
                            CASE WHEN a.path IS DISTINCT FROM t.path THEN ' (path differs from the tree)' ELSE '' END) AS what
                FROM agent_month_purchases t
                FULL JOIN net n ON n.brand_id = t.brand_id AND n.month = t.month AND n.agent_id = t.agent_id
                LEFT JOIN agents a ON a.brand_id = t.brand_id AND a.id = t.agent_id
               WHERE coalesce(t.units, 0) <> coalesce(n.units, 0) OR coalesce(t.amount, 0) <> coalesce(n.amount, 0)
                  OR (t.agent_id IS NOT NULL AND a.path IS DISTINCT FROM t.path)",
    },
    Check {
        name: "reports: each current team snapshot equals the books as of the pg_snapshot it was taken in",
        // recounted from agents, orders and refunds (not from the monthly totals the
        // snapshot was built from): what that pg_snapshot saw, in the team's current range
        sql: "WITH s AS (
                SELECT ts.*, b.timezone, a.path, a.path[1:cardinality(a.path) - 1] || (a.path[cardinality(a.path)] + 1) AS upper,
                       (SELECT coalesce(sum(n), 0) FROM unnest(ts.counts) n) AS counted
                  FROM team_snapshots ts JOIN brands b ON b.id = ts.brand_id
                  JOIN agents a ON a.brand_id = ts.brand_id AND a.id = ts.agent_id
                 WHERE ts.tree_version = coalesce((SELECT version FROM tree_versions v WHERE v.brand_id = ts.brand_id), 0))
              SELECT format('brand %s agent %s %s: snapshot %s agents, %s units, %s; books as of it %s agents, %s units, %s',
                            s.brand_id, s.agent_id, s.month, s.counted, s.team_units, s.team_amount, c.agents, p.units, p.amount) AS what
                FROM s
               CROSS JOIN LATERAL (
                     SELECT count(*) AS agents FROM agents x
                      WHERE x.brand_id = s.brand_id AND x.path > s.path AND x.path < s.upper AND pg_visible_in_snapshot(x.created_xid, s.snap)) c
               CROSS JOIN LATERAL (
                     SELECT coalesce(sum(u), 0) AS units, coalesce(sum(amt), 0) AS amount FROM (
                         SELECT l.qty AS u, l.amount AS amt
                           FROM agents x JOIN orders o ON o.brand_id = x.brand_id AND o.buyer_id = x.id AND o.kind = 'purchase'
                           JOIN order_lines l ON l.brand_id = o.brand_id AND l.order_id = o.id
                          WHERE x.brand_id = s.brand_id AND x.path >= s.path AND x.path < s.upper
                            AND pg_visible_in_snapshot(o.created_xid, s.snap) AND to_char(o.placed_at AT TIME ZONE s.timezone, 'YYYY-MM') = s.month
                         UNION ALL
                         SELECT -rl.qty, -rl.amount
                           FROM agents x JOIN orders o ON o.brand_id = x.brand_id AND o.buyer_id = x.id AND o.kind = 'purchase'
                           JOIN refunds r ON r.brand_id = o.brand_id AND r.order_id = o.id
                           JOIN refund_lines rl ON rl.brand_id = r.brand_id AND rl.refund_id = r.id
                          WHERE x.brand_id = s.brand_id AND x.path >= s.path AND x.path < s.upper
                            AND pg_visible_in_snapshot(r.created_xid, s.snap) AND to_char(o.placed_at AT TIME ZONE s.timezone, 'YYYY-MM') = s.month) t) p
               WHERE s.counted <> c.agents OR s.team_units <> p.units OR s.team_amount <> p.amount",
    },
    Check {
        name: "audit log: every row unaltered and chained to the previous row of its chain",
        sql: "SELECT format('brand %s audit row %s: %s', brand_id, id,
                            CASE WHEN prev_hash <> coalesce(expected_prev, 'genesis') THEN 'not chained to the row before it (a row was removed or inserted)'
                                 ELSE 'its fields do not give its hash (it was changed)' END) AS what
                FROM (SELECT *, lag(hash) OVER (PARTITION BY brand_id, actor_id, chain ORDER BY id) AS expected_prev FROM audit_log) a
               WHERE prev_hash <> coalesce(expected_prev, 'genesis')
                  OR hash <> audit_row_hash(prev_hash, id, at, actor_id, chain, actor, role, action, target, request_id, before, after)",
    },
    Check {
        name: "withdrawals: each state has exactly its entries, and they move exactly its amount",
        sql: "WITH e AS (
                SELECT w.brand_id, w.id, w.status, w.amount, w.fee, w.tax,
                       -- approved before payouts were tracked: the approval was the payment
                       (w.status = 'paid' AND w.reference = 'approved before payouts were tracked') AS legacy,
                       count(DISTINCT j.id) FILTER (WHERE j.kind = 'withdrawal') AS approvals,
                       count(DISTINCT j.id) FILTER (WHERE j.kind = 'payout') AS payouts,
                       count(DISTINCT j.id) FILTER (WHERE j.kind = 'payout_failed') AS failures,
                       coalesce(sum(p.amount) FILTER (WHERE j.kind = 'withdrawal' AND p.account = 'wallet'), 0) AS taken,
                       coalesce(sum(p.amount) FILTER (WHERE j.kind = 'payout' AND p.account = 'payouts'), 0) AS paid,
                       coalesce(sum(p.amount) FILTER (WHERE j.kind = 'payout_failed' AND p.account = 'wallet'), 0) AS returned
                  FROM withdrawals w
                  LEFT JOIN journal_entries j ON j.brand_id = w.brand_id AND j.withdrawal_id = w.id
                  LEFT JOIN postings p ON p.brand_id = j.brand_id AND p.entry_id = j.id
                 GROUP BY w.brand_id, w.id, w.status, w.amount, w.fee, w.tax, w.reference)
              SELECT format('brand %s withdrawal %s (%s, %s): %s approval, %s payout, %s failure entries; wallet %s, paid %s, returned %s',
                            brand_id, id, status, amount, approvals, payouts, failures, taken, paid, returned) AS what
                FROM e
               WHERE (approvals, payouts, failures) <> CASE WHEN legacy THEN (1::bigint, 0::bigint, 0::bigint) ELSE CASE status WHEN 'approved' THEN (1::bigint, 0::bigint, 0::bigint) WHEN 'paid' THEN (1::bigint, 1::bigint, 0::bigint) WHEN 'failed' THEN (1::bigint, 0::bigint, 1::bigint) ELSE (0::bigint, 0::bigint, 0::bigint) END END
                  OR (approvals = 1 AND taken <> -amount)
                  OR (payouts = 1 AND paid <> amount - fee - tax)
                  OR (failures = 1 AND returned <> amount)",
    },
    Check {
        name: "adjustments: posted once each when approved by another staff member, never otherwise",
        sql: "SELECT format('brand %s adjustment %s (%s, %s): entry %s moves %s to the wallet', a.brand_id, a.id, a.status, a.amount, a.entry_id, coalesce(p.amount, 0)) AS what
                FROM adjustments a
                LEFT JOIN LATERAL (SELECT sum(amount) AS amount FROM postings WHERE brand_id = a.brand_id AND entry_id = a.entry_id AND account = 'wallet' AND agent_id = a.agent_id) p ON true
               WHERE (a.status = 'approved') <> (a.entry_id IS NOT NULL)
                  OR (a.status = 'approved' AND (p.amount IS DISTINCT FROM a.amount OR a.checked_by IS NULL OR a.checked_by = a.made_by))
                  OR a.entry_id IN (SELECT entry_id FROM adjustments b WHERE b.brand_id = a.brand_id AND b.id <> a.id AND b.entry_id IS NOT NULL)",
    },
];

#[derive(QueryableByName)]
struct Violation {
    #[diesel(sql_type = Text)]
    what: String,
}

/// Runs every check; returns (check name, violations) for the failing ones.
pub fn run(conn: &mut PgConnection) -> Result<Vec<(&'static str, Vec<String>)>, AppError> {
    let mut failures = Vec::new();
    for check in CHECKS {
        let rows: Vec<Violation> = diesel::sql_query(format!("SELECT what FROM ({}) v LIMIT 1000", check.sql)).load(conn)?;
        if !rows.is_empty() {
            failures.push((check.name, rows.into_iter().map(|v| v.what).collect()));
        }
    }
    Ok(failures)
}
