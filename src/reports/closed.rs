//! A closed month's downline summary, as the month was closed: the month's statements keep
//! every agent's path, tier and status at close and its purchases net of the refunds made
//! before it, so a team is one index-only range of their places in the kept tree. Months closed before statements
//! kept the tree are read like open ones.

use diesel::prelude::*;

use super::team::{assemble, Count};
use super::{totals, Volume};
use crate::error::AppError;
use crate::settlement::store;

/// The summary of `agent_id`'s team in `month`, whose statements keep the tree (the
/// caller checked that, and that the agent is visible to the asker in today's tree).
pub fn summary(conn: &mut PgConnection, brand_id: i64, agent_id: i64, month: &str) -> Result<super::DownlineSummary, AppError> {
    let Some(place) = store::place_at_close(conn, brand_id, month, agent_id)? else {
        // joined after the close: no team that month
        return Ok(assemble(agent_id, month, &[], Volume::default(), &totals::Totals::default()));
    };
    let rows = store::kept_team(conn, brand_id, month, &place)?;
    let mut own = Volume::default();
    let mut team = totals::Totals::default();
    let mut counts = Vec::new();
    for r in rows {
        team.units += r.units;
        team.amount += r.amount;
        if r.depth == 0 {
            own = Volume { units: r.units, amount: super::cents(r.amount) };
        } else {
            counts.push(Count { tier_id: r.tier_id, depth: r.depth, n: r.n });
        }
    }
    Ok(assemble(agent_id, month, &counts, own, &team))
}
