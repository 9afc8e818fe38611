//! The payout file: approved withdrawals for the bank's batch transfer (payee, whole
//! account, amount, fee, tax, net), CSV or XLSX.
//!
//! Each withdrawal belongs to exactly one batch — the first file that carried it — so the
//! bank is never handed the same withdrawal in two batches. `status=approved` gives every
//! withdrawal awaiting payment, each with its batch (new ones get the next batch number at
//! that download); `batch=N` gives batch N exactly, byte-identical forever (only fields that
//! never change are in it). Downloading again without new approvals gives the same bytes.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use rust_xlsxwriter::{DocProperties, Format, Workbook};
use serde::Serialize;

use super::withdrawals::Row;
use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{payout_batches, withdrawals};
use crate::settlement::export::ExportFormat;

const HEADERS: [&str; 11] = [
    "批次 Batch",
    "提现单号 Withdrawal",
    "代理编号 Agent",
    "收款方式 Method",
    "户名 Name",
    "账号 Account",
    "开户行 Bank",
    "提现金额 Amount",
    "手续费 Fee",
    "代扣税 Tax",
    "实付 Net",
];

/// Which withdrawals a file carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Every approved withdrawal (new ones join the next batch).
    Approved,
    /// One batch, as it was first exported.
    Batch(i32),
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Batch {
    pub no: i32,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub count: i64,
    #[schema(value_type = String)]
    pub net: Decimal,
    /// How many of its withdrawals are paid, failed, still approved.
    pub paid: i64,
    pub failed: i64,
    pub approved: i64,
}

/// The file's bytes, and the batch this download opened (None when nothing was new).
pub fn export(conn: &mut PgConnection, who: &Principal, sel: Selection, format: ExportFormat) -> Result<(Vec<u8>, Option<i32>), AppError> {
    who.require_hq()?;
    let mut opened = None;
    let rows: Vec<Row> = match sel {
        Selection::Batch(no) => {
            let exists: bool = diesel::select(diesel::dsl::exists(payout_batches::table.find((who.brand_id, no)))).get_result(conn)?;
            if !exists {
                return Err(AppError::not_found(format!("payout batch {no}")));
            }
            withdrawals::table
                .filter(withdrawals::brand_id.eq(who.brand_id))
                .filter(withdrawals::batch_no.eq(no))
                .order(withdrawals::id)
                .select(Row::as_select())
                .load(conn)?
        }
        Selection::Approved => {
            // one numbering of batches per brand; the rows are locked in id order
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('payout_batches', $1))")
                .bind::<diesel::sql_types::BigInt, _>(who.brand_id)
                .execute(conn)?;
            let mut rows: Vec<Row> = withdrawals::table
                .filter(withdrawals::brand_id.eq(who.brand_id))
                .filter(withdrawals::status.eq("approved"))
                .order(withdrawals::id)
                .select(Row::as_select())
                .for_update()
                .load(conn)?;
            let new: Vec<i64> = rows.iter().filter(|r| r.batch_no.is_none()).map(|r| r.id).collect();
            if !new.is_empty() {
                let last: Option<i32> =
                    payout_batches::table.filter(payout_batches::brand_id.eq(who.brand_id)).select(diesel::dsl::max(payout_batches::no)).first(conn)?;
                let no = last.unwrap_or(0) + 1;
                let now = Utc::now();
                diesel::insert_into(payout_batches::table)
                    .values((
                        payout_batches::brand_id.eq(who.brand_id),
                        payout_batches::no.eq(no),
                        payout_batches::created_at.eq(now),
                        payout_batches::created_by.eq(who.actor()),
                    ))
                    .execute(conn)?;
                diesel::update(withdrawals::table.filter(withdrawals::brand_id.eq(who.brand_id)).filter(withdrawals::id.eq_any(&new)))
                    .set((withdrawals::batch_no.eq(no), withdrawals::exported_at.eq(now)))
                    .execute(conn)?;
                for r in rows.iter_mut().filter(|r| r.batch_no.is_none()) {
                    r.batch_no = Some(no);
                }
                let net: Decimal = rows.iter().filter(|r| r.batch_no == Some(no)).map(Row::net).sum();
                crate::audit::record(
                    conn,
                    who,
                    "payouts.export",
                    format!("batch:{no}"),
                    None,
                    Some(serde_json::json!({ "withdrawals": new, "net": crate::audit::money(net) })),
                )?;
                opened = Some(no);
            }
            rows
        }
    };
    // a time fixed by the rows (the newest batch in the file), not by the download
    let nos: Vec<i32> = rows.iter().filter_map(|r| r.batch_no).collect();
    let created: DateTime<Utc> = payout_batches::table
        .filter(payout_batches::brand_id.eq(who.brand_id))
        .filter(payout_batches::no.eq_any(&nos))
        .select(diesel::dsl::max(payout_batches::created_at))
        .first::<Option<DateTime<Utc>>>(conn)?
        .unwrap_or(DateTime::UNIX_EPOCH);
    let bytes = match format {
        ExportFormat::Csv => csv_bytes(&rows)?,
        ExportFormat::Xlsx => xlsx_bytes(&rows, created)?,
    };
    Ok((bytes, opened))
}

