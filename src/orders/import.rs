//! `agent-ledger import orders.csv`: a brand's order history from another system (有赞,
//! 微店, a spreadsheet) into the books, through `orders::batch` — every order placed as
//! `POST /orders` places it, in batches of up to 1,000, each order under the key it had in
//! the old system. A rerun of the same file answers every order from its key and changes
//! nothing; a refused order (an unknown agent, short of stock, a closed month) is reported
//! with its line and does not stop the others.
//!
//! The file: UTF-8 CSV with a header, one row per order line; consecutive rows with the
//! same `key` are the lines of one order.
//!
//! | column | |
//! |---|---|
//! | `key` | the order's id in the old system (1–190 characters) |
//! | `kind` | `purchase` or `retail` |
//! | `placed_at` | RFC 3339, e.g. `2025-03-08T10:00:00+08:00`; inside an open month |
//! | `agent_phone` | the buyer of a purchase, the seller of a retail sale (an agent's login phone) |
//! | `supply` | purchases: `hq`, `upline` or empty (the brand's default) |
//! | `customer_name`, `customer_phone` | retail: the customer (optional) |
//! | `sku`, `qty` | the line |
//! | `unit_price` | retail: what the customer paid per unit (empty: the retail price) |

use std::collections::HashSet;
use std::io::Read;

use chrono::{DateTime, FixedOffset};
use diesel::prelude::*;
use serde::Deserialize;

use super::batch::{place_batch, BatchItem, BatchRequest, MAX_BATCH};
use super::{Customer, OrderRequest, PurchaseLine, PurchaseRequest, RetailLine, RetailRequest};
use crate::error::AppError;

#[derive(Debug, Deserialize)]
struct Row {
    key: String,
    kind: String,
    placed_at: String,
    agent_phone: String,
    #[serde(default)]
    supply: String,
    #[serde(default)]
    customer_name: String,
    #[serde(default)]
    customer_phone: String,
    sku: String,
    qty: String,
    #[serde(default)]
    unit_price: String,
}

/// An order of the file: its first line number, its key and what `POST /orders` takes.
#[derive(Debug)]
pub struct FileOrder {
    pub line: u64,
    pub key: String,
    agent_phone: String,
    order: Result<OrderRequest, String>,
}

/// A refused order: the file's line, its key, the status and problem code, and why.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub line: u64,
    pub key: String,
    pub status: u16,
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct Summary {
    pub rows: u64,
    pub orders: u64,
    /// Placed by this run.
    pub placed: u64,
    /// Already in the books from an earlier run (answered from their key).
    pub already: u64,
    pub refused: Vec<Refusal>,
}

/// Reads the file into orders, each checked for shape (a bad row refuses its order only).
pub fn read(input: impl Read) -> Result<(u64, Vec<FileOrder>), AppError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(input);
    let mut orders: Vec<FileOrder> = Vec::new();
    let mut rows = 0;
    for (i, rec) in reader.deserialize::<Row>().enumerate() {
        let line = i as u64 + 2; // the header is line 1
        rows += 1;
        let row = rec.map_err(|e| AppError::validation(format!("line {line}: {e}")))?;
        match orders.last_mut() {
            Some(o) if o.key == row.key => {
                let added = o.order.as_mut().map_err(|e| e.clone()).and_then(|order| add_line(order, &row));
                if let Err(e) = added {
                    o.order = Err(e);
                }
            }
            _ => {
                let order = start(&row).and_then(|mut order| add_line(&mut order, &row).map(|()| order));
                orders.push(FileOrder { line, key: row.key.clone(), agent_phone: row.agent_phone.clone(), order });
            }
        }
    }
    Ok((rows, orders))
}

fn start(row: &Row) -> Result<OrderRequest, String> {
    if row.key.is_empty() || row.key.len() > 190 || !row.key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("key must be 1 to 190 visible ASCII characters (no spaces): it becomes the order's Idempotency-Key".into());
    }
    let placed_at: DateTime<FixedOffset> =
        DateTime::parse_from_rfc3339(&row.placed_at).map_err(|_| format!("placed_at {:?} is not RFC 3339 (2025-03-08T10:00:00+08:00)", row.placed_at))?;
    match row.kind.as_str() {
        "purchase" => {
            let supply = match row.supply.as_str() {
                "" => None,
                "hq" => Some(crate::brands::SupplyMode::Hq),
                "upline" => Some(crate::brands::SupplyMode::Upline),
                other => return Err(format!("supply {other:?}: hq, upline or empty")),
            };
            Ok(OrderRequest::Purchase(PurchaseRequest { buyer_id: None, supply, lines: Vec::new(), placed_at: Some(placed_at) }))
        }
        "retail" => {
            let customer = match (row.customer_name.as_str(), row.customer_phone.as_str()) {
                ("", "") => None,
                (name, phone) => Some(Customer {
                    name: if name.is_empty() { crate::customers::phone::mask(phone) } else { name.to_owned() },
                    phone: (!phone.is_empty()).then(|| phone.to_owned()),
                }),
            };
            Ok(OrderRequest::Retail(RetailRequest { seller_id: None, customer, lines: Vec::new(), placed_at: Some(placed_at) }))
        }
        other => Err(format!("kind {other:?}: purchase or retail")),
    }
}

