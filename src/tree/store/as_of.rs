//! The tree as it stood at an instant: a buyer's family rebuilt from the dated events.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{by_ids, AgentRow, COLUMNS};
use crate::error::AppError;

/// A buyer, its upline and its sponsor as they stood at an instant.
#[derive(Debug, Clone)]
pub struct Family {
    pub buyer: AgentRow,
    /// Parent first, up to the top-level agent.
    pub upline: Vec<AgentRow>,
    pub sponsor: Option<AgentRow>,
}

#[derive(QueryableByName)]
struct FamilyRow {
    #[diesel(embed)]
    agent: AgentRow,
    /// Some parent, tier or status change of this agent is dated after the instant asked.
    #[diesel(sql_type = diesel::sql_types::Bool)]
    changed_since: bool,
}

#[derive(QueryableByName)]
struct AsOfRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    parent_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    tier_id: i64,
    #[diesel(sql_type = Text)]
    status: String,
}

/// The agent `id` with its upline and sponsor as they stood at `at` (domain §3: a purchase
/// is priced and split with the tree as of its placed_at). The caller holds the brand's
/// tree lock, so every change dated at or before `at` is committed and visible.
///
/// One round trip when nothing in the family changed since `at` (every live order): the
/// current rows are the rows as of `at`. Otherwise the chain is rebuilt from the dated
/// events (`agent_as_of`), parent by parent. None when the agent does not exist.
pub fn family_as_of(conn: &mut PgConnection, brand_id: i64, id: i64, at: DateTime<Utc>) -> Result<Option<Family>, AppError> {
    let rows: Vec<FamilyRow> = crate::db::prepared(format!(
        "SELECT {COLUMNS},
                EXISTS (SELECT 1 FROM agent_events e WHERE e.brand_id = $1 AND e.agent_id = agents.id AND e.at > $3 AND e.kind <> 'joined') AS changed_since
           FROM agents
          WHERE brand_id = $1
            AND id = ANY((SELECT path || coalesce(sponsor_id, id) FROM agents WHERE brand_id = $1 AND id = $2)::bigint[])"
    ))
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(id)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .load(conn)?;
    let changed = rows.iter().any(|r| r.changed_since);
    let mut by_id: std::collections::HashMap<i64, AgentRow> = rows.into_iter().map(|r| (r.agent.id, r.agent)).collect();
    let Some(buyer) = by_id.get(&id).cloned() else { return Ok(None) };
    if !changed {
        let upline = buyer.path[..buyer.path.len() - 1]
            .iter()
            .rev()
            .map(|a| by_id.get(a).cloned().ok_or_else(|| AppError::internal(format!("ancestor {a} missing"))))
            .collect::<Result<_, _>>()?;
        let sponsor = buyer.sponsor_id.and_then(|s| by_id.get(&s).cloned());
        return Ok(Some(Family { buyer, upline, sponsor }));
    }
    // The chain as of `at`, buyer first.
    let chain: Vec<AsOfRow> = crate::db::prepared(
        "WITH RECURSIVE chain (id, gen, parent_id, tier_id, status) AS (
             SELECT $2::bigint, 0, x.parent_id, x.tier_id, x.status FROM agent_as_of($1, $2, $3) x
           UNION ALL
             SELECT c.parent_id, c.gen + 1, x.parent_id, x.tier_id, x.status
               FROM chain c CROSS JOIN LATERAL agent_as_of($1, c.parent_id, $3) x
              WHERE c.parent_id IS NOT NULL AND c.gen < 100000)
         SELECT id, parent_id, tier_id, status FROM chain ORDER BY gen",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<BigInt, _>(id)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .load(conn)?;
    let mut wanted: Vec<i64> = chain.iter().map(|c| c.id).filter(|c| !by_id.contains_key(c)).collect();
    wanted.extend(buyer.sponsor_id.filter(|s| !by_id.contains_key(s)));
    by_id.extend(by_ids(conn, brand_id, &wanted)?.into_iter().map(|r| (r.id, r)));
    let path: Vec<i64> = chain.iter().rev().map(|c| c.id).collect();
    let mut family: Vec<AgentRow> = Vec::with_capacity(chain.len());
    for (i, c) in chain.iter().enumerate() {
        let mut row = by_id.get(&c.id).cloned().ok_or_else(|| AppError::internal(format!("agent {} of the chain missing", c.id)))?;
        row.parent_id = c.parent_id;
        row.tier_id = c.tier_id;
        row.status = c.status.clone();
        row.path = path[..path.len() - i].to_vec();
        family.push(row);
    }
    let sponsor = match buyer.sponsor_id {
        Some(s) => {
            let status: Option<String> = crate::db::prepared("SELECT status FROM agent_as_of($1, $2, $3)")
                .bind::<BigInt, _>(brand_id)
                .bind::<BigInt, _>(s)
                .bind::<diesel::sql_types::Timestamptz, _>(at)
                .get_result::<StatusRow>(conn)
                .optional()?
                .map(|r| r.status);
            by_id.get(&s).cloned().map(|mut row| {
                row.status = status.unwrap_or(row.status);
                row
            })
        }
        None => None,
    };
    let mut family = family.into_iter();
    let buyer = family.next().ok_or_else(|| AppError::internal(format!("agent {id} missing from its own chain")))?;
    Ok(Some(Family { buyer, upline: family.collect(), sponsor }))
}

