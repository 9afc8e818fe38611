//! `POST /orders/batch`: up to 1,000 orders in one request, for brands moving their history
//! in (有赞, 微店, a spreadsheet). The orders are placed as one group (`place::place_many`):
//! the same rules and splits as `POST /orders` (which places a group of one), each under its
//! own Idempotency-Key, one result per order — the order or its problem — and one order
//! refused (short of stock, an unknown agent) does not refuse the others. Sending the same
//! batch again answers every order from its key and writes nothing.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::OrderRequest;
use crate::auth::Principal;
use crate::error::AppError;
use crate::idempotency::{self, Kept};

/// The scope single orders are kept under: a batch's order and `POST /orders` with the same
/// key are one request.
const SCOPE: &str = "POST /orders";

pub const MAX_BATCH: usize = 1000;
/// Orders per transaction: the whole batch. (Placed one by one in savepoints, a batch once
/// had to commit every 50 orders — PostgreSQL caches 64 subtransactions per backend; planned
/// in memory and written once it has no savepoints, and one commit per 1,000 orders placed
/// 2,224 orders/s where 50 per commit placed 679: docs/performance.md.)
pub const CHUNK: usize = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchItem {
    /// Required: a retry of the batch answers this order from it.
    pub idempotency_key: String,
    #[serde(flatten)]
    pub order: OrderRequest,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// 1 to 1,000 orders, placed in this order.
    pub orders: Vec<BatchItem>,
}

/// One order's outcome, in the request's order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchResult {
    pub index: usize,
    pub idempotency_key: String,
    /// 201 placed (or answered from its key), else the status `POST /orders` would give.
    pub status: u16,
    /// The order, when placed.
    #[schema(value_type = Option<Object>)]
    pub order: Option<serde_json::Value>,
    /// The problem (problem+json fields), when refused.
    #[schema(value_type = Option<Object>)]
    pub problem: Option<serde_json::Value>,
    /// true: answered from its key (placed by an earlier request), nothing written now.
    pub replayed: bool,
}

