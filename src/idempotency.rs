//! `Idempotency-Key` for every creating write: the first response is stored with a hash of
//! the request, in the same transaction as the write. A retry gets the stored response; the
//! same key with another request is 409 `idempotency_conflict`. Concurrent retries are
//! serialised by a transaction-scoped advisory lock on the key, so exactly one executes.

use std::future::{ready, Ready};

use actix_web::{dev::Payload, http::StatusCode, FromRequest, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::idempotency_keys as ik;

pub const HEADER: &str = "Idempotency-Key";

/// The optional `Idempotency-Key` header, at most 200 characters.
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = match req.headers().get(HEADER) {
            None => Ok(None),
            Some(v) => match v.to_str() {
                // what the document's pattern says: 1 to 200 of '!' to '~'
                Ok(s) if valid_key(s) => Ok(Some(s.to_owned())),
                _ => Err(AppError::bad_request("bad_idempotency_key", "Idempotency-Key must be 1 to 200 visible ASCII characters")),
            },
        };
        ready(key.map(IdempotencyKey))
    }
}

/// What a key may be, header or batch item: 1 to 200 of '!' to '~' (the document's pattern).
pub fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 200 && k.bytes().all(|b| b.is_ascii_graphic())
}

/// A response that can be replayed byte for byte.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    /// Answered from the key (an earlier request wrote it), not written now.
    pub replayed: bool,
}

impl StoredResponse {
    pub fn into_http(self) -> HttpResponse {
        HttpResponse::build(StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK)).content_type("application/json").body(self.body)
    }
}

/// Runs `write` at most once per (caller, key). Call inside the write's transaction.
/// `scope` names the operation (e.g. "POST /agents") and `request` is the parsed body.
pub fn once<T: Serialize>(
    conn: &mut PgConnection,
    who: &Principal,
    key: &IdempotencyKey,
    scope: &str,
    request: &impl Serialize,
    status: StatusCode,
    write: impl FnOnce(&mut PgConnection) -> Result<T, AppError>,
) -> Result<StoredResponse, AppError> {
    let serialise = |value: &T| serde_json::to_string(value).map_err(|e| AppError::internal(format!("response serialisation: {e}")));
    let Some(key) = key.0.as_deref() else {
        let value = write(conn)?;
        return Ok(StoredResponse { status: status.as_u16(), body: serialise(&value)?, replayed: false });
    };
    let principal = who.actor();
    let request_hash = request_hash(scope, request)?;
    crate::db::prepared("SELECT pg_advisory_xact_lock(hashtextextended($1, $2))")
        .bind::<Text, _>(lock_name(&principal, key))
        .bind::<BigInt, _>(who.brand_id)
        .execute(conn)?;
    let existing: Option<(Vec<u8>, i32, String)> =
        ik::table.find((who.brand_id, &principal, key)).select((ik::request_hash, ik::status_code, ik::response_body)).first(conn).optional()?;
    if let Some((hash, status, body)) = existing {
        if hash != request_hash {
            return Err(AppError::conflict("idempotency_conflict", "this Idempotency-Key was already used with a different request"));
        }
        return Ok(StoredResponse { status: status as u16, body, replayed: true });
    }
    let body = serialise(&write(conn)?)?;
    diesel::insert_into(ik::table)
        .values((
            ik::brand_id.eq(who.brand_id),
            ik::principal.eq(&principal),
            ik::key.eq(key),
            ik::request_hash.eq(&request_hash),
            ik::status_code.eq(i32::from(status.as_u16())),
            ik::response_body.eq(&body),
        ))
        .execute(conn)?;
    Ok(StoredResponse { status: status.as_u16(), body, replayed: false })
}

/// The hash a key's request is kept with: the scope and the parsed request (so `"199.5"` and
/// `"199.50"` are one request).
pub fn request_hash(scope: &str, request: &impl Serialize) -> Result<Vec<u8>, AppError> {
    let mut h = Sha256::new();
    h.update(scope.as_bytes());
    h.update([0]);
    h.update(serde_json::to_vec(request).map_err(|e| AppError::internal(e.to_string()))?);
    Ok(h.finalize().to_vec())
}

fn lock_name(principal: &str, key: &str) -> String {
    format!("idem:{principal}:{key}")
}

/// Many keys at once (a batch, a group of orders), each of its caller: every key's lock —
/// the same lock `once` takes, so a batch and a single retry of one of its orders exclude
/// each other — in one statement and in one order (by lock id), then what is already kept
/// under them, in one read; keyed by (principal, key).
pub fn claim_many(
    conn: &mut PgConnection,
    brand_id: i64,
    keys: &[(&str, &str)],
) -> Result<std::collections::HashMap<(String, String), (Vec<u8>, i32, String)>, AppError> {
    if keys.is_empty() {
        return Ok(Default::default());
    }
    let names: Vec<String> = keys.iter().map(|(p, k)| lock_name(p, k)).collect();
    crate::db::prepared("SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(n, $2) AS h FROM unnest($1::text[]) n ORDER BY 1) locks")
        .bind::<diesel::sql_types::Array<Text>, _>(&names)
        .bind::<BigInt, _>(brand_id)
        .execute(conn)?;
    #[derive(QueryableByName)]
    struct KeptRow {
        #[diesel(sql_type = Text)]
        principal: String,
        #[diesel(sql_type = Text)]
        key: String,
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        request_hash: Vec<u8>,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        status_code: i32,
        #[diesel(sql_type = Text)]
        response_body: String,
    }
    // a join with the keys, not `key = ANY(…)`: a 1,000-element array compared against every
    // row of a scan cost 82 ms per batch once the table outgrew its statistics
    let (principals, keys): (Vec<&str>, Vec<&str>) = keys.iter().copied().unzip();
    let kept: Vec<KeptRow> = crate::db::prepared(
        "SELECT k.principal, k.key, k.request_hash, k.status_code, k.response_body
           FROM unnest($2::text[], $3::text[]) AS q(principal, key)
           JOIN idempotency_keys k ON k.brand_id = $1 AND k.principal = q.principal AND k.key = q.key",
    )
    .bind::<BigInt, _>(brand_id)
    .bind::<diesel::sql_types::Array<Text>, _>(&principals)
    .bind::<diesel::sql_types::Array<Text>, _>(&keys)
    .load(conn)?;
    Ok(kept.into_iter().map(|r| ((r.principal, r.key), (r.request_hash, r.status_code, r.response_body))).collect())
}

/// One answer to keep under its caller's key, for `keep_many`.
pub struct Kept {
    pub principal: String,
    pub key: String,
    pub request_hash: Vec<u8>,
    pub status: u16,
    pub body: String,
}

/// Keeps many answers in one statement per 5,000 (keys claimed by `claim_many`).
pub fn keep_many(conn: &mut PgConnection, brand_id: i64, kept: &[Kept]) -> Result<(), AppError> {
    for chunk in kept.chunks(5000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|k| {
                (
                    ik::brand_id.eq(brand_id),
                    ik::principal.eq(&k.principal),
                    ik::key.eq(&k.key),
                    ik::request_hash.eq(&k.request_hash),
                    ik::status_code.eq(i32::from(k.status)),
                    ik::response_body.eq(&k.body),
                )
            })
            .collect();
        diesel::insert_into(ik::table).values(rows).execute(conn)?;
    }
    Ok(())
}
