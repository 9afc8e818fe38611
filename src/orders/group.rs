//! Group commit of `POST /orders`: concurrent orders share one transaction. A request joins
//! a queue; a few workers each take whatever is waiting (up to `MAX_GROUP`) and place it as
//! one group (`place::place_many`: one statement per table, one commit). Each order keeps
//! its own result, its own Idempotency-Key and its own refusal: one order short of stock
//! does not fail the others. If the group's transaction fails as a whole (a deadlock, a
//! lost connection), each of its orders is tried again alone, so no order pays for another.
//!
//! Nothing waits for a group to fill: a worker takes what is queued the moment it is free,
//! so a lone order is placed at once and groups grow only when the database is busy.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use actix_web::http::StatusCode;
use diesel::prelude::*;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::{OrderRequest, OrderView};
use crate::auth::Principal;
use crate::db::{self, Pool};
use crate::error::AppError;
use crate::idempotency::{self, Kept, StoredResponse};

/// Orders per transaction at most.
pub const MAX_GROUP: usize = 64;
/// Groups in flight at once.
pub const WORKERS: usize = 2;
/// The scope single orders are kept under (the batch's orders too).
pub const SCOPE: &str = "POST /orders";

/// One order as the queue carries it.
#[derive(Clone)]
pub struct Job {
    pub who: Principal,
    pub key: Option<String>,
    pub req: OrderRequest,
}

/// An order's answer, and whether its buyer still waits for activation (首批进货: the
/// caller then runs `activation::after_purchase`; most buyers are active and skip it).
pub type Answer = Result<(StoredResponse, bool), AppError>;

type Reply = oneshot::Sender<Answer>;

/// The queue and its workers, started on first use on a thread of their own.
pub struct GroupCommit {
    pool: Pool,
    queue: OnceLock<mpsc::Sender<(Job, Reply)>>,
}

impl GroupCommit {
    pub fn new(pool: Pool) -> Self {
        GroupCommit { pool, queue: OnceLock::new() }
    }

    fn queue(&self) -> &mpsc::Sender<(Job, Reply)> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(4 * MAX_GROUP * WORKERS);
            let pool = self.pool.clone();
            // a thread and runtime of their own, not one of the HTTP workers' (which actix may
            // restart): the workers end when the last sender (the app state) is dropped
            let started = std::thread::Builder::new().name("order-groups".into()).spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
                    log::error!("no runtime for the order groups: orders are refused");
                    return;
                };
                runtime.block_on(async move {
                    let rx = Arc::new(Mutex::new(rx));
                    let workers: Vec<_> = (0..WORKERS).map(|_| tokio::spawn(worker(pool.clone(), rx.clone()))).collect();
                    for w in workers {
                        let _ = w.await;
                    }
                });
            });
            if let Err(e) = started {
                log::error!("the order groups' thread did not start: {e}");
            }
            tx
        })
    }

    /// Places one order with the orders waiting beside it; its own answer.
    pub async fn place(&self, job: Job) -> Answer {
        let (reply, answer) = oneshot::channel();
        self.queue().send((job, reply)).await.map_err(|_| AppError::unavailable("orders are not being taken right now"))?;
        answer.await.map_err(|_| AppError::internal("the order's group ended without an answer"))?
    }
}

async fn worker(pool: Pool, queue: Arc<Mutex<mpsc::Receiver<(Job, Reply)>>>) {
    loop {
        let mut taken = Vec::new();
        {
            let mut queue = queue.lock().await;
            match queue.recv().await {
                Some(first) => taken.push(first),
                None => return, // the server is gone
            }
            while taken.len() < MAX_GROUP {
                match queue.try_recv() {
                    Ok(next) => taken.push(next),
                    Err(_) => break,
                }
            }
        }
        // in a task of its own: a panic (a bug) fails this group's orders, not the worker
        if tokio::spawn(run(pool.clone(), taken)).await.is_err() {
            log::error!("a group of orders panicked; its orders were answered with an error");
        }
    }
}

/// Places what a worker took: one group per brand, each order answered.
async fn run(pool: Pool, taken: Vec<(Job, Reply)>) {
    // a group is of one brand
    let mut by_brand: HashMap<i64, Vec<(Job, Reply)>> = HashMap::new();
    for (job, reply) in taken {
        by_brand.entry(job.who.brand_id).or_default().push((job, reply));
    }
    for (_, group) in by_brand {
        let (jobs, replies): (Vec<Job>, Vec<Reply>) = group.into_iter().unzip();
        let n = jobs.len();
        let together = {
            let jobs = jobs.clone();
            db::transaction(&pool, move |conn| place_answered(conn, &jobs)).await
        };
        match together {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            // the whole failed: each alone, so that no order pays for another's failure
            Err(_) if n > 1 => {
                for (job, reply) in jobs.into_iter().zip(replies) {
                    let alone = db::transaction(&pool, move |conn| place_answered(conn, std::slice::from_ref(&job))).await;
                    let _ = reply.send(alone.and_then(|mut a| a.pop().ok_or_else(|| AppError::internal("no answer"))?));
                }
            }
            Err(e) => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
        }
    }
}