/// Agents read for a batch of orders: every buyer's and seller's row with its upline and
/// sponsor, each with the time of its last parent, tier or status change.
#[derive(Default)]
pub struct Known {
    rows: std::collections::HashMap<i64, (AgentRow, Option<DateTime<Utc>>)>,
}

#[derive(QueryableByName)]
struct KnownRow {
    #[diesel(embed)]
    agent: AgentRow,
    #[diesel(sql_type = Nullable<diesel::sql_types::Timestamptz>)]
    last_changed: Option<DateTime<Utc>>,
}

/// The families of `ids` in one query (what `family_as_of` reads first, for many buyers).
pub fn families(conn: &mut PgConnection, brand_id: i64, ids: &[i64]) -> Result<Known, AppError> {
    if ids.is_empty() {
        return Ok(Known::default());
    }
    let rows: Vec<KnownRow> = crate::db::prepared(format!(
        "SELECT {COLUMNS},
                (SELECT max(e.at) FROM agent_events e WHERE e.brand_id = $1 AND e.agent_id = agents.id AND e.kind <> 'joined') AS last_changed
           FROM agents
          WHERE brand_id = $1
            AND id = ANY(ARRAY(SELECT DISTINCT unnest(a.path || coalesce(a.sponsor_id, a.id)) FROM agents a WHERE a.brand_id = $1 AND a.id = ANY($2)))"
    ))
    .bind::<BigInt, _>(brand_id)
    .bind::<diesel::sql_types::Array<BigInt>, _>(ids)
    .load(conn)?;
    Ok(Known { rows: rows.into_iter().map(|r| (r.agent.id, (r.agent, r.last_changed))).collect() })
}

impl Known {
    /// The agent as it is now.
    pub fn agent(&self, id: i64) -> Option<&AgentRow> {
        self.rows.get(&id).map(|(a, _)| a)
    }

    /// `family_as_of(id, at)` without a query when nothing in the family changed after `at`
    /// (every live order); None when something did, or the agent is not known.
    fn unchanged_since(&self, id: i64, at: DateTime<Utc>) -> Option<Family> {
        let buyer = self.agent(id)?;
        let members = buyer.path.iter().chain(buyer.sponsor_id.as_ref());
        for m in members {
            let (_, changed) = self.rows.get(m)?;
            if changed.is_some_and(|c| c > at) {
                return None;
            }
        }
        let upline = buyer.path[..buyer.path.len() - 1].iter().rev().map(|a| self.agent(*a).cloned()).collect::<Option<Vec<_>>>()?;
        Some(Family { buyer: buyer.clone(), upline, sponsor: buyer.sponsor_id.and_then(|s| self.agent(s).cloned()) })
    }
}

/// `family_as_of` for a buyer read with `families`: from memory when its family is unchanged
/// since `at`, else rebuilt from the dated events.
pub fn family_of(conn: &mut PgConnection, brand_id: i64, known: &Known, id: i64, at: DateTime<Utc>) -> Result<Option<Family>, AppError> {
    if known.agent(id).is_none() {
        return Ok(None);
    }
    match known.unchanged_since(id, at) {
        Some(family) => Ok(Some(family)),
        None => family_as_of(conn, brand_id, id, at),
    }
}

#[derive(QueryableByName)]
struct StatusRow {
    #[diesel(sql_type = Text)]
    status: String,
}
