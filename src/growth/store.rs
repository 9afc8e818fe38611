//! The SQL of the growth figures: one set-based query per figure over indexed columns
//! (`orders_customer`, `orders_buyer`, `agents_joined`, `applications_created`,
//! `stock_moves_at`). The scope is a filter on the seller, buyer, inviter or stock holder
//! column: nothing for the brand, `= agent` for one agent, membership in the team (the
//! subtree's path range, today's or the one kept with the month's statements).

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text, Timestamptz};

use super::{Counts, Members, Window};
use crate::error::AppError;
use crate::tree::store::subtree_upper_bound;

/// The bind parameters every query takes (a query uses the ones it names):
/// $1 brand, $2 agent, $3 path, $4 path upper bound, $5 kept month, $6 last month's start,
/// $7 the month's start, $8 its end, $9 as-of instant, $10 the agent's level.
struct Params {
    brand_id: i64,
    agent_id: i64,
    path: Vec<i64>,
    upper: Vec<i64>,
    kept_month: String,
    level: i32,
}

/// The scope as SQL: a `members` CTE (team only) and a filter on a column.
struct Sql {
    with: &'static str,
    kind: &'static str,
}

impl Sql {
    fn of(members: &Members) -> Self {
        match members {
            Members::Brand => Sql { with: "", kind: "brand" },
            Members::Agent { .. } => Sql { with: "", kind: "self" },
            Members::Team { kept_month: Some(_), .. } => Sql {
                // the kept team: the range of places from the agent's own to its team's last
                with: "members AS (SELECT s.agent_id AS id, cardinality(s.path) AS lvl FROM statements me JOIN statements s
                                    ON s.brand_id = me.brand_id AND s.month = me.month AND s.tree_pos BETWEEN me.tree_pos AND me.team_end
                                 WHERE me.brand_id = $1 AND me.month = $5 AND me.agent_id = $2),",
                kind: "team",
            },
            Members::Team { kept_month: None, .. } | Members::Nobody => {
                Sql { with: "members AS (SELECT id, cardinality(path) AS lvl FROM agents WHERE brand_id = $1 AND path >= $3 AND path < $4),", kind: "team" }
            }
        }
    }

    /// `column` is in the scope.
    fn has(&self, column: &str) -> String {
        match self.kind {
            "brand" => "true".to_owned(),
            "self" => format!("{column} = $2"),
            _ => format!("{column} IN (SELECT id FROM members)"),
        }
    }
}

macro_rules! query {
    ($sql:expr, $p:expr, $w:expr) => {
        diesel::sql_query($sql)
            .bind::<BigInt, _>($p.brand_id)
            .bind::<BigInt, _>($p.agent_id)
            .bind::<Array<BigInt>, _>(&$p.path)
            .bind::<Array<BigInt>, _>(&$p.upper)
            .bind::<Text, _>(&$p.kept_month)
            .bind::<Timestamptz, _>($w.prev_start)
            .bind::<Timestamptz, _>($w.start)
            .bind::<Timestamptz, _>($w.end)
            .bind::<Timestamptz, _>($w.as_of)
            .bind::<Integer, _>($p.level)
    };
}

#[derive(QueryableByName)]
struct Three {
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = BigInt)]
    c: i64,
}

#[derive(QueryableByName)]
struct Four {
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = BigInt)]
    c: i64,
    #[diesel(sql_type = BigInt)]
    d: i64,
}

