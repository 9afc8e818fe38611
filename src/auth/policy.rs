//! Who of HQ's staff may do what: the one place roles are checked. Every HQ request — the
//! JSON API and the console's pages alike — is matched by method and route pattern to what
//! it needs, when the caller is identified (`Principal` and the console's session), before
//! the handler runs. Agents are not staff: what an agent may see is the handlers' subtree rule.

use actix_web::http::Method;
use serde::{Deserialize, Serialize};

/// An HQ staff member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Everything, and manages staff.
    Owner,
    /// Agents, products, orders, stock.
    Operations,
    /// Withdrawals, payouts, adjustments, settlement.
    Finance,
    /// Reads everything, writes nothing.
    Auditor,
}

pub const ROLES: [StaffRole; 4] = [StaffRole::Owner, StaffRole::Operations, StaffRole::Finance, StaffRole::Auditor];

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Owner => "owner",
            StaffRole::Operations => "operations",
            StaffRole::Finance => "finance",
            StaffRole::Auditor => "auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ROLES.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            StaffRole::Owner => "负责人 Owner",
            StaffRole::Operations => "运营 Operations",
            StaffRole::Finance => "财务 Finance",
            StaffRole::Auditor => "审计 Auditor",
        }
    }

    pub fn may(self, need: Need) -> bool {
        use StaffRole::*;
        match need {
            Need::Anyone | Need::Read => true,
            Need::Audit => matches!(self, Owner | Auditor),
            Need::Finance => matches!(self, Owner | Finance),
            Need::Operations => matches!(self, Owner | Operations),
            Need::Owner => self == Owner,
        }
    }
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any logged-in caller: own session and password.
    Anyone,
    /// Any staff member: reads, and what-ifs that write nothing.
    Read,
    /// The audit log: owner and auditor.
    Audit,
    /// Money out and settlement.
    Finance,
    /// Agents, products, orders, stock.
    Operations,
    /// Staff, settings, the plan, password resets.
    Owner,
}

impl Need {
    pub fn describe(self) -> &'static str {
        match self {
            Need::Anyone | Need::Read => "any staff member",
            Need::Audit => "the owner or an auditor",
            Need::Finance => "finance or the owner",
            Need::Operations => "operations or the owner",
            Need::Owner => "the owner",
        }
    }
}

/// What a request needs, from its method and route pattern (`/api/v1/...` or `/console/...`).
pub fn need(method: &Method, pattern: &str) -> Need {
    let rest = pattern.strip_prefix("/api/v1").or_else(|| pattern.strip_prefix("/console")).unwrap_or(pattern);
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let first = segs.first().copied().unwrap_or("");
    let last = segs.last().copied().unwrap_or("");
    let read = matches!(*method, Method::GET | Method::HEAD);
    match first {
        "auth" | "login" | "logout" | "lang" | "password" | "public" => return Need::Anyone,
        // applying through an invite link is public
        "applications" if segs.len() == 1 && !read => return Need::Anyone,
        "audit" => return Need::Audit,
        // upgrade rules decide who is paid at which tier: brand policy, like the plan
        "upgrades" if segs.get(1) == Some(&"rules") && !read => return Need::Owner,
        // the payout file carries whole account numbers and marks withdrawals exported
        "payouts" if last == "export" || last.starts_with("payouts.") => return Need::Finance,
        _ => {}
    }
    if read {
        return Need::Read;
    }
    match (first, last) {
        ("plan", "validate" | "what-if" | "whatif") => Need::Read,
        ("staff" | "settings" | "plan", _) | ("agents", "password") => Need::Owner,
        ("withdrawals" | "payouts" | "adjustments" | "periods" | "settlement" | "disputes", _) | ("agents", "withdrawals" | "payout") => Need::Finance,
        _ => Need::Operations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_by_route() {
        assert_eq!(need(&Method::GET, "/api/v1/agents/{id}"), Need::Read);
        assert_eq!(need(&Method::POST, "/api/v1/agents/{id}/move"), Need::Operations);
        assert_eq!(need(&Method::POST, "/api/v1/withdrawals/{id}/pay"), Need::Finance);
        assert_eq!(need(&Method::PUT, "/api/v1/plan"), Need::Owner);
        assert_eq!(need(&Method::POST, "/api/v1/plan/what-if"), Need::Read);
        assert_eq!(need(&Method::GET, "/api/v1/audit"), Need::Audit);
        assert_eq!(need(&Method::GET, "/api/v1/payouts/export"), Need::Finance);
        assert_eq!(need(&Method::POST, "/api/v1/auth/password"), Need::Anyone);
        assert_eq!(need(&Method::POST, "/console/settlement/{month}/close"), Need::Finance);
        assert!(!StaffRole::Auditor.may(Need::Operations) && StaffRole::Auditor.may(Need::Audit));
        assert!(!StaffRole::Finance.may(Need::Operations) && !StaffRole::Operations.may(Need::Finance));
        assert!(ROLES.iter().all(|r| r.may(Need::Read)) && ROLES.iter().filter(|r| r.may(Need::Owner)).count() == 1);
    }
}
