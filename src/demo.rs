//! The demo brand a newcomer sees first: five tiers (联创/总代/省代/市代/特约), two
//! products priced per tier, and a few hundred agents in an uneven, realistic pyramid.

use std::collections::BTreeMap;

use diesel::prelude::*;
use rust_decimal::Decimal;

use crate::auth::hash_password;
use crate::catalog::{self, ProductInput, TierInput};
use crate::error::AppError;
use crate::schema::brands;
use crate::tree::store;

pub const BRAND: &str = "demo";
pub const ADMIN_LOGIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "demo-admin-2026";
pub const AGENT_PASSWORD: &str = "demo-agent-2026";
/// The other staff (login, role), with the admin's password.
pub const STAFF: [(&str, &str, crate::auth::StaffRole); 3] = [
    ("caiwu", "财务 小陈", crate::auth::StaffRole::Finance),
    ("yunying", "运营 小李", crate::auth::StaffRole::Operations),
    ("shenji", "审计 王老师", crate::auth::StaffRole::Auditor),
];

const TIERS: [&str; 5] = ["联创", "总代", "省代", "市代", "特约"];
/// (sku, name, retail, prices best tier first) — MASK-01 is the spec's worked example.
/// (sku, name, retail, tier prices, 复购周期 days per unit)
const PRODUCTS: [(&str, &str, i64, [i64; 5], i32); 2] = [
    ("MASK-01", "玻尿酸补水面膜 (10 片)", 19900, [5970, 7960, 9950, 11940, 13930], 30),
    ("SERUM-02", "烟酰胺精华 30ml", 29900, [8970, 11960, 14950, 17940, 20930], 45),
];

const CUSTOMER_NAMES: [&str; 6] = ["王女士", "李先生", "张女士", "刘女士", "陈先生", "杨女士"];

/// One login of each tier, to print.
pub struct DemoLogins {
    pub agents: Vec<(String, String, String)>, // (tier, name, phone)
    pub total_agents: usize,
}

/// Seeds the demo brand unless it exists; returns sample logins either way.
pub fn seed(conn: &mut PgConnection) -> Result<DemoLogins, AppError> {
    conn.transaction(|conn| {
        let existing: Option<i64> = brands::table.filter(brands::code.eq(BRAND)).select(brands::id).first(conn).optional()?;
        let brand_id = match existing {
            Some(id) => id,
            None => {
                let id = crate::brands::create_brand(conn, BRAND, "示例品牌 Demo Skincare", ADMIN_LOGIN, ADMIN_PASSWORD)?;
                // the history begins 95 days ago; agents join level by level after that
                let start = chrono::Utc::now() - chrono::Duration::days(95);
                seed_brand(conn, id, start)?;
                seed_activity(conn, id, start)?;
                id
            }
        };
        sample_logins(conn, brand_id)
    })
}

