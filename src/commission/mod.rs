//! The commission engine: a pure core over plain data. No database, no HTTP, no clock.
//! Rules: `docs/domain.md` §3–§7 and §11; explained in `docs/compensation.md`.

pub mod describe;
pub mod money;
pub mod plan;
pub mod rebate;
pub mod refund;
pub mod replay;
pub mod split;
pub mod validate;

#[cfg(test)]
mod examples;
#[cfg(test)]
mod properties;

pub use plan::Plan;
pub use rebate::{team_rebates, Rebate, RebateNode};
pub use refund::{refund_line, RefundInput};
pub use replay::{referral_eligible, replay_line, ReplayLine};
pub use split::{split_line, LineInput, Party, Split, SplitKind, Sponsor, Upline};
pub use validate::{validate_plan, Finding, Jurisdiction, PlanContext, ValidationReport};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("{0}")]
    InvalidInput(String),
}