/// `place_group`, with each answer told whether its buyer still waits for activation: one
/// query for the group instead of a transaction per order after it.
fn place_answered(conn: &mut PgConnection, jobs: &[Job]) -> Result<Vec<Answer>, AppError> {
    let answers = place_group(conn, jobs)?;
    let buyers: Vec<i64> = jobs.iter().zip(&answers).filter(|(_, a)| a.is_ok()).filter_map(|(j, _)| super::purchase_buyer(&j.who, &j.req)).collect();
    let waiting = crate::tree::activation::waiting(conn, jobs.first().map_or(0, |j| j.who.brand_id), &buyers)?;
    Ok(jobs.iter().zip(answers).map(|(j, a)| a.map(|r| (r, super::purchase_buyer(&j.who, &j.req).is_some_and(|b| waiting.contains(&b))))).collect())
}

/// Places a group of orders of one brand in the caller's transaction, each under its own
/// key: one answer per job, in order.
pub fn place_group(conn: &mut PgConnection, jobs: &[Job]) -> Result<Vec<Result<StoredResponse, AppError>>, AppError> {
    let Some(brand_id) = jobs.first().map(|j| j.who.brand_id) else { return Ok(Vec::new()) };
    let principals: Vec<String> = jobs.iter().map(|j| j.who.actor()).collect();
    let hashes = jobs.iter().map(|j| idempotency::request_hash(SCOPE, &j.req)).collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<(&str, &str)> = jobs.iter().zip(&principals).filter_map(|(j, p)| Some((p.as_str(), j.key.as_deref()?))).collect();
    let kept = idempotency::claim_many(conn, brand_id, &keys)?;

    enum Fate {
        Answered(Result<StoredResponse, AppError>),
        /// The same caller and key as an earlier job of this group: its answer.
        SameAs(usize),
        Place,
    }
    let mut first_of: HashMap<(&str, &str), usize> = HashMap::new();
    let mut fates = Vec::with_capacity(jobs.len());
    for (i, j) in jobs.iter().enumerate() {
        let Some(key) = j.key.as_deref() else {
            fates.push(Fate::Place);
            continue;
        };
        if let Some(&earlier) = first_of.get(&(principals[i].as_str(), key)) {
            fates.push(Fate::SameAs(earlier));
            continue;
        }
        first_of.insert((principals[i].as_str(), key), i);
        fates.push(match kept.get(&(principals[i].clone(), key.to_owned())) {
            Some((hash, _, _)) if *hash != hashes[i] => Fate::Answered(Err(conflict())),
            Some((_, status, body)) => Fate::Answered(Ok(StoredResponse { status: *status as u16, body: body.clone(), replayed: true })),
            None => Fate::Place,
        });
    }

    let to_place: Vec<usize> = (0..jobs.len()).filter(|i| matches!(fates[*i], Fate::Place)).collect();
    let reqs: Vec<(&Principal, &OrderRequest)> = to_place.iter().map(|i| (&jobs[*i].who, &jobs[*i].req)).collect();
    let placed = super::place::place_many(conn, &reqs)?;
    let mut answers: Vec<Option<Result<StoredResponse, AppError>>> = fates.iter().map(|_| None).collect();
    let (mut to_keep, mut audited): (Vec<Kept>, Vec<(usize, &OrderView)>) = (Vec::new(), Vec::new());
    let placed: Vec<(usize, Result<OrderView, AppError>)> = to_place.into_iter().zip(placed).collect();
    for (i, outcome) in &placed {
        answers[*i] = Some(match outcome {
            Ok(order) => {
                let body = serde_json::to_string(order).map_err(|e| AppError::internal(format!("response serialisation: {e}")))?;
                if let Some(key) = &jobs[*i].key {
                    to_keep.push(Kept {
                        principal: principals[*i].clone(),
                        key: key.clone(),
                        request_hash: hashes[*i].clone(),
                        status: StatusCode::CREATED.as_u16(),
                        body: body.clone(),
                    });
                }
                audited.push((*i, order));
                Ok(StoredResponse { status: StatusCode::CREATED.as_u16(), body, replayed: false })
            }
            Err(e) => Err(e.clone()),
        });
    }
    idempotency::keep_many(conn, brand_id, &to_keep)?;
    // HQ placing an order is in the audit log; the chains are taken in one order, so two
    // groups never wait for each other's chain heads in opposite directions
    audited.sort_by_key(|(i, _)| (jobs[*i].who.user_id(), jobs[*i].who.request % crate::audit::CHAINS));
    for (i, order) in &audited {
        let after = serde_json::json!({ "kind": order.kind, "amount": order.amount, "placed_at": order.placed_at });
        crate::audit::record(conn, &jobs[*i].who, "order.create", format!("order:{}", order.id), None, Some(after))?;
    }
    if audited.len() > 1 {
        let ids: Vec<i64> = audited.iter().map(|(_, o)| o.id).collect();
        super::store::lock_figure_shards(conn, brand_id, &ids)?;
    }
    for (i, fate) in fates.into_iter().enumerate() {
        answers[i] = Some(match fate {
            Fate::Answered(a) => a,
            Fate::Place => continue,
            Fate::SameAs(earlier) => match answers[earlier].as_ref() {
                Some(Ok(first)) if hashes[earlier] == hashes[i] => Ok(StoredResponse { replayed: true, ..first.clone() }),
                Some(Ok(_)) => Err(conflict()),
                Some(Err(e)) => Err(e.clone()),
                None => Err(AppError::internal("an order of the group without an answer")),
            },
        });
    }
    answers.into_iter().map(|a| a.ok_or_else(|| AppError::internal("an order of the group without an answer"))).collect()
}

fn conflict() -> AppError {
    AppError::conflict("idempotency_conflict", "this Idempotency-Key was already used with a different request")
}
