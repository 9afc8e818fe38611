//! Where an agent is paid: a bank card, Alipay or WeChat. Set by the agent itself; shown
//! masked everywhere (the agent's own pages, HQ's queue), whole only in the payout file.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::AppError;
use crate::schema::payees;

pub const METHODS: [&str; 3] = ["bank", "alipay", "wechat"];

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayeeInput {
    /// bank, alipay or wechat
    pub method: String,
    /// The account holder's name (must be the agent's real name for the bank).
    pub name: String,
    /// Card number, Alipay account (phone or e-mail) or WeChat id.
    pub account: String,
    /// The bank's name; required for `bank`.
    pub bank: Option<String>,
}

/// A payee as shown: the account masked.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Payee {
    pub agent_id: i64,
    pub method: String,
    pub name: String,
    /// Masked: all but the last 4 characters hidden.
    pub account: String,
    pub bank: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// `6222021234567890123` → `**** 0123`; short accounts keep at most their last quarter.
pub fn mask(account: &str) -> String {
    let chars: Vec<char> = account.chars().collect();
    let keep = (chars.len() / 4).min(4);
    format!("**** {}", chars[chars.len() - keep..].iter().collect::<String>())
}

/// The input, trimmed and checked.
pub(super) fn checked(input: &PayeeInput) -> Result<PayeeInput, AppError> {
    let method = input.method.trim();
    if !METHODS.contains(&method) {
        return Err(AppError::validation("method must be bank, alipay or wechat"));
    }
    let name = input.name.trim();
    let account: String = input.account.chars().filter(|c| !c.is_whitespace()).collect();
    let bank = input.bank.as_deref().map(str::trim).filter(|b| !b.is_empty());
    let text = |s: &str, max: usize| !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control);
    if !text(name, 60) {
        return Err(AppError::validation("name must be 1 to 60 characters"));
    }
    if !text(&account, 64) || account.chars().count() < 5 {
        return Err(AppError::validation("account must be 5 to 64 characters"));
    }
    if method == "bank" {
        if !(12..=30).contains(&account.len()) || !account.chars().all(|c| c.is_ascii_digit()) {
            return Err(AppError::validation("a bank card number is 12 to 30 digits"));
        }
        if !bank.is_some_and(|b| text(b, 60)) {
            return Err(AppError::validation("bank (the bank's name, up to 60 characters) is required for a bank card"));
        }
    } else if bank.is_some_and(|b| !text(b, 60)) {
        return Err(AppError::validation("bank must be at most 60 characters"));
    }
    Ok(PayeeInput { method: method.to_owned(), name: name.to_owned(), account, bank: if method == "bank" { bank.map(str::to_owned) } else { None } })
}

pub(super) type Row = (i64, String, String, String, Option<String>, DateTime<Utc>);

fn shown((agent_id, method, name, account, bank, updated_at): Row) -> Payee {
    Payee { agent_id, method, name, account: mask(&account), bank, updated_at }
}

/// The agent itself sets where it is paid. Withdrawals already asked for keep the payee
/// they were asked with (they were fixed then).
pub fn set(conn: &mut PgConnection, who: &Principal, agent_id: i64, input: &PayeeInput) -> Result<Payee, AppError> {
    if who.agent_id() != Some(agent_id) {
        return Err(if who.is_hq() {
            AppError::forbidden("only the agent itself sets where it is paid")
        } else {
            AppError::not_found(format!("agent {agent_id}"))
        });
    }
    let p = checked(input)?;
    Ok(shown(store(conn, who.brand_id, agent_id, &p)?))
}

pub(super) fn store(conn: &mut PgConnection, brand_id: i64, agent_id: i64, p: &PayeeInput) -> Result<Row, AppError> {
    let now = Utc::now();
    Ok(diesel::insert_into(payees::table)
        .values((
            payees::brand_id.eq(brand_id),
            payees::agent_id.eq(agent_id),
            payees::method.eq(&p.method),
            payees::name.eq(&p.name),
            payees::account.eq(&p.account),
            payees::bank.eq(&p.bank),
            payees::updated_at.eq(now),
        ))
        .on_conflict((payees::brand_id, payees::agent_id))
        .do_update()
        .set((payees::method.eq(&p.method), payees::name.eq(&p.name), payees::account.eq(&p.account), payees::bank.eq(&p.bank), payees::updated_at.eq(now)))
        .returning((payees::agent_id, payees::method, payees::name, payees::account, payees::bank, payees::updated_at))
        .get_result(conn)?)
}

/// The payee, masked: the agent itself or HQ. None when none was set.
pub fn get(conn: &mut PgConnection, who: &Principal, agent_id: i64) -> Result<Option<Payee>, AppError> {
    super::own_or_hq(who, agent_id)?;
    crate::tree::visible(conn, who, agent_id)?;
    Ok(whole(conn, who.brand_id, agent_id)?.map(shown))
}

/// The whole payee, unmasked: only for fixing it on a withdrawal.
pub(super) fn whole(conn: &mut PgConnection, brand_id: i64, agent_id: i64) -> Result<Option<Row>, AppError> {
    Ok(payees::table
        .find((brand_id, agent_id))
        .select((payees::agent_id, payees::method, payees::name, payees::account, payees::bank, payees::updated_at))
        .first(conn)
        .optional()?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_all_but_the_end() {
        assert_eq!(super::mask("6222021234567890123"), "**** 0123");
        assert_eq!(super::mask("wx_abc123"), "**** 23");
        assert_eq!(super::mask("abcde"), "**** e");
    }
}