#[derive(QueryableByName)]
struct Depth {
    #[diesel(sql_type = Integer)]
    depth: i32,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub fn counts(conn: &mut PgConnection, brand_id: i64, w: &Window, members: &Members) -> Result<Counts, AppError> {
    let (agent_id, path, kept_month, level) = match members {
        Members::Agent { id, level } => (*id, Vec::new(), String::new(), *level),
        Members::Team { path, kept_month } => {
            (path.last().copied().unwrap_or_default(), path.clone(), kept_month.clone().unwrap_or_default(), path.len() as i32)
        }
        Members::Brand | Members::Nobody => (0, Vec::new(), String::new(), 0),
    };
    let p = Params { brand_id, agent_id, upper: subtree_upper_bound(&path), path, kept_month, level };
    let s = Sql::of(members);
    let with = |rest: &str| if s.with.is_empty() { rest.to_owned() } else { format!("WITH {} {rest}", s.with.trim_end_matches(',')) };
    let with_more = |cte: &str, rest: &str| format!("WITH {} {cte} {rest}", s.with);

    // customers of last month and this one; new: no retail from the scope before the month.
    // `prior` is a join, not a NOT EXISTS per customer: a team's membership test inside a
    // correlated subquery is re-run for every customer (minutes on a 100,000-agent team).
    let customers: Four = query!(
        with_more(
            &format!(
                "c AS (SELECT customer_phone AS phone, bool_or(placed_at >= $7) AS now, bool_or(placed_at < $7) AS before
                         FROM orders WHERE brand_id = $1 AND kind = 'retail' AND customer_phone IS NOT NULL
                          AND placed_at >= $6 AND placed_at < $8 AND {} GROUP BY 1),
                 prior AS (SELECT DISTINCT p.customer_phone AS phone
                             FROM c JOIN orders p ON p.brand_id = $1 AND p.kind = 'retail' AND p.customer_phone = c.phone AND p.placed_at < $7
                            WHERE c.now AND {})",
                s.has("seller_id"),
                s.has("p.seller_id")
            ),
            "SELECT count(*) FILTER (WHERE c.now) AS a, count(*) FILTER (WHERE c.before) AS b, count(*) FILTER (WHERE c.now AND c.before) AS c,
                    count(*) FILTER (WHERE c.now AND prior.phone IS NULL) AS d
               FROM c LEFT JOIN prior ON prior.phone = c.phone",
        ),
        p,
        w
    )
    .get_result(conn)?;

    // agents who bought (purchase orders) last month and this one
    let agents: Three = query!(
        with(&format!(
            "SELECT count(*) FILTER (WHERE now) AS a, count(*) FILTER (WHERE before) AS b, count(*) FILTER (WHERE now AND before) AS c
               FROM (SELECT buyer_id, bool_or(placed_at >= $7) AS now, bool_or(placed_at < $7) AS before
                       FROM orders WHERE brand_id = $1 AND kind = 'purchase' AND placed_at >= $6 AND placed_at < $8 AND {} GROUP BY 1) b",
            s.has("buyer_id")
        )),
        p,
        w
    )
    .get_result(conn)?;

