//! Agent stock: per (agent, sku) rows, the only rows two orders may contend on.
//!
//! Deadlock freedom by design: every transaction locks the stock rows it needs in one global
//! order — HQ's rows (by sku) first, then agents' rows by (agent_id, sku) — each with a single
//! upsert that creates a missing row at zero and locks it. Two transactions can then only
//! wait for each other in the same direction.

pub mod http;
pub mod movements;

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::stock;

/// Who holds stock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Holder {
    Hq,
    Agent(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level {
    pub qty: i64,
    pub avg_cost: Decimal,
}

/// The locked stock rows of one transaction, and which of them it changed.
#[derive(Debug, Default)]
pub struct Locked {
    rows: BTreeMap<(Holder, String), Level>,
    changed: std::collections::BTreeSet<(Holder, String)>,
}

#[derive(QueryableByName)]
struct LockedRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    agent_id: Option<i64>,
    #[diesel(sql_type = Text)]
    sku: String,
    #[diesel(sql_type = BigInt)]
    qty: i64,
    #[diesel(sql_type = diesel::sql_types::Numeric)]
    avg_cost: Decimal,
}

/// Locks (creating at zero where missing) the given rows in the global order: HQ's rows by
/// SKU, then agents' rows by (agent, SKU), bytewise — one statement for each kind of holder,
/// however many rows (a batch of orders locks all of its rows at once).
pub fn lock(conn: &mut PgConnection, brand_id: i64, keys: impl IntoIterator<Item = (Holder, String)>) -> Result<Locked, AppError> {
    let mut keys: Vec<(Holder, String)> = keys.into_iter().collect();
    keys.sort(); // Holder::Hq < Holder::Agent(_), then by sku: the global lock order
    keys.dedup();
    let hq: Vec<&str> = keys.iter().filter(|(h, _)| *h == Holder::Hq).map(|(_, s)| s.as_str()).collect();
    let (agents, skus): (Vec<i64>, Vec<&str>) = keys
        .iter()
        .filter_map(|(h, s)| match h {
            Holder::Agent(id) => Some((*id, s.as_str())),
            Holder::Hq => None,
        })
        .unzip();
    let mut rows: Vec<LockedRow> = Vec::with_capacity(keys.len());
    if !hq.is_empty() {
        rows.extend(
            crate::db::prepared(
                "INSERT INTO hq_stock (brand_id, sku, qty)
                 SELECT $1, k.sku, 0 FROM unnest($2::text[]) AS k(sku) ORDER BY k.sku COLLATE \"C\"
                 ON CONFLICT (brand_id, sku) DO UPDATE SET qty = hq_stock.qty
                 RETURNING NULL::bigint AS agent_id, sku, qty, 0::numeric AS avg_cost",
            )
            .bind::<BigInt, _>(brand_id)
            .bind::<diesel::sql_types::Array<Text>, _>(&hq)
            .load::<LockedRow>(conn)?,
        );
    }
    if !agents.is_empty() {
        rows.extend(
            crate::db::prepared(
                "INSERT INTO stock (brand_id, agent_id, sku, qty)
                 SELECT $1, k.agent_id, k.sku, 0 FROM unnest($2::bigint[], $3::text[]) AS k(agent_id, sku) ORDER BY k.agent_id, k.sku COLLATE \"C\"
                 ON CONFLICT (brand_id, agent_id, sku) DO UPDATE SET qty = stock.qty
                 RETURNING agent_id, sku, qty, avg_cost",
            )
            .bind::<BigInt, _>(brand_id)
            .bind::<diesel::sql_types::Array<BigInt>, _>(&agents)
            .bind::<diesel::sql_types::Array<Text>, _>(&skus)
            .load::<LockedRow>(conn)?,
        );
    }
    let mut locked = Locked::default();
    for r in rows {
        let holder = r.agent_id.map_or(Holder::Hq, Holder::Agent);
        locked.rows.insert((holder, r.sku), Level { qty: r.qty, avg_cost: r.avg_cost });
    }
    Ok(locked)
}

fn who(holder: Holder) -> String {
    match holder {
        Holder::Hq => "HQ".into(),
        Holder::Agent(id) => format!("agent {id}"),
    }
}

impl Locked {
    pub fn level(&self, holder: Holder, sku: &str) -> Level {
        self.rows.get(&(holder, sku.to_owned())).copied().unwrap_or(Level { qty: 0, avg_cost: Decimal::ZERO })
    }

    /// 409 `insufficient_stock` if the holder has less than `qty` (nothing taken).
    pub fn check_take(&self, holder: Holder, sku: &str, qty: i64) -> Result<(), AppError> {
        let level = self.rows.get(&(holder, sku.to_owned())).ok_or_else(|| AppError::internal(format!("stock of {} / {sku} was not locked", who(holder))))?;
        if level.qty < qty {
            return Err(AppError::conflict("insufficient_stock", format!("{} holds {} of {sku}, {qty} are needed", who(holder), level.qty)));
        }
        Ok(())
    }

