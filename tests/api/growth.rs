//! Customers (客户, 复购提醒), growth figures and retail that can be believed, each with
//! hand-checked numbers.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Asia::Shanghai;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, Brand, TestApp};
use crate::settlement::month_start;

const P1: &str = "13800138001";
const P2: &str = "13800138002";
const P3: &str = "13800138003";
const P4: &str = "13800138004";

async fn ok(r: (StatusCode, Value)) -> Value {
    assert!(r.0.is_success(), "{} {}", r.0, r.1);
    r.1
}

async fn buy(app: &TestApp, b: &Brand, buyer: i64, qty: i64, at: DateTime<Utc>) {
    ok(app
        .post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": buyer, "lines": [{"sku": "MASK-01", "qty": qty}], "placed_at": at.to_rfc3339()}))
        .await)
    .await;
}

async fn sell(app: &TestApp, b: &Brand, seller: i64, phone: Option<&str>, qty: i64, at: DateTime<Utc>) -> Value {
    let customer = phone.map(|p| json!({"name": format!("顾客{}", &p[p.len() - 1..]), "phone": p}));
    ok(app
        .post(
            "/api/v1/orders",
            &b.hq,
            json!({"kind": "retail", "seller_id": seller, "customer": customer, "lines": [{"sku": "MASK-01", "qty": qty}], "placed_at": at.to_rfc3339()}),
        )
        .await)
    .await
}

/// HQ → A(联创) → B(省代) → C(特约); X(联创) a second branch. Two months:
///
/// | month | purchases | retail (customer, units) | joined |
/// |---|---|---|---|
/// | M1 | B 20, C 10, X 10 | B: P1 1, P2 1; C: P3 1 | |
/// | M2 | B 5, C 5 | B: P1 2, P4 1; C: P2 1; X: nobody 1 | D under C, E under X |
struct World {
    b: Brand,
    a: i64,
    bb: i64,
    c: i64,
    x: i64,
    m1: String,
    m2: String,
    m2_start: DateTime<Utc>,
}

async fn world(app: &TestApp) -> World {
    let b = app.brand("grow").await;
    let joined = month_start(3).1;
    let a = app.agent_joined(&b.hq, "A", "13900000001", b.tiers[0], None, joined).await;
    let bb = app.agent_joined(&b.hq, "B", "13900000002", b.tiers[2], Some(a), joined).await;
    let c = app.agent_joined(&b.hq, "C", "13900000003", b.tiers[4], Some(bb), joined).await;
    let x = app.agent_joined(&b.hq, "X", "13900000009", b.tiers[0], None, joined).await;
    let (m1, s1) = month_start(2);
    let (m2, s2) = month_start(1);
    let d = |start: DateTime<Utc>, days: i64| start + Duration::days(days) + Duration::hours(3);
    buy(app, &b, bb, 20, d(s1, 1)).await;
    buy(app, &b, c, 10, d(s1, 1)).await;
    buy(app, &b, x, 10, d(s1, 1)).await;
    sell(app, &b, bb, Some(P1), 1, d(s1, 4)).await;
    sell(app, &b, bb, Some(P2), 1, d(s1, 5)).await;
    sell(app, &b, c, Some(P3), 1, d(s1, 6)).await;
    buy(app, &b, bb, 5, d(s2, 2)).await;
    buy(app, &b, c, 5, d(s2, 2)).await;
    // the same customer however the phone is typed
    sell(app, &b, bb, Some("+86 138 0013 8001"), 2, d(s2, 3)).await;
    sell(app, &b, bb, Some(P4), 1, d(s2, 4)).await;
    sell(app, &b, c, Some(P2), 1, d(s2, 5)).await;
    sell(app, &b, x, None, 1, d(s2, 7)).await;
    app.agent_joined(&b.hq, "D", "13900000004", b.tiers[4], Some(c), d(s2, 9)).await;
    app.agent_joined(&b.hq, "E", "13900000005", b.tiers[4], Some(x), d(s2, 10)).await;
    World { b, a, bb, c, x, m1, m2, m2_start: s2 }
}

