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