fn add_line(order: &mut OrderRequest, row: &Row) -> Result<(), String> {
    let qty: i64 = row.qty.parse().map_err(|_| format!("qty {:?} is not a whole number", row.qty))?;
    match order {
        OrderRequest::Purchase(p) => p.lines.push(PurchaseLine { sku: row.sku.clone(), qty }),
        OrderRequest::Retail(r) => {
            let unit_price = match row.unit_price.as_str() {
                "" => None,
                raw => Some(crate::amount::parse_money(raw).map_err(|e| format!("unit_price: {e}"))?),
            };
            r.lines.push(RetailLine { sku: row.sku.clone(), qty, unit_price });
        }
    }
    Ok(())
}

/// Places the file's orders for brand `code` as its owner, `batch` orders per transaction;
/// `progress` is told how many orders each batch settled.
pub fn import(conn: &mut PgConnection, code: &str, orders: Vec<FileOrder>, rows: u64, batch: usize, progress: &dyn Fn(u64)) -> Result<Summary, AppError> {
    let hq = crate::settlement::cli::owner_of(conn, code)?;
    let mut summary = Summary { rows, orders: orders.len() as u64, ..Default::default() };
    let mut seen = HashSet::new();
    for chunk in orders.chunks(batch.clamp(1, MAX_BATCH)) {
        let phones: Vec<&str> = chunk.iter().map(|o| o.agent_phone.as_str()).collect();
        let ids = crate::tree::ids_by_phone(conn, &hq, &phones)?;
        let mut items = Vec::new();
        let mut lines = Vec::new();
        for o in chunk {
            let key = key_of(&o.key);
            let refuse = |code: &str, detail: String| Refusal { line: o.line, key: o.key.clone(), status: 422, code: code.into(), detail };
            if !seen.insert(o.key.clone()) {
                summary.refused.push(refuse("validation", format!("key {:?} appears again (its rows must be consecutive)", o.key)));
                continue;
            }
            let order = match &o.order {
                Ok(order) => order.clone(),
                Err(e) => {
                    summary.refused.push(refuse("validation", e.clone()));
                    continue;
                }
            };
            let Some(&agent) = ids.get(&o.agent_phone) else {
                summary.refused.push(refuse("unknown_agent", format!("no agent with phone {:?}", o.agent_phone)));
                continue;
            };
            let order = match order {
                OrderRequest::Purchase(p) => OrderRequest::Purchase(PurchaseRequest { buyer_id: Some(agent), ..p }),
                OrderRequest::Retail(r) => OrderRequest::Retail(RetailRequest { seller_id: Some(agent), ..r }),
            };
            lines.push((o.line, o.key.clone()));
            items.push(BatchItem { idempotency_key: key, order });
        }
        if !items.is_empty() {
            let (results, buyers) = place_batch(conn, &hq, &BatchRequest { orders: items })?;
            for buyer in buyers {
                conn.transaction(|conn| crate::tree::activation::after_purchase(conn, hq.brand_id, buyer))?;
            }
            for (r, (line, key)) in results.into_iter().zip(lines) {
                match r.problem {
                    // replayed: an earlier (or a concurrent) run placed it
                    None if r.replayed => summary.already += 1,
                    None => summary.placed += 1,
                    Some(p) => summary.refused.push(Refusal {
                        line,
                        key,
                        status: r.status,
                        code: p["code"].as_str().unwrap_or_default().to_owned(),
                        detail: p["detail"].as_str().unwrap_or_default().to_owned(),
                    }),
                }
            }
        }
        progress(chunk.len() as u64);
    }
    summary.refused.sort_by_key(|r| r.line);
    Ok(summary)
}

/// The Idempotency-Key an imported order is placed under.
pub fn key_of(key: &str) -> String {
    format!("import:{key}")
}

/// For the command line: the file's orders, a progress bar, the summary as text (and the
/// refusals as CSV lines after it).
pub fn run(conn: &mut PgConnection, code: &str, path: &std::path::Path, batch: usize) -> Result<(String, bool), AppError> {
    let file = std::fs::File::open(path).map_err(|e| AppError::validation(format!("cannot read {}: {e}", path.display())))?;
    let (rows, orders) = read(std::io::BufReader::new(file))?;
    let bar = indicatif::ProgressBar::new(orders.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {bar:30} {pos}/{len} orders, {per_sec}, {eta} left")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let s = import(conn, code, orders, rows, batch, &|n| bar.inc(n))?;
    bar.finish_and_clear();
    let mut out = format!(
        "{}: {} rows, {} orders — placed {}, already in the books {}, refused {}\n",
        path.display(),
        s.rows,
        s.orders,
        s.placed,
        s.already,
        s.refused.len()
    );
    if !s.refused.is_empty() {
        out.push_str("line,key,status,code,detail\n");
        for r in &s.refused {
            out.push_str(&format!("{},{:?},{},{},{:?}\n", r.line, r.key, r.status, r.code, r.detail));
        }
    }
    Ok((out, s.refused.is_empty()))
}