/// HQ only (a brand's import). With the results, the buyers of placed purchases that still
/// wait for activation, for the check that follows a purchase (`activation::after_purchase`).
pub fn place_batch(conn: &mut PgConnection, who: &Principal, req: &BatchRequest) -> Result<(Vec<BatchResult>, Vec<i64>), AppError> {
    who.require_hq()?;
    if req.orders.is_empty() || req.orders.len() > MAX_BATCH {
        return Err(AppError::validation(format!("a batch has 1 to {MAX_BATCH} orders (got {})", req.orders.len())));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = req.orders.iter().find(|o| !seen.insert(o.idempotency_key.as_str())) {
        return Err(AppError::validation(format!("idempotency_key {:?} appears twice in the batch", dup.idempotency_key)));
    }
    let mut results = Vec::with_capacity(req.orders.len());
    let mut buyers = Vec::new();
    for (c, chunk) in req.orders.chunks(CHUNK).enumerate() {
        let (r, b) = conn.transaction(|conn| place_chunk(conn, who, chunk, c * CHUNK))?;
        results.extend(r);
        buyers.extend(b);
    }
    buyers.sort_unstable();
    buyers.dedup();
    let waiting = crate::tree::activation::waiting(conn, who.brand_id, &buyers)?;
    Ok((results, waiting))
}

/// One transaction of up to `CHUNK` orders, placed as one group (`place::place_many`).
fn place_chunk(conn: &mut PgConnection, who: &Principal, items: &[BatchItem], offset: usize) -> Result<(Vec<BatchResult>, Vec<i64>), AppError> {
    // every key's lock and what is kept under the keys: two statements for the chunk
    let valid = idempotency::valid_key;
    let principal = who.actor();
    let keys: Vec<(&str, &str)> = items.iter().map(|o| (principal.as_str(), o.idempotency_key.as_str())).filter(|(_, k)| valid(k)).collect();
    let kept = idempotency::claim_many(conn, who.brand_id, &keys)?;
    let mut results: Vec<Option<BatchResult>> = Vec::with_capacity(items.len());
    let mut fresh: Vec<(usize, Vec<u8>)> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let index = offset + i;
        if !valid(&item.idempotency_key) {
            results.push(Some(refused(
                index,
                item,
                AppError::validation("idempotency_key must be 1 to 200 visible ASCII characters, as the Idempotency-Key header"),
            )));
            continue;
        }
        let hash = idempotency::request_hash(SCOPE, &item.order)?;
        results.push(match kept.get(&(principal.clone(), item.idempotency_key.clone())) {
            Some((kept_hash, _, _)) if *kept_hash != hash => {
                Some(refused(index, item, AppError::conflict("idempotency_conflict", "this Idempotency-Key was already used with a different request")))
            }
            Some((_, status, body)) => {
                let order: serde_json::Value = serde_json::from_str(body).map_err(|e| AppError::internal(format!("stored answer: {e}")))?;
                Some(BatchResult {
                    index,
                    idempotency_key: item.idempotency_key.clone(),
                    status: *status as u16,
                    order: Some(order),
                    problem: None,
                    replayed: true,
                })
            }
            None => {
                fresh.push((i, hash));
                None
            }
        });
    }
    let reqs: Vec<(&Principal, &OrderRequest)> = fresh.iter().map(|(i, _)| (who, &items[*i].order)).collect();
    let placed = super::place::place_many(conn, &reqs)?;
    let (mut buyers, mut to_keep) = (Vec::new(), Vec::new());
    let (mut placed_ids, mut placed_amount) = (Vec::new(), rust_decimal::Decimal::ZERO);
    for ((i, hash), outcome) in fresh.into_iter().zip(placed) {
        let item = &items[i];
        results[i] = Some(match outcome {
            Ok(order) => {
                let body = serde_json::to_string(&order).map_err(|e| AppError::internal(format!("response serialisation: {e}")))?;
                buyers.extend(super::purchase_buyer(who, &item.order));
                placed_ids.push(order.id);
                placed_amount += order.amount;
                let value = serde_json::to_value(&order).map_err(|e| AppError::internal(format!("response serialisation: {e}")))?;
                to_keep.push(Kept {
                    principal: principal.clone(),
                    key: item.idempotency_key.clone(),
                    request_hash: hash,
                    status: StatusCode::CREATED.as_u16(),
                    body,
                });
                BatchResult {
                    index: offset + i,
                    idempotency_key: item.idempotency_key.clone(),
                    status: StatusCode::CREATED.as_u16(),
                    order: Some(value),
                    problem: None,
                    replayed: false,
                }
            }
            Err(e) => refused(offset + i, item, e),
        });
    }
    // the answers under their keys, and the batch in the audit log: once each for the chunk
    idempotency::keep_many(conn, who.brand_id, &to_keep)?;
    if !placed_ids.is_empty() {
        let after = serde_json::json!({ "orders": placed_ids.len(), "amount": crate::audit::money(placed_amount), "ids": placed_ids });
        crate::audit::record(conn, who, "order.batch", format!("orders:{}", placed_ids.len()), None, Some(after))?;
    }
    super::store::lock_figure_shards(conn, who.brand_id, &placed_ids)?;
    let results = results.into_iter().collect::<Option<Vec<_>>>().ok_or_else(|| AppError::internal("an order of the batch without a result"))?;
    Ok((results, buyers))
}

fn refused(index: usize, item: &BatchItem, e: AppError) -> BatchResult {
    use actix_web::ResponseError;
    let mut problem = serde_json::json!({ "code": e.code, "detail": e.detail, "status": e.status_code().as_u16() });
    if let (Some(extra), Some(obj)) = (e.extra.as_ref().and_then(|x| x.as_object()), problem.as_object_mut()) {
        for (k, v) in extra {
            obj.entry(k.clone()).or_insert(v.clone());
        }
    }
    BatchResult { index, idempotency_key: item.idempotency_key.clone(), status: e.status_code().as_u16(), order: None, problem: Some(problem), replayed: false }
}
