//! The payout file of a closed month, as CSV (UTF-8 with BOM, so Excel reads Chinese right)
//! or XLSX: one row per agent with the statement's columns, bilingual headers, a totals row.
//! The first download is stored; every later download returns the same bytes.

use diesel::prelude::*;
use rust_decimal::Decimal;
use rust_xlsxwriter::{DocProperties, Format, Workbook};
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::{agents, period_exports, statements, tiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Result<Self, AppError> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            _ => Err(AppError::bad_request("invalid_query", "format must be csv or xlsx")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

const TEXT_HEADERS: [&str; 4] = ["代理ID Agent ID", "姓名 Name", "手机 Phone", "等级 Tier"];
const MONEY_HEADERS: [&str; 15] = [
    "期初余额 Opening balance",
    "进货收入 Internal-sale proceeds",
    "级差 Differential",
    "平级奖 Peer bonus",
    "推荐奖 Referral bonus",
    "团队返利 Team rebate",
    "扣回 Clawbacks",
    "提现 Withdrawals",
    "其他 Other",
    "期末余额 Closing balance",
    "团队业绩 Team volume",
    "进货额 Purchases",
    "内部销售额 Internal sales",
    "零售额 Retail sales",
    "应付 Payable",
];
const UNIT_HEADERS: [&str; 3] = ["进货件数 Purchase units", "内部销售件数 Internal sale units", "零售件数 Retail units"];

type Row = (i64, String, String, String, [Decimal; 15], [i64; 3]);

/// Statement rows by agent id, with the payable last. Pay through withdrawals and the payout
/// file (GET /payouts/export), never from this file: it is the month's record.
fn rows(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<Vec<Row>, AppError> {
    type Db = (
        i64,
        String,
        String,
        String,
        (Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Decimal, Option<Decimal>),
        (i64, i64, i64),
    );
    let raw: Vec<Db> = statements::table
        .inner_join(agents::table.on(agents::brand_id.eq(statements::brand_id).and(agents::id.eq(statements::agent_id))))
        .inner_join(tiers::table.on(tiers::brand_id.eq(agents::brand_id).and(tiers::id.eq(agents::tier_id))))
        .filter(statements::brand_id.eq(brand_id))
        .filter(statements::month.eq(month))
        .order(statements::agent_id)
        .select((
            statements::agent_id,
            agents::name,
            agents::phone,
            tiers::name,
            (
                statements::opening_balance,
                statements::proceeds,
                statements::differential,
                statements::peer_bonus,
                statements::referral_bonus,
                statements::team_rebate,
                statements::clawbacks,
                statements::withdrawals,
                statements::other,
                statements::closing_balance,
                statements::team_volume,
                statements::purchases_amount,
                statements::internal_sales_amount,
                statements::retail_sales_amount,
                statements::payable,
            ),
            (statements::purchases_units, statements::internal_sales_units, statements::retail_sales_units),
        ))
        .load(conn)?;
    Ok(raw
        .into_iter()
        .map(|(id, name, phone, tier, m, u)| {
            // withdrawable at close (after the hold, less withdrawals asked for or approved);
            // months closed before it was kept show the positive closing balance, as they did
            let payable = m.14.unwrap_or(m.9.max(Decimal::ZERO));
            (id, name, phone, tier, [m.0, m.1, m.2, m.3, m.4, m.5, m.6, m.7, m.8, m.9, m.10, m.11, m.12, m.13, payable].map(cents), [u.0, u.1, u.2])
        })
        .collect())
}

fn cents(mut d: Decimal) -> Decimal {
    d.rescale(2);
    d
}

fn totals(rows: &[Row]) -> ([Decimal; 15], [i64; 3]) {
    let mut money = [Decimal::ZERO; 15];
    let mut units = [0i64; 3];
    for r in rows {
        for (t, v) in money.iter_mut().zip(r.4) {
            *t += v;
        }
        for (t, v) in units.iter_mut().zip(r.5) {
            *t += v;
        }
    }
    (money.map(cents), units)
}

/// The CSV file's head (BOM, bilingual headers) and tail (the totals row); PostgreSQL puts
/// the statement lines between them (`store::export::store_csv`).
fn csv_head_and_tail(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<(Vec<u8>, Vec<u8>), AppError> {
    let err = |e: csv::Error| AppError::internal(format!("csv: {e}"));
    let record = |fields: Vec<String>| -> Result<Vec<u8>, AppError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&fields).map_err(err)?;
        w.into_inner().map_err(|e| AppError::internal(format!("csv: {e}")))
    };
    let mut head = "\u{feff}".as_bytes().to_vec();
    head.extend(record(TEXT_HEADERS.iter().chain(&MONEY_HEADERS).chain(&UNIT_HEADERS).map(|h| h.to_string()).collect())?);
    let (money, units) = super::store::export::totals(conn, brand_id, month)?;
    let mut total = vec!["合计 Total".to_string(), String::new(), String::new(), String::new()];
    total.extend(money.map(cents).iter().map(Decimal::to_string));
    total.extend(units.iter().map(i64::to_string));
    Ok((head, record(total)?))
}

fn xlsx_bytes(rows: &[Row], month: &str, created: chrono::DateTime<chrono::Utc>) -> Result<Vec<u8>, AppError> {
    let err = |e: rust_xlsxwriter::XlsxError| AppError::internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    // a fixed creation time (the close), so the file does not depend on when it was made
    book.set_properties(&DocProperties::new().set_title(&format!("agent-ledger settlement {month}")).set_creation_datetime(&created));
    let sheet = book.add_worksheet();
    sheet.set_name(month).map_err(err)?;
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.00");
    let headers: Vec<&str> = TEXT_HEADERS.iter().chain(&MONEY_HEADERS).chain(&UNIT_HEADERS).copied().collect();
    for (c, h) in headers.iter().enumerate() {
        sheet.write_with_format(0, c as u16, *h, &bold).map_err(err)?;
    }
    let write_row =
        |sheet: &mut rust_xlsxwriter::Worksheet, r: u32, lead: [String; 4], m: &[Decimal; 15], u: &[i64; 3], fmt: &Format| -> Result<(), AppError> {
            for (c, v) in lead.iter().enumerate() {
                sheet.write_with_format(r, c as u16, v.as_str(), fmt).map_err(err)?;
            }
            for (i, v) in m.iter().enumerate() {
                sheet.write_with_format(r, (4 + i) as u16, *v, &money).map_err(err)?;
            }
            for (i, v) in u.iter().enumerate() {
                sheet.write_with_format(r, (19 + i) as u16, *v as i32, fmt).map_err(err)?;
            }
            Ok(())
        };
    let plain = Format::new();
    for (i, (id, name, phone, tier, m, u)) in rows.iter().enumerate() {
        write_row(sheet, i as u32 + 1, [id.to_string(), name.clone(), phone.clone(), tier.clone()], m, u, &plain)?;
    }
    let (m, u) = totals(rows);
    write_row(sheet, rows.len() as u32 + 1, ["合计 Total".into(), String::new(), String::new(), String::new()], &m, &u, &bold)?;
    book.save_to_buffer().map_err(err)
}

/// The export of a closed month: stored bytes if it was downloaded before, else made now
/// and stored (a concurrent first download keeps whichever was stored first).
pub fn export(conn: &mut PgConnection, who: &Principal, month: &str, format: ExportFormat) -> Result<Vec<u8>, AppError> {
    who.require_hq()?;
    crate::period::parse_month(month)?;
    let period = super::store::require_closed(conn, who.brand_id, month)?;
    let stored = |conn: &mut PgConnection| -> Result<Option<Vec<u8>>, AppError> {
        Ok(period_exports::table.find((who.brand_id, month, format.as_str())).select(period_exports::content).first(conn).optional()?)
    };
    if let Some(bytes) = stored(conn)? {
        return Ok(bytes);
    }
    let made = match format {
        ExportFormat::Csv => {
            let (head, tail) = csv_head_and_tail(conn, who.brand_id, month)?;
            super::store::export::store_csv(conn, who.brand_id, month, &head, &tail)?
        }
        ExportFormat::Xlsx => {
            let bytes = xlsx_bytes(&rows(conn, who.brand_id, month)?, month, period.closed_at)?;
            let stored_now = diesel::insert_into(period_exports::table)
                .values((
                    period_exports::brand_id.eq(who.brand_id),
                    period_exports::month.eq(month),
                    period_exports::format.eq(format.as_str()),
                    period_exports::content.eq(&bytes),
                    period_exports::sha256.eq(hex::encode(Sha256::digest(&bytes))),
                ))
                .on_conflict_do_nothing()
                .execute(conn)?;
            (stored_now == 1).then_some(bytes)
        }
    };
    if let Some(bytes) = made {
        return Ok(bytes);
    }
    // a concurrent first download stored its file first: everyone gets that one
    stored(conn)?.ok_or_else(|| AppError::internal("export vanished"))
}