    // joinings: new agents by depth, and agents at the month's start (joined before it,
    // not exited before it)
    let exited_before = "EXISTS (SELECT 1 FROM agent_events e WHERE e.brand_id = $1 AND e.agent_id = a.id AND e.kind = 'status_changed' AND e.new_value = 'exited' AND e.at < $7)";
    let (by_depth_sql, at_start_sql) = match s.kind {
        "brand" => (
            "SELECT cardinality(path) AS depth, count(*) AS n FROM agents WHERE brand_id = $1 AND joined_at >= $7 AND joined_at < $8 GROUP BY 1".to_owned(),
            "SELECT (SELECT count(*) FROM agents WHERE brand_id = $1 AND joined_at < $7)
                  - (SELECT count(DISTINCT agent_id) FROM agent_events WHERE brand_id = $1 AND kind = 'status_changed' AND new_value = 'exited' AND at < $7) AS a, 0::bigint AS b, 0::bigint AS c"
                .to_owned(),
        ),
        "self" => (
            "SELECT cardinality(path) - $10 AS depth, count(*) AS n FROM agents WHERE brand_id = $1 AND sponsor_id = $2 AND joined_at >= $7 AND joined_at < $8 GROUP BY 1".to_owned(),
            format!("SELECT count(*) AS a, 0::bigint AS b, 0::bigint AS c FROM agents a WHERE a.brand_id = $1 AND a.id = $2 AND a.joined_at < $7 AND NOT {exited_before}"),
        ),
        _ => (
            with("SELECT m.lvl - $10 AS depth, count(*) AS n FROM members m JOIN agents a ON a.brand_id = $1 AND a.id = m.id
                   WHERE a.joined_at >= $7 AND a.joined_at < $8 AND m.id <> $2 GROUP BY 1"),
            with(&format!(
                "SELECT count(*) AS a, 0::bigint AS b, 0::bigint AS c FROM members m JOIN agents a ON a.brand_id = $1 AND a.id = m.id
                  WHERE a.joined_at < $7 AND NOT {exited_before}"
            )),
        ),
    };
    let by_depth: Vec<Depth> = query!(by_depth_sql, p, w).load(conn)?;
    let at_start: Three = query!(at_start_sql, p, w).get_result(conn)?;

    // applications of the month by inviter; approved and bought as at the as-of instant
    let apps: Three = query!(
        with(&format!(
            "SELECT count(*) AS a,
                    count(*) FILTER (WHERE ap.agent_id IS NOT NULL AND ap.decided_at <= $9) AS b,
                    count(*) FILTER (WHERE ap.agent_id IS NOT NULL AND ap.decided_at <= $9
                                       AND EXISTS (SELECT 1 FROM first_purchases f WHERE f.brand_id = $1 AND f.buyer_id = ap.agent_id AND f.claimed_at <= $9)) AS c
               FROM applications ap WHERE ap.brand_id = $1 AND ap.created_at >= $7 AND ap.created_at < $8 AND {}",
            s.has("ap.inviter_id")
        )),
        p,
        w
    )
    .get_result(conn)?;

    // the month's retail units net of the refunds made by the as-of instant, and stock held
    // as at that instant (today's less the moves since)
    let cover: Three = query!(
        with(&format!(
            "SELECT coalesce((SELECT sum(l.qty) - coalesce(sum((SELECT sum(x.qty) FROM refund_lines x JOIN refunds r ON r.brand_id = x.brand_id AND r.id = x.refund_id
                                                                  WHERE x.brand_id = l.brand_id AND x.order_id = l.order_id AND x.line_no = l.line_no AND r.created_at <= $9)), 0)
                                FROM orders o JOIN order_lines l ON l.brand_id = o.brand_id AND l.order_id = o.id
                               WHERE o.brand_id = $1 AND o.kind = 'retail' AND o.placed_at >= $7 AND o.placed_at < $8 AND {}), 0)::bigint AS a,
                    (coalesce((SELECT sum(qty) FROM stock WHERE brand_id = $1 AND {}), 0)
                     - coalesce((SELECT sum(qty) FROM stock_moves WHERE brand_id = $1 AND at > $9 AND to_agent IS NOT NULL AND {}), 0)
                     + coalesce((SELECT sum(qty) FROM stock_moves WHERE brand_id = $1 AND at > $9 AND from_agent IS NOT NULL AND {}), 0))::bigint AS b,
                    0::bigint AS c",
            s.has("o.seller_id"),
            s.has("agent_id"),
            s.has("to_agent"),
            s.has("from_agent")
        )),
        p,
        w
    )
    .get_result(conn)?;

    Ok(Counts {
        customers: customers.a,
        new_customers: customers.d,
        last_month_customers: customers.b,
        customers_bought_again: customers.c,
        buying_agents: agents.a,
        last_month_buying_agents: agents.b,
        agents_bought_again: agents.c,
        new_agents: by_depth.iter().map(|d| d.n).sum(),
        agents_at_start: at_start.a,
        new_agents_by_depth: by_depth.into_iter().map(|d| (d.depth.to_string(), d.n)).collect(),
        applications: apps.a,
        applications_approved: apps.b,
        applications_bought: apps.c,
        retail_units: cover.a,
        stock_units: cover.b,
    })
}
