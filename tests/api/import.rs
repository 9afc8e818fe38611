//! `agent-ledger import orders.csv`: a file of order lines placed through the batch path,
//! refusals by line, and a rerun that changes nothing.

use agent_ledger::orders::import;
use diesel::prelude::*;

use crate::helpers::spawn_app;

#[tokio::test]
async fn an_import_places_each_order_reports_refusals_by_line_and_a_rerun_changes_nothing() {
    let app = spawn_app().await;
    let b = app.brand("imp").await;
    let joined = chrono::Utc::now() - chrono::Duration::hours(2);
    let a = app.agent_joined(&b.hq, "A", "13900000001", b.tiers[0], None, joined).await;
    let bb = app.agent_joined(&b.hq, "B", "13900000002", b.tiers[2], Some(a), joined).await;
    let prices: serde_json::Map<String, serde_json::Value> = b.tiers.iter().map(|t| (t.to_string(), serde_json::json!("50.00"))).collect();
    let (status, _) =
        app.post("/api/v1/products", &b.hq, serde_json::json!({"sku": "SERUM-02", "name": "Serum", "retail_price": "99.00", "prices": prices})).await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let at = (chrono::Utc::now() - chrono::Duration::seconds(90)).with_timezone(&chrono_tz::Asia::Shanghai).to_rfc3339();
    let file = format!(
        "key,kind,placed_at,agent_phone,supply,customer_name,customer_phone,sku,qty,unit_price
P-1,purchase,{at},13900000001,,,,MASK-01,10,
P-2,purchase,{at},13900000002,hq,,,MASK-01,2,
P-2,purchase,{at},13900000002,hq,,,SERUM-02,3,
R-1,retail,{at},13900000001,,王女士,138 0013 8000,MASK-01,2,189.00
R-2,retail,{at},13900000009,,,,MASK-01,1,
R-3,retail,{at},13900000002,,,,MASK-01,50,
X-1,gift,{at},13900000001,,,,MASK-01,1,
"
    );
    let run = |file: String| {
        let pool = app.pool.clone();
        tokio::task::spawn_blocking(move || {
            let (rows, orders) = import::read(file.as_bytes()).unwrap();
            let mut conn = pool.get().unwrap();
            import::import(&mut conn, "imp", orders, rows, 2, &|_| {}).unwrap()
        })
    };
    let first = run(file.clone()).await.unwrap();
    assert_eq!((first.rows, first.orders, first.placed, first.already), (7, 6, 3, 0), "{:?}", first.refused);
    let refused: Vec<(u64, &str, &str)> = first.refused.iter().map(|r| (r.line, r.key.as_str(), r.code.as_str())).collect();
    assert_eq!(refused, [(6, "R-2", "unknown_agent"), (7, "R-3", "insufficient_stock"), (8, "X-1", "validation")], "{:?}", first.refused);

    // the orders are what POST /orders would have made: B's two rows are one order at 省代 prices
    let (_, orders) = app.get(&format!("/api/v1/orders?agent_id={bb}"), &b.hq).await;
    let items = orders["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{orders}");
    assert_eq!((items[0]["amount"].as_str(), items[0]["lines"].as_array().unwrap().len()), (Some("349.00"), 2), "2 × 99.50 + 3 × 50.00");
    let (_, sales) = app.get(&format!("/api/v1/agents/{a}/customers"), &b.hq).await;
    assert_eq!((sales["items"][0]["phone"].as_str(), sales["items"][0]["total"].as_str()), (Some("13800138000"), Some("378.00")));

    // the same file again: nothing new, the same refusals
    let count = || {
        let pool = app.pool.clone();
        tokio::task::spawn_blocking(move || {
            #[derive(QueryableByName)]
            struct N {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                n: i64,
            }
            diesel::sql_query("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM journal_entries) AS n")
                .get_result::<N>(&mut pool.get().unwrap())
                .unwrap()
                .n
        })
    };
    let before = count().await.unwrap();
    let again = run(file).await.unwrap();
    assert_eq!((again.placed, again.already, again.refused.len()), (0, 3, 3));
    assert_eq!(count().await.unwrap(), before, "a rerun writes nothing");
    app.assert_verified().await;
}

#[tokio::test]
async fn four_concurrent_imports_of_one_file_place_each_order_once() {
    let app = spawn_app().await;
    let b = app.brand("imp").await;
    let joined = chrono::Utc::now() - chrono::Duration::hours(2);
    let a = app.agent_joined(&b.hq, "A", "13900000001", b.tiers[0], None, joined).await;
    let at = (chrono::Utc::now() - chrono::Duration::seconds(90)).with_timezone(&chrono_tz::Asia::Shanghai).to_rfc3339();
    let mut file = "key,kind,placed_at,agent_phone,supply,customer_name,customer_phone,sku,qty,unit_price\n".to_owned();
    for i in 0..40 {
        file.push_str(&format!("P-{i},purchase,{at},13900000001,,,,MASK-01,1,\n"));
    }
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (pool, file) = (app.pool.clone(), file.clone());
            tokio::task::spawn_blocking(move || {
                let (rows, orders) = import::read(file.as_bytes()).unwrap();
                import::import(&mut pool.get().unwrap(), "imp", orders, rows, 7, &|_| {}).unwrap()
            })
        })
        .collect();
    let mut placed = 0;
    for r in runs {
        let s = r.await.unwrap();
        assert!(s.refused.is_empty(), "{:?}", s.refused);
        assert_eq!(s.placed + s.already, 40);
        placed += s.placed;
    }
    assert_eq!(placed, 40, "each order placed by exactly one of the four runs");
    let (_, orders) = app.get(&format!("/api/v1/orders?agent_id={a}&limit=1000"), &b.hq).await;
    assert_eq!(orders["items"].as_array().unwrap().len(), 40);
    app.assert_verified().await;
}
