//! Growth figures of a month (复购, 裂变, 转化) for the brand, a team or one agent, each
//! defined once in docs/compliance.md ("Growth figures"):
//!
//! - customers: distinct phones the scope sold to at retail in the month; `new` had never
//!   bought from the scope before the month, `returning` had;
//! - repurchase rate: of last month's customers, the share who bought again this month;
//! - agent retention: of the agents who bought last month, the share who bought again;
//! - recruitment rate (裂变): agents who joined in the month ÷ agents at the month's start,
//!   with the depth they landed at;
//! - application conversion: applications submitted in the month, approved, and whose new
//!   agent has bought — as at the month's close;
//! - months of retail cover: stock held at close ÷ the month's retail units.
//!
//! Frozen once the month is closed: every input is either written once and dated inside
//! the month (orders, joinings, applications) or read as at the close instant (decisions,
//! first purchases, stock), and a team is the team kept with the month's statements. The
//! brand's figures are also kept, as served, right after the close (they are the expensive
//! ones).

pub mod http;
pub mod store;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::AppError;
use crate::reports::{ratio, Scope};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Growth {
    pub month: String,
    /// brand, self or team
    pub scope: String,
    pub agent_id: Option<i64>,
    /// true: the month is closed and these figures never change.
    pub frozen: bool,
    /// The instant the figures are as at: the close, or now for an open month.
    pub as_of: DateTime<Utc>,
    /// Customers of last month who bought again this month ÷ customers of last month.
    #[schema(value_type = Option<String>)]
    pub repurchase_rate: Option<Decimal>,
    /// Customers of the month who had never bought from the scope before it.
    pub new_customers: i64,
    /// Customers of the month who had bought from the scope before it.
    pub returning_customers: i64,
    /// Agents who bought last month and this month ÷ agents who bought last month.
    #[schema(value_type = Option<String>)]
    pub agent_retention: Option<Decimal>,
    /// New agents of the month ÷ agents at the month's start (裂变).
    #[schema(value_type = Option<String>)]
    pub recruitment_rate: Option<Decimal>,
    /// Applications of the month whose agent has bought ÷ applications of the month.
    #[schema(value_type = Option<String>)]
    pub application_conversion: Option<Decimal>,
    /// Stock units held at close ÷ the month's retail units; null without retail.
    #[schema(value_type = Option<String>)]
    pub months_of_retail_cover: Option<Decimal>,
    /// The counts every rate is made of.
    pub counts: Counts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counts {
    pub customers: i64,
    /// Customers of the month who had never bought from the scope before it.
    pub new_customers: i64,
    pub last_month_customers: i64,
    pub customers_bought_again: i64,
    pub buying_agents: i64,
    pub last_month_buying_agents: i64,
    pub agents_bought_again: i64,
    pub new_agents: i64,
    pub agents_at_start: i64,
    /// New agents by the depth they landed at: below the team's leader (1 = directly
    /// under it), or in the brand's tree (1 = directly under HQ).
    pub new_agents_by_depth: BTreeMap<String, i64>,
    pub applications: i64,
    pub applications_approved: i64,
    pub applications_bought: i64,
    pub stock_units: i64,
    pub retail_units: i64,
}

/// Who the figures are about, as the store queries it.
#[derive(Debug, Clone)]
pub enum Members {
    Brand,
    /// One agent (customers it sold to, its own purchases, agents it sponsored).
    Agent {
        id: i64,
        level: i32,
    },
    /// An agent and its subtree: its path in today's tree (open month) or as kept with the
    /// month's statements (closed month).
    Team {
        path: Vec<i64>,
        kept_month: Option<String>,
    },
    /// Not in the tree that month (joined after the close): nothing.
    Nobody,
}

/// A month's bounds and the instant its figures are as at.
#[derive(Debug, Clone)]
pub struct Window {
    pub month: String,
    pub prev_start: DateTime<Utc>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub as_of: DateTime<Utc>,
    pub closed: bool,
}

pub fn window(conn: &mut PgConnection, brand_id: i64, month: &str, now: DateTime<Utc>) -> Result<Window, AppError> {
    crate::period::parse_month(month)?;
    let tz = crate::brands::settings(conn, brand_id)?.timezone;
    let (start, end) = crate::period::month_bounds(month, &tz)?;
    // the books hold nothing before 2000-01 (dates are refused outside 2000–2099): its
    // "last month" is empty
    let prev_start = match crate::period::months_back(month, 2)?.get(1) {
        Some(prev) => crate::period::month_bounds(prev, &tz)?.0,
        None => start,
    };
    let closed = crate::settlement::store::closed_period(conn, brand_id, month)?;
    Ok(Window { month: month.to_owned(), prev_start, start, end, as_of: closed.as_ref().map_or(now, |p| p.closed_at), closed: closed.is_some() })
}

/// The figures of `month` for the brand (HQ), an agent (`scope=self`) or its team.
pub fn figures(conn: &mut PgConnection, who: &Principal, month: &str, agent_id: Option<i64>, scope: Scope, now: DateTime<Utc>) -> Result<Growth, AppError> {
    let agent_id = match (who.agent_id(), agent_id) {
        (Some(me), None) => Some(me),
        (_, named) => named,
    };
    let w = window(conn, who.brand_id, month, now)?;
    let Some(id) = agent_id else {
        who.require_hq()?;
        if w.closed {
            if let Some(body) = crate::settlement::store::kept_report(conn, who.brand_id, month, "growth")? {
                return serde_json::from_value(body).map_err(|e| AppError::internal(format!("kept growth figures of {month} do not parse: {e}")));
            }
        }
        return compute(conn, who.brand_id, &w, Members::Brand, None);
    };
    let row = crate::tree::visible(conn, who, id)?;
    let members = match scope {
        Scope::Own => Members::Agent { id, level: row.path.len() as i32 },
        Scope::Team if w.closed && crate::settlement::store::kept_tree(conn, who.brand_id, month)? => {
            match crate::settlement::store::place_at_close(conn, who.brand_id, month, id)? {
                Some(place) => Members::Team { path: place.path, kept_month: Some(month.to_owned()) },
                None => Members::Nobody,
            }
        }
        Scope::Team => Members::Team { path: row.path, kept_month: None },
    };
    compute(conn, who.brand_id, &w, members, Some(id))
}

/// A team led from directly under HQ, with its figures.
#[derive(Debug, Clone, Serialize)]
pub struct TeamGrowth {
    pub agent_id: i64,
    pub name: String,
    pub growth: Growth,
}

/// The figures of every team led from directly under HQ (the first `limit`), for HQ's
/// one-page view per team.
pub fn top_teams(conn: &mut PgConnection, who: &Principal, month: &str, limit: i64, now: DateTime<Utc>) -> Result<Vec<TeamGrowth>, AppError> {
    who.require_hq()?;
    let leaders = crate::tree::level(conn, who, None, 0, limit)?;
    leaders.into_iter().map(|a| Ok(TeamGrowth { growth: figures(conn, who, month, Some(a.id), Scope::Team, now)?, agent_id: a.id, name: a.name })).collect()
}

/// The brand's figures over `months` for a chart: closed months as kept at close (one row
/// read each); an open month only when it is `selected` (already computed) — an open
/// month's figures are computed live, seconds at a million agents.
pub fn brand_trend(conn: &mut PgConnection, who: &Principal, months: &[String], selected: &Growth, now: DateTime<Utc>) -> Result<Vec<Growth>, AppError> {
    who.require_hq()?;
    let mut out = Vec::new();
    for m in months {
        if *m == selected.month {
            out.push(selected.clone());
        } else if window(conn, who.brand_id, m, now)?.closed {
            out.push(figures(conn, who, m, None, Scope::Own, now)?);
        }
    }
    Ok(out)
}

/// The month a page shows by default: the last closed one (frozen, kept), else the current.
pub fn default_month(conn: &mut PgConnection, brand_id: i64, now: DateTime<Utc>) -> Result<String, AppError> {
    match crate::settlement::store::last_closed(conn, brand_id)? {
        Some(p) => Ok(p.month),
        None => crate::period::month_of(now, &crate::brands::settings(conn, brand_id)?.timezone),
    }
}

/// After a month's close: the brand's figures, kept as served. Not inside the close (they
/// take seconds at a million agents and every input is read as at the close instant, so
/// computing them a moment later gives the same figures); until they are kept, a read
/// computes the same figures from the books. Idempotent: a second call keeps nothing new.
pub fn keep(conn: &mut PgConnection, brand_id: i64, month: &str) -> Result<(), AppError> {
    let w = window(conn, brand_id, month, Utc::now())?;
    if !w.closed || crate::settlement::store::kept_report(conn, brand_id, month, "growth")?.is_some() {
        return Ok(());
    }
    let g = compute(conn, brand_id, &w, Members::Brand, None)?;
    let body = serde_json::to_value(&g).map_err(|e| AppError::internal(e.to_string()))?;
    crate::settlement::store::keep_report_once(conn, brand_id, month, "growth", &body)
}

/// Computes the figures from the books (the store's set-based queries).
pub fn compute(conn: &mut PgConnection, brand_id: i64, w: &Window, members: Members, agent_id: Option<i64>) -> Result<Growth, AppError> {
    let scope = match &members {
        Members::Brand => "brand",
        Members::Agent { .. } => "self",
        Members::Team { .. } | Members::Nobody => "team",
    };
    let counts = if matches!(members, Members::Nobody) { Counts::default() } else { store::counts(conn, brand_id, w, &members)? };
    Ok(assemble(w, scope, agent_id, counts))
}

/// The rates from the counts: a plain function (docs/compliance.md has the formulas).
pub fn assemble(w: &Window, scope: &str, agent_id: Option<i64>, c: Counts) -> Growth {
    let d = Decimal::from;
    Growth {
        month: w.month.clone(),
        scope: scope.to_owned(),
        agent_id,
        frozen: w.closed,
        as_of: w.as_of,
        repurchase_rate: ratio(d(c.customers_bought_again), d(c.last_month_customers)),
        new_customers: c.new_customers,
        returning_customers: c.customers - c.new_customers,
        agent_retention: ratio(d(c.agents_bought_again), d(c.last_month_buying_agents)),
        recruitment_rate: ratio(d(c.new_agents), d(c.agents_at_start)),
        application_conversion: ratio(d(c.applications_bought), d(c.applications)),
        months_of_retail_cover: ratio(d(c.stock_units), d(c.retail_units)),
        counts: c,
    }
}
