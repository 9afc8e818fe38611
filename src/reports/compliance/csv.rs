//! The compliance report's tables as CSV.

use rust_decimal::Decimal;

use super::ComplianceReport;
use crate::error::AppError;

/// One table of the report as CSV (UTF-8 with BOM).
/// The tables `format=csv` can give.
pub const TABLES: [&str; 6] = ["agents_below", "teams_below", "bought_no_retail", "inventory_loading", "income_disclosure", "retail_findings"];

pub fn csv(report: &ComplianceReport, table: &str) -> Result<Vec<u8>, AppError> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let mut put = |rec: Vec<String>| w.write_record(&rec).map_err(|e| AppError::internal(format!("csv: {e}")));
        let s = |v: &dyn ToString| v.to_string();
        let opt = |v: &Option<Decimal>| v.map(|d| d.to_string()).unwrap_or_default();
        match table {
            "agents_below" | "teams_below" => {
                put(vec![
                    "agent_id".into(),
                    "name".into(),
                    "purchased_amount".into(),
                    "internal_amount".into(),
                    "retail_amount".into(),
                    "retail_share".into(),
                ])?;
                let rows = if table == "agents_below" { &report.agents_below } else { &report.teams_below };
                for r in rows {
                    put(vec![s(&r.agent_id), r.name.clone(), s(&r.purchased_amount), s(&r.internal_amount), s(&r.retail_amount), s(&r.retail_share)])?;
                }
            }
            "bought_no_retail" => {
                put(vec!["agent_id".into(), "name".into(), "purchased_units".into(), "purchased_amount".into()])?;
                for r in &report.bought_no_retail {
                    put(vec![s(&r.agent_id), r.name.clone(), s(&r.purchased_units), s(&r.purchased_amount)])?;
                }
            }
            "inventory_loading" => {
                put(vec!["agent_id".into(), "name".into(), "stock_units".into(), "stock_value".into(), "retail_units".into(), "months_of_cover".into()])?;
                for r in &report.inventory_loading {
                    put(vec![s(&r.agent_id), r.name.clone(), s(&r.stock_units), s(&r.stock_value), s(&r.retail_units), opt(&r.months_of_cover)])?;
                }
            }
            "income_disclosure" => {
                put(vec!["band".into(), "agents".into(), "share_of_agents".into(), "total_net".into()])?;
                for b in &report.income_disclosure.bands {
                    put(vec![b.band.clone(), s(&b.agents), s(&b.share_of_agents), s(&b.total_net)])?;
                }
            }
            "retail_findings" => {
                put(vec![
                    "order_id".into(),
                    "seller_id".into(),
                    "seller_name".into(),
                    "customer_phone".into(),
                    "placed_at".into(),
                    "amount".into(),
                    "reasons".into(),
                ])?;
                for f in &report.retail_findings.listed {
                    put(vec![
                        s(&f.order_id),
                        s(&f.seller_id),
                        f.seller_name.clone(),
                        f.customer_phone.clone().unwrap_or_default(),
                        f.placed_at.to_rfc3339(),
                        s(&f.amount),
                        f.reasons.join(" "),
                    ])?;
                }
            }
            other => {
                return Err(AppError::bad_request(
                    "invalid_query",
                    format!("table {other:?}: one of agents_below, teams_below, bought_no_retail, inventory_loading, income_disclosure, retail_findings"),
                ))
            }
        }
        w.flush().map_err(|e| AppError::internal(format!("csv: {e}")))?;
    }
    Ok(out)
}