fn seed_brand(conn: &mut PgConnection, brand_id: i64, start: chrono::DateTime<chrono::Utc>) -> Result<(), AppError> {
    use crate::schema::hq_users;
    let owner: i64 = hq_users::table.filter(hq_users::brand_id.eq(brand_id)).select(hq_users::id).first(conn)?;
    let hq = crate::auth::Principal::hq(brand_id, owner, crate::auth::StaffRole::Owner);
    let mut tier_ids = Vec::new();
    for (i, name) in TIERS.iter().enumerate() {
        let min_first_order = if i == 0 { Some(Decimal::new(5_000_000, 2)) } else { None };
        tier_ids.push(catalog::create_tier(conn, &hq, &TierInput { rank: i as i32 + 1, name: (*name).into(), min_first_order })?.id);
    }
    for (sku, name, retail, prices, cycle) in PRODUCTS {
        let prices: BTreeMap<String, Decimal> = tier_ids.iter().zip(prices).map(|(id, p)| (id.to_string(), Decimal::new(p, 2))).collect();
        catalog::create_product(
            conn,
            &hq,
            &ProductInput {
                sku: sku.into(),
                name: name.into(),
                retail_price: Decimal::new(retail, 2),
                prices,
                retail_floor: Some(Decimal::new(retail * 8 / 10, 2)),
                repurchase_days: Some(cycle),
            },
        )?;
    }

    // One hash for every demo agent keeps seeding fast; each still logs in with the password.
    let hash = hash_password(AGENT_PASSWORD)?;
    let mut rng = 0x2026_1123u64;
    let mut next = |n: u64| {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let mut phone = 13_800_000_000u64;
    let mut level: Vec<Option<store::AgentRow>> = vec![None];
    let mut named: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    // Top tiers recruit a few; the wide base is 市代 and 特约, as in real pyramids. The last
    // level is 特约 recruited by 特约: same-tier uplines, so 平级奖 is actually paid.
    // Each level joins about two weeks after the one above: the pyramid grows over months.
    let fanout = [(3, 0, 0), (2, 2, 1), (2, 3, 2), (2, 4, 3), (1, 3, 4), (0, 2, 4)];
    for (depth, (min, spread, tier)) in fanout.iter().enumerate() {
        let mut below = Vec::new();
        for parent in &level {
            let count = min + next(spread + 1);
            for _ in 0..count {
                phone += 1 + next(97);
                let n = named.entry(TIERS[*tier]).or_insert(0);
                *n += 1;
                let name = format!("{}{}", TIERS[*tier], n);
                let phone_str = phone.to_string();
                let at = start + chrono::Duration::days(depth as i64 * 14 + next(10) as i64) + chrono::Duration::minutes(next(600) as i64);
                let row = store::insert(
                    conn,
                    brand_id,
                    &store::NewAgent {
                        status: "active",
                        name: &name,
                        phone: &phone_str,
                        tier_id: tier_ids[*tier],
                        parent: parent.as_ref(),
                        sponsor_id: parent.as_ref().map(|p| p.id),
                        password_hash: &hash,
                        joined_at: at,
                    },
                )?;
                store::record_event(conn, brand_id, row.id, "joined", None, row.parent_id.map(|p| p.to_string()), "demo", at)?;
                below.push(Some(row));
            }
        }
        level = below;
    }
    Ok(())
}

/// Three months of history: opening stock for the top tier, purchases from HQ and from
/// uplines (differentials and peer bonuses), retail sales to consumers, refunds dated inside
/// their month, every ended month closed but the last (left for a newcomer to close), and
/// withdrawals approved, rejected and waiting.
fn seed_activity(conn: &mut PgConnection, brand_id: i64, start: chrono::DateTime<chrono::Utc>) -> Result<(), AppError> {
    use crate::auth::{Principal, Role};
    use crate::orders::{self, Customer, OrderRequest, PurchaseLine, PurchaseRequest, RefundRequest, RetailLine, RetailRequest};
    use crate::schema::{agents, hq_users};
    use chrono::{DateTime, Duration, Utc};

    let user_id: i64 = hq_users::table.filter(hq_users::brand_id.eq(brand_id)).select(hq_users::id).first(conn)?;
    let hq = Principal::hq(brand_id, user_id, crate::auth::StaffRole::Owner);
    // the staff, and the withdrawal rules: 0.6% fee, at least ¥2.00
    let mut finance = hq;
    for (login, name, role) in STAFF {
        let s = crate::auth::staff::create(
            conn,
            &hq,
            &crate::auth::staff::NewStaff { login: login.into(), name: name.into(), role, password: ADMIN_PASSWORD.into() },
        )?;
        if role == crate::auth::StaffRole::Finance {
            finance = Principal::hq(brand_id, s.id, role);
        }
    }
    let rules = crate::ledger::quote::WithdrawalRules {
        min: Decimal::new(1000, 2),
        max: Decimal::new(2_000_000, 2),
        fee_rate: Decimal::new(6, 3),
        fee_min: Decimal::new(200, 2),
        tax_rate: Decimal::ZERO,
    };
    crate::brands::patch_settings(conn, &hq, crate::brands::SettingsPatch { withdrawal: Some(rules), ..Default::default() })?;
    let plan = crate::commission::Plan {
        version: 0,
        effective_from: start.fixed_offset(),
        differential: Default::default(),
        peer_bonus: crate::commission::plan::PeerBonus { enabled: true, rates: vec![Decimal::new(3, 2), Decimal::new(1, 2)] },
        referral_bonus: Default::default(),
        team_rebate: crate::commission::plan::TeamRebate {
            enabled: true,
            brackets: vec![
                crate::commission::plan::Bracket { min_volume: Decimal::new(1_000_000, 2), rate: Decimal::new(2, 2) },
                crate::commission::plan::Bracket { min_volume: Decimal::new(5_000_000, 2), rate: Decimal::new(4, 2) },
            ],
        },
        max_depth: None,
        limits: Default::default(),
    };
    crate::plans::publish(conn, &hq, plan)?;

    let members: Vec<(i64, i64, DateTime<Utc>)> =
        agents::table.filter(agents::brand_id.eq(brand_id)).order(agents::id).select((agents::id, agents::tier_id, agents::joined_at)).load(conn)?;
    let tops: Vec<i64> = members.iter().filter(|m| m.1 == members[0].1).map(|m| m.0).collect();
    for top in &tops {
        for sku in ["MASK-01", "SERUM-02"] {
            let adj = crate::inventory::Adjustment {
                agent_id: Some(*top),
                sku: sku.into(),
                qty: 400,
                unit_cost: Some(Decimal::new(5970, 2)),
                reason: "demo opening stock".into(),
            };
            crate::inventory::adjust(conn, &hq, &adj)?;
        }
    }
    let mut rng = 0x5eed_2026u64;
    let mut next = |n: u64| {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };
    let now = Utc::now();
    let tz = crate::brands::settings(conn, brand_id)?.timezone;
    let mut placed = Vec::new();
    for day in 0..90 {
        let at = start + Duration::days(day + 3) + Duration::minutes(next(600) as i64);
        let joined: Vec<i64> = members.iter().filter(|m| m.2 <= at).map(|m| m.0).collect();
        for _ in 0..5 {
            let buyer = joined[next(joined.len() as u64) as usize];
            let sku = if next(3) == 0 { "SERUM-02" } else { "MASK-01" };
            let supply = if next(4) == 0 { Some(crate::brands::SupplyMode::Upline) } else { None };
            let req = OrderRequest::Purchase(PurchaseRequest {
                buyer_id: Some(buyer),
                supply,
                lines: vec![PurchaseLine { sku: sku.into(), qty: 2 + next(20) as i64 }],
                placed_at: Some(at.fixed_offset()),
            });
            // an upline without enough stock refuses; the demo simply moves on
            if let Ok(order) = conn.transaction(|c| orders::place(c, &hq, &req)) {
                placed.push((order.id, at));
            }
        }
        for _ in 0..4 {
            let seller = joined[next(joined.len() as u64) as usize];
            // each seller has a few regular customers (复购); one phone buys from many
            // sellers and a few sales name nobody: both are compliance findings
            let k = next(24);
            let customer = match k {
                0 => Some(Customer { name: "赵女士".into(), phone: Some("13900000000".into()) }),
                1 | 2 => None,
                _ => Some(Customer { name: CUSTOMER_NAMES[(k % 5) as usize].into(), phone: Some(format!("139{:04}{:04}", seller % 10_000, k % 5)) }),
            };
            let sku = if next(4) == 0 { "SERUM-02" } else { "MASK-01" };
            let req = OrderRequest::Retail(RetailRequest {
                seller_id: Some(seller),
                customer,
                lines: vec![RetailLine { sku: sku.into(), qty: 1 + next(2) as i64, unit_price: None }],
                placed_at: Some((at + Duration::hours(2)).fixed_offset()),
            });
            let _ = conn.transaction(|c| orders::place(c, &hq, &req)); // agents without stock cannot sell
        }
    }
    // Refunds two days after the order, kept inside the order's month.
    for (order_id, at) in placed.iter().step_by(37) {
        let (_, month_end) = crate::period::month_bounds(&crate::period::month_of(*at, &tz)?, &tz)?;
        let refunded_at = (*at + Duration::days(2)).min(month_end - Duration::minutes(1)).min(now - Duration::minutes(1));
        let order = orders::view(conn, brand_id, *order_id)?;
        let line = &order.lines[0];
        let req = RefundRequest { lines: vec![PurchaseLine { sku: line.sku.clone(), qty: 1 }], refunded_at: Some(refunded_at.fixed_offset()) };
        let _ = conn.transaction(|c| orders::refund(c, &hq, *order_id, &req));
    }
    // Upgrades by rule, proposed at each close for HQ to approve: 市代 on own purchases or
    // recruits, 省代 on own purchases or team volume, 总代 on own purchases and recruits.
    let tier_ids: Vec<i64> = crate::catalog::list_tiers(conn, brand_id)?.into_iter().map(|t| t.id).collect();
    crate::brands::patch_settings(conn, &hq, crate::brands::SettingsPatch { upgrade_mode: Some("approval".into()), ..Default::default() })?;
    let rule = |months, own: Option<i64>, recruits, team: Option<i64>, combine| crate::recruiting::upgrades::RuleInput {
        months,
        own_purchases_min: own.map(Decimal::from),
        direct_recruits_min: recruits,
        team_volume_min: team.map(Decimal::from),
        combine,
    };
    use crate::recruiting::upgrades::{set_rule, Combine};
    set_rule(conn, &hq, tier_ids[3], &rule(1, Some(2000), Some(3), None, Combine::Any))?;
    set_rule(conn, &hq, tier_ids[2], &rule(2, Some(3000), None, Some(20000), Combine::Any))?;
    set_rule(conn, &hq, tier_ids[1], &rule(2, Some(5000), Some(2), None, Combine::All))?;
    // Close every ended month, oldest first, but the last: a newcomer closes that one.
    let mut ended: Vec<String> = crate::settlement::list(conn, &hq)?.into_iter().filter(|p| p.ended && p.status == "open").map(|p| p.month).collect();
    ended.sort();
    ended.pop();
    for month in ended {
        crate::settlement::close(conn, &hq, &month, &())?;
        crate::growth::keep(conn, brand_id, &month)?;
    }
    // HQ has approved the oldest proposal; the others wait in the queue.
    if let Some(p) = crate::recruiting::upgrades::list(conn, &hq, Some("pending"), None, 1000)?.last() {
        crate::recruiting::upgrades::approve(conn, &hq, p.id)?;
    }
    // Withdrawals: the agents with the most to take out ask for half of it; HQ has paid
    // some, refused one (with its reason), and the rest wait in the queue.
    let mut wallets = Vec::new();
    for (id, _, _) in &members {
        let w = crate::ledger::wallet_of(conn, brand_id, *id, now)?;
        if w.available >= Decimal::new(10_000, 2) {
            wallets.push((*id, w.available));
        }
    }
    wallets.sort_by(|a, b| b.1.cmp(&a.1));
    let mut later = None;
    for (i, (agent_id, available)) in wallets.iter().take(10).enumerate() {
        let agent = Principal { brand_id, role: Role::Agent { agent_id: *agent_id }, request: 0 };
        let payee = crate::ledger::payee::PayeeInput {
            method: if i % 3 == 2 { "alipay".into() } else { "bank".into() },
            name: format!("代理{agent_id}"),
            account: if i % 3 == 2 { format!("1391000{agent_id:04}") } else { format!("622202100{:010}", 4_000_000 + agent_id * 7) },
            bank: (i % 3 != 2).then(|| "中国工商银行 ICBC".to_owned()),
        };
        conn.transaction(|c| crate::ledger::payee::set(c, &agent, *agent_id, &payee))?;
        let amount = (available / Decimal::TWO).round_dp(0).min(Decimal::new(2_000_000, 2));
        let req = crate::ledger::WithdrawalRequest { amount, payee: None };
        let w = conn.transaction(|c| crate::ledger::withdrawals::request(c, &agent, *agent_id, &req))?;
        match i {
            0..=4 => {
                conn.transaction(|c| crate::ledger::payouts::approve(c, &finance, w.id))?;
            }
            5 => {
                conn.transaction(|c| {
                    crate::ledger::payouts::reject(c, &finance, w.id, "收款账户姓名与代理实名不一致 payee name does not match the agent's".into())
                })?;
            }
            6 => later = Some(w.id),
            _ => {}
        }
    }
    // the five approved went to the bank in batch 1: one bounced, three are paid, one is open;
    // one more was approved after the file was made (it waits for the next batch)
    conn.transaction(|c| {
        crate::ledger::payout_file::export(c, &finance, crate::ledger::payout_file::Selection::Approved, crate::settlement::export::ExportFormat::Csv)
    })?;
    let batch: Vec<i64> = crate::schema::withdrawals::table
        .filter(crate::schema::withdrawals::brand_id.eq(brand_id))
        .filter(crate::schema::withdrawals::batch_no.is_not_null())
        .order(crate::schema::withdrawals::id)
        .select(crate::schema::withdrawals::id)
        .load(conn)?;
    for (k, id) in batch.iter().enumerate() {
        if k == 0 {
            let req = crate::ledger::payouts::FailRequest {
                reason: Some("户名与账号不符，银行退回 name and account do not match; returned by the bank".into()),
            };
            conn.transaction(|c| crate::ledger::payouts::fail(c, &finance, *id, &req))?;
        } else if k <= 3 {
            let req = crate::ledger::payouts::PayRequest { reference: Some(format!("ICBC{}", 20_261_100_000i64 + id)), paid_at: None };
            conn.transaction(|c| crate::ledger::payouts::pay(c, &finance, *id, &req))?;
        }
    }
    if let Some(id) = later {
        conn.transaction(|c| crate::ledger::payouts::approve(c, &finance, id))?;
    }
    // recruiting: the first 联创 has a link; one newcomer joined through it, one waits for it
    let top: i64 = agents::table
        .inner_join(crate::schema::tiers::table.on(crate::schema::tiers::brand_id.eq(agents::brand_id).and(crate::schema::tiers::id.eq(agents::tier_id))))
        .filter(agents::brand_id.eq(brand_id))
        .order((crate::schema::tiers::rank, agents::id))
        .select(agents::id)
        .first(conn)?;
    let inviter = Principal { brand_id, role: Role::Agent { agent_id: top }, request: 0 };
    let invite = conn.transaction(|c| crate::recruiting::invites::get(c, &inviter, top, "http://127.0.0.1:8080"))?;
    let newest_tier: i64 = crate::schema::tiers::table
        .filter(crate::schema::tiers::brand_id.eq(brand_id))
        .order(crate::schema::tiers::rank.desc())
        .select(crate::schema::tiers::id)
        .first(conn)?;
    for (k, (name, phone)) in [("钱多多", "13966660001"), ("孙小美", "13966660002")].into_iter().enumerate() {
        let req = crate::recruiting::applications::ApplicationRequest {
            code: invite.code.clone(),
            name: name.into(),
            phone: phone.into(),
            wechat: Some(format!("wx{phone}")),
            tier_id: newest_tier,
            password: AGENT_PASSWORD.into(),
        };
        let created = conn.transaction(|c| crate::recruiting::applications::apply(c, &req, "demo"))?;
        if k == 0 {
            conn.transaction(|c| crate::recruiting::applications::approve(c, &inviter, created.id))?;
        }
    }
    // adjustments: finance credited one agent (approved by the owner) and proposes a debit
    if let (Some((first, _)), Some((second, _))) = (wallets.first(), wallets.get(1)) {
        let bonus = crate::ledger::adjustments::NewAdjustment {
            agent_id: *first,
            amount: Decimal::new(50_000, 2),
            category: "bonus".into(),
            reason: "季度优秀代理奖励 best agent of the quarter".into(),
            dispute_id: None,
        };
        let made = conn.transaction(|c| crate::ledger::adjustments::create(c, &finance, &bonus))?;
        conn.transaction(|c| crate::ledger::adjustments::approve(c, &hq, made.id))?;
        let debit = crate::ledger::adjustments::NewAdjustment {
            agent_id: *second,
            amount: Decimal::new(-3_580, 2),
            category: "correction".into(),
            reason: "运费多退 shipping refunded twice".into(),
            dispute_id: None,
        };
        conn.transaction(|c| crate::ledger::adjustments::create(c, &finance, &debit))?;
    }
    Ok(())
}

fn sample_logins(conn: &mut PgConnection, brand_id: i64) -> Result<DemoLogins, AppError> {
    use crate::schema::{agents, tiers};
    let rows: Vec<(String, String, String)> = agents::table
        .inner_join(tiers::table.on(tiers::brand_id.eq(agents::brand_id).and(tiers::id.eq(agents::tier_id))))
        .filter(agents::brand_id.eq(brand_id))
        .order((tiers::rank, agents::id))
        .select((tiers::name, agents::name, agents::phone))
        .load(conn)?;
    let total_agents = rows.len();
    let mut seen = std::collections::HashSet::new();
    let agents = rows.into_iter().filter(|(tier, _, _)| seen.insert(tier.clone())).collect();
    Ok(DemoLogins { agents, total_agents })
}