    /// Takes `qty` out; 409 `insufficient_stock` if the holder has less.
    pub fn take(&mut self, holder: Holder, sku: &str, qty: i64) -> Result<Decimal, AppError> {
        self.check_take(holder, sku, qty)?;
        let key = (holder, sku.to_owned());
        let level = self.rows.get_mut(&key).ok_or_else(|| AppError::internal("stock row vanished"))?;
        level.qty -= qty;
        let cost = level.avg_cost;
        self.changed.insert(key);
        Ok(cost)
    }

    /// Puts `qty` in at `unit_cost`, updating the moving average cost.
    pub fn put(&mut self, holder: Holder, sku: &str, qty: i64, unit_cost: Decimal) -> Result<(), AppError> {
        let key = (holder, sku.to_owned());
        let level = self.rows.get_mut(&key).ok_or_else(|| AppError::internal(format!("stock of {} / {sku} was not locked", who(holder))))?;
        let total = level.qty + qty;
        if total > 0 {
            let value = level.avg_cost * Decimal::from(level.qty) + unit_cost * Decimal::from(qty);
            level.avg_cost = (value / Decimal::from(total)).round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
        }
        level.qty = total;
        self.changed.insert(key);
        Ok(())
    }

    /// Writes the changed rows back: one statement for HQ's, one for agents'.
    pub fn save(&self, conn: &mut PgConnection, brand_id: i64) -> Result<(), AppError> {
        let (mut hq_skus, mut hq_qty) = (Vec::new(), Vec::new());
        let (mut agents, mut skus, mut qty, mut cost) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for key in &self.changed {
            let level = self.rows[key];
            match key.0 {
                Holder::Hq => {
                    hq_skus.push(key.1.as_str());
                    hq_qty.push(level.qty);
                }
                Holder::Agent(id) => {
                    agents.push(id);
                    skus.push(key.1.as_str());
                    qty.push(level.qty);
                    cost.push(level.avg_cost);
                }
            }
        }
        if !hq_skus.is_empty() {
            crate::db::prepared(
                "UPDATE hq_stock h SET qty = v.qty FROM unnest($2::text[], $3::bigint[]) AS v(sku, qty) WHERE h.brand_id = $1 AND h.sku = v.sku",
            )
            .bind::<BigInt, _>(brand_id)
            .bind::<diesel::sql_types::Array<Text>, _>(&hq_skus)
            .bind::<diesel::sql_types::Array<BigInt>, _>(&hq_qty)
            .execute(conn)?;
        }
        if !agents.is_empty() {
            crate::db::prepared(
                "UPDATE stock s SET qty = v.qty, avg_cost = v.avg_cost FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::numeric[]) AS v(agent_id, sku, qty, avg_cost)
                  WHERE s.brand_id = $1 AND s.agent_id = v.agent_id AND s.sku = v.sku",
            )
            .bind::<BigInt, _>(brand_id)
            .bind::<diesel::sql_types::Array<BigInt>, _>(&agents)
            .bind::<diesel::sql_types::Array<Text>, _>(&skus)
            .bind::<diesel::sql_types::Array<BigInt>, _>(&qty)
            .bind::<diesel::sql_types::Array<diesel::sql_types::Numeric>, _>(&cost)
            .execute(conn)?;
        }
        Ok(())
    }
}

/// One movement of goods, recorded insert-only.
pub struct Move<'a> {
    pub kind: &'a str,
    pub sku: &'a str,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub qty: i64,
    pub unit_cost: Decimal,
    pub order_id: Option<i64>,
    pub refund_id: Option<i64>,
    pub reason: Option<&'a str>,
}

