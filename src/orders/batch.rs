//! `POST /orders/batch`: up to 1,000 orders in one request and one transaction, for brands
//! moving their history in (有赞, 微店, a spreadsheet). Each order is placed exactly as
//! `POST /orders` places it — same rules, same splits — in its own savepoint, under its own
//! Idempotency-Key: one result per order, the order or its problem, and one order refused
//! (short of stock, an unknown agent) does not refuse the others. Sending the same batch
//! again answers every order from its key and writes nothing.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::OrderRequest;
use crate::auth::Principal;
use crate::error::AppError;
use crate::idempotency::{self, IdempotencyKey};

pub const MAX_BATCH: usize = 1000;

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

/// HQ only (a brand's import). The buyers of placed purchases, for the activation check
/// that follows each purchase.
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
    for (index, item) in req.orders.iter().enumerate() {
        let key = IdempotencyKey(Some(item.idempotency_key.clone()));
        if item.idempotency_key.is_empty() || item.idempotency_key.len() > 200 || !item.idempotency_key.bytes().all(|b| b.is_ascii_graphic()) {
            results.push(refused(index, item, AppError::validation("idempotency_key must be 1 to 200 visible ASCII characters, as the Idempotency-Key header")));
            continue;
        }
        // a savepoint: a refused order leaves nothing behind and the batch goes on
        let placed = conn.transaction(|conn| idempotency::once(conn, who, &key, "POST /orders", &item.order, StatusCode::CREATED, |conn| super::place(conn, who, &item.order)));
        match placed {
            Ok(stored) => {
                let order: serde_json::Value = serde_json::from_str(&stored.body).map_err(|e| AppError::internal(format!("stored answer: {e}")))?;
                if let Some(buyer) = super::purchase_buyer(who, &item.order) {
                    buyers.push(buyer);
                }
                results.push(BatchResult { index, idempotency_key: item.idempotency_key.clone(), status: stored.status, order: Some(order), problem: None, replayed: stored.replayed });
            }
            // the database itself failing is the batch's failure, not one order's
            Err(e) if e.kind == crate::error::ErrorKind::Internal || e.kind == crate::error::ErrorKind::Unavailable => return Err(e),
            Err(e) => results.push(refused(index, item, e)),
        }
    }
    let placed: Vec<i64> = results.iter().filter_map(|r| r.order.as_ref().and_then(|o| o["id"].as_i64())).collect();
    super::store::lock_figure_shards(conn, who.brand_id, &placed)?;
    buyers.sort_unstable();
    buyers.dedup();
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