fn cells(r: &Row) -> ([String; 7], [Decimal; 4]) {
    let cents = |mut d: Decimal| {
        d.rescale(2);
        d
    };
    (
        [
            r.batch_no.map(|n| n.to_string()).unwrap_or_default(),
            r.id.to_string(),
            r.agent_id.to_string(),
            r.payee_method.clone().unwrap_or_default(),
            r.payee_name.clone().unwrap_or_default(),
            r.payee_account.clone().unwrap_or_default(),
            r.payee_bank.clone().unwrap_or_default(),
        ],
        [cents(r.amount), cents(r.fee), cents(r.tax), cents(r.net())],
    )
}

fn totals(rows: &[Row]) -> [Decimal; 4] {
    let mut t = [Decimal::ZERO; 4];
    for r in rows {
        for (t, v) in t.iter_mut().zip(cells(r).1) {
            *t += v;
        }
    }
    t
}

fn csv_bytes(rows: &[Row]) -> Result<Vec<u8>, AppError> {
    let err = |e: csv::Error| AppError::internal(format!("csv: {e}"));
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record(HEADERS).map_err(err)?;
        for r in rows {
            let (text, money) = cells(r);
            w.write_record(text.iter().cloned().chain(money.iter().map(Decimal::to_string))).map_err(err)?;
        }
        let t = totals(rows);
        let mut last = vec!["合计 Total".to_owned(), rows.len().to_string()];
        last.extend(std::iter::repeat_n(String::new(), 5));
        last.extend(t.iter().map(Decimal::to_string));
        w.write_record(last).map_err(err)?;
        w.flush().map_err(|e| AppError::internal(format!("csv: {e}")))?;
    }
    Ok(out)
}

fn xlsx_bytes(rows: &[Row], created: DateTime<Utc>) -> Result<Vec<u8>, AppError> {
    let err = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    book.set_properties(&DocProperties::new().set_title("agent-ledger payouts").set_creation_datetime(&created));
    let sheet = book.add_worksheet();
    sheet.set_name("payouts").map_err(err)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_with_format(0, c as u16, *h, &bold).map_err(err)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let (text, m) = cells(r);
        for (c, v) in text.iter().enumerate() {
            // account numbers stay text: a spreadsheet would round a 19-digit number
            sheet.write(i as u32 + 1, c as u16, v.as_str()).map_err(err)?;
        }
        for (c, v) in m.iter().enumerate() {
            sheet.write_with_format(i as u32 + 1, (7 + c) as u16, *v, &money).map_err(err)?;
        }
    }
    let r = rows.len() as u32 + 1;
    sheet.write_with_format(r, 0, "合计 Total", &bold).map_err(err)?;
    sheet.write_with_format(r, 1, rows.len() as u32, &bold).map_err(err)?;
    for (c, v) in totals(rows).iter().enumerate() {
        sheet.write_with_format(r, (7 + c) as u16, *v, &money).map_err(err)?;
    }
    book.save_to_buffer().map_err(err)
}

/// The batches, newest first, with how far each has got.
pub fn batches(conn: &mut PgConnection, who: &Principal) -> Result<Vec<Batch>, AppError> {
    who.require_hq()?;
    #[derive(QueryableByName)]
    struct B {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        no: i32,
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        created_at: DateTime<Utc>,
        #[diesel(sql_type = diesel::sql_types::Text)]
        created_by: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
        #[diesel(sql_type = diesel::sql_types::Numeric)]
        net: Decimal,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        paid: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        failed: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        approved: i64,
    }
    let rows: Vec<B> = diesel::sql_query(
        "SELECT b.no, b.created_at, b.created_by, count(w.id) AS count, coalesce(sum(w.amount - w.fee - w.tax), 0) AS net,
                count(*) FILTER (WHERE w.status = 'paid') AS paid, count(*) FILTER (WHERE w.status = 'failed') AS failed,
                count(*) FILTER (WHERE w.status = 'approved') AS approved
           FROM payout_batches b LEFT JOIN withdrawals w ON w.brand_id = b.brand_id AND w.batch_no = b.no
          WHERE b.brand_id = $1 GROUP BY b.no, b.created_at, b.created_by ORDER BY b.no DESC LIMIT 200",
    )
    .bind::<diesel::sql_types::BigInt, _>(who.brand_id)
    .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|b| {
            let mut net = b.net;
            net.rescale(2);
            Batch { no: b.no, created_at: b.created_at, created_by: b.created_by, count: b.count, net, paid: b.paid, failed: b.failed, approved: b.approved }
        })
        .collect())
}