/// Records movements in one statement, in the given order.
pub fn record_moves(conn: &mut PgConnection, brand_id: i64, moves: &[Move]) -> Result<(), AppError> {
    use diesel::sql_types::{Array, Nullable, Numeric};
    if moves.is_empty() {
        return Ok(());
    }
    let col = |f: &dyn Fn(&Move) -> Option<i64>| moves.iter().map(f).collect::<Vec<_>>();
    crate::db::prepared(
        "INSERT INTO stock_moves (brand_id, kind, sku, from_agent, to_agent, qty, unit_cost, order_id, refund_id, reason)
         SELECT $1, m.kind, m.sku, m.from_agent, m.to_agent, m.qty, m.unit_cost, m.order_id, m.refund_id, m.reason
           FROM unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::numeric[], $8::bigint[], $9::bigint[], $10::text[])
                AS m(kind, sku, from_agent, to_agent, qty, unit_cost, order_id, refund_id, reason)",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<Array<Text>, _>(moves.iter().map(|m| m.kind).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(moves.iter().map(|m| m.sku).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(col(&|m| m.from))
    .bind::<Array<Nullable<BigInt>>, _>(col(&|m| m.to))
    .bind::<Array<BigInt>, _>(moves.iter().map(|m| m.qty).collect::<Vec<_>>())
    .bind::<Array<Numeric>, _>(moves.iter().map(|m| m.unit_cost).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(col(&|m| m.order_id))
    .bind::<Array<Nullable<BigInt>>, _>(col(&|m| m.refund_id))
    .bind::<Array<Nullable<Text>>, _>(moves.iter().map(|m| m.reason).collect::<Vec<_>>())
    .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct StockLine {
    pub sku: String,
    pub qty: i64,
    /// Moving average cost per unit, to the cent (kept to 4 decimals inside, so averaging
    /// does not drift; money on the wire always has 2).
    #[schema(value_type = String)]
    pub avg_cost: Decimal,
}

pub fn agent_stock(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<Vec<StockLine>, AppError> {
    crate::tree::visible(conn, who, agent_id)?;
    let rows: Vec<(String, i64, Decimal)> = stock::table
        .filter(stock::brand_id.eq(who.brand_id))
        .filter(stock::agent_id.eq(agent_id))
        .order(stock::sku)
        .select((stock::sku, stock::qty, stock::avg_cost))
        .load(conn)?;
    Ok(rows.into_iter().map(|(sku, qty, avg_cost)| StockLine { sku, qty, avg_cost: cents(avg_cost.max(Decimal::ZERO)) }).collect())
}

fn cents(d: Decimal) -> Decimal {
    let mut d = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    d.rescale(2);
    d
}

/// A stock count correction (named apart from the money `Adjustment` in the document).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = StockAdjustment)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// None: HQ's own stock (when the brand tracks it).
    pub agent_id: Option<i64>,
    pub sku: String,
    /// Units added (positive) or removed (negative).
    pub qty: i64,
    /// Cost per unit of added stock.
    #[serde(default, deserialize_with = "crate::amount::money_opt")]
    #[schema(value_type = Option<String>)]
    pub unit_cost: Option<Decimal>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdjustmentResult {
    pub agent_id: Option<i64>,
    pub sku: String,
    pub qty: i64,
    #[schema(value_type = String)]
    pub avg_cost: Decimal,
    pub journal_entry_id: i64,
}

/// The most units one stock adjustment adds or removes.
pub const MAX_ADJUST: i64 = 100_000_000;

/// Opening stock or a stock-count correction by HQ. Moves goods, posts no money, and is
/// recorded as a journal entry (without postings) for the audit trail.
pub fn adjust(conn: &mut PgConnection, who: &Principal, adj: &Adjustment) -> Result<AdjustmentResult, AppError> {
    who.require_hq()?;
    if adj.qty == 0 || adj.qty.abs() > MAX_ADJUST {
        return Err(AppError::validation(format!("qty must be a non-zero number of units (at most {MAX_ADJUST} either way)")));
    }
    if adj.reason.trim().is_empty() {
        return Err(AppError::validation("reason must say why the stock changes"));
    }
    let unit_cost = adj.unit_cost.unwrap_or_default();
    crate::catalog::prices::check_amount("unit_cost", unit_cost)?;
    if adj.qty > 0 && adj.unit_cost.is_none() {
        return Err(AppError::validation("unit_cost is required when adding stock"));
    }
    crate::catalog::get_product(conn, who.brand_id, &adj.sku).map_err(|_| AppError::validation(format!("product {} does not exist", adj.sku)))?;
    let holder = match adj.agent_id {
        Some(id) => {
            let agent = crate::tree::store::find(conn, who.brand_id, id)?.ok_or_else(|| AppError::validation(format!("agent {id} does not exist")))?;
            if agent.status == "exited" {
                return Err(AppError::conflict("agent_exited", format!("agent {id} has exited")));
            }
            Holder::Agent(id)
        }
        None => Holder::Hq,
    };
    let mut locked = lock(conn, who.brand_id, [(holder, adj.sku.clone())])?;
    let moved_cost = if adj.qty > 0 {
        locked.put(holder, &adj.sku, adj.qty, unit_cost)?;
        unit_cost
    } else {
        locked.take(holder, &adj.sku, -adj.qty)?
    };
    locked.save(conn, who.brand_id)?;
    let now = chrono::Utc::now();
    let entry = crate::ledger::post(
        conn,
        who.brand_id,
        &crate::ledger::Entry { kind: "adjustment", occurred_at: now, memo: Some(adj.reason.trim()), created_by: &who.actor(), ..Default::default() },
        &[],
    )?;
    let agent = adj.agent_id;
    let (from, to) = if adj.qty > 0 { (None, agent) } else { (agent, None) };
    record_moves(
        conn,
        who.brand_id,
        &[Move {
            kind: "adjustment",
            sku: &adj.sku,
            from,
            to,
            qty: adj.qty.abs(),
            unit_cost: moved_cost,
            order_id: None,
            refund_id: None,
            reason: Some(adj.reason.trim()),
        }],
    )?;
    let level = locked.level(holder, &adj.sku);
    let result = AdjustmentResult { agent_id: adj.agent_id, sku: adj.sku.clone(), qty: level.qty, avg_cost: level.avg_cost, journal_entry_id: entry };
    let target = adj.agent_id.map_or_else(|| format!("hq_stock:{}", adj.sku), |a| format!("stock:{a}:{}", adj.sku));
    crate::audit::change(conn, who, "stock.adjust", target, Some(adj), Some(&result))?;
    Ok(result)
}