async fn growth(app: &TestApp, token: &str, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/reports/growth?{query}"), token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The figures without the instant they are as at (and whether frozen).
fn figures(g: &Value) -> Value {
    let mut g = g.clone();
    g.as_object_mut().unwrap().remove("as_of");
    g.as_object_mut().unwrap().remove("frozen");
    g
}

#[tokio::test]
async fn growth_figures_are_hand_checked_and_frozen_at_close() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let (b, m2) = (&w.b, w.m2.clone());

    let brand = growth(&app, &b.hq, &format!("month={m2}")).await;
    // customers of M2: P1, P4, P2 (X's sale names nobody); of M1: P1, P2, P3; again: P1, P2
    assert_eq!((brand["new_customers"].as_i64(), brand["returning_customers"].as_i64()), (Some(1), Some(2)), "{brand}");
    assert_eq!(brand["repurchase_rate"], "0.6667", "2 of 3");
    // bought in M1: B, C, X; in M2: B, C
    assert_eq!(brand["agent_retention"], "0.6667");
    // D and E joined; A, B, C, X were there at the start; D lands at level 4, E at 2
    assert_eq!((brand["recruitment_rate"].as_str(), &brand["counts"]["new_agents_by_depth"]), (Some("0.5000"), &json!({"2": 1, "4": 1})));
    assert_eq!(brand["application_conversion"], Value::Null, "no applications");
    // stock: B 25 − 5 sold = 20, C 15 − 2 = 13, X 10 − 1 = 9 → 42 units over 5 retail units
    assert_eq!(
        (brand["counts"]["stock_units"].as_i64(), brand["counts"]["retail_units"].as_i64(), brand["months_of_retail_cover"].as_str()),
        (Some(42), Some(5), Some("8.4000"))
    );
    assert_eq!(brand["frozen"], false);

    let team = growth(&app, &b.hq, &format!("month={m2}&agent_id={}&scope=team", w.bb)).await;
    // B's team sold to P1, P4 (B) and P2 (C); P2 had bought from B before: returning
    assert_eq!(
        (team["new_customers"].as_i64(), team["returning_customers"].as_i64(), team["repurchase_rate"].as_str()),
        (Some(1), Some(2), Some("0.6667")),
        "{team}"
    );
    assert_eq!(
        (team["agent_retention"].as_str(), team["recruitment_rate"].as_str()),
        (Some("1.0000"), Some("0.5000")),
        "B and C kept buying; D joined 2 below B"
    );
    assert_eq!(team["counts"]["new_agents_by_depth"], json!({"2": 1}));

    // C alone: P2 is new to C; C's M1 customer P3 did not come back; D was recruited by C
    let tc = app.agent_token(b, "13900000003").await;
    let own = growth(&app, &tc, &format!("month={m2}")).await;
    assert_eq!((own["agent_id"].as_i64(), own["scope"].as_str()), (Some(w.c), Some("self")));
    assert_eq!(
        (own["new_customers"].as_i64(), own["returning_customers"].as_i64(), own["repurchase_rate"].as_str()),
        (Some(1), Some(0), Some("0.0000")),
        "{own}"
    );
    assert_eq!(
        (own["agent_retention"].as_str(), own["recruitment_rate"].as_str(), &own["counts"]["new_agents_by_depth"]),
        (Some("1.0000"), Some("1.0000"), &json!({"1": 1}))
    );
    // an agent sees its own subtree only, and never the brand
    assert_eq!(app.get(&format!("/api/v1/reports/growth?month={m2}&agent_id={}&scope=team", w.bb), &tc).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/v1/reports/growth?month={m2}&agent_id={}", w.x), &tc).await.0, StatusCode::NOT_FOUND);
    let tb = app.agent_token(b, "13900000002").await;
    assert_eq!(growth(&app, &tb, &format!("month={m2}&agent_id={}&scope=team", w.c)).await["counts"]["customers"], 1);

    // close both months; the figures are the same, now frozen
    for m in [&w.m1, &m2] {
        ok(app.post(&format!("/api/v1/periods/{m}/close"), &b.hq, json!({})).await).await;
    }
    // the brand's figures are kept right after the close, in the background
    let pool = app.pool.clone();
    let m = m2.clone();
    let kept = tokio::task::spawn_blocking(move || {
        for _ in 0..100 {
            if agent_ledger::settlement::store::kept_report(&mut pool.get().unwrap(), 1, &m, "growth").unwrap().is_some() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    })
    .await
    .unwrap();
    assert!(kept, "the growth figures of {m2} are kept after its close");
    let kept_brand = growth(&app, &b.hq, &format!("month={m2}")).await;
    let kept_team = growth(&app, &b.hq, &format!("month={m2}&agent_id={}&scope=team", w.bb)).await;
    assert_eq!((figures(&kept_brand), kept_brand["frozen"].as_bool()), (figures(&brand), Some(true)));
    assert_eq!(figures(&kept_team), figures(&team));

    // after the close: C moves to X's branch, B sells to P3 now, a refund of M2's sale,
    // and new stock arrives — M2's figures do not move
    ok(app.call(Method::POST, &format!("/api/v1/agents/{}/move", w.c), Some(&b.hq), Some(json!({"parent_id": w.x}))).await).await;
    sell(&app, b, w.bb, Some(P3), 1, Utc::now()).await;
    let (_, b_sales) = app.get(&format!("/api/v1/orders?agent_id={}&kind=retail&month={m2}", w.bb), &b.hq).await;
    let p4_sale = b_sales["items"].as_array().unwrap().iter().find(|o| o["customer"]["phone"] == P4).unwrap()["id"].clone();
    ok(app.post(&format!("/api/v1/orders/{p4_sale}/refunds"), &b.hq, json!({"lines": [{"sku": "MASK-01", "qty": 1}]})).await).await;
    buy(&app, b, w.bb, 7, Utc::now()).await;
    ok(app
        .post(
            "/api/v1/agents",
            &b.hq,
            json!({"name": "F", "phone": "13900000006", "tier_id": b.tiers[4], "parent_id": w.bb, "password": crate::helpers::PASSWORD}),
        )
        .await)
    .await;
    assert_eq!(figures(&growth(&app, &b.hq, &format!("month={m2}")).await), figures(&brand));
    assert_eq!(figures(&growth(&app, &b.hq, &format!("month={m2}&agent_id={}&scope=team", w.bb)).await), figures(&team));
    assert_eq!(figures(&growth(&app, &b.hq, &format!("month={m2}&agent_id={}&scope=self", w.c)).await)["counts"], figures(&own)["counts"]);
    let _ = (w.a, w.m2_start);
    app.assert_verified().await;
}

#[tokio::test]
async fn an_agent_sees_its_customers_and_who_to_call_hq_masked_by_role() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let b = &w.b;
    // a 30-day box: due again 30 days per unit after the last purchase
    let prices: serde_json::Map<String, Value> =
        b.tiers.iter().zip(["59.70", "79.60", "99.50", "119.40", "139.30"]).map(|(t, p)| (t.to_string(), json!(p))).collect();
    ok(app
        .call(
            Method::PUT,
            "/api/v1/products/MASK-01",
            Some(&b.hq),
            Some(json!({"name": "Mask", "retail_price": "199.00", "prices": prices, "repurchase_days": 30})),
        )
        .await)
    .await;

    let tb = app.agent_token(b, "13900000002").await;
    let (status, list) = app.get(&format!("/api/v1/agents/{}/customers", w.bb), &tb).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let items = list["items"].as_array().unwrap();
    // latest purchase first: P4 (M2 day 4), P1 (M2 day 3), P2 (M1 day 5) — B's own sales only
    let phones: Vec<&str> = items.iter().map(|c| c["phone"].as_str().unwrap()).collect();
    assert_eq!(phones, [P4, P1, P2]);
    let p1 = &items[1];
    assert_eq!((p1["orders"].as_i64(), p1["total"].as_str(), p1["name"].as_str()), (Some(2), Some("597.00"), Some("顾客1")), "199.00 + 2 × 199.00");
    assert_eq!((p1["products"][0]["sku"].as_str(), p1["products"][0]["last_qty"].as_i64()), (Some("MASK-01"), Some(2)));

    // 复购提醒: due = day of the last purchase (Shanghai) + 30 × units, listed when ≤ today + 7
    let today = Utc::now().with_timezone(&Shanghai).date_naive();
    let mut expected: Vec<(chrono::NaiveDate, &str)> = items
        .iter()
        .map(|c| {
            let last: DateTime<Utc> = c["last_purchase_at"].as_str().unwrap().parse().unwrap();
            let units = c["products"][0]["last_qty"].as_i64().unwrap();
            (last.with_timezone(&Shanghai).date_naive() + Duration::days(30 * units), c["phone"].as_str().unwrap())
        })
        .filter(|(due, _)| *due <= today + Duration::days(7))
        .collect();
    expected.sort();
    let (_, due) = app.get(&format!("/api/v1/agents/{}/customers?due=true", w.bb), &tb).await;
    let got: Vec<(chrono::NaiveDate, &str)> = due["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["products"][0]["due_on"].as_str().unwrap().parse().unwrap(), c["phone"].as_str().unwrap()))
        .collect();
    assert_eq!(got, expected, "{due}");
    assert!(!got.is_empty(), "P2 bought one box last-but-one month: due by now");

    // pages: one customer a page, the same three in the same order
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app.get(&format!("/api/v1/agents/{}/customers?limit=1&cursor={cursor}", w.bb), &tb).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(page["items"].as_array().unwrap().iter().map(|c| c["phone"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, phones);

    // HQ: the owner sees phones, finance sees them masked
    let (_, owner) = app.get(&format!("/api/v1/agents/{}/customers", w.bb), &b.hq).await;
    assert_eq!(owner["items"][0]["phone"], P4);
    ok(app.post("/api/v1/staff", &b.hq, json!({"login": "cw", "name": "财务", "role": "finance", "password": crate::helpers::PASSWORD})).await).await;
    let (_, fin) = app.login(&b.code, "cw", crate::helpers::PASSWORD).await;
    let (_, masked) = app.get(&format!("/api/v1/agents/{}/customers", w.bb), fin["token"].as_str().unwrap()).await;
    assert_eq!(masked["items"][0]["phone"], "138****8004");
    // and on an order: the upline A sees C's sale with the phone masked, C in full
    let (ta, tc) = (app.agent_token(b, "13900000001").await, app.agent_token(b, "13900000003").await);
    let (_, c_orders) = app.get(&format!("/api/v1/orders?agent_id={}&kind=retail", w.c), &ta).await;
    let phones_seen_by_a: Vec<&str> = c_orders["items"].as_array().unwrap().iter().map(|o| o["customer"]["phone"].as_str().unwrap()).collect();
    assert_eq!(phones_seen_by_a, ["138****8003", "138****8002"]);
    let (_, own_orders) = app.get(&format!("/api/v1/orders?kind=retail"), &tc).await;
    assert!(own_orders["items"].as_array().unwrap().iter().all(|o| o["customer"]["phone"].as_str().unwrap().starts_with("1380013800")), "{own_orders}");

    // nobody else's customers: not the upline's view of a downline, not another branch — 404
    for (token, id) in [(&ta, w.bb), (&tc, w.bb), (&tb, w.c), (&tb, w.x)] {
        let (status, body) = app.get(&format!("/api/v1/agents/{id}/customers"), token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert!(!body.to_string().contains("13800138"), "{body}");
    }
    // base64url of "nope": of the documented shape, not one this server issued
    assert_eq!(app.get(&format!("/api/v1/agents/{}/customers?cursor=bm9wZQ", w.bb), &tb).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn retail_must_lie_under_the_ceiling_and_name_a_real_phone() {
    let app = spawn_app().await;
    let b = app.brand("ceil").await;
    let a = app.agent(&b.hq, "A", "13900000001", b.tiers[0], None).await;
    ok(app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": a, "lines": [{"sku": "MASK-01", "qty": 5}]})).await).await;
    let ta = app.agent_token(&b, "13900000001").await;
    let sale = |price: &str, phone: &str| json!({"kind": "retail", "customer": {"name": "王女士", "phone": phone}, "lines": [{"sku": "MASK-01", "qty": 1, "unit_price": price}]});
    // the default ceiling is 2 × the retail price 199.00
    let (status, e) = app.post("/api/v1/orders", &ta, sale("100000.00", P1)).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("above_price_ceiling")), "{e}");
    assert!(e["detail"].as_str().unwrap().contains("398.00"), "{e}");
    assert_eq!(app.post("/api/v1/orders", &ta, sale("398.01", P1)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, e) = app.post("/api/v1/orders", &ta, sale("199.00", "call me")).await;
    assert_eq!((status, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")), "{e}");
    let (_, stock) = app.get(&format!("/api/v1/agents/{a}/inventory"), &ta).await;
    assert_eq!(stock["items"][0]["qty"].as_i64().or(stock[0]["qty"].as_i64()), Some(5), "refusals write nothing: {stock}");
    assert_eq!(app.post("/api/v1/orders", &ta, sale("398.00", P1)).await.0, StatusCode::CREATED);
    // HQ lowers the ceiling to 1.50 × (298.50)
    let checks = json!({"retail_checks": {"ceiling_factor": "1.50", "max_units_per_customer": 30, "max_sellers_per_customer": 3, "late_days": 2}});
    let (status, s) = app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(checks)).await;
    assert_eq!((status, s["retail_checks"]["ceiling_factor"].as_str()), (StatusCode::OK, Some("1.50")), "{s}");
    assert_eq!(app.post("/api/v1/orders", &ta, sale("298.51", P1)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.post("/api/v1/orders", &ta, sale("298.50", P1)).await.0, StatusCode::CREATED);
    let bad = json!({"retail_checks": {"ceiling_factor": "0.50", "max_units_per_customer": 30, "max_sellers_per_customer": 3, "late_days": 2}});
    assert_eq!(app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(bad)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn invented_retail_is_found_and_does_not_count_under_us_ftc() {
    let app = spawn_app().await;
    let b = app.brand("ftc").await;
    ok(app.call(Method::PATCH, "/api/v1/settings", Some(&b.hq), Some(json!({"jurisdiction": "us_ftc", "hold_days": 0}))).await).await;
    let joined = month_start(3).1;
    let a = app.agent_joined(&b.hq, "A", "13900000001", b.tiers[0], None, joined).await;
    let s1 = app.agent_joined(&b.hq, "S1", "13900000002", b.tiers[3], Some(a), joined).await;
    let s2 = app.agent_joined(&b.hq, "S2", "13900000003", b.tiers[3], Some(a), joined).await;
    let s3 = app.agent_joined(&b.hq, "S3", "13900000004", b.tiers[3], Some(a), joined).await;
    let (last, start) = month_start(1);
    let (_, end) = month_start(0);
    for s in [s1, s2, s3] {
        buy(&app, &b, s, 40, start + Duration::days(1)).await; // 3 × 4776.00; A earns 3 × 2388.00
    }
    let held = |id: i64| {
        let (app, hq) = (&app, b.hq.clone());
        async move { app.get(&format!("/api/v1/agents/{id}/wallet"), &hq).await.1["held"].as_str().unwrap().to_owned() }
    };
    assert_eq!(held(a).await, "7164.00");
    // one phone buys from all three sellers (many_sellers) and takes 36 units (> 30: over_quantity)
    for s in [s1, s2, s3] {
        sell(&app, &b, s, Some(P1), 12, start + Duration::days(3)).await; // 3 × 2388.00 = 7164.00 of 21492.00
    }
    // S1 records more than half of its month's retail in the last two days: month_end
    let late = sell(&app, &b, s1, Some(P2), 20, end - Duration::hours(20)).await; // 3980.00 > 2388.00
                                                                                  // counted, all this would be (7164 + 3980 + 3980) / (15124 + 14328) = 0.5135; only P3's sale is believable:
    let real = sell(&app, &b, s2, Some(P3), 20, start + Duration::days(8)).await; // 3980.00
    assert_eq!(held(a).await, "7164.00", "only P3's 3980.00 counts: 3980 / (3980 + 14328) < 0.5");

    let (_, report) = app.get(&format!("/api/v1/reports/compliance?month={last}"), &b.hq).await;
    let f = &report["retail_findings"];
    let by: std::collections::BTreeMap<&str, (i64, &str)> = f["by_reason"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["reason"].as_str().unwrap(), (r["orders"].as_i64().unwrap(), r["amount"].as_str().unwrap())))
        .collect();
    assert_eq!(by["many_sellers"], (3, "7164.00"));
    assert_eq!(by["over_quantity"], (3, "7164.00"));
    assert_eq!(by["month_end"], (1, "3980.00"), "S1: 3980.00 late of 6368.00");
    assert_eq!(by["no_contact"], (0, "0.00"));
    assert_eq!((f["orders"].as_i64(), f["amount"].as_str()), (Some(4), Some("11144.00")), "{f}");
    assert!(f["listed"].as_array().unwrap().iter().all(|o| o["order_id"] != real["id"] && o["customer_phone"].as_str().is_some_and(|p| p.contains("****"))));
    assert_eq!(f["listed"][0]["order_id"], late["id"], "biggest first");
    // believable retail at the ceiling price (2 × 199.00): S3 sells 20 to P4 = 7960.00
    let sell_at = |seller: i64, phone: &'static str, qty: i64| {
        let (app, hq) = (&app, b.hq.clone());
        async move {
            let body = json!({"kind": "retail", "seller_id": seller, "customer": {"name": "顾客", "phone": phone}, "lines": [{"sku": "MASK-01", "qty": qty, "unit_price": "398.00"}], "placed_at": (start + Duration::days(9)).to_rfc3339()});
            ok(app.post("/api/v1/orders", &hq, body).await).await
        }
    };
    sell_at(s3, P4, 20).await;
    assert_eq!(held(a).await, "7164.00", "(3980 + 7960) / (11940 + 14328) = 0.4545");
    sell_at(s3, "13800138005", 8).await;
    assert_eq!(held(a).await, "0.00", "(11940 + 3184) / (15124 + 14328) = 0.5135: believable retail above half releases the pay");
    app.assert_verified().await;
}

#[tokio::test]
async fn application_conversion_counts_submitted_approved_and_bought() {
    let app = spawn_app().await;
    let b = app.brand("conv").await;
    let a = app.agent(&b.hq, "A", "13900000001", b.tiers[0], None).await;
    let ta = app.agent_token(&b, "13900000001").await;
    let (_, invite) = app.get(&format!("/api/v1/agents/{a}/invite"), &ta).await;
    let code = invite["code"].as_str().unwrap().to_owned();
    let mut ids = Vec::new();
    for phone in ["13700000001", "13700000002", "13700000003"] {
        let body = json!({"code": code, "name": "新人", "phone": phone, "wechat": "wx", "tier_id": b.tiers[4], "password": crate::helpers::PASSWORD});
        ids.push(ok(app.call(Method::POST, "/api/v1/applications", None, Some(body)).await).await["id"].as_i64().unwrap());
    }
    // two approved by the inviter, one of them buys; the third waits
    let mut agents = Vec::new();
    for id in &ids[..2] {
        agents.push(ok(app.post(&format!("/api/v1/applications/{id}/approve"), &ta, json!({})).await).await["agent_id"].as_i64().unwrap());
    }
    ok(app.post("/api/v1/orders", &b.hq, json!({"kind": "purchase", "buyer_id": agents[0], "lines": [{"sku": "MASK-01", "qty": 1}]})).await).await;
    let (month, _) = month_start(0);
    let g = growth(&app, &b.hq, &format!("month={month}")).await;
    assert_eq!(
        (g["counts"]["applications"].as_i64(), g["counts"]["applications_approved"].as_i64(), g["counts"]["applications_bought"].as_i64()),
        (Some(3), Some(2), Some(1)),
        "{g}"
    );
    assert_eq!(g["application_conversion"], "0.3333", "1 of 3 bought");
    let own = growth(&app, &ta, &format!("month={month}")).await;
    assert_eq!(
        (own["application_conversion"].as_str(), own["counts"]["new_agents"].as_i64(), own["recruitment_rate"].as_str()),
        (Some("0.3333"), Some(2), None),
        "A joined this month too: nobody at the start, no rate: {own}"
    );
}
